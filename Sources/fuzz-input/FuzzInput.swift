// Fuzz target for the explorer's input decoder (raw terminal characters, Alt combinations,
// ESC [ / ESC O sequences, bracketed paste) and the reducer and renderer behind it.
// The input is a stream of terminal events: UTF-8 text is one `.scalar` per Unicode scalar
// (invalid bytes become U+FFFD, as the terminal layer would deliver them), byte 0xFF is an idle
// read and 0xFE followed by a byte is a key ncurses decoded itself (both bytes never occur in
// UTF-8). Invariants:
// - decoded keys are keys the reducer knows: `.char` is printable, a paste is not empty;
// - after enough idle reads any half-read sequence or paste is over: "a" then types "a";
// - a bracketed paste of the input's text gives that text back as one paste;
// - the reducer and `render` accept every decoded key (the prompt editor's cursor stays in its
//   text) at a terminal size the input picks.
// Built as a libFuzzer binary or a regression runner, like fuzz-gguf (see scripts/fuzz.sh).
import Foundation
import GIMExplorer
import FuzzSupport

let ncursesKeys: [Key] = [.up, .down, .left, .right, .home, .end, .pageUp, .pageDown, .delete, .backspace,
                          .enter, .tab, .backTab, .escape] + (1...12).map { Key.function($0) }

/// The event stream the bytes stand for (see the header comment).
func terminalEvents(_ bytes: [UInt8]) -> [TerminalInput] {
    var events: [TerminalInput] = []
    var text: [UInt8] = []
    func flush() {
        for s in String(decoding: text, as: UTF8.self).unicodeScalars { events.append(.scalar(s)) }
        text.removeAll()
    }
    var i = 0
    while i < bytes.count {
        switch bytes[i] {
        case 0xFF:
            flush(); events.append(.idle)
        case 0xFE:
            flush()
            if i + 1 < bytes.count { i += 1; events.append(.key(ncursesKeys[Int(bytes[i]) % ncursesKeys.count])) }
        default:
            text.append(bytes[i])
        }
        i += 1
    }
    flush()
    return events
}

func checkKey(_ key: Key, _ bytes: [UInt8]) {
    switch key {
    case .char(let c), .alt(let c):
        if c.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            fatalError("control character \(c.unicodeScalars.map(\.value)) decoded as a key from \(bytes)")
        }
    case .ctrl(let c):
        if !("a"..."z").contains(c) { fatalError("Ctrl-\(c) is not a letter, from \(bytes)") }
    case .paste(let text):
        if text.isEmpty { fatalError("an empty paste from \(bytes)") }
    case .function(let n):
        if !(1...12).contains(n) { fatalError("F\(n) from \(bytes)") }
    default:
        break
    }
}

func exerciseInput(_ bytes: [UInt8]) {
    let events = terminalEvents(bytes)
    var decoder = InputDecoder()
    var keys: [Key] = []
    for e in events { keys += decoder.feed(e) }
    for k in keys { checkKey(k, bytes) }

    // Enough idle reads end whatever was half-read.
    for _ in 0..<40 { for k in decoder.feed(.idle) { checkKey(k, bytes); keys.append(k) } }
    let after = decoder.feed(.scalar("a"))
    guard after == [.char("a")] else { fatalError("after idle reads, \"a\" gave \(after) for \(bytes)") }

    // The same text inside bracketed-paste markers comes back whole (ESC removed, so the text
    // cannot hold an end marker; the decoder turns CR into LF).
    let scalars = events.compactMap { e -> Unicode.Scalar? in
        if case .scalar(let s) = e, s.value != 0x1B { return s.value == 0x0D ? "\n" : s }
        return nil
    }
    var pasted = InputDecoder()
    var pasteKeys: [Key] = []
    for s in "\u{1B}[200~".unicodeScalars + scalars + "\u{1B}[201~".unicodeScalars { pasteKeys += pasted.feed(.scalar(s)) }
    var expected = ""
    expected.unicodeScalars.append(contentsOf: scalars)
    let want: [Key] = expected.isEmpty ? [] : [.paste(expected)]
    guard pasteKeys == want else { fatalError("bracketed paste of \(scalars.map(\.value)) gave \(pasteKeys)") }

    // The reducer and the renderer take every key.
    var state = ExplorerState(modelPath: "fuzz.gguf", debounceMilliseconds: 400, themeNames: ["dark", "light"])
    state = reduce(state, .modelLoaded(name: "fuzz")).0
    for k in keys.prefix(256) + pasteKeys {
        state = reduce(state, .key(k)).0
        for editor in [state.editor, state.entry] where !(0...editor.text.count).contains(editor.cursor) {
            fatalError("cursor \(editor.cursor) outside a text of \(editor.text.count) characters after \(k)")
        }
    }
    // One frame per input, at a size the input picks: wide, medium,
    // narrow, stacked, the 40×12 minimum and too small.
    let sizes = [(100, 26), (80, 24), (64, 20), (50, 16), (40, 12), (30, 8), (140, 40)]
    let size = sizes[bytes.count % sizes.count]
    _ = render(state, width: size.0, height: size.1)
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInputInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exerciseInput(FuzzCorpus.bytes(data, size))
    return 0
}
#endif

@main
struct FuzzInputRegression {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzzInputInput(data, size) }))
        #endif
        FuzzCorpus.replay("fuzz-input", exerciseInput)
    }
}
