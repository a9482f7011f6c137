import ArgumentParser
import Foundation
import GIMEngine

/// `gim components`: attribution patching of every attention head, attention block, MLP block and
/// residual position (GIM beside the plain gradient), checked against real activation patching.
struct Components: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score every attention head, attention/MLP block and residual position against a counterfactual (GIM and plain gradient vs activation patching).",
        discussion: """
        score(c) = Σ grad · (clean − corrupted activation of component c), the gradient taken with GIM's backward \
        (the knobs below) and with the plain gradient; the metric is logit(target) at the target position, or \
        logit(target) − logit(foil). Components: each layer's attention block output and MLP block output, each \
        head's output before the attention output projection, and the residual stream entering each layer at each \
        position (a layers × tokens map). The counterfactual is --corrupt (a prompt with the same number of tokens, \
        aligned token by token) or --mean-corrupt (each component's activation averaged over the clean prompt's \
        positions). Activation patching (the truth the scores approximate): the clean run with one component's \
        activation replaced by the counterfactual's, effect = metric(clean) − metric(patched), every component \
        batched; Pearson, Spearman and top-k overlap (k = 10% of the components) of each method with it. \
        --pairs FILE.jsonl runs a set of pairs ({"clean", "corrupt", "target", "foil"?, "category"?} per line) and \
        prints the mean agreement per component type with 95% bootstrap intervals.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var promptOptions: PromptOptions
    @Option(name: .long, help: "The corrupted prompt (same number of tokens as the prompt).") var corrupt: String?
    @Flag(name: .long, help: "Counterfactual = each component's mean over the prompt's positions (no corrupted prompt).") var meanCorrupt = false
    @Option(name: .long, help: "A pair file (JSONL): evaluate every pair and print the agreement table.") var pairs: String?
    @OptionGroup var knobs: KnobOptions
    @Option(name: .long, help: "Target token text (one token, e.g. \" Mary\"; default: the argmax).") var target: String?
    @Option(name: .long, help: "Foil token text: explain logit(target) − logit(foil).") var foil: String?
    @Option(name: .customLong("target-token-id"), parsing: .unconditional, help: "Target token id (instead of --target).") var targetTokenID: Int?
    @Option(name: .customLong("foil-token-id"), parsing: .unconditional, help: "Foil token id (instead of --foil).") var foilTokenID: Int?
    @Option(name: .long, parsing: .unconditional, help: "Position whose prediction is explained; negative counts from the end.") var targetPosition = -1
    @Flag(name: .long, help: "Skip activation patching (scores only).") var noPatching = false
    @Option(name: .long, parsing: .unconditional, help: "Heads listed in the text output (by |patching effect|, else |GIM|).") var topHeads = 10
    @Option(name: .long, parsing: .unconditional, help: "Bootstrap resamples for the --pairs intervals.") var bootstrap = 2000
    @Option(name: .long, parsing: .unconditional, help: "Seed of the bootstrap.") var seed: UInt64 = 0
    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        if pairs != nil {
            guard promptOptions.prompt == nil, promptOptions.promptFile == nil, promptOptions.tokenIDs.isEmpty, corrupt == nil,
                  !meanCorrupt, target == nil, foil == nil, targetTokenID == nil, foilTokenID == nil, !noPatching else {
                throw ValidationError("--pairs takes its prompts, targets and foils from the file: give only --model, the knobs, --bootstrap, --seed and --json")
            }
        } else {
            guard (corrupt != nil) != meanCorrupt else {
                throw ValidationError("give a counterfactual: --corrupt TEXT or --mean-corrupt (one of them)")
            }
        }
        guard target == nil || targetTokenID == nil else { throw ValidationError("give only one of --target and --target-token-id") }
        guard foil == nil || foilTokenID == nil else { throw ValidationError("give only one of --foil and --foil-token-id") }
        guard topHeads >= 0 else { throw ValidationError("--top-heads must not be negative") }
        guard bootstrap >= 100 && bootstrap <= 100_000 else { throw ValidationError("--bootstrap must be in 100...100000") }
        try knobs.validate()
    }

    // MARK: JSON

    struct MapJSON: Encodable {
        let attention: [Float], mlp: [Float], heads: [[Float]], residual: [[Float]]
        init(_ m: ComponentMap) { attention = m.attention; mlp = m.mlp; heads = m.heads; residual = m.residual }
    }
    struct AgreementJSON: Encodable {
        let pearson: Double?, spearman: Double?, top_k_overlap: Double, k: Int, count: Int
        init(_ a: ComponentAgreement) { pearson = a.pearson; spearman = a.spearman; top_k_overlap = a.topKOverlap; k = a.k; count = a.count }
    }
    struct AgreementsJSON: Encodable {
        let heads, attention, mlp, residual: AgreementJSON
        init(_ a: ComponentAgreements) {
            heads = AgreementJSON(a.heads); attention = AgreementJSON(a.attention); mlp = AgreementJSON(a.mlp); residual = AgreementJSON(a.residual)
        }
    }
    struct PatchingJSON: Encodable {
        let effects: MapJSON
        let runs: Int
        let seconds: Double
    }
    struct Output: Encodable {
        let model: String
        let token_ids: [Int]
        let tokens: [String]
        let counterfactual: String
        let corrupt_token_ids: [Int]?
        let target_token_id: Int
        let target_token: String
        let foil_token_id: Int?
        let target_position: Int
        let clean_metric: Float
        let corrupt_metric: Float?
        let settings: KnobsJSON
        let gim: MapJSON
        let plain: MapJSON
        let patching: PatchingJSON?
        let agreement: [String: AgreementsJSON]?
        let timing_ms: [String: Double]
    }

    func run() throws {
        let bundle = try modelOptions.load()
        if let pairs { return try runPairs(bundle, path: pairs) }
        let (ids, _) = try promptOptions.tokens(bundle)
        let counterfactual: Counterfactual
        if let corrupt {
            guard !corrupt.isEmpty else { throw ValidationError("the corrupted prompt is empty") }
            let bad = bundle.encode(corrupt)
            guard bad.count == ids.count else {
                throw ValidationError("the corrupted prompt has \(bad.count) tokens and the prompt \(ids.count): they must align token by token (same number of tokens)")
            }
            counterfactual = .prompt(tokenIDs: bad)
        } else {
            counterfactual = .meanOverPositions
        }
        let targetID = try targetTokenID ?? target.map { try CounterfactualPair.token($0, bundle.tokenizer, what: "target") }
        let foilID = try foilTokenID ?? foil.map { try CounterfactualPair.token($0, bundle.tokenizer, what: "foil") }
        let session = try CircuitSession(clean: ExplainSession(model: bundle.model, tokenIDs: ids), counterfactual: counterfactual,
                                         targetTokenID: targetID, targetPosition: targetPosition, foilTokenID: foilID)
        let a = try session.analyze(settings: knobs.settings, patching: !noPatching)
        guard a.gim.isFinite && a.plain.isFinite && a.patching?.effects.isFinite != false else {
            throw ModelError.badInput("the scores contain NaN or infinity (the model's activations overflowed)")
        }
        let texts = bundle.tokenTexts(ids)
        var timing = ["load": bundle.loadSeconds * 1000, "forward": session.clean.forwardSeconds * 1000,
                      "corrupt_forward": session.corruptForwardSeconds * 1000,
                      "gim_backward": a.gimSeconds * 1000, "plain_backward": a.plainSeconds * 1000]
        if let p = a.patching { timing["patching"] = p.seconds * 1000 }
        var corruptIDs: [Int]?
        if case .prompt(let bad) = counterfactual { corruptIDs = bad }
        let out = Output(model: bundle.name, token_ids: ids, tokens: texts, counterfactual: counterfactual.name,
                         corrupt_token_ids: corruptIDs, target_token_id: a.targetTokenID,
                         target_token: bundle.tokenizer.displayText(a.targetTokenID), foil_token_id: a.foilTokenID,
                         target_position: a.targetPosition, clean_metric: a.cleanMetric, corrupt_metric: a.corruptMetric,
                         settings: KnobsJSON(knobs.settings), gim: MapJSON(a.gim), plain: MapJSON(a.plain),
                         patching: a.patching.map { PatchingJSON(effects: MapJSON($0.effects), runs: $0.runs, seconds: $0.seconds) },
                         agreement: a.gimAgreement.flatMap { g in a.plainAgreement.map { ["gim": AgreementsJSON(g), "plain": AgreementsJSON($0)] } },
                         timing_ms: timing)
        if json { return try printJSON(out) }
        printText(a, bundle: bundle, texts: texts, timing: timing)
    }

    private func printText(_ a: CircuitAnalysis, bundle: ModelBundle, texts: [String], timing: [String: Double]) {
        let tok = { (id: Int) in "\"\(visible(bundle.tokenizer.displayText(id)))\"" }
        let metric = a.foilTokenID.map { "logit(\(tok(a.targetTokenID))) − logit(\(tok($0)))" } ?? "logit(\(tok(a.targetTokenID)))"
        let against: String
        switch a.counterfactual {
        case .prompt(let bad): against = "the corrupted prompt (\(bad.count) tokens)"
        case .meanOverPositions: against = "each component's mean over the \(a.tokenIDs.count) positions"
        }
        print("metric \(metric) at position \(a.targetPosition): clean \(String(format: "%.3f", a.cleanMetric))"
              + (a.corruptMetric.map { String(format: ", corrupted %.3f", $0) } ?? ""))
        print("counterfactual: \(against); GIM: \(knobSummary(a.settings))")
        let patch = a.patching?.effects
        func f(_ v: Float?) -> String { v.map { String(format: "%9.4f", $0) } ?? "        –" }

        print("\nlayer   attention: GIM     plain  patching     MLP: GIM     plain  patching")
        for l in a.gim.attention.indices {
            print(String(format: "%5d   ", l) + "   " + f(a.gim.attention[l]) + " " + f(a.plain.attention[l]) + " " + f(patch?.attention[l])
                  + "   " + f(a.gim.mlp[l]) + " " + f(a.plain.mlp[l]) + " " + f(patch?.mlp[l]))
        }
        let heads = a.gim.heads.indices.flatMap { l in a.gim.heads[l].indices.map { (l, $0) } }
        let key = { (lh: (Int, Int)) -> Float in abs(patch?.heads[lh.0][lh.1] ?? a.gim.heads[lh.0][lh.1]) }
        let shown = heads.sorted { key($0) > key($1) }.prefix(topHeads)
        if !shown.isEmpty {
            print("\ntop \(shown.count) heads by |\(patch == nil ? "GIM" : "patching")|:\n  head          GIM     plain  patching")
            for (l, h) in shown {
                print(String(format: "  L%-3d H%-3d ", l, h) + f(a.gim.heads[l][h]) + " " + f(a.plain.heads[l][h]) + " " + f(patch?.heads[l][h]))
            }
        }
        print("\nresidual stream (layers × tokens): the largest |value| per layer")
        print("  layer  GIM: position (value)            plain                      patching")
        func best(_ row: [Float]) -> String {
            let i = row.indices.max { abs(row[$0]) < abs(row[$1]) } ?? 0
            let t = visible(texts[i])
            return String(format: "%3d %@ %9.4f", i, String("\"\(t)\"".prefix(10)).padding(toLength: 10, withPad: " ", startingAt: 0), row[i])
        }
        for l in a.gim.residual.indices {
            print(String(format: "  %5d  ", l) + best(a.gim.residual[l]) + "   " + best(a.plain.residual[l])
                  + (patch.map { "   " + best($0.residual[l]) } ?? ""))
        }
        if let g = a.gimAgreement, let p = a.plainAgreement, let run = a.patching {
            print("\nagreement with activation patching (\(run.runs) patched runs in \(String(format: "%.2f", run.seconds)) s):")
            print("  components   n     Pearson GIM / plain   Spearman GIM / plain   top-k overlap GIM / plain")
            func d(_ v: Double?) -> String { v.map { String(format: "%6.3f", $0) } ?? "     –" }
            for kind in ComponentKind.allCases {
                let x = g[kind], y = p[kind]
                print("  " + kind.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %4d     ", x.count)
                      + d(x.pearson) + " / " + d(y.pearson) + "       " + d(x.spearman) + " / " + d(y.spearman)
                      + String(format: "        %5.2f / %5.2f (k=%d)", x.topKOverlap, y.topKOverlap, x.k))
            }
        }
        print(String(format: "\nforward %.1f ms (+ corrupted %.1f ms), GIM backward %.1f ms, plain backward %.1f ms",
                     timing["forward"]!, timing["corrupt_forward"]!, timing["gim_backward"]!, timing["plain_backward"]!)
              + (timing["patching"].map { String(format: ", patching %.0f ms", $0) } ?? ""))
    }

    // MARK: --pairs

    struct PairRow: Encodable {
        let index: Int
        let category: String?
        let clean: String
        let corrupt: String
        let token_count: Int
        let clean_metric: Float
        let corrupt_metric: Float?
        let gim: AgreementsJSON
        let plain: AgreementsJSON
        let patching_seconds: Double
    }
    struct MeasureJSON: Encodable {
        let mean: Double?, lower: Double?, upper: Double?, count: Int, undefined: Int
        init(_ m: FaithfulnessSummary.Measure) {
            mean = m.interval?.mean; lower = m.interval?.lower; upper = m.interval?.upper
            count = m.interval?.count ?? 0; undefined = m.undefined
        }
    }
    struct ComparisonJSON: Encodable {
        let mean: Double?, lower: Double?, upper: Double?, wins: Int, losses: Int, ties: Int
        init(_ c: FaithfulnessSummary.Comparison) {
            mean = c.difference?.mean; lower = c.difference?.lower; upper = c.difference?.upper
            wins = c.wins; losses = c.losses; ties = c.ties
        }
    }
    struct SummaryRowJSON: Encodable {
        let component: String, measure: String, gim: MeasureJSON, plain: MeasureJSON, gim_minus_plain: ComparisonJSON
    }
    struct PairsOutput: Encodable {
        let model: String
        let pairs_file: String
        let settings: KnobsJSON
        let bootstrap_resamples: Int
        let summary: [SummaryRowJSON]
        let pairs: [PairRow]
        let seconds: Double
    }

    private func runPairs(_ bundle: ModelBundle, path: String) throws {
        let list = try CounterfactualPair.load(path: path)
        let start = DispatchTime.now()
        var analyses: [CircuitAnalysis] = [], rows: [PairRow] = []
        for (i, pair) in list.enumerated() {
            let a: CircuitAnalysis
            do { a = try pair.analyze(bundle: bundle, settings: knobs.settings) } catch {
                throw ModelError.badInput("\(path): pair \(i + 1): \(error)")
            }
            analyses.append(a)
            rows.append(PairRow(index: i + 1, category: pair.category, clean: pair.clean, corrupt: pair.corrupt,
                                token_count: a.tokenIDs.count, clean_metric: a.cleanMetric, corrupt_metric: a.corruptMetric,
                                gim: AgreementsJSON(a.gimAgreement!), plain: AgreementsJSON(a.plainAgreement!),
                                patching_seconds: a.patching!.seconds))
            if !json {
                FileHandle.standardError.write("\r\(i + 1)/\(list.count) pairs".data(using: .utf8)!)
            }
        }
        if !json { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let summary = CircuitEvaluationSummary(analyses, resamples: bootstrap, seed: seed)
        if json {
            return try printJSON(PairsOutput(
                model: bundle.name, pairs_file: path, settings: KnobsJSON(knobs.settings), bootstrap_resamples: bootstrap,
                summary: summary.rows.map { SummaryRowJSON(component: $0.kind.rawValue, measure: $0.measure, gim: MeasureJSON($0.gim),
                                                           plain: MeasureJSON($0.plain), gim_minus_plain: ComparisonJSON($0.gimMinusPlain)) },
                pairs: rows, seconds: seconds))
        }
        print("agreement of attribution patching with activation patching: \(bundle.name), \(list.count) pairs from \(path)")
        print("GIM: \(knobSummary(knobs.settings)); mean [95% bootstrap interval] over pairs, \(bootstrap) resamples\n")
        print(Self.table(summary))
        let patchSeconds = analyses.compactMap { $0.patching?.seconds }
        print(String(format: "\n%.1f s in all; activation patching %.2f s per pair on average (%d patched runs per pair on average)",
                     seconds, patchSeconds.reduce(0, +) / Double(max(1, patchSeconds.count)),
                     analyses.compactMap { $0.patching?.runs }.reduce(0, +) / max(1, analyses.count)))
    }

    /// The summary as a Markdown table (what README.md shows).
    static func table(_ s: CircuitEvaluationSummary) -> String {
        func i(_ m: Statistics.Interval?) -> String {
            guard let m else { return "–" }
            return String(format: "%.3f [%.3f, %.3f]", m.mean, m.lower, m.upper)
        }
        func signed(_ m: Statistics.Interval?) -> String {
            guard let m else { return "–" }
            return String(format: "%+.3f [%+.3f, %+.3f]", m.mean, m.lower, m.upper)
        }
        var lines = ["| components | measure | GIM | plain gradient | GIM − plain | GIM better |",
                     "|---|---|---|---|---|---|"]
        for r in s.rows {
            let c = r.gimMinusPlain
            lines.append("| \(r.kind.rawValue) | \(r.measure) | \(i(r.gim.interval)) | \(i(r.plain.interval)) | \(signed(c.difference)) | \(c.wins)/\(c.wins + c.losses + c.ties) |")
        }
        return lines.joined(separator: "\n")
    }
}
