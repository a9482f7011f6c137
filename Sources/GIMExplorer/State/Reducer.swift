import GIMEngine

/// The explorer's only way to change state: pure, so every key is unit tested without a
/// terminal or a model. After any event, if the question the panes should answer changed (the
/// committed prompt, a knob, the target, the position), one `.analyze` effect asks the worker.
public func reduce(_ state: ExplorerState, _ event: Event) -> (ExplorerState, [Effect]) {
    var s = state
    var effects: [Effect] = []
    switch event {
    case .key(let key):
        effects += s.handle(key)
    case .debounceElapsed(let generation):
        // Only the timer of the latest edit counts; older timers find the generation moved on.
        if generation == s.editGeneration && s.hasUncommittedEdit { s.commitPrompt(remember: false) }
    case .modelLoaded(let name):
        s.model = .ready(name: name)
    case .modelFailed(let message):
        s.model = .failed(message)
        s.message = .init(message, isError: true)
    case .analysisFinished(let r):
        s.completedRequestID = max(s.completedRequestID, r.requestID)
        // Results can only arrive in order (one worker), but an older one must never replace a newer one.
        if r.requestID >= (s.result?.requestID ?? 0) && r.requestID >= (s.failure?.requestID ?? 0) {
            s.result = r
            s.failure = nil
            s.selectedPrediction = min(s.selectedPrediction, max(0, r.predictions.count - 1))
            if let note = r.notes.first { s.message = .init(note) }
        }
    case .analysisFailed(let id, let message):
        s.completedRequestID = max(s.completedRequestID, id)
        if id >= (s.result?.requestID ?? 0) {
            s.failure = .init(requestID: id, message: message)
            s.message = .init(message, isError: true)
        }
    case .faithfulnessFinished(let report):
        // Only the figures of the result on screen count; a late report of an older one is dropped.
        if report.requestID == s.result?.requestID && report.requestID >= (s.faithfulness?.requestID ?? 0) {
            s.faithfulness = report
        }
    case .circuit(let e):
        s.receive(e)
    case .notify(let text, let isError):
        s.message = .init(text, isError: isError)
    case .tick:
        s.spinnerPhase &+= 1
    case .generation(let e):
        s.receive(e)
    }
    effects += s.syncGeneration()
    if let request = s.requestIfChanged() { effects.append(.analyze(request)) }
    if let matrix = s.matrixIfNeeded() { effects.append(.computeMatrix(matrix)) }
    if let request = s.circuitRequestIfChanged() { effects.append(.analyzeCircuit(request)) }
    return (s, effects)
}

extension ExplorerState {
    /// A new request when the desired question differs from the last one asked.
    mutating func requestIfChanged() -> AnalysisRequest? {
        guard let desired = desiredRequest(), !desired.asks(sameAs: lastRequest) else { return nil }
        return issue(desired)
    }

    private mutating func issue(_ request: AnalysisRequest) -> AnalysisRequest {
        var r = request
        r.id = nextRequestID
        nextRequestID += 1
        // The figures are computed again: when only methods or knobs changed, a pane whose
        // method is unchanged keeps its figures (and the random floor stays); the others are pending.
        var sameQuestion = lastRequest
        sameQuestion?.methods = r.methods
        if let last = lastRequest, let old = faithfulness, sameQuestion.map({ r.asks(sameAs: $0) }) == true,
           old.failure == nil {
            let known = old.methods.isEmpty ? last.methods : old.methods
            faithfulness?.panes = r.methods.map { m in known.firstIndex(of: m).flatMap { old[pane: $0] } }
            faithfulness?.methods = r.methods
        } else {
            faithfulness = nil
        }
        lastRequest = r
        return r
    }

    /// The prompt line becomes the prompt the panes explain.
    mutating func commitPrompt(remember: Bool) {
        if remember { editor.commit() }
        guard editor.text != committedPrompt else { return }
        committedPrompt = editor.text
        // Positions and list rows belong to the old prompt's tokens, and so does a failure.
        targetPosition = nil
        selectedPrediction = 0
        scroll = 0
        failure = nil
        if committedPrompt.isEmpty { result = nil }
    }

    // MARK: Keys

    mutating func handle(_ key: Key) -> [Effect] {
        message = nil
        // Esc stops a running generation before it means anything else.
        if key == .escape && generation.isRunning && !showHelp { return apply(.generation(.stop)) }
        if mode == .command, case .paste = key {
            // Pasted text belongs in the prompt whatever the mode.
            mode = .edit
        }
        let action = KeyMap.action(for: key, in: mode, circuit: circuit.isShown)
        if showHelp {
            // Any key closes the overlay; quitting still quits.
            showHelp = false
            return action == .quit ? [.quit] : []
        }
        guard let action else {
            if mode == .command, case .char(let c) = key {
                message = .init("'\(c)' is not a command key: Tab returns to the prompt, ? lists the keys")
            } else if case .alt(let c) = key {
                message = .init("Alt-\(c) is not bound (Alt-key runs a command-mode key from the prompt)")
            }
            return []
        }
        return apply(action)
    }

    mutating func apply(_ action: Action) -> [Effect] {
        switch action {
        case .insert, .deleteBackward, .deleteForward, .deleteWordBackward, .killToEnd, .killToStart,
             .cursorLeft, .cursorRight, .cursorHome, .cursorEnd, .historyPrevious, .historyNext:
            return edit(action)
        case .submit:
            commitPrompt(remember: true)
            if committedPrompt.isEmpty { message = .init("Type a prompt, then Enter") }
            else if case .loading = model { message = .init("The model is still loading; the prompt is attributed as soon as it is ready") }
            return []
        case .toggleMode:
            switch mode {
            case .edit: mode = .command
            case .command: mode = .edit
            case .entry: mode = .command
            }
            return []
        case .enterEditMode:
            mode = .edit
            return []
        case .toggleHelp:
            showHelp.toggle()
            return []
        case .redraw:
            return [.redraw]
        case .quit:
            return [.quit]

        case .pane(let action):
            return applyPane(action)

        case .step(let knob, let direction):
            guard focusedIsBackward(knob.label) else { return [] }
            let before = knob.formatted(settings)
            settings = knob.step(settings, direction: direction)
            let after = knob.formatted(settings)
            message = .init(before == after ? "\(knob.label) is already at its \(direction > 0 ? "largest" : "smallest") step (\(after))"
                                            : "\(knob.label) \(before) → \(after)")
            return []
        case .resetKnobs:
            let preset = panes.focused.preset
            panes.focused.setMethod(preset)
            message = .init(preset.name == "gim" ? "knobs reset to GIM's defaults" : "knobs reset to \(preset.title)'s defaults")
            return []
        case .allKnobsOff:
            guard focusedIsBackward("0") else { return [] }
            settings = .plain
            message = .init("all knobs off: the \(panes.focused.preset.title) pane now equals the plain gradient")
            return []
        case .preset014:
            guard focusedIsBackward("1") else { return [] }
            settings = .gim014
            message = .init("gim-explain 0.1.4 settings (no gate/up scaling)")
            return []

        case .selectPrediction(let delta):
            let count = result?.predictions.count ?? 0
            guard count > 0 else { return [] }
            selectedPrediction = min(max(0, selectedPrediction + delta), count - 1)
            return []
        case .targetSelected:
            guard let p = selectedPredictionValue else { message = .init("No predictions yet"); return [] }
            target = .id(p.id)
            if foil == .id(p.id) { foil = nil }
            message = .init("explaining \(quoted(p.text))")
            return []
        case .toggleFoil:
            if foil != nil {
                foil = nil
                message = .init("contrastive mode off")
                return []
            }
            guard let p = selectedPredictionValue, let r = result else { message = .init("No predictions yet"); return [] }
            guard p.id != r.targetID else {
                message = .init("The selected token is the target: pick another with ↑ ↓, then c", isError: true)
                return []
            }
            foil = .id(p.id)
            message = .init("contrastive: \(quoted(r.targetText)) − \(quoted(p.text))")
            return []
        case .targetArgmax:
            target = .argmax
            message = .init("explaining the most likely token")
            return []
        case .moveTarget(let delta):
            let n = shownTokenCount
            guard n > 0 else { return [] }
            let current = min(targetPosition ?? (n - 1), n - 1)
            let next = min(max(0, current + delta), n - 1)
            targetPosition = next == n - 1 ? nil : next
            scroll = 0
            selectedPrediction = 0
            return []
        case .targetFirst:
            guard shownTokenCount > 0 else { return [] }
            targetPosition = shownTokenCount == 1 ? nil : 0
            scroll = 0
            selectedPrediction = 0
            return []
        case .targetLast:
            targetPosition = nil
            scroll = 0
            selectedPrediction = 0
            return []
        case .beginEntry(let purpose):
            // The corrupted prompt starts as the current one (or the last corrupted prompt): usually a word changes.
            if case .prompt(let previous) = circuit.counterfactual, purpose == .corrupt {
                entry = PromptEditor(text: previous)
            } else {
                entry = PromptEditor(text: purpose == .corrupt ? promptAndForced.prompt : "")
            }
            mode = .entry(purpose)
            return []
        case .commitEntry:
            guard case .entry(let purpose) = mode else { return [] }
            mode = .command
            if purpose == .system {
                setSystemPrompt(entry.text)
                return []
            }
            guard !entry.text.isEmpty else { return [] }
            let choice = Self.tokenChoice(entry.text)
            switch purpose {
            case .target: target = choice
            case .foil: foil = choice
            case .system: break
            case .corrupt: commitCorruptedPrompt(entry.text)
            }
            return []
        case .cancelEntry:
            mode = .command
            return []

        case .cycleView:
            let all = View.allCases
            view = all[(all.firstIndex(of: view)! + 1) % all.count]
            scroll = 0
            message = .init("view: \(view.title)")
            return []
        case .togglePlot:
            showPlot.toggle()
            message = .init(showPlot ? "deletion curves shown (p hides them)" : "deletion curves hidden")
            return []
        case .cycleTheme:
            themeIndex = (themeIndex + 1) % themeNames.count
            message = .init("theme: \(themeName)")
            return []
        case .scroll(let delta):
            scroll = min(max(scroll + delta, -100_000), 100_000)
            return []
        case .export:
            guard result != nil else { message = .init("Nothing to export yet: attribute a prompt first"); return [] }
            return [.export]
        case .rerun:
            guard desiredRequest() != nil else {
                message = .init(isModelReady ? "Type a prompt first" : "The model is not ready")
                return []
            }
            // Forgetting the last request makes `reduce` ask again although nothing changed.
            lastRequest = nil
            circuit.lastRequest = nil
            return []
        case .generation(let a):
            return apply(a)
        case .circuit(let a):
            return apply(a)
        }
    }

    /// Editing keys go to the prompt, or to the token line while it is open.
    private mutating func edit(_ action: Action) -> [Effect] {
        var e = mode == .edit ? editor : entry
        switch action {
        case .insert(let text):
            if !e.insert(text) { message = .init("The prompt is limited to \(PromptEditor.maxCharacters) characters", isError: true) }
        case .deleteBackward: e.deleteBackward()
        case .deleteForward: e.deleteForward()
        case .deleteWordBackward: e.deleteWordBackward()
        case .killToEnd: e.killToEnd()
        case .killToStart: e.killToStart()
        case .cursorLeft: e.moveLeft()
        case .cursorRight: e.moveRight()
        case .cursorHome: e.moveHome()
        case .cursorEnd: e.moveEnd()
        case .historyPrevious: e.historyPrevious()
        case .historyNext: e.historyNext()
        default: break
        }
        if mode != .edit {
            // A paste in command mode lands in the prompt (the keymap only inserts in text modes).
            entry = e
            return []
        }
        let changed = e.text != editor.text
        editor = e
        guard changed else { return [] }
        editGeneration += 1
        guard debounceMilliseconds > 0 else { return [] }
        return [.scheduleDebounce(generation: editGeneration, milliseconds: debounceMilliseconds)]
    }

    private var selectedPredictionValue: Prediction? {
        guard let r = result, !r.predictions.isEmpty else { return nil }
        return r.predictions[min(selectedPrediction, r.predictions.count - 1)]
    }

    /// "#123" names a token id; anything else is token text.
    static func tokenChoice(_ text: String) -> TokenChoice {
        if text.hasPrefix("#"), let id = Int(text.dropFirst()), id >= 0 { return .id(id) }
        return .text(text)
    }

    func quoted(_ s: String) -> String { "\"" + Sanitizer.visible(s) + "\"" }
}
