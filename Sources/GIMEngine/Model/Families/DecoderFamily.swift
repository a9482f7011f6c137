/// The decoder families the engine runs, each a set of switches on one block (`DecoderConfig`).
/// A checkpoint's hyper-parameters are first read as they are written (`CheckpointHyperparameters`,
/// from GGUF metadata or config.json); the family's file then says what they mean
/// (`Families/Llama.swift`, `Qwen.swift`, `Gemma.swift`, `Phi3.swift`), and where its tensors are
/// named (`DecoderTensorNames`).
public enum DecoderFamily: String, Sendable, CaseIterable {
    case llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3, phi3

    /// GGUF `general.architecture` values read as this family (llama.cpp's names; SmolLM files
    /// say "smollm", Mistral GGUFs usually say "llama").
    public var ggufArchitectures: [String] {
        switch self {
        case .llama: return ["llama", "smollm"]
        case .mistral: return []
        case .qwen2: return ["qwen2"]
        case .qwen3: return ["qwen3"]
        case .gemma: return ["gemma"]
        case .gemma2: return ["gemma2"]
        case .gemma3: return ["gemma3"]
        case .phi3: return ["phi3"]
        }
    }

    /// config.json `model_type` values read as this family (transformers' names).
    public var modelTypes: [String] {
        switch self {
        case .gemma3: return ["gemma3_text"]
        default: return [rawValue]
        }
    }

    /// The family of a GGUF architecture name, or an error listing what is supported.
    static func gguf(architecture arch: String, path: String) throws -> DecoderFamily {
        if let f = allCases.first(where: { $0.ggufArchitectures.contains(arch) }) { return f }
        let names = allCases.flatMap(\.ggufArchitectures)
        let note = Self.refusedArchitectures[arch].map { " (\($0))" } ?? ""
        throw ModelError.unsupportedArchitecture(
            "\(path): general.architecture is \"\(arch)\"\(note); supported: \(names.joined(separator: ", "))")
    }

    /// The family of a config.json `model_type`, or nil.
    static func huggingFace(modelType: String?, architectures: [String]) -> DecoderFamily? {
        if let t = modelType?.lowercased(), let f = allCases.first(where: { $0.modelTypes.contains(t) }) { return f }
        let classes: [String: DecoderFamily] = [
            "LlamaForCausalLM": .llama, "MistralForCausalLM": .mistral, "Qwen2ForCausalLM": .qwen2,
            "Qwen3ForCausalLM": .qwen3, "GemmaForCausalLM": .gemma, "Gemma2ForCausalLM": .gemma2,
            "Gemma3ForCausalLM": .gemma3, "Phi3ForCausalLM": .phi3,
        ]
        return architectures.lazy.compactMap { classes[$0] }.first
    }

    /// Architectures people will try that the engine refuses, with the feature that is missing.
    static let refusedArchitectures: [String: String] = [
        "qwen2moe": "mixture-of-experts is not supported", "qwen3moe": "mixture-of-experts is not supported",
        "mixtral": "mixture-of-experts is not supported", "deepseek2": "mixture-of-experts is not supported",
        "gemma3n": "Gemma 3n's per-layer embeddings and AltUp are not supported",
        "qwen2vl": "vision towers are not supported", "mllama": "vision towers are not supported",
        "phi2": "Phi-2 (parallel attention/MLP, LayerNorm) is not supported", "falcon": "Falcon is not supported",
    ]

    /// config.json model types people will try that the engine refuses, with the missing feature.
    static let refusedModelTypes: [String: String] = [
        "qwen2_moe": "mixture-of-experts is not supported", "qwen3_moe": "mixture-of-experts is not supported",
        "mixtral": "mixture-of-experts is not supported", "gemma3": "the Gemma 3 vision model: give its text-only checkpoint (gemma3_text)",
        "gemma3n": "Gemma 3n's per-layer embeddings and AltUp are not supported",
        "qwen2_vl": "vision towers are not supported", "mllama": "vision towers are not supported",
        "phi": "Phi-1/2 (parallel attention/MLP, LayerNorm) is not supported",
    ]

    /// Turns what the checkpoint says into the engine's configuration, with the family's rules.
    func configure(_ h: CheckpointHyperparameters) throws -> DecoderConfig {
        switch self {
        case .llama, .mistral: return try Self.llama(h, family: self)
        case .qwen2, .qwen3: return try Self.qwen(h, family: self)
        case .gemma, .gemma2, .gemma3: return try Self.gemma(h, family: self)
        case .phi3: return try Self.phi3(h)
        }
    }

    /// Gemma stores its RMSNorm weights as w for x·(1 + w); transformers' checkpoints keep w,
    /// llama.cpp's converter writes 1 + w into the GGUF.
    var normWeightsStoreOffset: Bool { self == .gemma || self == .gemma2 || self == .gemma3 }
}
