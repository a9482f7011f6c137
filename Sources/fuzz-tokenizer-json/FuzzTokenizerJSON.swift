// Fuzz target for tokenizer.json: every tokenizer kind it describes (byte-level BPE, SentencePiece
// BPE with byte fallback, Unigram), their normalizers, pre-tokenizers, added tokens and
// post-processors, read with and without tokenizer_config.json-style hints. An accepted tokenizer
// then encodes and decodes a few texts: ids must lie inside the vocabulary, encoding must be
// deterministic, every id must display. Any input must give a tokenizer or a thrown error, never
// a crash or a hang.
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMEngine
import FuzzSupport

let sampleTexts = [
    "", "Hello wörld 12345 🙂", "<s>The capital of France is</s>", "  two  spaces\tand\nnewlines\r\n",
    "▁already▁marked", "naïve café ﬁ Å", "<|im_start|>user\nhi<|im_end|>", "\u{0}\u{7F}\u{FFFD}",
]

func exerciseTokenizerJSON(_ bytes: [UInt8]) {
    var hints = TokenizerJSONHints()
    // The first byte's low bit also tries the input with the hints a model folder may add.
    if bytes.first.map({ $0 & 1 == 1 }) ?? false {
        hints.bosToken = "<s>"; hints.eosToken = "</s>"; hints.unkToken = "<unk>"; hints.padToken = "<pad>"
        hints.bosID = 1; hints.eosID = 2; hints.padID = 0
        hints.addBOS = true; hints.addEOS = true
    }
    guard let tokenizer = try? BPETokenizer(tokenizerJSON: Data(bytes), path: "tokenizer.json", hints: hints) else { return }
    let n = tokenizer.vocabSize
    for id in [tokenizer.bosID, tokenizer.eosID, tokenizer.unkID, tokenizer.padID] {
        if let id, id < 0 || id >= n { fatalError("special id \(id) outside the vocabulary of \(n)") }
    }
    for text in sampleTexts {
        let ids = tokenizer.encode(text, addSpecialTokens: true)
        for id in ids {
            guard id >= 0 && id < n else { fatalError("id \(id) outside the vocabulary of \(n) for \(text.debugDescription)") }
            _ = tokenizer.displayText(id)
            _ = tokenizer.tokenString(id)
        }
        guard tokenizer.encode(text, addSpecialTokens: true) == ids else { fatalError("encoding \(text.debugDescription) is not deterministic") }
        _ = tokenizer.decode(ids)
        _ = tokenizer.encode(text, addSpecialTokens: false)
    }
    for id in [0, n - 1, n, -1] { _ = tokenizer.decode([id]) }
    for id in 0..<min(n, 512) {
        _ = tokenizer.displayText(id)
        _ = tokenizer.isSpecial(id)
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSONInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exerciseTokenizerJSON(FuzzCorpus.bytes(data, size))
    return 0
}
#endif

@main
struct FuzzTokenizerJSONRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzTokenizerJSONInput(data, size) }))
        #endif
        FuzzCorpus.replay("fuzz-tokenizer-json", exerciseTokenizerJSON)
    }
}
