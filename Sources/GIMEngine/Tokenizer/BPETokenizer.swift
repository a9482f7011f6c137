import Foundation

/// Byte-level BPE, as GPT-2, SmolLM, Llama 3 and Qwen use it, matching Hugging Face `tokenizers`:
///
/// 1. special (control and user-defined) tokens written in the text are matched first, whole;
/// 2. the rest is split into pieces by the model's pre-tokenizer (`PreTokenizer`);
/// 3. each piece's UTF-8 bytes start as one symbol per byte (the byte's token in GPT-2's byte
///    alphabet, see `ByteUnicodeTable`) and are merged by merge rank (`BPEMerger`).
///
/// A byte with no token of its own (SmolLM2 has none for six control bytes and for the lead
/// bytes of scalars U+40000…U+BFFFF) is dropped, as Hugging Face does without an unk token.
///
/// The same type also runs the SentencePiece-style kinds (`kind`, see `TokenizerKind` and
/// `SubwordPipeline`): SentencePiece BPE and Unigram from tokenizer.json (Llama 2, Mistral, Phi-3,
/// Gemma, T5) and llama.cpp's SPM tokenizer for GGUF `tokenizer.ggml.model = "llama"`. Both
/// `init(gguf:)` and `init(tokenizerJSONFile:hints:)` pick the kind from the file.
///
/// Encoding is safe from several threads at once (the piece cache is behind a lock).
/// `@unchecked Sendable`: `cache` is the only mutable property and is read and written only
/// while `cacheLock` is held (`encodePiece`); everything else is a constant set in `init`.
public final class BPETokenizer: @unchecked Sendable {
    /// The algorithm: byte-level BPE (everything described above), or a SentencePiece-style
    /// pipeline (`SubwordPipeline`) for SentencePiece BPE, Unigram and llama.cpp's SPM.
    public let kind: TokenizerKind
    public let bosID: Int?
    public let eosID: Int?
    public let unkID: Int?
    public let padID: Int?
    public let addBOS: Bool
    public let addEOS: Bool
    /// Which split the pieces follow (byte-level BPE only; `.gpt2` and unused for the other kinds).
    public let preTokenizerKind: PreTokenizerKind
    /// Problems that did not stop the build, e.g. an unknown pre-tokenizer name.
    public let warnings: [String]

    public var vocabSize: Int { tokens.count }

    let tokens: [String]
    /// Token id -> is a control or user-defined token (matched whole in text, shown as is).
    private let special: [Bool]
    private let vocab: [String: Int32]
    let merger: BPEMerger
    /// Byte -> the id of its single-byte token, or -1.
    private let byteToID: [Int32]
    /// Every token's bytes, back to back; token i is `tokenBytes[byteOffsets[i]..<byteOffsets[i+1]]`.
    private let tokenBytes: [UInt8]
    private let byteOffsets: [Int32]
    private let specials: SpecialTokenSplitter
    private let preTokenizer: PreTokenizer
    /// When set, a piece that is a whole vocabulary entry becomes that token without merging
    /// (Hugging Face `ignore_merges`, which Llama 3 uses). Off for GPT-2-style vocabularies,
    /// where merging decides.
    private let ignoreMerges: Bool
    /// Byte-level only: text between special tokens is put in NFC first (Qwen 2's normalizer).
    let normalizeNFC: Bool
    /// The SentencePiece-style kinds' pipeline (nil for byte-level BPE).
    let pipeline: SubwordPipeline?

    /// Guarded by `cacheLock`.
    private var cache: [PieceKey: [Int32]] = [:]
    private let cacheLock = NSLock()
    private static let cacheLimit = 100_000

    /// - Parameters:
    ///   - tokens: the vocabulary, in GPT-2 byte-alphabet spelling ("Ġthe"); special tokens as text.
    ///   - merges: merge rules "left right", best first.
    ///   - tokenTypes: per token, 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    ///     Control and user-defined tokens are the special ones. When nil, tokens spelled
    ///     `<|…|>` and the bos/eos/unk/pad tokens are taken as control tokens.
    ///   - preTokenizer: a llama.cpp pre-tokenizer name ("smollm", "gpt2", "llama-bpe", "qwen2", …);
    ///     nil means GPT-2. An unknown name falls back to GPT-2 and adds a warning.
    ///   - nfc: put text in Unicode NFC before splitting (a tokenizer.json NFC normalizer, Qwen 2).
    public init(tokens: [String], merges: [String], tokenTypes: [Int32]?, preTokenizer: String?,
                bosID: Int?, eosID: Int?, unkID: Int?, padID: Int?, addBOS: Bool, addEOS: Bool,
                nfc: Bool = false) throws {
        self.kind = .byteLevelBPE
        self.pipeline = nil
        self.normalizeNFC = nfc
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary }
        let n = tokens.count
        if let types = tokenTypes, types.count != n {
            throw TokenizerError.tokenTypeCountMismatch(tokens: n, types: types.count)
        }
        for (name, id) in [("bos", bosID), ("eos", eosID), ("unk", unkID), ("pad", padID)] {
            if let id = id, id < 0 || id >= n {
                throw TokenizerError.specialIDOutOfRange(name: name, id: id, vocabSize: n)
            }
        }
        self.tokens = tokens
        self.bosID = bosID
        self.eosID = eosID
        self.unkID = unkID
        self.padID = padID
        self.addBOS = addBOS
        self.addEOS = addEOS

        var warnings: [String] = []
        let kind: PreTokenizerKind
        if let name = preTokenizer, !name.isEmpty {
            if let known = PreTokenizerKind.named(name) {
                kind = known
            } else {
                kind = .gpt2
                warnings.append("unknown pre-tokenizer \"\(name)\": splitting text with the GPT-2 pattern instead, so token ids may differ from the model's own tokenizer")
            }
        } else {
            kind = .gpt2
        }
        self.preTokenizerKind = kind
        self.preTokenizer = PreTokenizer(kind: kind)
        self.ignoreMerges = kind == .llama3

        // Which tokens are special.
        var special = [Bool](repeating: false, count: n)
        if let types = tokenTypes {
            for i in 0..<n where types[i] == 3 || types[i] == 4 { special[i] = true }
        } else {
            for (i, t) in tokens.enumerated() where t.count > 4 && t.hasPrefix("<|") && t.hasSuffix("|>") {
                special[i] = true
            }
            for id in [bosID, eosID, unkID, padID].compactMap({ $0 }) { special[id] = true }
        }
        self.special = special

        // Vocabulary lookup (a later duplicate spelling wins, as in llama.cpp).
        var vocab = [String: Int32](minimumCapacity: n)
        for (i, t) in tokens.enumerated() { vocab[t] = Int32(i) }
        self.vocab = vocab

        var byteToID = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let spelled = String(Unicode.Scalar(ByteUnicodeTable.byteToScalar[b])!)
            if let id = vocab[spelled], !special[Int(id)] { byteToID[b] = id }
        }
        self.byteToID = byteToID

        self.merger = BPEMerger(table: try Self.mergeTable(merges, vocab: vocab))

        // Token bytes for decoding: special tokens are their text; others are spelled in the
        // byte alphabet (a scalar outside it stands for its own UTF-8 bytes).
        var storage: [UInt8] = []
        storage.reserveCapacity(n * 8)
        var offsets = [Int32](repeating: 0, count: n + 1)
        for i in 0..<n {
            if special[i] {
                storage.append(contentsOf: tokens[i].utf8)
            } else {
                for scalar in tokens[i].unicodeScalars {
                    if let b = ByteUnicodeTable.byte(for: scalar.value) {
                        storage.append(b)
                    } else {
                        storage.append(contentsOf: String(scalar).utf8)
                    }
                }
            }
            offsets[i + 1] = Int32(storage.count)
        }
        self.tokenBytes = storage
        self.byteOffsets = offsets

        self.specials = SpecialTokenSplitter(tokens: (0..<n).filter { special[$0] }.map { (tokens[$0], $0) })
        self.warnings = warnings
    }

    /// Parses "left right" merge rules into the merger's table.
    private static func mergeTable(_ merges: [String], vocab: [String: Int32]) throws -> [UInt64: UInt64] {
        var table = [UInt64: UInt64](minimumCapacity: merges.count)
        for (rank, merge) in merges.enumerated() {
            let utf8 = merge.utf8
            // The separator is the first space after the first byte, so a left part that is
            // itself a space still parses.
            guard !utf8.isEmpty, let space = utf8[utf8.index(after: utf8.startIndex)...].firstIndex(of: 0x20)
            else { throw TokenizerError.malformedMerge(index: rank, merge: merge) }
            let left = String(Substring(merge.utf8[..<space]))
            let right = String(Substring(merge.utf8[utf8.index(after: space)...]))
            guard !right.isEmpty else { throw TokenizerError.malformedMerge(index: rank, merge: merge) }
            guard let a = vocab[left] else {
                throw TokenizerError.mergeUnknownToken(index: rank, merge: merge, token: left)
            }
            guard let b = vocab[right] else {
                throw TokenizerError.mergeUnknownToken(index: rank, merge: merge, token: right)
            }
            let joined = left + right
            guard let m = vocab[joined] else {
                throw TokenizerError.mergeUnknownToken(index: rank, merge: merge, token: joined)
            }
            // A repeated pair keeps its last rank, as Hugging Face's merge map does.
            table[BPEMerger.key(a, b)] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: m))
        }
        return table
    }

    /// A SentencePiece-style tokenizer: `tokens` spelled as the vocabulary has them ("▁the",
    /// "<0x0A>"), `special[i]` for tokens matched whole in text (control, user-defined, added).
    init(pipeline: SubwordPipeline, tokens: [String], special: [Bool],
         bosID: Int?, eosID: Int?, unkID: Int?, padID: Int?, addBOS: Bool, addEOS: Bool, warnings: [String]) throws {
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary }
        let n = tokens.count
        for (name, id) in [("bos", bosID), ("eos", eosID), ("unk", unkID), ("pad", padID)] {
            if let id = id, id < 0 || id >= n {
                throw TokenizerError.specialIDOutOfRange(name: name, id: id, vocabSize: n)
            }
        }
        self.kind = pipeline.kind
        self.pipeline = pipeline
        self.normalizeNFC = false
        self.tokens = tokens
        self.special = special
        self.bosID = bosID
        self.eosID = eosID
        self.unkID = unkID
        self.padID = padID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.preTokenizerKind = .gpt2
        self.preTokenizer = PreTokenizer(kind: .gpt2)
        self.ignoreMerges = false
        self.merger = BPEMerger(table: [:])
        self.byteToID = [Int32](repeating: -1, count: 256)
        var vocab = [String: Int32](minimumCapacity: n)
        for (i, t) in tokens.enumerated() { vocab[t] = Int32(i) }
        self.vocab = vocab
        // What each token reads as: "▁" as a space, `<0xNN>` as its byte, special tokens as written.
        var storage: [UInt8] = []
        var offsets = [Int32](repeating: 0, count: n + 1)
        for i in 0..<n {
            let spelled = Array(tokens[i].utf8)
            if special[i] {
                storage.append(contentsOf: spelled)
            } else if let b = DecoderStep.byteTokenValue(spelled) {
                storage.append(b)
            } else {
                storage.append(contentsOf: replaceAll(spelled, [0xE2, 0x96, 0x81], [0x20]))
            }
            offsets[i + 1] = Int32(storage.count)
        }
        self.tokenBytes = storage
        self.byteOffsets = offsets
        self.specials = SpecialTokenSplitter(tokens: (0..<n).filter { special[$0] }.map { (tokens[$0], $0) })
        self.warnings = warnings
    }

    // MARK: Encoding

    /// Token ids of `text`. Special tokens written in the text are always recognised;
    /// `addSpecialTokens` only controls adding BOS/EOS (when `addBOS`/`addEOS` ask for them).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecialTokens && addBOS, let bos = bosID { out.append(bos) }
        let bytes = Array(text.utf8)
        if let pipeline {
            var afterSpecial = true
            for segment in specials.segments(bytes) {
                switch segment {
                case .special(let id):
                    out.append(id)
                    afterSpecial = true
                case .text(let range):
                    pipeline.encodeSegment(bytes[range], atStart: range.lowerBound == 0,
                                           afterSpecialOrStart: afterSpecial, into: &out)
                    afterSpecial = false
                }
            }
        } else {
            for segment in specials.segments(bytes) {
                switch segment {
                case .special(let id): out.append(id)
                case .text(let range):
                    if normalizeNFC {
                        let nfc = NormalizerStep.apply([.nfc], to: Array(bytes[range]))
                        encodePlain(nfc, 0..<nfc.count, into: &out)
                    } else {
                        encodePlain(bytes, range, into: &out)
                    }
                }
            }
        }
        if addSpecialTokens && addEOS, let eos = eosID { out.append(eos) }
        return out
    }

    /// Pre-tokenizes and merges a byte range that holds no special token.
    private func encodePlain(_ bytes: [UInt8], _ range: Range<Int>, into out: inout [Int]) {
        // Decode scalars (the bytes come from a String, so they are valid UTF-8), remembering
        // where each starts.
        var scalars: [UInt32] = []
        var starts: [Int] = []
        scalars.reserveCapacity(range.count)
        starts.reserveCapacity(range.count + 1)
        var i = range.lowerBound
        while i < range.upperBound {
            let b0 = UInt32(bytes[i])
            starts.append(i)
            if b0 < 0x80 {
                scalars.append(b0)
                i += 1
            } else if b0 < 0xE0 {
                scalars.append((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F))
                i += 2
            } else if b0 < 0xF0 {
                scalars.append((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F))
                i += 3
            } else {
                scalars.append((b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
                               | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F))
                i += 4
            }
        }
        starts.append(range.upperBound)
        let classes = scalars.map { preTokenizer.classify($0) }
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(scalars.count / 2 + 1)
        preTokenizer.split(scalars, classes, in: 0..<scalars.count, into: &pieces)
        for piece in pieces {
            encodePiece(bytes[starts[piece.lowerBound]..<starts[piece.upperBound]], into: &out)
        }
    }

    /// BPE for one piece, through the cache.
    private func encodePiece(_ piece: ArraySlice<UInt8>, into out: inout [Int]) {
        if piece.count == 1 {
            let id = byteToID[Int(piece.first!)]
            if id >= 0 { out.append(Int(id)) }
            return
        }
        let key = PieceKey(bytes: Array(piece))
        cacheLock.lock()
        let cached = cache[key]
        cacheLock.unlock()
        if let ids = cached {
            for id in ids { out.append(Int(id)) }
            return
        }
        let ids = bpe(piece)
        cacheLock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[key] = ids
        cacheLock.unlock()
        for id in ids { out.append(Int(id)) }
    }

    /// Token ids of one piece's bytes, without the cache.
    func bpe(_ piece: ArraySlice<UInt8>) -> [Int32] {
        if ignoreMerges, let id = vocab[ByteUnicodeTable.spell(piece)], !special[Int(id)] { return [id] }
        var symbols = bpeSymbols(piece)
        merger.merge(&symbols)
        return symbols
    }

    /// The unmerged symbols of a piece: one per byte that has a token.
    func bpeSymbols(_ piece: ArraySlice<UInt8>) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.count)
        for b in piece {
            let id = byteToID[Int(b)]
            if id >= 0 { symbols.append(id) }
        }
        return symbols
    }

    // MARK: Decoding

    /// The bytes of the tokens, concatenated (special tokens as their text; for SentencePiece-style
    /// kinds "▁" as a space and `<0xNN>` as its byte, with no decoder step such as a prefix strip).
    /// Ids outside the vocabulary are skipped.
    public func decodeBytes(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            out.append(contentsOf: tokenBytes[Int(byteOffsets[id])..<Int(byteOffsets[id + 1])])
        }
        return out
    }

    /// The text of the tokens. Byte-level BPE: their bytes as UTF-8, each invalid sequence replaced
    /// by U+FFFD. SentencePiece-style kinds: the model's decoder (tokenizer.json's, e.g. "▁" to space,
    /// byte fallback, strip of the prefix space; llama.cpp's for GGUF), special tokens as written.
    public func decode(_ ids: [Int]) -> String {
        if let pipeline {
            let toks = ids.filter { $0 >= 0 && $0 < tokens.count }.map { Array(tokens[$0].utf8) }
            return DecoderStep.decode(toks, pipeline.decoder)
        }
        return String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    /// The vocabulary's own spelling of a token (e.g. "Ġthe"), or "" for an id outside it.
    public func tokenString(_ id: Int) -> String {
        id >= 0 && id < tokens.count ? tokens[id] : ""
    }

    /// What one token reads as: its bytes as UTF-8 text, with bytes that are not a whole UTF-8
    /// sequence (a token can hold part of a character) shown as `<0xE2>`. Special tokens are shown
    /// as written.
    public func displayText(_ id: Int) -> String {
        guard id >= 0 && id < tokens.count else { return "<invalid token \(id)>" }
        if special[id] { return tokens[id] }
        return Self.escapingPartialUTF8(tokenBytes[Int(byteOffsets[id])..<Int(byteOffsets[id + 1])])
    }

    /// The id of the token spelled exactly `forToken` in the vocabulary ("Ġthe", "<|im_end|>").
    public func id(forToken token: String) -> Int? {
        vocab[token].map(Int.init)
    }

    /// Whether the token is a control or user-defined token.
    public func isSpecial(_ id: Int) -> Bool {
        id >= 0 && id < special.count && special[id]
    }

    /// Valid UTF-8 sequences as text, every other byte as `<0xNN>`.
    static func escapingPartialUTF8<C: Collection>(_ bytes: C) -> String where C.Element == UInt8, C.Index == Int {
        var out = ""
        var run = bytes.startIndex  // start of the current run of valid bytes
        var i = bytes.startIndex
        func flush(_ end: Int) {
            if run < end { out += String(decoding: bytes[run..<end], as: UTF8.self) }
        }
        while i < bytes.endIndex {
            let n = validSequenceLength(bytes, at: i)
            if n > 0 {
                i += n
            } else {
                flush(i)
                out += byteEscape(bytes[i])
                i += 1
                run = i
            }
        }
        flush(i)
        return out
    }

    /// `<0xE2>` for byte 0xE2.
    static func byteEscape(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "<0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xF)])>"
    }

    /// Length of the well-formed UTF-8 sequence at `i`, or 0 if there is none.
    static func validSequenceLength<C: Collection>(_ b: C, at i: Int) -> Int where C.Element == UInt8, C.Index == Int {
        let end = b.endIndex
        let b0 = b[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            k < end && b[k] >= lo && b[k] <= hi
        }
        switch b0 {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return cont(i + 1) ? 2 : 0
        case 0xE0: return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0
        case 0xED: return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(i + 1) && cont(i + 2) ? 3 : 0
        case 0xF0: return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF1...0xF3: return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF4: return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0
        default: return 0
        }
    }
}

/// A cache key: one piece's bytes, hashed as a block.
struct PieceKey: Hashable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: PieceKey, b: PieceKey) -> Bool { a.bytes == b.bytes }
}
