/// How many terminal columns a piece of text takes, decided without the C library's `wcwidth`
/// so that rendering (and its snapshot tests) does not depend on the process locale.
/// The rules follow Unicode's East Asian Width and emoji presentation, which is what terminals
/// and glibc's `wcwidth` implement for the characters a prompt realistically holds.
public enum TextWidth {
    /// Columns of one grapheme: 0, 1 or 2.
    public static func of(_ c: Character) -> Int {
        let scalars = c.unicodeScalars
        guard let first = scalars.first else { return 0 }
        // A grapheme that starts with a combining mark or a zero-width format character has
        // nothing to sit on; `Sanitizer` gives it a base, so here it is simply invisible.
        if isZeroWidth(first) { return 0 }
        if first.properties.isEmojiPresentation { return 2 }
        // Text-style emoji turned into emoji style by VS16 (U+FE0F) are drawn two columns wide.
        if first.properties.isEmoji && scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        return isWide(first.value) ? 2 : 1
    }

    /// Columns of a string.
    public static func of(_ s: String) -> Int {
        s.reduce(0) { $0 + of($1) }
    }

    /// Combining marks and invisible format characters (ZWJ, ZWSP, bidi controls).
    static func isZeroWidth(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return false
        }
    }

    /// East Asian Wide and Fullwidth blocks (Hangul jamo, CJK, kana, Hangul syllables,
    /// compatibility ideographs, fullwidth forms, the supplementary ideographic planes).
    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
             0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}

/// Makes arbitrary text safe to put in a terminal cell: control characters become visible
/// symbols, and marks with no base get a dotted circle to sit on. Token texts can hold any of
/// these (a newline token, a tab, half of a combining sequence).
public enum Sanitizer {
    public static func visible(_ s: String) -> String {
        var out = ""
        for c in s {
            out.append(contentsOf: visible(c))
        }
        return out
    }

    static func visible(_ c: Character) -> String {
        guard let first = c.unicodeScalars.first else { return "" }
        switch first.value {
        case 0x0A: return "↵"
        case 0x09: return "⇥"
        case 0x0D: return "␍"
        case 0x00...0x1F: return String(Unicode.Scalar(0x2400 + first.value)!)  // ␀ … ␟
        case 0x7F: return "␡"
        case 0x80...0x9F: return "�"
        default: break
        }
        if c == "\r\n" { return "↵" }
        if TextWidth.isZeroWidth(first) {
            // A lone mark ("◌́") or an invisible character: give it something to be seen on.
            return "◌" + String(c)
        }
        return String(c)
    }
}
