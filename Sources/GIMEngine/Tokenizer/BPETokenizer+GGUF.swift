extension BPETokenizer {
    /// The tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata. Only byte-level
    /// BPE (`tokenizer.ggml.model = "gpt2"`) is supported.
    public convenience init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        let modelKey = "tokenizer.ggml.model"
        guard let model = meta[modelKey]?.stringValue else {
            throw TokenizerError.missingMetadata(key: modelKey, expected: "a string")
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
        let typesKey = "tokenizer.ggml.token_type"
        var types: [Int32]?
        if let value = meta[typesKey] {
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
            types = out
        }
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
}
