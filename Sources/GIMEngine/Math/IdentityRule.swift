import Foundation

/// LRP's identity rule on element-wise nonlinearities (`ActivationRule.identity`): the backward
/// of y = act(x) multiplies by act(x) / (x + ε) instead of act'(x), so that the relevance
/// x·dx equals y·dy and passes the nonlinearity unchanged (lxt's `identity_rule_implicit`,
/// ε = 1e-10 added to x as lxt does).
extension Activations {
    /// act(x) / (x + ε) for the activations the engine's MLPs use.
    @inline(__always) static func identityRatio(_ x: Float, _ act: Float) -> Float {
        act / (x + ActivationRule.identityEpsilon)
    }

    /// silu(g) = g·σ(g), computed with expf (the forward's vectorized kernel uses a polynomial
    /// exp; the two agree to float rounding).
    @inline(__always) static func silu(_ g: Float) -> Float { g / (1 + expf(-g)) }

    /// The gated product's backward with the identity rule on the gate's activation:
    ///   dgate = gateScale · dAct ⊙ up ⊙ act(gate)/(gate + ε),   dup = upScale · dAct ⊙ act(gate).
    /// gateUp [rows, 2F], dAct [rows, F], dGateUp [rows, 2F].
    static func gatedProductIdentityBackwardRows(_ activation: GatedActivation, _ gateUp: UnsafePointer<Float>,
                                                 _ dAct: UnsafePointer<Float>, _ dGateUp: UnsafeMutablePointer<Float>,
                                                 rows: Int, f: Int, gateScale: Float, upScale: Float) {
        let gelu = activation == .geluTanh
        Parallel.forEachRange(rows, minimumPerPart: 4) { rowRange in
            for r in rowRange {
                let g = gateUp + r * 2 * f, da = dAct + r * f, dg = dGateUp + r * 2 * f
                for j in 0..<f {
                    let a = gelu ? geluTanh(g[j]) : silu(g[j])
                    dg[j] = da[j] * g[f + j] * gateScale * identityRatio(g[j], a)
                    dg[f + j] = da[j] * a * upScale
                }
            }
        }
    }

    /// The factor the backward multiplies a GELU's output gradient by: gelu'(x), or
    /// gelu(x)/(x + ε) under the identity rule (GPT-2's MLP).
    @inline(__always) static func geluBackwardFactor(_ x: Float, _ form: GELUForm, _ rule: ActivationRule) -> Float {
        rule == .identity ? identityRatio(x, gelu(x, form)) : geluGrad(x, form)
    }
}
