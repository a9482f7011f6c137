import Foundation
import GIMEngine

/// The table view: exact values and ranks per token.
extension Renderer {
    /// Exact values and ranks, one token per row and one column pair per pane, the target row
    /// marked; below them (when there is room) every pane's faithfulness figures side by side.
    mutating func tablePane(_ rect: Rect, result r: AnalysisResult) {
        let titles = r.panes.map { Self.paneTitle($0.method) }.joined(separator: " | ")
        frame.box(rect, title: "values and ranks by |a| · " + titles)
        let inner = rect.inset(1)
        guard inner.width > 8, inner.height > 1 else { return }
        let n = r.tokenTexts.count
        let count = min(r.targetPosition + 1, n)
        let values = r.panes.map(\.values)
        let scales = values.map { HeatScale($0, count: count) }
        let ranks = values.map { HeatScale.ranks($0, count: count) }
        let panes = values.count

        // Columns that fit, most important first; the token column takes what is left (6…24).
        let barWidth = 9
        var showRanks = true, showBars = true
        func fixedWidth() -> Int { 5 + 9 * panes + (showRanks ? 5 * panes : 0) + (showBars ? 2 + panes * (barWidth + 1) - 1 : 0) }
        if inner.width - fixedWidth() < 8 { showBars = false }
        if inner.width - fixedWidth() < 6 { showRanks = false }
        let tokenWidth = min(24, max(4, inner.width - fixedWidth()))

        var header = Layout.pad("pos", width: 5) + Layout.pad("token", width: tokenWidth)
        for m in r.panes.map(\.method) {
            header += Layout.pad(Self.curveName(m), width: 9, alignRight: true)
            if showRanks { header += Layout.pad("rank", width: 5, alignRight: true) }
        }
        if showBars {
            header += " "
            for m in r.panes.map(\.method) { header += " " + Layout.pad("  " + Self.curveName(m), width: barWidth) }
        }
        frame.put(header, x: inner.x, y: inner.y, role: .dim, attributes: .bold, limit: inner.maxX)

        // The figures take the bottom rows when at least three token rows stay.
        let figureRows = Self.figureRows(r)
        let withFigures = inner.height - 1 - figureRows >= 3
        let visible = inner.height - 1 - (withFigures ? figureRows : 0)
        let top = Self.scrollTop(focus: r.targetPosition, visible: visible, total: n, offset: state.scroll)
        for row in 0..<visible {
            let i = top + row
            guard i < n else { break }
            let y = inner.y + 1 + row
            let attributed = i < count
            let isTarget = i == r.targetPosition
            let rowRole: Role = attributed ? .text : .dim
            var x = frame.put(Layout.pad((isTarget ? "▲" : "") + "\(i)", width: 5), x: inner.x, y: y,
                              role: isTarget ? .accent : .dim, attributes: isTarget ? .bold : [])
            x = frame.put(Layout.pad(quoted(r.tokenTexts[i]), width: tokenWidth - 1) + " ", x: x, y: y, role: rowRole,
                          attributes: isTarget ? .underline : [], limit: inner.maxX)
            for p in 0..<panes {
                let v = values[p]
                let text = attributed && i < v.count ? HeatScale.format(v[i]) : "—"
                x = frame.put(Layout.pad(text, width: 9, alignRight: true), x: x, y: y, role: rowRole, limit: inner.maxX)
                if showRanks {
                    let rank = i < ranks[p].count ? ranks[p][i].map { "#\($0)" } ?? "" : ""
                    x = frame.put(Layout.pad(rank, width: 5, alignRight: true), x: x, y: y, role: .dim, limit: inner.maxX)
                }
            }
            if showBars && attributed {
                x += 2
                for p in 0..<panes where i < values[p].count {
                    let level = scales[p].level(values[p][i])
                    x = centredBar(level: level, x: x, y: y, width: barWidth, limit: inner.maxX) + 1
                }
            }
        }
        scrollMarks(rect: rect, top: top, visible: visible, total: n)
        if withFigures {
            figureTable(x: inner.x, y: inner.y + 1 + visible, labelWidth: 5 + tokenWidth, columnWidth: showRanks ? 14 : 9,
                        limit: inner.maxX, panes: panes)
        }
    }

    /// Every pane's faithfulness figures under its value column: the paper's metrics, then the
    /// deletion/insertion areas and ρ with leave-one-out (`–` = undefined, `…` = computing).
    mutating func figureTable(x: Int, y: Int, labelWidth: Int, columnWidth: Int, limit: Int, panes: Int) {
        let report = state.faithfulness
        let rows: [(String, (PaneFaithfulness) -> Double?)] = [
            ("comp /f(x) ↑", { $0.comprehensiveness }), ("suff /f(x) ↓", { $0.sufficiency }),
            ("comp logits ↑", { $0.comprehensivenessLogits }), ("suff logits ↓", { $0.sufficiencyLogits }),
            ("deletion ↑", { $0.deletionArea }), ("insertion ↑", { $0.insertionArea }),
            ("ρ(LOO) ↑", { $0.spearman }),
        ]
        frame.put(String(repeating: "─", count: max(0, limit - x)), x: x, y: y, role: .dim, limit: limit)
        frame.put(" faithfulness: comprehensiveness, sufficiency (GIM paper), deletion/insertion areas ", x: x + 1, y: y, role: .dim, limit: limit)
        for (k, row) in rows.enumerated() {
            let ry = y + 1 + k
            var cx = frame.put(Layout.pad(row.0, width: labelWidth), x: x, y: ry, role: .dim, limit: limit)
            for p in 0..<panes {
                let text: String
                if report?.failure != nil { text = "failed" }
                else if let m = state.result?.panes[p].method, let f = report?.figures(for: m, at: p) {
                    text = row.1(f).map(Self.number) ?? "–"
                }
                else { text = "…" }
                cx = frame.put(Layout.pad(text, width: 9, alignRight: true) + String(repeating: " ", count: columnWidth - 9),
                               x: cx, y: ry, role: .text, limit: limit)
            }
        }
    }

    /// A bar growing left (negative) or right (positive) of a centre line.
    mutating func centredBar(level: Int, x: Int, y: Int, width: Int, limit: Int) -> Int {
        let half = (width - 1) / 2
        let cells = Int((Double(abs(level)) / Double(Role.heatLevels) * Double(half)).rounded())
        let glyph = level < 0 ? "▓" : "█"
        let left = level < 0 ? String(repeating: " ", count: half - cells) + String(repeating: glyph, count: cells)
                             : String(repeating: " ", count: half)
        let right = level > 0 ? String(repeating: glyph, count: cells) + String(repeating: " ", count: half - cells)
                              : String(repeating: " ", count: half)
        var cx = frame.put(left, x: x, y: y, role: .heatBar(level), limit: limit)
        cx = frame.put("│", x: cx, y: y, role: .dim, limit: limit)
        cx = frame.put(right, x: cx, y: y, role: .heatBar(level), limit: limit)
        return cx + (width - 2 * half - 1)
    }
}
