import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// Synthetic circuit data (no model needed): SmolLM2's shape, 30 layers × 9 heads, on the
/// France prompt (5 positions).
enum CircuitFixture {
    static let question = CircuitQuestion(tokenIDs: [504, 3575, 282, 4649, 314], counterfactual: .prompt(tokenIDs: [504, 3575, 282, 5432, 314]),
                                          targetPosition: 4, targetID: 7042, foilID: nil)

    /// Smooth, signed, deterministic values: a few strong heads late, blocks growing with depth.
    static func map(layers: Int = 30, heads: Int = 9, positions: Int = 5, phase: Float = 0) -> ComponentMap {
        var m = ComponentMap(layers: layers, heads: heads, positions: positions)
        for l in 0..<layers {
            let depth = Float(l) / Float(max(1, layers - 1))
            m.attention[l] = sin(Float(l) * 0.7 + phase) * (0.2 + depth)
            m.mlp[l] = cos(Float(l) * 0.4 + phase) * (0.1 + 2 * depth)
            for h in 0..<heads { m.heads[l][h] = sin(Float(l * heads + h) * 1.3 + phase) * depth * depth }
            for p in 0..<positions { m.residual[l][p] = (p == 3 ? 3 * (1 - depth) : 0) + (p == 4 ? 3 * depth : 0.1 * sin(Float(l + p) + phase)) }
        }
        return m
    }

    static func result(requestID: Int = 1, settings: GIMSettings = .gim, question: CircuitQuestion = question,
                       layers: Int = 30, heads: Int = 9) -> CircuitResult {
        CircuitResult(requestID: requestID, question: question, tokenTexts: ["The", " capital", " of", " France", " is"],
                      corruptTokenTexts: ["The", " capital", " of", " Italy", " is"], targetText: " Paris",
                      cleanMetric: 17.2, corruptMetric: 9.85, settings: settings,
                      gim: map(layers: layers, heads: heads, phase: settings == .gim ? 0 : 0.4),
                      plain: map(layers: layers, heads: heads, phase: 1.1), gimMilliseconds: 58, plainMilliseconds: 61,
                      forwardMilliseconds: 40)
    }

    static func patching(requestID: Int = 1, question: CircuitQuestion = question, layers: Int = 30, heads: Int = 9) -> CircuitPatching {
        CircuitPatching(requestID: requestID, question: question, effects: map(layers: layers, heads: heads, phase: 0.2),
                        runs: 30 * (11 + 5), seconds: 1.4)
    }

    /// The France state with the circuit view open on a corrupted prompt and its scores.
    static func ready(patched: Bool = true, depth: ColorDepth = .ansi256) -> ExplorerState {
        var s = Fixture.ready(depth: depth)
        s = press(s, [.char("C"), .ctrl("u")] + type("The capital of Italy is") + [.enter]).0
        let id = s.circuit.lastRequest!.id
        s = reduce(s, .circuit(.finished(result(requestID: id)))).0
        if patched { s = reduce(s, .circuit(.patched(patching(requestID: id)))).0 }
        s.message = nil
        return s
    }
}

final class CircuitViewTests: XCTestCase {
    func circuitRequests(_ effects: [Effect]) -> [CircuitRequest] {
        effects.compactMap { if case .analyzeCircuit(let r) = $0 { return r } else { return nil } }
    }

    // MARK: Reducer

    func testXOpensTheViewWhichAsksNothingWithoutACounterfactual() {
        var (s, effects) = press(Fixture.ready(), [.char("X")])
        XCTAssertTrue(s.circuit.isShown)
        XCTAssertTrue(circuitRequests(effects).isEmpty)
        XCTAssertTrue(s.message?.text.contains("C types a corrupted prompt") ?? false)
        (s, effects) = press(s, [.char("X")])
        XCTAssertFalse(s.circuit.isShown)
        // F8 too, from any mode.
        XCTAssertTrue(press(Fixture.ready(mode: .edit), [.function(8)]).0.circuit.isShown)
        // In the prompt, X is a letter; Alt-X runs the command.
        let typed = press(Fixture.ready(mode: .edit), [.char("X")]).0
        XCTAssertFalse(typed.circuit.isShown)
        XCTAssertTrue(press(Fixture.ready(mode: .edit), [.alt("X")]).0.circuit.isShown)
    }

    /// x is the continuation matrix and M chat mode's system prompt (issue 16); the circuit view
    /// is X, and M means "mean over positions" only while the view is shown.
    func testTheCircuitKeysDoNotClashWithTheContinuationKeys() {
        XCTAssertEqual(KeyMap.action(for: .char("x"), in: .command), .generation(.toggleMatrix))
        XCTAssertEqual(KeyMap.action(for: .char("x"), in: .command, circuit: true), .generation(.toggleMatrix))
        XCTAssertEqual(KeyMap.action(for: .char("X"), in: .command), .circuit(.toggleView))
        XCTAssertEqual(KeyMap.action(for: .char("M"), in: .command), .beginEntry(.system))
        XCTAssertEqual(KeyMap.action(for: .char("M"), in: .command, circuit: true), .circuit(.toggleMean))
        XCTAssertEqual(KeyMap.action(for: .char("C"), in: .command), .beginEntry(.corrupt))
        // Outside the view M types the system prompt; it does not pick a counterfactual.
        let s = press(Fixture.ready(), [.char("M")]).0
        XCTAssertEqual(s.mode, .entry(.system))
        XCTAssertNil(s.circuit.counterfactual)
    }

    /// One view at a time: the circuit view and the continuation matrix replace each other.
    func testTheCircuitViewAndTheMatrixReplaceEachOther() {
        var s = CircuitFixture.ready()
        s.generation.requestID = 1
        s.generation.prompt = s.committedPrompt
        s.generation.promptTokenCount = 5
        s.generation.tokens = [ContinuationToken(id: 7042, text: " Paris", probability: 0.4)]
        s = press(s, [.char("x")]).0
        XCTAssertTrue(s.generation.showMatrix)
        XCTAssertFalse(s.circuit.isShown)
        s = press(s, [.char("X")]).0
        XCTAssertTrue(s.circuit.isShown)
        XCTAssertFalse(s.generation.showMatrix)
        s.message = nil
        let frame = render(s, width: 120, height: 30)
        XCTAssertTrue(frame.text.contains("view circuits"), "the status line names the view: \(frame.text)")
    }

    /// The circuit view's GIM scores use the focused pane's backward knobs (the knob keys edit
    /// that pane); with an IG pane focused, the first backward pane's.
    func testTheCircuitKnobsAreTheFocusedBackwardPanes() {
        var s = CircuitFixture.ready()
        s.panes = PaneSet(methods: [.gim, .integratedGradients, .attnLRP])
        s = press(s, [.char("j")]).0
        XCTAssertEqual(s.circuitSettings, GIMSettings.gim, "IG focused: the first backward pane's knobs")
        let effects: [Effect]
        (s, effects) = press(s, [.char("j")])
        XCTAssertEqual(circuitRequests(effects).first?.settings, .attnLRP, "AttnLRP focused")
        XCTAssertEqual(Renderer.circuitTitle(.attnLRP), "AttnLRP")
        XCTAssertEqual(Renderer.circuitTitle(.gim), "GIM")
    }

    /// A continuation given after ⏎ is not part of the prompt the circuit view scores.
    func testTheCircuitViewScoresThePromptWithoutAGivenContinuation() {
        var s = Fixture.ready()
        s.committedPrompt = "The capital of France is⏎ Lyon"
        s.editor = PromptEditor(text: s.committedPrompt)
        s = press(s, [.char("X")]).0
        s = press(s, [.char("C")]).0
        XCTAssertEqual(s.entry.text, "The capital of France is")
        let (_, effects) = press(s, [.enter])
        XCTAssertEqual(circuitRequests(effects).first?.prompt, "The capital of France is")
    }

    func testMUsesTheMeanOverPositions() {
        let (s, effects) = press(Fixture.ready(), [.char("X"), .char("M")])
        XCTAssertTrue(s.circuit.isShown, "choosing a counterfactual opens the view")
        XCTAssertEqual(s.circuit.counterfactual, .meanOverPositions)
        let r = circuitRequests(effects)
        XCTAssertEqual(r.count, 1)
        XCTAssertEqual(r.first?.counterfactual, .meanOverPositions)
        XCTAssertEqual(r.first?.prompt, "The capital of France is")
        XCTAssertTrue(effects.requests.isEmpty, "the token panes' question did not change")
        // M again: no counterfactual, nothing asked.
        let off = press(s, [.char("M")])
        XCTAssertNil(off.0.circuit.counterfactual)
        XCTAssertTrue(circuitRequests(off.1).isEmpty)
    }

    func testCTypesTheCorruptedPromptStartingFromThePrompt() {
        var s = press(Fixture.ready(), [.char("C")]).0
        XCTAssertEqual(s.mode, .entry(.corrupt))
        XCTAssertEqual(s.entry.text, "The capital of France is", "the entry starts as the prompt: usually one word changes")
        let frame = render(s, width: 80, height: 14)
        assertSnapshot(frame, "circuit-entry-80x14")
        var effects: [Effect]
        (s, effects) = press(s, [.ctrl("u")] + type("The capital of Italy is") + [.enter])
        XCTAssertEqual(s.mode, .command)
        XCTAssertEqual(s.circuit.counterfactual, .prompt("The capital of Italy is"))
        XCTAssertTrue(s.circuit.isShown)
        XCTAssertEqual(circuitRequests(effects).first?.counterfactual, .prompt("The capital of Italy is"))
        // C again starts from the last corrupted prompt; Esc keeps it.
        s = press(s, [.char("C")]).0
        XCTAssertEqual(s.entry.text, "The capital of Italy is")
        s = press(s, [.escape]).0
        XCTAssertEqual(s.circuit.counterfactual, .prompt("The capital of Italy is"))
    }

    func testAKnobChangeAsksAgainAndKeepsThePatching() {
        var s = CircuitFixture.ready()
        XCTAssertNotNil(s.circuit.gimAgreement)
        let before = s.circuit.gimAgreement
        var effects: [Effect]
        (s, effects) = press(s, [.char("t")])
        let asked = circuitRequests(effects)
        XCTAssertEqual(asked.count, 1)
        XCTAssertEqual(asked.first?.settings.softmaxTemperature, 1.5)
        XCTAssertEqual(effects.requests.count, 1, "the token panes are asked too")
        XCTAssertTrue(s.circuit.isComputing)
        // The new scores (same question, other knobs): patching stays, GIM's agreement is recomputed.
        s = reduce(s, .circuit(.finished(CircuitFixture.result(requestID: asked[0].id, settings: s.settings)))).0
        XCTAssertFalse(s.circuit.isComputing)
        XCTAssertNotNil(s.circuit.shownPatching)
        XCTAssertNotEqual(s.circuit.gimAgreement, before)
        XCTAssertEqual(s.circuit.gimAgreement, ComponentAgreements(s.circuit.result!.gim, patching: CircuitFixture.patching().effects!))
        XCTAssertEqual(s.circuit.plainAgreement, ComponentAgreements(s.circuit.result!.plain, patching: CircuitFixture.patching().effects!))
        // Another question (a new position): the old patching is dropped with the new result.
        (s, effects) = press(s, [.char("[")])
        let moved = circuitRequests(effects)
        XCTAssertEqual(moved.first?.targetPosition, 3)
        var q = CircuitFixture.question
        q.targetPosition = 3
        s = reduce(s, .circuit(.finished(CircuitFixture.result(requestID: moved[0].id, settings: s.settings, question: q)))).0
        XCTAssertNil(s.circuit.patching)
        XCTAssertNil(s.circuit.gimAgreement)
        // A late patching of the old question is ignored.
        s = reduce(s, .circuit(.patched(CircuitFixture.patching()))).0
        XCTAssertNil(s.circuit.patching)
        s = reduce(s, .circuit(.patched(CircuitFixture.patching(question: q)))).0
        XCTAssertNotNil(s.circuit.gimAgreement)
    }

    func testClosedViewAsksNothing() {
        var s = CircuitFixture.ready()
        s = press(s, [.char("X")]).0
        let (_, effects) = press(s, [.char("t")])
        XCTAssertTrue(circuitRequests(effects).isEmpty, "scores are computed only for the view on screen")
        XCTAssertEqual(effects.requests.count, 1)
    }

    func testArrowsMoveTheCellCursorAndBracketsStillMoveThePosition() {
        var s = CircuitFixture.ready()
        XCTAssertEqual(s.circuit.cursor, CircuitCursor(row: 0, layer: 0))
        s = press(s, [.right, .right, .down, .left]).0
        XCTAssertEqual(s.circuit.cursor, CircuitCursor(row: 1, layer: 1))
        s = press(s, [.up, .up, .left, .left]).0
        XCTAssertEqual(s.circuit.cursor, CircuitCursor(row: 0, layer: 0), "clamped at the edges")
        s = press(s, Array(repeating: .right, count: 40)).0
        XCTAssertEqual(s.circuit.cursor.layer, 29)
        s = press(s, [.pageDown]).0
        XCTAssertEqual(s.circuit.cursor.row, 9, "PgDn: the attention row")
        s = press(s, [.pageDown]).0
        XCTAssertEqual(s.circuit.cursor.row, 11, "the residual stream's first position")
        s = press(s, [.pageDown]).0
        XCTAssertEqual(s.circuit.cursor.row, 0, "wraps to the heads")
        s = press(s, [.pageUp]).0
        XCTAssertEqual(s.circuit.cursor.row, 11)
        XCTAssertEqual(s.selectedPrediction, 0, "↑ ↓ did not move in the prediction list")
        let (moved, effects) = press(s, [.char("[")])
        XCTAssertEqual(moved.targetPosition, 3)
        XCTAssertEqual(circuitRequests(effects).first?.targetPosition, 3)
        // The view closed: arrows are the target keys again.
        s = press(s, [.char("X"), .down]).0
        XCTAssertEqual(s.selectedPrediction, 1)
    }

    func testStaleAndFailedAnswers() {
        var s = CircuitFixture.ready()
        s = press(s, [.char("t")]).0
        let id = s.circuit.lastRequest!.id
        s = reduce(s, .circuit(.failed(requestID: id, message: "the corrupted prompt has 6 tokens and the prompt 5: they must align"))).0
        XCTAssertEqual(s.circuit.failure?.requestID, id)
        XCTAssertTrue(s.message?.isError ?? false)
        let frame = render(s, width: 80, height: 14)
        assertSnapshot(frame, "circuit-failed-80x14")
        XCTAssertTrue(frame.text.contains("must align"))
        // An older answer arriving late does not hide the failure.
        s = reduce(s, .circuit(.finished(CircuitFixture.result(requestID: id - 1)))).0
        XCTAssertNotNil(s.circuit.failure)
        // A newer answer replaces it.
        s = press(s, [.char("T")]).0
        s = reduce(s, .circuit(.finished(CircuitFixture.result(requestID: s.circuit.lastRequest!.id)))).0
        XCTAssertNil(s.circuit.failure)
    }

    func testRerunAsksTheCircuitAgain() {
        let (_, effects) = press(CircuitFixture.ready(), [.char(" ")])
        XCTAssertEqual(circuitRequests(effects).count, 1)
    }

    func testKeysAreInTheHelp() {
        let rows = KeyMap.helpSections.first { $0.title == "Circuits" }?.rows.map(\.keys) ?? []
        XCTAssertEqual(rows, ["X F8", "C", "M", "← ↑ ↓ →", "PgUp PgDn"])
        let readme = (try? String(contentsOf: Fixture.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
        for key in ["| `X` |", "| `C` |", "| `M` |"] { XCTAssertTrue(readme.contains(key), "README's keys table lists \(key)") }
    }

    // MARK: Render

    func testCircuitViewWide() {
        let frame = render(CircuitFixture.ready(), width: 120, height: 30)
        assertSnapshot(frame, "circuit-120x30")
        XCTAssertTrue(frame.text.contains("r: heads 0.98 attn"), frame.text)
        XCTAssertTrue(frame.text.contains("L0 head 0  GIM"))
        for line in frame.lines { XCTAssertEqual(TextWidth.of(line), 120, line) }
    }

    func testCircuitViewScrollsToTheCursorIn24Rows() {
        var s = CircuitFixture.ready()
        s = press(s, [.pageDown, .pageDown, .down, .down, .down, .down] + Array(repeating: .right, count: 12)).0
        let frame = render(s, width: 100, height: 24)
        assertSnapshot(frame, "circuit-cursor-100x24")
        XCTAssertTrue(frame.text.contains("L12 residual @4 \" is\""), frame.text)
    }

    func testPatchingPending() {
        let frame = render(CircuitFixture.ready(patched: false), width: 100, height: 24)
        XCTAssertTrue(frame.lines[4].contains("patching …"), frame.lines[4])
        XCTAssertTrue(frame.text.contains("computing…"))
    }

    func testNarrowStacksThePanes() {
        let frame = render(CircuitFixture.ready(), width: 50, height: 30)
        assertSnapshot(frame, "circuit-narrow-50x30")
        let gim = frame.lines.firstIndex { $0.contains("┌ GIM") }, plain = frame.lines.firstIndex { $0.contains("┌ plain gradient") }
        XCTAssertNotNil(gim)
        XCTAssertGreaterThan(plain ?? -1, gim ?? Int.max, "stacked")
        for line in frame.lines { XCTAssertEqual(TextWidth.of(line), 50, line) }
    }

    func testSmallestAndTooSmall() {
        let s = CircuitFixture.ready()
        let frame = render(s, width: Layout.minimumWidth, height: Layout.minimumHeight)
        assertSnapshot(frame, "circuit-40x12")
        for line in frame.lines { XCTAssertEqual(TextWidth.of(line), 40, line) }
        XCTAssertTrue(render(s, width: 30, height: 8).text.contains("Terminal too small"))
    }

    func testMonochromeShowsBarsAndTheCursor() {
        let frame = render(CircuitFixture.ready(depth: .mono), width: 100, height: 24)
        assertSnapshot(frame, "circuit-mono-100x24")
        XCTAssertTrue(frame.text.contains("◆"))
        XCTAssertTrue(frame.text.contains("█"))
    }

    func testWithoutCounterfactualTheViewSaysWhatToDo() {
        let s = press(Fixture.ready(), [.char("X")]).0
        let frame = render(s, width: 80, height: 14)
        assertSnapshot(frame, "circuit-no-counterfactual-80x14")
        XCTAssertTrue(frame.text.contains("C types a corrupted"))
    }

    func testSmallModelUsesWideCells() {
        var s = Fixture.ready()
        s = press(s, [.char("X"), .char("M")]).0
        var q = CircuitFixture.question
        q.counterfactual = .meanOverPositions
        var r = CircuitFixture.result(requestID: s.circuit.lastRequest!.id, question: q, layers: 4, heads: 3)
        r.corruptMetric = nil
        r.corruptTokenTexts = nil
        s = reduce(s, .circuit(.finished(r))).0
        s = reduce(s, .circuit(.patched(CircuitFixture.patching(requestID: r.requestID, question: q, layers: 4, heads: 3)))).0
        s.message = nil
        let frame = render(s, width: 80, height: 24)
        assertSnapshot(frame, "circuit-tiny-model-80x24")
        XCTAssertTrue(frame.text.contains("vs the mean over positions"))
    }

    func testHelpOverlayListsTheCircuitKeys() {
        var s = CircuitFixture.ready()
        s.showHelp = true
        let frame = render(s, width: 100, height: 40)
        XCTAssertTrue(frame.text.contains("circuit view on/off"), frame.text)
        XCTAssertTrue(frame.text.contains("type the corrupted prompt"))
    }

    // MARK: Export

    func testExportHasTheCircuitData() throws {
        let s = CircuitFixture.ready()
        let doc = Exporter.document(s.result!, view: s.view, model: "m", theme: "dark", circuit: s.circuit)
        let obj = try JSONSerialization.jsonObject(with: Exporter.json(doc)) as! [String: Any]
        let c = try XCTUnwrap(obj["circuit"] as? [String: Any])
        XCTAssertEqual(c["counterfactual"] as? String, "prompt")
        XCTAssertEqual(c["corrupt_prompt"] as? String, "The capital of Italy is")
        XCTAssertEqual(c["corrupt_token_ids"] as? [Int], [504, 3575, 282, 5432, 314])
        let heads = (c["gim"] as! [String: Any])["heads"] as! [[NSNumber]]
        XCTAssertEqual(heads.count, 30)
        XCTAssertEqual(heads[7][2].floatValue, s.circuit.result!.gim.heads[7][2])
        let effects = ((c["patching"] as! [String: Any])["effects"] as! [String: Any])["mlp"] as! [NSNumber]
        XCTAssertEqual(effects.map(\.floatValue), CircuitFixture.patching().effects!.mlp)
        let agreement = (c["agreement"] as! [String: [String: [String: Any]]])["plain"]!["heads"]!
        XCTAssertEqual((agreement["pearson"] as! NSNumber).doubleValue, s.circuit.plainAgreement!.heads.pearson!, accuracy: 1e-12)
        XCTAssertEqual(c["cursor"] as? String, "L0 head 0")
        // Without circuit data the key is absent.
        let plain = try JSONSerialization.jsonObject(with: Exporter.json(Exporter.document(s.result!, view: .heat, model: "m", theme: "dark"))) as! [String: Any]
        XCTAssertNil(plain["circuit"])

        let theme = try ThemeLoader.load(file: Fixture.repoRoot.appendingPathComponent("themes/dark.toml"))
        let html = Exporter.html(s.result!, view: .heat, model: "m", theme: theme, circuit: s.circuit)
        XCTAssertTrue(html.contains("<h2>Circuits</h2>"))
        XCTAssertTrue(html.contains("<h3>activation patching</h3>"))
        XCTAssertEqual(html.components(separatedBy: "<table class=\"circuit\">").count - 1, 3, "GIM, plain, patching")
        XCTAssertTrue(html.contains("title=\"L29 MLP: "))
    }
}
