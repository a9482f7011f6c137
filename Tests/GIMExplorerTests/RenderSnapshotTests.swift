import GIMEngine
import XCTest
@testable import GIMExplorer

/// `render(state, size)` is pure; its frames are compared as text with Snapshots/*.txt
/// (characters, then one role code per cell: see Role.snapshotCode). To accept a deliberate
/// change: SNAPSHOT_RECORD=1 swift test --filter RenderSnapshotTests, then review the diff.
final class RenderSnapshotTests: XCTestCase {
    func testWide() {
        var s = Fixture.ready()
        s.selectedPrediction = 1
        assertSnapshot(render(s, width: 120, height: 24), "wide-120x24")
    }

    func testMediumSideBySideWithPredictionsBelow() {
        assertSnapshot(render(Fixture.ready(mode: .edit), width: 80, height: 24), "medium-80x24-edit")
    }

    func testNarrowStacksThePanes() {
        assertSnapshot(render(Fixture.ready(), width: 50, height: 30), "narrow-50x30")
    }

    func testSmallestSupportedSize() {
        assertSnapshot(render(Fixture.ready(), width: Layout.minimumWidth, height: Layout.minimumHeight), "minimum-40x12")
    }

    func testTinyShowsTooSmall() {
        assertSnapshot(render(Fixture.ready(), width: 30, height: 8), "tiny-30x8")
        // Degenerate sizes still give a frame of that size.
        XCTAssertEqual(render(Fixture.ready(), width: 3, height: 1).lines, ["Te…"])
        XCTAssertEqual(render(Fixture.ready(), width: 0, height: 0).lines, [])
    }

    func testUnicodeHeavyPrompt() {
        var s = Fixture.ready(Fixture.unicode(), mode: .edit)
        s.editor = PromptEditor(text: Fixture.unicode().prompt)
        s.committedPrompt = s.editor.text
        let frame = render(s, width: 72, height: 22)
        assertSnapshot(frame, "unicode-72x22")
        // Every row is exactly the frame's width in columns, wide characters included.
        for line in frame.lines { XCTAssertEqual(TextWidth.of(line), 72, line) }
    }

    func testMonochromeShowsBars() {
        assertSnapshot(render(Fixture.ready(depth: .mono), width: 100, height: 16), "mono-100x16")
    }

    func testEightColours() {
        assertSnapshot(render(Fixture.ready(depth: .ansi8), width: 100, height: 16), "ansi8-100x16")
    }

    func testDifferenceView() {
        var s = Fixture.ready()
        s.view = .difference
        assertSnapshot(render(s, width: 100, height: 16), "difference-100x16")
    }

    func testTableView() {
        var s = Fixture.ready()
        s.view = .table
        assertSnapshot(render(s, width: 110, height: 16), "table-110x16")
        assertSnapshot(render(s, width: 48, height: 16), "table-48x16")
    }

    func testTargetInTheMiddleWithContrast() {
        var r = Fixture.france(targetPosition: 2, gim: [0.4, -1.2, 2.5, 0, 0], plain: [1, 2, -3, 0, 0])
        r.foilID = 253
        r.foilText = " a"
        r.foilProbability = 0.081
        var s = Fixture.ready(r)
        s.foil = .id(253)
        assertSnapshot(render(s, width: 100, height: 16), "contrast-position2-100x16")
    }

    func testKnobsChangedAndComputing() {
        var s = Fixture.ready()
        s = press(s, type("tf")).0
        XCTAssertTrue(s.isComputing)
        assertSnapshot(render(s, width: 100, height: 14), "knobs-computing-100x14")
    }

    func testHelpOverlay() {
        var s = Fixture.ready()
        s.showHelp = true
        assertSnapshot(render(s, width: 100, height: 34), "help-100x34")
        assertSnapshot(render(s, width: 60, height: 20), "help-60x20")
        // Tall enough for every key (panes, continuations and circuits together): nothing cut.
        let tall = render(s, width: 100, height: 48)
        assertSnapshot(tall, "help-100x48")
        XCTAssertFalse(tall.text.contains("enlarge the terminal"), tall.text)
    }

    func testTokenEntryLine() {
        let s = press(Fixture.ready(), [.char("/")] + type(" Lon")).0
        assertSnapshot(render(s, width: 80, height: 14), "entry-80x14")
    }

    func testBeforeAnyResult() {
        let loading = ExplorerState(modelPath: "models/SmolLM2-135M-Instruct.Q4_1.gguf", themeNames: ["dark"])
        assertSnapshot(render(loading, width: 80, height: 14), "loading-80x14")
        let empty = reduce(loading, .modelLoaded(name: "SmolLM2-135M-Instruct")).0
        assertSnapshot(render(empty, width: 80, height: 14), "empty-prompt-80x14")
        let failed = reduce(loading, .modelFailed("model file not found: /nope.gguf (run models/fetch.sh to download the default model)")).0
        assertSnapshot(render(failed, width: 80, height: 14), "model-failed-80x14")
    }

    func testLongPromptScrollsToTheTargetAndScrollsBack() {
        let n = 300
        let texts = (0..<n).map { " w\($0)" }
        let r = AnalysisResult(requestID: 1, prompt: texts.joined(), tokenIDs: Array(0..<n), tokenTexts: texts,
                               targetPosition: n - 1, targetID: 1, targetText: " x", targetProbability: 0.5,
                               predictions: [Prediction(id: 1, text: " x", probability: 0.5, logit: 3)],
                               gim: (0..<n).map { Float($0 % 17) - 8 }, plain: (0..<n).map { Float($0 % 5) },
                               targetLogit: 3, settings: .gim)
        var s = Fixture.ready(r)
        s.editor = PromptEditor(text: r.prompt)
        s.committedPrompt = r.prompt
        let bottom = render(s, width: 100, height: 20)
        XCTAssertTrue(bottom.text.contains("w299"), "the target (last token) is in view")
        XCTAssertFalse(bottom.text.contains(" w0 "))
        s.scroll = -100_000
        let top = render(s, width: 100, height: 20)
        XCTAssertTrue(top.text.contains(" w0 "), "scrolled to the start")
        assertSnapshot(bottom, "long-prompt-100x20")
    }

    func testPromptLineScrollsToKeepTheCursorVisible() {
        let (text, cursor) = Renderer.window(String(repeating: "abcdefghij", count: 10), cursor: 100, width: 20)
        XCTAssertEqual(text, "…" + String(repeating: "abcdefghij", count: 10).suffix(18))
        XCTAssertEqual(cursor, 19)
        let (start, c0) = Renderer.window("日本語テキスト", cursor: 0, width: 8)
        XCTAssertEqual(start, "日本語テ")
        XCTAssertEqual(c0, 0)
    }

    func testWidthsOfTrickyText() {
        XCTAssertEqual(TextWidth.of("abc"), 3)
        XCTAssertEqual(TextWidth.of("日本"), 4)
        XCTAssertEqual(TextWidth.of("🌍"), 2)
        XCTAssertEqual(TextWidth.of("👩‍💻"), 2)
        XCTAssertEqual(TextWidth.of("e\u{301}"), 1)
        XCTAssertEqual(TextWidth.of("❤️"), 2)
        XCTAssertEqual(Sanitizer.visible("a\nb\tc\u{1}\u{301}"), "a↵b⇥c␁◌\u{301}")
    }

    func testFitCutsAtColumnsNotCharacters() {
        XCTAssertEqual(Layout.fit("日本語", width: 4), "日…")
        XCTAssertEqual(Layout.fit("abc", width: 3), "abc")
        XCTAssertEqual(Layout.fit("abcd", width: 3), "ab…")
        XCTAssertEqual(Layout.fit("abc", width: 0), "")
    }
}

/// Issue 16's views: a continuation walked token by token, streaming, words, the matrix.
final class GenerationSnapshotTests: XCTestCase {
    func testAWalkedContinuationTokenIsExplainedOverEverythingBeforeIt() {
        assertSnapshot(render(ContinuationFixture.state(), width: 120, height: 24), "continuation-120x24")
    }

    func testStreamingTokensFollowThePromptMarkedAsGenerated() {
        var s = Fixture.ready()
        s.generation.requestID = 1
        s.generation.prompt = s.committedPrompt
        s.generation.promptTokenCount = 5
        s.generation.isRunning = true
        s.generation.tokens = Array(ContinuationFixture.continuation.suffix(3))
        assertSnapshot(render(s, width: 100, height: 16), "streaming-100x16")
    }

    func testWordsMergeSubwordTokensWithBoundariesShown() {
        var s = Fixture.ready(Fixture.unicode())
        s.result?.words = WordAggregation.mapping(pieces: Fixture.unicode().tokenTexts.map { Array($0.utf8) },
                                                  special: Fixture.unicode().tokenTexts.map { _ in false })
        s.display.words = true
        assertSnapshot(render(s, width: 100, height: 16), "words-100x16")
        var c = ContinuationFixture.state()
        c.display.words = true
        c.display.maskSpecial = true
        assertSnapshot(render(c, width: 120, height: 24), "continuation-words-masked-120x24")
    }

    /// With the method panes: the walked token is explained in every pane, and the matrix's left
    /// side is the focused pane's method.
    func testAWalkedContinuationTokenInThreePanesAndTheFocusedPanesMatrix() {
        var s = ContinuationFixture.state()
        s.panes = PaneSet(methods: [.gim, .plain, .attnLRP])
        s.result?.panes.append(PaneResult(method: .attnLRP, values: ContinuationFixture.row(5).map { -0.5 * $0 }, milliseconds: 70))
        assertSnapshot(render(s, width: 120, height: 24), "continuation-3panes-120x24")
        s.panes.focus = 2
        s.generation.showMatrix = true
        var m = AttributionMatrix(requestID: 3, method: .attnLRP, rows: ContinuationFixture.continuation.count)
        for j in m.gim.indices {
            m.gim[j] = ContinuationFixture.row(j).map { -0.5 * $0 }
            m.plain[j] = ContinuationFixture.row(j, plain: true)
        }
        s.generation.matrix = m
        assertSnapshot(render(s, width: 100, height: 20), "matrix-attnlrp-100x20")
    }

    func testMatrixViewSideBySide() {
        var s = ContinuationFixture.state()
        s.generation.showMatrix = true
        var m = AttributionMatrix(requestID: 3, method: .gim, rows: ContinuationFixture.continuation.count)
        for j in 0..<(m.gim.count - 1) {
            m.gim[j] = ContinuationFixture.row(j)
            m.plain[j] = ContinuationFixture.row(j, plain: true)
        }
        s.generation.matrix = m
        assertSnapshot(render(s, width: 100, height: 20), "matrix-computing-100x20")
        s.generation.matrix?.gim[m.gim.count - 1] = ContinuationFixture.row(m.gim.count - 1)
        s.generation.matrix?.plain[m.gim.count - 1] = ContinuationFixture.row(m.gim.count - 1, plain: true)
        assertSnapshot(render(s, width: 100, height: 20), "matrix-100x20")
        assertSnapshot(render(s, width: 50, height: 30), "matrix-narrow-50x30")
        s.display.words = true
        s.display.maskSpecial = true
        assertSnapshot(render(s, width: 100, height: 20), "matrix-words-100x20")
    }
}
