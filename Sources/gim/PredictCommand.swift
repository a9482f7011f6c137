import ArgumentParser
import Foundation
import GIMEngine

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the prompt's tokens and the model's top next tokens.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var promptOptions: PromptOptions
    @Option(name: .long, parsing: .unconditional, help: "How many next tokens to list (1-100).") var topK = 10
    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        guard (1...100).contains(topK) else { throw ValidationError("--top-k must be between 1 and 100") }
    }

    struct Output: Encodable {
        struct Token: Encodable { let id: Int; let text: String }
        struct Next: Encodable { let id: Int; let text: String; let logit: Float; let probability: Double }
        let tokens: [Token]
        let next: [Next]
        let forward_ms: Double
    }

    func run() throws {
        let bundle = try modelOptions.load()
        let (ids, _) = try promptOptions.tokens(bundle)
        let session = try ExplainSession(model: bundle.model, tokenIDs: ids)
        let logits = try session.logits(at: -1)
        let probs = softmax(logits)
        let out = Output(
            tokens: ids.map { .init(id: $0, text: bundle.tokenizer.displayText($0)) },
            next: topTokens(logits, topK).map { .init(id: $0, text: bundle.tokenizer.displayText($0), logit: logits[$0], probability: probs[$0]) },
            forward_ms: session.forwardSeconds * 1000)
        if json { return try printJSON(out) }
        print("tokens (\(ids.count)):")
        print(out.tokens.map { "\($0.id):\"\(visible($0.text))\"" }.joined(separator: " "))
        print("\nnext token        id      logit   probability")
        for n in out.next {
            let text = "\"" + visible(n.text) + "\""
            print(text.padding(toLength: max(16, text.count), withPad: " ", startingAt: 0),
                  String(format: "%6d  %9.4f   %6.2f%%", n.id, n.logit, n.probability * 100))
        }
        print(String(format: "\nforward %.1f ms, model load %.2f s", out.forward_ms, bundle.loadSeconds))
    }
}
