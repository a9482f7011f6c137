import Foundation
import GIMEngine

/// The circuit view: every component's attribution-patching score against the counterfactual,
/// GIM beside the plain gradient. In each pane the layers run left to right and the rows are
/// the heads (the layers × heads grid), the attention and MLP blocks, then the residual stream
/// at each position up to the target (the layers × tokens map), so the three maps share the
/// layer axis. Under the panes: the cell under the cursor (GIM, plain, patching), the agreement
/// of each method with activation patching for the cursor's kind, and the metric.
extension Renderer {
    /// The narrowest label column (row names: h0, attn, mlp, token text).
    static let circuitLabelWidth = (minimum: 5, preferred: 8)

    mutating func circuitArea(_ area: Rect) {
        let c = state.circuit
        guard c.counterfactual != nil else {
            centered(["Circuit view: which heads, attention and MLP blocks and residual positions carry the prediction, "
                      + "scored by how much swapping each one's activation for a counterfactual's moves the logit.",
                      "", "C types a corrupted prompt (as many tokens as the prompt, e.g. one name changed); "
                      + "M uses each component's mean over the prompt's positions. X closes the view."],
                     in: area, role: .dim)
            return
        }
        if let f = c.failure {
            centered(["The circuit view could not score this prompt:", f.message, "",
                      "C edits the corrupted prompt; M uses the mean over positions."], in: area, role: .warning)
            return
        }
        guard let r = c.result else {
            centered(["\(Self.spinner[state.spinnerPhase % Self.spinner.count]) scoring every component…"], in: area, role: .dim)
            return
        }
        let grid = r.grid
        let cursor = c.cursor.clamped(to: grid)
        let layout = Self.circuitLayout(area, grid: grid)
        guard let panes = layout.panes else {
            centered(["Enlarge the terminal for the circuit view"], in: area, role: .dim)
            return
        }
        circuitPane(panes[0], title: Self.circuitTitle(r.settings), map: r.gim, agreement: c.gimAgreement, result: r, cursor: cursor)
        circuitPane(panes[1], title: "plain gradient", map: r.plain, agreement: c.plainAgreement, result: r, cursor: cursor)
        circuitInfo(layout.info, result: r, cursor: cursor)
    }

    /// The left pane's title: the backward preset with exactly these knobs (GIM, AttnLRP,
    /// CP-LRP… the focused pane's method), else GIM's title for them ("GIM, knobs changed").
    static func circuitTitle(_ s: GIMSettings) -> String {
        if !s.isPlain, let m = AttributionMethod.all.first(where: { $0.kind == .backward && $0.settings == s }) {
            return paneTitle(m)
        }
        return gimTitle(s)
    }

    struct CircuitLayout {
        /// GIM and plain panes, nil when the area is too small for them.
        var panes: [Rect]?
        var info: Rect
    }

    /// Side by side when both panes fit with one column per layer, else stacked; as many info
    /// rows (up to 3) as the height allows. Rows that do not fit scroll with the cursor.
    static func circuitLayout(_ area: Rect, grid: CircuitGrid) -> CircuitLayout {
        let infoRows = area.height >= 16 ? 3 : (area.height >= 10 ? 2 : 1)
        let info = Rect(x: area.x, y: area.maxY - infoRows, width: area.width, height: infoRows)
        let room = Rect(x: area.x, y: area.y, width: area.width, height: area.height - infoRows)
        // Borders, every row, and a row of layer numbers.
        let wanted = grid.rowCount + 3
        let paneMinimumWidth = 2 + circuitLabelWidth.minimum + min(grid.layers, 12)
        let sideBySide = room.width >= 2 * (2 + circuitLabelWidth.minimum + grid.layers)
        if sideBySide {
            guard room.height >= 3 else { return CircuitLayout(panes: nil, info: info) }
            let h = min(room.height, wanted), left = room.width / 2
            return CircuitLayout(panes: [Rect(x: room.x, y: room.y, width: left, height: h),
                                         Rect(x: room.x + left, y: room.y, width: room.width - left, height: h)],
                                 info: Rect(x: info.x, y: room.y + h, width: info.width, height: infoRows))
        }
        guard room.height >= 6, room.width >= paneMinimumWidth else { return CircuitLayout(panes: nil, info: info) }
        let h = min(room.height / 2, wanted)
        return CircuitLayout(panes: [Rect(x: room.x, y: room.y, width: room.width, height: h),
                                     Rect(x: room.x, y: room.y + h, width: room.width, height: h)],
                             info: Rect(x: info.x, y: room.y + 2 * h, width: info.width, height: infoRows))
    }

    /// One method's maps: heat cells, row labels, layer numbers, the scales in the bottom border
    /// and the Pearson correlation with patching per kind in the top border.
    mutating func circuitPane(_ rect: Rect, title: String, map: ComponentMap, agreement: ComponentAgreements?,
                              result r: CircuitResult, cursor: CircuitCursor) {
        frame.box(rect, title: title)
        let inner = rect.inset(1)
        guard inner.width > Self.circuitLabelWidth.minimum, inner.height > 0 else { return }
        let grid = r.grid
        let labelWidth = min(Self.circuitLabelWidth.preferred, max(Self.circuitLabelWidth.minimum, inner.width - grid.layers))
        let cellWidth = min(3, max(1, (inner.width - labelWidth) / max(1, grid.layers)))
        let visibleLayers = min(grid.layers, (inner.width - labelWidth) / cellWidth)
        let firstLayer = Self.scrollTop(focus: cursor.layer, visible: visibleLayers, total: grid.layers, offset: 0)
        let axis = inner.height > grid.rowCount
        let visibleRows = inner.height - (axis ? 1 : 0)
        let top = Self.scrollTop(focus: cursor.row, visible: visibleRows, total: grid.rowCount, offset: 0)
        let scales = Self.circuitScales(map, positions: grid.positions)

        circuitFigures(rect, title: title, agreement: agreement)
        circuitScaleLegend(rect, scales: scales)
        let cellsX = inner.x + labelWidth
        if axis {
            frame.put(Layout.fit("layer", width: labelWidth - 1), x: inner.x, y: inner.y, role: .dim)
            let step = cellWidth >= 3 ? 1 : (cellWidth == 2 ? 2 : 5)
            var free = cellsX
            for l in firstLayer..<(firstLayer + visibleLayers) where l % step == 0 || l == cursor.layer {
                let x = cellsX + (l - firstLayer) * cellWidth
                guard x >= free, x + String(l).count <= inner.maxX else { continue }
                free = frame.put(String(l), x: x, y: inner.y, role: l == cursor.layer ? .accent : .dim) + 1
            }
        }
        let y0 = inner.y + (axis ? 1 : 0)
        let bars = state.colorDepth.showsBars
        for i in 0..<visibleRows {
            let row = top + i
            guard row < grid.rowCount else { break }
            let y = y0 + i
            let isCursorRow = row == cursor.row
            let (label, labelRole) = Self.circuitLabel(grid.row(row), result: r)
            frame.put(Layout.pad(label, width: labelWidth - 1), x: inner.x, y: y, role: isCursorRow ? .accent : labelRole,
                      attributes: isCursorRow ? .bold : [], limit: cellsX - 1)
            let scale = scales[grid.kind(row: row)]!
            for l in firstLayer..<(firstLayer + visibleLayers) {
                let x = cellsX + (l - firstLayer) * cellWidth
                let level = scale.level(map[grid.component(row: row, layer: l)])
                let isCursor = isCursorRow && l == cursor.layer
                if isCursor {
                    let mark = "◆" + String(repeating: " ", count: cellWidth - 1)
                    frame.put(mark, x: x, y: y, role: bars ? .accent : .heat(level), attributes: .bold, limit: inner.maxX)
                } else if bars {
                    let g = String(HeatScale.glyph(level))
                    let text = cellWidth == 1 ? g : String(repeating: g, count: cellWidth - 1) + " "
                    frame.put(text, x: x, y: y, role: .heatBar(level), limit: inner.maxX)
                } else {
                    frame.put(String(repeating: " ", count: cellWidth), x: x, y: y, role: .heat(level), limit: inner.maxX)
                }
            }
        }
        scrollMarks(rect: rect, top: top, visible: visibleRows, total: grid.rowCount)
        if rect.width >= 6 {
            if firstLayer > 0 { frame.put("◀", x: rect.x, y: rect.maxY - 1, role: .accent) }
            if firstLayer + visibleLayers < grid.layers { frame.put("▶", x: rect.maxX - 1, y: rect.maxY - 1, role: .accent) }
        }
    }

    /// Each kind on its own scale (a head, a block and a residual position differ in size).
    /// Attention and MLP blocks share one, so that the two columns of a layer can be compared.
    static func circuitScales(_ map: ComponentMap, positions: Int) -> [ComponentKind: HeatScale] {
        let blocks = HeatScale(map.attention + map.mlp)
        return [.heads: HeatScale(map.values(.heads)), .attention: blocks, .mlp: blocks,
                .residual: HeatScale(map.residual.flatMap { $0.prefix(positions) })]
    }

    static func circuitLabel(_ row: CircuitGrid.Row, result r: CircuitResult) -> (String, Role) {
        switch row {
        case .head(let h): return ("h\(h)", .dim)
        case .attention: return ("attn", .text)
        case .mlp: return ("mlp", .text)
        case .residual(let p):
            let text = p < r.tokenTexts.count ? Sanitizer.visible(r.tokenTexts[p]) : "?"
            return (text.isEmpty ? "∅" : text, .text)
        }
    }

    /// "r vs patching: heads 0.82 · attn 0.91 · mlp 0.77 · resid 0.95" after the title, shortened to fit.
    mutating func circuitFigures(_ rect: Rect, title: String, agreement: ComponentAgreements?) {
        let titleWidth = TextWidth.of(Layout.fit(title, width: rect.width - 4)) + 2
        let x = rect.x + 1 + titleWidth + 1
        let room = rect.maxX - 2 - x - 2
        guard room >= 3 else { return }
        var role = Role.dim
        let options: [String]
        if let p = state.circuit.shownPatching, let failure = p.failure {
            options = ["patching failed: \(failure)", "patching failed", "failed"]
            role = .warning
        } else if let a = agreement {
            func r(_ k: ComponentKind) -> String { a[k].pearson.map { Self.number($0) } ?? "–" }
            func short(_ k: ComponentKind) -> String { a[k].pearson.map { Self.number($0).replacingOccurrences(of: "0.", with: ".") } ?? "–" }
            options = ["r vs patching: heads \(r(.heads)) · attn \(r(.attention)) · mlp \(r(.mlp)) · resid \(r(.residual))",
                       "r: heads \(r(.heads)) attn \(r(.attention)) mlp \(r(.mlp)) resid \(r(.residual))",
                       "r h \(short(.heads)) a \(short(.attention)) m \(short(.mlp)) res \(short(.residual))",
                       "r h \(short(.heads))"]
        } else {
            options = ["patching …", "…"]
        }
        let text = options.first { TextWidth.of($0) <= room } ?? Layout.fit(options.last!, width: room)
        frame.put(" " + text + " ", x: x, y: rect.y, role: role, limit: rect.maxX - 1)
    }

    /// "heads ±0.531 · attn/mlp ±2.104 · resid ±3.201" in the bottom border: the pane's scales.
    mutating func circuitScaleLegend(_ rect: Rect, scales: [ComponentKind: HeatScale]) {
        let room = rect.width - 6
        guard room >= 8, rect.height >= 2 else { return }
        func m(_ k: ComponentKind) -> String { "±" + HeatScale.format(scales[k]!.maxMagnitude).replacingOccurrences(of: "+", with: "") }
        let options = ["heads \(m(.heads)) · attn/mlp \(m(.attention)) · resid \(m(.residual))",
                       "h \(m(.heads)) a/m \(m(.attention)) r \(m(.residual))", "h \(m(.heads))"]
        let text = options.first { TextWidth.of($0) + 2 <= room } ?? Layout.fit(options.last!, width: room - 2)
        frame.put(" " + text + " ", x: rect.x + 2, y: rect.maxY - 1, role: .dim, limit: rect.maxX - 2)
    }

    /// The rows under the panes: the cell under the cursor, the agreement of its kind, the metric.
    mutating func circuitInfo(_ rect: Rect, result r: CircuitResult, cursor: CircuitCursor) {
        guard rect.height > 0, rect.width > 4 else { return }
        let grid = r.grid
        let component = grid.component(row: cursor.row, layer: cursor.layer)
        let kind = grid.kind(row: cursor.row)
        let patching = state.circuit.shownPatching
        var lines: [[(String, Role)]] = []

        // 1. The cell.
        var cell: [(String, Role)] = [(Self.componentName(component, result: r), .accent), ("  GIM ", .dim),
                                      (HeatScale.format(r.gim[component]), .text), ("  plain ", .dim),
                                      (HeatScale.format(r.plain[component]), .text), ("  patching ", .dim)]
        if let effects = patching?.effects {
            cell.append((HeatScale.format(effects[component]), .text))
        } else {
            cell.append((patching?.failure != nil ? "failed" : "…", .dim))
        }
        lines.append(cell)

        // 2. Agreement of the cursor's kind.
        let count = r.gim.values(kind).count
        var agreement: [(String, Role)] = [("\(Self.kindName(kind)) (\(count)) vs patching", .accent)]
        if let failure = patching?.failure {
            agreement.append(("  failed: \(failure)", .warning))
        } else if let g = state.circuit.gimAgreement?[kind], let p = state.circuit.plainAgreement?[kind] {
            func figures(_ a: ComponentAgreement) -> String {
                let r = a.pearson.map { Self.number($0) } ?? "–", rho = a.spearman.map { Self.number($0) } ?? "–"
                return "r \(r)  ρ \(rho)  top-\(a.k) \(Int((a.topKOverlap * 100).rounded()))%"
            }
            agreement += [("  GIM ", .dim), (figures(g), .text), ("  plain ", .dim), (figures(p), .text)]
        } else {
            agreement.append(("  computing…", .dim))
        }
        lines.append(agreement)

        // 3. The metric and the timings.
        let explained = r.foilText.map { "logit \(quoted(r.targetText)) − \(quoted($0))" } ?? "logit \(quoted(r.targetText))"
        var metric: [(String, Role)] = [("L = \(explained)", .dim), ("  clean ", .dim), (HeatScale.format(r.cleanMetric), .text)]
        if let bad = r.corruptMetric { metric += [("  corrupted ", .dim), (HeatScale.format(bad), .text)] }
        else { metric.append(("  vs the mean over positions", .dim)) }
        var timing = "  GIM \(Self.milliseconds(r.gimMilliseconds))"
        timing += r.plainMilliseconds.map { " · plain \(Self.milliseconds($0))" } ?? " · plain kept"
        if let p = patching, p.effects != nil { timing += String(format: " · patching %.1f s, %d runs", p.seconds, p.runs) }
        metric.append((timing, .dim))
        lines.append(metric)

        for (i, parts) in lines.prefix(rect.height).enumerated() {
            var x = rect.x
            for (text, role) in parts where x < rect.maxX - 1 {
                x = frame.put(text, x: x, y: rect.y + i, role: role, limit: rect.maxX - 1)
            }
        }
    }

    static func milliseconds(_ v: Double) -> String { v < 10 ? String(format: "%.1f ms", v) : String(format: "%.0f ms", v) }

    static func kindName(_ k: ComponentKind) -> String {
        switch k {
        case .heads: "heads"
        case .attention: "attention blocks"
        case .mlp: "MLP blocks"
        case .residual: "residual positions"
        }
    }

    /// "L12 head 3", "L12 attention", "L12 MLP", "L12 residual @4 " is"".
    static func componentName(_ c: ComponentPatch, result r: CircuitResult) -> String {
        switch c {
        case .head(let l, let h): return "L\(l) head \(h)"
        case .attention(let l): return "L\(l) attention"
        case .mlp(let l): return "L\(l) MLP"
        case .residual(let l, let p):
            let text = p < r.tokenTexts.count ? "\"" + Sanitizer.visible(r.tokenTexts[p]) + "\"" : ""
            return "L\(l) residual @\(p) \(text)"
        }
    }
}
