/// Llama 2 / 3.x, SmolLM and Mistral: the plain block (RMSNorm, RoPE with optional linear or
/// llama3 scaling, grouped-query attention, SwiGLU). Mistral's sliding window covers every layer
/// (its GGUFs usually say "llama" and carry no window, as llama.cpp computes them).
extension DecoderFamily {
    static func llama(_ h: CheckpointHyperparameters, family: DecoderFamily) throws -> DecoderConfig {
        guard h.attentionBias != true else {
            throw ModelError.unsupportedArchitecture("\(h.path): attention_bias true (q/k/v/o biases) is not supported")
        }
        try h.requireActivation(["silu"])
        var c = try h.baseConfig(family, ropeLayout: h.ropeLayout(permutedInGGUF: true))
        if family == .mistral, let w = h.slidingWindow {
            c.slidingWindow = w
            c.slidingLayers = try h.slidingLayers(pattern: nil)
        }
        return try h.validated(c)
    }
}

extension CheckpointHyperparameters {
    /// Throws naming the activation unless it is one of `names` (nil = the family's own).
    func requireActivation(_ names: [String]) throws {
        if let a = activation, !names.contains(a) {
            throw ModelError.unsupportedArchitecture("\(path): activation \"\(a)\" is not supported here (expected \(names.joined(separator: " or ")))")
        }
    }
}
