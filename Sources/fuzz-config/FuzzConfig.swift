// Fuzz target for config.json: the architecture probe (HFArchitecture), the decoder families'
// reading (HFDecoderConfig, with transformers' defaults, RoPE parameters of transformers 4 and 5,
// sliding windows, layer types) and its mapping onto the engine (`decoderConfig(path:)`, which
// validates), and GPT-2's GPT2Config. Any input must give a configuration or a thrown error,
// never a crash; an accepted configuration must answer every per-layer question.
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMEngine
import FuzzSupport

func exerciseConfig(_ bytes: [UInt8]) {
    let data = Data(bytes)
    let decoder = JSONDecoder()
    if let arch = try? decoder.decode(HFArchitecture.self, from: data) {
        _ = arch.family
        _ = arch.summary
    }
    if let hf = try? decoder.decode(HFDecoderConfig.self, from: data),
       let config = try? hf.decoderConfig(path: "config.json") {
        // What the loader and `gim info` ask of an accepted configuration.
        do { try config.validate() } catch { fatalError("decoderConfig returned a configuration that fails validate(): \(error)") }
        _ = config.features
        _ = config.parameterCount
        _ = "\(config)"
        _ = (config.qkvDim, config.attnDim, config.groupSize)
        for layer in 0..<config.layers {
            _ = config.window(layer: layer)
            _ = config.rope(layer: layer)
        }
    }
    if let gpt2 = try? decoder.decode(GPT2Config.self, from: data), (try? gpt2.validate()) != nil {
        _ = gpt2.headDim
        _ = gpt2.parameterCount
        for layer in 0..<min(gpt2.layers, 4096) { _ = gpt2.attentionScale(layer: layer) }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exerciseConfig(FuzzCorpus.bytes(data, size))
    return 0
}
#endif

@main
struct FuzzConfigRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzConfigInput(data, size) }))
        #endif
        FuzzCorpus.replay("fuzz-config", exerciseConfig)
    }
}
