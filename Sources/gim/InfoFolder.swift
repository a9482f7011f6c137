import Foundation
import GIMEngine

extension Info {
    /// `gim info` for a Hugging Face model folder: what was loaded from config.json, the
    /// safetensors files and tokenizer.json.
    func describeFolder(_ path: String) throws {
        let bundle = try ModelBundle.load(path: path)
        let weights = try SafeTensorsFolder(directory: path)
        let m = bundle.model
        if json { return try printJSON(folderJSON(path, bundle: bundle, weights: weights)) }
        print("folder      \(path)")
        print("name        \(bundle.name)")
        print("format      Hugging Face folder: \(weights.files.count) safetensors file\(weights.files.count == 1 ? "" : "s"), \(weights.tensorNames.count) tensors")
        print("arch        \(m.architecture): \(m.layerCount) layers, dim \(m.dim), \(m.headCount) heads of \(m.headDim)")
        if let l = m as? DecoderModel {
            let c = l.config
            print("            \(c.kvHeads) KV heads, ffn \(c.ffnDim), RoPE base \(c.ropeBase) (\(c.ropeLayout.rawValue) pairs), RMS eps \(c.rmsEps), context \(c.contextLength), vocab \(c.vocabSize), \(c.tiedOutput ? "tied" : "untied") head")
            if !c.features.isEmpty { print("            " + c.features.joined(separator: ", ")) }
        } else if let g = m as? GPT2Model {
            let c = g.config
            print("            ffn \(c.ffnDim), GELU (\(c.activation.rawValue)), LayerNorm eps \(c.layerNormEps), \(c.contextLength) learned positions, vocab \(c.vocabSize), \(c.tiedOutput ? "tied" : "untied") head")
        }
        print(String(format: "parameters  %.1f M", Double(m.parameterCount) / 1e6))
        var types: [String: Int] = [:]
        for f in weights.files { for t in f.tensors.values { types[t.dtype.rawValue, default: 0] += 1 } }
        print("encodings   " + types.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
        let t = bundle.tokenizer
        print("tokenizer   tokenizer.json, \(t.kind.rawValue)\(t.kind == .byteLevelBPE ? ", pre-tokenizer \(t.preTokenizerKind.rawValue)" : ""), \(t.vocabSize) tokens\(t.addBOS ? ", adds BOS" : "")")
        print("GIM knobs   freeze_norm, temperature, q/k/v scales\(m.hasGatedMLP ? ", gate/up scales" : " (no gated MLP: gate/up scales do not apply)")")
        if all {
            print("\ntensors:")
            for f in weights.files {
                for n in f.tensorNames {
                    let i = f.tensors[n]!
                    print("  \(n) \(i.shape) \(i.dtype.rawValue)\(weights.files.count > 1 ? "  (\(URL(fileURLWithPath: f.path).lastPathComponent))" : "")")
                }
            }
        }
    }

    /// The same facts as JSON (`gim info --json`).
    func folderJSON(_ path: String, bundle: ModelBundle, weights: SafeTensorsFolder) -> InfoJSON {
        let m = bundle.model, t = bundle.tokenizer
        var types: [String: Int] = [:]
        for f in weights.files { for t in f.tensors.values { types[t.dtype.rawValue, default: 0] += 1 } }
        let decoder = (m as? DecoderModel)?.config, gpt2 = (m as? GPT2Model)?.config
        var out = InfoJSON(path: path, name: bundle.name, format: "huggingface", gguf_version: nil,
                           safetensors_files: weights.files.count, tensor_count: weights.tensorNames.count,
                           architecture: m.architecture, family: decoder?.family ?? "gpt2",
                           layers: m.layerCount, dim: m.dim, ffn_dim: decoder?.ffnDim ?? gpt2?.ffnDim ?? 0, heads: m.headCount,
                           kv_heads: decoder?.kvHeads, head_dim: m.headDim, vocab_size: m.vocabSize,
                           context_length: m.contextLength, tied_output: decoder?.tiedOutput ?? gpt2?.tiedOutput ?? false,
                           rope_base: decoder.map { InfoJSON.number($0.ropeBase) }, rope_layout: decoder?.ropeLayout.rawValue,
                           rms_eps: decoder.map { InfoJSON.number($0.rmsEps) },
                           layer_norm_eps: gpt2.map { InfoJSON.number($0.layerNormEps) },
                           activation: gpt2?.activation.rawValue ?? decoder?.activation.rawValue,
                           features: decoder?.features ?? [], parameters: m.parameterCount, encodings: types,
                           tokenizer: .init(kind: t.kind.rawValue,
                                            pre_tokenizer: t.kind == .byteLevelBPE ? t.preTokenizerKind.rawValue : nil,
                                            tokens: t.vocabSize, adds_bos: t.addBOS),
                           gated_mlp: m.hasGatedMLP, tensors: nil, metadata: nil)
        if all {
            out.tensors = weights.files.flatMap { f in
                f.tensorNames.map { n in
                    let i = f.tensors[n]!
                    return InfoJSON.Tensor(name: n, shape: i.shape, encoding: i.dtype.rawValue,
                                           file: weights.files.count > 1 ? URL(fileURLWithPath: f.path).lastPathComponent : nil)
                }
            }
        }
        return out
    }
}
