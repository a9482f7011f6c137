import GIMEngine

/// One attribution pane: which method it shows, and that method's knobs. Each pane remembers
/// the knobs of every method it has shown (`edited`), so cycling away from a changed GIM and
/// back finds the same knobs, and IG's steps survive a visit to occlusion.
public struct Pane: Equatable, Sendable {
    /// The preset this pane shows (an `AttributionMethod.all` name: "gim", "attnlrp", ...).
    public var presetName: String
    /// Knob changes per preset name; a preset not in it has its defaults.
    public var edited: [String: AttributionMethod] = [:]

    public init(_ preset: AttributionMethod) {
        presetName = preset.name
    }

    /// The method with its knobs, as the worker computes it.
    public var method: AttributionMethod {
        edited[presetName] ?? Self.preset(presetName)
    }

    /// The preset's defaults (what `r` resets to).
    public var preset: AttributionMethod { Self.preset(presetName) }

    /// The method's knobs differ from its preset's.
    public var isChanged: Bool { method != preset }

    public mutating func setMethod(_ m: AttributionMethod) {
        if m == preset { edited[presetName] = nil } else { edited[presetName] = m }
    }

    static func preset(_ name: String) -> AttributionMethod {
        AttributionMethod.all.first { $0.name == name } ?? .gim
    }
}

/// The panes side by side (or stacked): which one has the keyboard's focus (knob keys edit its
/// method) and which two the difference view compares.
public struct PaneSet: Equatable, Sendable {
    public var panes: [Pane]
    /// The pane the knob and method keys act on.
    public var focus = 0
    /// The difference view shows the focused pane minus this one.
    public var subtrahend = 1

    public static let maximumCount = 4
    /// Today's two panes: GIM beside the plain gradient.
    public static let standard = PaneSet(panes: [Pane(.gim), Pane(.plain)])

    public init(panes: [Pane]) {
        self.panes = panes.isEmpty ? [Pane(.gim)] : Array(panes.prefix(Self.maximumCount))
    }

    /// Panes with these methods (presets with their defaults, or edited).
    public init(methods: [AttributionMethod]) {
        self.init(panes: methods.map { m in
            var p = Pane(AttributionMethod.all.first { $0.name == m.name } ?? .gim)
            p.setMethod(m)
            return p
        })
    }

    public var methods: [AttributionMethod] { panes.map(\.method) }

    public var focused: Pane {
        get { panes[min(focus, panes.count - 1)] }
        set { panes[min(focus, panes.count - 1)] = newValue }
    }

    /// The pane the difference view subtracts: never the focused one (nil with a single pane).
    public var otherPane: Int? {
        guard panes.count > 1 else { return nil }
        let s = min(subtrahend, panes.count - 1)
        return s == focus ? (focus + 1) % panes.count : s
    }

    /// The method presets in the order keys cycle through them.
    public static var presetNames: [String] { AttributionMethod.all.map(\.name) }

    /// The order in which new panes pick a method: the paper's main comparisons first.
    static let additionOrder: [AttributionMethod] = [.gim, .plain, .attnLRP, .integratedGradients, .occlusion, .cpLRP]
        + AttributionMethod.all

    /// The first method (in `additionOrder`) no pane shows yet: a new pane starts with it.
    func unusedPreset() -> AttributionMethod {
        let shown = Set(panes.map(\.presetName))
        return Self.additionOrder.first { !shown.contains($0.name) } ?? .gim
    }
}

/// What the pane keys do (State/Reducer+Panes.swift).
public enum PaneAction: Equatable, Sendable {
    /// The focused pane's method: next (+1) or previous (−1) preset.
    case cycleMethod(Int)
    /// Move the focus to the next (+1) or previous (−1) pane.
    case focus(Int)
    /// Another pane (up to four), showing a method no pane shows yet.
    case add
    /// Close the focused pane (one always stays).
    case remove
    /// The difference view subtracts the next other pane.
    case cycleSubtrahend
    /// The focused method's input baseline: baseline token ↔ zero embedding.
    case toggleBaseline
    /// The focused backward method's activation rule: gradient ↔ identity.
    case toggleActivationRule
    /// Integrated Gradients' path points: halve (−1) or double (+1).
    case steps(Int)
}
