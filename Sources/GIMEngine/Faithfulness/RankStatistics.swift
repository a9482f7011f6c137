import Foundation

/// Rank correlation and bootstrap intervals for the faithfulness measures.
extension Statistics {
    /// Ranks 1...n of `v` in ascending order; tied values share the mean of their ranks.
    public static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var out = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let mean = Double(i + j) / 2 + 1
            for m in i...j { out[order[m]] = mean }
            i = j + 1
        }
        return out
    }

    /// Pearson correlation, or nil when fewer than two values or either side is constant
    /// (where a correlation means nothing; `pearson` returns 0 there instead).
    public static func pearsonIfDefined(_ a: [Double], _ b: [Double]) -> Double? {
        precondition(a.count == b.count)
        let n = Double(a.count)
        guard a.count > 1 else { return nil }
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in a.indices {
            let x = a[i] - ma, y = b[i] - mb
            sab += x * y; saa += x * x; sbb += y * y
        }
        // Relative guard: a vector whose spread is rounding noise around its mean is constant.
        let tiny = 1e-24 * max(1, ma * ma * n, mb * mb * n)
        guard saa > tiny, sbb > tiny else { return nil }
        return max(-1, min(1, sab / (saa * sbb).squareRoot()))
    }

    /// Spearman's rank correlation (Pearson of the tie-averaged ranks), or nil when undefined.
    public static func spearman(_ a: [Double], _ b: [Double]) -> Double? {
        precondition(a.count == b.count)
        return pearsonIfDefined(ranks(a), ranks(b))
    }

    /// A mean with a bootstrap confidence interval.
    public struct Interval: Sendable, Codable, Equatable {
        public let mean: Double
        public let lower: Double
        public let upper: Double
        /// Number of values the mean is over.
        public let count: Int
    }

    /// The mean of `values` and its percentile-bootstrap interval: `resamples` means of samples
    /// drawn with replacement (seeded, so reruns agree), cut at (1 − level)/2 and (1 + level)/2.
    /// nil for an empty list; a single value gives a zero-width interval.
    public static func bootstrapMean(_ values: [Double], resamples: Int = 2000, level: Double = 0.95,
                                     seed: UInt64 = 0) -> Interval? {
        guard !values.isEmpty else { return nil }
        let n = values.count
        let mean = values.reduce(0, +) / Double(n)
        guard n > 1, resamples > 0 else { return Interval(mean: mean, lower: mean, upper: mean, count: n) }
        var rng = SplitMix64(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += values[Int(rng.next() % UInt64(n))] }
            means[r] = sum / Double(n)
        }
        means.sort()
        func quantile(_ q: Double) -> Double {
            // Linear interpolation between order statistics.
            let pos = q * Double(resamples - 1)
            let lo = Int(pos.rounded(.down)), hi = min(lo + 1, resamples - 1)
            return means[lo] + (pos - Double(lo)) * (means[hi] - means[lo])
        }
        return Interval(mean: mean, lower: quantile((1 - level) / 2), upper: quantile((1 + level) / 2), count: n)
    }
}

/// SplitMix64: a small seeded generator, so random orders and bootstrap samples are reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
