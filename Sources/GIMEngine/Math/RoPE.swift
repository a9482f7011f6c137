import Foundation

/// Rotary position embedding. Each head vector of size `headDim` is split into headDim/2 pairs,
/// pair i at position p rotated by the angle p · base^(−2i/headDim).
/// - `.normal`: pairs are adjacent elements (2i, 2i+1); GGUF Llama weights (llama.cpp's converter
///   permutes the q/k rows so this layout is right for them).
/// - `.neox`: pairs are (i, i + headDim/2) ("rotate half"); Hugging Face safetensors weights.
public enum RoPELayout: String, Sendable, Codable {
    case normal, neox
}

/// Precomputed cos/sin tables for positions 0..<positions, each [positions, headDim/2].
struct RoPETable {
    let headDim: Int
    let cos: [Float]
    let sin: [Float]

    /// Angles computed in Float32 the way PyTorch/transformers do, so the two agree to rounding.
    init(positions: Int, headDim: Int, base: Float) {
        self.headDim = headDim
        let half = headDim / 2
        var c = [Float](repeating: 0, count: positions * half)
        var s = [Float](repeating: 0, count: positions * half)
        for i in 0..<half {
            let invFreq: Float = 1 / powf(base, Float(2 * i) / Float(headDim))
            for p in 0..<positions {
                let angle = Float(p) * invFreq
                c[p * half + i] = cosf(angle)
                s[p * half + i] = sinf(angle)
            }
        }
        cos = c
        sin = s
    }

    /// Rotates `heads` head vectors in each of `rows` rows, in place. Row r is at position r;
    /// the heads of a row start at `x + r*rowStride` and are contiguous. `inverse` rotates by
    /// the negative angle: the backward of a rotation is its transpose.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, rowStride: Int, heads: Int,
               layout: RoPELayout, inverse: Bool) {
        let half = headDim / 2
        cos.withUnsafeBufferPointer { cp in
            sin.withUnsafeBufferPointer { sp in
                Parallel.forEachRange(rows, minimumPerPart: 8) { rowRange in
                for p in rowRange {
                    let cr = cp.baseAddress! + p * half, sr = sp.baseAddress! + p * half
                    for h in 0..<heads {
                        let v = x + p * rowStride + h * headDim
                        for i in 0..<half {
                            let (a, b) = layout == .normal ? (2 * i, 2 * i + 1) : (i, i + half)
                            let c = cr[i], s = inverse ? -sr[i] : sr[i]
                            let x0 = v[a], x1 = v[b]
                            v[a] = x0 * c - x1 * s
                            v[b] = x0 * s + x1 * c
                        }
                    }
                }
                }
            }
        }
    }
}
