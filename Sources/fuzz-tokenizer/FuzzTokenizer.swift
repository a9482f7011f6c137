// Fuzz target for the tokenizer on arbitrary bytes as text: special-token splitting, the
// pre-tokenizer scanner, BPE and decoding, for every kind of tokenizer:
// - SmolLM2's byte-level BPE, from $GIM_FUZZ_MODEL (default models/SmolLM2-135M-Instruct.Q4_1.gguf;
//   skipped with a note when the file is absent);
// - the tiny family tokenizers under $GIM_FUZZ_TOKENIZERS (default
//   Tests/GIMEngineTests/Fixtures/tokenizers): Llama 2 (tokenizer.json, its six Metaspace variants and
//   vocab.gguf through llama.cpp's SPM), Gemma (tokenizer.json, vocab.gguf), Qwen 2 (NFC + byte-level)
//   and Unigram (SentencePiece and T5 pipelines).
// Invariants: ids are inside the vocabulary; every id displays; encoding twice gives the same ids;
// decoding the encoding gives back the text where the pipeline is lossless (byte-level BPE on text
// its vocabulary covers; Qwen 2 up to NFC; SentencePiece BPE with byte fallback in its Llama 2 and
// Gemma forms and through llama.cpp, for text with no special token and no "▁").
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMEngine
import FuzzSupport

/// A tokenizer and which round trip it promises.
struct FuzzSubject {
    enum RoundTrip { case none, exact, nfc, byteLevelCovered }
    let name: String
    let tokenizer: BPETokenizer
    let roundTrip: RoundTrip
}

let fuzzSubjects: [FuzzSubject] = {
    var out: [FuzzSubject] = []
    let env = ProcessInfo.processInfo.environment
    let model = env["GIM_FUZZ_MODEL"] ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    if FileManager.default.fileExists(atPath: model) {
        do {
            out.append(FuzzSubject(name: "smollm2", tokenizer: try BPETokenizer(gguf: GGUFFile(path: model)),
                                   roundTrip: .byteLevelCovered))
        } catch {
            fatalError("fuzz-tokenizer cannot read the model's tokenizer: \(error)")
        }
    } else {
        FileHandle.standardError.write(Data("fuzz-tokenizer: \(model) is absent, fuzzing the fixture tokenizers only\n".utf8))
    }
    let dir = env["GIM_FUZZ_TOKENIZERS"] ?? "Tests/GIMEngineTests/Fixtures/tokenizers"
    let json: [(String, FuzzSubject.RoundTrip)] = [
        ("llama2/tokenizer.json", .exact), ("gemma/tokenizer.json", .exact), ("qwen2/tokenizer.json", .nfc),
        ("unigram/tokenizer.json", .none), ("unigram/variants/t5.json", .none),
    ] + ["first", "always", "never"].flatMap { s in
        ["true", "false"].map { ("llama2/variants/metaspace-\(s)-split-\($0).json", FuzzSubject.RoundTrip.none) }
    }
    do {
        for (file, rt) in json {
            out.append(FuzzSubject(name: file, tokenizer: try BPETokenizer(tokenizerJSONFile: dir + "/" + file), roundTrip: rt))
        }
        for kind in ["llama2", "gemma"] {
            out.append(FuzzSubject(name: kind + "/vocab.gguf",
                                   tokenizer: try BPETokenizer(gguf: GGUFFile(path: dir + "/" + kind + "/vocab.gguf")),
                                   roundTrip: .exact))
        }
    } catch {
        fatalError("fuzz-tokenizer needs the fixture tokenizers in \(dir) (run from the repository root): \(error)")
    }
    return out
}()

func exerciseTokenizer(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    for s in fuzzSubjects {
        let tok = s.tokenizer
        let ids = tok.encode(text, addSpecialTokens: false)
        for id in ids {
            if id < 0 || id >= tok.vocabSize { fatalError("\(s.name): id \(id) outside the vocabulary for \(bytes)") }
            _ = tok.displayText(id)
        }
        if tok.encode(text, addSpecialTokens: false) != ids { fatalError("\(s.name): encoding is not deterministic for \(bytes)") }
        _ = tok.encode(text, addSpecialTokens: true)
        let back = tok.decode(ids)
        switch s.roundTrip {
        case .none:
            break
        case .exact:
            if !text.utf8.contains(0x3C) && !text.unicodeScalars.contains("\u{2581}") && Array(back.utf8) != Array(text.utf8) {
                fatalError("\(s.name): round trip failed for \(bytes)")
            }
        case .nfc:
            if !text.utf8.contains(0x3C) && Array(back.utf8) != Array(text.precomposedStringWithCanonicalMapping.utf8) {
                fatalError("\(s.name): round trip (up to NFC) failed for \(bytes)")
            }
        case .byteLevelCovered:
            // Bytes with no token (a few control bytes in SmolLM2's vocabulary) are dropped, as in
            // Hugging Face's tokenizer; otherwise the round trip must be exact.
            if back != text && tok.decodeBytes(tok.encode(back, addSpecialTokens: false)) != Array(back.utf8) {
                fatalError("\(s.name): round trip failed for \(bytes)")
            }
        }
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
        FuzzCorpus.replay("fuzz-tokenizer", detail: "\(fuzzSubjects.count) tokenizers", exerciseTokenizer)
    }
}
