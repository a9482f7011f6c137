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
