import Foundation
import GIMEngine

/// GIM's knobs as the explorer steps them. Steps follow a ladder of round values rather than a
/// fixed increment, so the defaults (T = 2, scales 0.25 and 0.5) and 1 (= off) are always a
/// few presses away and never skipped.
public enum Knob: CaseIterable, Sendable {
    case freezeNorm, temperature, q, k, v, gate, up

    /// The name shown on screen (the Python package's parameter names, shortened).
    public var label: String {
        switch self {
        case .freezeNorm: "freeze_norm"
        case .temperature: "T"
        case .q: "q"
        case .k: "k"
        case .v: "v"
        case .gate: "gate"
        case .up: "up"
        }
    }

    static let temperatureLadder: [Float] = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4, 5, 8, 10, 20, 50, 100]
    static let scaleLadder: [Float] = [0, 0.05, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 1.25, 1.5, 2, 3, 5, 10]

    /// The value as a number (freeze_norm: 1 on, 0 off).
    public func value(in s: GIMSettings) -> Float {
        switch self {
        case .freezeNorm: s.freezeNorm ? 1 : 0
        case .temperature: s.softmaxTemperature
        case .q: s.qScale
        case .k: s.kScale
        case .v: s.vScale
        case .gate: s.gateScale
        case .up: s.upScale
        }
    }

    func set(_ value: Float, in s: inout GIMSettings) {
        switch self {
        case .freezeNorm: s.freezeNorm = value != 0
        case .temperature: s.softmaxTemperature = value
        case .q: s.qScale = value
        case .k: s.kScale = value
        case .v: s.vScale = value
        case .gate: s.gateScale = value
        case .up: s.upScale = value
        }
    }

    /// Moves one rung up (direction > 0) or down the ladder; freeze_norm toggles.
    public func step(_ s: GIMSettings, direction: Int) -> GIMSettings {
        var out = s
        if self == .freezeNorm {
            out.freezeNorm.toggle()
            return out
        }
        let ladder = self == .temperature ? Self.temperatureLadder : Self.scaleLadder
        let current = value(in: s)
        // A value between rungs (set on the command line, say) moves to the next rung in that direction.
        let next = direction > 0 ? ladder.first { $0 > current + 1e-6 } ?? ladder.last!
                                 : ladder.last { $0 < current - 1e-6 } ?? ladder.first!
        set(next, in: &out)
        return out
    }

    /// The value as shown: "on"/"off" or a short number (0.25, 2, 0.125).
    public func formatted(_ s: GIMSettings) -> String {
        if self == .freezeNorm { return s.freezeNorm ? "on" : "off" }
        return Self.number(value(in: s))
    }

    static func number(_ v: Float) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        var s = String(format: "%.3f", Double(v))
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    /// Whether the knob differs from GIM's default (the explorer highlights it).
    public func isChanged(_ s: GIMSettings) -> Bool { value(in: s) != value(in: .gim) }
}
