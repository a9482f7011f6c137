/// The backward pass of `GPT2Model`: activation gradients only (no weight gradients), from a seed
/// gradient at the final hidden states down to the token embeddings, with GIM's modifications
/// applied as `GIMSettings` says (freeze_norm, softmax temperature, q/k/v scales, the activation
/// rule at the MLP's GELU; gate/up scales have nothing to act on). Each step names the forward line it undoes.
/// Not `Sendable`: its scratch buffers belong to the one thread that owns it (a session's).
public final class GPT2Backward: BackwardPass {
    public let model: GPT2Model
    let t: Int
    /// [T, D] gradient of the residual stream at the current point.
    let dx: FloatBuffer
    /// [T, D] gradient of a LayerNorm's output.
    let dxn: FloatBuffer
    /// [T, F] gradient of gelu(fc), then of fc.
    let dFc: FloatBuffer
    /// [T, D] gradient of the per-head attention outputs.
    let dCtx: FloatBuffer
    /// [T, 3D] gradient of q | k | v.
    let dQKV: FloatBuffer
    /// Per-head scratch of the attention backward.
    let attentionScratch: AttentionBackwardScratch

    public init(model: GPT2Model, length: Int) {
        self.model = model
        t = length
        let c = model.config
        dx = FloatBuffer(count: t * c.dim)
        dxn = FloatBuffer(count: t * c.dim)
        dFc = FloatBuffer(count: t * c.ffnDim)
        dCtx = FloatBuffer(count: t * c.dim)
        dQKV = FloatBuffer(count: t * 3 * c.dim)
        attentionScratch = AttentionBackwardScratch(tokens: t, kvHeads: c.heads, headDim: c.headDim)
    }

    /// Runs the backward. `seed` is [T, D], the gradient at `cache.hidden`; rows at or after `rows`
    /// must be zero. Returns the gradient at `cache.embeddings` (the wte rows), [T, D], valid until
    /// the next call.
    public func run(_ pass: ForwardPass, seed: FloatBuffer, rows: Int?, settings s: GIMSettings,
                    observer: GradientObserver?, cancellation: Cancellation?) throws -> FloatBuffer {
        let c = model.config, w = model.weights
        let cache = pass as! GPT2ForwardCache
        let d = c.dim, f = c.ffnDim
        precondition(cache.length == t && seed.count == t * d)
        let r = min(rows ?? t, t)
        // The last block's MLP and c_proj backward run from the seed's first row on (one row when
        // one position is explained, see `BackwardSeed.firstNonzeroRow`); an observer sees every row.
        let seedFirst = observer == nil ? BackwardSeed.firstNonzeroRow(seed.pointer, rows: r, dim: d) : 0
        dx.zero()

        // hidden = ln_f(xOut)
        LayerNorm.backward(seed.pointer, cache.xOut.pointer, w.outputNormWeight.pointer, mean: cache.meanOut.pointer,
                           invStd: cache.invStdOut.pointer, dx: dx.pointer, rows: r, dim: d, frozen: s.freezeNorm)

        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            try cancellation.check()
            let lw = w.layers[l], lc = cache.layers[l]
            observer?(.blockOutput(layer: l), dx.pointer, d)
            // Rows lo..<r of the MLP and c_proj backward (the last block: the seed's rows only).
            let lo = l == c.layers - 1 ? seedFirst : 0, rr = r - lo

            // xOut = xMid + gelu(fc) · W_projᵀ + b_proj: the residual passes dx; gelu(fc) gets dx · W_proj.
            BLAS.linearBackward(dx.pointer + lo * d, lw.wProj.pointer, dFc.pointer + lo * f, rows: rr, inFeatures: f, outFeatures: d)
            // act = gelu(fc): gelu'(fc), or gelu(fc)/(fc + ε) under the identity rule.
            if s.activationRule == .identity {
                for i in lo * f..<r * f { dFc[i] *= Activations.geluBackwardFactor(lc.fc[i], c.activation, .identity) }
            } else {
                for i in lo * f..<r * f { dFc[i] *= Activations.geluGrad(lc.fc[i], c.activation) }
            }
            // fc = ln_2(xMid) · W_fcᵀ + b_fc
            BLAS.linearBackward(dFc.pointer + lo * f, lw.wFc.pointer, dxn.pointer + lo * d, rows: rr, inFeatures: d, outFeatures: f)
            // n = ln_2(xMid); dx already holds the residual path's gradient at xMid.
            LayerNorm.backward(dxn.pointer + lo * d, lc.xMid.pointer + lo * d, lw.ln2Weight.pointer, mean: lc.mean2.pointer + lo,
                               invStd: lc.invStd2.pointer + lo, dx: dx.pointer + lo * d, rows: rr, dim: d, frozen: s.freezeNorm)
            observer?(.attentionOutput(layer: l), dx.pointer, d)

            // xMid = xIn + ctx · W_oᵀ + b_o
            BLAS.linearBackward(dx.pointer + lo * d, lw.wo.pointer, dCtx.pointer + lo * d, rows: rr, inFeatures: d, outFeatures: d)
            // The attention reads dctx on every row < r (rows < lo: none reaches the seed from here).
            dCtx.pointer.update(repeating: 0, count: lo * d)
            observer?(.headOutputs(layer: l), dCtx.pointer, d)
            model.attention(layer: l).backward(qkv: lc.qkv.pointer, dCtx: dCtx.pointer, dQKV: dQKV.pointer, scratch: attentionScratch,
                                               tokens: t, rows: r, settings: s)
            // [q | k | v] = ln_1(xIn) · W_qkvᵀ + b_qkv
            BLAS.linearBackward(dQKV.pointer, lw.wqkv.pointer, dxn.pointer, rows: r, inFeatures: d, outFeatures: 3 * d)
            LayerNorm.backward(dxn.pointer, lc.xIn.pointer, lw.ln1Weight.pointer, mean: lc.mean1.pointer,
                               invStd: lc.invStd1.pointer, dx: dx.pointer, rows: r, dim: d, frozen: s.freezeNorm)
            observer?(.blockInput(layer: l), dx.pointer, d)
        }
        // xIn₀ = e + wpe: the gradient at e is the gradient at xIn₀.
        return dx
    }
}
