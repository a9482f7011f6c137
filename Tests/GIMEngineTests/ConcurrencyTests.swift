import Foundation
import XCTest
@testable import GIMEngine

/// The engine's threading rules, exercised so that ThreadSanitizer (`scripts/sanitize.sh tsan`)
/// sees every one of them; under a normal build they check the results only.
///
/// - The fork-join pool (`CKernels/thread_pool.c` through `Parallel`) is one global job slot: a
///   second thread calling it while a job runs, or a part calling it again, runs every part
///   itself, in order; parts write disjoint memory. A resize from any thread waits for the job
///   in flight.
/// - A model is read-only after loading: sessions on different threads may share it; each
///   `ExplainSession` (not Sendable) belongs to one thread. A forward pass is read-only once
///   made, except the scratch a checkpointed pass recomputes blocks in, which is behind a lock.
/// - The tokenizer's piece cache is guarded by its lock; `FaithfulnessEvaluator` serialises its
///   calls with its lock; `Locked` values (the test knobs, the note handler) by theirs.
final class ConcurrencyTests: XCTestCase {
    /// Runs `body(0..<n)` on n threads started together; returns when all have finished (fails
    /// the test if they have not after `timeout` seconds).
    func onThreads(_ n: Int, timeout: TimeInterval = 900, _ body: @escaping @Sendable (Int) -> Void) {
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
        XCTAssertEqual(done.wait(timeout: .now() + timeout), .success, "the \(n) threads finished within \(timeout) s")
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

    /// `setThreads` from one thread while two others run jobs: a resize waits for the job in
    /// flight, and a job never waits for workers a resize has just retired (it could before the
    /// pool read its size again under its lock: the job then hung).
    func testResizingThePoolWhileTwoThreadsRunJobs() {
        let saved = Parallel.threads
        defer { Parallel.setThreads(saved) }
        let failures = Failures()
        onThreads(3, timeout: 300) { thread in
            if thread == 0 {
                for k in 0..<300 {
                    Parallel.setThreads([1, 3, 2, 4][k % 4])
                    if k % 8 == 0 { usleep(50) }
                }
                return
            }
            let count = 1031
            var out = [Int](repeating: -1, count: count)
            for round in 0..<300 {
                out.withUnsafeMutableBufferPointer { o in
                    Parallel.forEachRange(count) { range in
                        for i in range { o[i] = i &+ round &* 7 &+ thread }
                    }
                }
                if let bad = (0..<count).first(where: { out[$0] != $0 &+ round &* 7 &+ thread }) {
                    failures.add("thread \(thread) round \(round): element \(bad) is \(out[bad])")
                    return
                }
            }
        }
        failures.check()
    }

    /// `Locked`: increments from four threads at once lose nothing; the test knobs and the note
    /// handler built on it are read on three threads while a fourth writes them.
    func testLockedValuesFromFourThreads() {
        let counter = Locked(0)
        let budget = DecoderModel.keptActivationBudget, stripe = CausalAttention.stripeRows
        let failures = Failures()
        onThreads(4) { thread in
            for k in 0..<20_000 {
                counter.withLock { $0 += 1 }
                if thread == 0 {
                    DecoderModel.keptActivationBudget = budget
                    CausalAttention.stripeRows = stripe
                    if k % 100 == 0 { HFCache.noteHandler = HFCache.noteHandler }
                } else if DecoderModel.keptActivationBudget != budget || CausalAttention.stripeRows != stripe {
                    failures.add("thread \(thread) read a knob that nobody set")
                    return
                }
            }
        }
        XCTAssertEqual(counter.value, 80_000)
        failures.check()
    }

    /// A checkpointed forward pass (only each block's input kept) shared by backwards on three
    /// threads, each with its own `DecoderBackward`: every backward recomputes the blocks in the
    /// pass's one scratch, which its lock gives to one of them at a time.
    func testACheckpointedForwardPassSharedByBackwardsOnThreeThreads() throws {
        let bundle = try ModelBundle.load(path: Self.tinyModel("llama3"))
        let model = try XCTUnwrap(bundle.model as? DecoderModel)
        let budget = DecoderModel.keptActivationBudget
        DecoderModel.keptActivationBudget = 0
        defer { DecoderModel.keptActivationBudget = budget }
        let ids = bundle.encode("The capital of France is in Europe, one two three")
        let pass = try model.forward(ids)
        XCTAssertTrue(pass.checkpointed)
        let t = ids.count, d = model.dim
        let seed = FloatBuffer(count: t * d)  // read-only from here on
        for i in 0..<d { seed[(t - 1) * d + i] = Float(i % 7) - 3 }
        let settings: [GIMSettings] = [.gim, .plain]
        let expected = settings.map { DecoderBackward(model: model, length: t).run(pass, seed: seed, settings: $0).array }
        let failures = Failures()
        onThreads(3) { thread in
            let backward = DecoderBackward(model: model, length: t)  // owned by this thread
            for round in 0..<4 {
                let k = (thread + round) % settings.count
                let got = backward.run(pass, seed: seed, settings: settings[k]).array
                if !zip(got, expected[k]).allSatisfy({ abs($0 - $1) <= 1e-4 * max(1, abs($1)) }) {
                    failures.add("thread \(thread) round \(round): the gradient differs")
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
