import GIMEngine

/// How the user named a token to explain (or to contrast against).
public enum TokenChoice: Equatable, Sendable {
    /// The model's most likely next token at the target position.
    case argmax
    case id(Int)
    /// Text typed by the user; the worker turns it into a token (the first, if it is several).
    case text(String)
}

/// Everything the worker needs to compute one view. Requests are compared without their id to
/// decide whether anything changed; only the newest one matters.
public struct AnalysisRequest: Equatable, Sendable {
    public var id: Int
    public var prompt: String
    /// nil = the last position.
    public var targetPosition: Int?
    public var target: TokenChoice
    /// nil = not contrastive.
    public var foil: TokenChoice?
    public var settings: GIMSettings
    public var topK: Int

    public init(id: Int, prompt: String, targetPosition: Int? = nil, target: TokenChoice = .argmax,
                foil: TokenChoice? = nil, settings: GIMSettings = .gim, topK: Int = 10) {
        self.id = id
        self.prompt = prompt
        self.targetPosition = targetPosition
        self.target = target
        self.foil = foil
        self.settings = settings
        self.topK = topK
    }

    /// Same question, whatever the id.
    public func asks(sameAs other: AnalysisRequest?) -> Bool {
        guard var o = other else { return false }
        o.id = id
        return o == self
    }
}

/// One candidate next token.
public struct Prediction: Equatable, Sendable {
    public var id: Int
    public var text: String
    public var probability: Double
    public var logit: Float

    public init(id: Int, text: String, probability: Double, logit: Float) {
        self.id = id
        self.text = text
        self.probability = probability
        self.logit = logit
    }
}

/// What the worker computed for a request.
public struct AnalysisResult: Equatable, Sendable {
    public var requestID: Int
    public var prompt: String
    public var tokenIDs: [Int]
    /// Display text of each prompt token (raw, not yet sanitized for the terminal).
    public var tokenTexts: [String]
    /// Resolved, 0-based.
    public var targetPosition: Int
    public var targetID: Int
    public var targetText: String
    public var foilID: Int?
    public var foilText: String?
    /// Probability of the target (and the foil) at the target position.
    public var targetProbability: Double
    public var foilProbability: Double?
    /// Top-k next tokens at the target position, most likely first.
    public var predictions: [Prediction]
    public var gim: [Float]
    public var plain: [Float]
    /// The explained logit (or logit difference).
    public var targetLogit: Float
    public var settings: GIMSettings
    /// Milliseconds of the forward pass, or nil when the kept forward pass was reused.
    public var forwardMilliseconds: Double?
    public var gimMilliseconds: Double
    /// nil when the plain gradient came from the worker's cache (only the knobs changed).
    public var plainMilliseconds: Double?
    /// Remarks worth showing ("' Paris is' is 3 tokens; using the first").
    public var notes: [String]

    public init(requestID: Int, prompt: String, tokenIDs: [Int], tokenTexts: [String], targetPosition: Int,
                targetID: Int, targetText: String, targetProbability: Double = 0, foilID: Int? = nil,
                foilText: String? = nil, foilProbability: Double? = nil, predictions: [Prediction], gim: [Float], plain: [Float], targetLogit: Float,
                settings: GIMSettings, forwardMilliseconds: Double? = nil, gimMilliseconds: Double = 0,
                plainMilliseconds: Double? = nil, notes: [String] = []) {
        self.requestID = requestID
        self.prompt = prompt
        self.tokenIDs = tokenIDs
        self.tokenTexts = tokenTexts
        self.targetPosition = targetPosition
        self.targetID = targetID
        self.targetText = targetText
        self.targetProbability = targetProbability
        self.foilID = foilID
        self.foilText = foilText
        self.foilProbability = foilProbability
        self.predictions = predictions
        self.gim = gim
        self.plain = plain
        self.targetLogit = targetLogit
        self.settings = settings
        self.forwardMilliseconds = forwardMilliseconds
        self.gimMilliseconds = gimMilliseconds
        self.plainMilliseconds = plainMilliseconds
        self.notes = notes
    }
}

/// The faithfulness figures of one attribution, as the panes show them (a compact, comparable
/// copy of the engine's `FaithfulnessScore`).
public struct PaneFaithfulness: Equatable, Sendable {
    /// Normalised deletion / insertion areas (logit/Δ); nil when Δ is too small.
    public var deletionArea: Double?
    public var insertionArea: Double?
    /// Spearman correlation with the leave-one-out effects; nil when undefined or not run.
    public var spearman: Double?
    /// Why the areas are nil ("Δ 0.42 ≤ 1"), and why ρ is nil ("LOO off").
    public var areasUndefinedReason: String?
    public var spearmanUndefinedReason: String?
    /// Fractions of tokens removed and the share of the effect still present (the deletion curve).
    public var deletionFractions: [Double]
    public var deletionCurve: [Double]?

    public init(deletionArea: Double?, insertionArea: Double?, spearman: Double?, areasUndefinedReason: String? = nil,
                spearmanUndefinedReason: String? = nil, deletionFractions: [Double] = [], deletionCurve: [Double]? = nil) {
        self.deletionArea = deletionArea
        self.insertionArea = insertionArea
        self.spearman = spearman
        self.areasUndefinedReason = areasUndefinedReason
        self.spearmanUndefinedReason = spearmanUndefinedReason
        self.deletionFractions = deletionFractions
        self.deletionCurve = deletionCurve
    }

    /// The figures of an engine score.
    public init(_ s: FaithfulnessScore) {
        let ref = s.reference
        var areasReason: String?
        if s.deletionArea == nil || s.insertionArea == nil {
            areasReason = String(format: "Δ %.2f ≤ %g", ref.logitDrop, ref.minimumLogitDrop)
        }
        var rhoReason: String?
        if s.spearman == nil {
            rhoReason = ref.leaveOneOut == nil ? "LOO off" : (ref.positions < 3 ? "n<3" : "const")
        }
        self.init(deletionArea: s.deletionArea, insertionArea: s.insertionArea, spearman: s.spearman,
                  areasUndefinedReason: areasReason, spearmanUndefinedReason: rhoReason,
                  deletionFractions: s.deletion.fractions, deletionCurve: s.deletion.effectPresent(ref))
    }
}

/// Faithfulness of a result's panes, computed by the worker after the result itself.
public struct FaithfulnessReport: Equatable, Sendable {
    /// The request whose result was measured (stale reports are ignored).
    public var requestID: Int
    public var gim: PaneFaithfulness?
    public var plain: PaneFaithfulness?
    public var random: PaneFaithfulness?
    /// Set when the measures could not be computed.
    public var failure: String?

    public init(requestID: Int, gim: PaneFaithfulness?, plain: PaneFaithfulness?, random: PaneFaithfulness?,
                failure: String? = nil) {
        self.requestID = requestID
        self.gim = gim
        self.plain = plain
        self.random = random
        self.failure = failure
    }
}
