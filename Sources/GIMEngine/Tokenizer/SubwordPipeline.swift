import Foundation

/// Which algorithm a `BPETokenizer` runs.
public enum TokenizerKind: String, Sendable {
    /// Byte-level BPE (GPT-2, SmolLM, Llama 3, Qwen 2): `tokenizer.ggml.model = "gpt2"` or a tokenizer.json
    /// with a ByteLevel pre-tokenizer.
    case byteLevelBPE
    /// SentencePiece-style BPE as tokenizer.json writes it (Llama 2, Mistral, Phi-3, Gemma): "▁" for
    /// spaces, characters as symbols, `<0xNN>` tokens for characters outside the vocabulary.
    case sentencePieceBPE
    /// A tokenizer.json Unigram model (T5 and other SentencePiece Unigram vocabularies): Viterbi over
    /// the pieces' scores.
    case unigram
    /// GGUF `tokenizer.ggml.model = "llama"`: llama.cpp's SPM tokenizer (merge the best-scoring adjacent
    /// pair while one is a token, bytes for what is left over).
    case llamaSPM
}

/// Bytes as a dictionary key, compared byte for byte (Swift `String` keys compare by canonical
/// equivalence, which would make "é" and "e\u{301}" one token).
typealias ByteKey = PieceKey

// MARK: Normalizer

/// One tokenizer.json normalizer step this tokenizer implements.
enum NormalizerStep: Sendable, Equatable {
    case nfc
    /// Prepend(s): added in front of a non-empty text.
    case prepend([UInt8])
    /// Replace(String pattern, content): every occurrence, left to right.
    case replace([UInt8], [UInt8])

    static func apply(_ steps: [NormalizerStep], to text: [UInt8]) -> [UInt8] {
        var s = text
        for step in steps {
            switch step {
            case .nfc:
                let str = String(decoding: s, as: UTF8.self)
                s = Array(str.precomposedStringWithCanonicalMapping.utf8)
            case .prepend(let p):
                if !s.isEmpty { s = p + s }
            case .replace(let pattern, let content):
                s = replaceAll(s, pattern, content)
            }
        }
        return s
    }
}

/// Every non-overlapping occurrence of `pattern` in `s` (left to right) replaced by `content`.
func replaceAll(_ s: [UInt8], _ pattern: [UInt8], _ content: [UInt8]) -> [UInt8] {
    guard !pattern.isEmpty, s.count >= pattern.count else { return s }
    var out: [UInt8] = []
    out.reserveCapacity(s.count + s.count / 4)
    var i = 0
    let first = pattern[0]
    while i < s.count {
        if s[i] == first && i + pattern.count <= s.count && s[i..<(i + pattern.count)].elementsEqual(pattern) {
            out.append(contentsOf: content)
            i += pattern.count
        } else {
            out.append(s[i])
            i += 1
        }
    }
    return out
}

// MARK: Pre-tokenizer

enum PrependScheme: String, Sendable {
    case first, always, never
}

enum SplitBehavior: String, Sendable {
    case removed, isolated, mergedWithPrevious, mergedWithNext, contiguous
}

/// One tokenizer.json pre-tokenizer step for the SentencePiece-style kinds.
enum SubwordPreTokenizerStep: Sendable, Equatable {
    /// Metaspace: spaces become `replacement`; a `replacement` is put in front per the scheme
    /// (unless the piece already starts with one); with `split`, the piece is cut before each one.
    case metaspace(replacement: [UInt8], scheme: PrependScheme, split: Bool)
    /// Split on a literal string with the given behaviour (not inverted).
    case splitLiteral([UInt8], SplitBehavior)
    /// WhitespaceSplit: runs of non-whitespace, whitespace dropped.
    case whitespaceSplit
}

/// A piece of text on its way through the pre-tokenizer, and whether it starts the original text
/// (Metaspace's "first" scheme prepends only there).
struct TextPiece {
    var bytes: [UInt8]
    var atStart: Bool
}

extension SubwordPreTokenizerStep {
    func apply(_ pieces: [TextPiece]) -> [TextPiece] {
        var out: [TextPiece] = []
        out.reserveCapacity(pieces.count)
        for piece in pieces {
            switch self {
            case .metaspace(let rep, let scheme, let split):
                var b = replaceAll(piece.bytes, [0x20], rep)
                let startsWithRep = b.count >= rep.count && b[0..<rep.count].elementsEqual(rep)
                switch scheme {
                case .always where !startsWithRep, .first where !startsWithRep && piece.atStart:
                    b = rep + b
                default:
                    break
                }
                if split {
                    out.append(contentsOf: Self.splitLiteral(TextPiece(bytes: b, atStart: piece.atStart), rep, .mergedWithNext))
                } else {
                    out.append(TextPiece(bytes: b, atStart: piece.atStart))
                }
            case .splitLiteral(let pattern, let behavior):
                out.append(contentsOf: Self.splitLiteral(piece, pattern, behavior))
            case .whitespaceSplit:
                out.append(contentsOf: Self.whitespaceSplit(piece))
            }
        }
        return out
    }

    /// tokenizers' `split` on a literal pattern: matches left to right; the pieces between and the
    /// matches are kept per `behavior`; empty pieces are dropped.
    static func splitLiteral(_ piece: TextPiece, _ pattern: [UInt8], _ behavior: SplitBehavior) -> [TextPiece] {
        let s = piece.bytes
        guard !pattern.isEmpty else { return s.isEmpty ? [] : [piece] }
        // (range, isMatch) covering s
        var parts: [(Range<Int>, Bool)] = []
        var i = 0, last = 0
        while i + pattern.count <= s.count {
            if s[i..<(i + pattern.count)].elementsEqual(pattern) {
                if last < i { parts.append((last..<i, false)) }
                parts.append((i..<(i + pattern.count), true))
                i += pattern.count
                last = i
            } else {
                i += 1
            }
        }
        if last < s.count { parts.append((last..<s.count, false)) }
        var ranges: [Range<Int>] = []
        switch behavior {
        case .removed:
            ranges = parts.filter { !$0.1 }.map { $0.0 }
        case .isolated:
            ranges = parts.map { $0.0 }
        case .contiguous:
            var prevWasMatch = false
            for (r, m) in parts {
                if m && prevWasMatch {
                    let prev = ranges.removeLast()
                    ranges.append(prev.lowerBound..<r.upperBound)
                } else {
                    ranges.append(r)
                }
                prevWasMatch = m
            }
        case .mergedWithPrevious:
            var prevWasText = false
            for (r, m) in parts {
                if m && prevWasText {
                    let prev = ranges.removeLast()
                    ranges.append(prev.lowerBound..<r.upperBound)
                } else {
                    ranges.append(r)
                }
                prevWasText = !m
            }
        case .mergedWithNext:
            var pendingMatch: Range<Int>?
            for (r, m) in parts {
                if m {
                    if let p = pendingMatch { ranges.append(p) }
                    pendingMatch = r
                } else if let p = pendingMatch {
                    ranges.append(p.lowerBound..<r.upperBound)
                    pendingMatch = nil
                } else {
                    ranges.append(r)
                }
            }
            if let p = pendingMatch { ranges.append(p) }
        }
        return ranges.filter { !$0.isEmpty }.map {
            TextPiece(bytes: Array(s[$0]), atStart: piece.atStart && $0.lowerBound == 0)
        }
    }

    /// Runs of non-whitespace (Unicode White_Space), as tokenizers' WhitespaceSplit.
    static func whitespaceSplit(_ piece: TextPiece) -> [TextPiece] {
        var out: [TextPiece] = []
        var current: [UInt8] = []
        var currentStart = 0
        var offset = 0
        for scalar in String(decoding: piece.bytes, as: UTF8.self).unicodeScalars {
            let n = UTF8.width(scalar)
            if scalar.properties.isWhitespace {
                if !current.isEmpty {
                    out.append(TextPiece(bytes: current, atStart: piece.atStart && currentStart == 0))
                    current = []
                }
            } else {
                if current.isEmpty { currentStart = offset }
                current.append(contentsOf: String(scalar).utf8)
            }
            offset += n
        }
        if !current.isEmpty { out.append(TextPiece(bytes: current, atStart: piece.atStart && currentStart == 0)) }
        return out
    }
}

// MARK: Decoder

/// One tokenizer.json decoder step (or llama.cpp's detokenizer, expressed as steps).
enum DecoderStep: Sendable, Equatable {
    case replace([UInt8], [UInt8])
    /// `<0xNN>` tokens become their bytes: a run of them that is valid UTF-8 becomes its text, an
    /// invalid run one U+FFFD per byte.
    case byteFallback
    /// All tokens joined into one.
    case fuse
    /// Per token, up to `start` leading and `stop` trailing `content` characters removed.
    case strip(content: UInt8, start: Int, stop: Int)
    /// Metaspace decoder: `replacement` becomes a space, and is dropped in the first token unless
    /// the scheme is "never".
    case metaspace(replacement: [UInt8], dropInFirst: Bool)

    static func decode(_ tokens: [[UInt8]], _ steps: [DecoderStep]) -> String {
        var toks = tokens
        for step in steps {
            switch step {
            case .replace(let a, let b):
                toks = toks.map { replaceAll($0, a, b) }
            case .byteFallback:
                var out: [[UInt8]] = []
                var run: [UInt8] = []
                func flush() {
                    guard !run.isEmpty else { return }
                    if String(validating: run, as: UTF8.self) != nil {
                        out.append(run)
                    } else {
                        for _ in run { out.append(Array("\u{FFFD}".utf8)) }
                    }
                    run = []
                }
                for t in toks {
                    if let b = byteTokenValue(t) {
                        run.append(b)
                    } else {
                        flush()
                        out.append(t)
                    }
                }
                flush()
                toks = out
            case .fuse:
                toks = [Array(toks.joined())]
            case .strip(let c, let start, let stop):
                toks = toks.map { t in
                    // Characters here are Unicode scalars; `c` is ASCII, so bytes suffice.
                    var lo = 0, hi = t.count
                    while lo < start && lo < hi && t[lo] == c { lo += 1 }
                    var k = 0
                    while k < stop && hi > lo && t[hi - 1] == c { hi -= 1; k += 1 }
                    return Array(t[lo..<hi])
                }
            case .metaspace(let rep, let dropInFirst):
                toks = toks.enumerated().map { i, t in
                    replaceAll(t, rep, i == 0 && dropInFirst ? [] : [0x20])
                }
            }
        }
        return String(decoding: toks.joined(), as: UTF8.self)
    }

    /// The byte a token spelled exactly `<0xNN>` (hex digits, either case) stands for.
    static func byteTokenValue(_ t: [UInt8]) -> UInt8? {
        guard t.count == 6, t[0] == 0x3C, t[1] == 0x30, t[2] == 0x78, t[5] == 0x3E,
              let hi = hexValue(t[3]), let lo = hexValue(t[4]) else { return nil }
        return hi << 4 | lo
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}

/// `<0xNN>` with upper-case hex, as tokenizers and sentencepiece spell byte tokens.
func byteTokenSpelling(_ b: UInt8) -> [UInt8] {
    Array(BPETokenizer.byteEscape(b).utf8)
}

// MARK: Models

/// The subword model behind a SentencePiece-style tokenizer.
enum SubwordModel: Sendable {
    case bpe(SentencePieceBPE)
    case unigram(UnigramModel)
    case llamaSPM(LlamaSPM)

    func encode(_ piece: [UInt8], into out: inout [Int]) {
        switch self {
        case .bpe(let m): m.encode(piece, into: &out)
        case .unigram(let m): m.encode(piece, into: &out)
        case .llamaSPM(let m): m.encode(piece, into: &out)
        }
    }
}

/// Byte offsets where UTF-8 scalars start in `s`, plus `s.count` (the bytes are valid UTF-8).
@inline(__always)
func scalarBoundaries(_ s: [UInt8]) -> [Int] {
    var b: [Int] = []
    b.reserveCapacity(s.count + 1)
    var i = 0
    while i < s.count {
        b.append(i)
        let c = s[i]
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4
    }
    b.append(s.count)
    return b
}

/// tokenizers' BPE with `byte_fallback` / `fuse_unk` / `unk_token` over characters (not bytes):
/// each character is a symbol if it is a token, else its `<0xNN>` tokens when byte fallback is on
/// and all exist, else the unknown token (consecutive ones fused when `fuse_unk`); then merges by
/// rank, lowest first, leftmost on a tie.
struct SentencePieceBPE: Sendable {
    let vocab: [ByteKey: Int32]
    let merger: BPEMerger
    let byteFallback: Bool
    let fuseUnk: Bool
    let unkID: Int32?
    let ignoreMerges: Bool
    /// Byte -> id of its `<0xNN>` token, or -1.
    let byteIDs: [Int32]

    func encode(_ piece: [UInt8], into out: inout [Int]) {
        if piece.isEmpty { return }
        if ignoreMerges, let id = vocab[ByteKey(bytes: piece)] {
            out.append(Int(id))
            return
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.count)
        var pendingUnk = false
        let bounds = scalarBoundaries(piece)
        for k in 0..<(bounds.count - 1) {
            let ch = Array(piece[bounds[k]..<bounds[k + 1]])
            if let id = vocab[ByteKey(bytes: ch)] {
                if pendingUnk, let u = unkID { symbols.append(u); pendingUnk = false }
                symbols.append(id)
                continue
            }
            if byteFallback && ch.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                // (tokenizers adds these without flushing a pending unknown token first)
                for b in ch { symbols.append(byteIDs[Int(b)]) }
                continue
            }
            if let u = unkID {
                if pendingUnk && !fuseUnk { symbols.append(u) }
                pendingUnk = true
            }
        }
        if pendingUnk, let u = unkID { symbols.append(u) }
        merger.merge(&symbols)
        for s in symbols { out.append(Int(s)) }
    }
}

/// tokenizers' Unigram: the best-scoring segmentation (Viterbi over character positions, pieces
/// found with a byte trie); a character no piece starts with costs `min score - 10` as unknown;
/// consecutive unknown spans are fused, then each piece that is not a token becomes its `<0xNN>`
/// tokens (byte fallback) or the unknown token.
struct UnigramModel: Sendable {
    let scores: [Double]
    let vocab: [ByteKey: Int32]
    let unkID: Int32
    let byteFallback: Bool
    let byteIDs: [Int32]
    let trie: ByteTrie
    let unkScore: Double

    init(pieces: [[UInt8]], scores: [Double], unkID: Int, byteFallback: Bool) {
        self.scores = scores
        var vocab = [ByteKey: Int32](minimumCapacity: pieces.count)
        var trie = ByteTrie()
        for (i, p) in pieces.enumerated() {
            if vocab[ByteKey(bytes: p)] == nil { vocab[ByteKey(bytes: p)] = Int32(i) }
            if !p.isEmpty { trie.insert(p, id: Int32(i)) }
        }
        self.vocab = vocab
        self.trie = trie
        self.unkID = Int32(unkID)
        self.byteFallback = byteFallback
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { byteIDs[b] = vocab[ByteKey(bytes: byteTokenSpelling(UInt8(b)))] ?? -1 }
        self.byteIDs = byteIDs
        self.unkScore = (scores.min() ?? 0) - 10
    }

    func encode(_ s: [UInt8], into out: inout [Int]) {
        let n = s.count
        if n == 0 { return }
        var bestScore = [Double](repeating: 0, count: n + 1)
        var startsAt = [Int](repeating: -1, count: n + 1)
        var nodeID = [Int32](repeating: 0, count: n + 1)
        var pos = 0
        while pos < n {
            let base = bestScore[pos]
            let c = s[pos]
            let mblen = min(n - pos, c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4)
            var hasSingle = false
            trie.prefixes(of: s, from: pos) { end, id in
                let cand = scores[Int(id)] + base
                if startsAt[end] < 0 || cand > bestScore[end] {
                    bestScore[end] = cand
                    startsAt[end] = pos
                    nodeID[end] = id
                }
                if end - pos == mblen { hasSingle = true }
            }
            if !hasSingle {
                let end = pos + mblen
                let cand = unkScore + base
                if startsAt[end] < 0 || cand > bestScore[end] {
                    bestScore[end] = cand
                    startsAt[end] = pos
                    nodeID[end] = unkID
                }
            }
            pos += mblen
        }
        // Backtrack into (range, isUnknown) pieces, fusing unknown runs.
        var pieces: [(Range<Int>, Int32?)] = []
        var end = n
        var unkEnd = -1
        while end > 0 {
            let start = startsAt[end]
            let id = nodeID[end]
            if id == unkID {
                if unkEnd < 0 { unkEnd = end }
            } else {
                if unkEnd >= 0 { pieces.append((end..<unkEnd, nil)); unkEnd = -1 }
                pieces.append((start..<end, id))
            }
            end = start
        }
        if unkEnd >= 0 { pieces.append((0..<unkEnd, nil)) }
        for (range, id) in pieces.reversed() {
            // A matched piece's id is the first id spelled that way, as tokenizers' token_to_ids.
            let bytes = Array(s[range])
            if let found = vocab[ByteKey(bytes: bytes)] {
                out.append(Int(found))
                _ = id
            } else if byteFallback && bytes.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                for b in bytes { out.append(Int(byteIDs[Int(b)])) }
            } else {
                out.append(Int(unkID))
            }
        }
    }
}

/// A byte trie over token spellings.
struct ByteTrie: Sendable {
    private var children: [[UInt8: Int32]] = [[:]]
    private var tokenAt: [Int32] = [-1]

    mutating func insert(_ key: [UInt8], id: Int32) {
        var node = 0
        for b in key {
            if let next = children[node][b] {
                node = Int(next)
            } else {
                children.append([:])
                tokenAt.append(-1)
                children[node][b] = Int32(children.count - 1)
                node = children.count - 1
            }
        }
        if tokenAt[node] < 0 { tokenAt[node] = id }
    }

    /// Calls `found(end, id)` for every token that `s[from...]` starts with, shortest first.
    func prefixes(of s: [UInt8], from: Int, _ found: (Int, Int32) -> Void) {
        var node = 0
        var i = from
        while i < s.count, let next = children[node][s[i]] {
            node = Int(next)
            i += 1
            if tokenAt[node] >= 0 { found(i, tokenAt[node]) }
        }
    }
}

/// llama.cpp's SPM tokenizer (GGUF `tokenizer.ggml.model = "llama"`): the text's characters are
/// symbols; the adjacent pair whose concatenation is a token with the highest score is merged
/// (the leftmost on a tie), repeatedly; each final symbol is its token, or its bytes' `<0xNN>` tokens.
struct LlamaSPM: Sendable {
    let vocab: [ByteKey: Int32]
    let scores: [Float]
    let byteIDs: [Int32]
    let unkID: Int32?

    func encode(_ s: [UInt8], into out: inout [Int]) {
        let bounds = scalarBoundaries(s)
        let n = bounds.count - 1
        if n == 0 { return }
        let start = Array(bounds[0..<n])
        var len = (0..<n).map { bounds[$0 + 1] - bounds[$0] }
        var prev = (0..<n).map { $0 - 1 }
        var next = (0..<n).map { $0 + 1 < n ? $0 + 1 : -1 }
        // Heap of candidate merges: best score first, then leftmost.
        var heap = BigramHeap()
        func tryAdd(_ l: Int, _ r: Int) {
            guard l >= 0, r >= 0 else { return }
            let key = ByteKey(bytes: Array(s[start[l]..<(start[r] + len[r])]))
            guard let id = vocab[key] else { return }
            heap.push(Bigram(score: scores[Int(id)], left: l, right: r, size: len[l] + len[r]))
        }
        for i in 1..<max(n, 1) { tryAdd(i - 1, i) }
        while let b = heap.pop() {
            let l = b.left, r = b.right
            if len[l] == 0 || len[r] == 0 || len[l] + len[r] != b.size { continue }
            len[l] += len[r]
            len[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            tryAdd(prev[l], l)
            tryAdd(l, next[l])
        }
        var i = 0
        while i != -1 {
            let bytes = Array(s[start[i]..<(start[i] + len[i])])
            if let id = vocab[ByteKey(bytes: bytes)] {
                out.append(Int(id))
            } else {
                for b in bytes {
                    let id = byteIDs[Int(b)]
                    if id >= 0 { out.append(Int(id)) } else if let u = unkID { out.append(Int(u)) }
                }
            }
            i = next[i]
        }
    }

    struct Bigram {
        let score: Float
        let left: Int
        let right: Int
        let size: Int

        /// Pops first: higher score, then smaller left index.
        func before(_ o: Bigram) -> Bool {
            score != o.score ? score > o.score : left < o.left
        }
    }

    struct BigramHeap {
        private var items: [Bigram] = []

        mutating func push(_ x: Bigram) {
            items.append(x)
            var i = items.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if !items[i].before(items[p]) { break }
                items.swapAt(i, p)
                i = p
            }
        }

        mutating func pop() -> Bigram? {
            guard let first = items.first else { return nil }
            let last = items.removeLast()
            if items.isEmpty { return first }
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= items.count { break }
                var m = l
                if l + 1 < items.count && items[l + 1].before(items[l]) { m = l + 1 }
                if !items[m].before(items[i]) { break }
                items.swapAt(i, m)
                i = m
            }
            return first
        }
    }
}

// MARK: Pipeline

/// A SentencePiece-style tokenizer's text path: normalizer, pre-tokenizer, model, decoder, and how
/// special tokens interact with the space prefix.
struct SubwordPipeline: Sendable {
    let kind: TokenizerKind
    let normalizer: [NormalizerStep]
    let preTokenizer: [SubwordPreTokenizerStep]
    let model: SubwordModel
    let decoder: [DecoderStep]
    /// llama.cpp only: a space in front of every text fragment (the first, and each one after a
    /// special token), before spaces become "▁".
    let llamaSpacePrefix: Bool

    /// Ids of one text segment (no special tokens inside); `atStart`: it begins the whole text.
    func encodeSegment(_ bytes: ArraySlice<UInt8>, atStart: Bool, afterSpecialOrStart: Bool, into out: inout [Int]) {
        if kind == .llamaSPM {
            var text = Array(bytes)
            if llamaSpacePrefix && afterSpecialOrStart { text.insert(0x20, at: 0) }
            text = replaceAll(text, [0x20], [0xE2, 0x96, 0x81])
            model.encode(text, into: &out)
            return
        }
        let normalized = NormalizerStep.apply(normalizer, to: Array(bytes))
        var pieces = [TextPiece(bytes: normalized, atStart: atStart)]
        for step in preTokenizer { pieces = step.apply(pieces) }
        for p in pieces where !p.bytes.isEmpty { model.encode(p.bytes, into: &out) }
    }
}
