/// What the forward pass of one decoder block keeps for the backward pass.
/// T = prompt length; D = dim; F = ffnDim; H = heads.
public final class LlamaLayerCache: @unchecked Sendable {
    /// [T, D] residual stream entering the block (input of attn_norm).
    public let xIn: FloatBuffer
    /// [T] 1/rms of each row of xIn.
    public let invRms1: FloatBuffer
    /// [T, qkvDim] per row: q (H heads, after RoPE) | k (kvHeads, after RoPE) | v (kvHeads).
    public let qkv: FloatBuffer
    /// [H, T, T] attention scores q·k/√headDim; entries above the diagonal are unused (causal).
    public let scores: FloatBuffer
    /// [H, T, T] forward attention probabilities softmax(scores), zero above the diagonal.
    public let probs: FloatBuffer
    /// [T, H·headDim] attention output per head, the input of attn_output.
    public let ctx: FloatBuffer
    /// [T, D] residual stream after the attention block (input of ffn_norm).
    public let xMid: FloatBuffer
    /// [T] 1/rms of each row of xMid.
    public let invRms2: FloatBuffer
    /// [T, 2F] per row: the gate projection (before SiLU) | the up projection.
    public let gateUp: FloatBuffer

    init(_ c: LlamaConfig, tokens t: Int) {
        xIn = FloatBuffer(count: t * c.dim)
        invRms1 = FloatBuffer(count: t)
        qkv = FloatBuffer(count: t * c.qkvDim)
        scores = FloatBuffer(count: c.heads * t * t)
        probs = FloatBuffer(count: c.heads * t * t)
        ctx = FloatBuffer(count: t * c.attnDim)
        xMid = FloatBuffer(count: t * c.dim)
        invRms2 = FloatBuffer(count: t)
        gateUp = FloatBuffer(count: t * 2 * c.ffnDim)
    }
}

/// The forward pass of one prompt, with every activation the GIM backward needs.
/// A knob change or a new target reuses it: only the backward runs again.
public final class LlamaForwardCache: ForwardPass, @unchecked Sendable {
    public let config: LlamaConfig
    public let tokens: [Int]
    /// [T, D] token embedding rows: the `e` of the attribution (before anything else in the model).
    public let embeddings: FloatBuffer
    public let layers: [LlamaLayerCache]
    /// [T, D] residual stream after the last block (input of output_norm).
    public let xOut: FloatBuffer
    /// [T] 1/rms of each row of xOut.
    public let invRmsOut: FloatBuffer
    /// [T, D] normalized final hidden states; logits at position p are output · hidden[p].
    public let hidden: FloatBuffer
    let rope: RoPETable

    init(config c: LlamaConfig, tokens: [Int]) {
        config = c
        self.tokens = tokens
        let t = tokens.count
        embeddings = FloatBuffer(count: t * c.dim)
        layers = (0..<c.layers).map { _ in LlamaLayerCache(c, tokens: t) }
        xOut = FloatBuffer(count: t * c.dim)
        invRmsOut = FloatBuffer(count: t)
        hidden = FloatBuffer(count: t * c.dim)
        rope = RoPETable(positions: t, headDim: c.headDim, base: c.ropeBase)
    }

    public func componentOutput(_ site: GradientSite) -> [Float]? {
        let t = length, d = config.dim
        switch site {
        case .blockOutput(let l):
            // MLP output = residual after block l − residual between attention and MLP.
            let after = l + 1 < layers.count ? layers[l + 1].xIn : xOut
            return (0..<t * d).map { after[$0] - layers[l].xMid[$0] }
        case .attentionOutput(let l):
            return (0..<t * d).map { layers[l].xMid[$0] - layers[l].xIn[$0] }
        case .headOutputs(let l):
            return layers[l].ctx.array
        case .blockInput:
            return nil
        }
    }

    /// Bytes held by the cache (for memory reports).
    public var byteCount: Int {
        let perLayer = layers.first.map { l in
            [l.xIn, l.invRms1, l.qkv, l.scores, l.probs, l.ctx, l.xMid, l.invRms2, l.gateUp].reduce(0) { $0 + $1.count }
        } ?? 0
        return 4 * (perLayer * layers.count + embeddings.count + xOut.count + invRmsOut.count + hidden.count)
    }
}
