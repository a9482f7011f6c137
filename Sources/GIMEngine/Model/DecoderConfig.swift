/// Hyper-parameters of a pre-norm decoder of the Llama lineage: RMSNorm, rotary positions,
/// grouped-query causal attention, a gated MLP, tied or untied head. Every family the engine
/// runs (Llama 2/3, Mistral, Qwen 2/3, Gemma 1/2/3, Phi-3, SmolLM) is this block with some of
/// the switches below turned on; the per-family files (`Model/Families/`) read a checkpoint's
/// configuration into it, and the forward and backward honour each switch in one place.
public struct DecoderConfig: Sendable, Codable, Equatable {
    /// The family's name as checkpoints spell it ("llama", "qwen2", "gemma2", ...), for display.
    public var family: String
    public var vocabSize: Int
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffnDim: Int
    public var rmsEps: Float
    public var contextLength: Int
    public var ropeLayout: RoPELayout
    /// The output head reuses the token embedding matrix.
    public var tiedOutput: Bool

    /// Rotary positions of full-attention layers (every layer unless `localRope` is set).
    public var rope: RoPESpec
    /// Rotary positions of sliding-window layers when they differ (Gemma 3: base 10000 locally).
    public var localRope: RoPESpec?
    /// Keys a query sees on a sliding-window layer, itself included (`i − W < j ≤ i`); nil = none.
    public var slidingWindow: Int?
    /// Which layers use the sliding window ([layers]; empty = every layer when a window is set).
    public var slidingLayers: [Bool]

    /// The gated MLP's activation: act(gate) ⊙ up.
    public var activation: GatedActivation
    /// q, k and v projections carry biases (Qwen 2).
    public var qkvBias: Bool
    /// Per-head RMSNorm over headDim on q and k before RoPE (Qwen 3, Gemma 3).
    public var qkNorm: Bool
    /// RMSNorm on the attention output and on the MLP output before each residual add (Gemma 2/3).
    public var postNorms: Bool
    /// The embedding rows are multiplied by this before the first block (Gemma: √dim); the
    /// attributed `e` is the row before it.
    public var embeddingScale: Float
    /// Multiplies q·kᵀ (1/√headDim, or Gemma's query_pre_attn_scalar^−½).
    public var attentionScale: Float
    /// Attention scores become tanh(s/c)·c before the mask (Gemma 2); nil = none.
    public var attentionSoftcap: Float?
    /// Logits become tanh(l/c)·c (Gemma 2); the explained logit is the capped one. nil = none.
    public var finalLogitSoftcap: Float?

    public init(family: String = "llama", vocabSize: Int, dim: Int, layers: Int, heads: Int, kvHeads: Int,
                headDim: Int, ffnDim: Int, ropeBase: Float = 10000, rmsEps: Float = 1e-5,
                contextLength: Int = 2048, ropeLayout: RoPELayout = .normal, tiedOutput: Bool = true) {
        self.family = family
        self.vocabSize = vocabSize; self.dim = dim; self.layers = layers; self.heads = heads
        self.kvHeads = kvHeads; self.headDim = headDim; self.ffnDim = ffnDim
        self.rmsEps = rmsEps; self.contextLength = contextLength; self.ropeLayout = ropeLayout
        self.tiedOutput = tiedOutput
        rope = RoPESpec(base: ropeBase)
        localRope = nil
        slidingWindow = nil
        slidingLayers = []
        activation = .silu
        qkvBias = false
        qkNorm = false
        postNorms = false
        embeddingScale = 1
        attentionScale = 1 / Float(headDim).squareRoot()
        attentionSoftcap = nil
        finalLogitSoftcap = nil
    }

    /// Width of the fused q|k|v projection: heads·headDim + 2·kvHeads·headDim.
    public var qkvDim: Int { (heads + 2 * kvHeads) * headDim }
    /// Width of the attention output before `attn_output`: heads·headDim.
    public var attnDim: Int { heads * headDim }
    /// Query heads that share one key/value head.
    public var groupSize: Int { heads / kvHeads }
    /// The RoPE base of full-attention layers (the only one for most families).
    public var ropeBase: Float { rope.base }

    /// The sliding window of layer `l`, nil when it attends to every earlier position.
    public func window(layer l: Int) -> Int? {
        guard let w = slidingWindow else { return nil }
        return slidingLayers.isEmpty || slidingLayers[l] ? w : nil
    }

    /// The rotary positions of layer `l`.
    public func rope(layer l: Int) -> RoPESpec {
        if let localRope, window(layer: l) != nil { return localRope }
        return rope
    }

    /// What this configuration has beyond the plain Llama block, for `gim info` and messages
    /// (empty for Llama/SmolLM without RoPE scaling).
    public var features: [String] {
        var f: [String] = []
        switch rope.scaling {
        case .none: break
        case .linear(let x): f.append("RoPE linear scaling ×\(x)")
        case .llama3(let x, let lo, let hi, let orig): f.append("RoPE llama3 scaling ×\(x) (low \(lo), high \(hi), original context \(orig))")
        case .frequencyFactors: f.append("RoPE frequency factors (rope_freqs)")
        }
        if let local = localRope { f.append("local RoPE base \(local.base)") }
        if let w = slidingWindow {
            let n = slidingLayers.isEmpty ? layers : slidingLayers.filter { $0 }.count
            f.append("sliding window \(w) on \(n) of \(layers) layers")
        }
        if activation == .geluTanh { f.append("GeGLU (tanh GELU)") }
        if qkvBias { f.append("q/k/v biases") }
        if qkNorm { f.append("q/k norms") }
        if postNorms { f.append("post-attention and post-feed-forward norms") }
        if embeddingScale != 1 { f.append("embeddings ×\(embeddingScale)") }
        if abs(attentionScale - 1 / Float(headDim).squareRoot()) > 1e-7 { f.append("attention scale \(attentionScale)") }
        if let c = attentionSoftcap { f.append("attention soft-cap \(c)") }
        if let c = finalLogitSoftcap { f.append("final logit soft-cap \(c)") }
        return f
    }

    /// Number of parameters (for FLOP counts and `gim info`).
    public var parameterCount: Int {
        var perLayer = 2 * dim + qkvDim * dim + dim * attnDim + 3 * ffnDim * dim
        if qkvBias { perLayer += qkvDim }
        if qkNorm { perLayer += 2 * headDim }
        if postNorms { perLayer += 2 * dim }
        return vocabSize * dim * (tiedOutput ? 1 : 2) + dim + layers * perLayer
    }

    /// The most layers a configuration may have.
    public static let maxLayers = 1024

    /// Throws a message naming the first inconsistent field.
    public func validate() throws {
        func bad(_ s: String) -> ModelError { ModelError.invalidConfig(s) }
        guard vocabSize > 0, dim > 0, layers > 0, heads > 0, kvHeads > 0, headDim > 0, ffnDim > 0 else {
            throw bad("every size must be positive: \(self)")
        }
        guard heads % kvHeads == 0 else { throw bad("head count \(heads) is not a multiple of the KV head count \(kvHeads)") }
        guard headDim % 2 == 0 else { throw bad("head size \(headDim) must be even for RoPE") }
        guard rmsEps > 0, rmsEps.isFinite else { throw bad("RMS epsilon \(rmsEps) must be positive") }
        for spec in [rope] + (localRope.map { [$0] } ?? []) { try spec.validate(headDim: headDim) }
        guard contextLength > 0 else { throw bad("context length \(contextLength) must be positive") }
        guard dim <= 1 << 16, ffnDim <= 1 << 18, layers <= Self.maxLayers, vocabSize <= 1 << 22, heads <= 1024, headDim <= 1024 else {
            throw bad("sizes are implausibly large: \(self)")
        }
        if let w = slidingWindow, w < 1 { throw bad("sliding window \(w) must be at least 1") }
        guard slidingLayers.isEmpty || slidingLayers.count == layers else {
            throw bad("\(slidingLayers.count) layer types given for \(layers) layers")
        }
        guard embeddingScale.isFinite, embeddingScale > 0 else { throw bad("embedding scale \(embeddingScale) must be positive") }
        guard attentionScale.isFinite, attentionScale > 0 else { throw bad("attention scale \(attentionScale) must be positive") }
        for (name, cap) in [("attention", attentionSoftcap), ("final logit", finalLogitSoftcap)] {
            if let cap, !(cap.isFinite && cap > 0) { throw bad("\(name) soft-cap \(cap) must be positive") }
        }
    }
}

extension DecoderConfig {
    /// Floats one layer's `DecoderLayerCache` holds per row.
    var layerFloatsPerRow: Int {
        let c = self
        var perRow = 2 * c.dim + c.qkvDim + c.attnDim + 2 * c.ffnDim + 2      // xIn, xMid, qkv, ctx, gate|up, 1/rms ×2
        if c.qkNorm { perRow += (c.heads + c.kvHeads) * (c.headDim + 1) }
        if c.postNorms { perRow += 2 * c.dim + 2 }
        return perRow
    }

    /// Bytes every layer's activations take for `t` tokens when all are kept.
    func keptBytes(tokens t: Int) -> Int { 4 * t * layers * layerFloatsPerRow }

    /// Bytes a forward pass keeps and a backward needs for `t` tokens (activations and scratch,
    /// not weights): linear in t, since the attention keeps nothing [T, T]; with checkpointing,
    /// each layer's input plus one layer's activations.
    public func activationBytes(tokens t: Int) -> Int {
        let c = self
        let perRowKept = keptBytes(tokens: t) > DecoderModel.keptActivationBudget
            ? c.layers * LayerCheckpoint.floatsPerRow(c) + c.dim + 2 * layerFloatsPerRow  // checkpoints, layer 0's input, the replay's two layers
            : c.layers * layerFloatsPerRow
        let kept = perRowKept + 3 * c.dim + 1                                 // + e, xOut, hidden
        let backward = 2 * c.dim + 3 * c.ffnDim + c.attnDim + c.qkvDim + 2 * c.heads * c.headDim + (c.postNorms ? c.dim : 0)
        let forwardScratch = c.dim + c.ffnDim
        let attention = CausalAttention(heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, scale: 1)
        let stripes = attention.backwardScratchFloats(tokens: t) * Parallel.threads + 2 * Parallel.threads * t * c.headDim
        // The attention kernels' packed keys: the forward's (keys) and the backward's (keys and values).
        let packed = 3 * c.kvHeads * attention.panelFloats(keys: t)
        return 4 * (t * (kept + backward + forwardScratch) + stripes + packed)
    }

}

/// The activation of a gated MLP, `down(act(gate) ⊙ up)`.
public enum GatedActivation: String, Sendable, Codable {
    /// SwiGLU: silu(g) = g·σ(g) (Llama, Qwen, Mistral, Phi-3).
    case silu
    /// GeGLU with the tanh approximation of GELU (Gemma's gelu_pytorch_tanh).
    case geluTanh
}

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case unsupportedArchitecture(String)
    case shapeMismatch(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid model configuration: \(s)"
        case .unsupportedArchitecture(let s): return "unsupported model architecture: \(s)"
        case .shapeMismatch(let s): return "tensor shape mismatch: \(s)"
        case .badInput(let s): return s
        }
    }
}
