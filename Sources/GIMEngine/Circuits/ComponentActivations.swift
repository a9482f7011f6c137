/// The activations of every scored component in one run: what a patch copies in and what the
/// attribution-patching score subtracts. Each buffer is [T, width] row-major, one per layer.
public struct ComponentActivations: Sendable {
    /// [layers][T·D] attention block outputs.
    public let attention: [[Float]]
    /// [layers][T·D] MLP block outputs.
    public let mlp: [[Float]]
    /// [layers][T·heads·headDim] per-head outputs before attn_output.
    public let heads: [[Float]]
    /// [layers][T·D] residual stream entering each block.
    public let residual: [[Float]]
    /// T
    public let positions: Int

    public init(attention: [[Float]], mlp: [[Float]], heads: [[Float]], residual: [[Float]], positions: Int) {
        self.attention = attention
        self.mlp = mlp
        self.heads = heads
        self.residual = residual
        self.positions = positions
    }

    /// Reads every component of `pass` (a checkpointed pass recomputes each layer as it goes).
    public init(_ pass: ForwardPass, layers: Int) throws {
        func read(_ site: GradientSite) throws -> [Float] {
            guard let a = pass.componentOutput(site) else {
                throw ModelError.badInput("the forward pass does not provide \(site)")
            }
            return a
        }
        attention = try (0..<layers).map { try read(.attentionOutput(layer: $0)) }
        mlp = try (0..<layers).map { try read(.blockOutput(layer: $0)) }
        heads = try (0..<layers).map { try read(.headOutputs(layer: $0)) }
        residual = try (0..<layers).map { try read(.blockInput(layer: $0)) }
        positions = pass.length
    }

    /// The "mean over positions" counterfactual: every position of every component holds that
    /// component's mean over the T positions of this run (a_mean[t, j] = (1/T) Σ_s a[s, j]).
    public func meanOverPositions() -> ComponentActivations {
        let t = positions
        func mean(_ a: [Float]) -> [Float] {
            let w = a.count / t
            var m = [Double](repeating: 0, count: w)
            for r in 0..<t { for j in 0..<w { m[j] += Double(a[r * w + j]) } }
            var out = [Float](repeating: 0, count: a.count)
            for r in 0..<t { for j in 0..<w { out[r * w + j] = Float(m[j] / Double(t)) } }
            return out
        }
        return ComponentActivations(attention: attention.map(mean), mlp: mlp.map(mean), heads: heads.map(mean),
                                    residual: residual.map(mean), positions: t)
    }
}
