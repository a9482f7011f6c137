/// Splits text into the pieces that BPE then encodes one by one, the way a model's own
/// pre-tokenizer does. The split patterns are scanned by hand over Unicode scalars rather than
/// run through a regex engine; each scanner below names the pattern it reproduces.
///
/// Character classes follow the patterns' Unicode meaning: `\p{L}` is General_Category L*
/// (Lu, Ll, Lt, Lm, Lo), `\p{N}` is Nd, Nl or No, `\s` is the White_Space property, and
/// `\p{M}` is Mn, Mc or Me.
public enum PreTokenizerKind: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every numeric character isolated first (Hugging Face `Digits(individual_digits=True)`),
    /// then the GPT-2 pattern inside each remaining piece. SmolLM, StarCoder and friends.
    case digitsThenGPT2
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// Qwen 2: the Llama 3 pattern with `\p{N}` (one digit per piece) instead of `\p{N}{1,3}`.
    case qwen2
    /// Qwen 3.5: the Qwen 2 pattern with marks counted as letters: `[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+`
    /// and ` ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*`.
    case qwen35

    /// The kind a GGUF `tokenizer.ggml.pre` name stands for (llama.cpp's names), or nil if unknown.
    public static func named(_ name: String) -> PreTokenizerKind? {
        switch name.lowercased() {
        case "default", "gpt2", "gpt-2", "phi-2", "roberta-bpe", "mpt", "olmo", "jais", "jina-es", "jina-de",
             "jina-v2-es", "jina-v2-de", "jina-v1-en", "jina-v2-en", "jina-v2-code", "stablelm2", "poro-chat",
             "viking", "gpt-neox":
            return .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva":
            return .digitsThenGPT2
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "dbrx", "smaug-bpe",
             "midm-2.0", "lfm2":
            return .llama3
        case "qwen2", "deepseek-r1-qwen", "megrez":
            return .qwen2
        case "qwen35":
            return .qwen35
        default:
            return nil
        }
    }
}

/// The coarse class of one scalar, as the split patterns see it.
enum ScalarClass: UInt8 {
    case letter, number, space, other
}

struct PreTokenizer: Sendable {
    let kind: PreTokenizerKind

    /// Marks (`\p{M}`) count as letters only for Qwen 3.5.
    var marksAreLetters: Bool { kind == .qwen35 }

    // MARK: Classification

    private static let asciiClasses: [ScalarClass] = (0..<128).map { v -> ScalarClass in
        switch v {
        case 0x09...0x0D, 0x20: return .space
        case 0x30...0x39: return .number
        case 0x41...0x5A, 0x61...0x7A: return .letter
        default: return .other
        }
    }

    @inline(__always)
    func classify(_ v: UInt32) -> ScalarClass {
        if v < 128 { return Self.asciiClasses[Int(v)] }
        guard let scalar = Unicode.Scalar(v) else { return .other }
        let props = scalar.properties
        if props.isWhitespace { return .space }
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return marksAreLetters ? .letter : .other
        default:
            return .other
        }
    }

    // MARK: Splitting

    /// Appends to `pieces` the scalar-index ranges of the pieces of `scalars[range]`, in order,
    /// covering the range exactly.
    func split(_ scalars: [UInt32], _ classes: [ScalarClass], in range: Range<Int>, into pieces: inout [Range<Int>]) {
        switch kind {
        case .gpt2:
            scanGPT2(scalars, classes, range.lowerBound, range.upperBound, &pieces)
        case .digitsThenGPT2:
            var start = range.lowerBound
            for i in range where classes[i] == .number {
                if start < i { scanGPT2(scalars, classes, start, i, &pieces) }
                pieces.append(i..<(i + 1))
                start = i + 1
            }
            if start < range.upperBound { scanGPT2(scalars, classes, start, range.upperBound, &pieces) }
        case .llama3:
            scanLlama3(scalars, classes, range.lowerBound, range.upperBound, maxDigits: 3, &pieces)
        case .qwen2, .qwen35:
            scanLlama3(scalars, classes, range.lowerBound, range.upperBound, maxDigits: 1, &pieces)
        }
    }

    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20
    private static let cr: UInt32 = 0x0D
    private static let lf: UInt32 = 0x0A

    /// Length of the contraction `'s|'t|'re|'ve|'m|'ll|'d` starting at `i` (an apostrophe), or 0.
    @inline(__always)
    private func contractionLength(_ s: [UInt32], _ i: Int, _ hi: Int, caseInsensitive: Bool) -> Int {
        guard i + 1 < hi else { return 0 }
        func fold(_ v: UInt32) -> UInt32 {
            guard caseInsensitive else { return v }
            if v >= 0x41 && v <= 0x5A { return v + 0x20 }
            if v == 0x17F { return 0x73 }  // ſ folds to s
            return v
        }
        let a = fold(s[i + 1])
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        case 0x72, 0x76, 0x6C:  // r v l
            guard i + 2 < hi else { return 0 }
            let b = fold(s[i + 2])
            if (a == 0x72 || a == 0x76) && b == 0x65 { return 3 }  // re ve
            if a == 0x6C && b == 0x6C { return 3 }  // ll
            return 0
        default:
            return 0
        }
    }

    /// End of the run of `cls` starting at `from`.
    @inline(__always)
    private func runEnd(_ classes: [ScalarClass], _ from: Int, _ hi: Int, _ cls: ScalarClass) -> Int {
        var k = from
        while k < hi && classes[k] == cls { k += 1 }
        return k
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar `i`: the whole run when it ends the text or is one
    /// scalar long, otherwise the run less its last scalar (which then starts the next piece).
    @inline(__always)
    private func whitespaceEnd(_ classes: [ScalarClass], _ i: Int, _ hi: Int) -> Int {
        let k = runEnd(classes, i + 1, hi, .space)
        return (k == hi || k - i == 1) ? k : k - 1
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    private func scanGPT2(_ s: [UInt32], _ classes: [ScalarClass], _ lo: Int, _ hi: Int, _ pieces: inout [Range<Int>]) {
        var i = lo
        while i < hi {
            if s[i] == Self.apostrophe {
                let n = contractionLength(s, i, hi, caseInsensitive: false)
                if n > 0 {
                    pieces.append(i..<(i + n))
                    i += n
                    continue
                }
            }
            // ` ?X+`: an optional leading space joins a following letter, number or other run.
            var j = i
            if s[i] == Self.space && i + 1 < hi && classes[i + 1] != .space { j = i + 1 }
            let cls = classes[j]
            let end = cls == .space ? whitespaceEnd(classes, i, hi) : runEnd(classes, j + 1, hi, cls)
            pieces.append(i..<end)
            i = end
        }
    }

    /// Llama 3 / Qwen 2 / Qwen 3.5 (see `PreTokenizerKind`), with `maxDigits` digits per number piece.
    private func scanLlama3(_ s: [UInt32], _ classes: [ScalarClass], _ lo: Int, _ hi: Int, maxDigits: Int,
                            _ pieces: inout [Range<Int>]) {
        var i = lo
        while i < hi {
            let c = s[i]
            let cls = classes[i]
            if c == Self.apostrophe {
                let n = contractionLength(s, i, hi, caseInsensitive: true)
                if n > 0 {
                    pieces.append(i..<(i + n))
                    i += n
                    continue
                }
            }
            let end: Int
            if cls == .letter {
                // `[^\r\n\p{L}\p{N}]?\p{L}+` without the prefix
                end = runEnd(classes, i + 1, hi, .letter)
            } else if cls != .number && c != Self.cr && c != Self.lf && i + 1 < hi && classes[i + 1] == .letter {
                // `[^\r\n\p{L}\p{N}]?\p{L}+` with one prefix scalar (space, punctuation, tab, …)
                end = runEnd(classes, i + 2, hi, .letter)
            } else if cls == .number {
                // `\p{N}{1,maxDigits}`
                var k = i + 1
                while k < hi && k - i < maxDigits && classes[k] == .number { k += 1 }
                end = k
            } else if cls == .other || (c == Self.space && i + 1 < hi && classes[i + 1] == .other) {
                // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
                var k = runEnd(classes, cls == .other ? i + 1 : i + 2, hi, .other)
                while k < hi && (s[k] == Self.cr || s[k] == Self.lf) { k += 1 }
                end = k
            } else {
                // Whitespace: `\s*[\r\n]+` (up to the run's last line break), else `\s+(?!\S)|\s+`.
                let runStop = runEnd(classes, i + 1, hi, .space)
                var lastBreak = -1
                var k = runStop - 1
                while k >= i {
                    if s[k] == Self.cr || s[k] == Self.lf { lastBreak = k; break }
                    k -= 1
                }
                if lastBreak >= 0 {
                    end = lastBreak + 1
                } else {
                    end = (runStop == hi || runStop - i == 1) ? runStop : runStop - 1
                }
            }
            pieces.append(i..<end)
            i = end
        }
    }
}
