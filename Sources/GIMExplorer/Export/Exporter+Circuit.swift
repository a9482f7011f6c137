import Foundation
import GIMEngine

/// The circuit view's part of an export: every score (GIM and plain), the patching effects and
/// the agreements in the JSON (the names of `gim components --json`), and in the HTML one
/// coloured table per method (rows: heads, attention, MLP, residual positions; columns: layers).
extension Exporter {
    public struct CircuitDocument: Encodable {
        public struct Map: Encodable {
            /// [layers]
            let attention: [Float]
            let mlp: [Float]
            /// [layers][heads]
            let heads: [[Float]]
            /// [layers][positions]
            let residual: [[Float]]
            init(_ m: ComponentMap) {
                attention = m.attention
                mlp = m.mlp
                heads = m.heads
                residual = m.residual
            }
        }
        public struct Agreement: Encodable {
            let pearson: Double?
            let spearman: Double?
            let top_k_overlap: Double
            let k: Int
            let count: Int
            init(_ a: ComponentAgreement) {
                pearson = a.pearson
                spearman = a.spearman
                top_k_overlap = a.topKOverlap
                k = a.k
                count = a.count
            }
        }
        public struct Patching: Encodable {
            let effects: Map
            let runs: Int
            let seconds: Double
        }
        /// "prompt" or "mean_over_positions".
        let counterfactual: String
        let corrupt_prompt: String?
        let corrupt_token_ids: [Int]?
        let corrupt_tokens: [String]?
        let token_ids: [Int]
        let tokens: [String]
        let target_position: Int
        let target_token_id: Int
        let target_token: String
        let foil_token_id: Int?
        let foil_token: String?
        /// The metric L on the clean run and on the corrupted one (absent for the mean).
        let clean_metric: Float
        let corrupt_metric: Float?
        let settings: [String: Double]
        let freeze_norm: Bool
        let gim: Map
        let plain: Map
        let patching: Patching?
        /// "gim" and "plain", each per component kind ("heads", "attention", "mlp", "residual").
        let agreement: [String: [String: Agreement]]?
        /// The cell under the cursor.
        let cursor: String
    }

    public static func circuitDocument(_ c: CircuitView) -> CircuitDocument? {
        guard let r = c.result else { return nil }
        var corruptPrompt: String?
        if case .prompt(let text) = c.counterfactual { corruptPrompt = text }
        var corruptIDs: [Int]?
        if case .prompt(let ids) = r.question.counterfactual { corruptIDs = ids }
        let p = c.shownPatching
        var agreement: [String: [String: CircuitDocument.Agreement]]?
        if let g = c.gimAgreement, let pl = c.plainAgreement {
            func kinds(_ a: ComponentAgreements) -> [String: CircuitDocument.Agreement] {
                Dictionary(uniqueKeysWithValues: ComponentKind.allCases.map { ($0.rawValue, CircuitDocument.Agreement(a[$0])) })
            }
            agreement = ["gim": kinds(g), "plain": kinds(pl)]
        }
        let cursor = c.cursor.clamped(to: r.grid)
        return CircuitDocument(
            counterfactual: r.question.counterfactual.name, corrupt_prompt: corruptIDs == nil ? nil : corruptPrompt,
            corrupt_token_ids: corruptIDs, corrupt_tokens: r.corruptTokenTexts, token_ids: r.question.tokenIDs,
            tokens: r.tokenTexts, target_position: r.question.targetPosition, target_token_id: r.question.targetID,
            target_token: r.targetText, foil_token_id: r.question.foilID, foil_token: r.foilText,
            clean_metric: r.cleanMetric, corrupt_metric: r.corruptMetric, settings: settingsJSON(r.settings),
            freeze_norm: r.settings.freezeNorm, gim: .init(r.gim), plain: .init(r.plain),
            patching: p.flatMap { p in p.effects.map { CircuitDocument.Patching(effects: .init($0), runs: p.runs, seconds: p.seconds) } },
            agreement: agreement,
            cursor: Renderer.componentName(r.grid.component(row: cursor.row, layer: cursor.layer), result: r))
    }

    static func settingsJSON(_ s: GIMSettings) -> [String: Double] {
        ["softmax_temperature": Double(s.softmaxTemperature), "q_scale": Double(s.qScale), "k_scale": Double(s.kScale),
         "v_scale": Double(s.vScale), "gate_scale": Double(s.gateScale), "up_scale": Double(s.upScale)]
    }

    /// The circuit section of the HTML page: per method (and patching when computed) a table of
    /// cells coloured on the same per-kind scales as the terminal, each cell's value in its tooltip.
    static func circuitHTML(_ c: CircuitView, theme: Theme) -> String {
        guard let r = c.result else { return "" }
        let grid = r.grid
        var body = "<h2>Circuits</h2>\n<p class=\"meta\">counterfactual: \(escape(c.counterfactual?.title ?? r.question.counterfactual.name))"
        if let texts = r.corruptTokenTexts { body += " <code>\(escape(texts.joined()))</code>" }
        body += " · L clean \(escape(HeatScale.format(r.cleanMetric)))"
        if let bad = r.corruptMetric { body += ", corrupted \(escape(HeatScale.format(bad)))" }
        body += "</p>\n"
        var maps: [(String, ComponentMap, ComponentAgreements?)] = [(Renderer.gimTitle(r.settings), r.gim, c.gimAgreement),
                                                                    ("plain gradient", r.plain, c.plainAgreement)]
        if let effects = c.shownPatching?.effects { maps.append(("activation patching", effects, nil)) }
        for (title, map, agreement) in maps {
            body += "<h3>\(escape(title))</h3>\n"
            if let a = agreement {
                body += "<p class=\"meta\">vs patching: " + ComponentKind.allCases.map { k in
                    "\(k.rawValue) r \(a[k].pearson.map { Renderer.number($0) } ?? "–") ρ \(a[k].spearman.map { Renderer.number($0) } ?? "–")"
                }.joined(separator: " · ") + "</p>\n"
            }
            let scales = Renderer.circuitScales(map, positions: grid.positions)
            body += "<table class=\"circuit\"><tr><th></th>" + (0..<grid.layers).map { "<th>\($0)</th>" }.joined() + "</tr>\n"
            for row in 0..<grid.rowCount {
                let label = Renderer.circuitLabel(grid.row(row), result: r).0
                body += "<tr><th>\(escape(label))</th>"
                for l in 0..<grid.layers {
                    let component = grid.component(row: row, layer: l)
                    let v = map[component]
                    let tip = "\(Renderer.componentName(component, result: r)): \(HeatScale.format(v))"
                    body += "<td style=\"\(tokenStyle(scales[grid.kind(row: row)]!.level(v), theme: theme))\" title=\"\(escape(tip))\"></td>"
                }
                body += "</tr>\n"
            }
            body += "</table>\n"
        }
        return body
    }
}
