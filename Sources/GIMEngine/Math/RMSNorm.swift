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
