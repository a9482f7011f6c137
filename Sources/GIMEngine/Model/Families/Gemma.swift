import Foundation

/// Gemma 1/2/3: GeGLU (tanh GELU), RMSNorm x·(1 + w) (the loader folds the 1 in), embeddings
/// multiplied by √dim, tied head, neox RoPE.
/// - Gemma 2 adds post-attention and post-feed-forward norms, attention-logit and final-logit
///   soft-capping, the scale query_pre_attn_scalar^−½, and a sliding window on even layers.
/// - Gemma 3 (text) adds q/k norms, a 5:1 pattern of sliding and full layers, and separate RoPE
///   bases (10000 on sliding layers, the configured base and scaling on full ones). Its attention
///   never soft-caps, even when the config sets attn_logit_softcapping (transformers ignores it).
extension DecoderFamily {
    static func gemma(_ h: CheckpointHyperparameters, family: DecoderFamily) throws -> DecoderConfig {
        // transformers' Gemma (1) reads the legacy "gelu" as the tanh approximation; Gemma 2/3
        // read hidden_activation, where "gelu" would be the exact erf form, which is refused.
        try h.requireActivation(["gelu_pytorch_tanh", "gelu_new"] + (family == .gemma ? ["gelu"] : []))
        var c = try h.baseConfig(family, ropeLayout: .neox)
        c.tiedOutput = true
        c.activation = .geluTanh
        c.embeddingScale = Float(Double(h.dim).squareRoot())
        guard family != .gemma else { return try h.validated(c) }

        c.postNorms = true
        c.slidingWindow = h.slidingWindow
        c.slidingLayers = try h.slidingLayers(pattern: h.slidingWindowPattern ?? (family == .gemma2 ? 2 : 6))
        c.finalLogitSoftcap = h.finalLogitSoftcap.map(Float.init)
        if family == .gemma2 { c.attentionSoftcap = h.attentionSoftcap.map(Float.init) }
        // The scale: config.json says query_pre_attn_scalar; GGUF does not, and llama.cpp uses
        // dim/heads for the 27B models (46 and 62 layers) and headDim for the others.
        let scalar = h.queryPreAttnScalar
            ?? (h.isGGUF && (h.layers == 46 || h.layers == 62) ? Double(h.dim / h.heads) : Double(c.headDim))
        c.attentionScale = Float(1 / scalar.squareRoot())
        if family == .gemma3 {
            c.qkNorm = true
            c.localRope = RoPESpec(base: Float(h.localRopeBase ?? 10000))
        }
        return try h.validated(c)
    }
}
