import Foundation
import GIMEngine

/// The table view: exact values and ranks per token.
extension Renderer {
    /// Exact values and ranks, one token per row, the target row marked.
    mutating func tablePane(_ rect: Rect, result r: AnalysisResult) {
        frame.box(rect, title: "values and ranks by |a| · " + Self.gimTitle(r.settings))
        let inner = rect.inset(1)
        guard inner.width > 8, inner.height > 1 else { return }
        let n = r.tokenTexts.count
        let count = min(r.targetPosition + 1, n)
        let gimScale = HeatScale(r.gim, count: count), plainScale = HeatScale(r.plain, count: count)
        let gimRanks = HeatScale.ranks(r.gim, count: count), plainRanks = HeatScale.ranks(r.plain, count: count)

        // Columns that fit, most important first; the token column takes what is left (6…24).
        let barWidth = 9
        var showRanks = true, showBars = true
        func fixedWidth() -> Int { 5 + 9 + 9 + (showRanks ? 10 : 0) + (showBars ? 2 + 2 * barWidth + 1 : 0) }
        if inner.width - fixedWidth() < 8 { showBars = false }
        if inner.width - fixedWidth() < 6 { showRanks = false }
        let tokenWidth = min(24, max(4, inner.width - fixedWidth()))

        var header = Layout.pad("pos", width: 5) + Layout.pad("token", width: tokenWidth)
        header += Layout.pad("GIM", width: 9, alignRight: true)
        if showRanks { header += Layout.pad("rank", width: 5, alignRight: true) }
        header += Layout.pad("plain", width: 9, alignRight: true)
        if showRanks { header += Layout.pad("rank", width: 5, alignRight: true) }
        if showBars { header += "  " + Layout.pad("   GIM", width: barWidth + 1) + Layout.pad("  plain", width: barWidth) }
        frame.put(header, x: inner.x, y: inner.y, role: .dim, attributes: .bold, limit: inner.maxX)

        let visible = inner.height - 1
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
            func value(_ v: [Float], _ ranks: [Int?], _ scale: HeatScale) {
                let text = attributed && i < v.count ? HeatScale.format(v[i]) : "—"
                x = frame.put(Layout.pad(text, width: 9, alignRight: true), x: x, y: y, role: rowRole, limit: inner.maxX)
                if showRanks {
                    let rank = i < ranks.count ? ranks[i].map { "#\($0)" } ?? "" : ""
                    x = frame.put(Layout.pad(rank, width: 5, alignRight: true), x: x, y: y, role: .dim, limit: inner.maxX)
                }
            }
            value(r.gim, gimRanks, gimScale)
            value(r.plain, plainRanks, plainScale)
            if showBars && attributed {
                x += 2
                for (v, scale) in [(r.gim, gimScale), (r.plain, plainScale)] where i < v.count {
                    let level = scale.level(v[i])
                    x = centredBar(level: level, x: x, y: y, width: barWidth, limit: inner.maxX) + 1
                }
            }
        }
        scrollMarks(rect: rect, top: top, visible: visible, total: n)
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
