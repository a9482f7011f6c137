import GIMEngine

/// The circuit view's keys and worker events. The scores are asked for only while the view is
/// shown and a counterfactual is given; like the token panes, a knob change asks again (the
/// worker keeps both forward passes and the plain scores, so it runs one backward) and the
/// patching effects, which do not depend on the knobs, stay on screen.
extension ExplorerState {
    /// The question the circuit view should answer now, or nil.
    public func desiredCircuitRequest() -> CircuitRequest? {
        // The prompt's own text (a continuation given after ⏎ is not part of it).
        let prompt = promptAndForced.prompt
        guard circuit.isShown, let cf = circuit.counterfactual, isModelReady, !prompt.isEmpty else { return nil }
        return CircuitRequest(id: circuit.nextRequestID, prompt: prompt, counterfactual: cf,
                              targetPosition: targetPosition, target: target, foil: foil, settings: circuitSettings)
    }

    /// The knobs of the circuit view's GIM scores: the focused pane's when its method is a
    /// backward one (GIM, AttnLRP, CP-LRP…: the knob keys edit it), else the first backward
    /// pane's, else GIM's defaults (an IG or occlusion pane has no backward knobs).
    public var circuitSettings: GIMSettings {
        if panes.focused.method.kind == .backward { return panes.focused.method.settings }
        return panes.methods.first { $0.kind == .backward }?.settings ?? .gim
    }

    /// A new circuit request when the desired question differs from the last one asked.
    mutating func circuitRequestIfChanged() -> CircuitRequest? {
        guard let desired = desiredCircuitRequest(), !desired.asks(sameAs: circuit.lastRequest) else { return nil }
        var r = desired
        r.id = circuit.nextRequestID
        circuit.nextRequestID += 1
        circuit.lastRequest = r
        return r
    }

    mutating func receive(_ event: CircuitEvent) {
        switch event {
        case .finished(let r):
            circuit.completedRequestID = max(circuit.completedRequestID, r.requestID)
            // One worker answers in order, but an older answer must never replace a newer one.
            guard r.requestID >= (circuit.result?.requestID ?? 0), r.requestID >= (circuit.failure?.requestID ?? 0) else { return }
            circuit.result = r
            circuit.failure = nil
            circuit.cursor = circuit.cursor.clamped(to: r.grid)
            if circuit.patching?.question != r.question { circuit.patching = nil }
            circuit.updateAgreements()
            if circuit.isShown, let note = r.notes.first { message = .init(note) }
        case .failed(let id, let text):
            circuit.completedRequestID = max(circuit.completedRequestID, id)
            guard id >= (circuit.result?.requestID ?? 0) else { return }
            circuit.failure = .init(requestID: id, message: text)
            if circuit.isShown { message = .init(text, isError: true) }
        case .patched(let p):
            // Only the patching of the question on screen counts.
            guard p.question == circuit.result?.question else { return }
            circuit.patching = p
            circuit.updateAgreements()
        }
    }

    mutating func apply(_ action: CircuitAction) -> [Effect] {
        switch action {
        case .toggleView:
            circuit.isShown.toggle()
            if !circuit.isShown {
                message = .init("circuit view closed")
                return []
            }
            // One view at a time: the circuit view replaces the continuation matrix.
            generation.showMatrix = false
            if circuit.counterfactual == nil {
                message = .init("circuit view: C types a corrupted prompt, M uses the mean over positions")
            } else {
                message = .init("circuit view · counterfactual: \(circuit.counterfactual!.title)")
            }
        case .toggleMean:
            if circuit.counterfactual == .meanOverPositions {
                circuit.counterfactual = nil
                message = .init("no counterfactual: C types a corrupted prompt, M uses the mean over positions")
            } else {
                circuit.counterfactual = .meanOverPositions
                circuit.isShown = true
                generation.showMatrix = false
                message = .init("counterfactual: each component's mean over the prompt's positions")
            }
        case .move(let rows, let layers):
            guard let g = circuit.result?.grid else { return [] }
            var c = circuit.cursor.clamped(to: g)
            c.row += rows
            c.layer += layers
            circuit.cursor = c.clamped(to: g)
        case .jump(let direction):
            guard let g = circuit.result?.grid else { return [] }
            // The first row of each map: heads, attention/MLP blocks, residual stream.
            let starts = [0, g.heads, g.heads + 2].filter { $0 < g.rowCount }
            let row = circuit.cursor.clamped(to: g).row
            let next = direction > 0 ? starts.first { $0 > row } ?? starts.first!
                                     : starts.last { $0 < row } ?? starts.last!
            circuit.cursor.row = next
        }
        return []
    }

    /// The corrupted prompt typed on the entry line (C): it becomes the counterfactual and the view opens.
    mutating func commitCorruptedPrompt(_ text: String) {
        circuit.counterfactual = .prompt(text)
        circuit.isShown = true
        generation.showMatrix = false
        message = .init("counterfactual: the corrupted prompt (it must have as many tokens as the prompt)")
    }
}
