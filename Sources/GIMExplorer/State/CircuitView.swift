import GIMEngine

/// What each component's activation is compared with, as the user gave it: a corrupted prompt
/// (aligned token by token with the prompt; the worker checks the lengths) or each component's
/// mean over the prompt's positions.
public enum CircuitCounterfactual: Equatable, Sendable {
    case prompt(String)
    case meanOverPositions

    public var title: String {
        switch self {
        case .prompt: "corrupted prompt"
        case .meanOverPositions: "mean over positions"
        }
    }
}

/// What the worker needs for the circuit view's scores. Compared without the id to decide
/// whether anything changed; only the newest one matters.
public struct CircuitRequest: Equatable, Sendable {
    public var id: Int
    public var prompt: String
    public var counterfactual: CircuitCounterfactual
    /// nil = the last position.
    public var targetPosition: Int?
    public var target: TokenChoice
    public var foil: TokenChoice?
    public var settings: GIMSettings

    public init(id: Int, prompt: String, counterfactual: CircuitCounterfactual, targetPosition: Int? = nil,
                target: TokenChoice = .argmax, foil: TokenChoice? = nil, settings: GIMSettings = .gim) {
        self.id = id
        self.prompt = prompt
        self.counterfactual = counterfactual
        self.targetPosition = targetPosition
        self.target = target
        self.foil = foil
        self.settings = settings
    }

    /// Same question, whatever the id.
    public func asks(sameAs other: CircuitRequest?) -> Bool {
        guard var o = other else { return false }
        o.id = id
        return o == self
    }
}

/// Everything a patching sweep depends on, resolved: the knobs are not part of it, so a knob
/// change keeps the patching effects and only the GIM scores (and their agreement) change.
public struct CircuitQuestion: Equatable, Sendable {
    public var tokenIDs: [Int]
    public var counterfactual: Counterfactual
    public var targetPosition: Int
    public var targetID: Int
    public var foilID: Int?

    public init(tokenIDs: [Int], counterfactual: Counterfactual, targetPosition: Int, targetID: Int, foilID: Int?) {
        self.tokenIDs = tokenIDs
        self.counterfactual = counterfactual
        self.targetPosition = targetPosition
        self.targetID = targetID
        self.foilID = foilID
    }
}

/// The attribution-patching scores of every component for one request (GIM with the request's
/// knobs, and the plain gradient).
public struct CircuitResult: Equatable, Sendable {
    public var requestID: Int
    public var question: CircuitQuestion
    /// Display text of each prompt token, and of the corrupted prompt's (nil for the mean).
    public var tokenTexts: [String]
    public var corruptTokenTexts: [String]?
    public var targetText: String
    public var foilText: String?
    /// The metric L (logit, or logit difference) on the clean run and the corrupted one (nil for the mean).
    public var cleanMetric: Float
    public var corruptMetric: Float?
    public var settings: GIMSettings
    public var gim: ComponentMap
    public var plain: ComponentMap
    public var layers: Int
    public var heads: Int
    public var gimMilliseconds: Double
    /// nil when the plain scores were kept from an earlier request (only the knobs changed).
    public var plainMilliseconds: Double?
    /// Milliseconds of the forward passes run for this request (clean and corrupted), nil when kept.
    public var forwardMilliseconds: Double?
    public var notes: [String]

    public init(requestID: Int, question: CircuitQuestion, tokenTexts: [String], corruptTokenTexts: [String]?,
                targetText: String, foilText: String? = nil, cleanMetric: Float, corruptMetric: Float?,
                settings: GIMSettings, gim: ComponentMap, plain: ComponentMap, gimMilliseconds: Double = 0,
                plainMilliseconds: Double? = nil, forwardMilliseconds: Double? = nil, notes: [String] = []) {
        self.requestID = requestID
        self.question = question
        self.tokenTexts = tokenTexts
        self.corruptTokenTexts = corruptTokenTexts
        self.targetText = targetText
        self.foilText = foilText
        self.cleanMetric = cleanMetric
        self.corruptMetric = corruptMetric
        self.settings = settings
        self.gim = gim
        self.plain = plain
        layers = gim.attention.count
        heads = gim.heads.first?.count ?? 0
        self.gimMilliseconds = gimMilliseconds
        self.plainMilliseconds = plainMilliseconds
        self.forwardMilliseconds = forwardMilliseconds
        self.notes = notes
    }

    /// Positions scored on the residual stream (those after the target cannot matter).
    public var positions: Int { min(question.targetPosition + 1, tokenTexts.count) }

    public var grid: CircuitGrid { CircuitGrid(layers: layers, heads: heads, positions: positions) }
}

/// Activation patching of every component for one question, computed by the worker after the
/// scores (cancellable, like the faithfulness figures).
public struct CircuitPatching: Equatable, Sendable {
    /// The circuit result it was computed after (the effects are valid for any result of the same question).
    public var requestID: Int
    public var question: CircuitQuestion
    /// L(clean) − L(clean with the component patched in from the counterfactual); nil on failure.
    public var effects: ComponentMap?
    public var runs: Int
    public var seconds: Double
    public var failure: String?

    public init(requestID: Int, question: CircuitQuestion, effects: ComponentMap?, runs: Int = 0, seconds: Double = 0,
                failure: String? = nil) {
        self.requestID = requestID
        self.question = question
        self.effects = effects
        self.runs = runs
        self.seconds = seconds
        self.failure = failure
    }
}

/// The rows of the circuit view's maps, top to bottom: one per head, then the attention block
/// and the MLP block, then one per residual position; the columns are the layers.
public struct CircuitGrid: Equatable, Sendable {
    public enum Row: Equatable, Sendable {
        case head(Int)
        case attention
        case mlp
        case residual(position: Int)
    }

    public var layers: Int
    public var heads: Int
    public var positions: Int

    public var rowCount: Int { heads + 2 + positions }

    public func row(_ i: Int) -> Row {
        if i < heads { return .head(i) }
        if i == heads { return .attention }
        if i == heads + 1 { return .mlp }
        return .residual(position: i - heads - 2)
    }

    /// The component under a cell.
    public func component(row i: Int, layer: Int) -> ComponentPatch {
        switch row(i) {
        case .head(let h): .head(layer: layer, head: h)
        case .attention: .attention(layer: layer)
        case .mlp: .mlp(layer: layer)
        case .residual(let p): .residual(layer: layer, position: p)
        }
    }

    /// The kind of a row, whose values share one colour scale and one agreement figure.
    public func kind(row i: Int) -> ComponentKind {
        switch row(i) {
        case .head: .heads
        case .attention: .attention
        case .mlp: .mlp
        case .residual: .residual
        }
    }
}

/// A cell of the circuit view (see `CircuitGrid`).
public struct CircuitCursor: Equatable, Sendable {
    public var row = 0
    public var layer = 0
    public init(row: Int = 0, layer: Int = 0) {
        self.row = row
        self.layer = layer
    }

    /// Kept inside a grid.
    public func clamped(to g: CircuitGrid) -> CircuitCursor {
        CircuitCursor(row: min(max(0, row), max(0, g.rowCount - 1)), layer: min(max(0, layer), max(0, g.layers - 1)))
    }
}

/// What the circuit view's keys do.
public enum CircuitAction: Equatable, Sendable {
    /// Shows or hides the circuit view.
    case toggleView
    /// Uses (or stops using) the mean over positions as the counterfactual.
    case toggleMean
    /// Moves the cell cursor by rows and layers.
    case move(rows: Int, layers: Int)
    /// Jumps to the first row of the next (+1) or previous (−1) map: heads, blocks, residual stream.
    case jump(Int)
}

/// What the worker reports about circuits.
public enum CircuitEvent: Equatable, Sendable {
    case finished(CircuitResult)
    case failed(requestID: Int, message: String)
    /// Posted after a result (stale questions are ignored).
    case patched(CircuitPatching)
}

/// The circuit view's part of the explorer's state: the counterfactual, the newest scores, the
/// patching ground truth, each method's agreement with it, and the cell cursor.
public struct CircuitView: Equatable, Sendable {
    public var isShown = false
    public var counterfactual: CircuitCounterfactual?
    public var cursor = CircuitCursor()
    public var result: CircuitResult?
    public var failure: ExplorerState.Failure?
    public var patching: CircuitPatching?
    /// Each method's agreement with patching, for the result on screen (nil until both are known).
    public var gimAgreement: ComponentAgreements?
    public var plainAgreement: ComponentAgreements?
    public var lastRequest: CircuitRequest?
    public var completedRequestID = 0
    public var nextRequestID = 1

    public init() {}

    /// The worker has a circuit request it has not answered yet.
    public var isComputing: Bool {
        guard let last = lastRequest else { return false }
        return last.id > completedRequestID
    }

    /// Patching of the result on screen, when it has been computed.
    public var shownPatching: CircuitPatching? {
        guard let p = patching, let r = result, p.question == r.question else { return nil }
        return p
    }

    /// Recomputes the agreements after the result or the patching changed.
    mutating func updateAgreements() {
        guard let r = result, let effects = shownPatching?.effects else {
            gimAgreement = nil
            plainAgreement = nil
            return
        }
        gimAgreement = ComponentAgreements(r.gim, patching: effects)
        plainAgreement = ComponentAgreements(r.plain, patching: effects)
    }
}
