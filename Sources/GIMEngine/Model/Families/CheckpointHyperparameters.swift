import Foundation

/// A decoder's hyper-parameters as a checkpoint writes them, before a family gives them meaning:
/// read from GGUF metadata (`init(gguf:)`, llama.cpp's keys under the architecture's prefix) or
/// from config.json (`HFDecoderConfig`). nil = the checkpoint does not say.
struct CheckpointHyperparameters {
    /// Where it came from, for messages: "model.gguf" or ".../config.json".
    var path: String
    /// true for GGUF (llama.cpp layout: Llama q/k rows permuted, Gemma norms hold 1 + w).
    var isGGUF: Bool
    var vocabSize: Int
    var dim: Int
    var layers: Int
    var heads: Int
    var kvHeads: Int?
    var headDim: Int?
    var ffnDim: Int
    var rmsEps: Double?
    var contextLength: Int?
    var tiedOutput: Bool
    /// The global RoPE and, where given, the local one (Gemma 3).
    var rope: RoPESpec
    var localRopeBase: Double?
    /// The fraction of each head that is rotated (partial RoPE), 1 = all.
    var rotaryFraction: Double = 1
    /// A scaling this engine does not compute (yarn, longrope, dynamic, ...), refused by name.
    var unsupportedRopeScaling: String?
    var slidingWindow: Int?
    /// config.json's explicit `layer_types` ("sliding_attention" / "full_attention"), if any.
    var layerTypes: [String]?
    /// Qwen 2's `use_sliding_window`.
    var useSlidingWindow: Bool?
    var slidingWindowPattern: Int?
    var attentionSoftcap: Double?
    var finalLogitSoftcap: Double?
    var queryPreAttnScalar: Double?
    /// The activation named by the checkpoint ("silu", "gelu_pytorch_tanh", ...); nil = the family's.
    var activation: String?
    var attentionBias: Bool?
    var mlpBias: Bool = false

    /// [layers] which layers slide, from explicit layer types or `pattern` (every pattern-th layer
    /// is full, as transformers' `(i + 1) % pattern` and llama.cpp's swa pattern both say).
    func slidingLayers(pattern: Int?) throws -> [Bool] {
        // Checked here, before the per-layer list is built (validate() comes later): a negative
        // count cannot make a range, and a huge one would allocate before it is refused.
        guard (1...DecoderConfig.maxLayers).contains(layers) else {
            throw ModelError.invalidConfig("\(path): the layer count (num_hidden_layers / block_count) is \(layers); it must be 1 to \(DecoderConfig.maxLayers)")
        }
        if let types = layerTypes {
            guard types.count == layers else {
                throw ModelError.invalidConfig("\(path): layer_types lists \(types.count) layers, num_hidden_layers is \(layers)")
            }
            return try types.map { t in
                switch t {
                case "sliding_attention": return true
                case "full_attention": return false
                default: throw ModelError.unsupportedArchitecture("\(path): layer type \"\(t)\" is not supported")
                }
            }
        }
        guard let pattern, pattern > 0 else { return [] }
        return (0..<layers).map { ($0 + 1) % pattern != 0 }
    }
}

extension CheckpointHyperparameters {
    /// Reads llama.cpp's `<arch>.*` keys and the tensors that carry configuration
    /// (`rope_freqs.weight`, `output.weight`'s presence).
    init(gguf: GGUFFile, architecture arch: String) throws {
        func int(_ k: String) -> Int? { try? gguf.int("\(arch).\(k)") }
        func double(_ k: String) -> Double? { try? gguf.double("\(arch).\(k)") }
        let dim = try gguf.int("\(arch).embedding_length")
        let heads = try gguf.int("\(arch).attention.head_count")
        let vocab = int("vocab_size")
            ?? gguf.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count
            ?? gguf.tensors["token_embd.weight"].map { $0.dims.count == 2 ? $0.dims[1] : 0 } ?? 0
        var rope = RoPESpec(base: Float(double("rope.freq_base") ?? 10000))
        var unsupported: String?
        let scalingType = (try? gguf.string("\(arch).rope.scaling.type")) ?? "none"
        let factor = double("rope.scaling.factor") ?? 1
        switch scalingType {
        case "none": break
        case "linear": if factor != 1 { rope.scaling = .linear(factor: Float(factor)) }
        default: unsupported = scalingType
        }
        if gguf.tensors["rope_freqs.weight"] != nil {
            // Llama 3's scaling, written by the converter as one divisor per rotated pair.
            rope.scaling = .frequencyFactors(try gguf.floats("rope_freqs.weight"))
        }
        if gguf.tensors["rope_factors_long.weight"] != nil || gguf.tensors["rope_factors_short.weight"] != nil {
            unsupported = "longrope"
        }
        let headDim = int("attention.key_length")
        let rotary = int("rope.dimension_count")
        let hd = headDim ?? (heads > 0 ? dim / heads : 0)
        self.init(path: gguf.path, isGGUF: true, vocabSize: vocab, dim: dim, layers: try gguf.int("\(arch).block_count"),
                  heads: heads, kvHeads: int("attention.head_count_kv"), headDim: headDim,
                  ffnDim: try gguf.int("\(arch).feed_forward_length"),
                  rmsEps: double("attention.layer_norm_rms_epsilon"), contextLength: int("context_length"),
                  tiedOutput: gguf.tensors["output.weight"] == nil, rope: rope,
                  localRopeBase: double("rope.freq_base_swa"),
                  rotaryFraction: rotary.map { hd > 0 ? Double($0) / Double(hd) : 1 } ?? 1,
                  unsupportedRopeScaling: unsupported,
                  // llama.cpp reads a window of 0 as none.
                  slidingWindow: int("attention.sliding_window").flatMap { $0 > 0 ? $0 : nil },
                  layerTypes: nil, useSlidingWindow: nil, slidingWindowPattern: nil,
                  attentionSoftcap: double("attn_logit_softcapping"), finalLogitSoftcap: double("final_logit_softcapping"),
                  queryPreAttnScalar: nil, activation: nil, attentionBias: nil)
        if let experts = int("expert_count"), experts > 0 {
            throw ModelError.unsupportedArchitecture("\(gguf.path): mixture-of-experts (\(experts) experts) is not supported")
        }
    }

    /// The checks every family shares, then the base configuration with its sizes.
    func baseConfig(_ family: DecoderFamily, ropeLayout: RoPELayout) throws -> DecoderConfig {
        func unsupported(_ s: String) -> ModelError { .unsupportedArchitecture("\(path): \(s)") }
        if let s = unsupportedRopeScaling { throw unsupported("RoPE scaling \"\(s)\" is not supported (supported: linear, llama3)") }
        guard rotaryFraction == 1 else { throw unsupported("partial RoPE (\(rotaryFraction) of each head rotated) is not supported") }
        guard !mlpBias else { throw unsupported("MLP biases (mlp_bias true) are not supported") }
        guard heads > 0 else { throw ModelError.invalidConfig("\(path): the head count is \(heads)") }
        var c = DecoderConfig(family: family.rawValue, vocabSize: vocabSize, dim: dim, layers: layers, heads: heads,
                              kvHeads: kvHeads ?? heads, headDim: headDim ?? dim / heads, ffnDim: ffnDim,
                              rmsEps: Float(rmsEps ?? 1e-6), contextLength: contextLength ?? 2048,
                              ropeLayout: ropeLayout, tiedOutput: tiedOutput)
        c.rope = rope
        return c
    }

    /// `validate()` with the file named in the message.
    func validated(_ c: DecoderConfig) throws -> DecoderConfig {
        do { try c.validate() } catch ModelError.invalidConfig(let why) {
            throw ModelError.invalidConfig("\(path): \(why)")
        }
        return c
    }

    /// GGUF Llama-architecture files have q/k rows permuted by llama.cpp's converter, so they
    /// rotate adjacent pairs; every other layout rotates halves.
    func ropeLayout(permutedInGGUF: Bool) -> RoPELayout { isGGUF && permutedInGGUF ? .normal : .neox }
}
