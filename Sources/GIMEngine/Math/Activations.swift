import Foundation

/// Elementwise activations and the row softmax, each with the backward the engine needs.
enum Activations {
    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    /// silu(x) = x · σ(x);  silu'(x) = σ(x) · (1 + x · (1 − σ(x))).
    @inline(__always) static func silu(_ x: Float) -> Float { x * sigmoid(x) }
    @inline(__always) static func siluGrad(_ x: Float) -> Float {
        let s = sigmoid(x)
        return s * (1 + x * (1 - s))
    }

    /// Softmax of each row of x[rows, cols] over its first `valid(row)` entries, written to y;
    /// entries past `valid` are set to zero (the causal mask). `scale` multiplies x first
    /// (1/T for the GIM temperature softmax). Returns nothing; y may alias x.
    static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                            scale: Float = 1, valid: (Int) -> Int) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            let n = valid(r)
            var mx = -Float.infinity
            for j in 0..<n { mx = max(mx, xr[j] * scale) }
            var sum: Float = 0
            for j in 0..<n {
                let e = expf(xr[j] * scale - mx)
                yr[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0..<n { yr[j] *= inv }
            for j in n..<cols { yr[j] = 0 }
        }
    }

    /// The softmax backward for each row: dx = s ⊙ (dy − ⟨dy, s⟩), written over dy.
    /// With GIM's temperature, `s` is softmax(x/T) instead of the forward softmax.
    static func softmaxBackwardRows(_ s: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                    valid: (Int) -> Int) {
        for r in 0..<rows {
            let sr = s + r * cols, dr = dy + r * cols
            let n = valid(r)
            var dot: Float = 0
            for j in 0..<n { dot += sr[j] * dr[j] }
            for j in 0..<n { dr[j] = sr[j] * (dr[j] - dot) }
            for j in n..<cols { dr[j] = 0 }
        }
    }
}
