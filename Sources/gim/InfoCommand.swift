import ArgumentParser
import Foundation
import GIMEngine

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model file: architecture, sizes, tokenizer, tensors.")

    @OptionGroup var modelOptions: ModelOptions
    @Flag(name: .long, help: "Also list every metadata key and tensor.") var all = false

    func run() throws {
        let path = try modelOptions.resolvedPath()
        if HFModelFolder.isModelFolder(path) { return try describeFolder(path) }  // InfoFolder.swift
        let gguf = try GGUFFile(path: path)
        let config = try DecoderConfig(gguf: gguf)
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
