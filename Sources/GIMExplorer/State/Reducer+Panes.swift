import GIMEngine

/// The pane keys: which method each pane shows, which pane the knob keys edit, which two panes
/// the difference view compares, and the knobs only some methods have (baseline, activation
/// rule, Integrated Gradients' steps). Every change is a new `methods` list in the request, and
/// the worker recomputes only the panes whose method changed.
extension ExplorerState {
    mutating func applyPane(_ action: PaneAction) -> [Effect] {
        switch action {
        case .cycleMethod(let delta):
            let names = PaneSet.presetNames
            let i = names.firstIndex(of: panes.focused.presetName) ?? 0
            panes.focused.presetName = names[((i + delta) % names.count + names.count) % names.count]
            let m = panes.focused.method
            message = .init("pane \(panes.focus + 1): \(m.title) · \(m.summary)")
        case .focus(let delta):
            let n = panes.panes.count
            panes.focus = ((panes.focus + delta) % n + n) % n
            message = .init("pane \(panes.focus + 1) focused (\(panes.focused.method.title)): knob keys edit it")
        case .add:
            guard panes.panes.count < PaneSet.maximumCount else {
                message = .init("At most \(PaneSet.maximumCount) panes; - closes the focused one", isError: true)
                return []
            }
            panes.panes.append(Pane(panes.unusedPreset()))
            panes.focus = panes.panes.count - 1
            message = .init("pane \(panes.focus + 1) added: \(panes.focused.method.title) (o cycles its method)")
        case .remove:
            guard panes.panes.count > 1 else {
                message = .init("The last pane stays; o changes its method", isError: true)
                return []
            }
            let closed = panes.panes.remove(at: panes.focus)
            if panes.subtrahend > panes.focus { panes.subtrahend -= 1 }
            panes.focus = min(panes.focus, panes.panes.count - 1)
            panes.subtrahend = min(panes.subtrahend, panes.panes.count - 1)
            message = .init("pane closed (\(closed.method.title))")
        case .cycleSubtrahend:
            guard panes.panes.count > 1, let current = panes.otherPane else {
                message = .init("The difference needs two panes: + adds one", isError: true)
                return []
            }
            var next = (current + 1) % panes.panes.count
            if next == panes.focus { next = (next + 1) % panes.panes.count }
            panes.subtrahend = next
            message = .init("difference: \(panes.focused.method.title) − \(panes.panes[next].method.title)")
        case .toggleBaseline:
            var m = panes.focused.method
            guard m.kind != .random else {
                message = .init("random has no input baseline", isError: true)
                return []
            }
            m.settings.inputBaseline = m.settings.inputBaseline == .token ? .zero : .token
            panes.focused.setMethod(m)
            message = .init("\(m.title): input baseline \(m.settings.inputBaseline == .token ? "the baseline token's embedding" : "the zero embedding")")
        case .toggleActivationRule:
            guard focusedIsBackward("the activation rule") else { return [] }
            var m = panes.focused.method
            m.settings.activationRule = m.settings.activationRule == .gradient ? .identity : .gradient
            panes.focused.setMethod(m)
            message = .init("\(m.title): \(m.settings.activationRule.rawValue) rule on SiLU/GELU")
        case .steps(let direction):
            var m = panes.focused.method
            guard m.kind == .integratedGradients else {
                message = .init("Only Integrated Gradients has steps (o cycles the focused pane's method)", isError: true)
                return []
            }
            let before = m.steps
            m.steps = Self.stepLadder(m.steps, direction: direction)
            panes.focused.setMethod(m)
            message = .init(before == m.steps ? "steps are already at their \(direction > 0 ? "largest" : "smallest") (\(m.steps))"
                                              : "Integrated Gradients steps \(before) → \(m.steps)")
        }
        return []
    }

    /// The explorer's IG steps: powers of two from 1 to 256 (a value between them moves to the
    /// next power in that direction).
    static let stepsLadder = [1, 2, 4, 8, 16, 32, 64, 128, 256]

    static func stepLadder(_ steps: Int, direction: Int) -> Int {
        direction > 0 ? stepsLadder.first { $0 > steps } ?? stepsLadder.last!
                      : stepsLadder.last { $0 < steps } ?? stepsLadder.first!
    }

    /// Whether the focused pane's method has the backward's knobs; if not, says so.
    mutating func focusedIsBackward(_ knob: String) -> Bool {
        let m = panes.focused.method
        guard m.kind != .backward else { return true }
        let own: String
        switch m.kind {
        case .integratedGradients: own = "its knobs are steps (h H) and the baseline (b)"
        case .occlusion: own = "its knob is the baseline (b)"
        case .random: own = "it has no knobs"
        case .backward: own = ""
        }
        message = .init("\(m.title) has no \(knob) knob: \(own); j focuses another pane", isError: true)
        return false
    }
}
