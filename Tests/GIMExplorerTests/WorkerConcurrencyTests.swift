import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// The worker's ownership and lock rules under load, on a tiny model so that ThreadSanitizer
/// (`scripts/sanitize.sh tsan`) can watch thousands of hand-overs in seconds:
/// - `pending`, `events`, `generation`, `stopping` and `finished` are touched only under the
///   worker's condition lock; `submit`, `takeEvents`, `waitForEvents` and `stop` may be called from
///   any thread;
/// - the `AnalysisEngine` (its `ExplainSession`, caches and faithfulness evaluator) is owned by the
///   worker thread alone; results leave it as values inside events.
final class WorkerConcurrencyTests: XCTestCase {
    static func tinyBundle() throws -> ModelBundle {
        try ModelBundle.load(path: Fixture.repoRoot.appendingPathComponent("Tests/GIMEngineTests/Fixtures/families/llama3/model.gguf").path)
    }

    static let prompts = ["The capital of France is", "a b c d e f", "Hello", "one two three four five six seven eight",
                          String(repeating: "long ", count: 400)]  // past the tiny model's context: a failure event

    static func request(_ id: Int, _ rng: inout SystemRandomNumberGenerator) -> AnalysisRequest {
        let prompt = prompts[Int.random(in: 0..<prompts.count, using: &rng)]
        let settings = GIMSettings(freezeNorm: Bool.random(using: &rng), softmaxTemperature: [0.5, 1, 2, 8].randomElement(using: &rng)!,
                                   qScale: [0, 0.25, 1].randomElement(using: &rng)!)
        let position: Int? = Bool.random(using: &rng) ? nil : Int.random(in: 0..<6, using: &rng)
        let target: TokenChoice = [.argmax, .id(3), .text("e"), .id(1 << 30)].randomElement(using: &rng)!
        let foil: TokenChoice? = [nil, nil, .argmax, .id(5)].randomElement(using: &rng)!
        return AnalysisRequest(id: id, prompt: prompt, targetPosition: position, target: target, foil: foil, settings: settings, topK: 5)
    }

    /// The UI loop's pattern: one thread submits (ids increasing, faster than they are answered),
    /// another collects events with `takeEvents` and `waitForEvents` at the same time.
    func testCoalescedRequestsWhileAnotherThreadCollects() throws {
        let bundle = try Self.tinyBundle()
        let worker = AttributionWorker(modelPath: "tiny", loader: { _ in bundle })
        worker.start()
        let log = EventLog()
        let reader = Thread {
            var turn = 0
            while !log.isDone {
                turn += 1
                log.append(turn % 2 == 0 ? worker.takeEvents() : worker.waitForEvents(timeout: 0.005))
            }
            log.append(worker.takeEvents())
            log.readerEnded()
        }
        reader.start()

        let last = 301
        var rng = SystemRandomNumberGenerator()
        for id in 1..<last {
            worker.submit(Self.request(id, &rng))
            if id % 7 == 0 { usleep(UInt32.random(in: 0...2000)) }
        }
        // A question that has an answer, whose faithfulness figures are then awaited too.
        worker.submit(AnalysisRequest(id: last, prompt: "The capital of France is"))
        let deadline = Date().addingTimeInterval(120)
        while !log.hasFigures(last) && Date() < deadline { usleep(10_000) }
        log.finish()
        worker.stop(wait: 30)
        XCTAssertTrue(log.waitForReader(timeout: 10), "the reader thread ended")

        let events = log.all
        XCTAssertEqual(events.first, .modelLoaded(name: bundle.name))
        let answered = events.compactMap(Self.answerID)
        XCTAssertEqual(answered.last, last, "the newest request is always answered")
        XCTAssertEqual(answered, answered.sorted(), "answers come in request order")
        XCTAssertEqual(Set(answered).count, answered.count, "no request is answered twice")
        XCTAssertTrue(log.hasFigures(last), "figures of the last request arrive")
        var seen = Set<Int>()
        for event in events {
            if let id = Self.answerID(event) { seen.insert(id) }
            if case .faithfulnessFinished(let report) = event {
                XCTAssertTrue(seen.contains(report.requestID), "figures of \(report.requestID) come after its result")
            }
        }
    }

    /// Two threads submitting at once (ids from a shared counter), then `stop` from a third while
    /// the worker computes; calls after `stop` are harmless.
    func testTwoSubmittersThenStopWhileBusy() throws {
        let bundle = try Self.tinyBundle()
        let worker = AttributionWorker(modelPath: "tiny", loader: { _ in bundle })
        worker.start()
        XCTAssertEqual(worker.waitForEvents(timeout: 30).first, .modelLoaded(name: bundle.name))
        let ids = Counter()
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            Thread {
                var rng = SystemRandomNumberGenerator()
                for _ in 0..<150 {
                    worker.submit(Self.request(ids.next(), &rng))
                    if Bool.random(using: &rng) { usleep(200) }
                }
                group.leave()
            }.start()
        }
        var events: [Event] = []
        while group.wait(timeout: .now() + .milliseconds(5)) == .timedOut { events += worker.takeEvents() }
        let final = ids.next()
        worker.submit(AnalysisRequest(id: final, prompt: "The capital of France is"))
        let deadline = Date().addingTimeInterval(60)
        while !events.contains(where: { Self.answerID($0) == final }) && Date() < deadline {
            events += worker.waitForEvents(timeout: 1)
        }
        let answered = events.compactMap(Self.answerID)
        XCTAssertTrue(answered.contains(final), "the last request is answered")
        XCTAssertEqual(Set(answered).count, answered.count, "no request is answered twice")

        // Stop while it works: from another thread, racing a submit and a reader.
        worker.submit(AnalysisRequest(id: final + 1, prompt: "one two three four five six seven eight"))
        let stopped = DispatchSemaphore(value: 0)
        let started = Date()
        Thread {
            worker.stop(wait: 30)
            stopped.signal()
        }.start()
        _ = worker.takeEvents()
        XCTAssertEqual(stopped.wait(timeout: .now() + 40), .success)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "stop returned because the thread ended, not at its timeout")
        worker.submit(AnalysisRequest(id: final + 2, prompt: "Hello"))
        worker.stop(wait: 1)
        XCTAssertFalse(worker.waitForEvents(timeout: 0.2).contains { Self.answerID($0) == final + 2 },
                       "nothing is computed after stop")
    }

    static func answerID(_ event: Event) -> Int? {
        switch event {
        case .analysisFinished(let r): return r.requestID
        case .analysisFailed(let id, _): return id
        default: return nil
        }
    }
}

/// Events collected by the reader thread; guarded by `lock`.
private final class EventLog: @unchecked Sendable {
    private let lock = NSCondition()
    private var events: [Event] = []
    private var done = false
    private var readerDone = false

    var isDone: Bool { lock.withLock { done } }
    var all: [Event] { lock.withLock { events } }
    func append(_ new: [Event]) { lock.withLock { events += new } }
    func hasFigures(_ id: Int) -> Bool {
        lock.withLock { events.contains { if case .faithfulnessFinished(let r) = $0 { r.requestID == id } else { false } } }
    }
    func finish() { lock.withLock { done = true } }
    func readerEnded() { lock.withLock { readerDone = true; lock.broadcast() } }
    func waitForReader(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        return lock.withLock {
            while !readerDone && lock.wait(until: deadline) {}
            return readerDone
        }
    }
}

/// Request ids shared by several submitting threads; guarded by `lock`.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}
