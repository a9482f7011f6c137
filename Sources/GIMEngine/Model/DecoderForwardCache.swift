/// What the forward pass of one decoder block keeps for the backward pass.
/// R = rows (the prompt's T tokens, or several stacked sequences in the batched forward);
/// D = dim; F = ffnDim; H = heads; KV = kvHeads; hd = headDim.
public final class DecoderLayerCache: Sendable {
    /// [R, D] residual stream entering the block (input of attn_norm).
    public let xIn: FloatBuffer
    /// [R] 1/rms of each row of xIn.
    public let invRms1: FloatBuffer
    /// [R, qkvDim] per row: q (H heads) | k (KV heads) | v (KV heads), q and k after their norms
    /// and RoPE, as attention reads them.
    public let qkv: FloatBuffer
    /// [R, (H+KV)·hd] q | k before the per-head norms, and [R, H+KV] their 1/rms (`qkNorm` only).
    public let qkNormInput: FloatBuffer?
    public let qkInvRms: FloatBuffer?
    /// [R, H·hd] attention output per head, the input of attn_output.
    public let ctx: FloatBuffer
    /// [R, D] attn_output(ctx) before the post-attention norm, and [R] its 1/rms (`postNorms` only).
    public let attnOut: FloatBuffer?
    public let invRmsPostAttn: FloatBuffer?
    /// [R, D] residual stream after the attention block (input of ffn_norm).
    public let xMid: FloatBuffer
    /// [R] 1/rms of each row of xMid.
    public let invRms2: FloatBuffer
    /// [R, 2F] per row: the gate projection (before the activation) | the up projection.
    public let gateUp: FloatBuffer
    /// [R, D] ffn_down's output before the post-feed-forward norm, and [R] its 1/rms (`postNorms` only).
    public let mlpOut: FloatBuffer?
    public let invRmsPostFfn: FloatBuffer?

    /// Nothing [T, T]: the attention's scores and probabilities are recomputed by the backward.
    init(_ c: DecoderConfig, rows t: Int) {
        xIn = FloatBuffer(count: t * c.dim)
        invRms1 = FloatBuffer(count: t)
        qkv = FloatBuffer(count: t * c.qkvDim)
        qkNormInput = c.qkNorm ? FloatBuffer(count: t * (c.heads + c.kvHeads) * c.headDim) : nil
        qkInvRms = c.qkNorm ? FloatBuffer(count: t * (c.heads + c.kvHeads)) : nil
        ctx = FloatBuffer(count: t * c.attnDim)
        attnOut = c.postNorms ? FloatBuffer(count: t * c.dim) : nil
        invRmsPostAttn = c.postNorms ? FloatBuffer(count: t) : nil
        xMid = FloatBuffer(count: t * c.dim)
        invRms2 = FloatBuffer(count: t)
        gateUp = FloatBuffer(count: t * 2 * c.ffnDim)
        mlpOut = c.postNorms ? FloatBuffer(count: t * c.dim) : nil
        invRmsPostFfn = c.postNorms ? FloatBuffer(count: t) : nil
    }

    /// Every buffer, for byte counts.
    var buffers: [FloatBuffer] {
        [xIn, invRms1, qkv, ctx, xMid, invRms2, gateUp]
            + [qkNormInput, qkInvRms, attnOut, invRmsPostAttn, mlpOut, invRmsPostFfn].compactMap { $0 }
    }
}

/// The forward pass of one prompt, with every activation the GIM backward needs.
/// A knob change or a new target reuses it: only the backward runs again.
public final class DecoderForwardCache: ForwardPass, Sendable {
    public let config: DecoderConfig
    public let tokens: [Int]
    /// [T, D] token embedding rows: the `e` of the attribution (before anything else in the model).
    public let embeddings: FloatBuffer
    /// Per layer, everything its backward needs; empty when `checkpointed`.
    public let layers: [DecoderLayerCache]
    /// When `checkpointed`: per layer, only the block's input [T, D]; the backward recomputes the
    /// block from it (`recompute`). Long prompts keep this, so memory stays near T·D per layer.
    public let layerInputs: [FloatBuffer]
    public var checkpointed: Bool { layers.isEmpty }
    /// Recomputes layer l's activations into a cache of T rows whose xIn holds the layer's input
    /// (checkpointed passes only).
    let recompute: (@Sendable (Int, DecoderLayerCache) -> Void)?
    /// [T, D] residual stream after the last block (input of output_norm).
    public let xOut: FloatBuffer
    /// [T] 1/rms of each row of xOut.
    public let invRmsOut: FloatBuffer
    /// [T, D] normalized final hidden states; logits at position p are output · hidden[p].
    public let hidden: FloatBuffer
    let ropes: DecoderRoPE

    /// Independent sequences stacked in the rows (1 for a prompt; Integrated Gradients stacks its
    /// path points): sequence s is rows s·n..<(s+1)·n, n = `sequenceLength`, positions restarting at 0.
    public let sequences: Int
    public var sequenceLength: Int { length / sequences }

    /// `recompute` nil keeps every layer's activations; given, only the layers' inputs.
    init(config c: DecoderConfig, tokens: [Int], sequences: Int = 1, recompute: (@Sendable (Int, DecoderLayerCache) -> Void)? = nil) {
        config = c
        self.tokens = tokens
        self.sequences = sequences
        self.recompute = recompute
        let t = tokens.count
        embeddings = FloatBuffer(count: t * c.dim)
        layers = recompute == nil ? (0..<c.layers).map { _ in DecoderLayerCache(c, rows: t) } : []
        layerInputs = recompute == nil ? [] : (0..<c.layers).map { _ in FloatBuffer(count: t * c.dim) }
        xOut = FloatBuffer(count: t * c.dim)
        invRmsOut = FloatBuffer(count: t)
        hidden = FloatBuffer(count: t * c.dim)
        ropes = DecoderRoPE(c, positions: t / sequences)
    }

    /// The input of layer l, [T, D].
    func input(of l: Int) -> FloatBuffer { checkpointed ? layerInputs[l] : layers[l].xIn }

    /// Layer l's activations: kept, or recomputed into a new cache.
    func layer(_ l: Int) -> DecoderLayerCache {
        if !checkpointed { return layers[l] }
        let work = DecoderLayerCache(config, rows: length)
        work.xIn.copy(from: layerInputs[l])
        recompute!(l, work)
        return work
    }

    public func componentOutput(_ site: GradientSite) -> [Float]? {
        let t = length, d = config.dim
        switch site {
        case .blockOutput(let l):
            // MLP output = residual after block l − residual between attention and MLP.
            let after = l + 1 < config.layers ? input(of: l + 1) : xOut
            let lc = layer(l)
            return (0..<t * d).map { after[$0] - lc.xMid[$0] }
        case .attentionOutput(let l):
            let lc = layer(l)
            return (0..<t * d).map { lc.xMid[$0] - lc.xIn[$0] }
        case .headOutputs(let l):
            return layer(l).ctx.array
        case .blockInput(let l):
            return input(of: l).array
        }
    }

    /// Bytes held by the cache (for memory reports).
    public var byteCount: Int {
        let perLayer = layers.first.map { l in l.buffers.reduce(0) { $0 + $1.count } } ?? 0
        let inputs = layerInputs.reduce(0) { $0 + $1.count }
        return 4 * (perLayer * layers.count + inputs + embeddings.count + xOut.count + invRmsOut.count + hidden.count)
    }
}

/// The rotary tables of a decoder for one prompt length: one for full-attention layers and,
/// where the family rotates sliding-window layers differently (Gemma 3), one for those.
struct DecoderRoPE {
    let global: RoPETable
    let local: RoPETable?

    init(_ c: DecoderConfig, positions: Int) {
        global = RoPETable(positions: positions, headDim: c.headDim, spec: c.rope)
        local = c.localRope.map { RoPETable(positions: positions, headDim: c.headDim, spec: $0) }
    }

    /// The table of layer `l`.
    func table(_ c: DecoderConfig, layer l: Int) -> RoPETable {
        if let local, c.window(layer: l) != nil { return local }
        return global
    }
}
