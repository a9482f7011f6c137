/// Text fitting and the split of the main area into panes. Pure helpers of `render`.
public enum Layout {
    /// The smallest terminal the explorer draws into; below it, a "too small" message.
    public static let minimumWidth = 40
    public static let minimumHeight = 12
    /// From this width the prediction list sits to the right of the panes.
    static let predictionsBesideWidth = 100
    static let predictionsWidth = 30
    /// From this width two panes sit side by side (below it they are stacked); more panes need
    /// `sideBySidePaneWidth` columns each.
    static let sideBySideWidth = 64
    static let sideBySidePaneWidth = 28
    /// A pane needs its border, one line of tokens (text and marker rows) and nothing else.
    static let paneMinimumHeight = 4

    /// `s` shortened to at most `width` columns, ending in "…" when cut.
    public static func fit(_ s: String, width: Int) -> String {
        guard width > 0 else { return "" }
        let visible = Sanitizer.visible(s)
        if TextWidth.of(visible) <= width { return visible }
        var out = ""
        var used = 0
        for c in visible {
            let w = TextWidth.of(c)
            if used + w > width - 1 { break }
            out.append(c)
            used += w
        }
        return out + "…"
    }

    /// `s` fitted and padded with spaces to exactly `width` columns.
    static func pad(_ s: String, width: Int, alignRight: Bool = false) -> String {
        let f = fit(s, width: width)
        let gap = String(repeating: " ", count: max(0, width - TextWidth.of(f)))
        return alignRight ? gap + f : f + gap
    }

    /// Where the panes and the prediction list go in the main area.
    struct MainAreas: Equatable {
        var panes: [Rect]
        var predictions: Rect?
    }

    /// `paneCount` is the number of panes of the heat view (1 for the difference and table views).
    /// `contentHeight(paneWidth)` is the height (borders included) a pane of that width needs
    /// to show everything; the prediction list below the panes takes what the panes do not need.
    static func mainAreas(_ area: Rect, paneCount: Int, predictionRows: Int,
                          contentHeight: (Int) -> Int = { _ in .max / 4 }) -> MainAreas {
        let n = max(1, paneCount)
        var rest = area
        var predictions: Rect?
        if area.width >= predictionsBesideWidth {
            predictions = Rect(x: area.maxX - predictionsWidth, y: area.y, width: predictionsWidth, height: area.height)
            rest.width -= predictionsWidth
        }
        let sideBySide = n == 1 || rest.width >= max(sideBySideWidth, n * sideBySidePaneWidth)
            || area.height < n * paneMinimumHeight
        if predictions == nil {
            let panesNeed = sideBySide ? paneMinimumHeight : n * paneMinimumHeight
            let paneWidth = sideBySide ? rest.width / n : rest.width
            let content = max(panesNeed, contentHeight(paneWidth) * (sideBySide ? 1 : n))
            let wanted = min(predictionRows + 2, max(3, area.height / 3, area.height - content))
            let rows = area.height - wanted >= panesNeed ? wanted : (area.height - 3 >= panesNeed ? 3 : 0)
            if rows > 0 {
                predictions = Rect(x: area.x, y: area.maxY - rows, width: area.width, height: rows)
                rest.height -= rows
            }
        }
        guard n > 1 else { return MainAreas(panes: [rest], predictions: predictions) }
        // Equal shares; the last pane takes the remainder.
        var panes: [Rect] = []
        if sideBySide {
            let each = rest.width / n
            for i in 0..<n {
                panes.append(Rect(x: rest.x + i * each, y: rest.y, width: i == n - 1 ? rest.width - i * each : each,
                                  height: rest.height))
            }
        } else {
            let each = rest.height / n
            for i in 0..<n {
                panes.append(Rect(x: rest.x, y: rest.y + i * each, width: rest.width,
                                  height: i == n - 1 ? rest.height - i * each : each))
            }
        }
        return MainAreas(panes: panes, predictions: predictions)
    }
}

/// Prompt tokens wrapped into lines of a pane: each token keeps its text (sanitized), and a
/// token wider than the pane is split over several lines.
struct TokenFlow {
    struct Piece: Equatable {
        var line: Int
        var x: Int
        var text: String
        var width: Int
        var token: Int
        var isFirst: Bool
        var isLast: Bool
    }

    let pieces: [Piece]
    let lineCount: Int

    init(tokens: [String], width: Int) {
        var pieces: [Piece] = []
        var line = 0, x = 0
        let width = max(1, width)
        for (i, raw) in tokens.enumerated() {
            let text = raw.isEmpty ? "∅" : Sanitizer.visible(raw)
            let w = TextWidth.of(text)
            if x > 0 && x + w > width { line += 1; x = 0 }
            if w <= width - x {
                pieces.append(Piece(line: line, x: x, text: text, width: w, token: i, isFirst: true, isLast: true))
                x += w
                continue
            }
            // Longer than a whole line: cut it at grapheme boundaries.
            var chunk = "", chunkWidth = 0, first = true
            for c in text {
                let cw = TextWidth.of(c)
                if x + chunkWidth + cw > width && chunkWidth > 0 {
                    pieces.append(Piece(line: line, x: x, text: chunk, width: chunkWidth, token: i, isFirst: first, isLast: false))
                    first = false
                    line += 1; x = 0
                    chunk = ""; chunkWidth = 0
                }
                chunk.append(c)
                chunkWidth += cw
            }
            pieces.append(Piece(line: line, x: x, text: chunk, width: chunkWidth, token: i, isFirst: first, isLast: true))
            x += chunkWidth
        }
        self.pieces = pieces
        lineCount = pieces.isEmpty ? 0 : line + 1
    }

    /// The line holding a token's first piece.
    func line(of token: Int) -> Int? { pieces.first { $0.token == token }?.line }
}
