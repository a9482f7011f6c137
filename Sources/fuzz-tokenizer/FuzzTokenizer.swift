// Fuzz target for the tokenizer on arbitrary bytes as text: special-token splitting, the
// pre-tokenizer scanner, BPE and decoding. The tokenizer is SmolLM2's, loaded once from
// $GIM_FUZZ_MODEL (default models/SmolLM2-135M-Instruct.Q4_1.gguf). Invariant checked:
// decoding the encoding gives back the text for valid UTF-8 that the vocabulary covers.
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMEngine
import FuzzSupport

let fuzzTokenizer: BPETokenizer = {
    let path = ProcessInfo.processInfo.environment["GIM_FUZZ_MODEL"] ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    do {
        return try BPETokenizer(gguf: GGUFFile(path: path))
    } catch {
        fatalError("fuzz-tokenizer needs the model's tokenizer: \(error)")
    }
}()

func exerciseTokenizer(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let ids = fuzzTokenizer.encode(text, addSpecialTokens: false)
    for id in ids { _ = fuzzTokenizer.displayText(id) }
    let back = fuzzTokenizer.decode(ids)
    // Bytes with no token (a few control bytes in SmolLM2's vocabulary) are dropped, as in
    // Hugging Face's tokenizer; otherwise the round trip must be exact.
    if back != text && fuzzTokenizer.decodeBytes(fuzzTokenizer.encode(back, addSpecialTokens: false)) != Array(back.utf8) {
        fatalError("round trip failed for \(Array(text.utf8))")
    }
}

#if FUZZING
/// libFuzzer calls this with each input (libFuzzer's own `main` drives the loop).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exerciseTokenizer(size > 0 ? Array(UnsafeBufferPointer(start: data!, count: size)) : [])
    return 0
}
#endif

/// With FUZZING, hands control to libFuzzer's driver; otherwise regression mode: replays the
/// given files and folders (seeds and saved crash inputs).
@main
struct FuzzTokenizerRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzTokenizerInput(data, size) }))
        #endif
        let files = FuzzCorpus.files(CommandLine.arguments.dropFirst())
        for file in files { exerciseTokenizer(FuzzCorpus.read(file)) }
        print("fuzz-tokenizer: \(files.count) inputs, no crash")
    }
}
