import Foundation

// The GIM paper's two feature-attribution metrics (Edin et al., "GIM: Improved Interpretability
// for Large Language Models"; the ERASER metrics of DeYoung et al. as the paper's evaluation
// script computes them), with f(S) the explained quantity (raw target logit, or target − foil)
// when the positions in S are replaced by the baseline token, and π the attribution's order
// (largest first, ties by position) over the n positions ≤ the target position:
//
// - Comprehensiveness: drops c_k = f(x) − f(π[0..<k] replaced) for k = 1 … K, K = min(50, n),
//   one more top token replaced each step; comprehensiveness = mean_k c_k. Higher = better: the
//   tokens ranked first carry the prediction.
// - Sufficiency: drops s_r = f(x) − f(the bottom ⌊r·n⌋ of π replaced) for r in 50, 80, 90, 95,
//   99 % (the top n − ⌊r·n⌋ kept); sufficiency = mean_r s_r. Lower = better: the tokens ranked
//   first suffice.
// - Normalisation: the paper divides both means by f(x), the full prompt's target logit
//   ("comprehensiveness.mean() / full_output"). That ratio means something only when f(x) > 0
//   (a raw logit usually is; a contrastive difference may not be), so the normalised figures are
//   nil when f(x) ≤ 0 and summaries count them; the means in logits are always defined and
//   always reported, and the drop curves c_k and s_r are kept for drawing.
// - Differences from the paper's script, on purpose: it ranks positions 1..<T−1 (its prompts
//   start with a special token and end with a chat template); here every position 0…target is
//   ranked, as in the deletion/insertion curves. Its comprehensiveness array has 50 slots even
//   when fewer than 50 tokens exist (empty slots count as 0); here the mean is over the K steps.

/// Comprehensiveness and sufficiency of one attribution (see the definitions above).
public struct PaperFaithfulness: Sendable, Codable, Equatable {
    /// f(x): the explained quantity on the prompt itself; the paper's normaliser.
    public let targetLogit: Double
    /// [K] k = 1…K replaced tokens, and f(x) − f(top k replaced) at each.
    public let comprehensivenessCounts: [Int]
    public let comprehensivenessDrops: [Double]
    /// [5] tokens replaced (⌊r·n⌋) at each sufficiency ratio, and f(x) − f(those replaced).
    public let sufficiencyCounts: [Int]
    public let sufficiencyDrops: [Double]

    /// The paper's sufficiency ratios: the share of tokens (least important first) replaced.
    public static let sufficiencyRatios: [Double] = [0.5, 0.8, 0.9, 0.95, 0.99]
    /// The paper's largest comprehensiveness step.
    public static let maximumComprehensivenessTokens = 50

    /// The raw-logit comprehensiveness curve: f(x), then f(top k replaced) for k = 1…K (K + 1
    /// values, the first at k = 0). Defined on every prompt, also where f(x) ≤ 0 leaves the
    /// normalised figures undefined: the curve to draw then.
    public var comprehensivenessCurve: [Double] { [targetLogit] + comprehensivenessDrops.map { targetLogit - $0 } }

    /// Means in logits (always defined).
    public var comprehensivenessLogits: Double { Self.mean(comprehensivenessDrops) }
    public var sufficiencyLogits: Double { Self.mean(sufficiencyDrops) }
    /// The paper's figures: the means divided by f(x); nil when f(x) ≤ 0.
    public var comprehensiveness: Double? { targetLogit > 0 ? comprehensivenessLogits / targetLogit : nil }
    public var sufficiency: Double? { targetLogit > 0 ? sufficiencyLogits / targetLogit : nil }

    /// k = 1…min(50, n) for n positions.
    public static func comprehensivenessCounts(positions n: Int) -> [Int] {
        n < 1 ? [] : Array(1...min(maximumComprehensivenessTokens, n))
    }

    /// ⌊r·n⌋ for each ratio (as the paper's `int(mask_ratio * len)`).
    public static func sufficiencyCounts(positions n: Int) -> [Int] {
        sufficiencyRatios.map { Int(($0 * Double(n)).rounded(.down)) }
    }

    /// From f(x) and the f values after each replacement (any order of construction; the
    /// arrays pair with the counts).
    public init(targetLogit: Double, comprehensivenessCounts: [Int], comprehensivenessLogits f: [Double],
                sufficiencyCounts: [Int], sufficiencyLogits g: [Double]) {
        self.targetLogit = targetLogit
        self.comprehensivenessCounts = comprehensivenessCounts
        comprehensivenessDrops = f.map { targetLogit - $0 }
        self.sufficiencyCounts = sufficiencyCounts
        sufficiencyDrops = g.map { targetLogit - $0 }
    }

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
}

/// The four figures in tables and JSON: name, whether higher is better.
public enum PaperMeasure: String, CaseIterable, Sendable, Codable {
    case comprehensiveness
    case sufficiency
    case comprehensivenessLogits = "comprehensiveness_logits"
    case sufficiencyLogits = "sufficiency_logits"

    public var title: String {
        switch self {
        case .comprehensiveness: return "comprehensiveness /f(x) ↑"
        case .sufficiency: return "sufficiency /f(x) ↓"
        case .comprehensivenessLogits: return "comprehensiveness, logits ↑"
        case .sufficiencyLogits: return "sufficiency, logits ↓"
        }
    }

    public var higherIsBetter: Bool { self == .comprehensiveness || self == .comprehensivenessLogits }
}

extension PaperFaithfulness {
    public subscript(_ m: PaperMeasure) -> Double? {
        switch m {
        case .comprehensiveness: return comprehensiveness
        case .sufficiency: return sufficiency
        case .comprehensivenessLogits: return comprehensivenessLogits
        case .sufficiencyLogits: return sufficiencyLogits
        }
    }
}
