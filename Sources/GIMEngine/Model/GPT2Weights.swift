/// The weights of one GPT-2 block in Float32. Matrices are row-major [out, in] (y = W x + b), the
/// transpose of the checkpoint's Conv1D layout ([in, out]), so they feed `BLAS.linear` directly.
public struct GPT2LayerWeights: Sendable {
    /// [dim] ln_1 weight and bias.
    public let ln1Weight: FloatBuffer
    public let ln1Bias: FloatBuffer
    /// [3·dim, dim] attn.c_attn: rows of q, then k, then v (heads contiguous inside each); bias [3·dim].
    public let wqkv: FloatBuffer
    public let bqkv: FloatBuffer
    /// [dim, dim] attn.c_proj; bias [dim].
    public let wo: FloatBuffer
    public let bo: FloatBuffer
    /// [dim] ln_2 weight and bias.
    public let ln2Weight: FloatBuffer
    public let ln2Bias: FloatBuffer
    /// [ffnDim, dim] mlp.c_fc; bias [ffnDim].
    public let wFc: FloatBuffer
    public let bFc: FloatBuffer
    /// [dim, ffnDim] mlp.c_proj; bias [dim].
    public let wProj: FloatBuffer
    public let bProj: FloatBuffer

    public init(ln1Weight: FloatBuffer, ln1Bias: FloatBuffer, wqkv: FloatBuffer, bqkv: FloatBuffer, wo: FloatBuffer,
                bo: FloatBuffer, ln2Weight: FloatBuffer, ln2Bias: FloatBuffer, wFc: FloatBuffer, bFc: FloatBuffer,
                wProj: FloatBuffer, bProj: FloatBuffer) {
        self.ln1Weight = ln1Weight; self.ln1Bias = ln1Bias; self.wqkv = wqkv; self.bqkv = bqkv
        self.wo = wo; self.bo = bo; self.ln2Weight = ln2Weight; self.ln2Bias = ln2Bias
        self.wFc = wFc; self.bFc = bFc; self.wProj = wProj; self.bProj = bProj
    }

    /// Zero-filled buffers of the right sizes.
    init(zeroed c: GPT2Config) {
        let d = c.dim, f = c.ffnDim
        self.init(ln1Weight: FloatBuffer(count: d), ln1Bias: FloatBuffer(count: d),
                  wqkv: FloatBuffer(count: 3 * d * d), bqkv: FloatBuffer(count: 3 * d),
                  wo: FloatBuffer(count: d * d), bo: FloatBuffer(count: d),
                  ln2Weight: FloatBuffer(count: d), ln2Bias: FloatBuffer(count: d),
                  wFc: FloatBuffer(count: f * d), bFc: FloatBuffer(count: f),
                  wProj: FloatBuffer(count: d * f), bProj: FloatBuffer(count: d))
    }
}

/// All weights of a GPT-2 model.
public final class GPT2Weights: Sendable {
    public let config: GPT2Config
    /// [vocab, dim] wte: the `e` of the attribution is a row of this (before positions are added).
    public let tokenEmbedding: FloatBuffer
    /// [contextLength, dim] wpe, added to the token embeddings.
    public let positionEmbedding: FloatBuffer
    public let layers: [GPT2LayerWeights]
    /// [dim] ln_f weight and bias.
    public let outputNormWeight: FloatBuffer
    public let outputNormBias: FloatBuffer
    /// [vocab, dim] output head; the same buffer as `tokenEmbedding` when tied.
    public let output: FloatBuffer

    public init(config: GPT2Config, tokenEmbedding: FloatBuffer, positionEmbedding: FloatBuffer,
                layers: [GPT2LayerWeights], outputNormWeight: FloatBuffer, outputNormBias: FloatBuffer,
                output: FloatBuffer?) throws {
        try config.validate()
        let c = config, d = c.dim, f = c.ffnDim
        func check(_ b: FloatBuffer, _ n: Int, _ what: String) throws {
            guard b.count == n else { throw ModelError.shapeMismatch("\(what) has \(b.count) values, expected \(n)") }
        }
        try check(tokenEmbedding, c.vocabSize * d, "wte")
        try check(positionEmbedding, c.contextLength * d, "wpe")
        try check(outputNormWeight, d, "ln_f.weight")
        try check(outputNormBias, d, "ln_f.bias")
        if let output { try check(output, c.vocabSize * d, "lm_head") }
        guard layers.count == c.layers else {
            throw ModelError.shapeMismatch("\(layers.count) layers given, config says \(c.layers)")
        }
        for (i, l) in layers.enumerated() {
            let p = "h.\(i)."
            try check(l.ln1Weight, d, p + "ln_1.weight"); try check(l.ln1Bias, d, p + "ln_1.bias")
            try check(l.wqkv, 3 * d * d, p + "attn.c_attn.weight"); try check(l.bqkv, 3 * d, p + "attn.c_attn.bias")
            try check(l.wo, d * d, p + "attn.c_proj.weight"); try check(l.bo, d, p + "attn.c_proj.bias")
            try check(l.ln2Weight, d, p + "ln_2.weight"); try check(l.ln2Bias, d, p + "ln_2.bias")
            try check(l.wFc, f * d, p + "mlp.c_fc.weight"); try check(l.bFc, f, p + "mlp.c_fc.bias")
            try check(l.wProj, d * f, p + "mlp.c_proj.weight"); try check(l.bProj, d, p + "mlp.c_proj.bias")
        }
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        self.layers = layers
        self.outputNormWeight = outputNormWeight
        self.outputNormBias = outputNormBias
        self.output = output ?? tokenEmbedding
    }
}
