/// Phi-3: the Llama block with q|k|v in one `qkv_proj` (GGUF `attn_qkv`) and gate|up in one
/// `gate_up_proj` (GGUF `ffn_up`, 2·ffnDim rows, gate first), neox RoPE, and a sliding window on
/// every layer when set. `longrope` (Phi-3 128k, Phi-3.5) and partial RoPE (Phi-4-mini) are refused.
extension DecoderFamily {
    static func phi3(_ h: CheckpointHyperparameters) throws -> DecoderConfig {
        try h.requireActivation(["silu"])
        var c = try h.baseConfig(.phi3, ropeLayout: .neox)
        if let w = h.slidingWindow {
            c.slidingWindow = w
            c.slidingLayers = try h.slidingLayers(pattern: nil)
        }
        return try h.validated(c)
    }
}
