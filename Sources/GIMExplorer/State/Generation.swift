import GIMEngine

/// Chat mode: the prompt is the user's message in the model's chat template, with the
/// assistant's turn opened (so the next token is the answer's first).
public struct ChatOptions: Equatable, Sendable {
    /// nil = the template's default (SmolLM2 and Qwen have one; others none).
    public var system: String?

    public init(system: String? = nil) {
        self.system = system
    }
}

/// How a continuation is generated: greedy, or sampled with a seed that is shown so the run can
/// be repeated; at most `maxTokens` tokens (a stop token ends it sooner).
public struct GenerationOptions: Equatable, Sendable {
    public var maxTokens = 24
    public var sampled = false
    public var temperature: Float = 0.8
    public var topP: Float = 0.95
    public var seed: UInt64 = 1

    public init() {}

    public var sampling: SamplingSettings {
        sampled ? SamplingSettings(temperature: temperature, topP: topP, seed: seed) : .greedy
    }

    /// The length limit's ladder (l halves, L doubles).
    static let lengths = [1, 2, 4, 8, 16, 24, 32, 48, 64, 128, 256, 512]

    /// "greedy, ≤24" or "sampled T 0.8 top-p 0.95 seed 3, ≤24".
    public var summary: String {
        let how = sampled ? "sampled T \(Self.short(temperature)) top-p \(Self.short(topP)) seed \(seed)" : "greedy"
        return "\(how), ≤\(maxTokens)"
    }

    static func short(_ v: Float) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%g", Double(v))
    }
}

/// What the worker is asked to continue: generate a continuation, or take the user's
/// (teacher forcing: each given token is scored as the actual next token).
public struct GenerationRequest: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case generate(maxTokens: Int, sampling: SamplingSettings)
        /// The text after the prompt, tokenized without special tokens.
        case force(String)
    }

    public var id: Int
    public var prompt: String
    public var chat: ChatOptions?
    public var kind: Kind

    public init(id: Int, prompt: String, chat: ChatOptions? = nil, kind: Kind) {
        self.id = id
        self.prompt = prompt
        self.chat = chat
        self.kind = kind
    }
}

/// One token of a continuation as the explorer shows it.
public struct ContinuationToken: Equatable, Sendable {
    public var id: Int
    /// Display text (raw; sanitized when drawn).
    public var text: String
    /// Its probability as the next token after everything before it.
    public var probability: Double
    public var isSpecial: Bool

    public init(id: Int, text: String, probability: Double, isSpecial: Bool = false) {
        self.id = id
        self.text = text
        self.probability = probability
        self.isSpecial = isSpecial
    }
}

/// Attribution of every continuation token over everything before it: row j is token j's
/// attribution over the `promptTokenCount + j` tokens before it (zeros after). The left matrix
/// is the focused pane's method (GIM unless `j` focused another pane), the right one the plain
/// gradient, as the panes show them side by side.
public struct AttributionMatrix: Equatable, Sendable {
    public var requestID: Int
    /// The method of the left matrix (`gim` holds its rows), with its knobs.
    public var method: AttributionMethod
    /// [rows][source tokens], nil while a row is being computed.
    public var gim: [[Float]?]
    public var plain: [[Float]?]

    public init(requestID: Int, method: AttributionMethod = .gim, rows: Int) {
        self.requestID = requestID
        self.method = method
        gim = Array(repeating: nil, count: rows)
        plain = Array(repeating: nil, count: rows)
    }

    public var isComplete: Bool { !gim.contains(nil) && !plain.contains(nil) }
    public var completedRows: Int { zip(gim, plain).filter { $0.0 != nil && $0.1 != nil }.count }
}

/// Every continuation row over the same forward pass, for the matrix view.
public struct MatrixRequest: Equatable, Sendable {
    public var id: Int
    public var prompt: String
    public var chat: ChatOptions?
    public var continuation: [Int]
    /// The left matrix's method (the focused pane's); the right one is always the plain gradient.
    public var method: AttributionMethod

    public init(id: Int, prompt: String, chat: ChatOptions?, continuation: [Int], method: AttributionMethod = .gim) {
        self.id = id
        self.prompt = prompt
        self.chat = chat
        self.continuation = continuation
        self.method = method
    }
}

/// What the worker reports about continuations and chat mode.
public enum GenerationEvent: Equatable, Sendable {
    /// Whether chat mode can be used with this model (posted once after loading): the template
    /// family's name, or why not.
    case chatTemplate(family: String?, problem: String?)
    /// The prompt was encoded into this many tokens; tokens follow.
    case started(requestID: Int, promptTokenCount: Int)
    case token(requestID: Int, ContinuationToken)
    /// "length", "stop-token", "cancelled", "context" or "given" (teacher forcing).
    case finished(requestID: Int, stop: String, tokensPerSecond: Double?)
    case failed(requestID: Int, message: String)
    case matrixRow(requestID: Int, row: Int, gim: [Float], plain: [Float])
    case matrixFailed(requestID: Int, message: String)
}

/// The keys of issue 16's features, as one action family so the shared `Action` enum gains one case.
public enum GenerationAction: Equatable, Sendable {
    /// Generate (greedy, or sampled with the next seed when `sampled`); while running, stop.
    case generate(sampled: Bool)
    case stop
    /// Select the previous / next continuation token (−1 / +1); 0 = back to the prompt.
    case move(Int)
    case leave
    /// The length limit one step down / up.
    case length(Int)
    case toggleMatrix
    case toggleWords
    case toggleWordReduction
    case toggleChat
    case toggleMaskSpecial
}

/// The continuation on screen (generated or given) and the views over it.
public struct GenerationState: Equatable, Sendable {
    public var options = GenerationOptions()
    /// The request being answered, and the question it answers.
    public var requestID: Int?
    public var prompt = ""
    public var chat: ChatOptions?
    /// Teacher forcing's text, nil for a generated continuation.
    public var forcedText: String?
    public var promptTokenCount = 0
    public var tokens: [ContinuationToken] = []
    public var isRunning = false
    /// Why the last run ended.
    public var stop: String?
    public var tokensPerSecond: Double?
    /// The continuation token whose attribution the panes show; nil = the prompt's own target.
    public var selected: Int?
    public var showMatrix = false
    public var matrix: AttributionMatrix?
    /// Ids of generation and matrix requests (their own counter: analysis ids stay dense).
    public var nextID = 1

    public init() {}

    public var ids: [Int] { tokens.map(\.id) }
    public var isEmpty: Bool { tokens.isEmpty }
}

/// How the panes read the sequence: per token or per word, and whether special tokens
/// (`<|im_start|>`…) take part in the colour scale.
public struct SequenceDisplay: Equatable, Sendable {
    public var words = false
    public var reduction: WordReduction = .sum
    public var maskSpecial = false

    public init() {}
}

/// Chat mode's switch, and whether the model's template allows it.
public struct ChatState: Equatable, Sendable {
    public var enabled = false
    public var system: String?
    /// The recognised template family (nil until the worker said, or when unrecognised).
    public var family: String?
    /// Why chat mode is unavailable.
    public var problem: String?

    public init() {}

    public var options: ChatOptions? { enabled ? ChatOptions(system: system) : nil }
}

extension ExplorerState {
    /// Typed between the prompt and a continuation to attribute (teacher forcing).
    public static let continuationSeparator: Character = "⏎"

    /// The committed prompt before the separator, and the given continuation after it (nil when none).
    public var promptAndForced: (prompt: String, forced: String?) {
        guard let i = committedPrompt.firstIndex(of: Self.continuationSeparator) else { return (committedPrompt, nil) }
        let forced = String(committedPrompt[committedPrompt.index(after: i)...])
        return (String(committedPrompt[..<i]), forced.isEmpty ? nil : forced)
    }
}
