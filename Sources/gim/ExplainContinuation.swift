import ArgumentParser
import Foundation
import GIMEngine

/// --word-reduction: the engine's `WordReduction`, named as on the command line.
enum WordReductionOption: String, ExpressibleByArgument, CaseIterable {
    case sum
    case maxAbs = "max-abs"
    var reduction: WordReduction { self == .sum ? .sum : .maxAbs }
}

/// One word of a token→word mapping in JSON: its text and its tokens first_token..<end_token.
struct WordJSON: Encodable {
    let text: String
    let first_token: Int
    let end_token: Int
    init(_ w: WordMapping.Word) {
        text = w.text
        first_token = w.firstToken
        end_token = w.endToken
    }
}

/// `gim explain --generate N` / `--continuation TEXT`: every continuation token attributed over
/// everything before it, GIM and plain gradient, from one forward pass of the whole sequence.
extension Explain {
    struct ContinuationOutput: Encodable {
        struct Row: Encodable {
            let position: Int
            let token_id: Int
            let token: String
            let probability: Double
            let rank: Int
            let argmax_token_id: Int
            let target_logit: Float
            /// Over the columns before this token: tokens 0..<position, or the words that start before it.
            let attributions: [Float]
            let plain_attributions: [Float]
        }
        let model: String
        let mode: String
        let token_ids: [Int]
        let tokens: [String]
        let prompt_length: Int
        let text: String
        let stop: String?
        let sampling: SamplingJSON?
        let baseline_token_id: Int
        let settings: KnobsJSON
        let aggregate: String
        let words: [WordJSON]?
        let word_reduction: String?
        let rows: [Row]
        let timing_ms: [String: Double]
    }

    func runContinuation(_ bundle: ModelBundle, prompt: [Int]) throws {
        let baseline = try baselineTokenID ?? bundle.inferredBaseline()
        var stop: GenerationStop?
        var sampling: SamplingSettings?
        var generateMs = 0.0
        let cont: [Int]
        if let n = generate {
            let s = samplingOptions.sampling
            let g = try Generator.generate(model: bundle.model, prompt: prompt,
                                           settings: GenerationSettings(maxTokens: n, sampling: s, stopTokenIDs: bundle.stopTokenIDs))
            guard !g.tokens.isEmpty else { throw ValidationError("nothing was generated (the context is full)") }
            cont = g.generatedIDs
            stop = g.stop
            sampling = s
            generateMs = g.seconds * 1000
        } else {
            cont = bundle.tokenizer.encode(continuation ?? "", addSpecialTokens: false)
            guard !cont.isEmpty else { throw ValidationError("the continuation has no tokens") }
        }
        let session = try ContinuationSession(model: bundle.model, prompt: prompt, continuation: cont)
        let gim = try session.matrix(baselineTokenID: baseline, settings: knobs.settings)
        let plain = try session.matrix(baselineTokenID: baseline, settings: .plain)
        guard (gim.rows + plain.rows).allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw ModelError.badInput("the attribution contains NaN or infinity (the model's activations overflowed)")
        }
        let ids = session.tokenIDs
        let mapping = aggregate == .words ? WordAggregation.mapping(tokenIDs: ids, tokenizer: bundle.tokenizer) : nil
        let gimRows = mapping.map { gim.rows(over: $0, wordReduction.reduction) } ?? gim.rows
        let plainRows = mapping.map { plain.rows(over: $0, wordReduction.reduction) } ?? plain.rows
        let rows = gim.predictions.enumerated().map { k, p in
            ContinuationOutput.Row(position: p.position, token_id: p.tokenID, token: bundle.tokenizer.displayText(p.tokenID),
                                   probability: p.probability, rank: p.rank, argmax_token_id: p.argmaxID, target_logit: p.logit,
                                   attributions: gimRows[k], plain_attributions: plainRows[k])
        }
        let out = ContinuationOutput(
            model: bundle.name, mode: generate != nil ? "generated" : "teacher-forced", token_ids: ids,
            tokens: bundle.tokenTexts(ids), prompt_length: session.promptCount, text: bundle.tokenizer.decode(cont),
            stop: stop?.rawValue, sampling: sampling.map(SamplingJSON.init), baseline_token_id: baseline,
            settings: KnobsJSON(knobs.settings), aggregate: aggregate.rawValue, words: mapping.map { $0.words.map(WordJSON.init) },
            word_reduction: mapping.map { _ in wordReduction.rawValue }, rows: rows,
            timing_ms: ["load": bundle.loadSeconds * 1000, "generate": generateMs, "forward": session.explain.forwardSeconds * 1000])
        if json { return try printJSON(out) }

        let columns = mapping?.words.map { visible($0.text) } ?? out.tokens.map(visible)
        print("\(out.mode) continuation: \"\(visible(out.text))\"\(stop.map { " (stop: \($0.rawValue))" } ?? "")")
        if let sampling, !sampling.isGreedy {
            print("sampled: temperature \(sampling.temperature), top-p \(sampling.topP), seed \(sampling.seed)")
        }
        print("baseline token \(baseline) \"\(visible(bundle.tokenizer.displayText(baseline)))\"; GIM: \(knobSummary(knobs.settings))")
        print("each row: a continuation token, its probability and rank, and the \(Self.topSources) sources with the largest |attribution| (\(aggregate.rawValue))\n")
        for r in rows {
            let quoted = "\"\(visible(r.token))\"".padding(toLength: 16, withPad: " ", startingAt: 0)
            print(String(format: "%3d  ", r.position) + quoted + String(format: "  p=%.3f rank %d", r.probability, r.rank))
            print("     GIM:   " + Self.topList(r.attributions, columns))
            print("     plain: " + Self.topList(r.plain_attributions, columns))
        }
    }

    static let topSources = 5

    /// The largest-|value| sources of a row: `"tok"(+0.123)` …
    static func topList(_ values: [Float], _ names: [String]) -> String {
        values.indices.sorted { abs(values[$0]) > abs(values[$1]) }.prefix(topSources)
            .map { "\"\(names[$0])\"" + String(format: "(%+.3f)", values[$0]) }.joined(separator: " ")
    }
}
