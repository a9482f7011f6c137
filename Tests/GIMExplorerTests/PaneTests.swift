import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// Panes of the user's choice of method (issue 15): reducer, render, export. The worker side on
/// the real model is in `PaneWorkerTests`.
final class PaneTests: XCTestCase {
    static func figures(comp: Double?, suff: Double?, compLogits: Double = 3.1, suffLogits: Double = 0.4,
                        del: Double? = 0.6) -> PaneFaithfulness {
        PaneFaithfulness(deletionArea: del, insertionArea: del.map { 1 - $0 }, spearman: 0.5,
                         areasUndefinedReason: del == nil ? "Δ 0.42 ≤ 1" : nil,
                         deletionFractions: [0, 0.5, 1], deletionCurve: del == nil ? nil : [1, 0.4, 0],
                         comprehensiveness: comp, sufficiency: suff, comprehensivenessLogits: compLogits,
                         sufficiencyLogits: suffLogits)
    }

    static func report(requestID: Int = 1) -> FaithfulnessReport {
        FaithfulnessReport(requestID: requestID,
                           panes: [figures(comp: 0.42, suff: 0.05), figures(comp: 0.31, suff: 0.12),
                                   figures(comp: 0.38, suff: 0.07, del: nil)],
                           random: figures(comp: nil, suff: nil))
    }

    // MARK: Reducer

    func testTheDefaultIsGIMBesideThePlainGradient() {
        let s = Fixture.ready()
        XCTAssertEqual(s.panes.methods, [.gim, .plain])
        XCTAssertEqual(s.lastRequest?.methods, [.gim, .plain])
    }

    func testOCyclesTheFocusedPanesMethodAndAsksOnce() {
        var (s, effects) = press(Fixture.ready(), [.char("o")])
        XCTAssertEqual(s.panes.methods.map(\.name), ["gim-0.1.4", "plain"])
        XCTAssertEqual(effects.requests.count, 1)
        XCTAssertEqual(effects.requests[0].methods.map(\.name), ["gim-0.1.4", "plain"])
        (s, effects) = press(s, [.char("O"), .char("O")])
        XCTAssertEqual(effects.requests.count, 2)
        XCTAssertEqual(s.panes.methods.map(\.name), ["random", "plain"], "O goes backwards and wraps")
        // Every preset is reachable.
        var names: Set<String> = []
        for _ in AttributionMethod.all {
            s = press(s, [.char("o")]).0
            names.insert(s.panes.focused.method.name)
        }
        XCTAssertEqual(names, Set(AttributionMethod.all.map(\.name)))
    }

    func testKnobKeysEditTheFocusedPaneOnly() {
        var s = press(Fixture.ready(), [.char("j")]).0
        XCTAssertEqual(s.panes.focus, 1)
        let (changed, effects) = press(s, [.char("t")])
        s = changed
        XCTAssertEqual(s.panes.panes[0].method, .gim, "the GIM pane keeps its knobs")
        XCTAssertEqual(s.panes.panes[1].method.settings.softmaxTemperature, 0.75, "plain's T goes 1 → 0.75")
        XCTAssertEqual(effects.requests.last?.methods[0], .gim)
        XCTAssertEqual(Renderer.paneTitle(s.panes.panes[1].method), "plain gradient, knobs changed")
        s = press(s, [.char("J"), .char("r")]).0
        XCTAssertEqual(s.panes.focus, 0)
        XCTAssertEqual(s.panes.panes[1].method.settings.softmaxTemperature, 0.75, "r resets only the focused pane")
    }

    func testEveryMethodKeepsItsOwnKnobs() {
        var s = press(Fixture.ready(), type("tt")).0
        XCTAssertEqual(s.settings.softmaxTemperature, 1.25)
        s = press(s, type("o")).0
        XCTAssertEqual(s.panes.focused.method, .gim014, "gim-0.1.4 starts from its own defaults")
        s = press(s, type("O")).0
        XCTAssertEqual(s.settings.softmaxTemperature, 1.25, "back on GIM: its knobs were kept")
        XCTAssertTrue(s.panes.focused.isChanged)
        s = press(s, type("r")).0
        XCTAssertEqual(s.panes.focused.method, .gim)
        XCTAssertFalse(s.panes.focused.isChanged)
    }

    func testIntegratedGradientsStepsAndBaseline() {
        var s = Fixture.ready()
        s.panes.focused.presetName = "integrated-gradients"
        var effects: [Effect]
        (s, effects) = press(s, type("H"))
        XCTAssertEqual(s.panes.focused.method.steps, 64)
        XCTAssertEqual(effects.requests.last?.methods[0].steps, 64)
        s = press(s, type("hhh")).0
        XCTAssertEqual(s.panes.focused.method.steps, 8)
        s = press(s, type("b")).0
        XCTAssertEqual(s.panes.focused.method.settings.inputBaseline, .zero)
        XCTAssertEqual(Renderer.paneTitle(s.panes.focused.method), "Integrated Gradients (8), zero baseline")
        // GIM's knobs do not apply: a message, no request.
        (s, effects) = press(s, type("t"))
        XCTAssertTrue(effects.requests.isEmpty)
        XCTAssertEqual(s.message?.isError, true)
        XCTAssertTrue(s.message?.text.contains("steps (h H)") ?? false, s.message?.text ?? "")
        (s, effects) = press(s, type("I"))
        XCTAssertTrue(effects.requests.isEmpty)
        // Steps on a backward method: a message.
        s = press(s, type("j")).0
        (s, effects) = press(s, type("H"))
        XCTAssertTrue(effects.requests.isEmpty)
        XCTAssertTrue(s.message?.text.contains("Only Integrated Gradients") ?? false)
        // Ladder ends.
        XCTAssertEqual(ExplorerState.stepLadder(256, direction: 1), 256)
        XCTAssertEqual(ExplorerState.stepLadder(1, direction: -1), 1)
        XCTAssertEqual(ExplorerState.stepLadder(20, direction: -1), 16)
    }

    func testActivationRuleAndBaselineOnABackwardMethod() {
        var s = press(Fixture.ready(), type("I")).0
        XCTAssertEqual(s.settings.activationRule, .identity)
        s = press(s, type("b")).0
        XCTAssertEqual(s.settings.inputBaseline, .zero)
        XCTAssertEqual(s.lastRequest?.methods[0].settings.activationRule, .identity)
        let frame = render(s, width: 120, height: 24)
        XCTAssertTrue(frame.lines[2].contains("rule identity"), frame.lines[2])
        XCTAssertTrue(frame.lines[2].contains("baseline zero"), frame.lines[2])
        // AttnLRP's preset already has both: its knob line shows them, not highlighted as changed.
        s.panes.focused.presetName = "attnlrp"
        XCTAssertEqual(s.settings, .attnLRP)
    }

    func testAddAndRemovePanes() {
        let (added, effects) = press(Fixture.ready(), type("+"))
        var s = added
        XCTAssertEqual(s.panes.methods.map(\.name), ["gim", "plain", "attnlrp"])
        XCTAssertEqual(s.panes.focus, 2, "the new pane has the focus")
        XCTAssertEqual(effects.requests.last?.methods.count, 3)
        s = press(s, type("++")).0
        XCTAssertEqual(s.panes.methods.map(\.name), ["gim", "plain", "attnlrp", "integrated-gradients"])
        XCTAssertEqual(s.message?.isError, true, "four panes at most")
        s = press(s, type("j-")).0
        XCTAssertEqual(s.panes.methods.map(\.name), ["plain", "attnlrp", "integrated-gradients"], "j wrapped to pane 1, - closed it")
        s = press(s, type("---")).0
        XCTAssertEqual(s.panes.panes.count, 1)
        XCTAssertEqual(s.message?.isError, true, "the last pane stays")
    }

    func testDifferenceBetweenAnyTwoPanes() {
        var s = Fixture.readyThree()
        XCTAssertEqual(s.panes.otherPane, 1)
        s = press(s, type("D")).0
        XCTAssertEqual(s.panes.otherPane, 2)
        XCTAssertTrue(s.message?.text.contains("GIM − AttnLRP") ?? false, s.message?.text ?? "")
        s = press(s, type("D")).0
        XCTAssertEqual(s.panes.otherPane, 1, "the focused pane is skipped")
        s = press(s, type("jj")).0  // focus AttnLRP: it minus plain
        s.view = .difference
        let frame = render(s, width: 100, height: 16)
        assertSnapshot(frame, "difference-three-100x16")
        XCTAssertTrue(frame.lines[4].contains("AttnLRP − plain gradient"), frame.lines[4])
    }

    func testFiguresOfUnchangedMethodsStayWhenAPaneChanges() {
        var s = reduce(Fixture.readyThree(), .faithfulnessFinished(Self.report())).0
        XCTAssertEqual(s.faithfulness?.panes.count, 3)
        s = press(s, type("jjo")).0  // pane 3: AttnLRP → CP-LRP
        XCTAssertEqual(s.panes.methods.map(\.name), ["gim", "plain", "cplrp"])
        XCTAssertEqual(s.faithfulness?[pane: 0], Self.report()[pane: 0])
        XCTAssertEqual(s.faithfulness?[pane: 1], Self.report()[pane: 1])
        XCTAssertNil(s.faithfulness?[pane: 2], "the changed pane's figures are pending")
        XCTAssertEqual(s.faithfulness?.random, Self.report().random)
        // A pane closed: the others keep theirs, in their new places.
        s = press(s, type("J-")).0  // focus plain, close it
        XCTAssertEqual(s.panes.methods.map(\.name), ["gim", "cplrp"])
        XCTAssertEqual(s.faithfulness?[pane: 0], Self.report()[pane: 0])
        // A new question: everything pending.
        s = press(s, [.char("[")]).0
        XCTAssertNil(s.faithfulness)
    }

    func testNewKeysAreInTheHelp() {
        let rows = KeyMap.helpSections.flatMap(\.rows).map(\.keys)
        for keys in ["o O", "j J", "+ = -", "D", "b", "I", "h H"] { XCTAssertTrue(rows.contains(keys), keys) }
        // README's keys table has them too.
        let readme = (try? String(contentsOf: Fixture.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
        for key in ["`o` / `O`", "`j` / `J`", "`+` (`=`), `-`", "`D`", "`b`", "`I`", "`h` / `H`"] {
            XCTAssertTrue(readme.contains("| \(key) |"), key)
        }
    }

    // MARK: Render

    func testThreePanesSideBySideWithTheirFigures() {
        let s = reduce(Fixture.readyThree(), .faithfulnessFinished(Self.report())).0
        let frame = render(s, width: 160, height: 24)
        assertSnapshot(frame, "three-panes-160x24")
        let top = frame.lines[4]
        for title in ["▸ GIM", "plain gradient", "AttnLRP"] { XCTAssertTrue(top.contains(title), top) }
        XCTAssertTrue(top.contains("comp 0.42"), top)
        XCTAssertTrue(top.contains("comp 0.31") || top.contains("c 0.31"), top)
        XCTAssertTrue(top.contains("c 0.38") || top.contains("comp 0.38"), top)
        XCTAssertTrue(frame.lines[0].contains("attnlrp 72 ms"), frame.lines[0])
    }

    func testThreePanesStackOnANarrowTerminal() {
        let s = reduce(Fixture.readyThree(), .faithfulnessFinished(Self.report())).0
        let frame = render(s, width: 60, height: 36)
        assertSnapshot(frame, "three-panes-narrow-60x36")
        let tops = frame.lines.indices.filter { frame.lines[$0].contains("┌") && !frame.lines[$0].contains("next token") }
        XCTAssertEqual(tops.count, 3, "three stacked panes")
        for line in frame.lines { XCTAssertEqual(TextWidth.of(line), 60, line) }
    }

    func testMethodSwitchedToIntegratedGradients() {
        var s = Fixture.readyThree(third: .integratedGradients, mode: .command)
        s = press(s, type("jj")).0
        let frame = render(s, width: 140, height: 20)
        assertSnapshot(frame, "method-ig-140x20")
        XCTAssertTrue(frame.lines[2].contains("IG knobs  steps 32  baseline token"), frame.lines[2])
        XCTAssertTrue(frame.lines[4].contains("▸ Integrated Gradients (32)"), frame.lines[4])
    }

    func testTableShowsEveryPaneAndTheFigures() {
        var s = reduce(Fixture.readyThree(), .faithfulnessFinished(Self.report())).0
        s.view = .table
        let frame = render(s, width: 120, height: 24)
        assertSnapshot(frame, "table-three-120x24")
        let text = frame.lines.joined(separator: "\n")
        XCTAssertTrue(text.contains("comp /f(x) ↑"), text)
        XCTAssertTrue(text.contains("suff /f(x) ↓"), text)
        XCTAssertTrue(text.contains("0.42"), text)
        XCTAssertTrue(text.contains("attnlrp"))
    }

    func testFiguresInLogitsWhenTheRatioIsUndefined() {
        let f = Self.figures(comp: nil, suff: nil, compLogits: 2.5, suffLogits: -0.25)
        let texts = Renderer.figureTexts(f, random: nil)
        XCTAssertTrue(texts[0].hasPrefix("comp 2.50 suff −0.25 logits"), texts[0])
        XCTAssertTrue(texts.contains("c 2.50lg"))
    }

    func testPlotDrawsACurvePerPane() {
        var s = reduce(Fixture.readyThree(), .faithfulnessFinished(Self.report())).0
        s.showPlot = true
        let frame = render(s, width: 100, height: 24)
        let text = frame.lines.joined(separator: "\n")
        XCTAssertTrue(text.contains("GIM") && text.contains("plain") && text.contains("attnlrp undefined"), text)
    }

    // MARK: Export

    func testExportHasEveryPaneWithItsMethodAndFigures() throws {
        let s = reduce(Fixture.readyThree(third: .integratedGradients), .faithfulnessFinished(Self.report())).0
        let doc = Exporter.document(s.result!, view: .heat, model: "m", theme: "dark", faithfulness: s.faithfulness,
                                    focus: 0, difference: (0, 2))
        let obj = try JSONSerialization.jsonObject(with: Exporter.json(doc)) as! [String: Any]
        let panes = obj["panes"] as! [[String: Any]]
        XCTAssertEqual(panes.map { $0["method"] as! String }, ["gim", "plain", "integrated-gradients"])
        XCTAssertEqual(panes[2]["steps"] as? Int, 32)
        XCTAssertEqual(panes[2]["kind"] as? String, "integrated-gradients")
        XCTAssertEqual((panes[0]["settings"] as! [String: Double])["softmax_temperature"], 2)
        XCTAssertEqual(panes[1]["freeze_norm"] as? Bool, false)
        XCTAssertEqual((panes[2]["values"] as! [NSNumber]).map(\.floatValue), [1.2, 4.1, -0.3, 2.2, 9.6])
        XCTAssertEqual((panes[0]["faithfulness"] as! [String: Any])["comprehensiveness"] as? Double, 0.42)
        XCTAssertEqual(obj["difference_panes"] as? [Int], [0, 2])
        let html = Exporter.html(s.result!, view: .heat, model: "m", theme: .monochrome, faithfulness: s.faithfulness)
        XCTAssertTrue(html.contains("Integrated Gradients (32)"))
        XCTAssertTrue(html.contains("comprehensiveness / f(x)"))
        XCTAssertEqual(html.components(separatedBy: "<span class=\"tok").count - 1, 15, "three rows of five tokens")
    }
}
