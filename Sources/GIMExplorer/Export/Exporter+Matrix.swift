import Foundation
import GIMEngine

/// The matrix view's export: every continuation token's attribution over the tokens before it,
/// as JSON (all numbers) and as an HTML table coloured with the theme's heat scale, each row on
/// its own scale as on screen.
extension Exporter {
    public struct MatrixDocument: Encodable {
        public struct Source: Encodable {
            let index: Int
            let text: String
            let continuation: Bool
            let special: Bool
        }
        public struct Row: Encodable {
            let index: Int
            let token_id: Int
            let text: String
            let probability: Double
            /// The position whose next-token prediction this token is (its attribution covers 0…position).
            let position: Int
            /// The values of `method` (the focused pane's method: GIM unless another pane was focused).
            let gim: [Float]
            let plain: [Float]
        }
        let model: String
        let prompt: String
        let chat: Bool
        let system_prompt: String?
        let continuation: String
        let generation: String
        /// The method of the rows' `gim` values (an `AttributionMethod` preset name) and its title.
        let method: String
        let method_title: String
        let settings: [String: Double]
        let freeze_norm: Bool
        /// Columns: tokens, or words when `words` is set.
        let columns: String
        let word_reduction: String?
        let sources: [Source]
        /// The token ranges of each word column (first..<end), when columns are words.
        let word_tokens: [[Int]]?
        let rows: [Row]
    }

    /// Nil while a row is still being computed.
    public static func matrixDocument(_ state: ExplorerState, result r: AnalysisResult, model: String) -> MatrixDocument? {
        let g = state.generation
        guard let matrix = g.matrix, matrix.isComplete, !g.tokens.isEmpty else { return nil }
        let m = MatrixLayout(state: state, result: r)
        var wordTokens: [[Int]]?
        if state.display.words, r.continuationStart == g.promptTokenCount, let words = r.words {
            wordTokens = words.words.map { [$0.firstToken, $0.endToken] }
        }
        let rows = g.tokens.indices.map { j in
            MatrixDocument.Row(index: j, token_id: g.tokens[j].id, text: g.tokens[j].text, probability: g.tokens[j].probability,
                               position: g.promptTokenCount + j - 1, gim: m.gim[j] ?? [], plain: m.plain[j] ?? [])
        }
        let s = matrix.method.settings
        return MatrixDocument(
            model: model, prompt: g.prompt, chat: g.chat != nil, system_prompt: g.chat?.system,
            continuation: g.forcedText == nil ? "generated" : "given", generation: g.forcedText == nil ? g.options.summary : "teacher forcing",
            method: matrix.method.name, method_title: Renderer.paneTitle(matrix.method),
            settings: ["softmax_temperature": Double(s.softmaxTemperature), "q_scale": Double(s.qScale),
                       "k_scale": Double(s.kScale), "v_scale": Double(s.vScale), "gate_scale": Double(s.gateScale),
                       "up_scale": Double(s.upScale)],
            freeze_norm: s.freezeNorm, columns: wordTokens == nil ? "tokens" : "words",
            word_reduction: wordTokens == nil ? nil : state.display.reduction.rawValue,
            sources: m.columnTexts.indices.map {
                MatrixDocument.Source(index: $0, text: m.columnTexts[$0], continuation: m.columnIsContinuation[$0], special: m.columnIsSpecial[$0])
            },
            word_tokens: wordTokens, rows: rows)
    }

    public static func matrixHTML(_ d: MatrixDocument, state: ExplorerState, theme: Theme) -> String {
        let text = theme.style(.text)
        let page = text.background.rgb?.hex ?? "Canvas"
        let ink = text.foreground.rgb?.hex ?? "CanvasText"
        let dim = theme.style(.dim).foreground.rgb?.hex ?? ink
        let accent = theme.style(.accent).foreground.rgb?.hex ?? ink
        var body = "<h1>GIM Explorer: continuation matrix</h1>\n<p class=\"meta\">\(escape(d.model)) · \(escape(d.continuation)) (\(escape(d.generation)))"
        body += d.chat ? " · chat mode" : ""
        body += "<br>prompt: <code>\(escape(d.prompt))</code> · columns: \(d.columns)\(d.word_reduction.map { " (\($0))" } ?? "")</p>\n"
        for (title, pick) in [(d.method_title, \MatrixDocument.Row.gim), ("plain gradient", \MatrixDocument.Row.plain)] {
            body += "<h2>\(escape(title))</h2>\n<table class=\"matrix\"><tr><th></th><th>p</th>"
            for s in d.sources {
                body += "<th class=\"\(s.continuation ? "gen" : "")\">\(escape(Sanitizer.visible(s.text)))</th>"
            }
            body += "</tr>\n"
            for row in d.rows {
                let values = row[keyPath: pick]
                let count = d.columns == "tokens" ? row.position + 1 : (d.word_tokens?.firstIndex { $0[0] <= row.position && row.position < $0[1] }).map { $0 + 1 } ?? values.count
                let scale = HeatScale(values, count: count)
                body += "<tr><th>\(escape(quoted(row.text)))</th><td>\(String(format: "%.1f%%", row.probability * 100))</td>"
                for c in values.indices {
                    guard c < count else { body += "<td class=\"after\"></td>"; continue }
                    let level = scale.level(values[c])
                    body += "<td style=\"\(tokenStyle(level, theme: theme))\" title=\"\(escape(HeatScale.format(values[c])))\"></td>"
                }
                body += "</tr>\n"
            }
            body += "</table>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>GIM continuation matrix</title>
        <style>
        body { background: \(page); color: \(ink); font-family: ui-monospace, Menlo, Consolas, monospace; margin: 2em; }
        .meta { color: \(dim); }
        h1, h2 { color: \(accent); font-weight: 600; }
        table.matrix { border-collapse: collapse; }
        table.matrix th { font-weight: normal; white-space: pre; padding: 0 0.4em; text-align: right; }
        table.matrix tr:first-child th { writing-mode: vertical-rl; text-align: left; }
        table.matrix th.gen { color: \(accent); }
        table.matrix td { width: 1.1em; height: 1.1em; padding: 0; border: 1px solid \(page); }
        </style></head><body>
        \(body)<p class="meta">each row scaled to its own max |a|</p></body></html>

        """
    }

    /// Writes `gim-matrix-YYYYMMDD-HHMMSS.json` and `.html`; nil when the matrix is not complete.
    public static func writeMatrix(_ state: ExplorerState, result r: AnalysisResult, model: String, theme: Theme,
                                   directory: URL, date: Date = Date()) throws -> [String]? {
        guard let d = matrixDocument(state, result: r, model: model) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let stem = "gim-matrix-" + formatter.string(from: date)
        var base = directory.appendingPathComponent(stem)
        var n = 2
        let fm = FileManager.default
        while fm.fileExists(atPath: base.path + ".json") || fm.fileExists(atPath: base.path + ".html") {
            base = directory.appendingPathComponent("\(stem)-\(n)")
            n += 1
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let jsonURL = base.appendingPathExtension("json"), htmlURL = base.appendingPathExtension("html")
        try encoder.encode(d).write(to: jsonURL)
        try Data(matrixHTML(d, state: state, theme: theme).utf8).write(to: htmlURL)
        return [jsonURL.path, htmlURL.path]
    }
}
