/// Faithfulness over a prompt set: the mean of each measure per method with a bootstrap
/// interval, and paired comparisons of two methods on the same prompts.
public enum FaithfulnessSummary {
    /// One measure of one method over the prompts where it is defined.
    public struct Measure: Sendable, Codable {
        /// nil when no prompt has it defined.
        public let interval: Statistics.Interval?
        /// Prompts where it was undefined (excluded from the mean).
        public let undefined: Int
    }

    /// `a − b` on the prompts where both are defined.
    public struct Comparison: Sendable, Codable {
        public let difference: Statistics.Interval?
        /// Prompts where a > b, a < b, a == b.
        public let wins: Int
        public let losses: Int
        public let ties: Int
    }

    public static func measure(_ values: [Double?], resamples: Int = 2000, seed: UInt64 = 0) -> Measure {
        let defined = values.compactMap { $0 }
        return Measure(interval: Statistics.bootstrapMean(defined, resamples: resamples, seed: seed),
                       undefined: values.count - defined.count)
    }

    public static func compare(_ a: [Double?], _ b: [Double?], resamples: Int = 2000, seed: UInt64 = 0) -> Comparison {
        precondition(a.count == b.count)
        var diffs: [Double] = []
        for (x, y) in zip(a, b) {
            if let x, let y { diffs.append(x - y) }
        }
        return Comparison(difference: Statistics.bootstrapMean(diffs, resamples: resamples, seed: seed),
                          wins: diffs.filter { $0 > 0 }.count, losses: diffs.filter { $0 < 0 }.count,
                          ties: diffs.filter { $0 == 0 }.count)
    }
}
