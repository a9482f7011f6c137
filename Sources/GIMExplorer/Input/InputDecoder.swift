/// What the terminal delivered: a character (ncurses `wget_wch` text), a key ncurses already
/// decoded (arrows, F-keys), or nothing within the read timeout.
public enum TerminalInput: Equatable, Sendable {
    case scalar(Unicode.Scalar)
    case key(Key)
    case idle
}

/// Turns the raw character stream into `Key`s: control characters, Alt combinations (ESC then a
/// key, told apart from a lone Esc by the pause after it) and bracketed paste
/// (ESC [200~ … ESC [201~), which ncurses does not know. Pure, so it is unit tested.
public struct InputDecoder: Sendable {
    private enum State: Sendable {
        case ground
        /// An ESC arrived; the next input decides between Alt-key, a sequence and a lone Esc.
        case escape
        /// ESC [ and the parameter bytes so far.
        case sequence(String)
        /// ESC O: the next character names a cursor or function key (SS3).
        case ss3
        /// Inside a bracketed paste: the text so far and how many idle reads we waited.
        case paste(String, idle: Int)
    }

    private var state = State.ground
    /// A paste whose end marker never comes is delivered after this many idle reads, so a broken
    /// terminal cannot swallow the keyboard.
    static let pasteIdleLimit = 25
    static let pasteEnd = "\u{1B}[201~"

    public init() {}

    public mutating func feed(_ input: TerminalInput) -> [Key] {
        switch state {
        case .ground:
            return ground(input)
        case .escape:
            state = .ground
            switch input {
            case .idle: return [.escape]
            case .key(let k): return [.escape, k]
            case .scalar(let s):
                if s == "[" { state = .sequence(""); return [] }
                if s == "O" { state = .ss3; return [] }
                if s.value == 0x1B { state = .escape; return [.escape] }
                if let k = Self.plainKey(s) {
                    if case .char(let c) = k { return [.alt(c)] }
                    return [.escape, k]
                }
                return [.escape]
            }
        case .sequence(let params):
            switch input {
            case .idle:
                // Not a sequence after all: Alt-[ followed by what was typed.
                state = .ground
                return [.alt("[")] + params.map { .char($0) }
            case .key(let k):
                state = .ground
                return [k]
            case .scalar(let s):
                if ("0"..."9").contains(s) || s == ";" {
                    state = .sequence(params + String(s))
                    return []
                }
                state = .ground
                if s == "~" && params == "200" { state = .paste("", idle: 0); return [] }
                if s == "~" { return Self.tildeKeys[params.split(separator: ";").first.map(String.init) ?? ""].map { [$0] } ?? [] }
                // Cursor keys ncurses left undecoded (keypad off or an unknown terminal).
                switch s {
                case "A": return [.up]
                case "B": return [.down]
                case "C": return [.right]
                case "D": return [.left]
                case "H": return [.home]
                case "F": return [.end]
                case "Z": return [.backTab]
                default: return []  // an unknown sequence is ignored, never typed
                }
            }
        case .ss3:
            state = .ground
            switch input {
            case .idle: return [.alt("O")]
            case .key(let k): return [.alt("O"), k]
            case .scalar(let s):
                let keys: [Unicode.Scalar: Key] = ["A": .up, "B": .down, "C": .right, "D": .left, "H": .home, "F": .end,
                                                   "P": .function(1), "Q": .function(2), "R": .function(3), "S": .function(4),
                                                   "M": .enter]
                return keys[s].map { [$0] } ?? []
            }
        case .paste(let text, let idle):
            switch input {
            case .idle:
                if idle + 1 >= Self.pasteIdleLimit { state = .ground; return text.isEmpty ? [] : [.paste(text)] }
                state = .paste(text, idle: idle + 1)
                return []
            case .key:
                // A decoded key inside a paste is noise (ncurses matched part of the text).
                return []
            case .scalar(let s):
                var t = text
                t.unicodeScalars.append(s.value == 0x0D ? "\n" : s)
                if t.hasSuffix(Self.pasteEnd) {
                    t.removeLast(Self.pasteEnd.count)
                    state = .ground
                    return t.isEmpty ? [] : [.paste(t)]
                }
                state = .paste(t, idle: 0)
                return []
            }
        }
    }

    private mutating func ground(_ input: TerminalInput) -> [Key] {
        switch input {
        case .idle: return []
        case .key(let k): return [k]
        case .scalar(let s):
            if s.value == 0x1B { state = .escape; return [] }
            return Self.plainKey(s).map { [$0] } ?? []
        }
    }

    /// VT-style ESC [ n ~ keys, for terminals whose terminfo entry (or a multiplexer between
    /// it and us) sends sequences ncurses was not told about.
    static let tildeKeys: [String: Key] = [
        "1": .home, "7": .home, "4": .end, "8": .end, "3": .delete, "5": .pageUp, "6": .pageDown,
        "11": .function(1), "12": .function(2), "13": .function(3), "14": .function(4), "15": .function(5),
        "17": .function(6), "18": .function(7), "19": .function(8), "20": .function(9), "21": .function(10),
        "23": .function(11), "24": .function(12),
    ]

    /// A single character outside any sequence.
    static func plainKey(_ s: Unicode.Scalar) -> Key? {
        switch s.value {
        case 0x09: return .tab
        case 0x0A, 0x0D: return .enter
        case 0x08, 0x7F: return .backspace
        case 0x01...0x1A: return .ctrl(Character(Unicode.Scalar(s.value + 0x60)!))
        case 0x00...0x1F, 0x80...0x9F: return nil  // other control codes do nothing
        default: return .char(Character(s))
        }
    }
}
