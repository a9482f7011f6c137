/// Floating-point operation counts of the engine's phases (multiply-add = 2 FLOPs), for
/// reporting achieved GFLOP/s against the machine's sgemm rate. Elementwise work is ignored.
public enum FLOPs {
    /// Matrix FLOPs of the projections for one row (token) in one layer.
    static func linearPerRow(_ c: DecoderConfig) -> Double {
        let qkv: Int = c.qkvDim * c.dim
        let out: Int = c.dim * c.attnDim
        let mlp: Int = 3 * c.ffnDim * c.dim
        return 2 * Double(qkv + out + mlp)
    }

    /// Query-key pairs the attention of layer `l` computes over T tokens: the causal triangle,
    /// i + 1 keys for query i, or at most W on a sliding-window layer. (The kernels skip the
    /// masked half, so counting the full T × T square would overstate the rate about 2x at
    /// long prompts.)
    static func attendedPairs(_ c: DecoderConfig, layer l: Int, tokens t: Int) -> Double {
        guard let w = c.window(layer: l), w < t else { return Double(t) * Double(t + 1) / 2 }
        return Double(w) * Double(w + 1) / 2 + Double(t - w) * Double(w)
    }

    /// Pairs summed over the layers.
    static func attendedPairs(_ c: DecoderConfig, tokens t: Int) -> Double {
        (0..<c.layers).reduce(0) { $0 + attendedPairs(c, layer: $1, tokens: t) }
    }

    /// Forward over T tokens plus the logits at one position.
    public static func forward(_ c: DecoderConfig, tokens t: Int) -> Double {
        let attention = Double(c.heads) * 4 * Double(c.headDim) * attendedPairs(c, tokens: t)   // q·kᵀ and P·v
        return Double(c.layers) * Double(t) * linearPerRow(c) + attention + 2 * Double(c.vocabSize * c.dim)
    }

    /// Matrix FLOPs of one row of a block's attn_output and MLP: what the last block's backward
    /// skips on the rows the seed does not reach (see `DecoderBackward.seedFirstRow`).
    static func tailPerRow(_ c: DecoderConfig) -> Double { 2 * Double(c.dim * c.attnDim + 3 * c.ffnDim * c.dim) }

    /// Activation-gradient backward over T tokens (no weight gradients) from one target position,
    /// the last: the last block's attn_output and MLP run on that row only.
    public static func backward(_ c: DecoderConfig, tokens t: Int) -> Double {
        let attention = Double(c.heads) * 8 * Double(c.headDim) * attendedPairs(c, tokens: t)   // dP, dv, dq, dk
        return Double(c.layers) * Double(t) * linearPerRow(c) - Double(max(t - 1, 0)) * tailPerRow(c) + attention
    }
}
