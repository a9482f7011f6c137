import ArgumentParser
import Foundation
import GIMEngine

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model file: architecture, sizes, tokenizer, tensors.")

    @OptionGroup var modelOptions: ModelOptions
    @Flag(name: .long, help: "Also list every metadata key and tensor.") var all = false
    @Flag(name: .long, help: "Print JSON (schemas/info.schema.json).") var json = false

    func run() throws {
        let path = try modelOptions.resolvedPath()
        if HFModelFolder.isModelFolder(path) { return try describeFolder(path) }  // InfoFolder.swift
        let gguf = try GGUFFile(path: path)
        let config = try DecoderConfig(gguf: gguf)
        if json {
            var types: [String: Int] = [:]
            for t in gguf.tensors.values { types[t.typeName, default: 0] += 1 }
            var out = InfoJSON(path: path, name: gguf.metadata["general.name"]?.stringValue ?? "", format: "gguf",
                               gguf_version: Int(gguf.version), safetensors_files: nil, tensor_count: gguf.tensors.count,
                               architecture: gguf.metadata["general.architecture"]?.stringValue ?? "", family: config.family,
                               layers: config.layers, dim: config.dim, ffn_dim: config.ffnDim, heads: config.heads,
                               kv_heads: config.kvHeads, head_dim: config.headDim, vocab_size: config.vocabSize,
                               context_length: config.contextLength, tied_output: config.tiedOutput,
                               rope_base: InfoJSON.number(config.ropeBase), rope_layout: config.ropeLayout.rawValue,
                               rms_eps: InfoJSON.number(config.rmsEps), layer_norm_eps: nil, activation: nil,
                               features: config.features, parameters: config.parameterCount, encodings: types,
                               tokenizer: .init(kind: gguf.metadata["tokenizer.ggml.model"]?.stringValue ?? "",
                                                pre_tokenizer: gguf.metadata["tokenizer.ggml.pre"]?.stringValue,
                                                tokens: gguf.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count ?? 0,
                                                adds_bos: nil),
                               gated_mlp: true, tensors: nil, metadata: nil)
            if all {
                out.metadata = Dictionary(uniqueKeysWithValues: gguf.metadataKeys.map { ($0, gguf.metadata[$0]!.summary) })
                out.tensors = gguf.tensorNames.map { n in
                    let t = gguf.tensors[n]!
                    return InfoJSON.Tensor(name: n, shape: t.dims, encoding: t.typeName, file: nil)
                }
            }
            return try printJSON(out)
        }
        print("file        \(path)")
        print("name        \(gguf.metadata["general.name"]?.stringValue ?? "?")")
        print("format      GGUF v\(gguf.version), \(gguf.tensors.count) tensors, \(gguf.metadata.count) metadata keys")
        print("arch        \(gguf.metadata["general.architecture"]?.stringValue ?? "?") (\(config.family)): \(config.layers) layers, dim \(config.dim), ffn \(config.ffnDim), \(config.heads) heads / \(config.kvHeads) KV heads of \(config.headDim)")
        print("            RoPE base \(config.ropeBase) (\(config.ropeLayout.rawValue) pairs), RMS eps \(config.rmsEps), context \(config.contextLength), vocab \(config.vocabSize), \(config.tiedOutput ? "tied" : "untied") head")
        if !config.features.isEmpty { print("            " + config.features.joined(separator: ", ")) }
        print(String(format: "parameters  %.1f M", Double(config.parameterCount) / 1e6))
        var types: [String: Int] = [:]
        for t in gguf.tensors.values { types[t.typeName, default: 0] += 1 }
        print("encodings   " + types.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
        print("tokenizer   \(gguf.metadata["tokenizer.ggml.model"]?.stringValue ?? "?"), pre-tokenizer \(gguf.metadata["tokenizer.ggml.pre"]?.stringValue ?? "?"), \(gguf.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count ?? 0) tokens")
        if all {
            print("\nmetadata:")
            for k in gguf.metadataKeys { print("  \(k) = \(gguf.metadata[k]!.summary)") }
            print("\ntensors:")
            for n in gguf.tensorNames { let t = gguf.tensors[n]!; print("  \(n) \(t.dims) \(t.typeName)") }
        }
    }
}

/// `gim info --json` for a GGUF file and a Hugging Face folder (schemas/info.schema.json). Fields
/// a format does not have are left out (GPT-2 has no KV heads, RoPE or RMS norm).
struct InfoJSON: Encodable {
    struct Tokenizer: Encodable {
        /// GGUF: tokenizer.ggml.model ("gpt2", "llama"); folder: the tokenizer kind.
        let kind: String
        let pre_tokenizer: String?
        let tokens: Int
        let adds_bos: Bool?
    }
    struct Tensor: Encodable {
        let name: String
        /// GGUF: dims as stored (contiguous first); safetensors: the shape as written.
        let shape: [Int]
        let encoding: String
        /// The safetensors shard holding it (folders with several files).
        let file: String?
    }
    let path: String
    let name: String
    /// "gguf" or "huggingface".
    let format: String
    let gguf_version: Int?
    let safetensors_files: Int?
    let tensor_count: Int
    let architecture: String
    let family: String
    let layers: Int, dim: Int, ffn_dim: Int, heads: Int
    let kv_heads: Int?
    let head_dim: Int, vocab_size: Int, context_length: Int
    let tied_output: Bool
    let rope_base: Double?
    let rope_layout: String?
    let rms_eps: Double?
    let layer_norm_eps: Double?
    let activation: String?
    let features: [String]
    let parameters: Int
    /// Tensor count per encoding (GGUF type or safetensors dtype).
    let encodings: [String: Int]
    let tokenizer: Tokenizer
    /// Whether the MLP is gated (gate/up scales apply).
    let gated_mlp: Bool
    /// With --all.
    var tensors: [Tensor]?
    /// With --all (GGUF): every metadata key's value in words.
    var metadata: [String: String]?

    /// A Float as its shortest decimal (1e-05, not 9.999999747378752e-06).
    static func number(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }
}
