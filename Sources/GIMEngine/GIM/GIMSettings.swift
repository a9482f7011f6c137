/// The knobs of GIM's modified backward. The forward pass never changes.
/// Defaults are the Python package's (`gim.explain`): freeze_norm=True, softmax_temperature=2.0,
/// q_scale=0.25, k_scale=0.25, v_scale=0.5; plus the newer package source's gated-MLP scales
/// (gate_scale=0.5, up_scale=0.5; 1 and 1 reproduce releases up to 0.1.4).
/// Two more choices make other methods points of the same space (see `AttributionMethod`):
/// the activation rule (lxt's AttnLRP uses the identity rule) and the input baseline (lxt's
/// relevance is Σ_d e·grad, a zero baseline). Their defaults are GIM's and change nothing.
public struct GIMSettings: Sendable, Equatable, Hashable, Codable {
    /// Norm statistics (RMSNorm's rms, LayerNorm's sigma) are constants in the backward.
    public var freezeNorm: Bool
    /// Every softmax's backward uses softmax(x / T); 1 = unmodified.
    public var softmaxTemperature: Float
    /// Multipliers of the gradient arriving at each head's query, key and value tensors.
    public var qScale: Float
    public var kScale: Float
    public var vScale: Float
    /// Multipliers of the gradient reaching silu(gate) and up at the SwiGLU product.
    public var gateScale: Float
    public var upScale: Float
    /// The backward of the element-wise nonlinearity of every MLP (SiLU, GELU).
    public var activationRule: ActivationRule
    /// What the attribution subtracts from each input embedding: a_t = Σ_d ∂L/∂e[t,d]·(e[t,d] − b[d]).
    public var inputBaseline: InputBaseline

    public init(freezeNorm: Bool = true, softmaxTemperature: Float = 2, qScale: Float = 0.25, kScale: Float = 0.25,
                vScale: Float = 0.5, gateScale: Float = 0.5, upScale: Float = 0.5,
                activationRule: ActivationRule = .gradient, inputBaseline: InputBaseline = .token) {
        self.freezeNorm = freezeNorm
        self.softmaxTemperature = softmaxTemperature
        self.qScale = qScale
        self.kScale = kScale
        self.vScale = vScale
        self.gateScale = gateScale
        self.upScale = upScale
        self.activationRule = activationRule
        self.inputBaseline = inputBaseline
    }

    /// Decodes settings written before the activation rule and the input baseline existed
    /// (missing keys take GIM's defaults).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GIMSettings()
        self.init(freezeNorm: try c.decodeIfPresent(Bool.self, forKey: .freezeNorm) ?? d.freezeNorm,
                  softmaxTemperature: try c.decodeIfPresent(Float.self, forKey: .softmaxTemperature) ?? d.softmaxTemperature,
                  qScale: try c.decodeIfPresent(Float.self, forKey: .qScale) ?? d.qScale,
                  kScale: try c.decodeIfPresent(Float.self, forKey: .kScale) ?? d.kScale,
                  vScale: try c.decodeIfPresent(Float.self, forKey: .vScale) ?? d.vScale,
                  gateScale: try c.decodeIfPresent(Float.self, forKey: .gateScale) ?? d.gateScale,
                  upScale: try c.decodeIfPresent(Float.self, forKey: .upScale) ?? d.upScale,
                  activationRule: try c.decodeIfPresent(ActivationRule.self, forKey: .activationRule) ?? d.activationRule,
                  inputBaseline: try c.decodeIfPresent(InputBaseline.self, forKey: .inputBaseline) ?? d.inputBaseline)
    }

    /// GIM with the package's defaults.
    public static let gim = GIMSettings()
    /// GIM as released up to gim-explain 0.1.4 (no gated-MLP scaling).
    public static let gim014 = GIMSettings(gateScale: 1, upScale: 1)
    /// All modifications off: the plain gradient.
    public static let plain = GIMSettings(freezeNorm: false, softmaxTemperature: 1, qScale: 1, kScale: 1, vScale: 1,
                                          gateScale: 1, upScale: 1)
    /// The paper's ablations: GIM with only norm freezing, and with only the softmax temperature.
    public static let freezeOnly = GIMSettings(freezeNorm: true, softmaxTemperature: 1, qScale: 1, kScale: 1, vScale: 1,
                                               gateScale: 1, upScale: 1)
    public static let temperatureOnly = GIMSettings(freezeNorm: false, softmaxTemperature: 2, qScale: 1, kScale: 1,
                                                    vScale: 1, gateScale: 1, upScale: 1)
    /// lxt's efficient AttnLRP (`attnlrp` in lxt 2.1) as a backward: norm statistics detached
    /// (the final norm too), the gradient at q and k divided by 4 and at v by 2, the gated MLP's
    /// product split evenly (1/2 each), the softmax plain, the identity rule on SiLU/GELU, and
    /// relevance Σ_d e·grad (zero baseline).
    public static let attnLRP = GIMSettings(freezeNorm: true, softmaxTemperature: 1, qScale: 0.25, kScale: 0.25,
                                            vScale: 0.5, gateScale: 0.5, upScale: 0.5, activationRule: .identity,
                                            inputBaseline: .zero)
    /// lxt's CP-LRP (`cp_LRP`): norms detached, q and k detached (scale 0), v plain, no gradient
    /// through the MLP's gate branch (`act(gate(x).detach()) * up(x)`: gate 0, up 1), and relevance
    /// Σ_d e·grad (zero baseline). The activation rule is the identity: moot for gated MLPs (no
    /// gradient reaches the gate's activation) and what lxt's GPT-2 map keeps on GELU.
    public static let cpLRP = GIMSettings(freezeNorm: true, softmaxTemperature: 1, qScale: 0, kScale: 0, vScale: 1,
                                          gateScale: 0, upScale: 1, activationRule: .identity, inputBaseline: .zero)

    public var isPlain: Bool { self == .plain }

    /// Allowed ranges: temperature in [0.05, 100]; scales in [0, 10].
    public static let temperatureRange: ClosedRange<Float> = 0.05...100
    public static let scaleRange: ClosedRange<Float> = 0...10

    /// Throws a message naming the first knob out of range.
    public func validate() throws {
        guard softmaxTemperature.isFinite, Self.temperatureRange.contains(softmaxTemperature) else {
            throw ModelError.badInput("softmax temperature \(softmaxTemperature) is out of range \(Self.temperatureRange)")
        }
        for (name, v) in [("q_scale", qScale), ("k_scale", kScale), ("v_scale", vScale),
                          ("gate_scale", gateScale), ("up_scale", upScale)] {
            guard v.isFinite, Self.scaleRange.contains(v) else {
                throw ModelError.badInput("\(name) \(v) is out of range \(Self.scaleRange)")
            }
        }
    }

    /// The settings as the Python package's parameter names, for JSON output.
    public var dictionary: [String: Any] {
        ["freeze_norm": freezeNorm, "softmax_temperature": Double(softmaxTemperature),
         "q_scale": Double(qScale), "k_scale": Double(kScale), "v_scale": Double(vScale),
         "gate_scale": Double(gateScale), "up_scale": Double(upScale),
         "activation_rule": activationRule.rawValue, "input_baseline": inputBaseline.rawValue]
    }
}

/// How the backward passes through an element-wise nonlinearity y = act(x) (SiLU, GELU).
public enum ActivationRule: String, Sendable, Hashable, Codable, CaseIterable {
    /// dx = dy · act'(x): the ordinary gradient.
    case gradient
    /// dx = dy · act(x) / (x + 1e-10): LRP's identity rule, the relevance passing straight
    /// through (as lxt's `identity_rule_implicit`, whose epsilon this is).
    case identity

    /// lxt's epsilon of the identity rule, added to x (not to |x|).
    public static let identityEpsilon: Float = 1e-10
}

/// What "no input" is in gradient × (input − baseline).
public enum InputBaseline: String, Sendable, Hashable, Codable, CaseIterable {
    /// The baseline token's embedding (GIM's choice: the space token).
    case token
    /// The zero vector: a_t = Σ_d e[t,d]·∂L/∂e[t,d] (lxt's relevance).
    case zero
}
