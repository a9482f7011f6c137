/// A GPT-2 decoder: learned positions, pre-LayerNorm blocks, fused q|k|v (c_attn), causal
/// multi-head attention, GELU MLP, tied head. The forward pass is the model's ordinary forward;
/// GIM only changes the backward (`GPT2Backward`). On GPT-2 the knobs that apply are
/// freeze_norm (LayerNorm's σ), the attention softmax temperature and the q/k/v scales; there
/// is no gated MLP, so gate/up scales change nothing.
public final class GPT2Model: CausalLanguageModel, Sendable {
    public let weights: GPT2Weights
    public var config: GPT2Config { weights.config }

    /// The longest prompt a forward pass keeps activations for (see `ForwardInput`).

    /// The embedding and head as `WeightMatrix`es (Float32, over the weights' own buffers).
    private let embeddingMatrix: WeightMatrix
    private let headMatrix: WeightMatrix

    public init(weights: GPT2Weights) {
        let c = weights.config
        embeddingMatrix = WeightMatrix(float32: weights.tokenEmbedding, rows: c.vocabSize, cols: c.dim)
        headMatrix = weights.output === weights.tokenEmbedding ? embeddingMatrix
            : WeightMatrix(float32: weights.output, rows: c.vocabSize, cols: c.dim)
        self.weights = weights
    }

    // MARK: CausalLanguageModel

    public var architecture: String { "gpt2" }
    public var vocabSize: Int { config.vocabSize }
    public var dim: Int { config.dim }
    public var layerCount: Int { config.layers }
    public var headCount: Int { config.heads }
    public var headDim: Int { config.headDim }
    public var contextLength: Int { config.contextLength }
    public var parameterCount: Int { config.parameterCount }
    public var tokenEmbedding: WeightMatrix { embeddingMatrix }
    public var outputHead: WeightMatrix { headMatrix }
    public func forwardPass(_ tokens: [Int], embeddings: [Float]?) throws -> ForwardPass {
        try forward(tokens, embeddings: embeddings)
    }
    public func forwardPass(_ tokens: [Int], embeddings: [Float]?, cancellation: Cancellation?) throws -> ForwardPass {
        try forward(tokens, embeddings: embeddings, cancellation: cancellation)
    }
    public func makeBackward(length: Int) -> BackwardPass { GPT2Backward(model: self, length: length) }

    /// Matrix FLOPs per token and layer: c_attn, attn.c_proj, c_fc, mlp.c_proj.
    private var linearFLOPsPerRow: Double {
        let c = config
        let attention: Int = 4 * c.dim * c.dim      // c_attn (3·D·D) and c_proj (D·D)
        let mlp: Int = 2 * c.ffnDim * c.dim         // c_fc and c_proj
        return 2 * Double(attention + mlp)
    }
    public func forwardFLOPs(tokens t: Int) -> Double {
        let c = config
        // The causal triangle of query-key pairs, as the kernels compute it (see FLOPs.attendedPairs).
        let attention = Double(c.heads) * 4 * Double(c.headDim) * Double(t) * Double(t + 1) / 2
        return Double(c.layers) * (Double(t) * linearFLOPsPerRow + attention) + 2 * Double(c.vocabSize * c.dim)
    }
    /// From one target position (the last): the last block's c_proj and MLP run on that row only.
    public func backwardFLOPs(tokens t: Int) -> Double {
        let c = config
        let attention = Double(c.heads) * 8 * Double(c.headDim) * Double(t) * Double(t + 1) / 2
        let tail = 2 * Double(c.dim * c.dim + 2 * c.ffnDim * c.dim)   // c_proj (attention) and the MLP, per row
        return Double(c.layers) * (Double(t) * linearFLOPsPerRow + attention) - Double(max(t - 1, 0)) * tail
    }

    /// Runs the forward pass over `tokens` and keeps every activation the backward needs.
    /// `embeddings` ([T, D]), when given, replaces the wte lookup (positions are still added);
    /// `cancellation` is polled before each layer.
    public func forward(_ tokens: [Int], embeddings: [Float]? = nil, cancellation: Cancellation? = nil) throws -> GPT2ForwardCache {
        let c = config
        try ForwardInput.validate(tokens, vocabSize: c.vocabSize, contextLength: c.contextLength)
        let t = tokens.count, d = c.dim
        let cache = GPT2ForwardCache(config: c, tokens: tokens)

        // e = wte(ids): [T, D]
        try ForwardInput.embed(tokens, table: embeddingMatrix, dim: d, override: embeddings, into: cache.embeddings)
        // x = e + wpe[0..<T]
        let x0 = cache.layers[0].xIn.pointer, e = cache.embeddings.pointer, wpe = weights.positionEmbedding.pointer
        for i in 0..<t * d { x0[i] = e[i] + wpe[i] }

        let scratch = BlockScratch(c, rows: t)
        for l in 0..<c.layers {
            try cancellation.check()
            let next = l + 1 < c.layers ? cache.layers[l + 1].xIn : cache.xOut
            blockForward(layer: l, cache.layers[l], output: next, scratch: scratch, rows: t)
        }
        LayerNorm.forward(cache.xOut.pointer, weights.outputNormWeight.pointer, weights.outputNormBias.pointer,
                          cache.hidden.pointer, mean: cache.meanOut.pointer, invStd: cache.invStdOut.pointer,
                          rows: t, dim: d, eps: c.layerNormEps)
        return cache
    }

    /// Block `l` over `rows` rows of `lc.xIn`, keeping its activations in `lc` and writing the
    /// residual stream after it to `output` (which may be `lc.xIn` itself: it is read only before).
    /// With `kv` the rows are positions `kv.start…` of a sequence whose earlier keys and values are
    /// in the KV cache: their k and v are stored there and they attend to every cached position.
    func blockForward(layer l: Int, _ lc: GPT2LayerCache, output next: FloatBuffer, scratch: BlockScratch, rows t: Int,
                      kv: KVStep? = nil) {
        let c = config, d = c.dim, f = c.ffnDim, lw = weights.layers[l]
        let xn = scratch.xn, act = scratch.act
        // Attention block: xMid = xIn + c_proj(attention(c_attn(ln_1(xIn))))
        LayerNorm.forward(lc.xIn.pointer, lw.ln1Weight.pointer, lw.ln1Bias.pointer, xn.pointer,
                          mean: lc.mean1.pointer, invStd: lc.invStd1.pointer, rows: t, dim: d, eps: c.layerNormEps)
        Self.fillRows(lc.qkv, with: lw.bqkv, rows: t)
        BLAS.linear(xn.pointer, lw.wqkv.pointer, lc.qkv.pointer, rows: t, inFeatures: d, outFeatures: 3 * d,
                    accumulate: true)
        if let kv {
            attention(layer: l).forwardCached(qkv: lc.qkv.pointer, rows: t, keys: kv.keys, values: kv.values,
                                              start: kv.start, ctx: lc.ctx.pointer)
        } else {
            attention(layer: l).forward(qkv: lc.qkv.pointer, ctx: lc.ctx.pointer, tokens: t)
        }
        lc.xMid.copy(from: lc.xIn)
        Self.addRows(lc.xMid, lw.bo, rows: t)
        BLAS.linear(lc.ctx.pointer, lw.wo.pointer, lc.xMid.pointer, rows: t, inFeatures: d, outFeatures: d,
                    accumulate: true)

        // MLP block: xOut = xMid + c_proj(gelu(c_fc(ln_2(xMid))))
        LayerNorm.forward(lc.xMid.pointer, lw.ln2Weight.pointer, lw.ln2Bias.pointer, xn.pointer,
                          mean: lc.mean2.pointer, invStd: lc.invStd2.pointer, rows: t, dim: d, eps: c.layerNormEps)
        Self.fillRows(lc.fc, with: lw.bFc, rows: t)
        BLAS.linear(xn.pointer, lw.wFc.pointer, lc.fc.pointer, rows: t, inFeatures: d, outFeatures: f, accumulate: true)
        for i in 0..<t * f { act[i] = Activations.gelu(lc.fc[i], c.activation) }
        next.copy(from: lc.xMid)
        Self.addRows(next, lw.bProj, rows: t)
        BLAS.linear(act.pointer, lw.wProj.pointer, next.pointer, rows: t, inFeatures: f, outFeatures: d, accumulate: true)
    }

    /// Every row of y ([rows, bias.count]) set to the bias.
    static func fillRows(_ y: FloatBuffer, with bias: FloatBuffer, rows: Int) {
        let n = bias.count
        for r in 0..<rows { (y.pointer + r * n).update(from: bias.pointer, count: n) }
    }

    /// The bias added to every row of y ([rows, bias.count]).
    static func addRows(_ y: FloatBuffer, _ bias: FloatBuffer, rows: Int) {
        let n = bias.count
        for r in 0..<rows {
            let row = y.pointer + r * n
            for j in 0..<n { row[j] += bias[j] }
        }
    }

    /// The attention of layer `layer` (kvHeads = heads; the scale may depend on the layer).
    func attention(layer: Int) -> CausalAttention {
        CausalAttention(heads: config.heads, kvHeads: config.heads, headDim: config.headDim,
                        scale: config.attentionScale(layer: layer))
    }

    /// Logits over the vocabulary at one position of a forward pass: output · hidden[p]. [vocab]
    public func logits(_ pass: ForwardPass, at position: Int) -> [Float] {
        let c = config, cache = pass as! GPT2ForwardCache
        precondition(position >= 0 && position < cache.length)
        var out = [Float](repeating: 0, count: c.vocabSize)
        out.withUnsafeMutableBufferPointer { o in
            BLAS.matvec(weights.output.pointer, cache.hidden.pointer + position * c.dim, o.baseAddress!,
                        outFeatures: c.vocabSize, inFeatures: c.dim)
        }
        return out
    }
}
