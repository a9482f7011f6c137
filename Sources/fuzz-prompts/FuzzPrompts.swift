// Fuzz target for the prompt-set reader of `gim evaluate` (JSONL: one {"prompt", "category",
// "target"} object per line, blank and `//` lines skipped). Any input must give prompts or a thrown
// error naming the line, never a crash; accepted prompts are non-empty and survive being written
// back as JSONL and read again.
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMEngine
import FuzzSupport

func exercisePrompts(_ bytes: [UInt8]) {
    // `EvaluationPrompt.load` refuses text that is not UTF-8 before parsing.
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let prompts: [EvaluationPrompt]
    do {
        prompts = try EvaluationPrompt.parse(text, name: "fuzz.jsonl")
    } catch let error as ModelError {
        guard case .badInput = error else { fatalError("unexpected error kind: \(error)") }
        return
    } catch {
        fatalError("an error that is not a ModelError: \(error)")
    }
    guard !prompts.isEmpty else { fatalError("no prompts and no error") }
    for p in prompts where p.prompt.isEmpty || p.target == "" { fatalError("an empty prompt or target was accepted: \(p)") }
    let encoder = JSONEncoder()
    let lines = prompts.map { String(decoding: try! encoder.encode($0), as: UTF8.self) }
    let again: [EvaluationPrompt]
    do { again = try EvaluationPrompt.parse(lines.joined(separator: "\n"), name: "again.jsonl") } catch {
        fatalError("accepted prompts written back do not read again: \(error)")
    }
    guard again == prompts else { fatalError("prompts changed in a round trip: \(prompts) → \(again)") }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPromptsInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exercisePrompts(FuzzCorpus.bytes(data, size))
    return 0
}
#endif

@main
struct FuzzPromptsRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzPromptsInput(data, size) }))
        #endif
        FuzzCorpus.replay("fuzz-prompts", exercisePrompts)
    }
}
