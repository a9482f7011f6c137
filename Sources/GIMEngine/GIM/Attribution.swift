/// One attribution vector over a prompt, with everything needed to say what it explains.
public struct Attribution: Sendable {
    public let tokenIDs: [Int]
    /// The token whose raw logit is explained.
    public let targetTokenID: Int
    /// In contrastive mode, the explained quantity is logit(target) − logit(foil).
    public let foilTokenID: Int?
    /// Position (0-based, resolved from a possibly negative request) whose logits are explained.
    public let targetPosition: Int
    public let baselineTokenID: Int
    public let settings: GIMSettings
    /// [T] a_t = Σ_d ∂L/∂e[t,d] · (e[t,d] − e_base[d]) (e_base = 0 when `settings.inputBaseline` is
    /// .zero), or what `method` computes instead; positions after targetPosition are 0.
    public let values: [Float]
    /// L itself: the explained logit (or logit difference).
    public let targetLogit: Float
    /// Wall time of the backward and the dot products, in seconds.
    public let seconds: Double
    /// The method that computed `values` (for `attribute(settings:)`, the preset the knobs equal,
    /// else "custom").
    public var method: AttributionMethod = .gim

    /// False when a NaN or infinity appeared (reported, never drawn as a colour).
    public var isFinite: Bool { values.allSatisfy(\.isFinite) && targetLogit.isFinite }
}
