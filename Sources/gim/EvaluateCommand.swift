import ArgumentParser
import Foundation
import GIMEngine

/// `gim evaluate`: faithfulness of GIM, the plain gradient and random orders over a prompt set.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure how faithful GIM and the plain gradient are over a prompt set (deletion/insertion curves, leave-one-out).",
        discussion: """
        For each prompt, explains the last position's target (the prompt's "target" token when given, else the \
        argmax) with GIM (the given knobs) and with the plain gradient, then replaces tokens by the baseline in \
        attribution order and reruns the forward (batched). Measures, all higher = more faithful: deletion area \
        (area over the curve of the target logit as the top-k tokens are removed, normalised by the drop when all \
        are removed), insertion area (area under the curve as only the top-k are kept), the same for the target's \
        probability, and Spearman/Pearson correlation with exact leave-one-out effects. Random orders give the \
        floor. The table shows means over prompts with 95% bootstrap intervals, and GIM − plain paired on the same \
        prompts. FILE.jsonl holds one object per line: {"prompt": "...", "category": "...", "target": " token"}.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "JSONL prompt set (one {\"prompt\", \"category\"?, \"target\"?} per line).") var prompts: String
    @OptionGroup var knobs: KnobOptions
    @Option(name: .customLong("baseline-token-id"), parsing: .unconditional, help: "Baseline token (default: the tokenizer's space token, else pad, else unk).") var baselineTokenID: Int?
    @Option(name: .long, parsing: .unconditional, help: "Random orders for the floor (rounded up to even: antithetic pairs).") var randomOrders = 4
    @Option(name: .long, parsing: .unconditional, help: "Seed of the random orders and of the bootstrap.") var seed: UInt64 = 0
    @Option(name: .long, parsing: .unconditional, help: "Curve points: every k up to this many tokens, else this many even fractions.") var maxCurvePoints = 20
    @Option(name: .long, parsing: .unconditional, help: "Normalised logit areas are undefined (excluded, counted) when replacing every token lowers the logit by no more than this.") var minLogitDrop = FaithfulnessOptions().minimumLogitDrop
    @Option(name: .long, parsing: .unconditional, help: "The same for the probability areas.") var minProbabilityDrop = FaithfulnessOptions().minimumProbabilityDrop
    @Option(name: .long, parsing: .unconditional, help: "Bootstrap resamples for the 95% intervals.") var bootstrap = 2000
    @Option(name: .long, parsing: .unconditional, help: "Evaluate only the first N prompts.") var limit: Int?
    @Option(name: .long, help: "Compare these attribution methods instead (comma-separated: \(AttributionMethod.all.map(\.name).joined(separator: ", "))): a table of methods × comprehensiveness, sufficiency (the GIM paper's, as a ratio to the target logit and in logits) and the deletion/insertion/leave-one-out figures, with paired differences against GIM. JSON: schemas/evaluate-methods.schema.json.")
    var methods: String?
    @Option(name: .long, parsing: .unconditional, help: "Integrated Gradients' path points (--methods).") var igSteps = AttributionMethod.defaultSteps
    @Flag(name: .long, help: "Also print one line per prompt.") var perPrompt = false
    @Flag(name: .long, help: "Print JSON (summary and every prompt's figures).") var json = false

    func validate() throws {
        guard randomOrders >= 0 && randomOrders <= 100 else { throw ValidationError("--random-orders must be in 0...100") }
        guard maxCurvePoints >= 1 && maxCurvePoints <= 1000 else { throw ValidationError("--max-curve-points must be in 1...1000") }
        guard bootstrap >= 100 && bootstrap <= 100_000 else { throw ValidationError("--bootstrap must be in 100...100000") }
        if let limit, limit < 1 { throw ValidationError("--limit must be positive") }
        guard minLogitDrop >= 0, minProbabilityDrop >= 0 else { throw ValidationError("minimum drops must not be negative") }
        try MethodOptions.validateSteps(igSteps)
        if let methods { _ = try MethodOptions.parse(methods, igSteps: igSteps) }
    }

    // MARK: JSON

    struct Timing: Encodable { let attribution: Double; let perturbation: Double; let total: Double }
    struct PromptRow: Encodable {
        let index: Int
        let prompt: String
        let category: String?
        let expected_target: String?
        let token_count: Int
        let target_token_id: Int
        let target_token: String
        let predicted_token_id: Int
        let predicted_token: String
        let target_logit: Double
        let full_logit_drop: Double
        let full_probability_drop: Double
        let leave_one_out: [Double]?
        let gim_attributions: [Float]
        let plain_attributions: [Float]
        let gim: [String: Double?]
        let plain: [String: Double?]
        let random: [String: Double?]?
        let perturbed_inputs: Int
        let timing_ms: Timing
    }
    struct MeasureJSON: Encodable {
        let mean: Double?; let lower: Double?; let upper: Double?; let count: Int; let undefined: Int
    }
    struct ComparisonJSON: Encodable {
        let mean: Double?; let lower: Double?; let upper: Double?; let count: Int
        let wins: Int; let losses: Int; let ties: Int
    }
    struct Skipped: Encodable { let index: Int; let prompt: String; let error: String }
    struct Output: Encodable {
        let model: String
        let prompts_file: String
        let prompt_count: Int
        let evaluated: Int
        let baseline_token_id: Int
        let settings: KnobsJSON
        let random_orders: Int
        let seed: UInt64
        let max_curve_points: Int
        let min_logit_drop: Double
        let min_probability_drop: Double
        let bootstrap_resamples: Int
        let summary: [String: [String: MeasureJSON]]
        let gim_minus_plain: [String: ComparisonJSON]
        let gim_minus_random: [String: ComparisonJSON]
        let expected_target_is_top1: [Int]
        let timing_s: [String: Double]
        let prompts: [PromptRow]
        let skipped: [Skipped]
    }

    // MARK: Run

    func run() throws {
        let bundle = try modelOptions.load()
        var set = try EvaluationPrompt.load(path: prompts)
        if let limit { set = Array(set.prefix(limit)) }
        let baseline = try baselineTokenID ?? bundle.inferredBaseline()
        guard baseline >= 0 && baseline < bundle.model.vocabSize else {
            throw ValidationError("--baseline-token-id \(baseline) is outside the vocabulary (0..<\(bundle.model.vocabSize))")
        }
        let settings = knobs.settings
        let options = FaithfulnessOptions(maxCurvePoints: maxCurvePoints, randomOrders: randomOrders, seed: seed,
                                          minimumLogitDrop: minLogitDrop, minimumProbabilityDrop: minProbabilityDrop)

        if let names = self.methods {
            // The method list replaces GIM vs plain; the knobs' input baseline applies to IG and occlusion.
            let list = try MethodOptions.parse(names, igSteps: igSteps).map { m -> AttributionMethod in
                var m = m
                if m.kind != .backward { m.settings.inputBaseline = knobs.inputBaseline }
                return m
            }
            return try runMethods(list, bundle: bundle, set: set, baseline: baseline, options: options)
        }
        let progress = EvaluateProgress(total: set.count)
        let started = DispatchTime.now()
        var results: [(Int, EvaluationPrompt, PromptEvaluation)] = []
        var skipped: [Skipped] = []
        for (i, p) in set.enumerated() {
            progress.update(done: i, note: p.prompt)
            do {
                results.append((i, p, try PromptEvaluation.run(bundle: bundle, prompt: p, settings: settings,
                                                               baselineTokenID: baseline, options: options)))
            } catch {
                skipped.append(Skipped(index: i, prompt: p.prompt, error: "\(error)"))
                progress.message("prompt \(i + 1) skipped: \(error)")
            }
        }
        progress.finish()
        let totalSeconds = seconds(since: started)
        guard !results.isEmpty else { throw ValidationError("no prompt could be evaluated") }

        let evals = results.map(\.2)
        func values(_ pick: (PromptEvaluation) -> FaithfulnessScore?, _ m: FaithfulnessMeasure) -> [Double?] {
            evals.map { pick($0)?[m] }
        }
        let methods: [(String, String, (PromptEvaluation) -> FaithfulnessScore?)] = [
            ("gim", "GIM", { $0.gim }), ("plain", "plain gradient", { $0.plain }), ("random", "random", { $0.random }),
        ]
        var summary: [String: [FaithfulnessMeasure: FaithfulnessSummary.Measure]] = [:]
        for (key, _, pick) in methods {
            for m in FaithfulnessMeasure.allCases {
                summary[key, default: [:]][m] = FaithfulnessSummary.measure(values(pick, m), resamples: bootstrap, seed: seed)
            }
        }
        var versusPlain: [FaithfulnessMeasure: FaithfulnessSummary.Comparison] = [:]
        var versusRandom: [FaithfulnessMeasure: FaithfulnessSummary.Comparison] = [:]
        for m in FaithfulnessMeasure.allCases {
            versusPlain[m] = FaithfulnessSummary.compare(values({ $0.gim }, m), values({ $0.plain }, m),
                                                         resamples: bootstrap, seed: seed)
            versusRandom[m] = FaithfulnessSummary.compare(values({ $0.gim }, m), values({ $0.random }, m),
                                                          resamples: bootstrap, seed: seed)
        }
        let withTarget = evals.filter { $0.expectedTokenIDs != nil }
        let top1 = withTarget.filter { $0.predictedTokenID == $0.targetTokenID }.count
        let promptMs = evals.map { ($0.attributionSeconds + $0.perturbationSeconds) * 1000 }

        if json {
            func measureJSON(_ s: FaithfulnessSummary.Measure) -> MeasureJSON {
                MeasureJSON(mean: s.interval?.mean, lower: s.interval?.lower, upper: s.interval?.upper,
                            count: s.interval?.count ?? 0, undefined: s.undefined)
            }
            func comparisonJSON(_ c: FaithfulnessSummary.Comparison) -> ComparisonJSON {
                ComparisonJSON(mean: c.difference?.mean, lower: c.difference?.lower, upper: c.difference?.upper,
                               count: c.difference?.count ?? 0, wins: c.wins, losses: c.losses, ties: c.ties)
            }
            func scoreJSON(_ s: FaithfulnessScore) -> [String: Double?] {
                Dictionary(uniqueKeysWithValues: FaithfulnessMeasure.allCases.map { ($0.rawValue, s[$0]) })
            }
            let rows = results.map { (i, p, e) in
                PromptRow(index: i, prompt: p.prompt, category: p.category, expected_target: p.target,
                          token_count: e.tokenIDs.count, target_token_id: e.targetTokenID,
                          target_token: bundle.tokenizer.displayText(e.targetTokenID),
                          predicted_token_id: e.predictedTokenID,
                          predicted_token: bundle.tokenizer.displayText(e.predictedTokenID),
                          target_logit: e.reference.targetLogit, full_logit_drop: e.reference.logitDrop,
                          full_probability_drop: e.reference.probabilityDrop, leave_one_out: e.reference.leaveOneOut,
                          gim_attributions: e.gimValues, plain_attributions: e.plainValues,
                          gim: scoreJSON(e.gim), plain: scoreJSON(e.plain), random: e.random.map(scoreJSON),
                          perturbed_inputs: e.perturbedInputs,
                          timing_ms: Timing(attribution: e.attributionSeconds * 1000,
                                            perturbation: e.perturbationSeconds * 1000,
                                            total: (e.attributionSeconds + e.perturbationSeconds) * 1000))
            }
            let out = Output(
                model: bundle.name, prompts_file: prompts, prompt_count: set.count, evaluated: results.count,
                baseline_token_id: baseline, settings: KnobsJSON(settings), random_orders: randomOrders, seed: seed,
                max_curve_points: maxCurvePoints, min_logit_drop: minLogitDrop, min_probability_drop: minProbabilityDrop,
                bootstrap_resamples: bootstrap,
                summary: summary.mapValues { byMeasure in
                    Dictionary(uniqueKeysWithValues: byMeasure.map { ($0.key.rawValue, measureJSON($0.value)) })
                },
                gim_minus_plain: Dictionary(uniqueKeysWithValues: versusPlain.map { ($0.key.rawValue, comparisonJSON($0.value)) }),
                gim_minus_random: Dictionary(uniqueKeysWithValues: versusRandom.map { ($0.key.rawValue, comparisonJSON($0.value)) }),
                expected_target_is_top1: [top1, withTarget.count],
                timing_s: ["load": bundle.loadSeconds, "total": totalSeconds,
                           "mean_prompt": promptMs.reduce(0, +) / Double(promptMs.count) / 1000,
                           "median_prompt": Statistics.median(promptMs) / 1000],
                prompts: rows, skipped: skipped)
            return try printJSON(out)
        }

        // Text report.
        let meanTokens = Double(evals.map(\.tokenIDs.count).reduce(0, +)) / Double(evals.count)
        print("faithfulness of \(bundle.name) on \(prompts): \(results.count) prompts"
              + (skipped.isEmpty ? "" : " (\(skipped.count) skipped)")
              + String(format: ", %.1f tokens on average", meanTokens))
        print("GIM: \(knobSummary(settings)); baseline token \(baseline) \"\(visible(bundle.tokenizer.displayText(baseline)))\"")
        print("random floor: \(randomOrders == 0 ? "none" : "\((randomOrders + 1) / 2 * 2) orders (antithetic pairs)"), seed \(seed); "
              + "mean [95% bootstrap interval] over prompts, \(bootstrap) resamples")
        print("")
        let cell = 24, diffCell = 26
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func fmt(_ i: Statistics.Interval?, signed: Bool = false) -> String {
            guard let i else { return "–" }
            let f = signed ? "%+.3f" : "%.3f"
            return String(format: "\(f) [\(f), \(f)]", i.mean, i.lower, i.upper)
        }
        print(pad("measure (higher = better)", 27) + methods.map { pad($0.1, cell) }.joined(separator: " ")
              + " " + pad("GIM − plain", diffCell) + " GIM better")
        for m in FaithfulnessMeasure.allCases {
            var line = pad(m.title, 27)
            for (key, _, _) in methods { line += pad(fmt(summary[key]![m]!.interval), cell) + " " }
            let c = versusPlain[m]!
            line += pad(fmt(c.difference, signed: true), diffCell)
            line += " \(c.wins)/\(c.wins + c.losses + c.ties)"
            print(line)
        }
        print("")
        let undefinedLogit = evals.filter { !$0.reference.logitAreasDefined }.count
        let undefinedProb = evals.filter { !$0.reference.probabilityAreasDefined }.count
        print("undefined, excluded from the means: logit areas on \(undefinedLogit) prompts (full drop ≤ \(options.minimumLogitDrop) logit), "
              + "probability areas on \(undefinedProb) (full drop ≤ \(options.minimumProbabilityDrop)); correlations: "
              + methods.map { "\($0.0) \(summary[$0.0]![.spearman]!.undefined)" }.joined(separator: ", "))
        let vr = versusRandom[.deletionLogit]!
        print("GIM − random, \(FaithfulnessMeasure.deletionLogit.title): \(fmt(vr.difference, signed: true)), GIM better on \(vr.wins)/\(vr.wins + vr.losses + vr.ties)")
        let split = results.filter { ($0.2.expectedTokenIDs?.count ?? 1) > 1 }
        if !split.isEmpty {
            print("\(split.count) expected targets span several tokens (their first token is explained): "
                  + split.prefix(8).map { "\"\(visible($0.1.target!))\"" }.joined(separator: ", ") + (split.count > 8 ? ", …" : ""))
        }
        if !withTarget.isEmpty {
            print("the expected target is the model's top-1 on \(top1)/\(withTarget.count) prompts (the expected target is explained either way)")
        }
        print(String(format: "time per prompt: mean %.2f s, median %.2f s (attributions %.2f s, %.0f perturbed inputs %.2f s); total %@, model load %.1f s",
                     promptMs.reduce(0, +) / Double(promptMs.count) / 1000, Statistics.median(promptMs) / 1000,
                     evals.map(\.attributionSeconds).reduce(0, +) / Double(evals.count),
                     Double(evals.map(\.perturbedInputs).reduce(0, +)) / Double(evals.count),
                     evals.map(\.perturbationSeconds).reduce(0, +) / Double(evals.count),
                     duration(totalSeconds), bundle.loadSeconds))

        // Per category: means only.
        let categories = Array(Set(results.map { $0.1.category ?? "-" })).sorted()
        if categories.count > 1 {
            let shown: [FaithfulnessMeasure] = [.deletionLogit, .deletionProbability, .spearman]
            print("\nper category (means): " + shown.map(\.title).joined(separator: " | "))
            print(pad("category", 14) + pad("n", 5) + shown.map { _ in "   GIM  plain random" }.joined(separator: " |"))
            for c in categories {
                let idx = results.indices.filter { (results[$0].1.category ?? "-") == c }
                func mean(_ pick: (PromptEvaluation) -> FaithfulnessScore?, _ m: FaithfulnessMeasure) -> String {
                    let v = idx.compactMap { pick(evals[$0])?[m] }
                    return v.isEmpty ? "     –" : String(format: "%6.3f", v.reduce(0, +) / Double(v.count))
                }
                var line = pad(c, 14) + pad("\(idx.count)", 5)
                line += shown.map { m in methods.map { mean($0.2, m) }.joined(separator: " ") }.joined(separator: " |")
                print(line)
            }
        }

        if perPrompt {
            print("\n  #  category      tok  target           Δlogit  del GIM  del plain  del rand   ρ GIM  ρ plain   ms")
            for (i, p, e) in results {
                func f(_ v: Double?) -> String { v.map { String(format: "%7.3f", $0) } ?? "      –" }
                let target = "\"" + visible(bundle.tokenizer.displayText(e.targetTokenID)) + "\""
                print(String(format: "%3d  ", i + 1) + pad(String((p.category ?? "-").prefix(12)), 13)
                      + String(format: "%4d  ", e.tokenIDs.count) + pad(String(target.prefix(15)), 15)
                      + String(format: " %7.2f ", e.reference.logitDrop)
                      + [f(e.gim.deletionArea), "  " + f(e.plain.deletionArea), "  " + f(e.random?.deletionArea),
                         f(e.gim.spearman), " " + f(e.plain.spearman)].joined(separator: " ")
                      + String(format: " %5.0f", (e.attributionSeconds + e.perturbationSeconds) * 1000))
            }
        }
        for s in skipped { print("skipped prompt \(s.index + 1): \(s.error)") }
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func duration(_ s: Double) -> String {
    s < 60 ? String(format: "%.1f s", s) : String(format: "%dm %02ds", Int(s) / 60, Int(s) % 60)
}

/// Progress on standard error: a redrawn bar when stderr is a terminal, else a line every ~10%.
final class EvaluateProgress {
    let total: Int
    let tty = isatty(STDERR_FILENO) == 1
    let start = DispatchTime.now()
    var lastPrinted = -1

    init(total: Int) { self.total = total }

    private func write(_ s: String) { FileHandle.standardError.write(s.data(using: .utf8)!) }

    func update(done: Int, note: String) {
        let elapsed = seconds(since: start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : nil
        let etaText = eta.map { "eta " + duration($0) } ?? "eta –"
        if tty {
            let width = 30
            let filled = total > 0 ? done * width / total : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            var shown = visible(note)
            if shown.count > 32 { shown = String(shown.prefix(31)) + "…" }
            write("\r\u{1B}[2K[\(bar)] \(done)/\(total) \(etaText)  \(shown)")
        } else {
            let step = max(1, total / 10)
            if done % step == 0 && done != lastPrinted {
                lastPrinted = done
                write("evaluate: \(done)/\(total) prompts, \(duration(elapsed)) elapsed, \(etaText)\n")
            }
        }
    }

    func message(_ s: String) {
        write((tty ? "\r\u{1B}[2K" : "") + s + "\n")
    }

    func finish() {
        if tty { write("\r\u{1B}[2K") }
        write("evaluate: \(total)/\(total) prompts in \(duration(seconds(since: start)))\n")
    }
}
