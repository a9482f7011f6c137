/// One terminal cell: a grapheme, its role and attributes. A wide grapheme (CJK, emoji) sits in
/// its first cell and the cell to its right is a continuation (empty text) that is not drawn.
public struct Cell: Equatable, Sendable {
    public var text: String
    public var role: Role
    public var attributes: CellAttributes

    public init(_ text: String = " ", role: Role = .text, attributes: CellAttributes = []) {
        self.text = text
        self.role = role
        self.attributes = attributes
    }

    public var isContinuation: Bool { text.isEmpty }
}

/// A rectangle of cells, in columns and rows from the top-left.
public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    /// The rectangle shrunk by `n` cells on every side.
    public func inset(_ n: Int) -> Rect { Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n) }
}

/// What the screen should show: a grid of cells and where the text cursor is (nil = hidden).
/// `render` produces frames; the ncurses surface only draws them, and tests read them as text.
public struct Frame: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    public var cursor: (x: Int, y: Int)? {
        get { cursorX.map { ($0, cursorY) } }
        set { cursorX = newValue?.x; cursorY = newValue?.y ?? 0 }
    }
    private var cursorX: Int?
    private var cursorY = 0

    public init(width: Int, height: Int, fill: Role = .text) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(role: fill), count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Fills a rectangle (clipped to the frame) with blanks of one role.
    public mutating func fill(_ r: Rect, role: Role, attributes: CellAttributes = []) {
        for y in max(0, r.y)..<min(height, r.maxY) where r.x < width {
            for x in max(0, r.x)..<min(width, r.maxX) {
                self[x, y] = Cell(" ", role: role, attributes: attributes)
            }
        }
    }

    /// Writes text from (x, y), clipped at `limit` (an x coordinate, default the frame's right
    /// edge). Text is sanitized (control characters made visible); a wide grapheme that would
    /// cross the limit becomes a space. Returns the x after the last column written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, role: Role = .text, attributes: CellAttributes = [],
                             limit: Int? = nil) -> Int {
        let end = min(limit ?? width, width)
        var cx = x
        guard y >= 0 && y < height else { return x }
        for c in Sanitizer.visible(text) {
            let w = TextWidth.of(c)
            if w == 0 {
                // A combining character the sanitizer left attached to nothing: drop it.
                continue
            }
            if cx >= end { break }
            if cx + w > end {
                if cx >= 0 { self[cx, y] = Cell(" ", role: role, attributes: attributes) }
                cx += 1
                break
            }
            if cx >= 0 {
                clearHalfOfWide(at: cx, y: y)
                self[cx, y] = Cell(String(c), role: role, attributes: attributes)
                if w == 2 {
                    clearHalfOfWide(at: cx + 1, y: y)
                    self[cx + 1, y] = Cell("", role: role, attributes: attributes)
                }
            }
            cx += w
        }
        return cx
    }

    /// Before a cell is overwritten: if it is half of a wide grapheme, blank the other half so
    /// no orphaned continuation (or orphaned wide glyph) is left behind.
    private mutating func clearHalfOfWide(at x: Int, y: Int) {
        guard contains(x: x, y: y) else { return }
        let cell = self[x, y]
        if cell.isContinuation, x > 0 {
            self[x - 1, y] = Cell(" ", role: self[x - 1, y].role, attributes: self[x - 1, y].attributes)
        } else if TextWidth.of(cell.text) == 2, x + 1 < width {
            self[x + 1, y] = Cell(" ", role: self[x + 1, y].role, attributes: self[x + 1, y].attributes)
        }
    }

    /// Sets the role and attributes of existing cells without changing their text.
    public mutating func restyle(_ r: Rect, role: Role, attributes: CellAttributes = []) {
        for y in max(0, r.y)..<min(height, r.maxY) where r.x < width {
            for x in max(0, r.x)..<min(width, r.maxX) {
                self[x, y].role = role
                self[x, y].attributes = attributes
            }
        }
    }

    /// A single-line box border with an optional title in the top edge.
    public mutating func box(_ r: Rect, title: String? = nil, role: Role = .border, titleRole: Role = .accent) {
        guard r.width >= 2, r.height >= 2 else { return }
        let horizontal = String(repeating: "─", count: r.width - 2)
        put("┌" + horizontal + "┐", x: r.x, y: r.y, role: role, limit: r.maxX)
        for y in (r.y + 1)..<(r.maxY - 1) {
            put("│", x: r.x, y: y, role: role)
            put("│", x: r.maxX - 1, y: y, role: role)
        }
        put("└" + horizontal + "┘", x: r.x, y: r.maxY - 1, role: role, limit: r.maxX)
        if let title, r.width >= 6 {
            put(" " + Layout.fit(title, width: r.width - 4) + " ", x: r.x + 1, y: r.y, role: titleRole,
                attributes: .bold, limit: r.maxX - 1)
        }
    }

    // MARK: Text views for tests and documentation

    /// The frame's characters, one string per row (continuation cells skipped).
    public var lines: [String] {
        (0..<height).map { y in
            var s = ""
            for x in 0..<width where !self[x, y].isContinuation { s += self[x, y].text }
            return s
        }
    }

    /// One snapshot code per cell (see `Role.snapshotCode`), one string per row; a wide
    /// grapheme's continuation repeats its code so columns line up with the screen.
    public var roleLines: [String] {
        (0..<height).map { y in String((0..<width).map { self[$0, y].role.snapshotCode }) }
    }

    /// The frame as plain text, rows joined by newlines, trailing spaces kept (frames are exact).
    public var text: String { lines.joined(separator: "\n") }

    /// Characters, role codes and the cursor: what snapshot tests compare.
    public var snapshot: String {
        let cursorText = cursor.map { "cursor \($0.x),\($0.y)" } ?? "cursor hidden"
        return "\(width)x\(height) \(cursorText)\n" + lines.map { "|" + $0 + "|" }.joined(separator: "\n")
            + "\n-- roles --\n" + roleLines.map { "|" + $0 + "|" }.joined(separator: "\n") + "\n"
    }
}
