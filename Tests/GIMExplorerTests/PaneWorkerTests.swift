import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// The worker side of the panes on the real default model (skipped when it is absent): every
/// pane is the engine's method, a change recomputes only the panes whose method changed, and
/// every pane gets the paper's figures.
final class PaneWorkerTests: XCTestCase {
    let prompt = "The capital of France is"
    let ig8 = AttributionMethod(name: "integrated-gradients", kind: .integratedGradients, settings: .plain, steps: 8)

    func bundle() throws -> ModelBundle { try WorkerTests.sharedBundle() }

    func testEachPaneIsItsMethodAndOnlyChangedPanesRecompute() throws {
        let bundle = try self.bundle()
        let engine = try AnalysisEngine(bundle: bundle)
        let methods: [AttributionMethod] = [.gim, .attnLRP, ig8, .occlusion]
        let first = try engine.analyze(AnalysisRequest(id: 1, prompt: prompt, methods: methods))
        XCTAssertEqual(first.panes.map(\.method), methods)
        for p in first.panes { XCTAssertNotNil(p.milliseconds, p.method.name) }
        // Each pane equals the engine's own attribution of that method.
        let session = try ExplainSession(model: bundle.model, tokenIDs: first.tokenIDs)
        let baseline = try bundle.inferredBaseline()
        for p in first.panes {
            let want = try session.attribute(method: p.method, targetTokenID: first.targetID, baselineTokenID: baseline)
            for (a, b) in zip(p.values, want.values) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), p.method.name) }
        }
        // Occlusion is exact leave-one-out: the last token's effect is the whole logit change.
        XCTAssertNotEqual(first.panes[3].values, first.panes[0].values)

        // GIM's temperature changes: only pane 1 is computed again.
        var changed = methods
        changed[0].settings.softmaxTemperature = 1.5
        let second = try engine.analyze(AnalysisRequest(id: 2, prompt: prompt, methods: changed))
        XCTAssertNil(second.forwardMilliseconds)
        XCTAssertNotNil(second.panes[0].milliseconds)
        for p in second.panes.dropFirst() { XCTAssertNil(p.milliseconds, "\(p.method.name) was kept") }
        XCTAssertEqual(second.panes[1].values, first.panes[1].values)
        XCTAssertNotEqual(second.panes[0].values, first.panes[0].values)

        // IG's steps change: only IG.
        changed[2].steps = 16
        let third = try engine.analyze(AnalysisRequest(id: 3, prompt: prompt, methods: changed))
        XCTAssertEqual(third.panes.map { $0.milliseconds != nil }, [false, false, true, false])
        XCTAssertNotEqual(third.panes[2].values, first.panes[2].values, "16 steps are not 8")
        XCTAssertEqual(third.panes[0].values, second.panes[0].values)

        // A pane returns to a method seen before on this question: kept, not recomputed.
        let back = try engine.analyze(AnalysisRequest(id: 4, prompt: prompt, methods: methods))
        XCTAssertTrue(back.panes.allSatisfy { $0.milliseconds == nil })
        XCTAssertEqual(back.panes.map(\.values), first.panes.map(\.values))
    }

    func testEveryPaneGetsThePaperFiguresAfterTheAttributions() throws {
        let b = try bundle()
        let worker = AttributionWorker(modelPath: "unused", loader: { _ in b })
        worker.start()
        defer { worker.stop() }
        XCTAssertEqual(worker.waitForEvents(timeout: 30).first, Event.modelLoaded(name: b.name))
        let methods: [AttributionMethod] = [.gim, .plain, .attnLRP]
        worker.submit(AnalysisRequest(id: 1, prompt: prompt, methods: methods))
        var events: [Event] = []
        func complete(_ e: Event) -> Bool {
            if case .faithfulnessFinished(let f) = e { return f.panes.count == 3 && f.panes.allSatisfy { $0 != nil } }
            return false
        }
        let deadline = Date().addingTimeInterval(180)
        while !events.contains(where: complete) && Date() < deadline {
            events += worker.waitForEvents(timeout: 10).withoutChatAvailability
        }
        guard case .analysisFinished(let r)? = events.first, let last = events.last, case .faithfulnessFinished(let f) = last
        else { return XCTFail("expected the result, then figures: \(events)") }
        XCTAssertEqual(f.requestID, r.requestID)
        // Figures come pane by pane: the first report has only the first pane.
        if case .faithfulnessFinished(let early) = events[1] {
            XCTAssertNotNil(early[pane: 0])
            XCTAssertNil(early[pane: 2])
        }
        for i in 0..<3 {
            let p = try XCTUnwrap(f[pane: i])
            XCTAssertNotNil(p.comprehensiveness, "f(x) > 0 for ' Paris'")
            XCTAssertNotNil(p.sufficiency)
            XCTAssertNotNil(p.comprehensivenessLogits)
            XCTAssertEqual(p.comprehensiveness! * Double(r.targetLogit), p.comprehensivenessLogits!,
                           accuracy: 1e-2 * max(1, abs(p.comprehensivenessLogits!)))
        }
        XCTAssertNotNil(f.random)

        // The same figures as the engine's evaluator computes directly.
        let e = try FaithfulnessEvaluator(model: b.model, tokenIDs: r.tokenIDs, targetTokenID: r.targetID,
                                          baselineTokenID: try b.inferredBaseline())
        let paper = try e.paperScores(r.panes.map(\.values))
        for i in 0..<3 {
            // Other batch shapes (the worker stacks at most 128 rows): equal up to summation order.
            XCTAssertEqual(f[pane: i]!.comprehensivenessLogits!, paper[i].comprehensivenessLogits, accuracy: 1e-3)
            XCTAssertEqual(f[pane: i]!.sufficiencyLogits!, paper[i].sufficiencyLogits, accuracy: 1e-3)
        }
    }
}
