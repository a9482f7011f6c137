/// Hyper-parameters of a Llama-family decoder (Llama, SmolLM, ...).
public struct LlamaConfig: Sendable, Codable, Equatable {
    public var vocabSize: Int
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffnDim: Int
    public var ropeBase: Float
    public var rmsEps: Float
    public var contextLength: Int
    public var ropeLayout: RoPELayout
    /// The output head reuses the token embedding matrix.
    public var tiedOutput: Bool

    public init(vocabSize: Int, dim: Int, layers: Int, heads: Int, kvHeads: Int, headDim: Int, ffnDim: Int,
                ropeBase: Float = 10000, rmsEps: Float = 1e-5, contextLength: Int = 2048,
                ropeLayout: RoPELayout = .normal, tiedOutput: Bool = true) {
        self.vocabSize = vocabSize; self.dim = dim; self.layers = layers; self.heads = heads
        self.kvHeads = kvHeads; self.headDim = headDim; self.ffnDim = ffnDim; self.ropeBase = ropeBase
        self.rmsEps = rmsEps; self.contextLength = contextLength; self.ropeLayout = ropeLayout
        self.tiedOutput = tiedOutput
    }

    /// Width of the fused q|k|v projection: heads·headDim + 2·kvHeads·headDim.
    public var qkvDim: Int { (heads + 2 * kvHeads) * headDim }
    /// Width of the attention output before `attn_output`: heads·headDim.
    public var attnDim: Int { heads * headDim }
    /// Query heads that share one key/value head.
    public var groupSize: Int { heads / kvHeads }
    /// Number of parameters (for FLOP counts and `gim info`).
    public var parameterCount: Int {
        let perLayer = 2 * dim + qkvDim * dim + dim * attnDim + 3 * ffnDim * dim
        return vocabSize * dim * (tiedOutput ? 1 : 2) + dim + layers * perLayer
    }

    /// Throws a message naming the first inconsistent field.
    public func validate() throws {
        func bad(_ s: String) -> ModelError { ModelError.invalidConfig(s) }
        guard vocabSize > 0, dim > 0, layers > 0, heads > 0, kvHeads > 0, headDim > 0, ffnDim > 0 else {
            throw bad("every size must be positive: \(self)")
        }
        guard heads % kvHeads == 0 else { throw bad("head count \(heads) is not a multiple of the KV head count \(kvHeads)") }
        guard headDim % 2 == 0 else { throw bad("head size \(headDim) must be even for RoPE") }
        guard rmsEps > 0, rmsEps.isFinite else { throw bad("RMS epsilon \(rmsEps) must be positive") }
        guard ropeBase > 1, ropeBase.isFinite else { throw bad("RoPE base \(ropeBase) must be above 1") }
        guard contextLength > 0 else { throw bad("context length \(contextLength) must be positive") }
        guard dim <= 1 << 16, ffnDim <= 1 << 18, layers <= 1024, vocabSize <= 1 << 22, heads <= 1024 else {
            throw bad("sizes are implausibly large: \(self)")
        }
    }
}

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case unsupportedArchitecture(String)
    case shapeMismatch(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid model configuration: \(s)"
        case .unsupportedArchitecture(let s): return "unsupported model architecture: \(s)"
        case .shapeMismatch(let s): return "tensor shape mismatch: \(s)"
        case .badInput(let s): return s
        }
    }
}
