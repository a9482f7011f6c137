/// A Llama-family decoder: RMSNorm, RoPE, grouped-query causal attention, SwiGLU MLP, tied or
/// untied head. The forward pass is the model's ordinary forward; GIM only changes the backward
/// (see `LlamaModel+Backward.swift`).
public final class LlamaModel: CausalLanguageModel, @unchecked Sendable {
    public let weights: LlamaWeights
    public var config: LlamaConfig { weights.config }

    /// The longest prompt a forward pass keeps activations for (see `ForwardInput`).
    public static let maxPromptTokens = ForwardInput.maxPromptTokens

    public init(weights: LlamaWeights) {
        self.weights = weights
    }

    // MARK: CausalLanguageModel

    public var architecture: String { "llama" }
    public var vocabSize: Int { config.vocabSize }
    public var dim: Int { config.dim }
    public var layerCount: Int { config.layers }
    public var headCount: Int { config.heads }
    public var headDim: Int { config.headDim }
    public var contextLength: Int { config.contextLength }
    public var parameterCount: Int { config.parameterCount }
    public var tokenEmbedding: FloatBuffer { weights.tokenEmbedding }
    public var outputHead: FloatBuffer { weights.output }
    public func forwardPass(_ tokens: [Int], embeddings: [Float]?) throws -> ForwardPass {
        try forward(tokens, embeddings: embeddings)
    }
    public func makeBackward(length: Int) -> BackwardPass { LlamaBackward(model: self, length: length) }
    public func forwardFLOPs(tokens: Int) -> Double { FLOPs.forward(config, tokens: tokens) }
    public func backwardFLOPs(tokens: Int) -> Double { FLOPs.backward(config, tokens: tokens) }

    /// Runs the forward pass over `tokens` and keeps every activation the backward needs.
    /// `embeddings` ([T, D]), when given, replaces the token-embedding lookup (finite-difference
    /// checks and perturbation tests feed modified inputs this way).
    public func forward(_ tokens: [Int], embeddings: [Float]? = nil) throws -> LlamaForwardCache {
        let c = config
        try ForwardInput.validate(tokens, vocabSize: c.vocabSize, contextLength: c.contextLength)
        let t = tokens.count, d = c.dim, f = c.ffnDim
        let cache = LlamaForwardCache(config: c, tokens: tokens)

        // e = embed_tokens(ids): [T, D]
        try ForwardInput.embed(tokens, table: weights.tokenEmbedding, dim: d, override: embeddings, into: cache.embeddings)

        let xn = FloatBuffer(count: t * d)       // [T, D] normalized input of a projection
        let act = FloatBuffer(count: t * f)      // [T, F] silu(gate) ⊙ up
        var x = cache.embeddings                 // [T, D] residual stream
        for (l, lw) in weights.blocks.enumerated() {
            let lc = cache.layers[l]
            lc.xIn.copy(from: x)

            // Attention block: xMid = xIn + attn_output(attention(rope(q), rope(k), v))
            RMSNorm.forward(lc.xIn.pointer, lw.attnNorm.pointer, xn.pointer, invRms: lc.invRms1.pointer,
                            rows: t, dim: d, eps: c.rmsEps)
            BLAS.project(xn.pointer, wT: lw.wqkvT, quantized: lw.quantized?.wqkv, lc.qkv.pointer, rows: t, inFeatures: d, outFeatures: c.qkvDim)
            cache.rope.apply(lc.qkv.pointer, rows: t, rowStride: c.qkvDim, heads: c.heads + c.kvHeads,
                             layout: c.ropeLayout, inverse: false)
            attention.forward(qkv: lc.qkv.pointer, scores: lc.scores.pointer, probs: lc.probs.pointer,
                              headStride: t * t, ctx: lc.ctx.pointer, tokens: t)
            lc.xMid.copy(from: lc.xIn)
            BLAS.project(lc.ctx.pointer, wT: lw.woT, quantized: lw.quantized?.wo, lc.xMid.pointer, rows: t, inFeatures: c.attnDim,
                        outFeatures: d, accumulate: true)

            // MLP block: xOut = xMid + ffn_down(silu(ffn_gate(n)) ⊙ ffn_up(n)), n = ffn_norm(xMid)
            RMSNorm.forward(lc.xMid.pointer, lw.ffnNorm.pointer, xn.pointer, invRms: lc.invRms2.pointer,
                            rows: t, dim: d, eps: c.rmsEps)
            BLAS.project(xn.pointer, wT: lw.wGateUpT, quantized: lw.quantized?.wGateUp, lc.gateUp.pointer, rows: t, inFeatures: d, outFeatures: 2 * f)
            Activations.siluProductRows(lc.gateUp.pointer, act.pointer, rows: t, f: f)
            let next = l + 1 < c.layers ? cache.layers[l + 1].xIn : cache.xOut
            next.copy(from: lc.xMid)
            BLAS.project(act.pointer, wT: lw.wDownT, quantized: lw.quantized?.wDown, next.pointer, rows: t, inFeatures: f, outFeatures: d, accumulate: true)
            x = next
        }
        RMSNorm.forward(cache.xOut.pointer, weights.outputNorm.pointer, cache.hidden.pointer,
                        invRms: cache.invRmsOut.pointer, rows: t, dim: d, eps: c.rmsEps)
        return cache
    }

    /// The attention of every layer (grouped-query, scale 1/√headDim).
    var attention: CausalAttention {
        CausalAttention(heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim,
                        scale: 1 / Float(config.headDim).squareRoot())
    }

    /// Logits over the vocabulary at one position of a forward pass: output · hidden[p]. [vocab]
    public func logits(_ pass: ForwardPass, at position: Int) -> [Float] {
        let c = config, cache = pass as! LlamaForwardCache
        precondition(position >= 0 && position < cache.length)
        var out = [Float](repeating: 0, count: c.vocabSize)
        out.withUnsafeMutableBufferPointer { o in
            BLAS.matvec(weights.output.pointer, cache.hidden.pointer + position * c.dim, o.baseAddress!,
                        outFeatures: c.vocabSize, inFeatures: c.dim)
        }
        return out
    }
}
