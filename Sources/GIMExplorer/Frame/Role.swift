/// What a cell is, never what colour it has: the theme maps roles to colours (htop's rule).
/// The names below are the keys of a theme file's `[roles]` table; heat roles come from its
/// `[heat]` table.
public enum Role: Hashable, Sendable {
    case text
    case dim
    case accent
    case border
    case warning
    /// The top bar.
    case title
    /// The highlighted row of a list (the chosen prediction, the help overlay's frame).
    case selection
    /// Key names in the footer and the help overlay.
    case key
    /// A token's background: level −8…8 of its attribution, 0 = neutral. Drawn as a background
    /// colour when the terminal has enough colours.
    case heat(Int)
    /// A bar glyph in the heat colour on the normal background (8-colour and monochrome views,
    /// legends, the table's bars).
    case heatBar(Int)

    /// The number of heat levels on each side of zero.
    public static let heatLevels = 8

    /// The role names a theme file may set in `[roles]`.
    public static let themeRoleNames = ["text", "dim", "accent", "border", "warning", "title", "selection", "key"]

    /// The name used in theme files (heat roles are derived from `[heat]` and have none).
    public var themeName: String? {
        switch self {
        case .text: "text"
        case .dim: "dim"
        case .accent: "accent"
        case .border: "border"
        case .warning: "warning"
        case .title: "title"
        case .selection: "selection"
        case .key: "key"
        case .heat, .heatBar: nil
        }
    }

    /// One character per role for the text snapshots of frames: ' ' text, '.' dim, '*' accent,
    /// '#' border, '!' warning, 'T' title, 'S' selection, 'K' key; heat levels '0', '1'…'8'
    /// (positive) and 'a'…'h' (negative); heat bars 'p' (positive), 'n' (negative), 'z' (zero).
    public var snapshotCode: Character {
        switch self {
        case .text: " "
        case .dim: "."
        case .accent: "*"
        case .border: "#"
        case .warning: "!"
        case .title: "T"
        case .selection: "S"
        case .key: "K"
        case .heat(let l):
            if l == 0 { "0" } else if l > 0 { Character(String(min(l, 9))) }
            else { Character(Unicode.Scalar(UInt8(96 + min(-l, 26)))) }
        case .heatBar(let l): l > 0 ? "p" : l < 0 ? "n" : "z"
        }
    }
}

/// Video attributes a cell may carry on top of its role's colours.
public struct CellAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellAttributes(rawValue: 1)
    public static let underline = CellAttributes(rawValue: 2)
    public static let reverse = CellAttributes(rawValue: 4)
    public static let dim = CellAttributes(rawValue: 8)
}
