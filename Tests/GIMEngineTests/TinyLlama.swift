import Foundation
@testable import GIMEngine

/// A deterministic pseudo-random generator (SplitMix64) so tiny test models are the same every run.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Roughly standard normal (sum of uniforms), enough for test weights.
    mutating func normal() -> Float {
        var s: Float = 0
        for _ in 0..<12 { s += Float.random(in: 0..<1, using: &self) }
        return s - 6
    }
}

enum TinyLlama {
    static let config = DecoderConfig(vocabSize: 40, dim: 16, layers: 2, heads: 4, kvHeads: 2, headDim: 4, ffnDim: 24,
                                    ropeBase: 10000, rmsEps: 1e-5, contextLength: 64, ropeLayout: .normal,
                                    tiedOutput: true)

    /// A random tiny Llama whose attention is far from uniform (so the softmax knob matters).
    static func random(seed: UInt64 = 7, config c: DecoderConfig = config) throws -> DecoderModel {
        var rng = SeededRandom(seed: seed)
        func buf(_ n: Int, _ scale: Float, around: Float = 0) -> FloatBuffer {
            FloatBuffer((0..<n).map { _ in around + scale * rng.normal() })
        }
        let layers = (0..<c.layers).map { _ in
            DecoderLayerWeights(attnNorm: buf(c.dim, 0.1, around: 1), wqkv: buf(c.qkvDim * c.dim, 0.5),
                              wo: buf(c.dim * c.attnDim, 0.3), ffnNorm: buf(c.dim, 0.1, around: 1),
                              wGateUp: buf(2 * c.ffnDim * c.dim, 0.4), wDown: buf(c.dim * c.ffnDim, 0.3))
        }
        let w = try DecoderWeights(config: c, tokenEmbedding: buf(c.vocabSize * c.dim, 1), outputNorm: buf(c.dim, 0.1, around: 1),
                                 output: c.tiedOutput ? nil : buf(c.vocabSize * c.dim, 1), layers: layers)
        return DecoderModel(weights: w)
    }
}
