import CKernels
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

    /// Query rows per stripe: attention is computed `stripeRows` query rows at a time against
    /// the keys those rows see, so no [T, T] matrix exists, only [stripeRows, T] per thread.
    /// (Tests set other sizes to compare stripings, between passes; nothing else writes it.)
    static var stripeRows: Int {
        get { stripeRowsSetting.value }
        set { stripeRowsSetting.value = newValue }
    }
    private static let stripeRowsSetting = Locked(64)

    /// The keys the query rows [i0, i1) see together: from the window's start for row i0 to i1.
    @inline(__always) func stripeKeys(_ i0: Int, _ i1: Int) -> Range<Int> { keys(i0).lowerBound..<i1 }

    /// Floats of per-thread scratch the forward (`forwardScratchFloats`) and the backward need for T tokens.
    static func forwardScratchFloats(tokens t: Int) -> Int { min(stripeRows, t) * t }
    static func backwardScratchFloats(tokens t: Int) -> Int { 4 * min(stripeRows, t) * t }

    /// For every head h, over T tokens, stripe by stripe of query rows (nothing T×T is kept):
    ///   S = q_h · k_gᵀ · scale   [rows, keys]   (then tanh(s/c)·c with a soft-cap)
    ///   P = softmax(S) over the keys of each row (`keys(i)`)
    ///   ctx_h = P · v_g          [rows, headDim]
    /// Heads run in parallel when `parallel` (each part with its own scratch); the batched
    /// forward runs whole sequences in parallel instead and passes false.
    func forward(qkv: UnsafePointer<Float>, ctx: UnsafeMutablePointer<Float>, tokens t: Int, parallel: Bool = true) {
        let floats = Self.forwardScratchFloats(tokens: t)
        if parallel {
            Parallel.forEachRange(heads, minimumPerPart: t >= 16 ? 1 : heads) { hs in
                let s = gim_attention_scratch(floats)!
                for h in hs { forwardHead(h, qkv: qkv, ctx: ctx, tokens: t, scratch: s) }
            }
        } else {
            let s = gim_attention_scratch(floats)!
            for h in 0..<heads { forwardHead(h, qkv: qkv, ctx: ctx, tokens: t, scratch: s) }
        }
    }

    /// One head of `forward`; `scratch` holds a [stripeRows, T] stripe.
    private func forwardHead(_ h: Int, qkv: UnsafePointer<Float>, ctx: UnsafeMutablePointer<Float>, tokens t: Int,
                             scratch s: UnsafeMutablePointer<Float>) {
        let hd = headDim, ld = qkvStride, g = h / groupSize
        let q = qkv + h * hd, k = qkv + kOffset + g * hd, v = qkv + vOffset + g * hd
        var i0 = 0
        while i0 < t {
            let i1 = min(t, i0 + Self.stripeRows), n = i1 - i0
            let kr = stripeKeys(i0, i1), w = kr.count
            scores(q: q + i0 * ld, k: k + kr.lowerBound * ld, rows: i0..<i1, keys: kr, into: s)
            Activations.softmaxRows(s, s, rows: n, cols: w, keys: { local(i0 + $0, kr) })
            BLAS.gemm(m: n, n: hd, k: w, a: s, lda: w, b: v + kr.lowerBound * ld, ldb: ld, c: ctx + i0 * ctxStride + h * hd,
                      ldc: ctxStride)
            i0 = i1
        }
    }

    /// keys(i) relative to the stripe's first key.
    @inline(__always) private func local(_ i: Int, _ kr: Range<Int>) -> Range<Int> {
        let k = keys(i)
        return (k.lowerBound - kr.lowerBound)..<(k.upperBound - kr.lowerBound)
    }

    /// s [rows.count, keys.count] = q_rows · k_keysᵀ · scale, soft-capped on each row's keys
    /// (`q` and `k` point at the first row and key; rows are `qkvStride` apart).
    private func scores(q: UnsafePointer<Float>, k: UnsafePointer<Float>, rows: Range<Int>, keys kr: Range<Int>,
                        into s: UnsafeMutablePointer<Float>) {
        let w = kr.count, ld = qkvStride
        BLAS.gemm(transB: true, m: rows.count, n: w, k: headDim, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: s, ldc: w)
        if let softcap {
            for (r, i) in rows.enumerated() {
                let row = s + r * w
                for j in local(i, kr) { row[j] = tanhf(row[j] / softcap) * softcap }
            }
        }
    }

    /// From dCtx to dQKV for every head, rows < r, stripe by stripe, recomputing the scores and
    /// probabilities the forward did not keep:
    ///   ctx_h = P_h · v_g      →  dP_h = dctx_h · v_gᵀ,  dv_g += P_hᵀ · dctx_h
    ///   P_h = softmax(S_h)     →  dS_h = s_T ⊙ (dP_h − ⟨dP_h, s_T⟩),  s_T = softmax(S_h / T)  (GIM temperature)
    ///   S_h = tanh(R_h/c)·c    →  dR_h = dS_h ⊙ (1 − (S_h/c)²)   (soft-cap, differentiated normally)
    ///   S_h = q_h·k_gᵀ·scale   →  dq_h = dS_h · k_g·scale,  dk_g += dS_hᵀ · q_h·scale
    /// then dq, dk, dv are multiplied by GIM's q/k/v scales. A stripe holds whole rows, so the
    /// temperature softmax needs no statistics from the forward. Heads run in parallel: each
    /// writes its dq slice directly and its dk/dv contributions to its own slot of `scratch`,
    /// summed per key/value head afterwards (the same sums in the same order for any thread count).
    func backward(qkv: UnsafePointer<Float>, dCtx: UnsafePointer<Float>, dQKV: UnsafeMutablePointer<Float>,
                  scratch: AttentionBackwardScratch, tokens t: Int, rows r: Int, settings s: GIMSettings) {
        let hd = headDim, ld = qkvStride
        precondition(scratch.tokens == t && scratch.heads == heads && scratch.headDim == hd)
        let floats = Self.backwardScratchFloats(tokens: t)
        Parallel.forEachRange(heads, minimumPerPart: t >= 16 ? 1 : heads) { hs in
            let stripes = gim_attention_scratch(floats)!
            for h in hs {
                backwardHead(h, qkv: qkv, dCtx: dCtx, dQKV: dQKV, dk: scratch.dk + h * t * hd, dv: scratch.dv + h * t * hd,
                             stripes: stripes, tokens: t, rows: r, settings: s)
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
    /// ([T, headDim] each, rows < r) into `dk`, `dv`. `stripes` holds four [stripeRows, T] stripes.
    private func backwardHead(_ h: Int, qkv: UnsafePointer<Float>, dCtx: UnsafePointer<Float>, dQKV: UnsafeMutablePointer<Float>,
                              dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, stripes: UnsafeMutablePointer<Float>,
                              tokens t: Int, rows r: Int, settings s: GIMSettings) {
        let hd = headDim, ld = qkvStride, g = h / groupSize
        let q = qkv + h * hd, k = qkv + kOffset + g * hd, v = qkv + vOffset + g * hd
        let dq = dQKV + h * hd, dctx = dCtx + h * hd
        let stripe = min(Self.stripeRows, t) * t
        let S = stripes, P = stripes + stripe, dP = stripes + 2 * stripe, sT = stripes + 3 * stripe
        dk.update(repeating: 0, count: r * hd)
        dv.update(repeating: 0, count: r * hd)
        var i0 = 0
        while i0 < r {
            let i1 = min(r, i0 + Self.stripeRows), n = i1 - i0
            let kr = stripeKeys(i0, i1), w = kr.count
            let keys = { (row: Int) in self.local(i0 + row, kr) }
            let kk = k + kr.lowerBound * ld, vv = v + kr.lowerBound * ld
            scores(q: q + i0 * ld, k: kk, rows: i0..<i1, keys: kr, into: S)
            Activations.softmaxRows(S, P, rows: n, cols: w, keys: keys)
            // dP = dctx · vᵀ; dv += Pᵀ · dctx
            BLAS.gemm(transB: true, m: n, n: w, k: hd, a: dctx + i0 * ctxStride, lda: ctxStride, b: vv, ldb: ld, c: dP, ldc: w)
            BLAS.gemm(transA: true, m: w, n: hd, k: n, a: P, lda: w, b: dctx + i0 * ctxStride, ldb: ctxStride,
                      beta: 1, c: dv + kr.lowerBound * hd, ldc: hd)
            var sBackward = UnsafePointer(P)
            if s.softmaxTemperature != 1 {
                Activations.softmaxRows(S, sT, rows: n, cols: w, scale: 1 / s.softmaxTemperature, keys: keys)
                sBackward = UnsafePointer(sT)
            }
            Activations.softmaxBackwardRows(sBackward, dP, rows: n, cols: w, keys: keys)
            if let softcap {
                for row in 0..<n {
                    let d = dP + row * w, capped = S + row * w
                    for j in keys(row) {
                        let u = capped[j] / softcap
                        d[j] *= 1 - u * u
                    }
                }
            }
            // dq = dS · k · scale (this head's own columns); dk += dSᵀ · q · scale
            BLAS.gemm(m: n, n: hd, k: w, alpha: scale, a: dP, lda: w, b: kk, ldb: ld, c: dq + i0 * ld, ldc: ld)
            BLAS.gemm(transA: true, m: w, n: hd, k: n, alpha: scale, a: dP, lda: w, b: q + i0 * ld, ldb: ld,
                      beta: 1, c: dk + kr.lowerBound * hd, ldc: hd)
            i0 = i1
        }
    }
}

/// Scratch memory of `CausalAttention.backward` for one prompt length, allocated once and
/// reused by every layer and every backward: each head's contribution to its key/value head's
/// gradient, [H, T, headDim] each (the stripes live in per-thread scratch).
/// Not `Sendable`: owned by one backward pass.
final class AttentionBackwardScratch {
    let tokens: Int, heads: Int, headDim: Int
    let dkBuffer: FloatBuffer, dvBuffer: FloatBuffer

    init(tokens t: Int, heads: Int, headDim: Int) {
        self.tokens = t; self.heads = heads; self.headDim = headDim
        dkBuffer = FloatBuffer(count: heads * t * headDim)
        dvBuffer = FloatBuffer(count: heads * t * headDim)
    }

    var dk: UnsafeMutablePointer<Float> { dkBuffer.pointer }
    var dv: UnsafeMutablePointer<Float> { dvBuffer.pointer }
}
