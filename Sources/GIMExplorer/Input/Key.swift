/// A key press (or a paste) as the reducer sees it, independent of ncurses' numbering.
public enum Key: Hashable, Sendable {
    /// Printable text (one grapheme as typed).
    case char(Character)
    /// Alt (Meta) with a printable key: the terminal sends ESC then the key.
    case alt(Character)
    /// Ctrl with a letter, given as the lowercase letter ("c" for Ctrl-C).
    case ctrl(Character)
    case enter, tab, backTab, escape, backspace, delete
    case up, down, left, right, home, end, pageUp, pageDown
    /// F1…F12.
    case function(Int)
    /// Text pasted with bracketed paste: inserted as a whole, newlines included.
    case paste(String)

    /// How the key is written in the footer, the help overlay and the README.
    public var label: String {
        switch self {
        case .char(" "): "Space"
        case .char(let c): String(c)
        case .alt(let c): "Alt-\(c)"
        case .ctrl(let c): "Ctrl-\(c.uppercased())"
        case .enter: "Enter"
        case .tab: "Tab"
        case .backTab: "Shift-Tab"
        case .escape: "Esc"
        case .backspace: "Backspace"
        case .delete: "Delete"
        case .up: "↑"
        case .down: "↓"
        case .left: "←"
        case .right: "→"
        case .home: "Home"
        case .end: "End"
        case .pageUp: "PgUp"
        case .pageDown: "PgDn"
        case .function(let n): "F\(n)"
        case .paste: "paste"
        }
    }
}
