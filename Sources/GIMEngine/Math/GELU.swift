import Foundation

/// GELU in its two forms, each with the derivative the backward needs.
extension Activations {
    static let sqrt2OverPi: Float = 0.797_884_56  // √(2/π)

    /// gelu(x) = 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³)   (GPT-2's "gelu_new")
    @inline(__always) static func geluTanh(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(sqrt2OverPi * (x + 0.044715 * x * x * x)))
    }

    /// gelu'(x) = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)
    @inline(__always) static func geluTanhGrad(_ x: Float) -> Float {
        let th = tanhf(sqrt2OverPi * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
    }

    /// gelu(x) = x·Φ(x) = 0.5·x·(1 + erf(x/√2))
    @inline(__always) static func geluErf(_ x: Float) -> Float {
        0.5 * x * (1 + erff(x * 0.707_106_78))
    }

    /// gelu'(x) = Φ(x) + x·φ(x)
    @inline(__always) static func geluErfGrad(_ x: Float) -> Float {
        0.5 * (1 + erff(x * 0.707_106_78)) + x * 0.398_942_28 * expf(-0.5 * x * x)
    }

    @inline(__always) static func gelu(_ x: Float, _ form: GELUForm) -> Float {
        form == .tanh ? geluTanh(x) : geluErf(x)
    }

    @inline(__always) static func geluGrad(_ x: Float, _ form: GELUForm) -> Float {
        form == .tanh ? geluTanhGrad(x) : geluErfGrad(x)
    }
}

extension Activations {
    /// act[r, j] = act(gateUp[r, j]) · gateUp[r, F + j] for every row of gateUp [rows, 2F]
    /// (act is [rows, F]): the gated MLP's product, SwiGLU or GeGLU.
    static func gatedProductRows(_ activation: GatedActivation, _ gateUp: UnsafePointer<Float>,
                                 _ act: UnsafeMutablePointer<Float>, rows: Int, f: Int) {
        guard activation == .geluTanh else { return siluProductRows(gateUp, act, rows: rows, f: f) }
        Parallel.forEachRange(rows, minimumPerPart: 4) { rowRange in
            for r in rowRange {
                let g = gateUp + r * 2 * f, a = act + r * f
                for j in 0..<f { a[j] = geluTanh(g[j]) * g[f + j] }
            }
        }
    }

    /// The backward of `gatedProductRows` with GIM's gate/up scales at the product:
    ///   dgate = gateScale · dAct ⊙ up ⊙ act'(gate),   dup = upScale · dAct ⊙ act(gate).
    /// With `rule` .identity, act'(gate) becomes act(gate)/(gate + ε) (`IdentityRule.swift`).
    static func gatedProductBackwardRows(_ activation: GatedActivation, _ gateUp: UnsafePointer<Float>,
                                         _ dAct: UnsafePointer<Float>, _ dGateUp: UnsafeMutablePointer<Float>,
                                         rows: Int, f: Int, gateScale: Float, upScale: Float,
                                         rule: ActivationRule = .gradient) {
        if rule == .identity {
            return gatedProductIdentityBackwardRows(activation, gateUp, dAct, dGateUp, rows: rows, f: f,
                                                    gateScale: gateScale, upScale: upScale)
        }
        guard activation == .geluTanh else {
            return siluProductBackwardRows(gateUp, dAct, dGateUp, rows: rows, f: f, gateScale: gateScale, upScale: upScale)
        }
        Parallel.forEachRange(rows, minimumPerPart: 4) { rowRange in
            for r in rowRange {
                let g = gateUp + r * 2 * f, da = dAct + r * f, dg = dGateUp + r * 2 * f
                for j in 0..<f {
                    dg[j] = da[j] * g[f + j] * gateScale * geluTanhGrad(g[j])
                    dg[f + j] = da[j] * geluTanh(g[j]) * upScale
                }
            }
        }
    }
}
