/// Causal multi-head attention over a fused q|k|v buffer, forward and GIM backward, shared by
/// every architecture. Each row of `qkv` is [q (heads·headDim) | k (kvHeads·headDim) |
/// v (kvHeads·headDim)]; query head h reads key/value head h / (heads / kvHeads)
/// (grouped-query attention; GPT-2 has kvHeads = heads). `ctx` rows are [heads·headDim].
struct CausalAttention {
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    /// Multiplies q·kᵀ: 1/√headDim (GPT-2 can also divide by layer + 1).
    let scale: Float

    var qkvStride: Int { (heads + 2 * kvHeads) * headDim }
    var kOffset: Int { heads * headDim }
    var vOffset: Int { (heads + kvHeads) * headDim }
    var ctxStride: Int { heads * headDim }
    var groupSize: Int { heads / kvHeads }

    /// For every head, over T tokens:
    ///   scores_h = q_h · k_gᵀ · scale   [T, T]
    ///   probs_h  = softmax(scores_h) over j ≤ i (zero above the diagonal)
    ///   ctx_h    = probs_h · v_g        [T, headDim]
    /// `scores` and `probs` hold one [T, T] matrix per head `headStride` floats apart
    /// (0 = one matrix reused by every head); `probs` may be `scores` when scores are not kept.
    func forward(qkv: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                 headStride: Int, ctx: UnsafeMutablePointer<Float>, tokens t: Int) {
        let hd = headDim, ld = qkvStride
        for h in 0..<heads {
            let g = h / groupSize
            let q = qkv + h * hd, k = qkv + kOffset + g * hd, v = qkv + vOffset + g * hd
            let s = scores + h * headStride, p = probs + h * headStride
            BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: s, ldc: t)
            Activations.softmaxRows(s, p, rows: t, cols: t, valid: { $0 + 1 })
            BLAS.gemm(m: t, n: hd, k: t, a: p, lda: t, b: v, ldb: ld, c: ctx + h * hd, ldc: ctxStride)
        }
    }

    /// From dCtx to dQKV for every head, rows < r (T = cache length, the stride of the [T, T]
    /// matrices; `scores`/`probs` hold one per head, T·T apart):
    ///   ctx_h = P_h · v_g      →  dP_h = dctx_h · v_gᵀ,  dv_g += P_hᵀ · dctx_h
    ///   P_h = softmax(S_h)     →  dS_h = s_T ⊙ (dP_h − ⟨dP_h, s_T⟩),  s_T = softmax(S_h / T)  (GIM temperature)
    ///   S_h = q_h·k_gᵀ·scale   →  dq_h = dS_h · k_g·scale,  dk_g += dS_hᵀ · q_h·scale
    /// then dq, dk, dv are multiplied by GIM's q/k/v scales. `dP` and `sT` are [T, T] scratch.
    func backward(qkv: UnsafePointer<Float>, scores: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                  dCtx: UnsafePointer<Float>, dQKV: UnsafeMutablePointer<Float>,
                  dP: UnsafeMutablePointer<Float>, sT: UnsafeMutablePointer<Float>,
                  tokens t: Int, rows r: Int, settings s: GIMSettings) {
        let hd = headDim, ld = qkvStride
        for i in 0..<r {
            (dQKV + i * ld + kOffset).update(repeating: 0, count: 2 * kvHeads * hd)
        }
        for h in 0..<heads {
            let g = h / groupSize
            let q = qkv + h * hd, k = qkv + kOffset + g * hd, v = qkv + vOffset + g * hd
            let dq = dQKV + h * hd, dk = dQKV + kOffset + g * hd, dv = dQKV + vOffset + g * hd
            let dctx = dCtx + h * hd
            let p = probs + h * t * t

            BLAS.gemm(transB: true, m: r, n: r, k: hd, a: dctx, lda: ctxStride, b: v, ldb: ld, c: dP, ldc: t)
            BLAS.gemm(transA: true, m: r, n: hd, k: r, a: p, lda: t, b: dctx, ldb: ctxStride, beta: 1, c: dv, ldc: ld)
            var sBackward = p
            if s.softmaxTemperature != 1 {
                Activations.softmaxRows(scores + h * t * t, sT, rows: r, cols: t, scale: 1 / s.softmaxTemperature,
                                        valid: { $0 + 1 })
                sBackward = UnsafePointer(sT)
            }
            Activations.softmaxBackwardRows(sBackward, dP, rows: r, cols: t, valid: { $0 + 1 })
            BLAS.gemm(m: r, n: hd, k: r, alpha: scale, a: dP, lda: t, b: k, ldb: ld, c: dq, ldc: ld)
            BLAS.gemm(transA: true, m: r, n: hd, k: r, alpha: scale, a: dP, lda: t, b: q, ldb: ld, beta: 1, c: dk, ldc: ld)
        }
        if s.qScale != 1 || s.kScale != 1 || s.vScale != 1 {
            for i in 0..<r {
                let row = dQKV + i * ld
                for j in 0..<kOffset { row[j] *= s.qScale }
                for j in kOffset..<vOffset { row[j] *= s.kScale }
                for j in vOffset..<ld { row[j] *= s.vScale }
            }
        }
    }
}
