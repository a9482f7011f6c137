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

    /// Query rows per stripe and head (0 = automatic): attention is computed a stripe of query rows
    /// at a time against the keys those rows see, so no [T, T] matrix exists, only a
    /// [groupSize · rows, T] stripe per thread. A stripe stacks the `groupSize` query heads that
    /// read one key/value head (grouped-query attention), so each product with that head's keys
    /// and values is one GEMM of groupSize · rows rows: the keys and values are packed once for
    /// the whole group, and the key/value gradients sum over the group's heads inside the GEMM.
    /// Automatic: about 128 stacked rows. (Tests set other sizes to compare stripings, between
    /// passes; nothing else writes it.)
    static var stripeRows: Int {
        get { stripeRowsSetting.value }
        set { stripeRowsSetting.value = newValue }
    }
    private static let stripeRowsSetting = Locked(0)

    /// Whether a stripe's products run on the attention kernels (`attention_kernels.c`: the keys
    /// and values packed once per call, no operand copied per stripe) instead of OpenBLAS. On
    /// when the CPU has AVX-512, unless GIM_ATTENTION_KERNEL=openblas. (Tests compare the two.)
    static var useKernels: Bool {
        get { useKernelsSetting.value }
        set { useKernelsSetting.value = newValue && gim_kernels_available() != 0 }
    }
    private static let useKernelsSetting = Locked(
        gim_kernels_available() != 0
            && (try? EngineEnvironment.attentionKernel(ProcessInfo.processInfo.environment)) != "openblas")

    /// Floats of one key/value head's packed keys (or values) for `keys` keys.
    func panelFloats(keys: Int) -> Int { gim_attention_panel_floats(keys, headDim) }

    /// Packs the first `keys` rows of every key/value head's keys (`offset` kOffset) or values
    /// (vOffset) into `into`: head g's panels at g · panelFloats(keys:), as `gim_attention_scores` reads them.
    func pack(_ qkv: UnsafePointer<Float>, offset: Int, keys: Int, into panels: UnsafeMutablePointer<Float>) {
        let pf = panelFloats(keys: keys)
        Parallel.forEachRange(kvHeads, minimumPerPart: keys >= 256 ? 1 : kvHeads) { groups in
            for g in groups {
                gim_attention_pack_panels(qkv + offset + g * headDim, qkvStride, keys, headDim, panels + g * pf)
            }
        }
    }

    /// Query rows per stripe and head for T tokens.
    func rowsPerStripe(tokens t: Int) -> Int {
        let chosen = Self.stripeRows > 0 ? Self.stripeRows : max(8, 128 / groupSize)
        return max(1, min(chosen, t))
    }

    /// The keys the query rows [i0, i1) see together: from the window's start for row i0 to i1.
    @inline(__always) func stripeKeys(_ i0: Int, _ i1: Int) -> Range<Int> { keys(i0).lowerBound..<i1 }

    /// Floats of per-thread scratch the forward and the backward need for T tokens: the stripes
    /// ([groupSize · rows, T] each: one forward, four backward) and the stacked query rows,
    /// outputs and their gradients ([groupSize · rows, headDim] each).
    func forwardScratchFloats(tokens t: Int) -> Int {
        let m = groupSize * rowsPerStripe(tokens: t)
        return m * t + 2 * m * headDim
    }
    func backwardScratchFloats(tokens t: Int) -> Int {
        let m = groupSize * rowsPerStripe(tokens: t)
        return 4 * m * t + 3 * m * headDim
    }

    /// One unit of work: the stripe of query rows [i0, i1) of key/value group g (all its query heads).
    struct Stripe {
        let group: Int, i0: Int, i1: Int
    }

    /// Every stripe over rows < r, group by group, and the parts of them each thread runs:
    /// contiguous runs of stripes of about equal cost (query rows × keys), so that no thread
    /// waits for another at the end (with causal masking a stripe's cost grows with its rows,
    /// and whole heads would split 9 heads 5/4 on two threads). The same partition for the same
    /// thread count, so the same sums in the same order.
    func stripes(rows r: Int, tokens t: Int, parts: Int) -> (stripes: [Stripe], parts: [Range<Int>]) {
        let n = rowsPerStripe(tokens: t)
        var list: [Stripe] = [], cost: [Double] = []
        for g in 0..<kvHeads {
            var i0 = 0
            while i0 < r {
                let i1 = min(r, i0 + n)
                list.append(Stripe(group: g, i0: i0, i1: i1))
                cost.append(Double(i1 - i0) * Double(stripeKeys(i0, i1).count))
                i0 = i1
            }
        }
        let total = cost.reduce(0, +)
        var bounds = [0], start = 0.0
        for (k, c) in cost.enumerated() {
            // Stripe k goes to the part its starting cost falls in.
            let part = min(parts - 1, Int(start / max(total, 1) * Double(parts)))
            while bounds.count <= part { bounds.append(k) }
            start += c
        }
        while bounds.count <= parts { bounds.append(list.count) }
        return (list, (0..<parts).map { bounds[$0]..<bounds[$0 + 1] })
    }

    /// For every head h, over T tokens, stripe by stripe of query rows (nothing T×T is kept):
    ///   S = q_h · k_gᵀ · scale   [rows, keys]   (then tanh(s/c)·c with a soft-cap)
    ///   P = softmax(S) over the keys of each row (`keys(i)`)
    ///   ctx_h = P · v_g          [rows, headDim]
    /// with the group's heads stacked (`stripeRows`). Stripes run in parallel when `parallel`
    /// (each part with its own scratch); the batched forward runs whole sequences in parallel
    /// instead and passes false.
    func forward(qkv: UnsafePointer<Float>, ctx: UnsafeMutablePointer<Float>, tokens t: Int, parallel: Bool = true) {
        let floats = forwardScratchFloats(tokens: t)
        let parts = parallel && t >= 16 ? Parallel.threads : 1
        let (list, runs) = stripes(rows: t, tokens: t, parts: parts)
        var keys: UnsafePointer<Float>? = nil
        if Self.useKernels {
            let panels = gim_attention_pack_scratch(kvHeads * panelFloats(keys: t))!
            pack(qkv, offset: kOffset, keys: t, into: panels)
            keys = UnsafePointer(panels)
        }
        let body = { (run: Range<Int>) in
            let s = gim_attention_scratch(floats)!
            for k in run { forwardStripe(list[k], qkv: qkv, keyPanels: keys, ctx: ctx, tokens: t, scratch: s) }
        }
        if parts == 1 { body(0..<list.count) } else {
            // (A pool of another size, e.g. resized meanwhile, runs every part on its first.)
            Parallel.forEachPart { p, pp in
                if pp == parts { body(runs[p]) } else if p == 0 { body(0..<list.count) }
            }
        }
    }

    /// One stripe of `forward`; `scratch` holds `forwardScratchFloats`; `keyPanels` are the keys
    /// packed by `pack` when the kernels run (nil: OpenBLAS).
    private func forwardStripe(_ st: Stripe, qkv: UnsafePointer<Float>, keyPanels: UnsafePointer<Float>?,
                               ctx: UnsafeMutablePointer<Float>, tokens t: Int, scratch: UnsafeMutablePointer<Float>) {
        let hd = headDim, ld = qkvStride, g = st.group, n = st.i1 - st.i0, m = groupSize * n
        let kr = stripeKeys(st.i0, st.i1), w = kr.count
        let S = scratch, qs = scratch + m * t, cs = qs + m * hd
        gatherHeads(qkv + st.i0 * ld, ld: ld, group: g, rows: n, into: qs)
        scores(qs, k: qkv + kOffset + g * hd + kr.lowerBound * ld, panels: keyPanels.map { $0 + g * panelFloats(keys: t) },
               stripe: st, keys: kr, into: S)
        Activations.softmaxRows(S, S, rows: m, cols: w, keys: { local(st.i0 + $0 % n, kr) })
        mix(S, w, m: m, keys: w, qkv + vOffset + g * hd + kr.lowerBound * ld, alpha: 1, into: cs, kernels: keyPanels != nil)
        scatterHeads(cs, rows: n, group: g, into: ctx + st.i0 * ctxStride, ld: ctxStride)
    }

    /// The group's query heads of `rows` rows ([rows, heads·hd] columns g·G·hd…, rows `ld` apart)
    /// stacked head by head into [G·rows, hd].
    @inline(__always) private func gatherHeads(_ src: UnsafePointer<Float>, ld: Int, group g: Int, rows n: Int,
                                               into dst: UnsafeMutablePointer<Float>) {
        let hd = headDim
        for j in 0..<groupSize {
            let h = g * groupSize + j
            for r in 0..<n { (dst + (j * n + r) * hd).update(from: src + r * ld + h * hd, count: hd) }
        }
    }

    /// The inverse of `gatherHeads`: [G·rows, hd] stacked rows into the group's head columns of
    /// `rows` rows `ld` apart.
    @inline(__always) private func scatterHeads(_ src: UnsafePointer<Float>, rows n: Int, group g: Int,
                                                into dst: UnsafeMutablePointer<Float>, ld: Int) {
        let hd = headDim
        for j in 0..<groupSize {
            let h = g * groupSize + j
            for r in 0..<n { (dst + r * ld + h * hd).update(from: src + (j * n + r) * hd, count: hd) }
        }
    }

    /// keys(i) relative to the stripe's first key.
    @inline(__always) private func local(_ i: Int, _ kr: Range<Int>) -> Range<Int> {
        let k = keys(i)
        return (k.lowerBound - kr.lowerBound)..<(k.upperBound - kr.lowerBound)
    }

    /// s [G·rows, keys.count] = qs · k_keysᵀ · scale for the stacked query rows `qs` [G·rows, hd]
    /// (see `keyProduct` for `k` and `panels`), soft-capped on each row's keys.
    private func scores(_ qs: UnsafePointer<Float>, k: UnsafePointer<Float>, panels: UnsafePointer<Float>?, stripe st: Stripe,
                        keys kr: Range<Int>, into s: UnsafeMutablePointer<Float>) {
        let w = kr.count, n = st.i1 - st.i0, m = groupSize * n
        keyProduct(qs, m: m, k, panels: panels, keys: kr, alpha: scale, into: s)
        if let softcap {
            for row in 0..<m {
                let line = s + row * w
                for j in local(st.i0 + row % n, kr) { line[j] = tanhf(line[j] / softcap) * softcap }
            }
        }
    }

    /// s [m, keys.count] = α · a [m, hd] · key rows `keys`ᵀ: on the kernels from `panels` (the group's
    /// keys or values packed from key 0 by `pack`), else on OpenBLAS from `key` (the first of the
    /// rows, `qkvStride` apart).
    @inline(__always) private func keyProduct(_ a: UnsafePointer<Float>, m: Int, _ key: UnsafePointer<Float>,
                                              panels: UnsafePointer<Float>?, keys kr: Range<Int>, alpha: Float,
                                              into s: UnsafeMutablePointer<Float>) {
        let w = kr.count
        if let panels {
            gim_attention_scores(a, m, headDim, panels, kr.lowerBound, w, alpha, s, w)
        } else {
            BLAS.gemm(transB: true, m: m, n: w, k: headDim, alpha: alpha, a: a, lda: headDim, b: key, ldb: qkvStride, c: s, ldc: w)
        }
    }

    /// c [m, hd] = α · p [m, keys] (rows `ldp` apart) · key rows [keys, hd] (`qkvStride` apart).
    @inline(__always) private func mix(_ p: UnsafePointer<Float>, _ ldp: Int, m: Int, keys w: Int, _ key: UnsafePointer<Float>,
                                       alpha: Float, into c: UnsafeMutablePointer<Float>, kernels: Bool) {
        if kernels {
            gim_attention_mix(p, ldp, m, w, key, qkvStride, headDim, alpha, c, headDim)
        } else {
            BLAS.gemm(m: m, n: headDim, k: w, alpha: alpha, a: p, lda: ldp, b: key, ldb: qkvStride, c: c, ldc: headDim)
        }
    }

    /// c [keys, hd] += α · p [m, keys]ᵀ (rows `ldp` apart) · x [m, hd].
    @inline(__always) private func gather(_ p: UnsafePointer<Float>, _ ldp: Int, m: Int, keys w: Int, _ x: UnsafePointer<Float>,
                                          alpha: Float, into c: UnsafeMutablePointer<Float>, kernels: Bool) {
        if kernels {
            gim_attention_gather(p, ldp, m, w, x, headDim, alpha, c)
        } else {
            BLAS.gemm(transA: true, m: w, n: headDim, k: m, alpha: alpha, a: p, lda: ldp, b: x, ldb: headDim,
                      beta: 1, c: c, ldc: headDim)
        }
    }

    /// From dCtx to dQKV for every head, rows < r, stripe by stripe, recomputing the scores and
    /// probabilities the forward did not keep:
    ///   ctx_h = P_h · v_g      →  dP_h = dctx_h · v_gᵀ,  dv_g += P_hᵀ · dctx_h
    ///   P_h = softmax(S_h)     →  dS_h = s_T ⊙ (dP_h − ⟨dP_h, s_T⟩),  s_T = softmax(S_h / T)  (GIM temperature)
    ///   S_h = tanh(R_h/c)·c    →  dR_h = dS_h ⊙ (1 − (S_h/c)²)   (soft-cap, differentiated normally)
    ///   S_h = q_h·k_gᵀ·scale   →  dq_h = dS_h · k_g·scale,  dk_g += dS_hᵀ · q_h·scale
    /// then dq, dk, dv are multiplied by GIM's q/k/v scales. A stripe holds whole rows, so the
    /// temperature softmax needs no statistics from the forward; it stacks a group's heads, so
    /// dv_g and dk_g sum over the group's heads inside one GEMM. Stripes run in parallel in
    /// contiguous parts of equal cost: each part writes dq rows directly and adds to its groups'
    /// dk/dv sums, except a group the part starts in the middle of, whose sums it makes apart and
    /// adds afterwards (the same sums in the same order for a given thread count).
    func backward(qkv: UnsafePointer<Float>, dCtx: UnsafePointer<Float>, dQKV: UnsafeMutablePointer<Float>,
                  scratch: AttentionBackwardScratch, tokens t: Int, rows r: Int, settings s: GIMSettings) {
        let hd = headDim, ld = qkvStride
        precondition(scratch.tokens == t && scratch.kvHeads == kvHeads && scratch.headDim == hd)
        let floats = backwardScratchFloats(tokens: t)
        let parts = t >= 16 ? Parallel.threads : 1
        scratch.reserveSpill(parts: parts)
        let (list, runs) = stripes(rows: r, tokens: t, parts: parts)
        // The kernels read the keys and values of rows < r packed once (keys then values, by group).
        var panels: UnsafePointer<Float>? = nil
        if Self.useKernels {
            let pf = panelFloats(keys: r), buffer = scratch.panels(floats: 2 * kvHeads * pf)
            pack(qkv, offset: kOffset, keys: r, into: buffer)
            pack(qkv, offset: vOffset, keys: r, into: buffer + kvHeads * pf)
            panels = UnsafePointer(buffer)
        }
        // The group each part starts in the middle of (its sums go to the part's spill slot), or nil.
        let spilled: [Int?] = runs.map { run in
            guard let k = run.first, list[k].i0 > 0 else { return nil }
            return list[k].group
        }
        let body = { (p: Int) in
            let stripes = gim_attention_scratch(floats)!
            for k in runs[p] {
                let st = list[k]
                let spill = st.group == spilled[p]
                let dk = spill ? scratch.spillDK(p) : scratch.dk + st.group * t * hd
                let dv = spill ? scratch.spillDV(p) : scratch.dv + st.group * t * hd
                if st.i0 == 0 || (spill && k == runs[p].lowerBound) {
                    dk.update(repeating: 0, count: r * hd)
                    dv.update(repeating: 0, count: r * hd)
                }
                backwardStripe(st, qkv: qkv, panels: panels, rows: r, dCtx: dCtx, dQKV: dQKV, dk: dk, dv: dv,
                               stripes: stripes, tokens: t, settings: s)
            }
        }
        if parts == 1 { body(0) } else {
            Parallel.forEachPart { p, pp in
                if pp == parts { body(p) } else if p == 0 { for q in runs.indices { body(q) } }
            }
        }
        for (p, g) in spilled.enumerated() {
            guard let g else { continue }
            let dk = scratch.dk + g * t * hd, dv = scratch.dv + g * t * hd, sk = scratch.spillDK(p), sv = scratch.spillDV(p)
            for i in 0..<r * hd { dk[i] += sk[i]; dv[i] += sv[i] }
        }
        // dQKV's k and v columns ← the group sums, then the q/k/v scales; rows are independent.
        Parallel.forEachRange(r, minimumPerPart: 16) { rowRange in
            for i in rowRange {
                let row = dQKV + i * ld
                for g in 0..<kvHeads {
                    (row + kOffset + g * hd).update(from: scratch.dk + (g * t + i) * hd, count: hd)
                    (row + vOffset + g * hd).update(from: scratch.dv + (g * t + i) * hd, count: hd)
                }
                if s.qScale != 1 || s.kScale != 1 || s.vScale != 1 {
                    for j in 0..<kOffset { row[j] *= s.qScale }
                    for j in kOffset..<vOffset { row[j] *= s.kScale }
                    for j in vOffset..<ld { row[j] *= s.vScale }
                }
            }
        }
    }

    /// One stripe of `backward`: writes the group's dq rows into dQKV and adds its dk, dv
    /// contributions ([T, headDim] each) into `dk`, `dv`. `stripes` holds `backwardScratchFloats`;
    /// `panels` are the keys and values of rows < r packed by `pack` when the kernels run (nil: OpenBLAS).
    private func backwardStripe(_ st: Stripe, qkv: UnsafePointer<Float>, panels: UnsafePointer<Float>?, rows r: Int,
                                dCtx: UnsafePointer<Float>,
                                dQKV: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                dv: UnsafeMutablePointer<Float>, stripes: UnsafeMutablePointer<Float>,
                                tokens t: Int, settings s: GIMSettings) {
        let hd = headDim, ld = qkvStride, g = st.group, n = st.i1 - st.i0, m = groupSize * n
        let kr = stripeKeys(st.i0, st.i1), w = kr.count
        let stripe = m * t
        let S = stripes, P = stripes + stripe, dP = stripes + 2 * stripe, sT = stripes + 3 * stripe
        let qs = stripes + 4 * stripe, dcs = qs + m * hd, dqs = dcs + m * hd
        let keys = { (row: Int) in self.local(st.i0 + row % n, kr) }
        let kk = qkv + kOffset + g * hd + kr.lowerBound * ld, vv = qkv + vOffset + g * hd + kr.lowerBound * ld
        gatherHeads(qkv + st.i0 * ld, ld: ld, group: g, rows: n, into: qs)
        gatherHeads(dCtx + st.i0 * ctxStride, ld: ctxStride, group: g, rows: n, into: dcs)
        let pf = panelFloats(keys: r)
        let keyPanels = panels.map { $0 + g * pf }, valuePanels = panels.map { $0 + (kvHeads + g) * pf }
        scores(qs, k: kk, panels: keyPanels, stripe: st, keys: kr, into: S)
        Activations.softmaxRows(S, P, rows: m, cols: w, keys: keys)
        // dP = dctx · vᵀ; dv += Pᵀ · dctx (the group's heads summed by the product)
        keyProduct(dcs, m: m, vv, panels: valuePanels, keys: kr, alpha: 1, into: dP)
        gather(P, w, m: m, keys: w, dcs, alpha: 1, into: dv + kr.lowerBound * hd, kernels: panels != nil)
        var sBackward = UnsafePointer(P)
        if s.softmaxTemperature != 1 {
            Activations.softmaxRows(S, sT, rows: m, cols: w, scale: 1 / s.softmaxTemperature, keys: keys)
            sBackward = UnsafePointer(sT)
        }
        Activations.softmaxBackwardRows(sBackward, dP, rows: m, cols: w, keys: keys)
        if let softcap {
            for row in 0..<m {
                let d = dP + row * w, capped = S + row * w
                for j in keys(row) {
                    let u = capped[j] / softcap
                    d[j] *= 1 - u * u
                }
            }
        }
        // dq = dS · k · scale (scattered to each head's columns); dk += dSᵀ · q · scale
        mix(dP, w, m: m, keys: w, kk, alpha: scale, into: dqs, kernels: panels != nil)
        scatterHeads(dqs, rows: n, group: g, into: dQKV + st.i0 * ld, ld: ld)
        gather(dP, w, m: m, keys: w, qs, alpha: scale, into: dk + kr.lowerBound * hd, kernels: panels != nil)
    }
}

/// Scratch memory of `CausalAttention.backward` for one prompt length, allocated once and
/// reused by every layer and every backward: each key/value head's gradient sums, [KV, T, headDim]
/// each, and a spill slot per thread for a group whose stripes two threads share (the stripes
/// themselves live in per-thread scratch).
/// Not `Sendable`: owned by one backward pass.
final class AttentionBackwardScratch {
    let tokens: Int, kvHeads: Int, headDim: Int
    let dkBuffer: FloatBuffer, dvBuffer: FloatBuffer
    private var spill: FloatBuffer
    private var packed: FloatBuffer

    init(tokens t: Int, kvHeads: Int, headDim: Int) {
        self.tokens = t; self.kvHeads = kvHeads; self.headDim = headDim
        dkBuffer = FloatBuffer(count: kvHeads * t * headDim)
        dvBuffer = FloatBuffer(count: kvHeads * t * headDim)
        spill = FloatBuffer(count: 0)
        packed = FloatBuffer(count: 0)
    }

    /// At least `floats` floats for the keys and values the attention kernels pack per call.
    func panels(floats: Int) -> UnsafeMutablePointer<Float> {
        if packed.count < floats { packed = FloatBuffer(count: floats) }
        return packed.pointer
    }

    var dk: UnsafeMutablePointer<Float> { dkBuffer.pointer }
    var dv: UnsafeMutablePointer<Float> { dvBuffer.pointer }

    /// Makes room for `parts` spill slots (dk and dv, [T, headDim] each).
    func reserveSpill(parts: Int) {
        let need = 2 * parts * tokens * headDim
        if spill.count < need { spill = FloatBuffer(count: need) }
    }
    func spillDK(_ part: Int) -> UnsafeMutablePointer<Float> { spill.pointer + 2 * part * tokens * headDim }
    func spillDV(_ part: Int) -> UnsafeMutablePointer<Float> { spill.pointer + (2 * part + 1) * tokens * headDim }
}
