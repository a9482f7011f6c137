/// The backward pass of `LlamaModel`: activation gradients only (no weight gradients), from a
/// seed gradient at the final hidden states down to the token embeddings, with GIM's
/// modifications applied as `GIMSettings` says. Each step names the forward line it undoes.
public final class LlamaBackward: BackwardPass, @unchecked Sendable {
    public let model: LlamaModel
    let t: Int
    // Scratch buffers, allocated once per prompt length and reused by every backward.
    /// [T, D] gradient of the residual stream at the current point.
    let dx: FloatBuffer
    /// [T, D] gradient of a norm's output.
    let dxn: FloatBuffer
    /// [T, F] gradient of silu(gate) ⊙ up.
    let dAct: FloatBuffer
    /// [T, 2F] gradient of the gate | up projections.
    let dGateUp: FloatBuffer
    /// [T, H·headDim] gradient of the per-head attention outputs.
    let dCtx: FloatBuffer
    /// [T, qkvDim] gradient of q | k | v.
    let dQKV: FloatBuffer
    /// Per-head scratch of the attention backward.
    let attentionScratch: AttentionBackwardScratch

    public init(model: LlamaModel, length: Int) {
        self.model = model
        t = length
        let c = model.config
        dx = FloatBuffer(count: t * c.dim)
        dxn = FloatBuffer(count: t * c.dim)
        dAct = FloatBuffer(count: t * c.ffnDim)
        dGateUp = FloatBuffer(count: t * 2 * c.ffnDim)
        dCtx = FloatBuffer(count: t * c.attnDim)
        dQKV = FloatBuffer(count: t * c.qkvDim)
        attentionScratch = AttentionBackwardScratch(tokens: t, heads: c.heads, headDim: c.headDim)
    }

    /// Runs the backward. `seed` is [T, D], the gradient at `cache.hidden` (the normalized final
    /// hidden states); rows at or after `rows` must be zero, which lets the causal backward skip them.
    /// Returns the gradient at `cache.embeddings`, [T, D] (a buffer owned by this object, valid until
    /// the next call).
    @discardableResult
    public func run(_ pass: ForwardPass, seed: FloatBuffer, rows: Int? = nil, settings s: GIMSettings,
                    observer: GradientObserver? = nil) -> FloatBuffer {
        let c = model.config, w = model.weights
        let cache = pass as! LlamaForwardCache
        let d = c.dim, f = c.ffnDim
        precondition(cache.length == t && seed.count == t * d)
        // Causality: position i only influences positions ≥ i, so a seed on rows < r only needs rows < r.
        let r = min(rows ?? t, t)
        dx.zero()

        // hidden = output_norm(xOut)
        RMSNorm.backward(seed.pointer, cache.xOut.pointer, w.outputNorm.pointer, invRms: cache.invRmsOut.pointer,
                         dx: dx.pointer, rows: r, dim: d, frozen: s.freezeNorm)

        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let lw = w.blocks[l], lc = cache.layers[l]
            observer?(.blockOutput(layer: l), dx.pointer, d)

            // xOut = xMid + ffn_down(act): the residual passes dx through; act gets dx · W_down.
            BLAS.linearBackwardTransposed(dx.pointer, lw.wDownT.pointer, dAct.pointer, rows: r, inFeatures: f, outFeatures: d)
            // act = silu(gate) ⊙ up, with GIM's scales on the two branches at the product.
            Activations.siluProductBackwardRows(lc.gateUp.pointer, dAct.pointer, dGateUp.pointer, rows: r, f: f,
                                                gateScale: s.gateScale, upScale: s.upScale)
            // [gate | up] = ffn_norm(xMid) · W_gateUpᵀ
            BLAS.linearBackwardTransposed(dGateUp.pointer, lw.wGateUpT.pointer, dxn.pointer, rows: r, inFeatures: d, outFeatures: 2 * f)
            // n = ffn_norm(xMid); dx already holds the residual path's gradient at xMid.
            RMSNorm.backward(dxn.pointer, lc.xMid.pointer, lw.ffnNorm.pointer, invRms: lc.invRms2.pointer,
                             dx: dx.pointer, rows: r, dim: d, frozen: s.freezeNorm)
            observer?(.attentionOutput(layer: l), dx.pointer, d)

            // xMid = xIn + attn_output(ctx)
            BLAS.linearBackwardTransposed(dx.pointer, lw.woT.pointer, dCtx.pointer, rows: r, inFeatures: c.attnDim, outFeatures: d)
            observer?(.headOutputs(layer: l), dCtx.pointer, c.attnDim)
            model.attention.backward(qkv: lc.qkv.pointer, scores: lc.scores.pointer, probs: lc.probs.pointer,
                                     dCtx: dCtx.pointer, dQKV: dQKV.pointer, scratch: attentionScratch,
                                     tokens: t, rows: r, settings: s)
            // q, k = rope(q), rope(k): rotate the gradients back.
            cache.rope.apply(dQKV.pointer, rows: r, rowStride: c.qkvDim, heads: c.heads + c.kvHeads,
                             layout: c.ropeLayout, inverse: true)
            // [q | k | v] = attn_norm(xIn) · W_qkvᵀ
            BLAS.linearBackwardTransposed(dQKV.pointer, lw.wqkvT.pointer, dxn.pointer, rows: r, inFeatures: d, outFeatures: c.qkvDim)
            RMSNorm.backward(dxn.pointer, lc.xIn.pointer, lw.attnNorm.pointer, invRms: lc.invRms1.pointer,
                             dx: dx.pointer, rows: r, dim: d, frozen: s.freezeNorm)
            observer?(.blockInput(layer: l), dx.pointer, d)
        }
        return dx
    }
}
