import ArgumentParser
import Foundation
import GIMEngine

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attribute the next-token logit to each prompt token: GIM beside the plain gradient.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var promptOptions: PromptOptions
    @OptionGroup var knobs: KnobOptions
    @Option(name: .customLong("target-token-id"), parsing: .unconditional, help: "Token to explain (default: the argmax at the target position).") var targetTokenID: Int?
    @Option(name: .long, parsing: .unconditional, help: "Position whose prediction is explained; negative counts from the end.") var targetPosition = -1
    @Option(name: .customLong("baseline-token-id"), parsing: .unconditional, help: "Baseline token (default: the tokenizer's space token, else pad, else unk).") var baselineTokenID: Int?
    @Option(name: .customLong("foil-token-id"), parsing: .unconditional, help: "Contrastive mode: explain logit(target) − logit(foil).") var foilTokenID: Int?
    @Option(name: .long, parsing: .unconditional, help: "Generate N tokens (1-256) and attribute each one over everything before it (rows = generated tokens, columns = source tokens).") var generate: Int?
    @Option(name: .long, help: "Teacher forcing: attribute each token of this given continuation (tokenized on its own, no BOS) as the actual next token.") var continuation: String?
    @OptionGroup var samplingOptions: SamplingOptions
    @Option(name: .long, help: "Columns per token (tokens) or per word (words: sub-word tokens merged, see README).") var aggregate: Aggregate = .tokens
    @Option(name: .long, help: "How a word's token values combine with --aggregate words: sum or max-abs (the value of largest magnitude).") var wordReduction: WordReductionOption = .sum
    @Option(name: .long, help: "Attribution methods to show, comma-separated: \(AttributionMethod.all.map(\.name).joined(separator: ", ")) (default: GIM with the knobs beside the plain gradient). JSON gains a \"methods\" array, one entry per method with its settings.")
    var method: String?
    @Option(name: .long, parsing: .unconditional, help: "Integrated Gradients' path points (midpoint rule).") var igSteps = AttributionMethod.defaultSteps
    @Flag(name: .long, help: "Print JSON.") var json = false

    enum Aggregate: String, ExpressibleByArgument, CaseIterable { case tokens, words }

    func validate() throws {
        if generate != nil && continuation != nil { throw ValidationError("give --generate N or --continuation TEXT, not both") }
        if let n = generate, !(1...256).contains(n) { throw ValidationError("--generate must be between 1 and 256") }
        if generate != nil || continuation != nil {
            if targetTokenID != nil || targetPosition != -1 || foilTokenID != nil {
                throw ValidationError("--target-token-id, --target-position and --foil-token-id do not apply with --generate/--continuation: every continuation token is a target")
            }
        }
        try MethodOptions.validateSteps(igSteps)
        if let method {
            if generate != nil || continuation != nil { throw ValidationError("--method does not apply with --generate/--continuation yet: their rows show GIM and the plain gradient") }
            _ = try MethodOptions.parse(method, igSteps: igSteps)
        }
    }

    struct Output: Encodable {
        let model: String
        let token_ids: [Int]
        let tokens: [String]
        let target_token_id: Int
        let target_token: String
        let foil_token_id: Int?
        let target_position: Int
        let target_logit: Float
        let baseline_token_id: Int
        let attributions: [Float]
        let plain_attributions: [Float]
        let settings: KnobsJSON
        let timing_ms: [String: Double]
        /// --aggregate words: the token→word mapping and the attributions per word.
        let words: [WordJSON]?
        let word_reduction: String?
        let word_attributions: [Float]?
        let plain_word_attributions: [Float]?
        /// --method: one entry per method.
        let methods: [MethodJSON]?
    }

    func run() throws {
        let bundle = try modelOptions.load()
        let (ids, _) = try promptOptions.tokens(bundle)
        if generate != nil || continuation != nil { return try runContinuation(bundle, prompt: ids) }
        let baseline = try baselineTokenID ?? bundle.inferredBaseline()
        let session = try ExplainSession(model: bundle.model, tokenIDs: ids)
        // GIM and the plain gradient (side by side on long prompts: one recomputation for both).
        let both = try session.attributeTogether(targetTokenID: targetTokenID, targetPosition: targetPosition,
                                                 foilTokenID: foilTokenID, baselineTokenID: baseline,
                                                 settings: [knobs.settings, .plain])
        let gim = both[0], plain = both[1]
        guard gim.isFinite && plain.isFinite else {
            throw ModelError.badInput("the attribution contains NaN or infinity (the model's activations overflowed)")
        }
        // --method: every method on the same kept forward pass, same target and position.
        let methods = try method.map { try MethodOptions.parse($0, igSteps: igSteps) } ?? []
        let extra = try methods.map { m -> Attribution in
            var m = m
            // A backward preset keeps its own knobs; the input baseline flag applies to IG and occlusion.
            if m.kind != .backward { m.settings.inputBaseline = knobs.inputBaseline }
            let a = try session.attribute(method: m, targetTokenID: gim.targetTokenID, targetPosition: gim.targetPosition,
                                          foilTokenID: foilTokenID, baselineTokenID: baseline)
            guard a.isFinite else { throw ModelError.badInput("\(m.name): the attribution contains NaN or infinity") }
            return a
        }
        let texts = bundle.tokenTexts(ids)
        let mapping = aggregate == .words ? WordAggregation.mapping(tokenIDs: ids, tokenizer: bundle.tokenizer) : nil
        let out = Output(model: bundle.name, token_ids: ids, tokens: texts, target_token_id: gim.targetTokenID,
                         target_token: bundle.tokenizer.displayText(gim.targetTokenID), foil_token_id: foilTokenID,
                         target_position: gim.targetPosition, target_logit: gim.targetLogit,
                         baseline_token_id: baseline, attributions: gim.values, plain_attributions: plain.values,
                         settings: KnobsJSON(knobs.settings),
                         timing_ms: ["load": bundle.loadSeconds * 1000, "forward": session.forwardSeconds * 1000,
                                     "gim_backward": gim.seconds * 1000, "plain_backward": plain.seconds * 1000],
                         words: mapping.map { $0.words.map(WordJSON.init) }, word_reduction: mapping.map { _ in wordReduction.rawValue },
                         word_attributions: mapping?.aggregate(gim.values, wordReduction.reduction),
                         plain_word_attributions: mapping?.aggregate(plain.values, wordReduction.reduction),
                         methods: method == nil ? nil : extra.map(MethodJSON.init))
        if json { return try printJSON(out) }

        let what = foilTokenID.map { "logit(\"\(visible(out.target_token))\") − logit(\"\(visible(bundle.tokenizer.displayText($0)))\")" }
            ?? "logit of \"\(visible(out.target_token))\" (id \(out.target_token_id))"
        print("explaining \(what) = \(String(format: "%.3f", out.target_logit)) at position \(out.target_position)")
        print("baseline token \(baseline) \"\(visible(bundle.tokenizer.displayText(baseline)))\"; GIM: \(knobSummary(knobs.settings))\n")
        if !extra.isEmpty {
            for a in extra { print("\(a.method.name): \(a.method.summary) (\(String(format: "%.1f", a.seconds * 1000)) ms)") }
            print("")
            print(AttributionTable.render(tokens: texts.map(visible), columns: extra.map { ($0.method.title, $0.values) }))
            return
        }
        if let mapping {
            print(AttributionTable.render(tokens: mapping.words.map { visible($0.text) },
                                          columns: [("GIM (words, \(wordReduction.rawValue))", mapping.aggregate(gim.values, wordReduction.reduction)),
                                                    ("plain gradient", mapping.aggregate(plain.values, wordReduction.reduction))]))
        } else {
            print(AttributionTable.render(tokens: texts.map(visible), columns: [("GIM", gim.values), ("plain gradient", plain.values)]))
        }
        print(String(format: "\nforward %.1f ms, GIM backward %.1f ms, plain backward %.1f ms",
                     session.forwardSeconds * 1000, gim.seconds * 1000, plain.seconds * 1000))
    }
}

func knobSummary(_ s: GIMSettings) -> String {
    String(format: "freeze_norm=%@ T=%g q=%g k=%g v=%g gate=%g up=%g", s.freezeNorm ? "on" : "off",
           s.softmaxTemperature, s.qScale, s.kScale, s.vScale, s.gateScale, s.upScale)
        + (s.activationRule == .gradient ? "" : " rule=\(s.activationRule.rawValue)")
        + (s.inputBaseline == .token ? "" : " baseline=\(s.inputBaseline.rawValue)")
}

/// A text table of attributions with a centred heat bar per column: negative values grow left
/// of the axis, positive ones right, each column scaled to its own largest |value|.
enum AttributionTable {
    static let barHalfWidth = 8

    static func bar(_ v: Float, scale: Float) -> String {
        let eighths = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        let cells = scale > 0 ? Double(abs(v) / scale) * Double(barHalfWidth) : 0
        let full = Int(cells), frac = Int((cells - Double(full)) * 8)
        let partial = full < barHalfWidth ? eighths[frac] : ""
        let blank = String(repeating: " ", count: barHalfWidth)
        if v < 0 {
            // Negative bars grow leftwards from the axis, drawn in a shade so sign survives without colour.
            let body = partial + String(repeating: "▓", count: min(full, barHalfWidth))
            return String(repeating: " ", count: barHalfWidth - body.count) + body + "│" + blank
        }
        let body = String(repeating: "█", count: min(full, barHalfWidth)) + partial
        return blank + "│" + body + String(repeating: " ", count: barHalfWidth - body.count)
    }

    static func render(tokens: [String], columns: [(String, [Float])]) -> String {
        let width = min(24, max(8, tokens.map { $0.count + 2 }.max() ?? 8))
        var lines: [String] = []
        var header = "pos  " + "token".padding(toLength: width, withPad: " ", startingAt: 0)
        for (name, _) in columns {
            header += "  " + name.padding(toLength: 10 + 2 * barHalfWidth + 2, withPad: " ", startingAt: 0)
        }
        lines.append(header)
        let scales = columns.map { $0.1.map(abs).max() ?? 0 }
        for (i, tok) in tokens.enumerated() {
            var quoted = "\"" + tok + "\""
            if quoted.count > width { quoted = String(quoted.prefix(width - 1)) + "…" }
            var line = String(format: "%3d  ", i) + quoted.padding(toLength: width, withPad: " ", startingAt: 0)
            for (c, (_, values)) in columns.enumerated() {
                line += "  " + String(format: "%9.4f ", values[i]) + bar(values[i], scale: scales[c]) + " "
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
