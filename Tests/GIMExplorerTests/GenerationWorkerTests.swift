import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// Continuations on the real default model (skipped when it is absent): every continuation
/// token's attribution on the kept forward of the whole sequence equals a fresh explain of its
/// prefix with that token as target; generation streams and stops; teacher forcing and chat mode.
final class GenerationWorkerTests: XCTestCase {
    func bundle() throws -> ModelBundle { try WorkerTests.sharedBundle() }
    let prompt = "The capital of France is"

    func generate(_ engine: AnalysisEngine, _ request: GenerationRequest) throws -> (count: Int, tokens: [ContinuationToken], stop: String?) {
        var count = 0, tokens: [ContinuationToken] = [], stop: String?
        try engine.continuation(request, isCancelled: { false }) { e in
            switch e {
            case .started(_, let n): count = n
            case .token(_, let t): tokens.append(t)
            case .finished(_, let s, _): stop = s
            default: break
            }
        }
        return (count, tokens, stop)
    }

    func testEachContinuationTokenEqualsAFreshExplainOfItsPrefix() throws {
        let b = try bundle()
        let engine = try AnalysisEngine(bundle: b)
        let g = try generate(engine, GenerationRequest(id: 1, prompt: prompt, kind: .generate(maxTokens: 4, sampling: .greedy)))
        XCTAssertEqual(g.count, b.encode(prompt).count)
        XCTAssertEqual(g.tokens.count, 4)
        XCTAssertEqual(g.tokens.first?.id, 7042, "greedy: ' Paris'")
        XCTAssertEqual(g.stop, "length")
        let ids = g.tokens.map(\.id)
        let baseline = try b.inferredBaseline()
        var worst: Float = 0
        var matrixRows: [Int: [Float]] = [:]
        try engine.matrix(MatrixRequest(id: 2, prompt: prompt, chat: nil, continuation: ids, method: .gim), isCancelled: { false }) { e in
            if case .matrixRow(_, let row, let gim, _) = e { matrixRows[row] = gim }
        }
        for j in 0..<ids.count {
            let r = try engine.analyze(AnalysisRequest(id: 10 + j, prompt: prompt, targetPosition: g.count + j - 1,
                                                       target: .id(ids[j]), settings: .gim, continuation: ids))
            XCTAssertEqual(r.continuationStart, g.count)
            XCTAssertEqual(r.targetProbability, g.tokens[j].probability, accuracy: 1e-4,
                           "the streamed probability is the one the attribution explains")
            if j > 0 { XCTAssertNil(r.forwardMilliseconds, "walking the continuation keeps the forward") }
            let prefix = b.encode(prompt) + ids.prefix(j)
            let fresh = try ExplainSession(model: b.model, tokenIDs: prefix)
                .attribute(targetTokenID: ids[j], targetPosition: prefix.count - 1, baselineTokenID: baseline, settings: .gim)
            let scale = fresh.values.map(abs).max()!
            for i in 0..<prefix.count { worst = max(worst, abs(r.gim[i] - fresh.values[i]) / scale) }
            for i in prefix.count..<r.gim.count { XCTAssertEqual(r.gim[i], 0, "tokens after the target get nothing") }
            XCTAssertEqual(matrixRows[j] ?? [], r.gim, "the matrix row is the walked attribution")
        }
        // Measured 2026-12: ~1e-6 (the same backward on a longer forward; only summation order differs).
        XCTAssertLessThan(worst, 1e-3, "max |walked − fresh| / max|fresh| = \(worst)")
        print("continuation vs fresh explain: max relative error \(worst)")
    }

    /// Every pane's method (the method panes of issue 15) explains a walked continuation token
    /// as a fresh run of that method on the prefix would.
    func testEveryPaneOfAWalkedTokenEqualsTheMethodOnItsPrefix() throws {
        let b = try bundle()
        let engine = try AnalysisEngine(bundle: b)
        let g = try generate(engine, GenerationRequest(id: 1, prompt: prompt, kind: .generate(maxTokens: 3, sampling: .greedy)))
        let ids = g.tokens.map(\.id)
        var ig = AttributionMethod.integratedGradients
        ig.steps = 4
        let methods: [AttributionMethod] = [.gim, .plain, .attnLRP, ig, .occlusion]
        let j = ids.count - 1
        let r = try engine.analyze(AnalysisRequest(id: 2, prompt: prompt, targetPosition: g.count + j - 1, target: .id(ids[j]),
                                                   methods: methods, continuation: ids))
        XCTAssertEqual(r.panes.map(\.method), methods)
        let prefix = b.encode(prompt) + ids.prefix(j)
        let fresh = try ExplainSession(model: b.model, tokenIDs: prefix)
        let baseline = try b.inferredBaseline()
        for (i, m) in methods.enumerated() {
            let want = try fresh.attribute(method: m, targetTokenID: ids[j], targetPosition: prefix.count - 1, baselineTokenID: baseline)
            let scale = max(want.values.map(abs).max()!, 1e-12)
            let worst = zip(r.panes[i].values, want.values).map { abs($0 - $1) / scale }.max()!
            // Measured 2026-12: ≤ ~1e-6 (only the summation order of the longer forward differs).
            XCTAssertLessThan(worst, 1e-3, "\(m.title): max |walked − fresh| / max|fresh| = \(worst)")
            print("walked continuation token, \(m.title) pane vs the method on the prefix: max relative error \(worst)")
            XCTAssertTrue(r.panes[i].values[prefix.count...].allSatisfy { $0 == 0 }, "\(m.title): nothing after the target")
        }
        // A knob change of one pane runs its backward only: the forward of the whole sequence is kept.
        var changed = methods
        changed[0].settings.softmaxTemperature = 3
        let again = try engine.analyze(AnalysisRequest(id: 3, prompt: prompt, targetPosition: g.count + j - 1, target: .id(ids[j]),
                                                       methods: changed, continuation: ids))
        XCTAssertNil(again.forwardMilliseconds, "the forward was kept")
        XCTAssertEqual(again.panes[1...].map(\.milliseconds), [nil, nil, nil, nil], "the unchanged panes were kept too")
        XCTAssertNotNil(again.panes[0].milliseconds)
    }

    func testTeacherForcingScoresTheGivenTokensAsTheNextToken() throws {
        let b = try bundle()
        let engine = try AnalysisEngine(bundle: b)
        let g = try generate(engine, GenerationRequest(id: 1, prompt: prompt, kind: .force(" Paris. It")))
        XCTAssertEqual(g.tokens.map(\.id), b.tokenizer.encode(" Paris. It", addSpecialTokens: false))
        XCTAssertEqual(g.stop, "given")
        let plain = try engine.analyze(AnalysisRequest(id: 2, prompt: prompt))
        XCTAssertEqual(g.tokens[0].probability, plain.targetProbability, accuracy: 1e-4)
        // A given token that is not the argmax is explained as given.
        let forced = try generate(engine, GenerationRequest(id: 3, prompt: prompt, kind: .force(" London")))
        let r = try engine.analyze(AnalysisRequest(id: 4, prompt: prompt, targetPosition: forced.count - 1,
                                                   target: .id(forced.tokens[0].id), continuation: forced.tokens.map(\.id)))
        XCTAssertEqual(r.targetText, " London")
        XCTAssertLessThan(r.targetProbability, 0.1)
        XCTAssertThrowsError(try generate(engine, GenerationRequest(id: 5, prompt: prompt, kind: .force(""))))
    }

    func testChatModeWrapsThePromptInTheTemplateWithSpecialTokensMarked() throws {
        let b = try bundle()
        let engine = try AnalysisEngine(bundle: b)
        guard case .chatTemplate(let family, let problem) = engine.chatAvailability() else { return XCTFail() }
        XCTAssertNotNil(family, problem ?? "")
        let chat = ChatOptions(system: "Be brief.")
        XCTAssertEqual(try engine.encode("What is the capital of France?", chat: chat),
                       try b.encodeChat(user: "What is the capital of France?", system: "Be brief."))
        let r = try engine.analyze(AnalysisRequest(id: 1, prompt: "What is the capital of France?", chat: chat))
        XCTAssertEqual(r.tokenTexts.first, "<|im_start|>")
        XCTAssertEqual(r.special.first, true)
        XCTAssertEqual(r.special.filter { $0 }.count, 5, "three <|im_start|>, two <|im_end|> (the assistant's turn is open)")
        XCTAssertEqual(r.words?.wordOfToken.count, r.tokenIDs.count)
    }

    func testTheWorkerStreamsTokensAndEscStopsTheRun() throws {
        let b = try bundle()
        let worker = AttributionWorker(modelPath: "unused", loader: { _ in b })
        worker.start()
        var seen: [Event] = []
        let deadline = Date().addingTimeInterval(60)
        while !seen.contains(where: { if case .generation(.chatTemplate) = $0 { return true } else { return false } }) && Date() < deadline {
            seen += worker.waitForEvents(timeout: 5)
        }
        worker.submit(GenerationRequest(id: 1, prompt: prompt, kind: .generate(maxTokens: 500, sampling: SamplingSettings(temperature: 1, topP: 0.9, seed: 7))))
        var tokens = 0, stop: String?
        while stop == nil && Date() < deadline {
            for e in worker.waitForEvents(timeout: 5) {
                if case .generation(.token) = e {
                    tokens += 1
                    if tokens == 3 { worker.stopGeneration() }
                }
                if case .generation(.finished(_, let s, _)) = e { stop = s }
            }
        }
        worker.stop(wait: 5)
        XCTAssertEqual(stop, "cancelled")
        XCTAssertGreaterThanOrEqual(tokens, 3)
        XCTAssertLessThan(tokens, 50, "stopped soon after Esc")
    }
}
