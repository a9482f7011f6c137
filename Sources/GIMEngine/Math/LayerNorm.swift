/// LayerNorm over the last dimension: y = w ⊙ (x − μ)/σ + b, with μ = mean(x) and
/// σ = sqrt(mean((x − μ)²) + eps) (biased variance, as PyTorch).
enum LayerNorm {
    /// x, y are [rows, dim]; w, b are [dim]; mean and invStd receive μ and 1/σ per row ([rows]).
    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                        _ y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                        invStd: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float) {
        let n = Float(dim)
        for r in 0..<rows {
            let xr = x + r * dim, yr = y + r * dim
            var sum: Float = 0
            for d in 0..<dim { sum += xr[d] }
            let mu = sum / n
            var ss: Float = 0
            for d in 0..<dim {
                let c = xr[d] - mu
                ss += c * c
            }
            let inv = 1 / (ss / n + eps).squareRoot()
            mean[r] = mu
            invStd[r] = inv
            for d in 0..<dim { yr[d] = w[d] * ((xr[d] - mu) * inv) + b[d] }
        }
    }

    /// Accumulates the input gradient into dx ([rows, dim]) from dy ([rows, dim]).
    /// With g = w ⊙ dy and x̂ = (x − μ)/σ:
    ///   full:   dx = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / σ
    ///   frozen: dx = (g − mean(g)) / σ      (GIM freeze_norm: σ is a constant, the mean path stays)
    static func backward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                         mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>, rows: Int, dim: Int, frozen: Bool) {
        let n = Float(dim)
        for r in 0..<rows {
            let dyr = dy + r * dim, xr = x + r * dim, dxr = dx + r * dim
            let mu = mean[r], inv = invStd[r]
            var sumG: Float = 0, sumGX: Float = 0
            for d in 0..<dim {
                let g = w[d] * dyr[d]
                sumG += g
                sumGX += g * (xr[d] - mu) * inv
            }
            let meanG = sumG / n
            let meanGX = frozen ? 0 : sumGX / n
            for d in 0..<dim {
                let g = w[d] * dyr[d]
                let xhat = (xr[d] - mu) * inv
                dxr[d] += (g - meanG - xhat * meanGX) * inv
            }
        }
    }
}
