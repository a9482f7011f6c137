import Foundation
import XCTest
@testable import GIMEngine

/// The engine's threading rules, exercised so that ThreadSanitizer (`scripts/sanitize.sh tsan`)
/// sees every one of them; under a normal build they check the results only.
///
/// - The fork-join pool (`CKernels/thread_pool.c` through `Parallel`) is one global job slot: a
///   second thread calling it while a job runs, or a part calling it again, runs every part
///   itself, in order. Resizing happens between jobs, never during one.
/// - A model is read-only after loading: sessions on different threads may share it; each
///   `ExplainSession` belongs to one thread at a time.
/// - The tokenizer's piece cache is guarded by its lock; `FaithfulnessEvaluator` serialises its
///   calls with its lock.
final class ConcurrencyTests: XCTestCase {
    /// Runs `body(0..<n)` on n threads started together; returns when all have finished.
    func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for i in 0..<n {
            done.enter()
            let t = Thread {
                start.wait()
                body(i)
                done.leave()
            }
            t.stackSize = 16 << 20
            t.start()
        }
        for _ in 0..<n { start.signal() }
        done.wait()
    }

    func testThePoolFromTwoThreadsAtOnceAndNested() {
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        let failures = Failures()
        // Three sizes, resized between jobs (retired workers sleep, grown ones wake).
        for size in [3, 1, 2] {
            Parallel.setThreads(size)
            onThreads(2) { thread in
                let count = 4099
                var out = [Int](repeating: -1, count: count)
                var visits = [Int](repeating: 0, count: 64)
                for round in 0..<200 {
                    out.withUnsafeMutableBufferPointer { o in
                        visits.withUnsafeMutableBufferPointer { v in
                            // Parts write disjoint memory: each its own range and its own counter.
                            Parallel.forEachRange(count, alignment: 8) { part, range in
                                v[part] += 1
                                for i in range { o[i] = i &* 31 &+ round &+ thread }
                            }
                        }
                    }
                    for i in 0..<count where out[i] != i &* 31 &+ round &+ thread {
                        failures.add("thread \(thread) round \(round) size \(size): element \(i) is \(out[i])")
                        return
                    }
                }
                var nested = [Int](repeating: 0, count: 64 * 64)
                nested.withUnsafeMutableBufferPointer { n in
                    Parallel.forEachPart { outer, parts in
                        // From inside a part the pool is busy: the inner job runs inline, in order.
                        Parallel.forEachPart { inner, innerParts in
                            n[outer * 64 + inner] += innerParts == parts ? 1 : 1000
                        }
                    }
                }
                let parts = Parallel.threads
                for outer in 0..<parts {
                    for inner in 0..<parts where nested[outer * 64 + inner] != 1 {
                        failures.add("nested part \(outer)/\(inner) ran \(nested[outer * 64 + inner]) times")
                    }
                }
                for (part, n) in visits.enumerated() where n > 200 {
                    failures.add("thread \(thread) size \(size): part \(part) ran \(n) times in 200 jobs")
                }
            }
        }
        failures.check()
    }

    func testOneModelSharedBySessionsOnTwoThreads() throws {
        let bundle = try ModelBundle.load(path: Self.tinyModel("llama3"))
        let baseline = try bundle.inferredBaseline()
        let prompts = ["The capital of France is", "one two three four five six seven", "a b c"]
        let settings: [GIMSettings] = [.gim, .plain, .gim014, GIMSettings(softmaxTemperature: 5)]
        let run: @Sendable (String) throws -> [[Float]] = { prompt in
            let session = try ExplainSession(model: bundle.model, tokenIDs: bundle.encode(prompt))
            return try settings.map {
                try session.attribute(targetPosition: -1, baselineTokenID: baseline, settings: $0).values
            }
        }
        let expected = try prompts.map(run)
        let failures = Failures()
        onThreads(3) { thread in
            for round in 0..<4 {
                let k = (thread + round) % prompts.count
                do {
                    let got = try run(prompts[k])
                    for (g, e) in zip(got, expected[k]) where !zip(g, e).allSatisfy({ abs($0 - $1) <= 1e-4 * max(1, abs($1)) }) {
                        failures.add("thread \(thread) prompt \(k): \(g) ≠ \(e)")
                    }
                } catch {
                    failures.add("thread \(thread): \(error)")
                }
            }
        }
        failures.check()
    }

    func testTheTokenizerCacheFromSeveralThreads() throws {
        let bundle = try ModelBundle.load(path: Self.tinyModel("llama3"))
        let texts = (0..<40).map { "word\($0) the capital of France is Paris \($0 * 7919) café 日本 \($0)" }
        let expected = texts.map { bundle.tokenizer.encode($0) }
        let failures = Failures()
        onThreads(4) { thread in
            for round in 0..<30 {
                let i = (thread * 13 + round * 7) % texts.count
                if bundle.tokenizer.encode(texts[i]) != expected[i] { failures.add("thread \(thread): text \(i) differs") }
            }
        }
        failures.check()
    }

    func testTheFaithfulnessEvaluatorSerialisesCallsFromTwoThreads() throws {
        let bundle = try ModelBundle.load(path: Self.tinyModel("llama3"))
        let ids = bundle.encode("The capital of France is in Europe")
        let session = try ExplainSession(model: bundle.model, tokenIDs: ids)
        let baseline = try bundle.inferredBaseline()
        let a = try session.attribute(baselineTokenID: baseline, settings: .gim)
        let b = try session.attribute(baselineTokenID: baseline, settings: .plain)
        let evaluator = try FaithfulnessEvaluator(model: bundle.model, tokenIDs: ids, targetTokenID: a.targetTokenID,
                                                  baselineTokenID: baseline, options: FaithfulnessOptions(batchRows: 16))
        let fresh = try FaithfulnessEvaluator(model: bundle.model, tokenIDs: ids, targetTokenID: a.targetTokenID,
                                              baselineTokenID: baseline, options: FaithfulnessOptions(batchRows: 16))
        let want = try [a.values, b.values].map { try fresh.score($0).deletionLogits }
        let failures = Failures()
        onThreads(3) { thread in
            do {
                for round in 0..<3 {
                    if thread == 2 {
                        _ = (evaluator.forwardCount, evaluator.forwardSeconds)  // read while others score
                        _ = try evaluator.randomFloor()
                        continue
                    }
                    let k = (thread + round) % 2
                    let got = try evaluator.score(k == 0 ? a.values : b.values).deletionLogits
                    if abs(got - want[k]) > 1e-9 * max(1, abs(want[k])) { failures.add("thread \(thread): \(got) ≠ \(want[k])") }
                }
            } catch {
                failures.add("thread \(thread): \(error)")
            }
        }
        failures.check()
    }

    static func tinyModel(_ family: String) -> String {
        Fixtures.repoRoot.appendingPathComponent("Tests/GIMEngineTests/Fixtures/families/\(family)/model.gguf").path
    }
}

/// Failure messages collected from several threads (XCTFail is called on the test's thread).
final class Failures: @unchecked Sendable {
    // Guarded by `lock`.
    private var messages: [String] = []
    private let lock = NSLock()

    func add(_ message: String) { lock.withLock { messages.append(message) } }

    func check(file: StaticString = #filePath, line: UInt = #line) {
        for m in lock.withLock({ messages }).prefix(20) { XCTFail(m, file: file, line: line) }
    }
}
