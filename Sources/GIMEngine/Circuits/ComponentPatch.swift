/// One model component whose activation can be scored or patched: an attention block, an MLP
/// block, one attention head, or the residual stream at one position entering one block.
public enum ComponentPatch: Hashable, Sendable {
    /// The attention block's output of `layer` (after attn_output and any post-norm). [T, D]
    case attention(layer: Int)
    /// The MLP block's output of `layer`. [T, D]
    case mlp(layer: Int)
    /// Head `head`'s output in `layer` before attn_output (columns head·headDim..<(head+1)·headDim of ctx).
    case head(layer: Int, head: Int)
    /// The residual stream entering block `layer`, at `position` only (one row).
    case residual(layer: Int, position: Int)

    public var layer: Int {
        switch self {
        case .attention(let l), .mlp(let l), .head(let l, _), .residual(let l, _): return l
        }
    }

    /// Every component of a model with `layers` × `heads` over the first `positions` positions,
    /// in the order `ComponentMap(patches:values:)` reads them.
    public static func all(layers: Int, heads: Int, positions: Int) -> [ComponentPatch] {
        var out: [ComponentPatch] = []
        for l in 0..<layers {
            out.append(.attention(layer: l))
            out.append(.mlp(layer: l))
            for h in 0..<heads { out.append(.head(layer: l, head: h)) }
            for t in 0..<positions { out.append(.residual(layer: l, position: t)) }
        }
        return out
    }
}
