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

    /// Forward over T tokens plus the logits at one position.
    public static func forward(_ c: DecoderConfig, tokens t: Int) -> Double {
        let attention = Double(c.heads) * 4 * Double(t * t * c.headDim)   // q·kᵀ and P·v
        return Double(c.layers) * (Double(t) * linearPerRow(c) + attention) + 2 * Double(c.vocabSize * c.dim)
    }

    /// Activation-gradient backward over T tokens (no weight gradients).
    public static func backward(_ c: DecoderConfig, tokens t: Int) -> Double {
        let attention = Double(c.heads) * 8 * Double(t * t * c.headDim)   // dP, dv, dq, dk
        return Double(c.layers) * (Double(t) * linearPerRow(c) + attention)
    }
}
