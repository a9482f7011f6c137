/// The knobs of GIM's modified backward. The forward pass never changes.
/// Defaults are the Python package's (`gim.explain`): freeze_norm=True, softmax_temperature=2.0,
/// q_scale=0.25, k_scale=0.25, v_scale=0.5; plus the newer package source's gated-MLP scales
/// (gate_scale=0.5, up_scale=0.5; 1 and 1 reproduce releases up to 0.1.4).
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

    public init(freezeNorm: Bool = true, softmaxTemperature: Float = 2, qScale: Float = 0.25, kScale: Float = 0.25,
                vScale: Float = 0.5, gateScale: Float = 0.5, upScale: Float = 0.5) {
        self.freezeNorm = freezeNorm
        self.softmaxTemperature = softmaxTemperature
        self.qScale = qScale
        self.kScale = kScale
        self.vScale = vScale
        self.gateScale = gateScale
        self.upScale = upScale
    }

    /// GIM with the package's defaults.
    public static let gim = GIMSettings()
    /// GIM as released up to gim-explain 0.1.4 (no gated-MLP scaling).
    public static let gim014 = GIMSettings(gateScale: 1, upScale: 1)
    /// All modifications off: the plain gradient.
    public static let plain = GIMSettings(freezeNorm: false, softmaxTemperature: 1, qScale: 1, kScale: 1, vScale: 1,
                                          gateScale: 1, upScale: 1)

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
         "gate_scale": Double(gateScale), "up_scale": Double(upScale)]
    }
}
