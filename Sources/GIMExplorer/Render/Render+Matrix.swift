import Foundation
import GIMEngine

/// The matrix view: one row per continuation token, one column per source token (the prompt,
/// then the continuation before it), each cell heat-coloured by that token's attribution to the
/// source; the focused pane's method (GIM by default) and the plain gradient side by side. Each row has its own scale, as each pane does.
struct MatrixLayout: Equatable {
    /// Row labels: the continuation tokens' texts.
    var rowTexts: [String]
    var rowProbabilities: [Double]
    /// Column labels (tokens, or words when words are on) and whether each is a continuation token.
    var columnTexts: [String]
    var columnIsContinuation: [Bool]
    var columnIsSpecial: [Bool]
    /// Per row, the values per column (nil while computing) and how many columns are attributed.
    var gim: [[Float]?]
    var plain: [[Float]?]
    var attributedColumns: [Int]

    init(state: ExplorerState, result r: AnalysisResult) {
        let g = state.generation
        let p = g.promptTokenCount
        // The source tokens: the result's when it is of this continuation, else prompt + continuation.
        var tokenTexts: [String], special: [Bool]
        var mapping: WordMapping?
        if r.continuationStart == p, r.tokenTexts.count == p + g.tokens.count {
            tokenTexts = r.tokenTexts
            special = r.special.count == tokenTexts.count ? r.special : tokenTexts.map { _ in false }
            mapping = state.display.words ? r.words : nil
        } else {
            tokenTexts = Array(r.tokenTexts.prefix(p)) + g.tokens.map(\.text)
            special = (r.special.count >= p ? Array(r.special.prefix(p)) : Array(repeating: false, count: min(p, r.tokenTexts.count)))
                + g.tokens.map(\.isSpecial)
        }
        let n = tokenTexts.count
        if special.count != n { special = Array(repeating: false, count: n) }
        rowTexts = g.tokens.map(\.text)
        rowProbabilities = g.tokens.map(\.probability)
        let rows = g.tokens.count
        let matrix = g.matrix
        func row(_ values: [[Float]?]?, _ j: Int) -> [Float]? {
            guard let values, j < values.count, let v = values[j], v.count == n else { return nil }
            return v
        }
        if let mapping, mapping.wordOfToken.count == n {
            columnTexts = mapping.words.map { w in w.tokens.map { Sanitizer.visible(tokenTexts[$0]) }.joined() }
            columnIsContinuation = mapping.words.map { $0.firstToken >= p }
            columnIsSpecial = mapping.words.map { w in w.tokens.allSatisfy { special[$0] } }
            let reduction = state.display.reduction
            gim = (0..<rows).map { row(matrix?.gim, $0).map { mapping.aggregate($0, reduction) } }
            plain = (0..<rows).map { row(matrix?.plain, $0).map { mapping.aggregate($0, reduction) } }
            attributedColumns = (0..<rows).map { min(mapping.wordOfToken[max(0, p + $0 - 1)] + 1, mapping.words.count) }
        } else {
            columnTexts = tokenTexts
            columnIsContinuation = (0..<n).map { $0 >= p }
            columnIsSpecial = special
            gim = (0..<rows).map { row(matrix?.gim, $0) }
            plain = (0..<rows).map { row(matrix?.plain, $0) }
            attributedColumns = (0..<rows).map { p + $0 }
        }
    }
}

extension Renderer {
    mutating func matrixView(_ area: Rect, result r: AnalysisResult) {
        let g = state.generation
        guard !g.tokens.isEmpty else {
            centered(["No continuation yet: n generates one (or type prompt ^T continuation)."], in: area, role: .dim)
            return
        }
        let m = MatrixLayout(state: state, result: r)
        let sideBySide = area.width >= Layout.sideBySideWidth
        let panes: [Rect]
        if sideBySide {
            let left = area.width / 2
            panes = [Rect(x: area.x, y: area.y, width: left, height: area.height),
                     Rect(x: area.x + left, y: area.y, width: area.width - left, height: area.height)]
        } else {
            let top = area.height / 2
            panes = [Rect(x: area.x, y: area.y, width: area.width, height: top),
                     Rect(x: area.x, y: area.y + top, width: area.width, height: area.height - top)]
        }
        let done = g.matrix?.completedRows ?? 0
        let progress = done < g.tokens.count ? " \(done)/\(g.tokens.count)" : ""
        // The left matrix is the focused pane's method (the one the knob keys edit).
        let method = g.matrix?.method ?? state.panes.focused.method
        matrixPane(panes[0], title: Self.paneTitle(method) + " matrix" + progress, rows: m.gim, layout: m)
        matrixPane(panes[1], title: "plain gradient matrix" + progress, rows: m.plain, layout: m)
    }

    /// One matrix in a box: a header row marking prompt (─) and continuation (═) columns, then
    /// one line per continuation token: its text, then a cell per source.
    mutating func matrixPane(_ rect: Rect, title: String, rows: [[Float]?], layout m: MatrixLayout) {
        frame.box(rect, title: title)
        let inner = rect.inset(1)
        guard inner.width > 4, inner.height > 1 else { return }
        let labelWidth = min(12, max(4, inner.width / 4))
        let room = inner.width - labelWidth - 1
        guard room > 0 else { return }
        let columns = m.columnTexts.count
        // The most recent columns when they do not all fit (the newest context matters most).
        let first = max(0, columns - room)
        let x0 = inner.x + labelWidth + 1
        if first > 0 { frame.put("…", x: x0 - 1, y: inner.y, role: .dim) }
        for c in first..<columns {
            let mark = m.columnIsSpecial[c] ? "┄" : (m.columnIsContinuation[c] ? "═" : "─")
            frame.put(mark, x: x0 + c - first, y: inner.y, role: m.columnIsContinuation[c] ? .accent : .dim)
        }
        frame.put(Layout.pad("sources→", width: labelWidth), x: inner.x, y: inner.y, role: .dim)

        let visible = inner.height - 1
        let selected = state.generation.selected ?? 0
        let top = Self.scrollTop(focus: selected, visible: visible, total: rows.count, offset: state.scroll)
        let bars = state.colorDepth.showsBars
        for j in top..<min(rows.count, top + visible) {
            let y = inner.y + 1 + j - top
            let isSelected = j == state.generation.selected
            let label = Layout.pad(Sanitizer.visible(m.rowTexts[j]), width: labelWidth)
            frame.put(label, x: inner.x, y: y, role: isSelected ? .selection : .text, attributes: isSelected ? .bold : [])
            guard let values = rows[j] else {
                frame.put(Layout.fit("…", width: room), x: x0, y: y, role: .dim)
                continue
            }
            let count = min(m.attributedColumns[j], values.count)
            let masked = state.display.maskSpecial
            let scaleValues = masked ? values.enumerated().map { m.columnIsSpecial[$0.offset] ? 0 : $0.element } : values
            let scale = HeatScale(scaleValues, count: count)
            for c in first..<columns {
                let x = x0 + c - first
                guard c < count, !(masked && m.columnIsSpecial[c]) else {
                    frame.put(c < count ? "┄" : " ", x: x, y: y, role: .dim)
                    continue
                }
                let level = scale.level(values[c])
                if bars {
                    frame.put(String(HeatScale.glyph(level)), x: x, y: y, role: .heatBar(level))
                } else {
                    frame.put(" ", x: x, y: y, role: .heat(level))
                }
            }
        }
        scrollMarks(rect: rect, top: top, visible: visible, total: rows.count)
        if rect.width >= 30 {
            frame.put(" each row scaled to its own max|a| ", x: rect.x + 2, y: rect.maxY - 1, role: .dim, limit: rect.maxX - 1)
        }
    }
}
