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
        let cells = SequenceCells(result: r, values: values, display: state.display,
                                  streaming: SequenceCells.streaming(state, result: r))
        let attributedCount = min(cells.attributedCount, cells.values.count)
        let scale = cells.scale(maskSpecial: state.display.maskSpecial)
        legend(scale, rect: rect)

        let flow = TokenFlow(tokens: cells.texts, width: inner.width)
        let visibleLines = max(1, inner.height / 2)
        // While a continuation streams in, its end stays in view.
        let focus = cells.kinds.last == .streaming ? cells.texts.count - 1 : cells.target
        let top = Self.scrollTop(focus: flow.line(of: focus) ?? 0, visible: visibleLines,
                                 total: flow.lineCount, offset: state.scroll)
        let bars = state.colorDepth.showsBars
        for piece in flow.pieces where piece.line >= top && piece.line < top + visibleLines {
            let y = inner.y + 2 * (piece.line - top)
            let x = inner.x + piece.x
            let kind = cells.kinds[piece.token]
            let masked = state.display.maskSpecial && cells.special[piece.token]
            let attributed = piece.token < attributedCount && !masked
            let level = attributed ? scale.level(cells.values[piece.token]) : 0
            let isTarget = piece.token == cells.target
            var attributes: CellAttributes = isTarget ? [.bold, .underline] : []
            if cells.special[piece.token] { attributes.insert(.dim) }
            frame.put(piece.text, x: x, y: y, role: attributed ? .heat(level) : .dim,
                      attributes: attributes, limit: inner.maxX)
            guard y + 1 < inner.maxY else { continue }
            var marker: String
            var markerRole: Role
            if bars && attributed {
                marker = Self.bar(width: piece.width, level: level, isLast: piece.isLast)
                markerRole = .heatBar(level)
            } else {
                marker = attributed || !bars || kind != .prompt
                    ? Self.bracket(width: piece.width, isFirst: piece.isFirst, isLast: piece.isLast) : ""
                markerRole = .dim
            }
            // Continuation tokens are marked as generated (double line), special tokens dotted,
            // and a word's inner token boundaries show as ┴.
            if !(bars && attributed) {
                if kind != .prompt {
                    marker = Self.generatedMarker(marker)
                    markerRole = kind == .streaming ? .accent : .dim
                } else if cells.special[piece.token] {
                    marker = String(marker.map { $0 == "─" ? "┄" : $0 })
                }
                if piece.isFirst && piece.isLast && !cells.boundaries[piece.token].isEmpty {
                    marker = Self.withBoundaries(marker, at: cells.boundaries[piece.token], generated: kind != .prompt)
                }
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

    /// The bracket of a generated token in double lines: ╘══╛.
    static func generatedMarker(_ bracket: String) -> String {
        String(bracket.map { c -> Character in
            switch c {
            case "└": "╘"
            case "┘": "╛"
            case "─": "═"
            case "╵": "╹"
            default: c
            }
        })
    }

    /// A word's bracket with ┴ (╧ when generated) where one of its tokens ends and the next begins.
    static func withBoundaries(_ bracket: String, at offsets: [Int], generated: Bool) -> String {
        var chars = Array(bracket)
        for o in offsets where o > 0 && o < chars.count { chars[o] = generated ? "╧" : "┴" }
        return String(chars)
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
