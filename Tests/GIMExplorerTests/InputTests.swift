import XCTest
@testable import GIMExplorer

/// The raw-input decoder and the key table.
final class InputTests: XCTestCase {
    func decode(_ inputs: [TerminalInput]) -> [Key] {
        var d = InputDecoder()
        return inputs.flatMap { d.feed($0) }
    }

    func scalars(_ s: String) -> [TerminalInput] { s.unicodeScalars.map { .scalar($0) } }

    func testPrintableAndControlCharacters() {
        XCTAssertEqual(decode(scalars("aé日\t\r\n\u{7F}\u{08}\u{03}\u{11}")),
                       [.char("a"), .char("é"), .char("日"), .tab, .enter, .enter, .backspace, .backspace, .ctrl("c"), .ctrl("q")])
    }

    func testLoneEscapeNeedsThePause() {
        XCTAssertEqual(decode([.scalar("\u{1B}")]), [])
        XCTAssertEqual(decode([.scalar("\u{1B}"), .idle]), [.escape])
        XCTAssertEqual(decode([.scalar("\u{1B}"), .scalar("\u{1B}"), .idle]), [.escape, .escape])
    }

    func testAltCombinations() {
        XCTAssertEqual(decode(scalars("\u{1B}t\u{1B}T")), [.alt("t"), .alt("T")])
        XCTAssertEqual(decode([.scalar("\u{1B}"), .key(.up)]), [.escape, .up])
    }

    func testCursorSequencesNcursesDidNotDecode() {
        XCTAssertEqual(decode(scalars("\u{1B}[A\u{1B}[D\u{1B}[Z")), [.up, .left, .backTab])
        XCTAssertEqual(decode(scalars("\u{1B}[99~x")), [.char("x")], "unknown sequences are dropped, never typed")
    }

    func testVTAndSS3KeysNcursesDidNotKnow() {
        XCTAssertEqual(decode(scalars("\u{1B}[4~\u{1B}[1~\u{1B}[3~\u{1B}[21~\u{1B}[5;5~")), [.end, .home, .delete, .function(10), .pageUp])
        XCTAssertEqual(decode(scalars("\u{1B}OP\u{1B}OA\u{1B}OF")), [.function(1), .up, .end])
        XCTAssertEqual(decode(scalars("\u{1B}O") + [.idle]), [.alt("O")], "Alt-O is still Alt-O")
    }

    func testBracketedPasteIsOneKeyWithNewlines() {
        XCTAssertEqual(decode(scalars("\u{1B}[200~line 1\rline 2\u{1B}[201~z")), [.paste("line 1\nline 2"), .char("z")])
    }

    func testPasteKeepsEscapeCharactersInside() {
        XCTAssertEqual(decode(scalars("\u{1B}[200~a\u{1B}b\u{1B}[201~")), [.paste("a\u{1B}b")])
    }

    func testAPasteWithoutEndIsDeliveredAfterAPause() {
        let inputs = scalars("\u{1B}[200~abc") + Array(repeating: TerminalInput.idle, count: InputDecoder.pasteIdleLimit)
        XCTAssertEqual(decode(inputs), [.paste("abc")])
    }

    func testAltBracketWhenNoSequenceFollows() {
        XCTAssertEqual(decode(scalars("\u{1B}[") + [.idle]), [.alt("[")])
    }

    func testKeyTableSeparatesModes() {
        XCTAssertEqual(KeyMap.action(for: .char("t"), in: .edit), .insert("t"))
        XCTAssertEqual(KeyMap.action(for: .char("t"), in: .command), .step(.temperature, -1))
        XCTAssertEqual(KeyMap.action(for: .char("t"), in: .entry(.target)), .insert("t"))
        XCTAssertEqual(KeyMap.action(for: .alt("T"), in: .edit), .step(.temperature, 1))
        XCTAssertEqual(KeyMap.action(for: .up, in: .edit), .historyPrevious)
        XCTAssertEqual(KeyMap.action(for: .up, in: .command), .selectPrediction(-1))
        XCTAssertEqual(KeyMap.action(for: .function(2), in: .edit), .cycleView)
        XCTAssertEqual(KeyMap.action(for: .function(2), in: .entry(.foil)), .cycleView)
        XCTAssertNil(KeyMap.action(for: .char("z"), in: .command))
    }

    func testNoKeyIsBoundTwiceInOneContext() {
        var seen: [String: KeyMap.Context] = [:]
        for b in KeyMap.bindings {
            for k in b.keys {
                let id = "\(b.context):\(k)"
                XCTAssertNil(seen[id], "\(k) is bound twice in \(b.context)")
                seen[id] = b.context
            }
        }
    }

    func testHelpListsEveryCommandKey() {
        let helpText = KeyMap.helpSections.flatMap { $0.rows.map { $0.keys } }.joined(separator: " ")
        for b in KeyMap.bindings where b.context == .command {
            for case .char(let c) in b.keys where c != " " {
                XCTAssertTrue(helpText.contains(c), "help does not mention command key \(c)")
            }
        }
    }

    // MARK: Prompt editor

    func testEditorHistoryDoesNotRepeat() {
        var e = PromptEditor()
        e.insert("a"); e.commit(); e.commit()
        XCTAssertEqual(e.history, ["a"])
        e.clear(); e.commit()
        XCTAssertEqual(e.history, ["a"], "empty prompts are not remembered")
    }

    func testEditorInsertInTheMiddle() {
        var e = PromptEditor(text: "ac")
        e.moveLeft()
        e.insert("b")
        XCTAssertEqual(e.text, "abc")
        XCTAssertEqual(e.cursor, 2)
        e.moveEnd(); e.moveRight()
        XCTAssertEqual(e.cursor, 3)
        e.moveHome(); e.moveLeft(); e.deleteBackward()
        XCTAssertEqual(e.text, "abc")
    }

    func testDeleteWordSkipsTrailingSpaces() {
        var e = PromptEditor(text: "one two   ")
        e.deleteWordBackward()
        XCTAssertEqual(e.text, "one ")
    }
}
