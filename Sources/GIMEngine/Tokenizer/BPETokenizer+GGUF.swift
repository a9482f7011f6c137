extension BPETokenizer {
    /// The tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata: byte-level BPE
    /// (`tokenizer.ggml.model = "gpt2"`) or llama.cpp's SentencePiece tokenizer (`"llama"`, see
    /// `init(llamaSPMMetadata:)`).
    public convenience init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        let modelKey = "tokenizer.ggml.model"
        guard let model = meta[modelKey]?.stringValue else {
            throw TokenizerError.missingMetadata(key: modelKey, expected: "a string")
        }
        if model == "llama" {
            try self.init(llamaSPMMetadata: meta)
            return
        }
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }

        let tokensKey = "tokenizer.ggml.tokens"
        guard let tokens = meta[tokensKey]?.stringArray else {
            throw TokenizerError.missingMetadata(key: tokensKey, expected: "an array of strings")
        }
        let mergesKey = "tokenizer.ggml.merges"
        guard let merges = meta[mergesKey]?.stringArray else {
            throw TokenizerError.missingMetadata(key: mergesKey, expected: "an array of strings")
        }
        let types = try Self.tokenTypes(meta)
        let pre = meta["tokenizer.ggml.pre"]?.stringValue
        // An id outside the vocabulary (some files carry a stale pad id) counts as absent.
        func id(_ key: String) -> Int? {
            guard let v = meta["tokenizer.ggml.\(key)"]?.intValue, v >= 0, v < tokens.count else { return nil }
            return v
        }
        // Llama 3-style vocabularies add BOS unless told otherwise (as llama.cpp does).
        let defaultBOS = pre.flatMap(PreTokenizerKind.named) == .llama3
        try self.init(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: pre,
                      bosID: id("bos_token_id"), eosID: id("eos_token_id"),
                      unkID: id("unknown_token_id"), padID: id("padding_token_id"),
                      addBOS: meta["tokenizer.ggml.add_bos_token"]?.boolValue ?? defaultBOS,
                      addEOS: meta["tokenizer.ggml.add_eos_token"]?.boolValue ?? false)
    }

    static func tokenTypes(_ meta: [String: GGUFValue]) throws -> [Int32]? {
        let typesKey = "tokenizer.ggml.token_type"
        guard let value = meta[typesKey] else { return nil }
        guard let items = value.arrayValue else {
            throw TokenizerError.missingMetadata(key: typesKey, expected: "an array of integers")
        }
        var out: [Int32] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = item.intValue, let t = Int32(exactly: v) else {
                throw TokenizerError.missingMetadata(key: typesKey, expected: "an array of integers")
            }
            out.append(t)
        }
        return out
    }

    /// llama.cpp's SPM tokenizer from `tokenizer.ggml.*`: tokens, scores, token_type (1 normal,
    /// 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte `<0xNN>`), bos/eos/unk/pad ids,
    /// add_bos_token (default true, as llama.cpp), add_eos_token (default false), add_space_prefix
    /// (default true).
    ///
    /// As llama.cpp with special-token parsing on: unknown, control and user-defined tokens written
    /// in the text are matched whole; every other stretch of text gets a space in front when
    /// add_space_prefix is set (the first stretch and each one after a special token), spaces
    /// become "▁", and the characters are merged best score first; a leftover character becomes
    /// its bytes' `<0xNN>` tokens. Where this differs from transformers' GGUF loading, see
    /// scripts/reference/README.md.
    convenience init(llamaSPMMetadata meta: [String: GGUFValue]) throws {
        let tokensKey = "tokenizer.ggml.tokens"
        guard let tokens = meta[tokensKey]?.stringArray else {
            throw TokenizerError.missingMetadata(key: tokensKey, expected: "an array of strings")
        }
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary }
        let scoresKey = "tokenizer.ggml.scores"
        var scores = [Float](repeating: 0, count: tokens.count)
        if let value = meta[scoresKey] {
            guard let items = value.arrayValue, items.count == tokens.count else {
                throw TokenizerError.missingMetadata(key: scoresKey, expected: "an array of \(tokens.count) numbers")
            }
            for (i, item) in items.enumerated() {
                guard let v = item.doubleValue else {
                    throw TokenizerError.missingMetadata(key: scoresKey, expected: "an array of numbers")
                }
                scores[i] = Float(v)
            }
        } else {
            throw TokenizerError.missingMetadata(key: scoresKey, expected: "an array of numbers")
        }
        let types = try Self.tokenTypes(meta) ?? [Int32](repeating: 1, count: tokens.count)
        guard types.count == tokens.count else {
            throw TokenizerError.tokenTypeCountMismatch(tokens: tokens.count, types: types.count)
        }
        func id(_ key: String) -> Int? {
            guard let v = meta["tokenizer.ggml.\(key)"]?.intValue, v >= 0, v < tokens.count else { return nil }
            return v
        }
        var vocab = [ByteKey: Int32](minimumCapacity: tokens.count)
        for (i, t) in tokens.enumerated() { vocab[ByteKey(bytes: Array(t.utf8))] = Int32(i) }  // a later duplicate wins
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let i = vocab[ByteKey(bytes: byteTokenSpelling(UInt8(b)))] {
                byteIDs[b] = i
            } else if b < 0x80, let i = vocab[ByteKey(bytes: [UInt8(b)])] {
                byteIDs[b] = i  // llama.cpp falls back to the byte as a one-character token
            }
        }
        let unk = id("unknown_token_id")
        let spacePrefix = meta["tokenizer.ggml.add_space_prefix"]?.boolValue ?? true
        let model = LlamaSPM(vocab: vocab, scores: scores, byteIDs: byteIDs, unkID: unk.map(Int32.init))
        var decoder: [DecoderStep] = [.replace([0xE2, 0x96, 0x81], [0x20]), .byteFallback, .fuse]
        if spacePrefix { decoder.append(.strip(content: 0x20, start: 1, stop: 0)) }
        let pipeline = SubwordPipeline(kind: .llamaSPM, normalizer: [], preTokenizer: [], model: .llamaSPM(model),
                                       decoder: decoder, llamaSpacePrefix: spacePrefix)
        let special = types.map { $0 == 2 || $0 == 3 || $0 == 4 }
        try self.init(pipeline: pipeline, tokens: tokens, special: special,
                      bosID: id("bos_token_id"), eosID: id("eos_token_id"), unkID: unk, padID: id("padding_token_id"),
                      addBOS: meta["tokenizer.ggml.add_bos_token"]?.boolValue ?? true,
                      addEOS: meta["tokenizer.ggml.add_eos_token"]?.boolValue ?? false, warnings: [])
    }
}
