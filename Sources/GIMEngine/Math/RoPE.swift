import Foundation

/// Rotary position embedding. Each head vector of size `headDim` is split into headDim/2 pairs,
/// pair i at position p rotated by the angle p · base^(−2i/headDim).
/// - `.normal`: pairs are adjacent elements (2i, 2i+1); GGUF Llama weights (llama.cpp's converter
///   permutes the q/k rows so this layout is right for them).
/// - `.neox`: pairs are (i, i + headDim/2) ("rotate half"); Hugging Face safetensors weights.
public enum RoPELayout: String, Sendable, Codable {
    case normal, neox
}

/// How a layer's rotary frequencies are made: base^(−2i/headDim) for pair i, then a scaling.
public struct RoPESpec: Sendable, Codable, Equatable {
    public var base: Float
    public var scaling: RoPEScaling

    public init(base: Float, scaling: RoPEScaling = .none) {
        self.base = base
        self.scaling = scaling
    }

    func validate(headDim: Int) throws {
        guard base > 1, base.isFinite else { throw ModelError.invalidConfig("RoPE base \(base) must be above 1") }
        switch scaling {
        case .none: break
        case .linear(let f):
            guard f.isFinite, f > 0 else { throw ModelError.invalidConfig("RoPE linear scaling factor \(f) must be positive") }
        case .llama3(let f, let low, let high, let original):
            guard f.isFinite, f > 0, low.isFinite, high.isFinite, high != low, original > 0 else {
                throw ModelError.invalidConfig("RoPE llama3 scaling (factor \(f), low \(low), high \(high), original context \(original)) is inconsistent")
            }
        case .frequencyFactors(let ff):
            guard ff.count == headDim / 2, ff.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ModelError.invalidConfig("RoPE frequency factors: \(ff.count) given for \(headDim / 2) pairs, each must be positive")
            }
        }
    }

    /// The angle per position of each pair, [headDim/2], in Float32 the way transformers computes
    /// it (`modeling_rope_utils`), so the two agree to rounding.
    func inverseFrequencies(headDim: Int) -> [Float] {
        let half = headDim / 2
        var inv = (0..<half).map { i in 1 / powf(base, Float(2 * i) / Float(headDim)) }
        switch scaling {
        case .none:
            break
        case .linear(let factor):
            // Positions divided by the factor (transformers: inv_freq / factor).
            inv = inv.map { $0 / factor }
        case .llama3(let factor, let lowFactor, let highFactor, let original):
            // Long wavelengths slowed by `factor`, short ones kept, a smooth blend between.
            let orig = Float(original)
            let lowWavelen = orig / lowFactor, highWavelen = orig / highFactor
            inv = inv.map { f in
                let wavelen = 2 * Float.pi / f
                if wavelen > lowWavelen { return f / factor }
                if wavelen < highWavelen { return f }
                let smooth = (orig / wavelen - lowFactor) / (highFactor - lowFactor)
                return (1 - smooth) * f / factor + smooth * f
            }
        case .frequencyFactors(let ff):
            // GGUF's rope_freqs.weight: llama.cpp divides each pair's angle by its factor.
            inv = zip(inv, ff).map { $0 / $1 }
        }
        return inv
    }
}

/// The RoPE scalings the engine computes; others are refused by name when a checkpoint is read.
public enum RoPEScaling: Sendable, Codable, Equatable {
    case none
    /// transformers' "linear": every frequency divided by `factor`.
    case linear(factor: Float)
    /// transformers' "llama3" (Llama 3.1/3.2).
    case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContext: Int)
    /// Per-pair divisors of the angle, as GGUF stores Llama 3's scaling (`rope_freqs.weight`).
    case frequencyFactors([Float])
}

/// Precomputed cos/sin tables for positions 0..<positions, each [positions, headDim/2].
struct RoPETable {
    let headDim: Int
    let cos: [Float]
    let sin: [Float]

    init(positions: Int, headDim: Int, base: Float) {
        self.init(positions: positions, headDim: headDim, spec: RoPESpec(base: base))
    }

    /// Angles computed in Float32 the way PyTorch/transformers do (position × inverse frequency).
    init(positions: Int, headDim: Int, spec: RoPESpec) {
        self.headDim = headDim
        let half = headDim / 2
        let inv = spec.inverseFrequencies(headDim: headDim)
        var c = [Float](repeating: 0, count: positions * half)
        var s = [Float](repeating: 0, count: positions * half)
        for i in 0..<half {
            for p in 0..<positions {
                let angle = Float(p) * inv[i]
                c[p * half + i] = cosf(angle)
                s[p * half + i] = sinf(angle)
            }
        }
        cos = c
        sin = s
    }

    /// Rotates `heads` head vectors in each of `rows` rows, in place. Row r is at position
    /// `firstPosition + r` (a KV-cached step continues a sequence); the heads of a row start at
    /// `x + r*rowStride` and are contiguous. `inverse` rotates by the negative angle: the backward
    /// of a rotation is its transpose.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, rowStride: Int, heads: Int,
               layout: RoPELayout, inverse: Bool, firstPosition: Int = 0) {
        let half = headDim / 2
        cos.withUnsafeBufferPointer { cp in
            sin.withUnsafeBufferPointer { sp in
                Parallel.forEachRange(rows, minimumPerPart: 8) { rowRange in
                for p in rowRange {
                    let cr = cp.baseAddress! + (firstPosition + p) * half, sr = sp.baseAddress! + (firstPosition + p) * half
                    for h in 0..<heads {
                        let v = x + p * rowStride + h * headDim
                        for i in 0..<half {
                            let (a, b) = layout == .normal ? (2 * i, 2 * i + 1) : (i, i + half)
                            let c = cr[i], s = inverse ? -sr[i] : sr[i]
                            let x0 = v[a], x1 = v[b]
                            v[a] = x0 * c - x1 * s
                            v[b] = x0 * s + x1 * c
                        }
                    }
                }
                }
            }
        }
    }
}
