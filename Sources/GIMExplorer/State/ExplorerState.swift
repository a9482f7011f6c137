import GIMEngine

/// Everything the explorer shows, as one value. Keys and worker results change it only through
/// `reduce`; the screen is `render(state, size)`. Nothing here touches the terminal or the model.
public struct ExplorerState: Equatable, Sendable {
    public enum Mode: Equatable, Sendable {
        /// Letters go into the prompt.
        case edit
        /// Letters are commands (knobs, target, view).
        case command
        /// A short line asking for a token's text.
        case entry(EntryPurpose)
    }

    public enum EntryPurpose: Equatable, Sendable {
        case target, foil
        /// Chat mode's system prompt.
        case system
        /// The circuit view's corrupted prompt.
        case corrupt
    }

    /// What the main area shows.
    public enum View: String, CaseIterable, Sendable {
        /// Every pane's method as heat-coloured text, side by side (or stacked).
        case heat
        /// Two panes, each normalised to ±1: the focused one minus the chosen other.
        case difference
        /// Exact values and ranks per token.
        case table

        public var title: String {
            switch self {
            case .heat: "heat"
            case .difference: "difference"
            case .table: "table"
            }
        }
    }

    public enum ModelStatus: Equatable, Sendable {
        case loading(path: String)
        case ready(name: String)
        case failed(String)
    }

    public struct Message: Equatable, Sendable {
        public var text: String
        public var isError: Bool
        public init(_ text: String, isError: Bool = false) {
            self.text = text
            self.isError = isError
        }
    }

    /// A request the worker could not answer (shown instead of an older result).
    public struct Failure: Equatable, Sendable {
        public var requestID: Int
        public var message: String
    }

    public var mode: Mode = .edit
    public var showHelp = false
    public var view: View = .heat
    /// The prompt line being edited.
    public var editor = PromptEditor()
    /// The target/foil text line (mode `.entry`).
    public var entry = PromptEditor()
    /// The prompt the panes explain: set by Enter, or after a pause in typing.
    public var committedPrompt = ""
    /// The attribution panes: each pane's method and knobs, the focus, the difference pair.
    public var panes: PaneSet = .standard
    /// nil = the last position (and it follows the prompt's end when the prompt changes).
    public var targetPosition: Int?
    public var target: TokenChoice = .argmax
    /// nil = not contrastive.
    public var foil: TokenChoice?
    /// Highlighted row of the prediction list.
    public var selectedPrediction = 0
    /// Lines scrolled away from the automatic position (which keeps the target in view).
    public var scroll = 0
    public var model: ModelStatus
    public var result: AnalysisResult?
    public var failure: Failure?
    /// The newest request sent to the worker, and the newest one it answered.
    public var lastRequest: AnalysisRequest?
    public var completedRequestID = 0
    public var nextRequestID = 1
    public var message: Message?
    /// Bumped on every prompt edit; a typing-pause timer only fires for the edit it was set for.
    public var editGeneration = 0
    /// Pause after typing before the prompt is attributed; 0 = only Enter does it.
    public var debounceMilliseconds: Int
    public var themeNames: [String]
    public var themeIndex = 0
    public var colorDepth: ColorDepth
    /// Advances while something is computing, to animate the spinner.
    public var spinnerPhase = 0
    /// Faithfulness figures of the panes; a pane's figure is nil while it is computed.
    public var faithfulness: FaithfulnessReport?
    /// The deletion-curve plot is shown.
    public var showPlot = false
    /// Predictions listed per position.
    public var topK = 10
    /// Issue 16: the continuation and its views, per-word display, chat mode.
    public var generation = GenerationState()
    public var display = SequenceDisplay()
    public var chat = ChatState()
    /// The circuit view (components scored against a counterfactual).
    public var circuit = CircuitView()

    public init(modelPath: String = "", prompt: String? = nil, debounceMilliseconds: Int = 400,
                themeNames: [String] = ["default"], themeIndex: Int = 0, colorDepth: ColorDepth = .ansi256) {
        model = .loading(path: modelPath)
        self.debounceMilliseconds = debounceMilliseconds
        self.themeNames = themeNames.isEmpty ? ["default"] : themeNames
        self.themeIndex = min(max(0, themeIndex), self.themeNames.count - 1)
        self.colorDepth = colorDepth
        if let prompt, !prompt.isEmpty {
            editor = PromptEditor(text: prompt)
            committedPrompt = editor.text
        }
    }

    // MARK: Derived values

    public var isModelReady: Bool {
        if case .ready = model { return true }
        return false
    }

    /// The worker has a request it has not answered yet.
    public var isComputing: Bool {
        guard let last = lastRequest else { return false }
        return last.id > completedRequestID
    }

    /// The prompt line differs from what the panes explain.
    public var hasUncommittedEdit: Bool { editor.text != committedPrompt }

    public var themeName: String { themeNames[min(themeIndex, themeNames.count - 1)] }

    /// Tokens of the result on screen. While a new prompt computes, the old result stays on
    /// screen, and position keys move over the tokens the user can see.
    public var shownTokenCount: Int { result?.tokenIDs.count ?? 0 }

    /// The focused pane's backward knobs (the GIM pane's in the two-pane layout): what the knob
    /// keys change.
    public var settings: GIMSettings {
        get { panes.focused.method.settings }
        set {
            var m = panes.focused.method
            m.settings = newValue
            panes.focused.setMethod(m)
        }
    }

    /// The question the panes should answer now, or nil when there is nothing to ask.
    public func desiredRequest() -> AnalysisRequest? {
        guard isModelReady, !committedPrompt.isEmpty else { return nil }
        let prompt = promptAndForced.prompt
        // A selected continuation token: its own attribution over everything before it, in
        // every pane, on the forward of the whole sequence (walking the continuation runs
        // backwards only).
        if let j = generation.selected, j < generation.tokens.count, generation.promptTokenCount > 0 {
            return AnalysisRequest(id: nextRequestID, prompt: generation.prompt, targetPosition: generation.promptTokenCount + j - 1,
                                   target: .id(generation.tokens[j].id), foil: foil, topK: topK, methods: panes.methods,
                                   chat: generation.chat, continuation: generation.ids)
        }
        guard !prompt.isEmpty else { return nil }
        return AnalysisRequest(id: nextRequestID, prompt: prompt, targetPosition: targetPosition,
                               target: target, foil: foil, topK: topK, methods: panes.methods, chat: chat.options)
    }
}
