/// The backward pass of `DecoderModel`: activation gradients only (no weight gradients), from a
/// seed gradient at the final hidden states down to the token embeddings, with GIM's
/// modifications applied as `GIMSettings` says. Each step names the forward line it undoes.
/// Not `Sendable`: its scratch buffers belong to the one thread that owns it (a session's).
public final class DecoderBackward: BackwardPass {
    public let model: DecoderModel
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
    /// [T, D] gradient at the input of a post-norm (`postNorms` only).
    let dPostNorm: FloatBuffer?
    /// Recomputes the layers of a checkpointed forward pass (made on first use).
    private var replay: CheckpointReplay?
    /// The seed's first row that is not all zero (set by `begin`; 0 with stacked sequences): the
    /// last block's MLP and attn_output backward start there (`BackwardSeed.firstNonzeroRow`).
    private var seedFirstRow = 0

    /// Stacked sequences (see `DecoderForwardCache.sequences`): the attention and RoPE run per
    /// sequence of t/sequences rows, everything else over all rows at once.
    let sequences: Int

    public init(model: DecoderModel, length: Int, sequences: Int = 1) {
        self.model = model
        t = length
        self.sequences = sequences
        let c = model.config
        dx = FloatBuffer(count: t * c.dim)
        dxn = FloatBuffer(count: t * c.dim)
        dAct = FloatBuffer(count: t * c.ffnDim)
        dGateUp = FloatBuffer(count: t * 2 * c.ffnDim)
        dCtx = FloatBuffer(count: t * c.attnDim)
        dQKV = FloatBuffer(count: t * c.qkvDim)
        attentionScratch = AttentionBackwardScratch(tokens: t / sequences, kvHeads: c.kvHeads, headDim: c.headDim)
        dPostNorm = c.postNorms ? FloatBuffer(count: t * c.dim) : nil
    }

    /// Runs the backward. `seed` is [T, D], the gradient at `cache.hidden` (the normalized final
    /// hidden states); rows at or after `rows` must be zero, which lets the causal backward skip them.
    /// Returns the gradient at `cache.embeddings`, [T, D] (a buffer owned by this object, valid until
    /// the next call).
    public func run(_ pass: ForwardPass, seed: FloatBuffer, rows: Int?, settings s: GIMSettings,
                    observer: GradientObserver?, cancellation: Cancellation?) throws -> FloatBuffer {
        let cache = pass as! DecoderForwardCache
        let r = begin(cache, seed: seed, rows: rows, settings: s)
        for l in stride(from: model.config.layers - 1, through: 0, by: -1) {
            try cancellation.check()
            step(layer: l, layer(l, of: cache), cache, rows: r, settings: s, observer: observer)
        }
        return finish(rows: r)
    }

    /// Several backwards of one kept forward pass (same seed, each with its own settings, each on
    /// its own `DecoderBackward` of the same length), run layer by layer side by side so that a
    /// checkpointed pass recomputes each layer once for all of them instead of once per backward
    /// (`gim explain` runs GIM and the plain gradient: at long prompts the recomputation is a
    /// whole forward). Returns each one's gradient at the embeddings, [T, D], as `run` would.
    public static func runTogether(_ backwards: [DecoderBackward], _ pass: ForwardPass, seed: FloatBuffer, rows: Int?,
                                   settings: [GIMSettings], cancellation: Cancellation?) throws -> [FloatBuffer] {
        precondition(!backwards.isEmpty && backwards.count == settings.count)
        let cache = pass as! DecoderForwardCache
        let r = zip(backwards, settings).map { $0.begin(cache, seed: seed, rows: rows, settings: $1) }.first!
        for l in stride(from: backwards[0].model.config.layers - 1, through: 0, by: -1) {
            try cancellation.check()
            let lc = backwards[0].layer(l, of: cache)
            for (b, s) in zip(backwards, settings) {
                precondition(b.model === backwards[0].model && b.t == backwards[0].t && b.sequences == backwards[0].sequences)
                b.step(layer: l, lc, cache, rows: r, settings: s, observer: nil)
            }
        }
        return backwards.map { $0.finish(rows: r) }
    }

    /// Checks the shapes, clears dx and runs the final norm's backward. Returns the rows to compute.
    private func begin(_ cache: DecoderForwardCache, seed: FloatBuffer, rows: Int?, settings s: GIMSettings) -> Int {
        let c = model.config, w = model.weights
        precondition(cache.length == t && seed.count == t * c.dim && cache.sequences == sequences)
        // Causality: position i only influences positions ≥ i, so a seed on rows < r only needs rows < r
        // (one sequence; stacked sequences run every row).
        let r = sequences > 1 ? t : min(rows ?? t, t)
        replay?.forget()
        seedFirstRow = sequences > 1 ? 0 : BackwardSeed.firstNonzeroRow(seed.pointer, rows: r, dim: c.dim)
        dx.zero()
        // hidden = output_norm(xOut)
        RMSNorm.backward(seed.pointer, cache.xOut.pointer, w.outputNorm.pointer, invRms: cache.invRmsOut.pointer,
                         dx: dx.pointer, rows: r, dim: c.dim, frozen: s.freezeNorm)
        return r
    }

    /// Block l backward: dx at the block's output in, dx at its input out. `lc` holds the block's
    /// activations (read only).
    private func step(layer l: Int, _ lc: DecoderLayerCache, _ cache: DecoderForwardCache, rows r: Int,
                      settings s: GIMSettings, observer: GradientObserver?) {
        let c = model.config, lw = model.weights.blocks[l]
        let d = c.dim, f = c.ffnDim
        let n = t / sequences, seqRows = sequences > 1 ? n : r
        observer?(.blockOutput(layer: l), dx.pointer, d)
        // Rows lo..<r of the MLP and attn_output backward: in the last block only the seed's rows
        // (`seedFirstRow`) have a gradient there, elsewhere every row may. An observer sees every row.
        let lo = l == c.layers - 1 && observer == nil ? seedFirstRow : 0, rr = r - lo, f2 = 2 * f

        // xOut = xMid + [post_ffn_norm](mlpOut): the residual passes dx through.
        let dMLP = postNormBackward(dx, input: lc.mlpOut, weight: lw.extras.postFfnNorm, invRms: lc.invRmsPostFfn,
                                    rows: lo..<r, settings: s)
        // mlpOut = ffn_down(act): act gets dMLP · W_down.
        lw.down.backward(dMLP.pointer + lo * d, dAct.pointer + lo * f, rows: rr)
        // act = act(gate) ⊙ up, with GIM's scales on the two branches at the product and the
        // activation rule (gradient, or AttnLRP's identity) at act(gate).
        Activations.gatedProductBackwardRows(c.activation, lc.gateUp.pointer + lo * f2, dAct.pointer + lo * f,
                                             dGateUp.pointer + lo * f2, rows: rr, f: f,
                                             gateScale: s.gateScale, upScale: s.upScale, rule: s.activationRule)
        // [gate | up] = ffn_norm(xMid) · W_gateUpᵀ
        lw.gateUp.backward(dGateUp.pointer + lo * f2, dxn.pointer + lo * d, rows: rr)
        // n = ffn_norm(xMid); dx already holds the residual path's gradient at xMid.
        RMSNorm.backward(dxn.pointer + lo * d, lc.xMid.pointer + lo * d, lw.ffnNorm.pointer, invRms: lc.invRms2.pointer + lo,
                         dx: dx.pointer + lo * d, rows: rr, dim: d, frozen: s.freezeNorm)
        observer?(.attentionOutput(layer: l), dx.pointer, d)

        // xMid = xIn + [post_attn_norm](attn_output(ctx))
        let dAttention = postNormBackward(dx, input: lc.attnOut, weight: lw.extras.postAttnNorm,
                                          invRms: lc.invRmsPostAttn, rows: lo..<r, settings: s)
        lw.o.backward(dAttention.pointer + lo * d, dCtx.pointer + lo * c.attnDim, rows: rr)
        // The attention reads dctx on every row < r (rows < lo: none reaches the seed from here).
        dCtx.pointer.update(repeating: 0, count: lo * c.attnDim)
        observer?(.headOutputs(layer: l), dCtx.pointer, c.attnDim)
        for q in 0..<sequences {
            let o = q * n
            model.attention(layer: l).backward(qkv: lc.qkv.pointer + o * c.qkvDim, dCtx: dCtx.pointer + o * c.attnDim,
                                               dQKV: dQKV.pointer + o * c.qkvDim, scratch: attentionScratch,
                                               tokens: n, rows: seqRows, settings: s)
            // q, k = rope(q), rope(k): rotate the gradients back.
            cache.ropes.table(c, layer: l).apply(dQKV.pointer + o * c.qkvDim, rows: seqRows, rowStride: c.qkvDim,
                                                 heads: c.heads + c.kvHeads, layout: c.ropeLayout, inverse: true)
        }
        // q, k = q_norm(q), k_norm(k) per head (its statistics frozen with freeze_norm).
        if let qNorm = lw.extras.qNorm, let kNorm = lw.extras.kNorm, let input = lc.qkNormInput, let inv = lc.qkInvRms {
            HeadRMSNorm.backward(dQKV.pointer, rows: r, rowStride: c.qkvDim, heads: c.heads, headDim: c.headDim,
                                 weight: qNorm.pointer, input: input.pointer, invRms: inv.pointer, frozen: s.freezeNorm)
            HeadRMSNorm.backward(dQKV.pointer + c.attnDim, rows: r, rowStride: c.qkvDim, heads: c.kvHeads, headDim: c.headDim,
                                 weight: kNorm.pointer, input: input.pointer + t * c.heads * c.headDim,
                                 invRms: inv.pointer + t * c.heads, frozen: s.freezeNorm)
        }
        // [q | k | v] = attn_norm(xIn) · W_qkvᵀ (+ bias, which passes the gradient unchanged)
        lw.qkv.backward(dQKV.pointer, dxn.pointer, rows: r)
        RMSNorm.backward(dxn.pointer, lc.xIn.pointer, lw.attnNorm.pointer, invRms: lc.invRms1.pointer,
                         dx: dx.pointer, rows: r, dim: d, frozen: s.freezeNorm)
        observer?(.blockInput(layer: l), dx.pointer, d)
    }

    /// xIn of the first block = e · embeddingScale: the gradient at the embeddings.
    private func finish(rows r: Int) -> FloatBuffer {
        let c = model.config
        if c.embeddingScale != 1 { for i in 0..<r * c.dim { dx[i] *= c.embeddingScale } }
        return dx
    }

    /// Layer l's activations: kept by the forward, or recomputed from the checkpoints (`replay`,
    /// made on first use).
    private func layer(_ l: Int, of cache: DecoderForwardCache) -> DecoderLayerCache {
        guard cache.checkpointed else { return cache.layers[l] }
        if replay == nil { replay = CheckpointReplay(model: model, rows: t) }
        return replay!.layer(l, of: cache)
    }

    /// The gradient at a post-norm's input from the gradient `dy` at its output (on `rows`), or
    /// `dy` itself when the family has no post-norm there.
    private func postNormBackward(_ dy: FloatBuffer, input: FloatBuffer?, weight: FloatBuffer?, invRms: FloatBuffer?,
                                  rows: Range<Int>, settings s: GIMSettings) -> FloatBuffer {
        guard let input, let weight, let invRms, let out = dPostNorm else { return dy }
        let d = model.config.dim, lo = rows.lowerBound
        (out.pointer + lo * d).update(repeating: 0, count: rows.count * d)
        RMSNorm.backward(dy.pointer + lo * d, input.pointer + lo * d, weight.pointer, invRms: invRms.pointer + lo,
                         dx: out.pointer + lo * d, rows: rows.count, dim: d, frozen: s.freezeNorm)
        return out
    }
}
