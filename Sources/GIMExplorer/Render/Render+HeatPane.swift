import Foundation
import GIMEngine

/// The heat and difference views: tokens as coloured text, boundaries, legend, scrolling.
extension Renderer {
    /// Tokens as text coloured by attribution, two rows per line: the text, then a marker row
    /// that shows each token's extent (└──┘, ▲ for the target) or, without enough colours,
    /// its value as a bar. The legend sits in the bottom border.
    mutating func heatPane(_ rect: Rect, title: String, values: [Float], result r: AnalysisResult, focused: Bool = false) {
        frame.box(rect, title: title, role: focused ? .accent : .border)
        let inner = rect.inset(1)
        guard inner.width > 0, inner.height > 0 else { return }
        let attributedCount = min(r.targetPosition + 1, values.count)
        let scale = HeatScale(values, count: attributedCount)
        legend(scale, rect: rect)

        let flow = TokenFlow(tokens: r.tokenTexts, width: inner.width)
        let visibleLines = max(1, inner.height / 2)
        let top = Self.scrollTop(focus: flow.line(of: r.targetPosition) ?? 0, visible: visibleLines,
                                 total: flow.lineCount, offset: state.scroll)
        let bars = state.colorDepth.showsBars
        for piece in flow.pieces where piece.line >= top && piece.line < top + visibleLines {
            let y = inner.y + 2 * (piece.line - top)
            let x = inner.x + piece.x
            let attributed = piece.token < attributedCount
            let level = attributed && piece.token < values.count ? scale.level(values[piece.token]) : 0
            let isTarget = piece.token == r.targetPosition
            frame.put(piece.text, x: x, y: y, role: attributed ? .heat(level) : .dim,
                      attributes: isTarget ? [.bold, .underline] : [], limit: inner.maxX)
            guard y + 1 < inner.maxY else { continue }
            var marker: String
            let markerRole: Role
            if bars && attributed {
                marker = Self.bar(width: piece.width, level: level, isLast: piece.isLast)
                markerRole = .heatBar(level)
            } else {
                marker = attributed || !bars ? Self.bracket(width: piece.width, isFirst: piece.isFirst, isLast: piece.isLast) : ""
                markerRole = .dim
            }
            if isTarget && piece.isFirst {
                frame.put("▲", x: x, y: y + 1, role: .accent, attributes: .bold, limit: inner.maxX)
                marker = String(marker.dropFirst())
                frame.put(marker, x: x + 1, y: y + 1, role: bars ? markerRole : .accent, limit: inner.maxX)
            } else {
                frame.put(marker, x: x, y: y + 1, role: markerRole, limit: inner.maxX)
            }
        }
        scrollMarks(rect: rect, top: top, visible: visibleLines, total: flow.lineCount)
    }

    /// The first visible line: by default the one that keeps `focus` in view (the target is on
    /// screen even in a long prompt), moved by the user's scroll offset, clamped.
    static func scrollTop(focus: Int, visible: Int, total: Int, offset: Int) -> Int {
        let automatic = max(0, focus - visible + 1)
        return min(max(0, automatic + offset), max(0, total - visible))
    }

    /// ▲ and ▼ in the right border when lines are hidden above or below.
    mutating func scrollMarks(rect: Rect, top: Int, visible: Int, total: Int) {
        guard rect.height >= 3 else { return }
        if top > 0 { frame.put("▲", x: rect.maxX - 1, y: rect.y + 1, role: .accent) }
        if top + visible < total { frame.put("▼", x: rect.maxX - 1, y: rect.maxY - 2, role: .accent) }
    }

    /// └──┘ under a token (╵ for a one-column token); a token split over lines is open where it continues.
    static func bracket(width: Int, isFirst: Bool, isLast: Bool) -> String {
        guard width > 0 else { return "" }
        if width == 1 { return isFirst && isLast ? "╵" : (isFirst ? "└" : (isLast ? "┘" : "─")) }
        return (isFirst ? "└" : "─") + String(repeating: "─", count: width - 2) + (isLast ? "┘" : "─")
    }

    /// A bar as wide as the token, with a gap at its end so neighbouring tokens stay apart.
    static func bar(width: Int, level: Int, isLast: Bool) -> String {
        guard width > 0 else { return "" }
        let g = String(HeatScale.glyph(level))
        if width == 1 { return g }
        return String(repeating: g, count: width - 1) + (isLast ? " " : g)
    }

    /// "−8.57 ▓▒░·▁▃▅█ +8.57" in the bottom border: the pane's own scale.
    mutating func legend(_ scale: HeatScale, rect: Rect) {
        guard rect.width >= 12, rect.height >= 2 else { return }
        let y = rect.maxY - 1
        let room = rect.width - 4
        guard scale.maxMagnitude > 0 else {
            frame.put(Layout.fit(" all zero ", width: room), x: rect.x + 2, y: y, role: .dim)
            return
        }
        let m = HeatScale.format(scale.maxMagnitude).dropFirst()  // without the sign
        let low = " −\(m) ", high = " +\(m) "
        // All 17 levels if they fit, else every other level, else just the range.
        let all = Array(-Role.heatLevels...Role.heatLevels)
        let levels = [all, all.filter { $0 % 2 == 0 }].first {
            TextWidth.of(low) + $0.count + TextWidth.of(high) <= room
        }
        var x = rect.x + 2
        guard let levels else {
            frame.put(Layout.fit(" ±\(m) ", width: room), x: x, y: y, role: .dim)
            return
        }
        x = frame.put(low, x: x, y: y, role: .dim)
        for l in levels {
            if state.colorDepth.showsBars {
                x = frame.put(String(HeatScale.glyph(l)), x: x, y: y, role: .heatBar(l))
            } else {
                x = frame.put(" ", x: x, y: y, role: .heat(l))
            }
        }
        frame.put(high, x: x, y: y, role: .dim)
    }
}
