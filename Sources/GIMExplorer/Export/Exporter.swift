import Foundation
import GIMEngine

/// Writes what is on screen to files: JSON with every number, and a standalone HTML page
/// (inline CSS, no scripts) whose tokens are coloured with the same theme and the same
/// per-view heat levels as the terminal.
public enum Exporter {
    /// The JSON document (keys in the Python package's snake_case style).
    public struct Document: Encodable {
        public struct Token: Encodable {
            let index: Int
            let id: Int
            let text: String
            /// False for positions after the target (their attribution is 0 by construction).
            let attributed: Bool
            let gim: Float
            let plain: Float
            /// Each view scaled to max |a| = 1, GIM minus plain.
            let difference: Float
            let gim_rank: Int?
            let plain_rank: Int?
            let gim_level: Int
            let plain_level: Int
        }
        /// One pane: its method with every knob, its values and its faithfulness figures.
        public struct Pane: Encodable {
            let method: String
            let title: String
            /// "backward", "integrated-gradients", "occlusion" or "random".
            let kind: String
            /// The backward's knobs (Python package names); IG and occlusion use only the baseline.
            let settings: [String: Double]
            let freeze_norm: Bool
            let activation_rule: String
            let input_baseline: String
            let steps: Int?
            let seed: UInt64?
            let focused: Bool
            let values: [Float]
            let ranks: [Int?]
            let levels: [Int]
            let max_abs: Float
            /// nil when it was kept from the previous request.
            let milliseconds: Double?
            let faithfulness: Figures?
        }
        /// A pane's faithfulness (nil members: undefined for this prompt).
        public struct Figures: Encodable {
            let comprehensiveness: Double?
            let sufficiency: Double?
            let comprehensiveness_logits: Double?
            let sufficiency_logits: Double?
            let deletion_area: Double?
            let insertion_area: Double?
            let spearman_leave_one_out: Double?
        }
        public struct Candidate: Encodable {
            let id: Int
            let text: String
            let probability: Double
            let logit: Float
        }
        let model: String
        let prompt: String
        let view: String
        let theme: String
        let target_position: Int
        let target_token_id: Int
        let target_token: String
        let target_probability: Double
        let foil_token_id: Int?
        let foil_token: String?
        /// "logit" or "logit(target) - logit(foil)".
        let explained: String
        let target_logit: Float
        let baseline: String
        let settings: [String: Double]
        let freeze_norm: Bool
        let gim_max_abs: Float
        let plain_max_abs: Float
        let tokens: [Token]
        /// Every pane in screen order (the token fields `gim`/`plain` repeat the first pane and the plain gradient).
        let panes: [Pane]
        /// The difference view's panes: [minuend, subtrahend] indices into `panes`.
        let difference_panes: [Int]?
        let predictions: [Candidate]
        let timing_ms: [String: Double]
        /// Index of the first continuation token (generated or given); nil = the prompt alone.
        var continuation_start: Int? = nil
        /// Per token, whether it is a special token.
        var special: [Bool]? = nil
        /// The words the tokens form (WordAggregation) and, per word, its GIM and plain value.
        var words: [WordEntry]? = nil
        var word_reduction: String? = nil
        /// The circuit view's data, when it has scores (Exporter+Circuit.swift).
        var circuit: CircuitDocument? = nil
    }
    public struct WordEntry: Encodable {
        let text: String
        /// Token indices first..<end.
        let first_token: Int
        let end_token: Int
        let gim: Float
        let plain: Float
    }

    public static func document(_ r: AnalysisResult, view: ExplorerState.View, model: String, theme: String,
                                faithfulness: FaithfulnessReport? = nil, focus: Int = 0,
                                difference: (Int, Int)? = nil, reduction: WordReduction = .sum,
                                circuit: CircuitView? = nil) -> Document {
        let count = min(r.targetPosition + 1, r.tokenIDs.count)
        // The token fields keep today's two columns: the first pane, and the plain gradient (or
        // the second pane; zeros with a single pane).
        let zeros = [Float](repeating: 0, count: r.tokenIDs.count)
        let gim = r.gim.count == r.tokenIDs.count ? r.gim : zeros
        let plain = r.plain.count == r.tokenIDs.count ? r.plain : zeros
        let gimScale = HeatScale(gim, count: count), plainScale = HeatScale(plain, count: count)
        let gimRanks = HeatScale.ranks(gim, count: count), plainRanks = HeatScale.ranks(plain, count: count)
        let scaledDifference = HeatScale.difference(gim: gim, plain: plain, count: count)
        let tokens = r.tokenIDs.indices.map { i in
            Document.Token(index: i, id: r.tokenIDs[i], text: r.tokenTexts[i], attributed: i < count,
                           gim: gim[i], plain: plain[i], difference: scaledDifference[i],
                           gim_rank: gimRanks[i], plain_rank: plainRanks[i],
                           gim_level: gimScale.level(gim[i]), plain_level: plainScale.level(plain[i]))
        }
        var timing = ["gim": r.gimMilliseconds]
        if let p = r.panes.first(where: { $0.method.kind == .backward && $0.method.settings.isPlain })?.milliseconds {
            timing["plain"] = p
        }
        if let f = r.forwardMilliseconds { timing["forward"] = f }
        let s = r.settings
        let report = faithfulness?.requestID == r.requestID && faithfulness?.failure == nil ? faithfulness : nil
        let panes = r.panes.enumerated().map { i, p -> Document.Pane in
            let m = p.method, ps = m.settings
            let scale = HeatScale(p.values, count: count)
            let figures = report?.figures(for: m, at: i).map {
                Document.Figures(comprehensiveness: $0.comprehensiveness, sufficiency: $0.sufficiency,
                                 comprehensiveness_logits: $0.comprehensivenessLogits, sufficiency_logits: $0.sufficiencyLogits,
                                 deletion_area: $0.deletionArea, insertion_area: $0.insertionArea,
                                 spearman_leave_one_out: $0.spearman)
            }
            return Document.Pane(
                method: m.name, title: Renderer.paneTitle(m), kind: m.kind.rawValue,
                settings: ["softmax_temperature": Double(ps.softmaxTemperature), "q_scale": Double(ps.qScale),
                           "k_scale": Double(ps.kScale), "v_scale": Double(ps.vScale), "gate_scale": Double(ps.gateScale),
                           "up_scale": Double(ps.upScale)],
                freeze_norm: ps.freezeNorm, activation_rule: ps.activationRule.rawValue,
                input_baseline: ps.inputBaseline.rawValue,
                steps: m.kind == .integratedGradients ? m.steps : nil, seed: m.kind == .random ? m.seed : nil,
                focused: i == focus, values: p.values, ranks: HeatScale.ranks(p.values, count: count),
                levels: p.values.indices.map { $0 < count ? scale.level(p.values[$0]) : 0 }, max_abs: scale.maxMagnitude,
                milliseconds: p.milliseconds, faithfulness: figures)
        }
        return Document(
            model: model, prompt: r.prompt, view: view.rawValue, theme: theme,
            target_position: r.targetPosition, target_token_id: r.targetID, target_token: r.targetText,
            target_probability: r.targetProbability, foil_token_id: r.foilID, foil_token: r.foilText,
            explained: r.foilID == nil ? "logit" : "logit(target) - logit(foil)", target_logit: r.targetLogit,
            baseline: "inferred (the tokenizer's space token)",
            settings: ["softmax_temperature": Double(s.softmaxTemperature), "q_scale": Double(s.qScale),
                       "k_scale": Double(s.kScale), "v_scale": Double(s.vScale), "gate_scale": Double(s.gateScale),
                       "up_scale": Double(s.upScale)],
            freeze_norm: s.freezeNorm, gim_max_abs: gimScale.maxMagnitude, plain_max_abs: plainScale.maxMagnitude,
            tokens: tokens, panes: panes, difference_panes: difference.map { [$0.0, $0.1] },
            predictions: r.predictions.map { Document.Candidate(id: $0.id, text: $0.text, probability: $0.probability, logit: $0.logit) },
            timing_ms: timing, continuation_start: r.continuationStart, special: r.special.isEmpty ? nil : r.special,
            words: wordEntries(r, reduction: reduction), word_reduction: r.words == nil ? nil : reduction.rawValue,
            circuit: circuit.flatMap(circuitDocument))
    }

    static func wordEntries(_ r: AnalysisResult, reduction: WordReduction) -> [WordEntry]? {
        guard let m = r.words, m.wordOfToken.count == r.gim.count, r.plain.count == r.gim.count else { return nil }
        let g = m.aggregate(r.gim, reduction), p = m.aggregate(r.plain, reduction)
        return m.words.enumerated().map { i, w in
            WordEntry(text: w.text, first_token: w.firstToken, end_token: w.endToken, gim: g[i], plain: p[i])
        }
    }

    public static func json(_ document: Document) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(document)
    }

    // MARK: HTML

    public static func html(_ r: AnalysisResult, view: ExplorerState.View, model: String, theme: Theme,
                            faithfulness: FaithfulnessReport? = nil, difference: (Int, Int)? = nil,
                            reduction: WordReduction = .sum, circuit: CircuitView? = nil) -> String {
        let count = min(r.targetPosition + 1, r.tokenIDs.count)
        let text = theme.style(.text)
        let page = text.background.rgb?.hex ?? "Canvas"
        let ink = text.foreground.rgb?.hex ?? "CanvasText"
        let dim = theme.style(.dim).foreground.rgb?.hex ?? ink
        let accent = theme.style(.accent).foreground.rgb?.hex ?? ink

        var rows: [(String, [Float])] = []
        switch view {
        case .heat, .table: rows = r.panes.map { (Renderer.paneTitle($0.method), $0.values) }
        case .difference:
            let (a, b) = difference ?? (0, 1)
            if a < r.panes.count, b < r.panes.count, a != b {
                rows = [(Renderer.differenceTitle(r.panes[a].method, r.panes[b].method),
                         HeatScale.difference(gim: r.panes[a].values, plain: r.panes[b].values, count: count))]
            } else {
                rows = r.panes.map { (Renderer.paneTitle($0.method), $0.values) }
            }
        }

        var body = ""
        body += "<h1>GIM Explorer</h1>\n<p class=\"meta\">\(escape(model)) · explains <b>\(escape(quoted(r.targetText)))</b>"
        if let foil = r.foilText { body += " − <b>\(escape(quoted(foil)))</b>" }
        body += " after \(escape(quoted(r.tokenTexts[r.targetPosition]))) (position \(r.targetPosition)) · "
        body += "\(r.foilID == nil ? "logit" : "logit difference") \(escape(HeatScale.format(r.targetLogit)))<br>"
        for p in r.panes {
            body += "\(escape(Renderer.paneTitle(p.method))): \(escape(p.method.summary))<br>"
        }
        body += "</p>\n"
        body += "<p class=\"meta\">prompt: <code>\(escape(r.prompt))</code></p>\n"

        for (title, values) in rows {
            let scale = HeatScale(values, count: count)
            body += "<h2>\(escape(title))</h2>\n<div class=\"tokens\">"
            for i in r.tokenTexts.indices {
                let attributed = i < count
                let level = attributed ? scale.level(values[i]) : 0
                let label = Sanitizer.visible(r.tokenTexts[i])
                var classes = ["tok"]
                if i == r.targetPosition { classes.append("target") }
                if !attributed { classes.append("after") }
                let tip = "#\(i) id \(r.tokenIDs[i]): \(attributed ? HeatScale.format(values[i]) : "after the target")"
                body += "<span class=\"\(classes.joined(separator: " "))\" style=\"\(tokenStyle(level, theme: theme))\" title=\"\(escape(tip))\">\(escape(label.isEmpty ? "∅" : label))</span>"
            }
            body += "</div>\n" + legendHTML(scale, theme: theme)
        }

        body += "<h2>Values</h2>\n<table><tr><th>pos</th><th>token</th><th>id</th>"
        body += r.panes.map { "<th>\(escape(Renderer.paneTitle($0.method)))</th><th>rank</th>" }.joined() + "</tr>\n"
        let ranks = r.panes.map { HeatScale.ranks($0.values, count: count) }
        for i in r.tokenTexts.indices {
            let attributed = i < count
            body += "<tr\(i == r.targetPosition ? " class=\"target\"" : "")><td>\(i)</td><td><code>\(escape(Sanitizer.visible(r.tokenTexts[i])))</code></td><td>\(r.tokenIDs[i])</td>"
            for (p, pane) in r.panes.enumerated() {
                body += "<td>\(attributed ? escape(HeatScale.format(pane.values[i])) : "—")</td><td>\(ranks[p][i].map { "#\($0)" } ?? "")</td>"
            }
            body += "</tr>\n"
        }
        body += "</table>\n"
        if let report = faithfulness, report.requestID == r.requestID, report.failure == nil {
            body += "<h2>Faithfulness</h2>\n<table><tr><th>measure</th>"
            body += r.panes.map { "<th>\(escape(Renderer.paneTitle($0.method)))</th>" }.joined() + "</tr>\n"
            let measures: [(String, (PaneFaithfulness) -> Double?)] = [
                ("comprehensiveness / f(x) ↑", { $0.comprehensiveness }), ("sufficiency / f(x) ↓", { $0.sufficiency }),
                ("comprehensiveness, logits ↑", { $0.comprehensivenessLogits }),
                ("sufficiency, logits ↓", { $0.sufficiencyLogits }), ("deletion area ↓", { $0.deletionArea }),
                ("insertion area ↑", { $0.insertionArea }), ("Spearman ρ with leave-one-out ↑", { $0.spearman }),
            ]
            for (name, value) in measures {
                body += "<tr><td>\(escape(name))</td>"
                for i in r.panes.indices {
                    body += "<td>\(report.figures(for: r.panes[i].method, at: i).map { value($0).map { String(format: "%.3f", $0) } ?? "–" } ?? "…")</td>"
                }
                body += "</tr>\n"
            }
            body += "</table>\n"
        }
        if let words = wordEntries(r, reduction: reduction) {
            // The token boundaries of each word: which tokens it merges, and its aggregated values.
            body += "<h2>Words (\(reduction == .sum ? "sum of their tokens" : "token of largest |a|"))</h2>\n"
            body += "<table><tr><th>word</th><th>tokens</th><th>GIM</th><th>plain</th></tr>\n"
            for w in words {
                let pieces = (w.first_token..<w.end_token).map { escape(Sanitizer.visible(r.tokenTexts[$0])) }.joined(separator: "│")
                body += "<tr><td><code>\(escape(Sanitizer.visible(w.text)))</code></td><td><code>\(pieces)</code> (\(w.first_token)…\(w.end_token - 1))</td>"
                body += "<td>\(escape(HeatScale.format(w.gim)))</td><td>\(escape(HeatScale.format(w.plain)))</td></tr>\n"
            }
            body += "</table>\n"
        }
        if let start = r.continuationStart {
            body += "<p class=\"meta\">tokens from position \(start) on are the continuation (generated or given)</p>\n"
        }
        body += "<h2>Next token at position \(r.targetPosition)</h2>\n<ol>"
        for p in r.predictions {
            body += "<li><code>\(escape(quoted(p.text)))</code> \(String(format: "%.2f%%", p.probability * 100))\(p.id == r.targetID ? " ← target" : "")\(p.id == r.foilID ? " ← foil" : "")</li>"
        }
        body += "</ol>\n"
        if let circuit { body += circuitHTML(circuit, theme: theme) }

        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>GIM attribution: \(escape(Layout.fit(r.prompt, width: 60)))</title>
        <style>
        body { background: \(page); color: \(ink); font-family: ui-monospace, Menlo, Consolas, monospace; margin: 2em; }
        .meta { color: \(dim); }
        h1, h2 { color: \(accent); font-weight: 600; }
        .tokens { line-height: 2.2; white-space: pre-wrap; }
        .tok { white-space: pre; padding: 0.15em 0; border-right: 1px solid \(dim); }
        .tok.target { text-decoration: underline; font-weight: bold; }
        .tok.after { color: \(dim); }
        table { border-collapse: collapse; } td, th { padding: 0.1em 0.8em; text-align: right; }
        td:nth-child(2) { text-align: left; } tr.target { font-weight: bold; }
        .legend span { display: inline-block; width: 1.2em; }
        table.circuit td { width: 0.9em; height: 0.9em; padding: 0; } table.circuit th { font-weight: normal; padding: 0 0.3em; }
        </style></head><body>
        \(body)</body></html>

        """
    }

    /// The same colours as the terminal's truecolour view; a theme without colours (monochrome)
    /// marks magnitude with an underline as thick as the level, dashed when negative.
    static func tokenStyle(_ level: Int, theme: Theme) -> String {
        guard let heat = theme.heat else {
            guard level != 0 else { return "" }
            return "border-bottom: \(abs(level))px \(level < 0 ? "dashed" : "solid") currentColor;"
        }
        let bg = heat.background(level: level)
        let fg = level == 0 ? (theme.style(.text).foreground.rgb ?? heat.text(on: bg)) : heat.text(on: bg)
        return "background: \(bg.hex); color: \(fg.hex);"
    }

    static func legendHTML(_ scale: HeatScale, theme: Theme) -> String {
        let m = HeatScale.format(scale.maxMagnitude).dropFirst()
        var s = "<p class=\"legend meta\">−\(escape(String(m))) "
        for l in -Role.heatLevels...Role.heatLevels {
            s += "<span style=\"\(tokenStyle(l, theme: theme))\">\(theme.heat == nil ? String(HeatScale.glyph(l)) : "&nbsp;")</span>"
        }
        return s + " +\(escape(String(m))) (scaled to this row's largest |value|)</p>\n"
    }

    static func quoted(_ s: String) -> String { "\"" + Sanitizer.visible(s) + "\"" }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    // MARK: Files

    /// Writes `gim-YYYYMMDD-HHMMSS.json` and `.html` into `directory` (a suffix keeps earlier
    /// exports) and returns their paths.
    public static func write(_ r: AnalysisResult, view: ExplorerState.View, model: String, theme: Theme,
                             directory: URL, date: Date = Date(), faithfulness: FaithfulnessReport? = nil,
                             focus: Int = 0, difference: (Int, Int)? = nil, reduction: WordReduction = .sum,
                             circuit: CircuitView? = nil) throws -> [String] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let stem = "gim-" + formatter.string(from: date)
        var base = directory.appendingPathComponent(stem)
        var n = 2
        let fm = FileManager.default
        while fm.fileExists(atPath: base.path + ".json") || fm.fileExists(atPath: base.path + ".html") {
            base = directory.appendingPathComponent("\(stem)-\(n)")
            n += 1
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let jsonURL = base.appendingPathExtension("json"), htmlURL = base.appendingPathExtension("html")
        try json(document(r, view: view, model: model, theme: theme.name, faithfulness: faithfulness, focus: focus,
                          difference: difference, reduction: reduction, circuit: circuit)).write(to: jsonURL)
        try Data(html(r, view: view, model: model, theme: theme, faithfulness: faithfulness,
                      difference: difference, reduction: reduction, circuit: circuit).utf8).write(to: htmlURL)
        return [jsonURL.path, htmlURL.path]
    }
}
