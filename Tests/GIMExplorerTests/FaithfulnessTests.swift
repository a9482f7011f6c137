import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// Faithfulness figures in the panes and the deletion-curve plot: reducer, render, worker.
final class FaithfulnessTests: XCTestCase {
    static func figures(_ d: Double?, _ i: Double?, _ rho: Double?, curve: [Double]? = nil) -> PaneFaithfulness {
        PaneFaithfulness(deletionArea: d, insertionArea: i, spearman: rho,
                         areasUndefinedReason: d == nil ? "Δ 0.42 ≤ 1" : nil, spearmanUndefinedReason: rho == nil ? "LOO off" : nil,
                         deletionFractions: curve.map { c in c.indices.map { Double($0) / Double(c.count - 1) } } ?? [],
                         deletionCurve: curve)
    }

    static func report(requestID: Int = 1) -> FaithfulnessReport {
        FaithfulnessReport(requestID: requestID,
                           gim: figures(0.71, 0.64, 0.9, curve: [1, 0.2, 0.12, 0.05, 0.02, 0]),
                           plain: figures(0.52, 0.41, 0.3, curve: [1, 0.7, 0.6, 0.35, 0.1, 0]),
                           random: figures(0.48, 0.47, 0.02, curve: [1, 0.8, 0.6, 0.4, 0.2, 0]))
    }

    // MARK: Reducer

    func testPTogglesThePlot() {
        var s = Fixture.ready()
        XCTAssertFalse(s.showPlot)
        var effects: [Effect]
        (s, effects) = press(s, [.char("p")])
        XCTAssertTrue(s.showPlot)
        XCTAssertTrue(effects.requests.isEmpty, "the plot asks the worker nothing")
        s = press(s, [.char("p")]).0
        XCTAssertFalse(s.showPlot)
        // In the prompt, p is a letter.
        let typed = press(Fixture.ready(mode: .edit), [.char("p")]).0
        XCTAssertFalse(typed.showPlot)
        XCTAssertTrue(KeyMap.helpSections.contains { $0.rows.contains { $0.keys == "p" } })
    }

    func testFiguresOfTheShownResultAreStored() {
        var s = Fixture.ready()
        XCTAssertNil(s.faithfulness)
        s = reduce(s, .faithfulnessFinished(Self.report(requestID: 1))).0
        XCTAssertEqual(s.faithfulness, Self.report(requestID: 1))
    }

    func testStaleFiguresAreIgnored() {
        var s = Fixture.ready(Fixture.france(requestID: 1))
        s = press(s, type("t")).0  // request 2
        s = reduce(s, .analysisFinished(Fixture.france(requestID: 2, settings: s.settings))).0
        // Figures of request 1 arrive late: the panes show request 2.
        s = reduce(s, .faithfulnessFinished(Self.report(requestID: 1))).0
        XCTAssertNil(s.faithfulness?.gim)
        s = reduce(s, .faithfulnessFinished(Self.report(requestID: 2))).0
        XCTAssertEqual(s.faithfulness?.requestID, 2)
        // Figures of a request whose result is not shown yet are ignored too.
        s = reduce(s, .faithfulnessFinished(Self.report(requestID: 7))).0
        XCTAssertEqual(s.faithfulness?.requestID, 2)
    }

    func testAKnobChangeMarksOnlyGIMPending() {
        var s = reduce(Fixture.ready(), .faithfulnessFinished(Self.report())).0
        s = press(s, type("t")).0
        XCTAssertNil(s.faithfulness?.gim, "GIM's figures are computed again")
        XCTAssertEqual(s.faithfulness?.plain, Self.report().plain, "the plain gradient does not depend on the knobs")
        XCTAssertEqual(s.faithfulness?.random, Self.report().random)
        // A new position is a new question: everything is pending.
        s = press(s, [.char("[")]).0
        XCTAssertNil(s.faithfulness)
    }

    // MARK: Render

    func testPanesShowFigures() {
        let s = reduce(Fixture.ready(), .faithfulnessFinished(Self.report())).0
        let frame = render(s, width: 120, height: 24)
        assertSnapshot(frame, "faithfulness-120x24")
        XCTAssertTrue(frame.lines[4].contains("del 0.71"), frame.lines[4])
        XCTAssertTrue(frame.lines[4].contains("del 0.52"), frame.lines[4])
    }

    func testFiguresFitNarrowPanesAndSayWhyUndefined() {
        var report = Self.report()
        report.gim = Self.figures(nil, nil, nil)
        let s = reduce(Fixture.ready(), .faithfulnessFinished(report)).0
        let frame = render(s, width: 50, height: 30)
        assertSnapshot(frame, "faithfulness-narrow-50x30")
        XCTAssertTrue(frame.lines.contains { $0.contains("undefined") })
        for line in frame.lines { XCTAssertEqual(TextWidth.of(line), 50, line) }
    }

    func testPendingFiguresShowAnEllipsis() {
        let frame = render(Fixture.ready(), width: 120, height: 24)
        XCTAssertTrue(frame.lines[4].contains("faithfulness …"), frame.lines[4])
    }

    func testDeletionCurvePlot() {
        var s = reduce(Fixture.ready(), .faithfulnessFinished(Self.report())).0
        s.showPlot = true
        let frame = render(s, width: 100, height: 24)
        assertSnapshot(frame, "plot-100x24")
        XCTAssertTrue(frame.lines.contains { $0.contains("deletion curves") })
        XCTAssertTrue(frame.lines.contains { $0.contains("random") })
        XCTAssertTrue(frame.lines.contains { $0.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) } })
        // Too small for the plot: it stays hidden.
        let small = render(s, width: 40, height: 12)
        XCTAssertFalse(small.lines.contains { $0.contains("deletion curves") })
    }

    /// Δ ≤ 1 on every pane: no normalised curve, so the plot draws the raw target logit as the
    /// top tokens are replaced (the paper's comprehensiveness curve) instead of a blank box.
    func testRawLogitCurvesWhenTheNormalisedOnesAreUndefined() {
        func undefined(_ curve: [Double]) -> PaneFaithfulness {
            var f = Self.figures(nil, nil, nil)
            f.comprehensivenessCurve = curve
            return f
        }
        var s = reduce(Fixture.ready(), .faithfulnessFinished(FaithfulnessReport(
            requestID: 1, gim: undefined([3.5, 1.0, -0.5, -1.2]), plain: undefined([3.5, 3.1, 2.0, -1.2]),
            random: Self.figures(nil, nil, nil)))).0
        s.showPlot = true
        let frame = render(s, width: 100, height: 24)
        XCTAssertTrue(frame.lines.contains { $0.contains("target logit vs top tokens replaced") }, frame.lines.joined(separator: "\n"))
        XCTAssertFalse(frame.lines.contains { $0.contains("curves undefined") })
        XCTAssertTrue(frame.lines.contains { $0.contains("3.50┤") } && frame.lines.contains { $0.contains("−1.20┤") })
        XCTAssertTrue(frame.lines.contains { $0.contains("3 replaced") })
        XCTAssertTrue(frame.lines.contains { $0.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) } })
        // Without the raw curves either (e.g. an older report), the box says why it is empty.
        s = reduce(Fixture.ready(), .faithfulnessFinished(FaithfulnessReport(
            requestID: 1, gim: Self.figures(nil, nil, nil), plain: Self.figures(nil, nil, nil), random: nil))).0
        s.showPlot = true
        XCTAssertTrue(render(s, width: 100, height: 24).lines.contains { $0.contains("curves undefined: Δ 0.42 ≤ 1") })
    }

    // MARK: Worker on the real model

    func testFaithfulnessArrivesAfterTheAttribution() throws {
        let b = try WorkerTests.sharedBundle()
        let worker = AttributionWorker(modelPath: "unused", loader: { _ in b })
        worker.start()
        defer { worker.stop() }
        XCTAssertEqual(worker.waitForEvents(timeout: 30).first, Event.modelLoaded(name: b.name))
        worker.submit(AnalysisRequest(id: 1, prompt: "The capital of France is"))
        var events: [Event] = []
        let deadline = Date().addingTimeInterval(120)
        // Figures come pane by pane; the last report has every pane's.
        func complete(_ e: Event) -> Bool {
            if case .faithfulnessFinished(let f) = e { return f.failure != nil || f.panes.allSatisfy { $0 != nil } }
            return false
        }
        while !events.contains(where: complete) && Date() < deadline {
            events += worker.waitForEvents(timeout: 10).withoutChatAvailability
        }
        guard events.count >= 2, case .analysisFinished(let r) = events[0], let last = events.last(where: complete),
              case .faithfulnessFinished(let f) = last else { return XCTFail("expected result then figures, got \(events)") }
        XCTAssertNotNil(f.gim?.comprehensiveness, "the paper's figures for every pane")
        XCTAssertNotNil(f.plain?.sufficiency)
        XCTAssertEqual(f.requestID, r.requestID)
        XCTAssertNil(f.failure)
        XCTAssertNotNil(f.gim?.deletionArea)
        XCTAssertNotNil(f.plain?.spearman, "leave-one-out runs for a short prompt")
        XCTAssertNotNil(f.random)
        XCTAssertEqual(f.gim?.deletionCurve?.first ?? 0, 1, accuracy: 1e-6)

        // A knob change: GIM's figures change, the plain gradient's stay.
        worker.submit(AnalysisRequest(id: 2, prompt: "The capital of France is", settings: .plain))
        events = []
        while !events.contains(where: complete) && Date() < deadline {
            events += worker.waitForEvents(timeout: 10).withoutChatAvailability
        }
        guard case .faithfulnessFinished(let g)? = events.last else { return XCTFail("no figures after the knob change: \(events)") }
        XCTAssertEqual(g.requestID, 2)
        XCTAssertEqual(g.plain, f.plain)
        XCTAssertEqual(g.gim?.deletionArea ?? .nan, f.plain?.deletionArea ?? 0, accuracy: 1e-9, "all knobs off = plain")
    }
}
