import Foundation

/// Why a Hugging Face model folder's JSON files (config.json, tokenizer.json, ...) cannot be used.
public struct ModelFolderError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let detail: String

    public init(path: String, _ detail: String) {
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
}

/// The part of config.json that says which architecture a folder holds.
public struct HFArchitecture: Decodable, Sendable {
    public let modelType: String?
    public let architectures: [String]?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case architectures
    }

    /// Which engine implements it, or nil.
    public var family: Family? {
        let type = modelType?.lowercased()
        let arch = architectures ?? []
        if type == "gpt2" || arch.contains("GPT2LMHeadModel") { return .gpt2 }
        if type == "llama" || arch.contains("LlamaForCausalLM") { return .llama }
        return nil
    }

    public enum Family: String, Sendable { case gpt2, llama }

    /// "model_type \"qwen2\" (Qwen2ForCausalLM)" for messages.
    public var summary: String {
        let arch = (architectures ?? []).joined(separator: ", ")
        return "model_type \"\(modelType ?? "(none)")\"" + (arch.isEmpty ? "" : " (\(arch))")
    }
}

/// An integer, or a list of integers of which the first counts (Llama 3.1 lists several eos ids).
struct IntOrList: Decodable, Sendable {
    let value: Int?
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { value = nil } else if let i = try? c.decode(Int.self) { value = i } else { value = try c.decode([Int].self).first }
    }
}

/// The RoPE description of transformers 5 (`rope_parameters`) or 4 (`rope_scaling`).
struct HFRopeParameters: Decodable, Sendable {
    let ropeType: String?
    let type: String?
    let ropeTheta: Double?
    let partialRotaryFactor: Double?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, ropeTheta = "rope_theta", partialRotaryFactor = "partial_rotary_factor"
    }

    var kind: String { ropeType ?? type ?? "default" }
}

/// config.json of a Llama-family model, in transformers' field names, with transformers'
/// `LlamaConfig` defaults for absent fields.
public struct HFLlamaConfig: Decodable, Sendable {
    public var vocabSize = 32000
    public var hiddenSize = 4096
    public var intermediateSize = 11008
    public var layers = 32
    public var heads = 32
    /// Defaults to `heads`.
    public var kvHeads: Int?
    /// Defaults to hiddenSize / heads.
    public var headDim: Int?
    public var hiddenAct = "silu"
    public var maxPositionEmbeddings = 2048
    public var rmsNormEps = 1e-6
    public var ropeTheta = 10000.0
    /// "default" unless rope_parameters / rope_scaling name a scaling scheme.
    public var ropeType = "default"
    public var partialRotaryFactor = 1.0
    public var tieWordEmbeddings = false
    public var attentionBias = false
    public var mlpBias = false
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var padTokenID: Int?

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case layers = "num_hidden_layers", heads = "num_attention_heads", kvHeads = "num_key_value_heads"
        case headDim = "head_dim", hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeParameters = "rope_parameters"
        case ropeScaling = "rope_scaling", partialRotaryFactor = "partial_rotary_factor"
        case tieWordEmbeddings = "tie_word_embeddings", attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        vocabSize = try get(.vocabSize, vocabSize)
        hiddenSize = try get(.hiddenSize, hiddenSize)
        intermediateSize = try get(.intermediateSize, intermediateSize)
        layers = try get(.layers, layers)
        heads = try get(.heads, heads)
        kvHeads = try c.decodeIfPresent(Int.self, forKey: .kvHeads)
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        hiddenAct = try get(.hiddenAct, hiddenAct)
        maxPositionEmbeddings = try get(.maxPositionEmbeddings, maxPositionEmbeddings)
        rmsNormEps = try get(.rmsNormEps, rmsNormEps)
        tieWordEmbeddings = try get(.tieWordEmbeddings, tieWordEmbeddings)
        attentionBias = try get(.attentionBias, attentionBias)
        mlpBias = try get(.mlpBias, mlpBias)
        bosTokenID = try c.decodeIfPresent(IntOrList.self, forKey: .bosTokenID)?.value
        eosTokenID = try c.decodeIfPresent(IntOrList.self, forKey: .eosTokenID)?.value
        padTokenID = try c.decodeIfPresent(IntOrList.self, forKey: .padTokenID)?.value
        partialRotaryFactor = try get(.partialRotaryFactor, partialRotaryFactor)
        // transformers 5 keeps RoPE settings in rope_parameters; 4 had rope_theta and rope_scaling.
        ropeTheta = try get(.ropeTheta, ropeTheta)
        for key in [CodingKeys.ropeScaling, .ropeParameters] {
            guard let rope = try c.decodeIfPresent(HFRopeParameters.self, forKey: key) else { continue }
            if let theta = rope.ropeTheta { ropeTheta = theta }
            if rope.kind != "default" { ropeType = rope.kind }
            if let f = rope.partialRotaryFactor { partialRotaryFactor = f }
        }
    }

    /// The engine's configuration, or an error naming what this engine cannot run.
    public func llamaConfig(path: String) throws -> LlamaConfig {
        func unsupported(_ s: String) -> ModelError { .unsupportedArchitecture("\(path): \(s)") }
        guard hiddenAct == "silu" else { throw unsupported("hidden_act \"\(hiddenAct)\" (only \"silu\", SwiGLU, is supported)") }
        guard ropeType == "default" else { throw unsupported("RoPE scaling \"\(ropeType)\" is not supported (only plain RoPE)") }
        guard partialRotaryFactor == 1 else { throw unsupported("partial RoPE (factor \(partialRotaryFactor)) is not supported") }
        guard !attentionBias else { throw unsupported("attention_bias true (q/k/v/o biases) is not supported") }
        guard !mlpBias else { throw unsupported("mlp_bias true is not supported") }
        guard heads > 0 else { throw ModelError.invalidConfig("\(path): num_attention_heads is \(heads)") }
        let c = LlamaConfig(vocabSize: vocabSize, dim: hiddenSize, layers: layers, heads: heads,
                            kvHeads: kvHeads ?? heads, headDim: headDim ?? hiddenSize / heads,
                            ffnDim: intermediateSize, ropeBase: Float(ropeTheta), rmsEps: Float(rmsNormEps),
                            contextLength: maxPositionEmbeddings, ropeLayout: .neox, tiedOutput: tieWordEmbeddings)
        do { try c.validate() } catch ModelError.invalidConfig(let why) {
            throw ModelError.invalidConfig("\(path): \(why)")
        }
        return c
    }
}

/// Decodes a JSON file into `T`, with errors naming the file and the field.
func decodeJSONFile<T: Decodable>(_ type: T.Type, path: String) throws -> T {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw ModelFolderError(path: path, "cannot read: \(error.localizedDescription)")
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw ModelFolderError(path: path, JSONProblem.describe(error))
    }
}
