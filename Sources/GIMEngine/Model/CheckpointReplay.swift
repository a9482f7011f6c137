/// Gives a backward the layers of a checkpointed forward pass, from the last to the first, as
/// the kept activations would have been, bit for bit (`LayerCheckpoint`: one xMid [T, D] per
/// layer). For layer l it recomputes:
///   xIn_l   = xMid_{l−1} + MLP_{l−1}(xMid_{l−1})   (layer 0: the kept e · embeddingScale)
///   q|k|v_l = projections of xIn_l, with their norms and RoPE
///   gate|up_l = projections of xMid_l, which the MLP of layer l already computed while giving
///             back xIn_{l+1} one step earlier: `lower` carries it down
/// so each layer costs one MLP and one q|k|v projection, and no attention forward (the
/// attention backward recomputes its probabilities from q and k either way).
/// Holds one full layer cache and one MLP half (gate|up, xMid and their norms' statistics).
/// Not `Sendable`: owned by one backward pass.
final class CheckpointReplay {
    let model: DecoderModel
    let rows: Int
    /// The layer handed to the backward (all its activations but ctx, which the backward never reads).
    private let current: DecoderLayerCache
    /// The MLP half of the layer below `current`'s, computed to give back `current`'s input.
    private let lower: DecoderLayerCache
    private let scratch: BlockScratch
    /// The layer whose MLP half `lower` holds, and of which pass; nil: nothing carried.
    private var carried: (layer: Int, cache: ObjectIdentifier)?

    init(model: DecoderModel, rows: Int) {
        self.model = model
        self.rows = rows
        current = DecoderLayerCache(model.config, rows: rows)
        lower = DecoderLayerCache(model.config, rows: rows, mlpHalfOnly: true)
        scratch = BlockScratch(model.config, rows: rows)
    }

    /// Carries nothing into the next call (a backward starts: a cancelled one may have left a step).
    func forget() { carried = nil }

    /// Layer l of `cache`, valid until the next call. Cheapest when called for l = L−1, L−2, …, 0
    /// in turn (as a backward does); any other order recomputes the MLP half too.
    func layer(_ l: Int, of cache: DecoderForwardCache) -> DecoderLayerCache {
        let c = model.config, t = cache.length, n = cache.sequenceLength
        precondition(cache.checkpointed && t == rows && cache.model === model)
        // The MLP half of layer l: carried from the step above, or from its checkpoint.
        cache.checkpoints[l].restoreMid(into: current)
        if let carried, carried.layer == l, carried.cache == ObjectIdentifier(cache) {
            lower.copyMLPHalf(into: current)
        } else {
            model.mlpBlock(layer: l, current, output: nil, scratch: scratch, rows: t)
        }
        // Its input: the layer below's output, whose MLP half stays in `lower` for the next step.
        if l == 0 {
            current.xIn.copy(from: cache.checkpoints[0].xIn!)
            carried = nil
        } else {
            cache.recomputeInput(of: l, into: current.xIn.pointer, lower: lower, scratch: scratch)
            carried = (l - 1, ObjectIdentifier(cache))
        }
        model.attentionHalfForBackward(layer: l, current, scratch: scratch, sequences: cache.sequences, length: n,
                                       rope: cache.ropes.table(c, layer: l))
        return current
    }
}
