import CKernels
import Foundation

/// Elementwise activations and the row softmax, each with the backward the engine needs
/// (silu(g) = g·σ(g), silu'(g) = σ(g)·(1 + g·(1 − σ(g))); the loops are in `CKernels/vector_math.c`).
enum Activations {
    /// act[r, j] = silu(gateUp[r, j]) · gateUp[r, F + j] for every row of gateUp [rows, 2F]
    /// (act is [rows, F]); rows in parallel, each row one vectorized pass.
    static func siluProductRows(_ gateUp: UnsafePointer<Float>, _ act: UnsafeMutablePointer<Float>, rows: Int, f: Int) {
        Parallel.forEachRange(rows, minimumPerPart: 4) { rowRange in
            for r in rowRange {
                let g = gateUp + r * 2 * f
                gim_silu_product(g, g + f, act + r * f, f)
            }
        }
    }

    /// The backward of `siluProductRows` with GIM's gate/up scales: from dAct [rows, F] to
    /// dGateUp [rows, 2F] (see `gim_silu_product_backward`).
    static func siluProductBackwardRows(_ gateUp: UnsafePointer<Float>, _ dAct: UnsafePointer<Float>,
                                        _ dGateUp: UnsafeMutablePointer<Float>, rows: Int, f: Int,
                                        gateScale: Float, upScale: Float) {
        Parallel.forEachRange(rows, minimumPerPart: 4) { rowRange in
            for r in rowRange {
                let g = gateUp + r * 2 * f, dg = dGateUp + r * 2 * f
                gim_silu_product_backward(g, g + f, dAct + r * f, dg, dg + f, f, gateScale, upScale)
            }
        }
    }

    /// Softmax of each row of x[rows, cols] over its first `valid(row)` entries, written to y
    /// (one vectorized pass per row, `gim_softmax_row`); entries past `valid` are set to zero
    /// (the causal mask). `scale` multiplies x first (1/T for the GIM temperature softmax).
    /// y may alias x.
    static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                            scale: Float = 1, valid: (Int) -> Int) {
        for r in 0..<rows {
            gim_softmax_row(x + r * cols, y + r * cols, valid(r), cols, scale)
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
