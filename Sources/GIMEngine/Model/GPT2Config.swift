import Foundation

/// The GELU forms GPT-2 checkpoints use.
public enum GELUForm: String, Sendable, Codable {
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): transformers' "gelu_new", GPT-2's own.
    case tanh
    /// 0.5·x·(1 + erf(x/√2)): "gelu".
    case erf

    /// The form a transformers `activation_function` name stands for, or nil.
    public static func named(_ name: String) -> GELUForm? {
        switch name {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .tanh
        case "gelu": return .erf
        default: return nil
        }
    }
}

/// Hyper-parameters of a GPT-2 decoder. Decodes from a Hugging Face config.json (transformers'
/// `GPT2Config` names and defaults) and encodes back to those names.
public struct GPT2Config: Sendable, Codable, Equatable {
    /// vocab_size
    public var vocabSize: Int
    /// n_positions: rows of the learned position table, the longest prompt.
    public var contextLength: Int
    /// n_embd
    public var dim: Int
    /// n_layer
    public var layers: Int
    /// n_head
    public var heads: Int
    /// n_inner, default 4·n_embd.
    public var ffnDim: Int
    /// layer_norm_epsilon
    public var layerNormEps: Float
    /// activation_function
    public var activation: GELUForm
    /// scale_attn_weights: scores are divided by √headDim.
    public var scaleAttentionWeights: Bool
    /// scale_attn_by_inverse_layer_idx: block l's scores are further divided by l + 1.
    public var scaleAttentionByInverseLayer: Bool
    /// tie_word_embeddings: the output head is `wte`.
    public var tiedOutput: Bool

    public init(vocabSize: Int = 50257, contextLength: Int = 1024, dim: Int = 768, layers: Int = 12, heads: Int = 12,
                ffnDim: Int? = nil, layerNormEps: Float = 1e-5, activation: GELUForm = .tanh,
                scaleAttentionWeights: Bool = true, scaleAttentionByInverseLayer: Bool = false, tiedOutput: Bool = true) {
        self.vocabSize = vocabSize; self.contextLength = contextLength; self.dim = dim; self.layers = layers
        self.heads = heads; self.ffnDim = ffnDim ?? 4 * dim; self.layerNormEps = layerNormEps
        self.activation = activation; self.scaleAttentionWeights = scaleAttentionWeights
        self.scaleAttentionByInverseLayer = scaleAttentionByInverseLayer; self.tiedOutput = tiedOutput
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", contextLength = "n_positions", dim = "n_embd", layers = "n_layer"
        case heads = "n_head", ffnDim = "n_inner", layerNormEps = "layer_norm_epsilon"
        case activation = "activation_function", scaleAttentionWeights = "scale_attn_weights"
        case scaleAttentionByInverseLayer = "scale_attn_by_inverse_layer_idx", tiedOutput = "tie_word_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GPT2Config()
        dim = try c.decodeIfPresent(Int.self, forKey: .dim) ?? d.dim
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? d.contextLength
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? d.layers
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        ffnDim = try c.decodeIfPresent(Int.self, forKey: .ffnDim) ?? 4 * dim
        layerNormEps = Float(try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? 1e-5)
        let act = try c.decodeIfPresent(String.self, forKey: .activation) ?? "gelu_new"
        guard let form = GELUForm.named(act) else {
            throw ModelError.unsupportedArchitecture("GPT-2 activation_function \"\(act)\" (supported: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu)")
        }
        activation = form
        scaleAttentionWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionWeights) ?? true
        scaleAttentionByInverseLayer = try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionByInverseLayer) ?? false
        tiedOutput = try c.decodeIfPresent(Bool.self, forKey: .tiedOutput) ?? true
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(dim, forKey: .dim)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(ffnDim, forKey: .ffnDim)
        try c.encode(Double("\(layerNormEps)") ?? Double(layerNormEps), forKey: .layerNormEps)
        try c.encode(activation == .tanh ? "gelu_new" : "gelu", forKey: .activation)
        try c.encode(scaleAttentionWeights, forKey: .scaleAttentionWeights)
        try c.encode(scaleAttentionByInverseLayer, forKey: .scaleAttentionByInverseLayer)
        try c.encode(tiedOutput, forKey: .tiedOutput)
    }

    public var headDim: Int { dim / heads }

    /// The factor multiplying q·k in block `layer`.
    public func attentionScale(layer: Int) -> Float {
        var s: Float = scaleAttentionWeights ? 1 / Float(headDim).squareRoot() : 1
        if scaleAttentionByInverseLayer { s /= Float(layer + 1) }
        return s
    }

    /// Number of parameters (for FLOP counts and `gim info`).
    public var parameterCount: Int {
        let norms: Int = 4 * dim
        let attention: Int = 4 * dim * dim + 4 * dim
        let mlp: Int = 2 * ffnDim * dim + ffnDim + dim
        let perLayer: Int = norms + attention + mlp
        let embeddings: Int = vocabSize * dim * (tiedOutput ? 1 : 2) + contextLength * dim
        return embeddings + 2 * dim + layers * perLayer
    }

    /// Throws a message naming the first inconsistent field.
    public func validate() throws {
        func bad(_ s: String) -> ModelError { ModelError.invalidConfig(s) }
        guard vocabSize > 0, dim > 0, layers > 0, heads > 0, ffnDim > 0, contextLength > 0 else {
            throw bad("every size must be positive: \(self)")
        }
        guard dim % heads == 0 else { throw bad("n_embd \(dim) is not a multiple of n_head \(heads)") }
        guard layerNormEps > 0, layerNormEps.isFinite else { throw bad("layer_norm_epsilon \(layerNormEps) must be positive") }
        guard dim <= 1 << 16, ffnDim <= 1 << 18, layers <= 1024, vocabSize <= 1 << 22, heads <= 1024,
              contextLength <= 1 << 20 else {
            throw bad("sizes are implausibly large: \(self)")
        }
    }
}
