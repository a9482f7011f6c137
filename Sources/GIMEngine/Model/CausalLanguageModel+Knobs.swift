extension CausalLanguageModel {
    /// Whether the MLP is gated (SwiGLU, GeGLU), so GIM's gate/up scales act on it. GPT-2's MLP is not:
    /// there the gate/up knobs change nothing and a UI may show them as not applicable.
    public var hasGatedMLP: Bool { self is DecoderModel }
}
