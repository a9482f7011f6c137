import Foundation
import GIMEngine

extension Info {
    /// `gim info` for a Hugging Face model folder: what was loaded from config.json, the
    /// safetensors files and tokenizer.json.
    func describeFolder(_ path: String) throws {
        let bundle = try ModelBundle.load(path: path)
        let weights = try SafeTensorsFolder(directory: path)
        let m = bundle.model
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
}
