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
    /// `mlpHalfOnly`: only the MLP half's buffers (xMid, invRms2, gateUp, mlpOut, invRmsPostFfn)
    /// have rows, the others none (`CheckpointReplay` carries an MLP half in one).
    init(_ c: DecoderConfig, rows: Int, mlpHalfOnly: Bool = false) {
        let t = rows, a = mlpHalfOnly ? 0 : rows
        xIn = FloatBuffer(count: a * c.dim)
        invRms1 = FloatBuffer(count: a)
        qkv = FloatBuffer(count: a * c.qkvDim)
        qkNormInput = c.qkNorm ? FloatBuffer(count: a * (c.heads + c.kvHeads) * c.headDim) : nil
        qkInvRms = c.qkNorm ? FloatBuffer(count: a * (c.heads + c.kvHeads)) : nil
        ctx = FloatBuffer(count: a * c.attnDim)
        attnOut = c.postNorms && !mlpHalfOnly ? FloatBuffer(count: t * c.dim) : nil
        invRmsPostAttn = c.postNorms ? FloatBuffer(count: a) : nil
        xMid = FloatBuffer(count: t * c.dim)
        invRms2 = FloatBuffer(count: t)
        gateUp = FloatBuffer(count: t * 2 * c.ffnDim)
        mlpOut = c.postNorms ? FloatBuffer(count: t * c.dim) : nil
        invRmsPostFfn = c.postNorms ? FloatBuffer(count: t) : nil
    }

    /// Copies what `DecoderModel.mlpBlock` writes (invRms2, gateUp, mlpOut, invRmsPostFfn) into a
    /// cache of the same rows.
    func copyMLPHalf(into other: DecoderLayerCache) {
        other.invRms2.copy(from: invRms2)
        other.gateUp.copy(from: gateUp)
        if let mlpOut, let to = other.mlpOut { to.copy(from: mlpOut) }
        if let invRmsPostFfn, let to = other.invRmsPostFfn { to.copy(from: invRmsPostFfn) }
    }

    /// Every buffer, for byte counts.
    var buffers: [FloatBuffer] {
        [xIn, invRms1, qkv, ctx, xMid, invRms2, gateUp]
            + [qkNormInput, qkInvRms, attnOut, invRmsPostAttn, mlpOut, invRmsPostFfn].compactMap { $0 }
    }
}

/// What a checkpointed forward pass keeps of one block (long prompts): the residual stream
/// after its attention, the one activation that only the attention could give back. From it, the
/// block's own MLP gives its output, which is the next block's input; from that input, the next
/// block's projections give q|k|v (`CheckpointReplay`). So a backward never recomputes an attention
/// forward, the costliest part of a block at long prompts, and the checkpoint is one [T, D] per
/// layer, as small as keeping each block's input. Each buffer is a copy of the forward's own
/// values, so recomputed activations are bit for bit the kept ones.
public struct LayerCheckpoint: Sendable {
    /// [T, D] the block's input: layer 0 only (e · embeddingScale); every other block's input is
    /// the previous block's output.
    public let xIn: FloatBuffer?
    /// [T, D] the residual stream after the attention block.
    public let xMid: FloatBuffer
    /// [T, D] attn_output(ctx) before the post-attention norm (`postNorms` only: it cannot be
    /// told from xMid − xIn, which is after the norm).
    public let attnOut: FloatBuffer?

    init(_ c: DecoderConfig, rows t: Int, layer l: Int) {
        xIn = l == 0 ? FloatBuffer(count: t * c.dim) : nil
        xMid = FloatBuffer(count: t * c.dim)
        attnOut = c.postNorms ? FloatBuffer(count: t * c.dim) : nil
    }

    /// Floats one layer's checkpoint holds per row (layer 0's input aside).
    static func floatsPerRow(_ c: DecoderConfig) -> Int { (c.postNorms ? 2 : 1) * c.dim }

    var buffers: [FloatBuffer] { [xMid] + [xIn, attnOut].compactMap { $0 } }

    /// Keeps a block's forward activations (xMid, attnOut).
    func keep(_ lc: DecoderLayerCache) {
        xMid.copy(from: lc.xMid)
        if let attnOut, let raw = lc.attnOut { attnOut.copy(from: raw) }
    }

    /// Puts xMid (and attnOut) into a layer cache of the same rows.
    func restoreMid(into lc: DecoderLayerCache) {
        lc.xMid.copy(from: xMid)
        if let attnOut, let raw = lc.attnOut { raw.copy(from: attnOut) }
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
    /// When `checkpointed`: per layer, only the residual after attention (`LayerCheckpoint`); the
    /// backward recomputes the rest of each block's activations but its attention from them
    /// (`CheckpointReplay`). Long prompts keep this, so memory stays near T·D per layer.
    public let checkpoints: [LayerCheckpoint]
    public var checkpointed: Bool { layers.isEmpty }
    /// The model that made the pass, to recompute from the checkpoints (checkpointed passes only).
    let model: DecoderModel?
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

    /// `checkpointsOf` nil keeps every layer's activations; given, only the layers' checkpoints,
    /// from which that model recomputes the rest.
    init(config c: DecoderConfig, tokens: [Int], sequences: Int = 1, checkpointsOf model: DecoderModel? = nil) {
        config = c
        self.tokens = tokens
        self.sequences = sequences
        self.model = model
        let t = tokens.count
        embeddings = FloatBuffer(count: t * c.dim)
        layers = model == nil ? (0..<c.layers).map { _ in DecoderLayerCache(c, rows: t) } : []
        checkpoints = model == nil ? [] : (0..<c.layers).map { LayerCheckpoint(c, rows: t, layer: $0) }
        xOut = FloatBuffer(count: t * c.dim)
        invRmsOut = FloatBuffer(count: t)
        hidden = FloatBuffer(count: t * c.dim)
        ropes = DecoderRoPE(c, positions: t / sequences)
    }

    /// The input of layer l, [T, D].
    /// (Checkpointed passes recompute it from the previous block's checkpoint, into a new buffer.)
    func input(of l: Int) -> FloatBuffer {
        if !checkpointed { return layers[l].xIn }
        if l == 0 { return checkpoints[0].xIn! }
        let x = FloatBuffer(count: length * config.dim)
        recomputeInput(of: l, into: x.pointer, lower: DecoderLayerCache(config, rows: length, mlpHalfOnly: true),
                       scratch: BlockScratch(config, rows: length))
        return x
    }

    /// Layer l's input (l ≥ 1, checkpointed passes) from the checkpoint below it:
    /// xMid_{l−1} + MLP_{l−1}(xMid_{l−1}), written to `x` [T, D]. `lower` (T rows, the MLP half at
    /// least) is left holding layer l−1's MLP half, which `CheckpointReplay` carries to the next step.
    func recomputeInput(of l: Int, into x: UnsafeMutablePointer<Float>, lower: DecoderLayerCache, scratch: BlockScratch) {
        precondition(checkpointed && l >= 1)
        checkpoints[l - 1].restoreMid(into: lower)
        model!.mlpBlock(layer: l - 1, lower, output: x, scratch: scratch, rows: length)
    }

    /// Layer l's activations: kept, or recomputed into a new cache (the whole block from its
    /// input, ctx included; a backward recomputes less, see `CheckpointReplay`).
    func layer(_ l: Int) -> DecoderLayerCache {
        if !checkpointed { return layers[l] }
        let work = DecoderLayerCache(config, rows: length)
        work.xIn.copy(from: input(of: l))
        let m = model!, scratch = BlockScratch(config, rows: length), out = FloatBuffer(count: length * config.dim)
        m.blockForward(layer: l, work, output: out.pointer, scratch: scratch, sequences: sequences, length: sequenceLength,
                       rope: ropes.table(config, layer: l))
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
        let inputs = checkpoints.reduce(0) { $0 + $1.buffers.reduce(0) { $0 + $1.count } }
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
