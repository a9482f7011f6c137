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

    /// Softmax of each row of x[rows, cols] over the entries `keys(row)`, written to y (one
    /// vectorized pass per row, `gim_softmax_row`); every other entry is set to zero (the causal
    /// mask, and a sliding window's). `scale` multiplies x first (1/T for the GIM temperature
    /// softmax). y may alias x.
    static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                            scale: Float = 1, keys: (Int) -> Range<Int>) {
        for r in 0..<rows {
            let k = keys(r), yr = y + r * cols
            gim_softmax_row(x + r * cols + k.lowerBound, yr + k.lowerBound, k.count, cols - k.lowerBound, scale)
            for j in 0..<k.lowerBound { yr[j] = 0 }
        }
    }

    /// The softmax backward for each row: dx = s ⊙ (dy − ⟨dy, s⟩) over `keys(row)`, written over
    /// dy (zero elsewhere). With GIM's temperature, `s` is softmax(x/T) instead of the forward softmax.
    static func softmaxBackwardRows(_ s: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                    keys: (Int) -> Range<Int>) {
        for r in 0..<rows {
            let sr = s + r * cols, dr = dy + r * cols
            let k = keys(r)
            gim_softmax_backward_row(sr + k.lowerBound, dr + k.lowerBound, k.count)
            for j in 0..<k.lowerBound { dr[j] = 0 }
            for j in k.upperBound..<cols { dr[j] = 0 }
        }
    }
}
