/// An attribution method as a value: what `ExplainSession.attribute(method:...)` computes, with
/// its own knobs. Most of the GIM paper's comparison rows are one backward with different knobs
/// (`kind` .backward, `settings`): GIM, its ablations, the plain gradient × input, and lxt's
/// AttnLRP and CP-LRP. The others are Integrated Gradients (`steps` plain-gradient path points,
/// batched), occlusion (leave-one-out with the baseline) and a seeded random attribution (the floor).
///
/// Every method explains the same L (the target's raw logit at a position, or target − foil)
/// and returns one value per prompt token; positions after the target position are 0.
public struct AttributionMethod: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// a_t = Σ_d ∂L/∂e[t,d] · (e[t,d] − b[d]) with `settings`' modified backward.
        case backward
        /// a_t = Σ_d (e − b)[t,d] · (1/m) Σ_k ∂L/∂x[t,d] at x = b + α_k (e − b), α_k = (k − ½)/m,
        /// k = 1…m (the midpoint rule, m = `steps`), the plain gradient; the m points run batched.
        case integratedGradients = "integrated-gradients"
        /// a_t = L(x) − L(x with token t's embedding replaced by b): one batched forward per prompt.
        case occlusion
        /// a_t uniform in [−1, 1), seeded by `seed`, the prompt and the target (reproducible).
        case random
    }

    /// The name `gim explain --method` takes and the JSON shows: "gim", "attnlrp", ...
    /// ("custom" for knobs that match no preset).
    public var name: String
    public var kind: Kind
    /// The backward's knobs (.backward). Integrated Gradients and occlusion use only
    /// `settings.inputBaseline`; random uses nothing.
    public var settings: GIMSettings
    /// Integrated Gradients' path points m (1...`stepsRange.upperBound`).
    public var steps: Int
    /// The random method's seed.
    public var seed: UInt64

    public init(name: String, kind: Kind, settings: GIMSettings, steps: Int = Self.defaultSteps, seed: UInt64 = 0) {
        self.name = name
        self.kind = kind
        self.settings = settings
        self.steps = steps
        self.seed = seed
    }

    public static let defaultSteps = 32
    public static let stepsRange: ClosedRange<Int> = 1...4096

    // MARK: Presets (the GIM paper's rows)

    /// GIM with the package's defaults (`GIMSettings.gim`).
    public static let gim = AttributionMethod(name: "gim", kind: .backward, settings: .gim)
    /// GIM as released up to gim-explain 0.1.4 (no gated-MLP scaling).
    public static let gim014 = AttributionMethod(name: "gim-0.1.4", kind: .backward, settings: .gim014)
    /// Gradient × (input − baseline token), the unmodified backward.
    public static let plain = AttributionMethod(name: "plain", kind: .backward, settings: .plain)
    /// lxt's AttnLRP (`GIMSettings.attnLRP`).
    public static let attnLRP = AttributionMethod(name: "attnlrp", kind: .backward, settings: .attnLRP)
    /// lxt's CP-LRP (`GIMSettings.cpLRP`).
    public static let cpLRP = AttributionMethod(name: "cplrp", kind: .backward, settings: .cpLRP)
    /// The paper's ablations: only norm freezing; only the softmax temperature (T = 2).
    public static let gimFreezeOnly = AttributionMethod(name: "gim-freeze-only", kind: .backward, settings: .freezeOnly)
    public static let gimTemperatureOnly = AttributionMethod(name: "gim-temperature-only", kind: .backward,
                                                             settings: .temperatureOnly)
    /// Integrated Gradients from the baseline token's embedding, 32 midpoint steps.
    public static let integratedGradients = AttributionMethod(name: "integrated-gradients", kind: .integratedGradients,
                                                              settings: .plain)
    /// Leave-one-out with the baseline token.
    public static let occlusion = AttributionMethod(name: "occlusion", kind: .occlusion, settings: .plain)
    /// A seeded random attribution.
    public static let random = AttributionMethod(name: "random", kind: .random, settings: .plain)

    /// Every preset, in the order of the paper's comparison.
    public static let all: [AttributionMethod] = [
        .gim, .gim014, .plain, .attnLRP, .cpLRP, .gimFreezeOnly, .gimTemperatureOnly, .integratedGradients, .occlusion,
        .random,
    ]

    /// The preset named `name` (case-insensitive; "ig" is short for integrated-gradients), or an
    /// error listing the names.
    public static func named(_ name: String) throws -> AttributionMethod {
        let key = name.trimmingCharacters(in: .whitespaces).lowercased()
        if key == "ig" { return .integratedGradients }
        guard let m = all.first(where: { $0.name == key }) else {
            throw ModelError.badInput("unknown attribution method \"\(name)\" (known: \(all.map(\.name).joined(separator: ", ")))")
        }
        return m
    }

    /// A backward method with these knobs: the preset they equal, else one named "custom".
    public static func backward(_ settings: GIMSettings) -> AttributionMethod {
        all.first { $0.kind == .backward && $0.settings == settings }
            ?? AttributionMethod(name: "custom", kind: .backward, settings: settings)
    }

    /// Human title for tables and panes.
    public var title: String {
        switch name {
        case "gim": return "GIM"
        case "gim-0.1.4": return "GIM 0.1.4"
        case "plain": return "gradient × input"
        case "attnlrp": return "AttnLRP"
        case "cplrp": return "CP-LRP"
        case "gim-freeze-only": return "GIM freeze only"
        case "gim-temperature-only": return "GIM temperature only"
        case "integrated-gradients": return "Integrated Gradients (\(steps))"
        case "occlusion": return "occlusion"
        case "random": return "random"
        default: return name
        }
    }

    /// One line saying what the method computes.
    public var summary: String {
        switch kind {
        case .backward:
            let s = settings
            return "gradient × (input − \(s.inputBaseline == .zero ? "0" : "baseline")) with freeze_norm \(s.freezeNorm ? "on" : "off"), "
                + "T=\(s.softmaxTemperature), q/k/v \(s.qScale)/\(s.kScale)/\(s.vScale), gate/up \(s.gateScale)/\(s.upScale), "
                + "\(s.activationRule.rawValue) rule"
        case .integratedGradients:
            return "plain gradient averaged over \(steps) midpoints of the straight path from the \(settings.inputBaseline == .zero ? "zero embedding" : "baseline token's embedding")"
        case .occlusion:
            return "drop of L when the token is replaced by the \(settings.inputBaseline == .zero ? "zero embedding" : "baseline token")"
        case .random:
            return "uniform random values, seed \(seed)"
        }
    }

    public var description: String { name }

    /// Throws naming the first knob out of range.
    public func validate() throws {
        try settings.validate()
        guard Self.stepsRange.contains(steps) else {
            throw ModelError.badInput("integrated gradients steps \(steps) is out of range \(Self.stepsRange)")
        }
    }

    /// The method's knobs for JSON output (the backward's for .backward; steps, seed, baseline otherwise).
    public var dictionary: [String: Any] {
        var d: [String: Any] = ["method": name, "kind": kind.rawValue]
        switch kind {
        case .backward: d.merge(settings.dictionary) { a, _ in a }
        case .integratedGradients: d["steps"] = steps; d["input_baseline"] = settings.inputBaseline.rawValue
        case .occlusion: d["input_baseline"] = settings.inputBaseline.rawValue
        case .random: d["seed"] = seed
        }
        return d
    }
}
