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
        return DecoderFamily.huggingFace(modelType: type, architectures: arch).map(Family.decoder)
    }

    public enum Family: Sendable, Equatable { case gpt2, decoder(DecoderFamily) }

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

/// One RoPE description of transformers 5 (`rope_parameters`) or 4 (`rope_scaling`).
struct HFRopeParameters: Decodable, Sendable {
    let ropeType: String?
    let type: String?
    let ropeTheta: Double?
    let partialRotaryFactor: Double?
    let factor: Double?
    let lowFreqFactor: Double?
    let highFreqFactor: Double?
    let originalMaxPositionEmbeddings: Int?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, ropeTheta = "rope_theta", partialRotaryFactor = "partial_rotary_factor"
        case factor, lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    var kind: String { ropeType ?? type ?? "default" }

    /// The scaling it describes, or the name of one the engine does not compute.
    func scaling(path: String, context: Int) -> Result<RoPEScaling, Unsupported> {
        switch kind {
        case "default": return .success(.none)
        case "linear": return .success((factor ?? 1) == 1 ? .none : .linear(factor: Float(factor!)))
        case "llama3":
            return .success(.llama3(factor: Float(factor ?? 8), lowFrequencyFactor: Float(lowFreqFactor ?? 1),
                                    highFrequencyFactor: Float(highFreqFactor ?? 4),
                                    originalContext: originalMaxPositionEmbeddings ?? context))
        default: return .failure(Unsupported(name: kind))
        }
    }

    struct Unsupported: Error { let name: String }
}

/// `rope_parameters` of transformers 5: one description, or one per layer type (Gemma 3:
/// {"sliding_attention": {...}, "full_attention": {...}}).
struct HFRopeParameterSet: Decodable, Sendable {
    let single: HFRopeParameters?
    let full: HFRopeParameters?
    let sliding: HFRopeParameters?

    enum LayerTypeKeys: String, CodingKey { case full = "full_attention", sliding = "sliding_attention" }

    init(from decoder: Decoder) throws {
        let byType = try decoder.container(keyedBy: LayerTypeKeys.self)
        if byType.contains(.full) || byType.contains(.sliding) {
            full = try byType.decodeIfPresent(HFRopeParameters.self, forKey: .full)
            sliding = try byType.decodeIfPresent(HFRopeParameters.self, forKey: .sliding)
            single = nil
        } else {
            single = try HFRopeParameters(from: decoder)
            full = nil
            sliding = nil
        }
    }
}

/// config.json of a decoder of any supported family, in transformers' field names. Absent
/// fields take transformers' defaults where the families agree, else the family decides
/// (`DecoderFamily.configure`); saved configs carry every field anyway.
public struct HFDecoderConfig: Decodable, Sendable {
    public var modelType: String?
    public var architectures: [String] = []
    public var vocabSize = 32000
    public var hiddenSize = 4096
    public var intermediateSize = 11008
    public var layers = 32
    public var heads = 32
    /// Defaults to `heads`.
    public var kvHeads: Int?
    /// Defaults to hiddenSize / heads.
    public var headDim: Int?
    /// `hidden_act` (read by every family but Gemma 2/3) and `hidden_activation` (Gemma 2/3).
    public var hiddenAct: String?
    public var hiddenActivation: String?
    public var maxPositionEmbeddings = 2048
    public var rmsNormEps: Double?
    public var ropeTheta = 10000.0
    /// Gemma 3 (transformers 4 form): the base of sliding-window layers.
    public var ropeLocalBaseFreq: Double?
    var rope: HFRopeParameters?
    var ropeParameters: HFRopeParameterSet?
    public var partialRotaryFactor = 1.0
    public var tieWordEmbeddings: Bool?
    public var attentionBias: Bool?
    public var mlpBias = false
    public var slidingWindow: Int?
    public var useSlidingWindow: Bool?
    public var layerTypes: [String]?
    public var slidingWindowPattern: Int?
    public var queryPreAttnScalar: Double?
    public var attnLogitSoftcapping: Double?
    public var finalLogitSoftcapping: Double?
    public var numLocalExperts: Int?
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var padTokenID: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case layers = "num_hidden_layers", heads = "num_attention_heads", kvHeads = "num_key_value_heads"
        case headDim = "head_dim", hiddenAct = "hidden_act", hiddenActivation = "hidden_activation"
        case maxPositionEmbeddings = "max_position_embeddings"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeParameters = "rope_parameters"
        case ropeScaling = "rope_scaling", partialRotaryFactor = "partial_rotary_factor"
        case ropeLocalBaseFreq = "rope_local_base_freq"
        case tieWordEmbeddings = "tie_word_embeddings", attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window", layerTypes = "layer_types"
        case slidingWindowPattern = "sliding_window_pattern", slidingWindowPatternPrivate = "_sliding_window_pattern"
        case queryPreAttnScalar = "query_pre_attn_scalar", attnLogitSoftcapping = "attn_logit_softcapping"
        case finalLogitSoftcapping = "final_logit_softcapping", numLocalExperts = "num_local_experts"
        case numExperts = "num_experts"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        func opt<T: Decodable>(_ key: CodingKeys) throws -> T? { try c.decodeIfPresent(T.self, forKey: key) }
        modelType = try opt(.modelType)
        architectures = try get(.architectures, architectures)
        vocabSize = try get(.vocabSize, vocabSize)
        hiddenSize = try get(.hiddenSize, hiddenSize)
        intermediateSize = try get(.intermediateSize, intermediateSize)
        layers = try get(.layers, layers)
        heads = try get(.heads, heads)
        kvHeads = try opt(.kvHeads)
        headDim = try opt(.headDim)
        hiddenAct = try opt(.hiddenAct)
        hiddenActivation = try opt(.hiddenActivation)
        maxPositionEmbeddings = try get(.maxPositionEmbeddings, maxPositionEmbeddings)
        rmsNormEps = try opt(.rmsNormEps)
        tieWordEmbeddings = try opt(.tieWordEmbeddings)
        attentionBias = try opt(.attentionBias)
        mlpBias = try get(.mlpBias, mlpBias)
        slidingWindow = try opt(.slidingWindow)
        useSlidingWindow = try opt(.useSlidingWindow)
        layerTypes = try opt(.layerTypes)
        slidingWindowPattern = try opt(.slidingWindowPattern) ?? opt(.slidingWindowPatternPrivate)
        queryPreAttnScalar = try opt(.queryPreAttnScalar)
        attnLogitSoftcapping = try opt(.attnLogitSoftcapping)
        finalLogitSoftcapping = try opt(.finalLogitSoftcapping)
        numLocalExperts = try opt(.numLocalExperts) ?? opt(.numExperts)
        bosTokenID = try c.decodeIfPresent(IntOrList.self, forKey: .bosTokenID)?.value
        eosTokenID = try c.decodeIfPresent(IntOrList.self, forKey: .eosTokenID)?.value
        padTokenID = try c.decodeIfPresent(IntOrList.self, forKey: .padTokenID)?.value
        partialRotaryFactor = try get(.partialRotaryFactor, partialRotaryFactor)
        ropeTheta = try get(.ropeTheta, ropeTheta)
        ropeLocalBaseFreq = try opt(.ropeLocalBaseFreq)
        rope = try opt(.ropeScaling)
        ropeParameters = try opt(.ropeParameters)
    }

    /// The family, from model_type or the architectures list.
    public var family: DecoderFamily? { DecoderFamily.huggingFace(modelType: modelType, architectures: architectures) }

    /// What the file says, read the same way for every family: transformers 5's rope_parameters
    /// (one, or per layer type) win over 4's rope_theta / rope_scaling / rope_local_base_freq.
    func hyperparameters(path: String) throws -> CheckpointHyperparameters {
        var theta = ropeTheta, localTheta = ropeLocalBaseFreq
        var global = rope, fraction = partialRotaryFactor
        if let set = ropeParameters {
            if let one = set.single { global = one }
            if let full = set.full { global = full }
            if let t = global?.ropeTheta { theta = t }
            if let t = set.sliding?.ropeTheta { localTheta = t }
            if let sliding = set.sliding, sliding.kind != "default" {
                throw ModelError.unsupportedArchitecture("\(path): RoPE scaling \"\(sliding.kind)\" on sliding-window layers is not supported")
            }
        }
        if let f = global?.partialRotaryFactor { fraction = f }
        var spec = RoPESpec(base: Float(theta))
        var unsupported: String?
        switch global?.scaling(path: path, context: maxPositionEmbeddings) ?? .success(.none) {
        case .success(let s): spec.scaling = s
        case .failure(let u): unsupported = u.name
        }
        if let n = numLocalExperts, n > 0 {
            throw ModelError.unsupportedArchitecture("\(path): mixture-of-experts (\(n) experts) is not supported")
        }
        let fam = family
        return CheckpointHyperparameters(
            path: path, isGGUF: false, vocabSize: vocabSize, dim: hiddenSize, layers: layers, heads: heads,
            kvHeads: kvHeads, headDim: headDim, ffnDim: intermediateSize,
            rmsEps: rmsNormEps ?? 1e-6,
            contextLength: maxPositionEmbeddings,
            tiedOutput: tieWordEmbeddings ?? (fam == .gemma || fam == .gemma2 || fam == .gemma3),
            rope: spec, localRopeBase: localTheta, rotaryFraction: fraction, unsupportedRopeScaling: unsupported,
            slidingWindow: slidingWindow, layerTypes: layerTypes, useSlidingWindow: useSlidingWindow,
            slidingWindowPattern: slidingWindowPattern, attentionSoftcap: attnLogitSoftcapping,
            finalLogitSoftcap: finalLogitSoftcapping, queryPreAttnScalar: queryPreAttnScalar,
            activation: fam == .gemma2 || fam == .gemma3 ? hiddenActivation ?? "gelu_pytorch_tanh" : hiddenAct,
            attentionBias: attentionBias, mlpBias: mlpBias)
    }

    /// The engine's configuration, or an error naming what this engine cannot run.
    public func decoderConfig(path: String) throws -> DecoderConfig {
        guard let family else {
            throw ModelError.unsupportedArchitecture("\(path): model_type \"\(modelType ?? "(none)")\" is not a supported decoder")
        }
        return try family.configure(hyperparameters(path: path))
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
