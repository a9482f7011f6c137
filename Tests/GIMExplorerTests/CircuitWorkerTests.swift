import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// The circuit view's engine side on the real default model (skipped when it is absent): the
/// worker's scores and patching are the engine's `CircuitSession` numbers, a knob change runs no
/// forward and keeps the plain scores and the patching, misaligned prompts get a clear message.
final class CircuitWorkerTests: XCTestCase {
    let clean = "When Mary and John went to the store, John gave a drink to"
    let corrupt = "When Mary and John went to the store, Mary gave a drink to"

    /// The default model, shared with WorkerTests (loaded once).
    func bundle() throws -> ModelBundle { try WorkerTests.sharedBundle() }

    /// max |a − b| / max(max |b|, tiny) over every component.
    func relativeError(_ a: ComponentMap, _ b: ComponentMap) -> Float {
        var worst: Float = 0, scale: Float = 1e-12
        for k in ComponentKind.allCases {
            for (x, y) in zip(a.values(k), b.values(k)) {
                worst = max(worst, abs(x - y))
                scale = max(scale, abs(y))
            }
        }
        return worst / scale
    }

    func testScoresAndPatchingAreTheEngines() throws {
        let b = try bundle()
        let engine = CircuitEngine(analysis: try AnalysisEngine(bundle: b))
        let request = CircuitRequest(id: 1, prompt: clean, counterfactual: .prompt(corrupt), target: .text(" Mary"), foil: .text(" John"))
        let r1 = try engine.scores(request)
        XCTAssertEqual(r1.targetText, " Mary")
        XCTAssertEqual(r1.foilText, " John")
        XCTAssertEqual(r1.layers, 30)
        XCTAssertEqual(r1.heads, 9)
        XCTAssertEqual(r1.corruptTokenTexts?.count, r1.tokenTexts.count)
        XCTAssertNotNil(r1.forwardMilliseconds)
        XCTAssertNotNil(r1.plainMilliseconds)

        let direct = try CircuitSession(clean: ExplainSession(model: b.model, tokenIDs: b.encode(clean)),
                                        counterfactual: .prompt(tokenIDs: b.encode(corrupt)),
                                        targetTokenID: r1.question.targetID, foilTokenID: r1.question.foilID)
            .analyze(settings: .gim, patching: true)
        XCTAssertLessThanOrEqual(relativeError(r1.gim, direct.gim), 1e-5)
        XCTAssertLessThanOrEqual(relativeError(r1.plain, direct.plain), 1e-5)
        XCTAssertEqual(r1.cleanMetric, direct.cleanMetric, accuracy: 1e-4)
        XCTAssertEqual(r1.corruptMetric ?? .nan, direct.corruptMetric ?? 0, accuracy: 1e-4)

        let p1 = try XCTUnwrap(engine.patching(for: r1))
        XCTAssertLessThanOrEqual(relativeError(p1.effects!, direct.patching!.effects), 1e-5)
        XCTAssertEqual(p1.runs, 30 * (9 + 2 + r1.tokenTexts.count))

        // A knob change: no forward, the plain scores and the patching are kept.
        var knobs = request
        knobs.id = 2
        knobs.settings = .plain
        let r2 = try engine.scores(knobs)
        XCTAssertNil(r2.forwardMilliseconds)
        XCTAssertNil(r2.plainMilliseconds)
        XCTAssertEqual(r2.question, r1.question)
        XCTAssertEqual(r2.plain, r1.plain)
        XCTAssertEqual(r2.gim, r2.plain, "all knobs off is the plain gradient")
        let start = Date()
        let p2 = try XCTUnwrap(engine.patching(for: r2))
        XCTAssertEqual(p2.effects, p1.effects)
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5, "memoized")

        // A corrupted prompt of another length: a clear message.
        XCTAssertThrowsError(try engine.scores(CircuitRequest(id: 3, prompt: clean, counterfactual: .prompt("When Mary went to the store")))) {
            XCTAssertTrue("\($0)".contains("must align token by token"), "\($0)")
        }
        // The mean over positions: no corrupted run.
        let mean = try engine.scores(CircuitRequest(id: 4, prompt: clean, counterfactual: .meanOverPositions))
        XCTAssertNil(mean.corruptMetric)
        XCTAssertEqual(mean.question.counterfactual, .meanOverPositions)
        XCTAssertNil(try engine.patching(for: r1), "the engine moved on: the old question's patching is not computed")
        // Too long for the view.
        XCTAssertThrowsError(try engine.scores(CircuitRequest(id: 5, prompt: String(repeating: "word ", count: 200), counterfactual: .meanOverPositions))) {
            XCTAssertTrue("\($0)".contains("at most \(CircuitEngine.maxTokens)"), "\($0)")
        }
    }

    func testWorkerPostsScoresThenPatchingThenFigures() throws {
        let b = try bundle()
        let worker = AttributionWorker(modelPath: "unused", loader: { _ in b })
        worker.start()
        defer { worker.stop(wait: 10) }
        XCTAssertEqual(worker.waitForEvents(timeout: 30).first, .modelLoaded(name: b.name))
        // What the reducer sends when the view is open: both requests at once (a short prompt:
        // the patching sweep is 30 × (9 + 2 + 5) runs, minutes in a debug build on a busy machine).
        let short = "The capital of France is"
        worker.submit(AnalysisRequest(id: 1, prompt: short))
        worker.submitCircuit(CircuitRequest(id: 1, prompt: short, counterfactual: .meanOverPositions))
        var events: [Event] = []
        let deadline = Date().addingTimeInterval(900)
        func has(_ p: (Event) -> Bool) -> Bool { events.contains(where: p) }
        let isFigures: (Event) -> Bool = { if case .faithfulnessFinished = $0 { true } else { false } }
        let isPatched: (Event) -> Bool = { if case .circuit(.patched) = $0 { true } else { false } }
        while !(has(isFigures) && has(isPatched)) && Date() < deadline {
            events += worker.waitForEvents(timeout: 10).withoutChatAvailability
        }
        let kinds = events.map { e -> String in
            switch e {
            case .analysisFinished: "result"
            case .circuit(.finished): "scores"
            case .circuit(.patched): "patching"
            case .faithfulnessFinished: "figures"
            default: "\(e)"
            }
        }
        XCTAssertEqual(kinds, ["result", "scores", "patching", "figures"])
        guard case .circuit(.finished(let r))? = events.first(where: { if case .circuit(.finished) = $0 { true } else { false } }),
              case .circuit(.patched(let p))? = events.first(where: isPatched) else { return XCTFail("\(kinds)") }
        XCTAssertEqual(p.question, r.question)
        XCTAssertNil(p.failure)
        XCTAssertNotNil(p.effects)

        // A misaligned corrupted prompt (8 tokens against 5): a failure event, no patching.
        worker.submitCircuit(CircuitRequest(id: 2, prompt: short, counterfactual: .prompt("Mary gave a drink to John at noon")))
        events = worker.waitForEvents(timeout: 60).withoutChatAvailability
        guard case .circuit(.failed(2, let message))? = events.first else { return XCTFail("\(events)") }
        XCTAssertTrue(message.contains("must align token by token"), message)
    }
}
