/// A one-line text editor with a history, as a value: the prompt line and the small "target
/// token" entry line both use it. The cursor counts graphemes, so a typed combining accent joins
/// the letter before it and the cursor never lands inside a character.
public struct PromptEditor: Equatable, Sendable {
    public private(set) var text: String
    /// 0…text.count, in graphemes.
    public private(set) var cursor: Int
    /// Submitted prompts, oldest first.
    public private(set) var history: [String] = []
    /// Which history entry is shown (nil = the text being written, kept in `draft`).
    private var historyIndex: Int?
    private var draft = ""

    /// Pasting a book must not make every keystroke slow (the engine takes up to the model's context).
    public static let maxCharacters = 32_768
    static let maxHistory = 200

    public init(text: String = "", history: [String] = []) {
        self.text = String(text.prefix(Self.maxCharacters))
        cursor = self.text.count
        self.history = history
    }

    // MARK: Editing

    /// Inserts at the cursor; returns false when the text was cut at `maxCharacters`.
    @discardableResult
    public mutating func insert(_ s: String) -> Bool {
        let before = prefix(cursor)
        let after = suffix(from: cursor)
        let room = max(0, Self.maxCharacters - text.count)
        let added = String(s.prefix(room))
        let head = before + added
        text = head + after
        // Counting the joined head, not `added`, keeps a combining mark merged with its letter.
        cursor = min(head.count, text.count)
        historyIndex = nil
        return added.count == s.count
    }

    public mutating func deleteBackward() {
        guard cursor > 0 else { return }
        text = prefix(cursor - 1) + suffix(from: cursor)
        cursor -= 1
        historyIndex = nil
    }

    public mutating func deleteForward() {
        guard cursor < text.count else { return }
        text = prefix(cursor) + suffix(from: cursor + 1)
        historyIndex = nil
    }

    /// Ctrl-W: the word before the cursor and the spaces after it.
    public mutating func deleteWordBackward() {
        let chars = Array(prefix(cursor))
        var i = chars.count
        while i > 0 && chars[i - 1].isWhitespace { i -= 1 }
        while i > 0 && !chars[i - 1].isWhitespace { i -= 1 }
        text = String(chars[..<i]) + suffix(from: cursor)
        cursor = i
        historyIndex = nil
    }

    public mutating func killToEnd() {
        text = prefix(cursor)
        historyIndex = nil
    }

    public mutating func killToStart() {
        text = suffix(from: cursor)
        cursor = 0
        historyIndex = nil
    }

    public mutating func clear() {
        text = ""
        cursor = 0
        historyIndex = nil
    }

    /// Replaces the whole text (cursor at the end).
    public mutating func setText(_ s: String) {
        text = String(s.prefix(Self.maxCharacters))
        cursor = text.count
    }

    // MARK: Cursor

    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(text.count, cursor + 1) }
    public mutating func moveHome() { cursor = 0 }
    public mutating func moveEnd() { cursor = text.count }

    // MARK: History

    /// Remembers a submitted prompt (not twice in a row) and starts a fresh draft position.
    public mutating func commit() {
        if !text.isEmpty && history.last != text {
            history.append(text)
            if history.count > Self.maxHistory { history.removeFirst(history.count - Self.maxHistory) }
        }
        historyIndex = nil
    }

    /// ↑: the previous submitted prompt (the text being written is kept as a draft).
    public mutating func historyPrevious() {
        guard !history.isEmpty else { return }
        let i: Int
        if let current = historyIndex {
            i = max(0, current - 1)
        } else {
            draft = text
            i = history.count - 1
        }
        historyIndex = i
        text = history[i]
        cursor = text.count
    }

    /// ↓: the next submitted prompt, then the draft again.
    public mutating func historyNext() {
        guard let current = historyIndex else { return }
        if current + 1 < history.count {
            historyIndex = current + 1
            text = history[current + 1]
        } else {
            historyIndex = nil
            text = draft
        }
        cursor = text.count
    }

    // MARK: Helpers

    private func prefix(_ n: Int) -> String { String(text.prefix(n)) }
    private func suffix(from n: Int) -> String { String(text.dropFirst(n)) }
}
