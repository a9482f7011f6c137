import Foundation

/// Causal multi-head attention over a fused q|k|v buffer, forward and GIM backward, shared by
/// every architecture. Each row of `qkv` is [q (heads·headDim) | k (kvHeads·headDim) |
/// v (kvHeads·headDim)]; query head h reads key/value head h / (heads / kvHeads)
/// (grouped-query attention; GPT-2 has kvHeads = heads). `ctx` rows are [heads·headDim].
struct CausalAttention {
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    /// Multiplies q·kᵀ: 1/√headDim (GPT-2 can also divide by layer + 1; Gemma uses its
    /// query_pre_attn_scalar).
    let scale: Float
    /// Keys a query sees, itself included: `i − window < j ≤ i`; nil = every j ≤ i.
    var window: Int? = nil
    /// Scores become tanh(s/c)·c before the mask (Gemma 2); nil = none.
    var softcap: Float? = nil

    var qkvStride: Int { (heads + 2 * kvHeads) * headDim }
    var kOffset: Int { heads * headDim }
    var vOffset: Int { (heads + kvHeads) * headDim }
    var ctxStride: Int { heads * headDim }
    var groupSize: Int { heads / kvHeads }

    /// The keys query row `i` attends to: the causal mask, narrowed by the sliding window.
    @inline(__always) func keys(_ i: Int) -> Range<Int> {
        guard let window else { return 0..<(i + 1) }
        return max(0, i - window + 1)..<(i + 1)
    }

    /// For every head, over T tokens:
    ///   scores_h = q_h · k_gᵀ · scale   [T, T]   (then tanh(s/c)·c with a soft-cap)
    ///   probs_h  = softmax(scores_h) over the keys of row i (`keys(i)`; zero elsewhere)
    ///   ctx_h    = probs_h · v_g        [T, headDim]
    /// `scores` and `probs` hold one [T, T] matrix per head `headStride` floats apart
    /// (0 = one matrix reused by every head); `probs` may be `scores` when scores are not kept.
    func forward(qkv: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                 headStride: Int, ctx: UnsafeMutablePointer<Float>, tokens t: Int) {
        // Heads are independent; with one matrix per head they run in parallel.
        if headStride >= t * t {
            Parallel.forEachRange(heads, minimumPerPart: t >= 16 ? 1 : heads) { hs in
                for h in hs { forwardHead(h, qkv: qkv, scores: scores + h * headStride, probs: probs + h * headStride, ctx: ctx, tokens: t) }
            }
        } else {
            for h in 0..<heads { forwardHead(h, qkv: qkv, scores: scores, probs: probs, ctx: ctx, tokens: t) }
        }
    }

    /// One head of `forward`; `s` and `p` are its [T, T] scores and probabilities.
    private func forwardHead(_ h: Int, qkv: UnsafePointer<Float>, scores s: UnsafeMutablePointer<Float>,
                             probs p: UnsafeMutablePointer<Float>, ctx: UnsafeMutablePointer<Float>, tokens t: Int) {
        let hd = headDim, ld = qkvStride, g = h / groupSize
        let q = qkv + h * hd, k = qkv + kOffset + g * hd, v = qkv + vOffset + g * hd
        BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: s, ldc: t)
        if let softcap {
            for i in 0..<t {
                let row = s + i * t
                for j in keys(i) { row[j] = tanhf(row[j] / softcap) * softcap }
            }
        }
        Activations.softmaxRows(s, p, rows: t, cols: t, keys: keys)
        BLAS.gemm(m: t, n: hd, k: t, a: p, lda: t, b: v, ldb: ld, c: ctx + h * hd, ldc: ctxStride)
    }

    /// From dCtx to dQKV for every head, rows < r (T = cache length, the stride of the [T, T]
    /// matrices; `scores`/`probs` hold one per head, T·T apart):
    ///   ctx_h = P_h · v_g      →  dP_h = dctx_h · v_gᵀ,  dv_g += P_hᵀ · dctx_h
    ///   P_h = softmax(S_h)     →  dS_h = s_T ⊙ (dP_h − ⟨dP_h, s_T⟩),  s_T = softmax(S_h / T)  (GIM temperature)
    ///   S_h = tanh(R_h/c)·c    →  dR_h = dS_h ⊙ (1 − (S_h/c)²)   (soft-cap, differentiated normally)
    ///   S_h = q_h·k_gᵀ·scale   →  dq_h = dS_h · k_g·scale,  dk_g += dS_hᵀ · q_h·scale
    /// then dq, dk, dv are multiplied by GIM's q/k/v scales. Heads run in parallel: each writes
    /// its dq slice directly and its dk/dv contributions to its own slot of `scratch`, which are
    /// summed per key/value head afterwards (the same sums in the same order for any thread count).
    func backward(qkv: UnsafePointer<Float>, scores: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                  dCtx: UnsafePointer<Float>, dQKV: UnsafeMutablePointer<Float>, scratch: AttentionBackwardScratch,
                  tokens t: Int, rows r: Int, settings s: GIMSettings) {
        let hd = headDim, ld = qkvStride
        precondition(scratch.tokens == t && scratch.heads == heads && scratch.headDim == hd)
        // Serial when the thread count grew after the scratch was made (too few dP/sT slots).
        let minimum = t >= 16 && Parallel.threads <= scratch.parts ? 1 : heads
        Parallel.forEachRange(heads, minimumPerPart: minimum) { part, hs in
            for h in hs {
                backwardHead(h, qkv: qkv, scores: scores + h * t * t, probs: probs + h * t * t, dCtx: dCtx, dQKV: dQKV,
                             dk: scratch.dk + h * t * hd, dv: scratch.dv + h * t * hd,
                             dP: scratch.dP + part * t * t, sT: scratch.sT + part * t * t, tokens: t, rows: r, settings: s)
            }
        }
        // dk_g = Σ_{h in group g} dk_h (likewise dv), then the q/k/v scales; rows are independent.
        Parallel.forEachRange(r, minimumPerPart: 16) { rowRange in
            for i in rowRange {
                let row = dQKV + i * ld
                for g in 0..<kvHeads {
                    let dk = row + kOffset + g * hd, dv = row + vOffset + g * hd
                    for j in 0..<hd { dk[j] = 0; dv[j] = 0 }
                    for h in g * groupSize..<(g + 1) * groupSize {
                        let hk = scratch.dk + (h * t + i) * hd, hv = scratch.dv + (h * t + i) * hd
                        for j in 0..<hd { dk[j] += hk[j]; dv[j] += hv[j] }
                    }
                }
                if s.qScale != 1 || s.kScale != 1 || s.vScale != 1 {
                    for j in 0..<kOffset { row[j] *= s.qScale }
                    for j in kOffset..<vOffset { row[j] *= s.kScale }
                    for j in vOffset..<ld { row[j] *= s.vScale }
                }
            }
        }
    }

    /// One head of `backward`: writes dq_h into dQKV and this head's dk, dv contributions
    /// ([T, headDim] each, rows < r) into `dk`, `dv`. `dP` and `sT` are [T, T] scratch.
    private func backwardHead(_ h: Int, qkv: UnsafePointer<Float>, scores: UnsafePointer<Float>, probs p: UnsafePointer<Float>,
                              dCtx: UnsafePointer<Float>, dQKV: UnsafeMutablePointer<Float>,
                              dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                              dP: UnsafeMutablePointer<Float>, sT: UnsafeMutablePointer<Float>,
                              tokens t: Int, rows r: Int, settings s: GIMSettings) {
        let hd = headDim, ld = qkvStride, g = h / groupSize
        let q = qkv + h * hd, k = qkv + kOffset + g * hd, v = qkv + vOffset + g * hd
        let dq = dQKV + h * hd, dctx = dCtx + h * hd

        BLAS.gemm(transB: true, m: r, n: r, k: hd, a: dctx, lda: ctxStride, b: v, ldb: ld, c: dP, ldc: t)
        BLAS.gemm(transA: true, m: r, n: hd, k: r, a: p, lda: t, b: dctx, ldb: ctxStride, c: dv, ldc: hd)
        var sBackward = p
        if s.softmaxTemperature != 1 {
            Activations.softmaxRows(scores, sT, rows: r, cols: t, scale: 1 / s.softmaxTemperature, keys: keys)
            sBackward = UnsafePointer(sT)
        }
        Activations.softmaxBackwardRows(sBackward, dP, rows: r, cols: t, keys: keys)
        if let softcap {
            for i in 0..<r {
                let row = dP + i * t, capped = scores + i * t
                for j in keys(i) {
                    let u = capped[j] / softcap
                    row[j] *= 1 - u * u
                }
            }
        }
        BLAS.gemm(m: r, n: hd, k: r, alpha: scale, a: dP, lda: t, b: k, ldb: ld, c: dq, ldc: ld)
        BLAS.gemm(transA: true, m: r, n: hd, k: r, alpha: scale, a: dP, lda: t, b: q, ldb: ld, c: dk, ldc: hd)
    }
}

/// Scratch memory of `CausalAttention.backward` for one prompt length, allocated once and
/// reused by every layer and every backward.
final class AttentionBackwardScratch: @unchecked Sendable {
    let tokens: Int, heads: Int, headDim: Int
    /// dP/sT slots: one per parallel part (the thread count when allocated).
    let parts: Int
    /// [H, T, headDim] each head's contribution to the gradient of its key / value head.
    let dkBuffer: FloatBuffer, dvBuffer: FloatBuffer
    /// [parts, T, T] gradient of one head's probabilities, then of its scores.
    let dPBuffer: FloatBuffer
    /// [parts, T, T] the backward softmax s_T = softmax(scores / T) of one head.
    let sTBuffer: FloatBuffer

    init(tokens t: Int, heads: Int, headDim: Int) {
        self.tokens = t; self.heads = heads; self.headDim = headDim
        parts = max(1, Parallel.threads)
        dkBuffer = FloatBuffer(count: heads * t * headDim)
        dvBuffer = FloatBuffer(count: heads * t * headDim)
        dPBuffer = FloatBuffer(count: parts * t * t)
        sTBuffer = FloatBuffer(count: parts * t * t)
    }

    var dk: UnsafeMutablePointer<Float> { dkBuffer.pointer }
    var dv: UnsafeMutablePointer<Float> { dvBuffer.pointer }
    var dP: UnsafeMutablePointer<Float> { dPBuffer.pointer }
    var sT: UnsafeMutablePointer<Float> { sTBuffer.pointer }
}
