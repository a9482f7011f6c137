import Foundation

/// A pre-norm decoder of the Llama lineage: RMSNorm, RoPE, grouped-query causal attention, a
/// gated MLP, tied or untied head, plus the switches of `DecoderConfig` that make it Qwen,
/// Gemma, Mistral or Phi-3. The forward pass is the model's ordinary forward; GIM only changes
/// the backward (`DecoderBackward.swift`).
public final class DecoderModel: CausalLanguageModel, Sendable {
    public let weights: DecoderWeights
    public var config: DecoderConfig { weights.config }

    public init(weights: DecoderWeights) {
        self.weights = weights
    }

    // MARK: CausalLanguageModel

    public var architecture: String { config.family }
    public var vocabSize: Int { config.vocabSize }
    public var dim: Int { config.dim }
    public var layerCount: Int { config.layers }
    public var headCount: Int { config.heads }
    public var headDim: Int { config.headDim }
    public var contextLength: Int { config.contextLength }
    public var parameterCount: Int { config.parameterCount }
    public var tokenEmbedding: WeightMatrix { weights.tokenEmbedding }
    public var outputHead: WeightMatrix { weights.output }
    public func logitSlope(_ pass: ForwardPass, at position: Int, token: Int) -> Float {
        guard let cap = config.finalLogitSoftcap else { return 1 }
        let cache = pass as! DecoderForwardCache, d = config.dim
        let h = cache.hidden.pointer + position * d, w = weights.output.row(token)
        var raw = 0.0
        for j in 0..<d { raw += Double(h[j]) * Double(w[j]) }
        let c = cosh(raw / Double(cap))
        return Float(1 / (c * c))
    }
    public func forwardPass(_ tokens: [Int], embeddings: [Float]?) throws -> ForwardPass {
        try forward(tokens, embeddings: embeddings)
    }
    public func forwardPass(_ tokens: [Int], embeddings: [Float]?, cancellation: Cancellation?) throws -> ForwardPass {
        try forward(tokens, embeddings: embeddings, cancellation: cancellation)
    }
    public func makeBackward(length: Int) -> BackwardPass { DecoderBackward(model: self, length: length) }
    public func forwardFLOPs(tokens: Int) -> Double { FLOPs.forward(config, tokens: tokens) }
    public func backwardFLOPs(tokens: Int) -> Double { FLOPs.backward(config, tokens: tokens) }

    /// Runs the forward pass over `tokens` and keeps every activation the backward needs.
    /// `embeddings` ([T, D]), when given, replaces the token-embedding lookup (finite-difference
    /// checks and perturbation tests feed modified inputs this way).
    /// `cancellation` is polled before each layer. `sequences` > 1 stacks that many independent
    /// sequences of tokens.count/sequences rows each (`batchGradients` runs Integrated Gradients'
    /// path points so: one GEMM per projection).
    public func forward(_ tokens: [Int], embeddings: [Float]? = nil, cancellation: Cancellation? = nil,
                        sequences b: Int = 1) throws -> DecoderForwardCache {
        let c = config
        guard b >= 1 && tokens.count % b == 0 else {
            throw ModelError.badInput("\(tokens.count) tokens do not split into \(b) sequences")
        }
        let n = tokens.count / b
        try ForwardInput.validate(b == 1 ? tokens : Array(tokens[0..<n]), vocabSize: c.vocabSize, contextLength: c.contextLength)
        let t = tokens.count, d = c.dim
        let checkpoint = c.keptBytes(tokens: t) > Self.keptActivationBudget
        try ForwardInput.requireMemory(c.activationBytes(tokens: t), tokens: t)
        // Long prompts keep only each block's residual after attention (`LayerCheckpoint`); the
        // backward recomputes the rest but the attention from it (`CheckpointReplay`).
        let cache = DecoderForwardCache(config: c, tokens: tokens, sequences: b, checkpointsOf: checkpoint ? self : nil)

        // e = embed_tokens(ids): [T, D]; the residual stream starts at e · embeddingScale.
        try ForwardInput.embed(tokens, table: weights.tokenEmbedding, dim: d, override: embeddings, into: cache.embeddings)
        let x0 = cache.input(of: 0)
        x0.copy(from: cache.embeddings)
        if c.embeddingScale != 1 { for i in 0..<t * d { x0[i] *= c.embeddingScale } }

        let scratch = BlockScratch(c, rows: t)
        // Checkpointed: one cache for every block in turn; each block's output becomes the next
        // block's input in place (blockForward allows output = xIn).
        let work = checkpoint ? DecoderLayerCache(c, rows: t) : nil
        if let work { work.xIn.copy(from: x0) }
        for l in 0..<c.layers {
            try cancellation.check()
            let lc = work ?? cache.layers[l]
            let out = l + 1 == c.layers ? cache.xOut : work?.xIn ?? cache.layers[l + 1].xIn
            blockForward(layer: l, lc, output: out.pointer, scratch: scratch, sequences: b, length: n,
                         rope: cache.ropes.table(c, layer: l))
            if work != nil { cache.checkpoints[l].keep(lc) }
        }
        RMSNorm.forward(cache.xOut.pointer, weights.outputNorm.pointer, cache.hidden.pointer,
                        invRms: cache.invRmsOut.pointer, rows: t, dim: d, eps: c.rmsEps)
        return cache
    }

    /// Above this many bytes of kept activations a forward keeps only each block's checkpoint
    /// (`LayerCheckpoint`: the residual after attention) and the backward recomputes the blocks'
    /// projections (not their attention, `CheckpointReplay`): SmolLM2 keeps everything up to
    /// ~1,500 tokens, where a knob change is one backward; beyond, memory stays ~linear in T·D
    /// per layer.
    /// (Tests lower it to compare both paths, between passes; nothing else writes it.)
    public static var keptActivationBudget: Int {
        get { keptActivationBudgetSetting.value }
        set { keptActivationBudgetSetting.value = newValue }
    }
    private static let keptActivationBudgetSetting = Locked(1 << 30)

    /// One decoder block over `sequences` stacked sequences of `length` rows each (R rows), from
    /// `lc.xIn` to `output` ([R, D], may be `lc.xIn` itself when nothing is kept for a backward):
    ///   q|k|v = attn_norm(xIn)·W_qkvᵀ (+ bias); q, k = rope(qk_norm(q, k)); ctx = attention(q, k, v)
    ///   xMid  = xIn + post_attn_norm(attn_output(ctx))             (post-norm: Gemma 2/3)
    ///   xOut  = xMid + post_ffn_norm(down(act(gate) ⊙ up)), [gate | up] = ffn_norm(xMid)·W_gateUpᵀ
    /// The attention keeps nothing [T, T] (see `CausalAttention`); its backward recomputes it.
    /// With `kv` (one sequence only) the rows are positions `kv.start…` of a sequence whose earlier
    /// keys and values are in the KV cache: this step's k, v are stored there and attention reads
    /// every cached position (`DecoderKVCache`).
    /// `patch`, when given, may overwrite activations in `lc` at two points (activation patching,
    /// `DecoderModel+Patching.swift`): `.headOutputs` once ctx holds every head's output (before
    /// attn_output reads it), `.attentionOutput` once xMid holds the residual after attention
    /// (before the MLP reads it).
    func blockForward(layer l: Int, _ lc: DecoderLayerCache, output: UnsafeMutablePointer<Float>, scratch: BlockScratch,
                      sequences b: Int, length n: Int, rope: RoPETable, kv: KVStep? = nil,
                      patch: ((GradientSite) -> Void)? = nil) {
        let c = config, lw = weights.blocks[l], d = c.dim, r = b * n
        let xn = scratch.xn

        // Attention block.
        attentionInputs(layer: l, lc, xn: xn, rows: r)
        let attention = attention(layer: l)
        if let kv {
            precondition(b == 1 || kv.stride > 0, "stacked KV-cached sequences need a cache each")
            // Sequence s's n new rows at positions kv.start..., against its own cache.
            Parallel.forEachRange(b, minimumPerPart: b > 1 ? 1 : b) { seqs in
                for s in seqs {
                    let qkv = lc.qkv.pointer + s * n * c.qkvDim
                    rope.apply(qkv, rows: n, rowStride: c.qkvDim, heads: c.heads + c.kvHeads, layout: c.ropeLayout,
                               inverse: false, firstPosition: kv.start)
                    attention.forwardCached(qkv: qkv, rows: n, keys: kv.keys + s * kv.stride, values: kv.values + s * kv.stride,
                                            start: kv.start, ctx: lc.ctx.pointer + s * n * c.attnDim, parallel: b == 1)
                }
            }
        } else {
        // Sequences in parallel when several are stacked (positions restart at 0 in each),
        // else the heads of the one sequence.
        Parallel.forEachRange(b, minimumPerPart: b > 1 ? 1 : b) { seqs in
            for s in seqs {
                let qkv = lc.qkv.pointer + s * n * c.qkvDim
                rope.apply(qkv, rows: n, rowStride: c.qkvDim, heads: c.heads + c.kvHeads, layout: c.ropeLayout, inverse: false)
                attention.forward(qkv: qkv, ctx: lc.ctx.pointer + s * n * c.attnDim, tokens: n, parallel: b == 1)
            }
        }
        }
        patch?(.headOutputs(layer: l))
        lc.xMid.copy(from: lc.xIn)
        if let post = lw.extras.postAttnNorm, let raw = lc.attnOut, let inv = lc.invRmsPostAttn {
            lw.o.forward(lc.ctx.pointer, raw.pointer, rows: r)
            RMSNorm.forward(raw.pointer, post.pointer, xn.pointer, invRms: inv.pointer, rows: r, dim: d, eps: c.rmsEps)
            for i in 0..<r * d { lc.xMid[i] += xn[i] }
        } else {
            lw.o.forward(lc.ctx.pointer, lc.xMid.pointer, rows: r, accumulate: true)
        }
        patch?(.attentionOutput(layer: l))

        // MLP block.
        mlpBlock(layer: l, lc, output: output, scratch: scratch, rows: r)
    }

    /// The MLP half of block l from lc.xMid: gate|up and ffn_norm's 1/rms into lc (with post-norms
    /// also ffn_down's output and its norm's 1/rms), and output = xMid + [post_ffn_norm](down(act))
    /// ([R, D], may be lc.xIn). Without `output`, only what the backward reads (a family without
    /// post-norms then stops at gate|up).
    func mlpBlock(layer l: Int, _ lc: DecoderLayerCache, output: UnsafeMutablePointer<Float>?, scratch: BlockScratch,
                  rows r: Int) {
        let c = config, lw = weights.blocks[l], d = c.dim, xn = scratch.xn
        mlpInputs(layer: l, lc, xn: xn, rows: r)
        guard output != nil || lw.extras.postFfnNorm != nil else { return }
        Activations.gatedProductRows(c.activation, lc.gateUp.pointer, scratch.act.pointer, rows: r, f: c.ffnDim)
        output?.update(from: lc.xMid.pointer, count: r * d)
        if let post = lw.extras.postFfnNorm, let raw = lc.mlpOut, let inv = lc.invRmsPostFfn {
            lw.down.forward(scratch.act.pointer, raw.pointer, rows: r)
            RMSNorm.forward(raw.pointer, post.pointer, xn.pointer, invRms: inv.pointer, rows: r, dim: d, eps: c.rmsEps)
            if let output { for i in 0..<r * d { output[i] += xn[i] } }
        } else if let output {
            lw.down.forward(scratch.act.pointer, output, rows: r, accumulate: true)
        }
    }

    /// q|k|v = attn_norm(xIn)·W_qkvᵀ (+ bias), then the per-head q/k norms (RoPE not applied):
    /// lc.invRms1, lc.qkv (and qkNormInput, qkInvRms) from lc.xIn. R = rows; xn [R, D] scratch.
    func attentionInputs(layer l: Int, _ lc: DecoderLayerCache, xn: FloatBuffer, rows r: Int) {
        let c = config, lw = weights.blocks[l], hd = c.headDim
        RMSNorm.forward(lc.xIn.pointer, lw.attnNorm.pointer, xn.pointer, invRms: lc.invRms1.pointer,
                        rows: r, dim: c.dim, eps: c.rmsEps)
        lw.qkv.forward(xn.pointer, lc.qkv.pointer, rows: r)
        if let bias = lw.extras.qkvBias { Self.addRowBias(lc.qkv.pointer, bias.pointer, rows: r, width: c.qkvDim) }
        if let qNorm = lw.extras.qNorm, let kNorm = lw.extras.kNorm, let input = lc.qkNormInput, let inv = lc.qkInvRms {
            // Per-head RMSNorm of q (H heads), then of k (KV heads); the saved input is q's
            // [R, H, hd] followed by k's [R, KV, hd], and 1/rms likewise [R, H] then [R, KV].
            HeadRMSNorm.forward(lc.qkv.pointer, rows: r, rowStride: c.qkvDim, heads: c.heads, headDim: hd,
                                weight: qNorm.pointer, eps: c.rmsEps, input: input.pointer, invRms: inv.pointer)
            HeadRMSNorm.forward(lc.qkv.pointer + c.attnDim, rows: r, rowStride: c.qkvDim, heads: c.kvHeads, headDim: hd,
                                weight: kNorm.pointer, eps: c.rmsEps, input: input.pointer + r * c.heads * hd,
                                invRms: inv.pointer + r * c.heads)
        }
    }

    /// gate|up = ffn_norm(xMid)·W_gateUpᵀ: lc.invRms2, lc.gateUp from lc.xMid. xn [R, D] scratch.
    func mlpInputs(layer l: Int, _ lc: DecoderLayerCache, xn: FloatBuffer, rows r: Int) {
        let c = config, lw = weights.blocks[l]
        RMSNorm.forward(lc.xMid.pointer, lw.ffnNorm.pointer, xn.pointer, invRms: lc.invRms2.pointer,
                        rows: r, dim: c.dim, eps: c.rmsEps)
        lw.gateUp.forward(xn.pointer, lc.gateUp.pointer, rows: r)
    }

    /// What the backward reads of block l's attention half, from lc.xIn (and, with post-norms,
    /// lc.attnOut): q|k|v after their norms and RoPE, attn_norm's 1/rms (and the post-attention
    /// norm's). The same operations on the same values as `blockForward`, so the same bits; the
    /// attention itself (ctx) is not recomputed: the backward recomputes its probabilities.
    func attentionHalfForBackward(layer l: Int, _ lc: DecoderLayerCache, scratch: BlockScratch, sequences b: Int,
                                  length n: Int, rope: RoPETable) {
        let c = config, lw = weights.blocks[l], r = b * n, xn = scratch.xn
        attentionInputs(layer: l, lc, xn: xn, rows: r)
        Parallel.forEachRange(b, minimumPerPart: b > 1 ? 1 : b) { seqs in
            for s in seqs {
                rope.apply(lc.qkv.pointer + s * n * c.qkvDim, rows: n, rowStride: c.qkvDim, heads: c.heads + c.kvHeads,
                           layout: c.ropeLayout, inverse: false)
            }
        }
        if let post = lw.extras.postAttnNorm, let raw = lc.attnOut, let inv = lc.invRmsPostAttn {
            RMSNorm.forward(raw.pointer, post.pointer, xn.pointer, invRms: inv.pointer, rows: r, dim: c.dim, eps: c.rmsEps)
        }
    }

    /// y[r, j] += bias[j] for every row of y [rows, width].
    static func addRowBias(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let row = y + r * width
            for j in 0..<width { row[j] += bias[j] }
        }
    }

    /// The attention of layer `l`: grouped-query, the family's scale, soft-cap and window.
    func attention(layer l: Int) -> CausalAttention {
        CausalAttention(heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim,
                        scale: config.attentionScale, window: config.window(layer: l), softcap: config.attentionSoftcap)
    }

    /// Logits over the vocabulary at one position of a forward pass: output · hidden[p],
    /// soft-capped where the family caps them. [vocab]
    public func logits(_ pass: ForwardPass, at position: Int) -> [Float] {
        let c = config, cache = pass as! DecoderForwardCache
        precondition(position >= 0 && position < cache.length)
        var out = [Float](repeating: 0, count: c.vocabSize)
        out.withUnsafeMutableBufferPointer { o in
            weights.output.forward(cache.hidden.pointer + position * c.dim, o.baseAddress!, tokens: 1, ldy: c.vocabSize,
                                   accumulate: false)
        }
        if let cap = c.finalLogitSoftcap { Self.softcap(&out, cap) }
        return out
    }

    /// l ← tanh(l/c)·c.
    static func softcap(_ logits: inout [Float], _ cap: Float) {
        for i in logits.indices { logits[i] = tanhf(logits[i] / cap) * cap }
    }
}
