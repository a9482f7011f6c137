import Foundation

/// Writes a Llama-family GGUF model as a Hugging Face model folder that transformers and
/// `ModelBundle.load` both open:
/// - `config.json` (LlamaForCausalLM),
/// - `model.safetensors` (every tensor dequantized to F32, Hugging Face names),
/// - `tokenizer.json` (vocab, merges, the pre-tokenizer the GGUF names, control tokens as added
///   special tokens, BOS through a TemplateProcessing post-processor when the GGUF adds it),
/// - `tokenizer_config.json` (special-token strings, so transformers' AutoTokenizer agrees).
///
/// llama.cpp's converter permuted the rows of attn_q / attn_k of every head so that adjacent
/// pairs rotate together ("normal" RoPE): GGUF row 2i+j of a head is Hugging Face row
/// j·headDim/2 + i (j = 0, 1; i < headDim/2). The export inverts that, giving the rotate-half
/// ("neox") row order that Hugging Face checkpoints use.
public enum HFFolderExport {
    public struct Summary: Sendable {
        public let directory: String
        public let name: String
        public let config: DecoderConfig
        public let tensorCount: Int
        public let safetensorsBytes: Int
        public let vocabSize: Int
        public let mergeCount: Int
        public let seconds: Double
    }

    public static let writtenFiles = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]

    /// Converts the GGUF at `ggufPath` into `directory` (created if needed). An existing folder
    /// must be empty unless `overwrite`, which replaces only the files listed in `writtenFiles`.
    @discardableResult
    public static func writeLlama(ggufPath: String, to directory: String, overwrite: Bool = false) throws -> Summary {
        let start = DispatchTime.now()
        let gguf = try GGUFFile(path: ggufPath)
        let tokenizer = try BPETokenizer(gguf: gguf)
        guard tokenizer.kind == .byteLevelBPE else {
            throw ModelError.unsupportedArchitecture("\(ggufPath): gim convert writes byte-level BPE tokenizers only; this file's tokenizer is \(tokenizer.kind.rawValue) (tokenizer.ggml.model \"\(gguf.metadata["tokenizer.ggml.model"]?.stringValue ?? "?")\")")
        }
        let weights = try DecoderWeights(gguf: gguf)
        let c = weights.config
        guard c.family == "llama", c.features.isEmpty else {
            throw ModelError.unsupportedArchitecture("\(ggufPath): gim convert writes Llama folders only; this file is \(c.family)\(c.features.isEmpty ? "" : " with " + c.features.joined(separator: ", "))")
        }
        let name = gguf.metadata["general.name"]?.stringValue ?? URL(fileURLWithPath: ggufPath).deletingPathExtension().lastPathComponent

        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ModelFolderError(path: directory, "exists and is not a folder") }
            let existing = try fm.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }
            if !existing.isEmpty && !overwrite {
                throw ModelFolderError(path: directory, "the folder is not empty (\(existing.count) entries); choose an empty or new folder, or allow overwriting (gim convert --force)")
            }
            if overwrite {
                // Old shards would shadow the new model.safetensors.
                for f in existing where f == SafeTensorsFolder.indexFile || (f.hasPrefix("model-") && f.hasSuffix(".safetensors")) {
                    try fm.removeItem(atPath: URL(fileURLWithPath: directory).appendingPathComponent(f).path)
                }
            }
        } else {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let dir = URL(fileURLWithPath: directory)

        // Tensors.
        // The tensors point into these file-layout copies of the blocks: keep them alive until written.
        let layers = weights.layers
        let embedding = weights.tokenEmbedding.float32(), head = weights.output.float32()
        let tensors = safetensors(weights, layers: layers, embedding: embedding, head: head)
        let stPath = dir.appendingPathComponent("model.safetensors").path
        try withExtendedLifetime((layers, embedding, head)) {
            try SafeTensorsWriter.writeF32(path: stPath, tensors: tensors,
                                           metadata: ["format": "pt", "source": "gim convert from \(URL(fileURLWithPath: ggufPath).lastPathComponent)"])
        }

        // config.json
        let meta = gguf.metadata
        func metaID(_ key: String) -> Int? {
            guard let v = meta["tokenizer.ggml.\(key)"]?.intValue, v >= 0, v < c.vocabSize else { return nil }
            return v
        }
        try write(configJSON(c, name: name, bos: metaID("bos_token_id"), eos: metaID("eos_token_id"),
                             pad: metaID("padding_token_id")), to: dir.appendingPathComponent("config.json"))

        // tokenizer.json and tokenizer_config.json
        let types = meta["tokenizer.ggml.token_type"]?.arrayValue?.map { Int32($0.intValue ?? 1) }
        let tokens = meta["tokenizer.ggml.tokens"]?.stringArray ?? []
        let merges = meta["tokenizer.ggml.merges"]?.stringArray ?? []
        try write(tokenizerJSON(tokenizer, tokens: tokens, types: types, merges: merges),
                  to: dir.appendingPathComponent("tokenizer.json"))
        try write(tokenizerConfigJSON(tokenizer, contextLength: c.contextLength),
                  to: dir.appendingPathComponent("tokenizer_config.json"))

        let bytes = ((try? fm.attributesOfItem(atPath: stPath))?[.size] as? Int) ?? 0
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Summary(directory: directory, name: name, config: c, tensorCount: tensors.count,
                       safetensorsBytes: bytes, vocabSize: tokens.count, mergeCount: merges.count, seconds: seconds)
    }

    private static func write(_ json: JSONText, to url: URL) throws {
        do { try Data(json.render().utf8).write(to: url) } catch {
            throw ModelFolderError(path: url.path, "cannot write: \(error.localizedDescription)")
        }
    }

    // MARK: Tensors

    /// The model's tensors under Hugging Face names, q/k rows in rotate-half order. `layers` is
    /// `w.layers` (the file layout) and `embedding`/`head` the Float32 embedding and head, which the
    /// returned tensors point into: the caller keeps them alive.
    static func safetensors(_ w: DecoderWeights, layers: [DecoderLayerWeights], embedding: FloatBuffer,
                            head: FloatBuffer) -> [SafeTensorsWriter.Tensor] {
        let c = w.config, d = c.dim, f = c.ffnDim, hd = c.headDim, kv = c.kvHeads * hd
        var out: [SafeTensorsWriter.Tensor] = []
        out.append(.init(name: "model.embed_tokens.weight", shape: [c.vocabSize, d], from: embedding.pointer))
        out.append(.init(name: "model.norm.weight", shape: [d], from: w.outputNorm.pointer))
        if !c.tiedOutput {
            out.append(.init(name: "lm_head.weight", shape: [c.vocabSize, d], from: head.pointer))
        }
        /// Rows of `heads` heads starting at `source`, each head's rows reordered to rotate-half.
        func rotateHalfRows(_ source: UnsafePointer<Float>, heads: Int) -> (UnsafeMutableBufferPointer<Float>) -> Void {
            let layout = c.ropeLayout
            return { dst in
                let half = hd / 2
                for h in 0..<heads {
                    for j in 0..<2 {
                        for i in 0..<half {
                            let hfRow = h * hd + j * half + i
                            let srcRow = layout == .normal ? h * hd + 2 * i + j : hfRow
                            (dst.baseAddress! + hfRow * d).update(from: source + srcRow * d, count: d)
                        }
                    }
                }
            }
        }
        for (i, l) in layers.enumerated() {
            let p = "model.layers.\(i)."
            let q = UnsafePointer(l.wqkv.pointer), k = q + c.attnDim * d, v = k + kv * d
            out.append(.init(name: p + "input_layernorm.weight", shape: [d], from: l.attnNorm.pointer))
            out.append(.init(name: p + "self_attn.q_proj.weight", shape: [c.attnDim, d], fill: rotateHalfRows(q, heads: c.heads)))
            out.append(.init(name: p + "self_attn.k_proj.weight", shape: [kv, d], fill: rotateHalfRows(k, heads: c.kvHeads)))
            out.append(.init(name: p + "self_attn.v_proj.weight", shape: [kv, d], from: v))
            out.append(.init(name: p + "self_attn.o_proj.weight", shape: [d, c.attnDim], from: l.wo.pointer))
            out.append(.init(name: p + "post_attention_layernorm.weight", shape: [d], from: l.ffnNorm.pointer))
            out.append(.init(name: p + "mlp.gate_proj.weight", shape: [f, d], from: l.wGateUp.pointer))
            out.append(.init(name: p + "mlp.up_proj.weight", shape: [f, d], from: l.wGateUp.pointer + f * d))
            out.append(.init(name: p + "mlp.down_proj.weight", shape: [d, f], from: l.wDown.pointer))
        }
        return out
    }

    // MARK: JSON files

    static func configJSON(_ c: DecoderConfig, name: String, bos: Int?, eos: Int?, pad: Int?) -> JSONText {
        func id(_ v: Int?) -> JSONText { v.map { .int($0) } ?? .null }
        return .object([
            ("_name_or_path", .string(name)),
            ("architectures", .array([.string("LlamaForCausalLM")])),
            ("attention_bias", .bool(false)),
            ("attention_dropout", .number(0)),
            ("bos_token_id", id(bos)),
            ("dtype", .string("float32")),
            ("eos_token_id", id(eos)),
            ("head_dim", .int(c.headDim)),
            ("hidden_act", .string("silu")),
            ("hidden_size", .int(c.dim)),
            ("intermediate_size", .int(c.ffnDim)),
            ("max_position_embeddings", .int(c.contextLength)),
            ("mlp_bias", .bool(false)),
            ("model_type", .string("llama")),
            ("num_attention_heads", .int(c.heads)),
            ("num_hidden_layers", .int(c.layers)),
            ("num_key_value_heads", .int(c.kvHeads)),
            ("pad_token_id", id(pad)),
            ("rms_norm_eps", .float(c.rmsEps)),
            ("rope_parameters", .object([("rope_theta", .float(c.ropeBase)), ("rope_type", .string("default"))])),
            ("rope_theta", .float(c.ropeBase)),
            ("tie_word_embeddings", .bool(c.tiedOutput)),
            ("vocab_size", .int(c.vocabSize)),
        ])
    }

    /// The pre_tokenizer object for a kind (see `BPETokenizer.init(tokenizerJSON:)` for the reverse).
    static func preTokenizerJSON(_ kind: PreTokenizerKind) -> JSONText {
        let byteLevel = { (regex: Bool) -> JSONText in
            .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)),
                     ("trim_offsets", .bool(true)), ("use_regex", .bool(regex))])
        }
        switch kind {
        case .gpt2:
            return byteLevel(true)
        case .digitsThenGPT2:
            return .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Digits")), ("individual_digits", .bool(true))]), byteLevel(true)]))])
        case .llama3, .qwen2, .qwen35:
            let split: JSONText = .object([
                ("type", .string("Split")), ("pattern", .object([("Regex", .string(BPETokenizer.splitPattern(kind)!))])),
                ("behavior", .string("Isolated")), ("invert", .bool(false))])
            return .object([("type", .string("Sequence")), ("pretokenizers", .array([split, byteLevel(false)]))])
        }
    }

    static func tokenizerJSON(_ tok: BPETokenizer, tokens: [String], types: [Int32]?, merges: [String]) -> JSONText {
        let n = tokens.count
        func type(_ i: Int) -> Int32 { types.flatMap { i < $0.count ? $0[i] : nil } ?? 1 }
        var added: [JSONText] = []
        for i in 0..<n where type(i) == 3 || type(i) == 4 {
            added.append(.object([("id", .int(i)), ("content", .string(tokens[i])), ("single_word", .bool(false)),
                                  ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(type(i) == 4)),
                                  ("special", .bool(type(i) == 3))]))
        }
        var seen = Set<String>()
        var vocab: [(String, JSONText)] = []
        vocab.reserveCapacity(n)
        for (i, t) in tokens.enumerated() where seen.insert(t).inserted { vocab.append((t, .int(i))) }

        // Post-processor: BOS / EOS as the GGUF asks, else ByteLevel (offsets only).
        let post: JSONText
        if (tok.addBOS && tok.bosID != nil) || (tok.addEOS && tok.eosID != nil) {
            func special(_ id: Int) -> JSONText { .object([("SpecialToken", .object([("id", .string(tokens[id])), ("type_id", .int(0))]))]) }
            func seq(_ s: String) -> JSONText { .object([("Sequence", .object([("id", .string(s)), ("type_id", .int(0))]))]) }
            let bos = tok.addBOS ? tok.bosID : nil, eos = tok.addEOS ? tok.eosID : nil
            /// [BOS] $X [EOS]
            func wrap(_ s: String) -> [JSONText] { (bos.map { [special($0)] } ?? []) + [seq(s)] + (eos.map { [special($0)] } ?? []) }
            let single = wrap("A"), pair = wrap("A") + wrap("B")
            var specials: [(String, JSONText)] = []
            for id in Set([bos, eos].compactMap { $0 }).sorted() {
                specials.append((tokens[id], .object([("id", .string(tokens[id])), ("ids", .array([.int(id)])),
                                                      ("tokens", .array([.string(tokens[id])]))])))
            }
            post = .object([("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(pair)),
                            ("special_tokens", .object(specials))])
        } else {
            post = .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)),
                            ("trim_offsets", .bool(false)), ("use_regex", .bool(true))])
        }
        let model: JSONText = .object([
            ("type", .string("BPE")), ("dropout", .null),
            // No unk token in the model: a byte without a token of its own is dropped, as the GGUF
            // tokenizer does (with one, Python tokenizers would emit it instead). The unk id stays
            // in tokenizer_config.json.
            ("unk_token", .null),
            ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)),
            ("byte_fallback", .bool(false)), ("ignore_merges", .bool(tok.preTokenizerKind == .llama3)),
            ("vocab", .object(vocab)), ("merges", .array(merges.map { .string($0) })),
        ])
        return .object([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null),
            ("added_tokens", .array(added)), ("normalizer", .null),
            ("pre_tokenizer", preTokenizerJSON(tok.preTokenizerKind)), ("post_processor", post),
            ("decoder", .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)),
                                 ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])),
            ("model", model),
        ])
    }

    static func tokenizerConfigJSON(_ tok: BPETokenizer, contextLength: Int) -> JSONText {
        func token(_ id: Int?) -> JSONText { id.map { .string(tok.tokenString($0)) } ?? .null }
        return .object([
            ("add_bos_token", .bool(tok.addBOS)), ("add_eos_token", .bool(tok.addEOS)),
            ("bos_token", token(tok.bosID)), ("clean_up_tokenization_spaces", .bool(false)),
            ("eos_token", token(tok.eosID)), ("model_max_length", .int(contextLength)),
            ("pad_token", token(tok.padID)), ("tokenizer_class", .string("PreTrainedTokenizerFast")),
            ("unk_token", token(tok.unkID)),
        ])
    }
}
