/// RMSNorm over the last dimension: y = w ⊙ x / rms(x), rms(x) = sqrt(mean(x²) + eps).
enum RMSNorm {
    /// x, y are [rows, dim]; w is [dim]; invRms receives 1/rms per row ([rows]). Rows in parallel.
    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        invRms: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float) {
        Parallel.forEachRange(rows, minimumPerPart: 8) { rowRange in
        for r in rowRange {
            let xr = x + r * dim, yr = y + r * dim
            var ss: Float = 0
            for d in 0..<dim { ss += xr[d] * xr[d] }
            let inv = 1 / (ss / Float(dim) + eps).squareRoot()
            invRms[r] = inv
            for d in 0..<dim { yr[d] = w[d] * (xr[d] * inv) }
        }
        }
    }

    /// Accumulates the input gradient into dx ([rows, dim]) from dy ([rows, dim]). Rows in parallel.
    /// Forward: y = w ⊙ x · r with r = 1/rms(x). With g = w ⊙ dy:
    ///   full:   dx = r·g − x · r³ · mean(g ⊙ x)     (r depends on x)
    ///   frozen: dx = r·g                          (GIM freeze_norm: r is a constant)
    static func backward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                         invRms: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                         rows: Int, dim: Int, frozen: Bool) {
        Parallel.forEachRange(rows, minimumPerPart: 8) { rowRange in
        for r in rowRange {
            let dyr = dy + r * dim, xr = x + r * dim, dxr = dx + r * dim
            let inv = invRms[r]
            if frozen {
                for d in 0..<dim { dxr[d] += w[d] * dyr[d] * inv }
            } else {
                var dot: Float = 0
                for d in 0..<dim { dot += w[d] * dyr[d] * xr[d] }
                let k = inv * inv * inv * dot / Float(dim)
                for d in 0..<dim { dxr[d] += w[d] * dyr[d] * inv - xr[d] * k }
            }
        }
        }
    }
}

/// RMSNorm over each head vector of q and k (Qwen 3's and Gemma 3's q_norm / k_norm): the
/// vectors sit in rows of a wider buffer (q|k|v rows), so both passes work in place on a
/// strided slice. Head n of row r is `x + r·rowStride + n·headDim`.
enum HeadRMSNorm {
    /// x ← w ⊙ x / rms(x) for `heads` head vectors per row; the input is saved to `input`
    /// ([rows, heads·headDim]) and 1/rms to `invRms` ([rows, heads]) for the backward.
    static func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, rowStride: Int, heads: Int, headDim hd: Int,
                        weight w: UnsafePointer<Float>, eps: Float, input: UnsafeMutablePointer<Float>,
                        invRms: UnsafeMutablePointer<Float>) {
        Parallel.forEachRange(rows, minimumPerPart: 8) { rowRange in
            for r in rowRange {
                for n in 0..<heads {
                    let v = x + r * rowStride + n * hd, saved = input + (r * heads + n) * hd
                    saved.update(from: v, count: hd)
                    var ss: Float = 0
                    for d in 0..<hd { ss += v[d] * v[d] }
                    let inv = 1 / (ss / Float(hd) + eps).squareRoot()
                    invRms[r * heads + n] = inv
                    for d in 0..<hd { v[d] = w[d] * (v[d] * inv) }
                }
            }
        }
    }

    /// dy → dx in place, the same formulas as `RMSNorm.backward` (frozen: dx = w ⊙ dy / rms).
    static func backward(_ g: UnsafeMutablePointer<Float>, rows: Int, rowStride: Int, heads: Int, headDim hd: Int,
                         weight w: UnsafePointer<Float>, input: UnsafePointer<Float>, invRms: UnsafePointer<Float>,
                         frozen: Bool) {
        Parallel.forEachRange(rows, minimumPerPart: 8) { rowRange in
            for r in rowRange {
                for n in 0..<heads {
                    let dy = g + r * rowStride + n * hd, x = input + (r * heads + n) * hd
                    let inv = invRms[r * heads + n]
                    if frozen {
                        for d in 0..<hd { dy[d] = w[d] * dy[d] * inv }
                    } else {
                        var dot: Float = 0
                        for d in 0..<hd { dot += w[d] * dy[d] * x[d] }
                        let k = inv * inv * inv * dot / Float(hd)
                        for d in 0..<hd { dy[d] = w[d] * dy[d] * inv - x[d] * k }
                    }
                }
            }
        }
    }
}
