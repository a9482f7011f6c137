import Foundation

// Faithfulness of an attribution: does replacing the tokens it ranks highest by the baseline
// really move the explained logit most? Definitions (n = number of positions ≤ the target
// position; later positions cannot affect the target, so they are never perturbed):
//
// - f(S): the explained quantity (the raw target logit, or logit(target) − logit(foil) in
//   contrastive mode) when the tokens at the positions in S are replaced by the baseline token's
//   embedding. f(∅) = f(x), the prompt itself; f(all n) = f(b), every position replaced.
// - Full drop Δ = f(x) − f(b). The areas are normalised by it, so 1 means "all of the full drop".
// - Order π: positions sorted by attribution, largest (most positive) first; ties by position.
// - Deletion curve (comprehensiveness): y_del(k) = (f(π[0..<k] replaced) − f(b)) / Δ for k = 0...n,
//   the share of the full effect still present after deleting the top k; it falls from 1 to 0.
//   Deletion area = ∫₀¹ (1 − y_del) dx over x = k/n (trapezoid rule): the area over the curve.
//   High = the top-ranked tokens carry the effect.
// - Insertion curve (sufficiency): y_ins(k) = (f(all but π[0..<k] replaced) − f(b)) / Δ, the share
//   of the effect recovered when only the top k are kept (= the bottom n−k deleted); it rises from
//   0 to 1. Insertion area = ∫₀¹ y_ins dx. High = the top-ranked tokens suffice.
//   For an additive model and a random order both areas are 1/2 in expectation. On a real model
//   f is not monotone in the replaced set, so areas can leave [0, 1], the more so the smaller Δ.
// - The same two areas unnormalised, in logits: ∫₀¹ (f(x) − f(π[0..<k] replaced)) dx and
//   ∫₀¹ (f(all but π[0..<k] replaced) − f(b)) dx (Δ times the normalised areas). Always defined,
//   and they weight prompts by how much the tokens matter instead of dividing by a possibly small Δ.
// - The same curves with the target's probability p (softmax over the vocabulary; p(target) −
//   p(foil) in contrastive mode) in place of f, normalised by Δp = p(x) − p(b).
// - Undefined: when Δ ≤ minimumLogitDrop (resp. Δp ≤ minimumProbabilityDrop) the normalised
//   areas are nil: replacing every token does not lower the quantity (enough), so there is no drop
//   to share out, and dividing by a near-zero Δ would let one prompt dominate a mean. Summaries
//   exclude them and count them. Defaults: 1 logit (a factor e in the odds) and 0.05.
// - Curve points: every k when n ≤ maxCurvePoints, else k_j = round(j·n/m), j = 0...m (m =
//   maxCurvePoints); the trapezoid rule uses the actual x_j = k_j/n.
// - Leave-one-out (LOO) effect of position t: f(x) − f({t} replaced). Spearman and Pearson
//   correlations between the attribution over positions 0..<n and the LOO effects; nil when n < 3
//   or either side is constant.
// - Random floor: `randomOrders` random orders, drawn seeded from the options' seed and the prompt's
//   tokens, in antithetic pairs (π, reversed π), scored like attributions (a_t = n − rank) and
//   averaged: areas and curves pointwise over all orders; correlations over the first order of each
//   pair only (a reversed order has exactly the opposite correlation, so pairs would always give 0).

/// Settings of the faithfulness measures.
public struct FaithfulnessOptions: Sendable, Hashable, Codable {
    /// Curve points after k = 0: every k when n is at most this, else evenly spaced fractions.
    public var maxCurvePoints: Int
    /// Random orders averaged for the floor; rounded up to an even count (antithetic pairs). 0 = none.
    public var randomOrders: Int
    public var seed: UInt64
    /// Full drops at or below these make the normalised areas undefined (logit units; probability).
    public var minimumLogitDrop: Double
    public var minimumProbabilityDrop: Double
    /// Stacked rows (inputs × n) per batched forward call; cancellation is checked between calls.
    public var batchRows: Int
    /// Run the n leave-one-out inputs (needed for the correlations). Each perturbed input is a
    /// forward over n tokens, so leave-one-out costs O(n²) token-forwards against O(n·points) for the
    /// curves: an interactive caller may turn it off for long prompts.
    public var leaveOneOut: Bool

    public init(maxCurvePoints: Int = 20, randomOrders: Int = 4, seed: UInt64 = 0, minimumLogitDrop: Double = 1,
                minimumProbabilityDrop: Double = 0.05, batchRows: Int = 2048, leaveOneOut: Bool = true) {
        self.maxCurvePoints = maxCurvePoints
        self.randomOrders = randomOrders
        self.seed = seed
        self.minimumLogitDrop = minimumLogitDrop
        self.minimumProbabilityDrop = minimumProbabilityDrop
        self.batchRows = batchRows
        self.leaveOneOut = leaveOneOut
    }

    public func validate() throws {
        guard maxCurvePoints >= 1 else { throw ModelError.badInput("max curve points must be at least 1") }
        guard randomOrders >= 0 && randomOrders <= 1000 else { throw ModelError.badInput("random orders must be in 0...1000") }
        guard batchRows >= 1 else { throw ModelError.badInput("batch rows must be at least 1") }
        guard minimumLogitDrop >= 0, minimumProbabilityDrop >= 0 else {
            throw ModelError.badInput("minimum drops must not be negative")
        }
    }

    /// The k values of the curves for n positions, ascending from 0 to n.
    public func curveCounts(_ n: Int) -> [Int] {
        if n <= maxCurvePoints { return Array(0...n) }
        var out: [Int] = []
        for j in 0...maxCurvePoints {
            let k = Int((Double(j) * Double(n) / Double(maxCurvePoints)).rounded())
            if out.last != k { out.append(k) }
        }
        return out
    }
}

/// What every attribution of one prompt and target is measured against.
public struct FaithfulnessReference: Sendable, Codable {
    /// n: the positions that can be perturbed (0...target position).
    public let positions: Int
    /// f(x) and f(b) (every position ≤ target replaced by the baseline).
    public let targetLogit: Double
    public let baselineLogit: Double
    public let targetProbability: Double
    public let baselineProbability: Double
    /// [n] f(x) − f({t} replaced): the exact leave-one-out effect of each position
    /// (nil when `FaithfulnessOptions.leaveOneOut` is off).
    public let leaveOneOut: [Double]?
    /// [n] the same for the probability.
    public let leaveOneOutProbability: [Double]?
    public let minimumLogitDrop: Double
    public let minimumProbabilityDrop: Double

    /// Δ = f(x) − f(b) and Δp = p(x) − p(b).
    public var logitDrop: Double { targetLogit - baselineLogit }
    public var probabilityDrop: Double { targetProbability - baselineProbability }
    /// Whether the normalised logit (probability) areas are defined for this prompt.
    public var logitAreasDefined: Bool { logitDrop > minimumLogitDrop }
    public var probabilityAreasDefined: Bool { probabilityDrop > minimumProbabilityDrop }
}

/// A perturbation curve: the explained quantity after k tokens are replaced (deletion) or kept
/// (insertion), in the attribution's order.
public struct FaithfulnessCurve: Sendable, Codable {
    /// k at each point, ascending from 0 to n.
    public let counts: [Int]
    public let positions: Int
    /// f and p at each point.
    public let logits: [Double]
    public let probabilities: [Double]

    /// x = k/n at each point.
    public var fractions: [Double] { counts.map { positions > 0 ? Double($0) / Double(positions) : 0 } }

    /// Share of the full effect present at each point: (f − f(b)) / Δ (probability: (p − p(b)) / Δp).
    /// Deletion curves fall from 1 to 0, insertion curves rise from 0 to 1. nil when undefined.
    public func effectPresent(_ reference: FaithfulnessReference, probability: Bool = false) -> [Double]? {
        if probability {
            guard reference.probabilityAreasDefined else { return nil }
            return probabilities.map { ($0 - reference.baselineProbability) / reference.probabilityDrop }
        }
        guard reference.logitAreasDefined else { return nil }
        return logits.map { ($0 - reference.baselineLogit) / reference.logitDrop }
    }

    /// `effectPresent` linearly interpolated at each x in [0, 1] (e.g. one per plot column).
    public func effectPresent(_ reference: FaithfulnessReference, at xs: [Double], probability: Bool = false) -> [Double]? {
        guard let y = effectPresent(reference, probability: probability) else { return nil }
        let x = fractions
        return xs.map { v in
            let v = min(max(v, 0), 1)
            var i = 1
            while i < x.count - 1 && x[i] < v { i += 1 }
            guard x.count > 1, x[i] > x[i - 1] else { return y[0] }
            return y[i - 1] + (y[i] - y[i - 1]) * (v - x[i - 1]) / (x[i] - x[i - 1])
        }
    }

    /// ∫₀¹ y dx by the trapezoid rule over the curve's fractions.
    static func area(_ y: [Double], _ x: [Double]) -> Double {
        var a = 0.0
        for i in 1..<max(1, y.count) { a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2 }
        return a
    }
}

/// The measures shown per method, all "higher = more faithful".
public enum FaithfulnessMeasure: String, CaseIterable, Sendable, Codable {
    case deletionLogit = "deletion_logit"
    case insertionLogit = "insertion_logit"
    case deletionLogitUnits = "deletion_logit_units"
    case insertionLogitUnits = "insertion_logit_units"
    case deletionProbability = "deletion_probability"
    case insertionProbability = "insertion_probability"
    case spearman = "spearman_loo"
    case pearson = "pearson_loo"

    public var title: String {
        switch self {
        case .deletionLogit: return "deletion area, logit/Δ"
        case .insertionLogit: return "insertion area, logit/Δ"
        case .deletionLogitUnits: return "deletion area, logits"
        case .insertionLogitUnits: return "insertion area, logits"
        case .deletionProbability: return "deletion area, prob/Δp"
        case .insertionProbability: return "insertion area, prob/Δp"
        case .spearman: return "Spearman vs leave-one-out"
        case .pearson: return "Pearson vs leave-one-out"
        }
    }

    /// A few characters for narrow panes.
    public var shortTitle: String {
        switch self {
        case .deletionLogit: return "del"
        case .insertionLogit: return "ins"
        case .deletionLogitUnits: return "del(l)"
        case .insertionLogitUnits: return "ins(l)"
        case .deletionProbability: return "del(p)"
        case .insertionProbability: return "ins(p)"
        case .spearman: return "ρ LOO"
        case .pearson: return "r LOO"
        }
    }
}

/// The faithfulness of one attribution (or the average of the random orders).
public struct FaithfulnessScore: Sendable, Codable {
    public let reference: FaithfulnessReference
    /// Top-k deleted, k ascending.
    public let deletion: FaithfulnessCurve
    /// Only the top k kept, k ascending.
    public let insertion: FaithfulnessCurve
    /// Normalised areas (see the definitions at the top of this file); nil = undefined.
    public let deletionArea: Double?
    public let insertionArea: Double?
    public let deletionAreaProbability: Double?
    public let insertionAreaProbability: Double?
    /// Unnormalised areas in logits; always defined.
    public let deletionLogits: Double
    public let insertionLogits: Double
    /// Correlations with the leave-one-out effects; nil = undefined.
    public let spearman: Double?
    public let pearson: Double?

    public subscript(_ m: FaithfulnessMeasure) -> Double? {
        switch m {
        case .deletionLogit: return deletionArea
        case .insertionLogit: return insertionArea
        case .deletionLogitUnits: return deletionLogits
        case .insertionLogitUnits: return insertionLogits
        case .deletionProbability: return deletionAreaProbability
        case .insertionProbability: return insertionAreaProbability
        case .spearman: return spearman
        case .pearson: return pearson
        }
    }

    /// Builds a score from its two curves and the correlations.
    init(reference r: FaithfulnessReference, deletion: FaithfulnessCurve, insertion: FaithfulnessCurve,
         spearman: Double?, pearson: Double?) {
        reference = r
        self.deletion = deletion
        self.insertion = insertion
        let xd = deletion.fractions, xi = insertion.fractions
        deletionArea = deletion.effectPresent(r).map { FaithfulnessCurve.area($0.map { 1 - $0 }, xd) }
        insertionArea = insertion.effectPresent(r).map { FaithfulnessCurve.area($0, xi) }
        deletionAreaProbability = deletion.effectPresent(r, probability: true).map { FaithfulnessCurve.area($0.map { 1 - $0 }, xd) }
        insertionAreaProbability = insertion.effectPresent(r, probability: true).map { FaithfulnessCurve.area($0, xi) }
        deletionLogits = FaithfulnessCurve.area(deletion.logits.map { r.targetLogit - $0 }, xd)
        insertionLogits = FaithfulnessCurve.area(insertion.logits.map { $0 - r.baselineLogit }, xi)
        self.spearman = spearman
        self.pearson = pearson
    }

    /// The pointwise mean of several scores of the same prompt (the random floor): curves and areas
    /// averaged, correlations averaged over `correlationsFrom` (default: all) where defined.
    static func mean(_ scores: [FaithfulnessScore], correlationsFrom: [FaithfulnessScore]? = nil) -> FaithfulnessScore {
        precondition(!scores.isEmpty)
        func avg(_ v: [[Double]]) -> [Double] {
            (0..<v[0].count).map { i in v.reduce(0) { $0 + $1[i] } / Double(v.count) }
        }
        func curve(_ c: [FaithfulnessCurve]) -> FaithfulnessCurve {
            FaithfulnessCurve(counts: c[0].counts, positions: c[0].positions, logits: avg(c.map(\.logits)),
                              probabilities: avg(c.map(\.probabilities)))
        }
        func meanDefined(_ v: [Double?]) -> Double? {
            let d = v.compactMap { $0 }
            return d.isEmpty ? nil : d.reduce(0, +) / Double(d.count)
        }
        return FaithfulnessScore(reference: scores[0].reference, deletion: curve(scores.map(\.deletion)),
                                 insertion: curve(scores.map(\.insertion)),
                                 spearman: meanDefined((correlationsFrom ?? scores).map(\.spearman)),
                                 pearson: meanDefined((correlationsFrom ?? scores).map(\.pearson)))
    }
}
