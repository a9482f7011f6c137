/// Qwen 2 / 2.5: q, k and v carry biases (hard-coded in transformers, `attn_q.bias` … in GGUF).
/// Qwen 3: no biases, an RMSNorm over each query and key head before RoPE, and a head size
/// that need not be dim / heads. Both rotate halves (neox) in GGUF too. A sliding window only
/// where `use_sliding_window` is set (released checkpoints keep it off).
extension DecoderFamily {
    static func qwen(_ h: CheckpointHyperparameters, family: DecoderFamily) throws -> DecoderConfig {
        try h.requireActivation(["silu"])
        var c = try h.baseConfig(family, ropeLayout: .neox)
        if family == .qwen2 {
            c.qkvBias = true
        } else {
            guard h.attentionBias != true else {
                throw ModelError.unsupportedArchitecture("\(h.path): attention_bias true (q/k/v/o biases) is not supported for Qwen 3")
            }
            c.qkNorm = true
        }
        if h.useSlidingWindow == true, let w = h.slidingWindow {
            c.slidingWindow = w
            c.slidingLayers = try h.slidingLayers(pattern: nil)
        }
        return try h.validated(c)
    }
}
