import GIMEngine
import XCTest
@testable import GIMExplorer

/// The key handling is a pure reducer: each test feeds keys and checks the state and effects.
final class ReducerTests: XCTestCase {
    func fresh(debounce: Int = 400) -> ExplorerState {
        let s = ExplorerState(modelPath: "m.gguf", debounceMilliseconds: debounce, themeNames: ["dark", "light"])
        return reduce(s, .modelLoaded(name: "test")).0
    }

    // MARK: Editing vs commanding

    func testLettersTypedInThePromptNeverTurnKnobs() {
        let (s, effects) = press(fresh(), type("fqtkv0rTQ"))
        XCTAssertEqual(s.editor.text, "fqtkv0rTQ")
        XCTAssertEqual(s.settings, .gim)
        XCTAssertTrue(effects.requests.isEmpty, "typing alone asks nothing until Enter or the pause")
    }

    func testTabAndEscToggleCommandModeWhereLettersAreKnobs() {
        var (s, _) = press(fresh(), [.tab])
        XCTAssertEqual(s.mode, .command)
        (s, _) = press(s, type("t"))
        XCTAssertEqual(s.settings.softmaxTemperature, 1.5)
        (s, _) = press(s, type("TT"))
        XCTAssertEqual(s.settings.softmaxTemperature, 3)
        (s, _) = press(s, [.escape])
        XCTAssertEqual(s.mode, .edit)
        XCTAssertEqual(s.editor.text, "")
    }

    func testEveryKnobStepsAndIsShownChanged() {
        var (s, _) = press(fresh(), [.tab] + type("fqQQkvVgu"))
        XCTAssertFalse(s.settings.freezeNorm)
        XCTAssertEqual(s.settings.qScale, 0.375)
        XCTAssertEqual(s.settings.kScale, 0.125)
        XCTAssertEqual(s.settings.vScale, 0.5)
        XCTAssertEqual(s.settings.gateScale, 0.375)
        XCTAssertEqual(s.settings.upScale, 0.375)
        XCTAssertTrue(Knob.q.isChanged(s.settings))
        XCTAssertFalse(Knob.v.isChanged(s.settings))
        (s, _) = press(s, type("0"))
        XCTAssertEqual(s.settings, .plain)
        (s, _) = press(s, type("1"))
        XCTAssertEqual(s.settings, .gim014)
        (s, _) = press(s, type("r"))
        XCTAssertEqual(s.settings, .gim)
    }

    func testKnobStepsStopAtTheRangeEnds() {
        var s = fresh()
        s.mode = .command
        for _ in 0..<40 { s = press(s, type("t")).0 }
        XCTAssertEqual(s.settings.softmaxTemperature, GIMSettings.temperatureRange.lowerBound)
        for _ in 0..<40 { s = press(s, type("Q")).0 }
        XCTAssertEqual(s.settings.qScale, GIMSettings.scaleRange.upperBound)
        XCTAssertNoThrow(try s.settings.validate())
        XCTAssertTrue(s.message?.text.contains("largest") ?? false)
    }

    func testAltKeyRunsACommandFromThePrompt() {
        let (s, _) = press(fresh(), type("abc") + [.alt("t"), .alt("f")])
        XCTAssertEqual(s.editor.text, "abc")
        XCTAssertEqual(s.mode, .edit)
        XCTAssertEqual(s.settings.softmaxTemperature, 1.5)
        XCTAssertFalse(s.settings.freezeNorm)
    }

    func testQInCommandModeIsTheQueryScaleNotQuit() {
        let (s, effects) = press(fresh(), [.tab, .char("q")])
        XCTAssertFalse(effects.contains(.quit))
        XCTAssertEqual(s.settings.qScale, 0.125)
    }

    func testQuitKeysWorkInEveryMode() {
        for key in [Key.function(10), .ctrl("c"), .ctrl("q")] {
            for prefix in [[Key](), [.tab], [.tab, .char("/")], [.function(1)]] {
                let (_, effects) = press(fresh(), prefix + [key])
                XCTAssertEqual(effects.last, .quit, "\(key) after \(prefix)")
            }
        }
    }

    func testUnboundCommandKeySaysHowToGetBack() {
        let (s, _) = press(fresh(), [.tab, .char("z")])
        XCTAssertTrue(s.message?.text.contains("Tab returns to the prompt") ?? false)
    }

    // MARK: Prompt editing

    func testCursorMovementAndDeletion() {
        var (s, _) = press(fresh(), type("hello world") + [.left, .left, .left, .left, .left, .backspace])
        XCTAssertEqual(s.editor.text, "helloworld")
        XCTAssertEqual(s.editor.cursor, 5)
        (s, _) = press(s, [.home, .delete, .end] + type("!"))
        XCTAssertEqual(s.editor.text, "elloworld!")
        (s, _) = press(s, [.ctrl("w")])
        XCTAssertEqual(s.editor.text, "")
        (s, _) = press(s, type("a b c") + [.ctrl("a"), .right, .ctrl("k")])
        XCTAssertEqual(s.editor.text, "a")
        (s, _) = press(s, type("xyz") + [.left, .ctrl("u")])
        XCTAssertEqual(s.editor.text, "z")
        XCTAssertEqual(s.editor.cursor, 0)
    }

    func testWideAndCombiningCharactersAreOneCursorStepEach() {
        let (s, _) = press(fresh(), type("日本") + [.char("e"), .char("\u{301}"), .left, .backspace])
        XCTAssertEqual(s.editor.text, "日é")
        XCTAssertEqual(s.editor.cursor, 1)
    }

    func testHistoryUpDownKeepsTheDraft() {
        var (s, _) = press(fresh(), type("first") + [.enter] + [.ctrl("u")] + type("second") + [.enter, .ctrl("u")] + type("draft"))
        (s, _) = press(s, [.up])
        XCTAssertEqual(s.editor.text, "second")
        (s, _) = press(s, [.up, .up])
        XCTAssertEqual(s.editor.text, "first")
        (s, _) = press(s, [.down])
        XCTAssertEqual(s.editor.text, "second")
        (s, _) = press(s, [.down])
        XCTAssertEqual(s.editor.text, "draft")
    }

    func testPasteInsertsWholeTextWithNewlines() {
        var (s, _) = press(fresh(), type("A: ") + [.paste("line one\nline two")])
        XCTAssertEqual(s.editor.text, "A: line one\nline two")
        (s, _) = press(s, [.tab, .paste(" more")])
        XCTAssertEqual(s.mode, .edit, "a paste in command mode goes to the prompt")
        XCTAssertEqual(s.editor.text, "A: line one\nline two more")
    }

    func testHugePasteIsCutWithAMessage() {
        let (s, _) = press(fresh(), [.paste(String(repeating: "word ", count: 8000))])
        XCTAssertEqual(s.editor.text.count, PromptEditor.maxCharacters)
        XCTAssertEqual(s.message?.isError, true)
    }

    // MARK: When attributions are asked for

    func testEnterAttributesThePromptAndRemembersIt() {
        let (s, effects) = press(fresh(), type("The capital of France is") + [.enter])
        XCTAssertEqual(effects.requests.map(\.prompt), ["The capital of France is"])
        XCTAssertEqual(effects.requests.first?.settings, .gim)
        XCTAssertEqual(s.editor.history, ["The capital of France is"])
        XCTAssertTrue(s.isComputing)
    }

    func testEnterOnAnEmptyPromptAsksNothing() {
        let (s, effects) = press(fresh(), [.enter, .char(" "), .backspace, .enter])
        XCTAssertTrue(effects.requests.isEmpty)
        XCTAssertEqual(s.message?.text, "Type a prompt, then Enter")
    }

    func testAPauseAfterTypingAttributesOnlyTheLatestEdit() {
        var (s, effects) = press(fresh(debounce: 300), type("Hi"))
        XCTAssertEqual(effects.last, .scheduleDebounce(generation: 2, milliseconds: 300))
        // The timer of the first key fires late: the prompt changed since, nothing happens.
        var requests: [AnalysisRequest]
        (s, effects) = reduce(s, .debounceElapsed(generation: 1))
        XCTAssertTrue(effects.requests.isEmpty)
        (s, effects) = reduce(s, .debounceElapsed(generation: 2))
        requests = effects.requests
        XCTAssertEqual(requests.map(\.prompt), ["Hi"])
        XCTAssertEqual(s.editor.history, [], "only Enter adds to the history")
    }

    func testDebounceZeroMeansOnlyEnter() {
        let (_, effects) = press(fresh(debounce: 0), type("Hi"))
        XCTAssertTrue(effects.isEmpty)
    }

    func testNothingIsAskedBeforeTheModelIsLoaded() {
        var s = ExplorerState(modelPath: "m", prompt: "Hello", themeNames: ["dark"])
        var effects: [Effect]
        (s, effects) = press(s, [.enter])
        XCTAssertTrue(effects.requests.isEmpty)
        (s, effects) = reduce(s, .modelLoaded(name: "m"))
        XCTAssertEqual(effects.requests.map(\.prompt), ["Hello"], "the --prompt is attributed once the model is ready")
    }

    func testAKnobChangeAsksForTheSamePromptWithNewSettings() {
        let s = Fixture.ready()
        let (_, effects) = press(s, type("t"))
        XCTAssertEqual(effects.requests.count, 1)
        XCTAssertEqual(effects.requests[0].prompt, "The capital of France is")
        XCTAssertEqual(effects.requests[0].settings.softmaxTemperature, 1.5)
        XCTAssertGreaterThan(effects.requests[0].id, s.lastRequest!.id)
    }

    func testKeysThatChangeNothingAskNothing() {
        let (_, effects) = press(Fixture.ready(), [.char("d"), .char("s"), .up, .pageDown, .char("?"), .char("?")])
        XCTAssertTrue(effects.requests.isEmpty)
    }

    func testRerunAsksAgainWithAFreshID() {
        let s = Fixture.ready()
        let (_, effects) = press(s, [.function(5)])
        XCTAssertEqual(effects.requests.count, 1)
        XCTAssertEqual(effects.requests[0].id, s.nextRequestID)
    }

    // MARK: Results

    func testAnOlderResultNeverReplacesANewerOne() {
        var s = Fixture.ready(Fixture.france(requestID: 1))
        s = press(s, type("tt")).0  // requests 2 and 3
        XCTAssertTrue(s.isComputing)
        s = reduce(s, .analysisFinished(Fixture.france(requestID: 3, settings: s.settings))).0
        XCTAssertFalse(s.isComputing)
        s = reduce(s, .analysisFinished(Fixture.france(requestID: 2))).0
        XCTAssertEqual(s.result?.requestID, 3)
    }

    func testAFailureIsShownUntilANewerResult() {
        var s = Fixture.ready()
        s = press(s, type("T")).0
        s = reduce(s, .analysisFailed(requestID: s.lastRequest!.id, message: "the prompt has 2000 tokens; at most 1024")).0
        XCTAssertEqual(s.failure?.message, "the prompt has 2000 tokens; at most 1024")
        XCTAssertEqual(s.message?.isError, true)
        s = press(s, type("t")).0
        s = reduce(s, .analysisFinished(Fixture.france(requestID: s.lastRequest!.id))).0
        XCTAssertNil(s.failure)
    }

    func testANewPromptForgetsTheOldPromptsFailure() {
        var s = press(fresh(), type("x") + [.enter]).0
        s = reduce(s, .analysisFailed(requestID: s.lastRequest!.id, message: "too long")).0
        XCTAssertNotNil(s.failure)
        s = press(s, type("y") + [.enter]).0
        XCTAssertNil(s.failure)
        XCTAssertTrue(s.isComputing)
    }

    func testModelFailureIsReported() {
        let s = reduce(ExplorerState(modelPath: "x"), .modelFailed("model file not found: x")).0
        XCTAssertEqual(s.model, .failed("model file not found: x"))
        XCTAssertEqual(s.message?.isError, true)
    }

    // MARK: Target, foil, position

    func testPickingATargetFromTheList() {
        var (s, effects) = press(Fixture.ready(), [.down, .down, .enter])
        XCTAssertEqual(s.target, .id(260))
        XCTAssertEqual(effects.requests.last?.target, .id(260))
        (s, effects) = press(s, [.char("a")])
        XCTAssertEqual(s.target, .argmax)
    }

    func testContrastiveModeTogglesWithC() {
        var (s, effects) = press(Fixture.ready(), [.down, .char("c")])
        XCTAssertEqual(s.foil, .id(253))
        XCTAssertEqual(effects.requests.last?.foil, .id(253))
        (s, _) = press(s, [.char("c")])
        XCTAssertNil(s.foil)
        (s, effects) = press(s, [.up, .char("c")])
        XCTAssertNil(s.foil, "the target cannot be its own foil")
        XCTAssertEqual(s.message?.isError, true)
        XCTAssertTrue(effects.requests.isEmpty)
    }

    func testTypingATargetOrFoilToken() {
        var (s, effects) = press(Fixture.ready(), [.char("/")] + type(" London") + [.enter])
        XCTAssertEqual(s.mode, .command)
        XCTAssertEqual(s.target, .text(" London"))
        XCTAssertEqual(effects.requests.last?.target, .text(" London"))
        (s, _) = press(s, [.char("\\")] + type("#42") + [.enter])
        XCTAssertEqual(s.foil, .id(42))
        (s, effects) = press(s, [.char("/")] + type("xyz") + [.escape])
        XCTAssertEqual(s.target, .text(" London"), "Esc cancels the entry")
        XCTAssertTrue(effects.requests.isEmpty)
        (s, _) = press(s, [.char("/"), .enter])
        XCTAssertEqual(s.target, .text(" London"), "an empty entry changes nothing")
    }

    func testEntryLineEditsItsOwnTextNotThePrompt() {
        let (s, _) = press(Fixture.ready(), [.char("/")] + type("Parx") + [.backspace] + type("is"))
        XCTAssertEqual(s.entry.text, "Paris")
        XCTAssertEqual(s.editor.text, "The capital of France is")
        XCTAssertEqual(s.settings, .gim, "letters in the entry line are not knob keys")
    }

    func testMovingTheTargetPosition() {
        var (s, effects) = press(Fixture.ready(), [.left])
        XCTAssertEqual(s.targetPosition, 3)
        XCTAssertEqual(effects.requests.last?.targetPosition, 3)
        (s, _) = press(s, [.left, .left, .left, .left, .left])
        XCTAssertEqual(s.targetPosition, 0)
        (s, _) = press(s, [.char("]")])
        XCTAssertEqual(s.targetPosition, 1)
        (s, effects) = press(s, [.end])
        XCTAssertNil(s.targetPosition, "the last position is stored as 'last'")
        XCTAssertNil(effects.requests.last?.targetPosition)
        (s, _) = press(s, [.right])
        XCTAssertNil(s.targetPosition)
        (s, _) = press(s, [.home])
        XCTAssertEqual(s.targetPosition, 0)
    }

    func testANewPromptResetsThePositionButKeepsTheTargetChoice() {
        var (s, _) = press(Fixture.ready(), [.left, .down, .enter, .tab, .ctrl("u")] + type("Berlin is the capital of") + [.enter])
        XCTAssertNil(s.targetPosition)
        XCTAssertEqual(s.target, .id(253))
        XCTAssertEqual(s.selectedPrediction, 0)
        (s, _) = press(s, [.ctrl("u"), .enter])
        XCTAssertNil(s.result, "an empty prompt clears the panes")
    }

    func testPositionAndListKeysWithoutAResultDoNothing() {
        let s = fresh()
        let (after, effects) = press(s, [.tab, .left, .right, .home, .end, .up, .down, .enter, .char("c"), .char("e")])
        XCTAssertNil(after.targetPosition)
        XCTAssertTrue(effects.requests.isEmpty)
        XCTAssertFalse(effects.contains(.export))
    }

    // MARK: View, theme, help, export

    func testViewAndThemeCycle() {
        var (s, _) = press(Fixture.ready(), [.char("d")])
        XCTAssertEqual(s.view, .difference)
        (s, _) = press(s, [.function(2), .char("d")])
        XCTAssertEqual(s.view, .heat)
        (s, _) = press(s, [.char("s")])
        XCTAssertEqual(s.themeName, "light")
        (s, _) = press(s, Array(repeating: .function(3), count: s.themeNames.count))
        XCTAssertEqual(s.themeName, "light", "cycling wraps around")
    }

    func testHelpOverlayClosesOnAnyKeyWithoutActing() {
        var (s, _) = press(Fixture.ready(), [.char("?")])
        XCTAssertTrue(s.showHelp)
        (s, _) = press(s, [.char("t")])
        XCTAssertFalse(s.showHelp)
        XCTAssertEqual(s.settings, .gim, "the key that closes help does nothing else")
        (s, _) = press(s, [.function(1)])
        XCTAssertTrue(s.showHelp)
        (s, _) = press(s, [.function(1)])
        XCTAssertFalse(s.showHelp)
    }

    func testExportNeedsAResult() {
        let (s, effects) = press(fresh(), [.function(6)])
        XCTAssertFalse(effects.contains(.export))
        XCTAssertTrue(s.message?.text.contains("Nothing to export") ?? false)
        XCTAssertEqual(press(Fixture.ready(), [.char("e")]).1, [.export])
    }

    func testCtrlLRepaints() {
        XCTAssertEqual(press(fresh(), [.ctrl("l")]).1, [.redraw])
    }

    func testScrollIsBounded() {
        var s = Fixture.ready()
        for _ in 0..<100_000 / 5 + 10 { s = press(s, [.pageUp]).0 }
        XCTAssertEqual(s.scroll, -100_000)
    }

    // MARK: Robustness

    /// Every key in every mode, with and without a result, then rendered at several sizes:
    /// nothing may crash and every request must carry valid knobs.
    func testNoKeyCrashesInAnyState() throws {
        let keys: [Key] = [.enter, .tab, .backTab, .escape, .backspace, .delete, .up, .down, .left, .right, .home, .end,
                           .pageUp, .pageDown, .paste("x\ny"), .paste("")]
            + (1...12).map { .function($0) } + "abcdefghijklmnopqrstuvwxyz".map { .ctrl($0) }
            + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789[]/\\?$ ~#é日🌍".map { .char($0) }
            + "tfqkvgu[".map { .alt($0) }
        var generator = SystemRandomNumberGenerator()
        for start in [fresh(), Fixture.ready(), Fixture.ready(Fixture.unicode()), ExplorerState(modelPath: "x")] {
            var s = start
            for _ in 0..<3000 {
                let key = keys.randomElement(using: &generator)!
                if key == .function(10) || key == .ctrl("c") || key == .ctrl("q") { continue }
                let (next, effects) = reduce(s, .key(key))
                for r in effects.requests { XCTAssertNoThrow(try r.settings.validate()) }
                s = next
            }
            for (w, h) in [(120, 40), (80, 24), (50, 30), (40, 12), (39, 12), (10, 3), (1, 1), (0, 0)] {
                let frame = render(s, width: w, height: h)
                XCTAssertEqual(frame.lines.count, max(0, h))
            }
        }
    }
}
