import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// The engine side of the explorer on the real default model (skipped when it is absent).
final class WorkerTests: XCTestCase {
    static let path = Fixture.repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    /// Loaded once for the whole test class (a static let runs once).
    static let cachedBundle = Result { try ModelBundle.load(path: path) }

    func bundle() throws -> ModelBundle { try Self.sharedBundle() }

    static func sharedBundle() throws -> ModelBundle {
        guard FileManager.default.fileExists(atPath: path) else {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("the default model is missing in CI") }
            throw XCTSkip("the default model is missing: run models/fetch.sh")
        }
        return try cachedBundle.get()
    }

    let prompt = "The capital of France is"

    func testAKnobChangeReusesTheForwardPassAndThePlainGradient() throws {
        let engine = try AnalysisEngine(bundle: bundle())
        let first = try engine.analyze(AnalysisRequest(id: 1, prompt: prompt, settings: .gim014))
        XCTAssertEqual(first.targetID, 7042)
        XCTAssertEqual(first.targetText, " Paris")
        XCTAssertEqual(first.predictions.first?.id, 7042)
        XCTAssertNotNil(first.forwardMilliseconds)
        XCTAssertNotNil(first.panes[1].milliseconds)
        // DESIGN.md's reference numbers for this prompt.
        for (got, want) in zip(first.plain, [2.21, 8.57, 0.89, -4.02, -2.73] as [Float]) { XCTAssertEqual(got, want, accuracy: 0.05) }
        for (got, want) in zip(first.gim, [0.51, 6.66, -0.75, 0.30, 17.43] as [Float]) { XCTAssertEqual(got, want, accuracy: 0.1) }

        let second = try engine.analyze(AnalysisRequest(id: 2, prompt: prompt, settings: .gim))
        XCTAssertNil(second.forwardMilliseconds, "a knob change keeps the forward pass")
        XCTAssertNil(second.panes[1].milliseconds, "a knob change keeps the plain gradient")
        XCTAssertEqual(second.plain, first.plain)
        XCTAssertNotEqual(second.gim, first.gim)

        let moved = try engine.analyze(AnalysisRequest(id: 3, prompt: prompt, targetPosition: 2, settings: .gim))
        XCTAssertNil(moved.forwardMilliseconds, "a new position keeps the forward pass")
        XCTAssertNotNil(moved.panes[1].milliseconds)
        XCTAssertEqual(moved.targetPosition, 2)
        XCTAssertEqual(moved.gim[3], 0)
        XCTAssertEqual(moved.gim[4], 0)

        let other = try engine.analyze(AnalysisRequest(id: 4, prompt: "Hello", settings: .gim))
        XCTAssertNotNil(other.forwardMilliseconds, "a new prompt runs the forward")
    }

    func testAStaleRequestIsAbandonedAndTheForwardKept() throws {
        let engine = try AnalysisEngine(bundle: bundle())
        let always = Cancellation { true }
        // A new prompt arrived while the forward ran: nothing is kept.
        XCTAssertThrowsError(try engine.analyze(AnalysisRequest(id: 1, prompt: prompt), newPrompt: always)) {
            XCTAssertTrue($0 is CancellationError, "\($0)")
        }
        // A knob change arrived while the backward ran: the forward is kept for the next request.
        XCTAssertThrowsError(try engine.analyze(AnalysisRequest(id: 2, prompt: prompt), newRequest: always)) {
            XCTAssertTrue($0 is CancellationError, "\($0)")
        }
        let next = try engine.analyze(AnalysisRequest(id: 3, prompt: prompt, settings: .gim014))
        XCTAssertNil(next.forwardMilliseconds, "the forward of the abandoned request is reused")
        XCTAssertEqual(next.targetID, 7042)
    }

    func testTargetsAndFoilsByTextAndID() throws {
        let engine = try AnalysisEngine(bundle: bundle())
        let london = try engine.analyze(AnalysisRequest(id: 1, prompt: prompt, target: .text(" London"), foil: .argmax))
        XCTAssertEqual(london.targetText, " London")
        XCTAssertEqual(london.foilID, 7042)
        XCTAssertEqual(london.targetLogit, london.predictions.first { $0.id == london.targetID }.map { $0.logit - london.predictions[0].logit } ?? london.targetLogit, accuracy: 1e-3)
        let multi = try engine.analyze(AnalysisRequest(id: 2, prompt: prompt, target: .text(" Paris is")))
        XCTAssertEqual(multi.targetID, 7042)
        XCTAssertTrue(multi.notes.first?.contains("using the first") ?? false)
        XCTAssertThrowsError(try engine.analyze(AnalysisRequest(id: 3, prompt: prompt, target: .id(99_999_999)))) {
            XCTAssertTrue("\($0)".contains("outside the vocabulary"))
        }
        let plainOnly = try engine.analyze(AnalysisRequest(id: 4, prompt: prompt, target: .id(7042), settings: .plain))
        XCTAssertEqual(plainOnly.gim, plainOnly.plain, "all knobs off is the plain gradient")
    }

    func testAPositionPastTheEndMeansTheLast() throws {
        let engine = try AnalysisEngine(bundle: bundle())
        let r = try engine.analyze(AnalysisRequest(id: 1, prompt: prompt, targetPosition: 99))
        XCTAssertEqual(r.targetPosition, 4)
    }

    func testWorkerCoalescesRequestsAndReportsErrors() throws {
        let b = try bundle()
        let worker = AttributionWorker(modelPath: "unused", loader: { _ in b })
        worker.start()
        defer { worker.stop() }
        var events = worker.waitForEvents(timeout: 30)
        XCTAssertEqual(events.first, .modelLoaded(name: b.name))
        for id in 1...6 {
            worker.submit(AnalysisRequest(id: id, prompt: prompt, settings: GIMSettings(softmaxTemperature: Float(id))))
        }
        var finished: [Int] = []
        let deadline = Date().addingTimeInterval(60)
        while !finished.contains(6) && Date() < deadline {
            events = worker.waitForEvents(timeout: 5)
            for case .analysisFinished(let r) in events { finished.append(r.requestID) }
        }
        XCTAssertEqual(finished.last, 6, "the newest request is always answered")
        XCTAssertLessThan(finished.count, 6, "requests waiting behind a running one are coalesced")

        // Longer than the model's context (8192 tokens): refused with a message, not computed.
        worker.submit(AnalysisRequest(id: 7, prompt: String(repeating: "word ", count: 9000)))
        // Faithfulness figures of request 6 may still arrive first.
        events = []
        while !events.contains(where: { if case .faithfulnessFinished = $0 { false } else { true } }) && Date() < deadline + 30 {
            events += worker.waitForEvents(timeout: 30).filter { if case .faithfulnessFinished = $0 { false } else { true } }
        }
        guard case .analysisFailed(7, let message)? = events.first else { return XCTFail("expected a failure, got \(events)") }
        XCTAssertTrue(message.contains("context holds"), message)
    }

    func testAMissingModelIsReported() {
        let worker = AttributionWorker(modelPath: "/nonexistent/model.gguf")
        worker.start()
        let events = worker.waitForEvents(timeout: 10)
        guard case .modelFailed(let message)? = events.first else { return XCTFail("\(events)") }
        XCTAssertTrue(message.contains("not found"), message)
    }
}
