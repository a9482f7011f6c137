import ArgumentParser
import Foundation
import GIMEngine

/// `gim evaluate --methods A,B,…`: the GIM paper's comparison table over a prompt set: every
/// method × comprehensiveness, sufficiency (the paper's ratio to f(x), and in logits) and the
/// deletion/insertion/leave-one-out figures, with bootstrap 95% intervals and paired
/// differences against GIM (or the first method when GIM is not listed).
extension Evaluate {
    /// A column of the table: one of the paper's measures or of the existing faithfulness measures.
    enum Metric: CaseIterable {
        case comprehensiveness, sufficiency, comprehensivenessLogits, sufficiencyLogits
        case deletionLogits, insertionLogits, deletionNormalised, spearman

        var key: String {
            switch self {
            case .comprehensiveness: return "comprehensiveness"
            case .sufficiency: return "sufficiency"
            case .comprehensivenessLogits: return "comprehensiveness_logits"
            case .sufficiencyLogits: return "sufficiency_logits"
            case .deletionLogits: return FaithfulnessMeasure.deletionLogitUnits.rawValue
            case .insertionLogits: return FaithfulnessMeasure.insertionLogitUnits.rawValue
            case .deletionNormalised: return FaithfulnessMeasure.deletionLogit.rawValue
            case .spearman: return FaithfulnessMeasure.spearman.rawValue
            }
        }
        /// Column header (two short lines' worth).
        var header: String {
            switch self {
            case .comprehensiveness: return "comp/f(x) ↑"
            case .sufficiency: return "suff/f(x) ↓"
            case .comprehensivenessLogits: return "comp logits ↑"
            case .sufficiencyLogits: return "suff logits ↓"
            case .deletionLogits: return "del area lg ↑"
            case .insertionLogits: return "ins area lg ↑"
            case .deletionNormalised: return "del area/Δ ↑"
            case .spearman: return "ρ LOO ↑"
            }
        }
        var higherIsBetter: Bool { self != .sufficiency && self != .sufficiencyLogits }

        func value(_ r: MethodEvaluation.Result) -> Double? {
            switch self {
            case .comprehensiveness: return r.paper.comprehensiveness
            case .sufficiency: return r.paper.sufficiency
            case .comprehensivenessLogits: return r.paper.comprehensivenessLogits
            case .sufficiencyLogits: return r.paper.sufficiencyLogits
            case .deletionLogits: return r.score.deletionLogits
            case .insertionLogits: return r.score.insertionLogits
            case .deletionNormalised: return r.score.deletionArea
            case .spearman: return r.score.spearman
            }
        }
    }

    struct MethodInfo: Encodable {
        let name: String; let title: String; let kind: String; let summary: String
        let settings: KnobsJSON?; let steps: Int?; let seed: UInt64?; let input_baseline: String
    }
    struct MetricInfo: Encodable { let key: String; let title: String; let higher_is_better: Bool }
    struct MethodPromptJSON: Encodable {
        let attributions: [Float]
        let metrics: [String: Double?]
        let comprehensiveness_drops: [Double]
        /// f(x), then f(top k replaced) for each k: the raw target logit, defined on every prompt.
        let comprehensiveness_curve: [Double]
        let sufficiency_drops: [Double]
        let ms: Double
    }
    struct MethodsPromptRow: Encodable {
        let index: Int; let prompt: String; let category: String?; let expected_target: String?
        let token_count: Int; let target_token_id: Int; let target_token: String
        let target_logit: Double; let full_logit_drop: Double
        let comprehensiveness_counts: [Int]; let sufficiency_counts: [Int]
        let methods: [String: MethodPromptJSON]
        let perturbed_inputs: Int
    }
    struct MethodsOutput: Encodable {
        let model: String; let prompts_file: String; let prompt_count: Int; let evaluated: Int
        let baseline_token_id: Int; let seed: UInt64; let bootstrap_resamples: Int
        let methods: [MethodInfo]; let metrics: [MetricInfo]
        let reference_method: String
        let summary: [String: [String: MeasureJSON]]
        let versus_reference: [String: [String: ComparisonJSON]]
        let timing_s: [String: Double]
        let prompts: [MethodsPromptRow]
        let skipped: [Skipped]
    }

    func runMethods(_ methods: [AttributionMethod], bundle: ModelBundle, set: [EvaluationPrompt], baseline: Int,
                    options: FaithfulnessOptions) throws {
        let progress = EvaluateProgress(total: set.count)
        let started = DispatchTime.now()
        var results: [(Int, EvaluationPrompt, MethodEvaluation)] = []
        var skipped: [Skipped] = []
        for (i, p) in set.enumerated() {
            progress.update(done: i, note: p.prompt)
            do {
                results.append((i, p, try MethodEvaluation.run(bundle: bundle, prompt: p, methods: methods,
                                                               baselineTokenID: baseline, options: options)))
            } catch {
                skipped.append(Skipped(index: i, prompt: p.prompt, error: "\(error)"))
                progress.message("prompt \(i + 1) skipped: \(error)")
            }
        }
        progress.finish()
        let total = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        guard !results.isEmpty else { throw ValidationError("no prompt could be evaluated") }
        let evals = results.map(\.2)
        let refIndex = methods.firstIndex { $0.name == "gim" } ?? 0
        let reference = methods[refIndex].name
        func column(_ m: Int, _ metric: Metric) -> [Double?] { evals.map { metric.value($0.results[m]) } }
        var summary: [String: [String: FaithfulnessSummary.Measure]] = [:]
        var versus: [String: [String: FaithfulnessSummary.Comparison]] = [:]
        for (mi, m) in methods.enumerated() {
            for metric in Metric.allCases {
                summary[m.name, default: [:]][metric.key] = FaithfulnessSummary.measure(column(mi, metric), resamples: bootstrap, seed: seed)
                if mi != refIndex {
                    versus[m.name, default: [:]][metric.key] = FaithfulnessSummary.compare(column(mi, metric), column(refIndex, metric),
                                                                                          resamples: bootstrap, seed: seed)
                }
            }
        }
        let methodMs = methods.indices.map { mi in evals.map { $0.results[mi].attribution.seconds * 1000 } }

        if json {
            let rows = results.map { (i, p, e) -> MethodsPromptRow in
                var byMethod: [String: MethodPromptJSON] = [:]
                for r in e.results {
                    byMethod[r.method.name] = MethodPromptJSON(
                        attributions: r.attribution.values,
                        metrics: Dictionary(uniqueKeysWithValues: Metric.allCases.map { ($0.key, $0.value(r)) }),
                        comprehensiveness_drops: r.paper.comprehensivenessDrops,
                        comprehensiveness_curve: r.paper.comprehensivenessCurve, sufficiency_drops: r.paper.sufficiencyDrops,
                        ms: r.attribution.seconds * 1000)
                }
                return MethodsPromptRow(index: i, prompt: p.prompt, category: p.category, expected_target: p.target,
                                        token_count: e.tokenIDs.count, target_token_id: e.targetTokenID,
                                        target_token: bundle.tokenizer.displayText(e.targetTokenID),
                                        target_logit: e.reference.targetLogit, full_logit_drop: e.reference.logitDrop,
                                        comprehensiveness_counts: e.results[0].paper.comprehensivenessCounts,
                                        sufficiency_counts: e.results[0].paper.sufficiencyCounts,
                                        methods: byMethod, perturbed_inputs: e.perturbedInputs)
            }
            let out = MethodsOutput(
                model: bundle.name, prompts_file: prompts, prompt_count: set.count, evaluated: results.count,
                baseline_token_id: baseline, seed: seed, bootstrap_resamples: bootstrap,
                methods: methods.map { m in
                    MethodInfo(name: m.name, title: m.title, kind: m.kind.rawValue, summary: m.summary,
                               settings: m.kind == .backward ? KnobsJSON(m.settings, complete: true) : nil,
                               steps: m.kind == .integratedGradients ? m.steps : nil, seed: m.kind == .random ? m.seed : nil,
                               input_baseline: m.settings.inputBaseline.rawValue)
                },
                metrics: Metric.allCases.map { MetricInfo(key: $0.key, title: $0.header, higher_is_better: $0.higherIsBetter) },
                reference_method: reference,
                summary: summary.mapValues { $0.mapValues(measureJSON) },
                versus_reference: versus.mapValues { $0.mapValues(comparisonJSON) },
                timing_s: ["load": bundle.loadSeconds, "total": total],
                prompts: rows, skipped: skipped)
            return try printJSON(out)
        }

        print("faithfulness of \(bundle.name) on \(prompts): \(results.count) prompts"
              + (skipped.isEmpty ? "" : " (\(skipped.count) skipped)") + "; target = the expected token, else the argmax")
        print("baseline token \(baseline) \"\(visible(bundle.tokenizer.displayText(baseline)))\"; mean [95% bootstrap interval] over prompts, \(bootstrap) resamples; ↑ higher = better, ↓ lower = better")
        print("comp = comprehensiveness: mean drop of the target logit as the top 1…min(50, n) tokens are replaced by the baseline;")
        print("suff = sufficiency: mean drop when the least important 50/80/90/95/99% are replaced; /f(x) = divided by the prompt's")
        print("target logit as the paper does (undefined when f(x) ≤ 0); del/ins area lg = areas over/under the deletion/insertion")
        print("curves in logits; del area/Δ normalised by the full drop (undefined when Δ ≤ \(options.minimumLogitDrop)); ρ LOO = Spearman vs leave-one-out\n")
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func fmt(_ i: Statistics.Interval?, signed: Bool = false) -> String {
            guard let i else { return "–" }
            let f = signed ? "%+.2f" : "%.2f"
            return String(format: "\(f) [\(f),\(f)]", i.mean, i.lower, i.upper)
        }
        let nameWidth = max(12, methods.map(\.title.count).max()! + 1), cell = 20
        print(pad("method", nameWidth) + Metric.allCases.map { pad($0.header, cell) }.joined() + "ms")
        for (mi, m) in methods.enumerated() {
            var line = pad(m.title, nameWidth)
            for metric in Metric.allCases { line += pad(fmt(summary[m.name]![metric.key]!.interval), cell) }
            line += String(format: "%.0f", Statistics.median(methodMs[mi]))
            print(line)
        }
        let undefined = Metric.allCases.compactMap { metric -> String? in
            let n = summary[methods[0].name]![metric.key]!.undefined
            return n > 0 ? "\(metric.header) on \(n)" : nil
        }
        if !undefined.isEmpty { print("undefined, excluded from the means (first method): " + undefined.joined(separator: ", ")) }
        guard methods.count > 1 else { return }
        print("\npaired differences, method − \(methods[refIndex].title), on the same prompts (mean [95% interval]; wins = prompts where the method is better)")
        print(pad("method", nameWidth) + Metric.allCases.map { pad($0.header, cell + 7) }.joined())
        for (mi, m) in methods.enumerated() where mi != refIndex {
            var line = pad(m.title, nameWidth)
            for metric in Metric.allCases {
                let c = versus[m.name]![metric.key]!
                let wins = metric.higherIsBetter ? c.wins : c.losses
                line += pad(fmt(c.difference, signed: true) + " \(wins)/\(c.wins + c.losses + c.ties)", cell + 7)
            }
            print(line)
        }
        print(String(format: "\ntotal %.1f s, model load %.1f s", total, bundle.loadSeconds))
        for s in skipped { print("skipped prompt \(s.index + 1): \(s.error)") }
    }

    func measureJSON(_ s: FaithfulnessSummary.Measure) -> MeasureJSON {
        MeasureJSON(mean: s.interval?.mean, lower: s.interval?.lower, upper: s.interval?.upper,
                    count: s.interval?.count ?? 0, undefined: s.undefined)
    }
    func comparisonJSON(_ c: FaithfulnessSummary.Comparison) -> ComparisonJSON {
        ComparisonJSON(mean: c.difference?.mean, lower: c.difference?.lower, upper: c.difference?.upper,
                       count: c.difference?.count ?? 0, wins: c.wins, losses: c.losses, ties: c.ties)
    }
}
