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
    /// One method per pane, in pane order (each with its own knobs).
    public var methods: [AttributionMethod]
    public var topK: Int
    /// Chat mode: the prompt is the user's message in the model's chat template.
    public var chat: ChatOptions?
    /// Token ids appended after the encoded prompt (a generated or given continuation).
    public var continuation: [Int]

    /// `methods` nil = today's two panes: GIM with `settings`, and the plain gradient.
    public init(id: Int, prompt: String, targetPosition: Int? = nil, target: TokenChoice = .argmax,
                foil: TokenChoice? = nil, settings: GIMSettings = .gim, topK: Int = 10,
                methods: [AttributionMethod]? = nil, chat: ChatOptions? = nil, continuation: [Int] = []) {
        self.id = id
        self.chat = chat
        self.continuation = continuation
        self.prompt = prompt
        self.targetPosition = targetPosition
        self.target = target
        self.foil = foil
        self.methods = methods ?? [AttributionMethod(name: "gim", kind: .backward, settings: settings), .plain]
        self.topK = topK
    }

    /// The first pane's knobs (the GIM pane of the two-pane layout).
    public var settings: GIMSettings {
        get { methods.first?.settings ?? .gim }
        set { if !methods.isEmpty { methods[0].settings = newValue } }
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
    /// One attribution per pane, in the request's method order.
    public var panes: [PaneResult]
    /// The explained logit (or logit difference).
    public var targetLogit: Float
    /// Milliseconds of the forward pass, or nil when the kept forward pass was reused.
    public var forwardMilliseconds: Double?
    /// Remarks worth showing ("' Paris is' is 3 tokens; using the first").
    public var notes: [String]
    /// Per token, whether it is a special token (`<|im_start|>`, BOS); empty = none known.
    public var special: [Bool] = []
    /// The tokens' words (WordAggregation); nil when not computed.
    public var words: WordMapping?
    /// Index of the first continuation token in `tokenIDs`; nil = the prompt alone.
    public var continuationStart: Int?

    /// Panes with their methods, values and times.
    public init(requestID: Int, prompt: String, tokenIDs: [Int], tokenTexts: [String], targetPosition: Int,
                targetID: Int, targetText: String, targetProbability: Double = 0, foilID: Int? = nil,
                foilText: String? = nil, foilProbability: Double? = nil, predictions: [Prediction], panes: [PaneResult],
                targetLogit: Float, forwardMilliseconds: Double? = nil, notes: [String] = [], special: [Bool] = [],
                words: WordMapping? = nil, continuationStart: Int? = nil) {
        self.special = special
        self.words = words
        self.continuationStart = continuationStart
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
        self.panes = panes
        self.targetLogit = targetLogit
        self.forwardMilliseconds = forwardMilliseconds
        self.notes = notes
    }

    /// Today's two panes: GIM with `settings` and the plain gradient.
    public init(requestID: Int, prompt: String, tokenIDs: [Int], tokenTexts: [String], targetPosition: Int,
                targetID: Int, targetText: String, targetProbability: Double = 0, foilID: Int? = nil,
                foilText: String? = nil, foilProbability: Double? = nil, predictions: [Prediction], gim: [Float], plain: [Float], targetLogit: Float,
                settings: GIMSettings, forwardMilliseconds: Double? = nil, gimMilliseconds: Double = 0,
                plainMilliseconds: Double? = nil, notes: [String] = [], special: [Bool] = [], words: WordMapping? = nil,
                continuationStart: Int? = nil) {
        self.special = special
        self.words = words
        self.continuationStart = continuationStart
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
        self.panes = [PaneResult(method: AttributionMethod(name: "gim", kind: .backward, settings: settings), values: gim,
                                 milliseconds: gimMilliseconds),
                      PaneResult(method: .plain, values: plain, milliseconds: plainMilliseconds)]
        self.targetLogit = targetLogit
        self.forwardMilliseconds = forwardMilliseconds
        self.notes = notes
    }

    /// The first pane's values (GIM in the two-pane layout).
    public var gim: [Float] {
        get { panes.first?.values ?? [] }
        set { if !panes.isEmpty { panes[0].values = newValue } }
    }
    /// The plain gradient's values: the first pane showing it, else the second pane.
    public var plain: [Float] {
        (panes.first { $0.method.kind == .backward && $0.method.settings.isPlain } ?? panes.dropFirst().first)?.values ?? []
    }
    /// The first pane's knobs.
    public var settings: GIMSettings { panes.first?.method.settings ?? .gim }
    public var gimMilliseconds: Double { panes.first?.milliseconds ?? 0 }
}

/// One pane's attribution in a result.
public struct PaneResult: Equatable, Sendable {
    public var method: AttributionMethod
    /// One value per prompt token (0 after the target position).
    public var values: [Float]
    /// nil when the worker kept it from the previous request (its method and question did not change).
    public var milliseconds: Double?

    public init(method: AttributionMethod, values: [Float], milliseconds: Double? = nil) {
        self.method = method
        self.values = values
        self.milliseconds = milliseconds
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
    /// The GIM paper's metrics (`PaperFaithfulness`): means divided by f(x) (nil when f(x) ≤ 0),
    /// and the same means in logits (always defined); nil when not computed.
    public var comprehensiveness: Double?
    public var sufficiency: Double?
    public var comprehensivenessLogits: Double?
    public var sufficiencyLogits: Double?
    /// The raw target logit f(x), then after replacing the top 1…K tokens by the baseline
    /// (`PaperFaithfulness.comprehensivenessCurve`): defined on every prompt, drawn when the
    /// normalised deletion curve is not.
    public var comprehensivenessCurve: [Double]?

    public init(deletionArea: Double?, insertionArea: Double?, spearman: Double?, areasUndefinedReason: String? = nil,
                spearmanUndefinedReason: String? = nil, deletionFractions: [Double] = [], deletionCurve: [Double]? = nil,
                comprehensiveness: Double? = nil, sufficiency: Double? = nil, comprehensivenessLogits: Double? = nil,
                sufficiencyLogits: Double? = nil) {
        self.deletionArea = deletionArea
        self.insertionArea = insertionArea
        self.spearman = spearman
        self.areasUndefinedReason = areasUndefinedReason
        self.spearmanUndefinedReason = spearmanUndefinedReason
        self.deletionFractions = deletionFractions
        self.deletionCurve = deletionCurve
        self.comprehensiveness = comprehensiveness
        self.sufficiency = sufficiency
        self.comprehensivenessLogits = comprehensivenessLogits
        self.sufficiencyLogits = sufficiencyLogits
    }

    /// The figures of an engine score and its paper metrics.
    public init(_ s: FaithfulnessScore, paper: PaperFaithfulness?) {
        self.init(s)
        comprehensiveness = paper?.comprehensiveness
        sufficiency = paper?.sufficiency
        comprehensivenessLogits = paper?.comprehensivenessLogits
        sufficiencyLogits = paper?.sufficiencyLogits
        comprehensivenessCurve = paper?.comprehensivenessCurve
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
    /// One per pane of the result (nil while that pane's figures are computed).
    public var panes: [PaneFaithfulness?]
    /// The method of each entry of `panes` (empty = the result's panes, by index): while a new
    /// request computes, the panes on screen find their figures by method.
    public var methods: [AttributionMethod]
    /// The random floor: the mean of random orders (deletion/insertion only).
    public var random: PaneFaithfulness?
    /// Set when the measures could not be computed.
    public var failure: String?

    public init(requestID: Int, panes: [PaneFaithfulness?], methods: [AttributionMethod] = [],
                random: PaneFaithfulness?, failure: String? = nil) {
        self.requestID = requestID
        self.panes = panes
        self.methods = methods
        self.random = random
        self.failure = failure
    }

    /// The figures of `method`, shown in pane `i` (looked up by method when the methods are known).
    public func figures(for method: AttributionMethod, at i: Int) -> PaneFaithfulness? {
        guard !methods.isEmpty else { return self[pane: i] }
        return methods.firstIndex(of: method).flatMap { self[pane: $0] }
    }

    /// Today's two panes: GIM and the plain gradient.
    public init(requestID: Int, gim: PaneFaithfulness?, plain: PaneFaithfulness?, random: PaneFaithfulness?,
                failure: String? = nil) {
        self.init(requestID: requestID, panes: [gim, plain], random: random, failure: failure)
    }

    /// The figures of pane `i` (nil while computed, or past the end).
    public subscript(pane i: Int) -> PaneFaithfulness? {
        get { i < panes.count ? panes[i] : nil }
        set {
            while panes.count <= i { panes.append(nil) }
            panes[i] = newValue
        }
    }

    /// The first and second pane's figures (GIM and plain in the two-pane layout).
    public var gim: PaneFaithfulness? {
        get { self[pane: 0] }
        set { self[pane: 0] = newValue }
    }
    public var plain: PaneFaithfulness? {
        get { self[pane: 1] }
        set { self[pane: 1] = newValue }
    }
}
