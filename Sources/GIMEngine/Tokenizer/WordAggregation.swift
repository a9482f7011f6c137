/// Which tokens make up each word of a token sequence, so that attributions of sub-word tokens can
/// be read per word. The mapping is a value: shown as the token boundaries row, and exported.
///
/// The rules work on what the tokens read as (their bytes), which makes them the same for every
/// tokenizer kind: a byte-level "Ġ" and a SentencePiece "▁" both read as a leading space, a
/// `<0xNN>` byte-fallback token or a byte-level fragment of a character as its byte. Over the
/// text of the whole sequence, a word is:
/// - leading whitespace (spaces, newlines: "Ġ"/"▁" markers) plus what follows it, so " world" is one
///   word; whitespace at the end stays a word of its own;
/// - a run of letters, digits, marks and "_" (so split digits "2","0","2","4" are one number and
///   `snake_case` one identifier), with an apostrophe between letters ("don't") and a "." or ","
///   between digits ("3.14", "1,000") kept inside;
/// - a run of punctuation and symbols (",", "?!", "):", "==");
/// - one CJK ideograph or kana (these scripts write no spaces), or one emoji (a whole sequence:
///   ZWJ families, skin tones, flags);
/// - a special token (`<|im_start|>`, BOS) alone.
/// A token is never split: when one token holds parts of two words (a CJK token of two characters,
/// "Hello," as one token) those words are one. Characters split over several tokens (byte-level
/// fragments of an emoji) join their tokens into the word.
public struct WordMapping: Sendable, Equatable, Codable {
    public struct Word: Sendable, Equatable, Codable {
        /// The tokens of the word, `firstToken..<endToken`.
        public let firstToken: Int
        public let endToken: Int
        /// What the word reads as (special tokens as written; bytes that are not whole UTF-8 as `<0xNN>`).
        public let text: String
        public var tokens: Range<Int> { firstToken..<endToken }
    }

    public let words: [Word]
    /// Per token, the index of its word.
    public let wordOfToken: [Int]

    public init(words: [Word]) {
        self.words = words
        var of: [Int] = []
        for (w, word) in words.enumerated() { of += Array(repeating: w, count: word.endToken - word.firstToken) }
        wordOfToken = of
    }

    /// One word per token (the identity mapping).
    public static func tokens(_ texts: [String]) -> WordMapping {
        WordMapping(words: texts.enumerated().map { Word(firstToken: $0.offset, endToken: $0.offset + 1, text: $0.element) })
    }

    /// Per word, the aggregate of its tokens' values ([tokens] → [words]).
    public func aggregate(_ values: [Float], _ reduction: WordReduction = .sum) -> [Float] {
        precondition(values.count == wordOfToken.count, "\(values.count) values for \(wordOfToken.count) tokens")
        return words.map { reduction.reduce(values[$0.tokens]) }
    }

    /// The word holding token `t`.
    public func word(ofToken t: Int) -> Word { words[wordOfToken[t]] }
}

/// How the values of a word's tokens become the word's.
public enum WordReduction: String, Sendable, Codable, CaseIterable {
    /// Σ of the tokens' values: gradient × input is additive over inputs, so a word's sum is the
    /// attribution of the word.
    case sum
    /// The value of largest magnitude, sign kept.
    case maxAbs = "max-abs"

    func reduce(_ v: ArraySlice<Float>) -> Float {
        switch self {
        case .sum: return v.reduce(0, +)
        case .maxAbs: return v.max { abs($0) < abs($1) } ?? 0
        }
    }
}

public enum WordAggregation {
    /// The words of `tokenIDs` as `tokenizer` reads them.
    public static func mapping(tokenIDs: [Int], tokenizer: BPETokenizer) -> WordMapping {
        mapping(pieces: tokenIDs.map { tokenizer.decodeBytes([$0]) }, special: tokenIDs.map { tokenizer.isSpecial($0) },
                specialText: tokenIDs.map { tokenizer.displayText($0) })
    }

    /// The words of tokens given as their bytes; `special[i]` tokens are words alone and read as
    /// `specialText[i]`.
    public static func mapping(pieces: [[UInt8]], special: [Bool], specialText: [String]? = nil) -> WordMapping {
        precondition(pieces.count == special.count)
        var words: [WordMapping.Word] = []
        var start = 0
        // Runs of ordinary tokens between special tokens are segmented as one text each.
        for i in 0...pieces.count where i == pieces.count || special[i] {
            if start < i { words += segment(pieces, start..<i) }
            if i < pieces.count {
                let text = specialText?[i] ?? String(decoding: pieces[i], as: UTF8.self)
                words.append(.init(firstToken: i, endToken: i + 1, text: text))
            }
            start = i + 1
        }
        return WordMapping(words: words)
    }

    /// Words of the ordinary tokens `range`, whose bytes are concatenated into one text.
    static func segment(_ pieces: [[UInt8]], _ range: Range<Int>) -> [WordMapping.Word] {
        var bytes: [UInt8] = []
        var tokenOfByte: [Int] = []
        for t in range {
            bytes += pieces[t]
            tokenOfByte += Array(repeating: t, count: pieces[t].count)
        }
        let chars = TextCharacter.split(bytes)
        // Word index of each character, then of each token (the word of its first byte; a token
        // reaching into later words merges them: `lastWord` only grows).
        let charWord = wordIndices(chars)
        var tokenFirst = [Int](repeating: -1, count: range.count), tokenLast = [Int](repeating: -1, count: range.count)
        for (c, ch) in chars.enumerated() {
            for b in ch.bytes {
                let t = tokenOfByte[b] - range.lowerBound
                if tokenFirst[t] < 0 { tokenFirst[t] = charWord[c] }
                tokenLast[t] = charWord[c]
            }
        }
        // Group tokens: a new group starts at a token whose first word is past everything so far.
        var groups: [Range<Int>] = []
        var groupStart = range.lowerBound, reach = -1
        for t in range {
            let i = t - range.lowerBound
            if tokenFirst[i] < 0 { continue }  // no bytes: stays with the group it is in
            if t > groupStart, tokenFirst[i] > reach {
                groups.append(groupStart..<t)
                groupStart = t
            }
            reach = max(reach, tokenLast[i])
        }
        groups.append(groupStart..<range.upperBound)
        return groups.map { g in
            let text = BPETokenizer.escapingPartialUTF8(g.flatMap { pieces[$0] })
            return WordMapping.Word(firstToken: g.lowerBound, endToken: g.upperBound, text: text)
        }
    }

    /// The word of each character by the rules of `WordMapping`.
    static func wordIndices(_ chars: [TextCharacter]) -> [Int] {
        var out = [Int](repeating: 0, count: chars.count)
        var word = 0
        for i in chars.indices {
            if i > 0 && startsWord(chars, i) { word += 1 }
            out[i] = word
        }
        return out
    }

    /// Whether character i begins a new word (i > 0).
    static func startsWord(_ c: [TextCharacter], _ i: Int) -> Bool {
        let prev = c[i - 1].kind, cur = c[i].kind
        if cur == .space { return prev != .space }
        if prev == .space { return false }  // leading whitespace belongs to what follows
        if cur == .cjk || cur == .emoji || prev == .cjk || prev == .emoji { return true }
        if cur == prev { return false }  // word-word, punctuation-punctuation
        // "don't", "3.14", "1,000": a joiner between two word characters stays inside the word.
        let next = i + 1 < c.count ? c[i + 1] : nil
        if prev == .word, cur == .punctuation, let next, next.kind == .word, c[i].joins(c[i - 1], next) { return false }
        if prev == .punctuation, cur == .word, i >= 2, c[i - 2].kind == .word, c[i - 1].joins(c[i - 2], c[i]) { return false }
        return true
    }
}

/// One user-perceived character of a token text: its kind and which bytes it is made of.
struct TextCharacter {
    enum Kind { case space, word, punctuation, cjk, emoji }
    let kind: Kind
    /// Byte offsets in the text.
    let bytes: Range<Int>
    let first: Unicode.Scalar

    /// Whether this punctuation character joins `before` and `after` into one word: an apostrophe
    /// between letters, a "." or "," between digits.
    func joins(_ before: TextCharacter, _ after: TextCharacter) -> Bool {
        switch first {
        case "'", "\u{2019}": return before.first.properties.isAlphabetic && after.first.properties.isAlphabetic
        case ".", ",": return before.first.properties.numericType != nil && after.first.properties.numericType != nil
        default: return false
        }
    }

    /// Splits UTF-8 `bytes` into characters: scalars grouped with the marks, joiners, variation
    /// selectors, skin tones and tags that extend them (and regional-indicator pairs); a byte that
    /// is not part of valid UTF-8 is a punctuation character of its own.
    static func split(_ bytes: [UInt8]) -> [TextCharacter] {
        var out: [TextCharacter] = []
        var i = 0
        var afterJoiner = false
        while i < bytes.count {
            let n = BPETokenizer.validSequenceLength(bytes, at: i)
            guard n > 0 else {
                out.append(TextCharacter(kind: .punctuation, bytes: i..<i + 1, first: "\u{FFFD}"))
                i += 1; afterJoiner = false
                continue
            }
            let scalar = String(decoding: bytes[i..<i + n], as: UTF8.self).unicodeScalars.first!
            if let last = out.last, last.bytes.upperBound == i, afterJoiner || extends(scalar, last) {
                out[out.count - 1] = TextCharacter(kind: last.kind, bytes: last.bytes.lowerBound..<i + n, first: last.first)
            } else {
                out.append(TextCharacter(kind: kind(scalar), bytes: i..<i + n, first: scalar))
            }
            afterJoiner = scalar.value == 0x200D
            i += n
        }
        return out
    }

    /// Whether `s` continues the character `last` rather than starting one.
    static func extends(_ s: Unicode.Scalar, _ last: TextCharacter) -> Bool {
        let v = s.value
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return last.kind != .space
        default: break
        }
        if v == 0x200D || (0xFE00...0xFE0F).contains(v) || (0x1F3FB...0x1F3FF).contains(v) || (0xE0020...0xE007F).contains(v) {
            return true
        }
        // The second regional indicator of a flag.
        if (0x1F1E6...0x1F1FF).contains(v), (0x1F1E6...0x1F1FF).contains(last.first.value), last.bytes.count == 4 { return true }
        return false
    }

    static func kind(_ s: Unicode.Scalar) -> Kind {
        let p = s.properties, v = s.value
        if p.isWhitespace { return .space }
        if isCJK(v) { return .cjk }
        if v >= 0x80 && (p.isEmojiPresentation || (p.isEmoji && v >= 0x2100)) { return .emoji }
        if p.isAlphabetic || p.numericType != nil || s == "_" { return .word }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber: return .word
        default: return .punctuation
        }
    }

    /// Han ideographs and Japanese kana: scripts written without spaces, one word per character.
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x3134F).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x3040...0x309F).contains(v) || (0x30A0...0x30FF).contains(v)
            || (0x31F0...0x31FF).contains(v)
    }
}
