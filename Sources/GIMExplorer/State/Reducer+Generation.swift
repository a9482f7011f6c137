import GIMEngine

/// Issue 16's part of the reducer: generating a continuation, walking its tokens, the matrix
/// view, words, chat mode and teacher forcing. Kept apart from the core reducer so each stays
/// readable; `reduce` calls `receive`, `apply(GenerationAction)`, `syncGeneration` and
/// `matrixIfNeeded`.
extension ExplorerState {
    // MARK: Worker events

    mutating func receive(_ event: GenerationEvent) {
        switch event {
        case .chatTemplate(let family, let problem):
            chat.family = family
            chat.problem = problem
        case .started(let id, let count):
            guard id == generation.requestID else { return }
            generation.promptTokenCount = count
        case .token(let id, let token):
            guard id == generation.requestID else { return }
            generation.tokens.append(token)
        case .finished(let id, let stop, let tokensPerSecond):
            guard id == generation.requestID else { return }
            generation.isRunning = false
            generation.stop = stop
            generation.tokensPerSecond = tokensPerSecond
            generation.matrix = nil
            if generation.selected == nil && !generation.tokens.isEmpty && !generation.showMatrix { generation.selected = 0 }
            let n = generation.tokens.count
            let what = generation.forcedText == nil ? "generated \(n) token\(n == 1 ? "" : "s")" : "given \(n) token\(n == 1 ? "" : "s")"
            var text = what + (stop == "given" ? "" : " (stop: \(stop))")
            if let t = tokensPerSecond { text += String(format: " · %.1f tokens/s", t) }
            message = .init(text + (n > 0 ? " · < > walk them, x matrix" : ""))
        case .failed(let id, let text):
            guard id == generation.requestID else { return }
            generation.isRunning = false
            generation.stop = "failed"
            message = .init(text, isError: true)
        case .matrixRow(let id, let row, let gim, let plain):
            guard var m = generation.matrix, m.requestID == id, row < m.gim.count else { return }
            m.gim[row] = gim
            m.plain[row] = plain
            generation.matrix = m
        case .matrixFailed(let id, let text):
            guard generation.matrix?.requestID == id else { return }
            message = .init("matrix: \(text)", isError: true)
        }
    }

    // MARK: Keys

    mutating func apply(_ action: GenerationAction) -> [Effect] {
        switch action {
        case .generate(let sampled):
            if generation.isRunning { return apply(.stop) }
            commitPrompt(remember: true)
            guard isModelReady else { message = .init("The model is not ready"); return [] }
            let (prompt, forced) = promptAndForced
            guard !prompt.isEmpty else { message = .init("Type a prompt first"); return [] }
            guard forced == nil else {
                message = .init("The prompt line gives a continuation after ⏎: delete it to generate one")
                return []
            }
            if sampled {
                // Each press draws a new continuation; the seed is shown to repeat it (--seed).
                if generation.options.sampled { generation.options.seed &+= 1 }
                generation.options.sampled = true
            } else {
                generation.options.sampled = false
            }
            let o = generation.options
            return [.generate(startGeneration(prompt: prompt, forced: nil,
                                              kind: .generate(maxTokens: o.maxTokens, sampling: o.sampling)))]
        case .stop:
            guard generation.isRunning else { return [] }
            message = .init("stopping the generation…")
            return [.stopGeneration]
        case .move(let delta):
            let n = generation.tokens.count
            guard n > 0, !generation.isRunning else {
                message = .init(generation.isRunning ? "still generating (Esc stops)" : "No continuation yet: n generates one")
                return []
            }
            let next: Int? = generation.selected.map { $0 + delta } ?? (delta > 0 ? 0 : n - 1)
            generation.selected = next.flatMap { $0 < 0 ? nil : min($0, n - 1) }
            scroll = 0
            selectedPrediction = 0
            if generation.selected == nil { message = .init("back to the prompt's own target") }
            return []
        case .leave:
            generation.selected = nil
            return []
        case .length(let delta):
            let ladder = GenerationOptions.lengths
            let i = ladder.lastIndex { $0 <= generation.options.maxTokens } ?? 0
            generation.options.maxTokens = ladder[min(max(0, i + delta), ladder.count - 1)]
            message = .init("generation: \(generation.options.summary)")
            return []
        case .toggleMatrix:
            guard !generation.tokens.isEmpty || generation.showMatrix else {
                message = .init("No continuation yet: n generates one, then x shows its matrix")
                return []
            }
            generation.showMatrix.toggle()
            // One view at a time: the matrix replaces the circuit view.
            if generation.showMatrix { circuit.isShown = false }
            scroll = 0
            message = .init(generation.showMatrix ? "matrix: rows = continuation tokens, columns = sources (x closes)" : "matrix closed")
            return []
        case .toggleWords:
            display.words.toggle()
            message = .init(display.words ? "words: sub-word tokens merged (\(display.reduction.rawValue)); W: sum / max-|a|"
                                          : "tokens: one cell per token")
            return []
        case .toggleWordReduction:
            display.reduction = display.reduction == .sum ? .maxAbs : .sum
            message = .init("words: \(display.reduction == .sum ? "sum of their tokens" : "the token of largest |a|")")
            return []
        case .toggleMaskSpecial:
            display.maskSpecial.toggle()
            message = .init(display.maskSpecial ? "special tokens left out of the colour scale" : "special tokens coloured like the others")
            return []
        case .toggleChat:
            if chat.enabled {
                chat.enabled = false
                message = .init("chat mode off: the prompt is plain text")
                return []
            }
            guard let family = chat.family else {
                message = .init("chat mode is unavailable: \(chat.problem ?? "the model's chat template is not known yet")", isError: true)
                return []
            }
            chat.enabled = true
            message = .init("chat mode (\(family)): the prompt is the user's message, the assistant answers; M sets a system prompt")
            return []
        }
    }

    mutating func setSystemPrompt(_ text: String) {
        chat.system = text.isEmpty ? nil : text
        message = .init(text.isEmpty ? "system prompt: the template's default" : "system prompt set")
    }

    /// A new continuation run: the old one (and its matrix) is gone.
    private mutating func startGeneration(prompt: String, forced: String?, kind: GenerationRequest.Kind) -> GenerationRequest {
        let request = GenerationRequest(id: generation.nextID, prompt: prompt, chat: chat.options, kind: kind)
        generation.nextID += 1
        generation.requestID = request.id
        generation.prompt = prompt
        generation.chat = chat.options
        generation.forcedText = forced
        generation.promptTokenCount = 0
        generation.tokens = []
        generation.isRunning = true
        generation.stop = nil
        generation.tokensPerSecond = nil
        generation.selected = nil
        generation.matrix = nil
        return request
    }

    // MARK: Keeping the continuation in step with the prompt

    /// A continuation belongs to a prompt (and chat setting): when they change it is dropped
    /// (a running generation is stopped); a continuation given after ⏎ is scored as soon as the
    /// prompt line is committed.
    mutating func syncGeneration() -> [Effect] {
        guard isModelReady else { return [] }
        var effects: [Effect] = []
        let (prompt, forced) = promptAndForced
        let hasOne = generation.requestID != nil
        if hasOne && (generation.prompt != prompt || generation.chat != chat.options
                      || (forced != nil && generation.forcedText != forced) || (forced == nil && generation.forcedText != nil)) {
            if generation.isRunning { effects.append(.stopGeneration) }
            let options = generation.options, next = generation.nextID, matrix = generation.showMatrix
            generation = GenerationState()
            generation.options = options
            generation.nextID = next
            generation.showMatrix = matrix && forced != nil
        }
        if let forced, !prompt.isEmpty, generation.requestID == nil {
            effects.append(.generate(startGeneration(prompt: prompt, forced: forced, kind: .force(forced))))
        }
        return effects
    }

    /// The matrix request when the matrix view is open and its rows are missing or were
    /// computed with another method or other knobs (the focused pane's, `j` and the knob keys).
    mutating func matrixIfNeeded() -> MatrixRequest? {
        let method = panes.focused.method
        guard generation.showMatrix, !generation.isRunning, !generation.tokens.isEmpty, generation.promptTokenCount > 0,
              generation.matrix?.method != method else { return nil }
        let request = MatrixRequest(id: generation.nextID, prompt: generation.prompt, chat: generation.chat,
                                    continuation: generation.ids, method: method)
        generation.nextID += 1
        generation.matrix = AttributionMatrix(requestID: request.id, method: method, rows: generation.tokens.count)
        return request
    }
}
