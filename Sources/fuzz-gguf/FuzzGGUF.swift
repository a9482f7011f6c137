// Fuzz target for the GGUF reader and everything that reads a GGUF's contents: metadata,
// tensor directory, dequantization, the Llama configuration and weights, and the tokenizer
// built from the metadata. Any input must give a value or a thrown error, never a crash.
//
// Built two ways (see scripts/fuzz.sh):
// - with -sanitize=fuzzer,address -DFUZZING: a libFuzzer binary;
// - normally: a regression runner, `fuzz-gguf FILE...`, that feeds each file to the same code.
import Foundation
import GIMEngine
import FuzzSupport

func exerciseGGUF(_ bytes: [UInt8]) {
    guard let gguf = try? GGUFFile(bytes: bytes, name: "fuzz-input") else { return }
    for key in gguf.metadataKeys { _ = gguf.metadata[key]?.summary }
    for name in gguf.tensorNames.prefix(64) where (gguf.tensors[name]?.elementCount ?? 0) <= 1 << 16 {
        _ = try? gguf.floats(name)
    }
    _ = try? DecoderConfig(gguf: gguf)
    if let tokenizer = try? BPETokenizer(gguf: gguf) {
        let ids = tokenizer.encode("Hello wörld 12345 🙂 <|im_start|>user\n  x", addSpecialTokens: true)
        _ = tokenizer.decode(ids)
        for id in ids { _ = tokenizer.displayText(id) }
    }
    _ = try? DecoderWeights(gguf: gguf)
}

#if FUZZING
/// libFuzzer calls this with each input (libFuzzer's own `main` drives the loop).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUFInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exerciseGGUF(size > 0 ? Array(UnsafeBufferPointer(start: data!, count: size)) : [])
    return 0
}
#endif

/// With FUZZING, hands control to libFuzzer's driver; otherwise regression mode: replays the
/// given files and folders (seeds and saved crash inputs).
@main
struct FuzzGGUFRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzGGUFInput(data, size) }))
        #endif
        FuzzCorpus.replay("fuzz-gguf", exerciseGGUF)
    }
}
