import GIMEngine
import XCTest
@testable import GIMExplorer

extension Array where Element == Effect {
    var generations: [GenerationRequest] {
        compactMap { if case .generate(let r) = $0 { return r } else { return nil } }
    }
    var matrices: [MatrixRequest] {
        compactMap { if case .computeMatrix(let r) = $0 { return r } else { return nil } }
    }
}

/// Issue 16's keys and worker events through the pure reducer: generating, stopping, walking the
/// continuation, teacher forcing, the matrix, words and chat mode.
final class GenerationReducerTests: XCTestCase {
    /// The France fixture on screen (5 prompt tokens), chat mode available.
    func ready() -> ExplorerState {
        var s = Fixture.ready()
        s = reduce(s, .generation(.chatTemplate(family: "ChatML", problem: nil))).0
        s.lastRequest = s.desiredRequest()
        s.completedRequestID = s.lastRequest!.id
        return s
    }

    /// Runs a generation of `tokens` to the end through the worker's events.
    func generated(_ s: ExplorerState, _ tokens: [ContinuationToken], stop: String = "length") -> (ExplorerState, [Effect]) {
        var (s, effects) = press(s, [.char("n")])
        guard let request = effects.generations.first else { XCTFail("n asked for no generation"); return (s, effects) }
        effects = []
        var e: [Effect]
        (s, e) = reduce(s, .generation(.started(requestID: request.id, promptTokenCount: 5)))
        effects += e
        for t in tokens {
            (s, e) = reduce(s, .generation(.token(requestID: request.id, t)))
            effects += e
        }
        (s, e) = reduce(s, .generation(.finished(requestID: request.id, stop: stop, tokensPerSecond: 40)))
        return (s, effects + e)
    }

    let paris = [ContinuationToken(id: 7042, text: " Paris", probability: 0.41),
                 ContinuationToken(id: 30, text: ".", probability: 0.5),
                 ContinuationToken(id: 2, text: "<|im_end|>", probability: 0.3, isSpecial: true)]

    func testNGeneratesGreedilyAndNSamplesWithANewSeedEachTime() {
        var (s, effects) = press(ready(), [.char("n")])
        XCTAssertEqual(effects.generations.count, 1)
        XCTAssertEqual(effects.generations[0].prompt, "The capital of France is")
        XCTAssertEqual(effects.generations[0].kind, .generate(maxTokens: 24, sampling: .greedy))
        XCTAssertTrue(s.generation.isRunning)
        // n again while running stops it; so does Esc.
        (s, effects) = press(s, [.char("n")])
        XCTAssertEqual(effects, [.stopGeneration])
        (s, effects) = press(s, [.escape])
        XCTAssertEqual(effects, [.stopGeneration])
        XCTAssertEqual(s.mode, .command, "Esc stopped the generation instead of leaving command mode")

        s = ready()
        (s, effects) = press(s, [.char("N")])
        XCTAssertEqual(effects.generations.first?.kind, .generate(maxTokens: 24, sampling: SamplingSettings(temperature: 0.8, topP: 0.95, seed: 1)))
        s.generation.isRunning = false
        (s, effects) = press(s, [.char("N")])
        XCTAssertEqual(effects.generations.first?.kind, .generate(maxTokens: 24, sampling: SamplingSettings(temperature: 0.8, topP: 0.95, seed: 2)))
        s.generation.isRunning = false
        (s, effects) = press(s, type("lL L"))
        XCTAssertEqual(s.generation.options.maxTokens, 32, "24 → 16 → 24 → 32")
    }

    func testStreamedTokensThenWalkingAttributesEachOnTheWholeSequence() {
        var (s, effects) = generated(ready(), paris)
        XCTAssertFalse(s.generation.isRunning)
        XCTAssertEqual(s.generation.tokens, paris)
        XCTAssertEqual(s.generation.selected, 0, "the first generated token is explained when the run ends")
        var request = effects.requests.last
        XCTAssertEqual(request?.continuation, [7042, 30, 2])
        XCTAssertEqual(request?.targetPosition, 4, "' Paris' is predicted after the prompt's last token")
        XCTAssertEqual(request?.target, .id(7042))

        (s, effects) = press(s, [.char(">")])
        request = effects.requests.last
        XCTAssertEqual(request?.targetPosition, 5)
        XCTAssertEqual(request?.target, .id(30))
        (s, effects) = press(s, type(">>>"))
        XCTAssertEqual(s.generation.selected, 2, "stops at the last token")
        XCTAssertEqual(effects.requests.last?.target, .id(2))

        // A knob change asks the same sequence again: the worker keeps the forward, runs the backward.
        (s, effects) = press(s, [.char("t")])
        XCTAssertEqual(effects.requests.last?.continuation, [7042, 30, 2])
        XCTAssertEqual(effects.requests.last?.targetPosition, 6)

        (s, effects) = press(s, type("<<<"))
        XCTAssertNil(s.generation.selected, "left of the first token is the prompt's own target again")
        XCTAssertEqual(effects.requests.last?.continuation, [])
        XCTAssertEqual(effects.requests.last?.target, .argmax)
    }

    func testLateEventsOfAnOlderRunAreIgnored() {
        var (s, _) = generated(ready(), paris)
        let old = s.generation.requestID!
        (s, _) = press(s, [.char("n")])
        s = reduce(s, .generation(.token(requestID: old, paris[0]))).0
        XCTAssertTrue(s.generation.tokens.isEmpty)
    }

    func testANewPromptDropsTheContinuationAndStopsARunningOne() {
        var (s, _) = press(ready(), [.char("n")])
        s = reduce(s, .generation(.started(requestID: s.generation.requestID!, promptTokenCount: 5))).0
        (s, _) = press(s, [.tab])
        var effects: [Effect]
        (s, effects) = press(s, type(" not") + [.enter])
        XCTAssertTrue(effects.contains(.stopGeneration))
        XCTAssertNil(s.generation.requestID)
        XCTAssertTrue(s.generation.tokens.isEmpty)
    }

    func testTeacherForcingScoresTheGivenContinuation() {
        var s = ready()
        s.mode = .edit
        var effects: [Effect]
        (s, effects) = press(s, [.ctrl("t")] + type(" Paris.") + [.enter])
        XCTAssertEqual(s.committedPrompt, "The capital of France is⏎ Paris.")
        XCTAssertEqual(effects.generations.first?.prompt, "The capital of France is")
        XCTAssertEqual(effects.generations.first?.kind, .force(" Paris."))
        XCTAssertFalse(effects.requests.contains { $0.prompt.contains("⏎") }, "the separator is never attributed as text")
        let id = effects.generations[0].id
        s = reduce(s, .generation(.started(requestID: id, promptTokenCount: 5))).0
        s = reduce(s, .generation(.token(requestID: id, paris[0]))).0
        s = reduce(s, .generation(.token(requestID: id, paris[1]))).0
        (s, effects) = reduce(s, .generation(.finished(requestID: id, stop: "given", tokensPerSecond: nil)))
        XCTAssertEqual(effects.requests.last?.continuation, [7042, 30])
        XCTAssertEqual(effects.requests.last?.target, .id(7042))
        XCTAssertTrue(effects.generations.isEmpty, "the same given text is not scored twice")
        // n refuses while the prompt line gives the continuation.
        (s, effects) = press(s, [.tab, .char("n")])
        XCTAssertTrue(effects.generations.isEmpty)
    }

    func testTheMatrixIsComputedOnceThenAgainForNewKnobs() {
        var (s, _) = generated(ready(), paris)
        var effects: [Effect]
        (s, effects) = press(s, [.char("x")])
        XCTAssertTrue(s.generation.showMatrix)
        let m = effects.matrices.first
        XCTAssertEqual(m?.continuation, [7042, 30, 2])
        XCTAssertEqual(m?.method, .gim)
        for j in 0..<3 {
            s = reduce(s, .generation(.matrixRow(requestID: m!.id, row: j, gim: [Float](repeating: Float(j), count: 8),
                                                 plain: [Float](repeating: 1, count: 8)))).0
        }
        XCTAssertEqual(s.generation.matrix?.isComplete, true)
        (s, effects) = press(s, [.char(">")])
        XCTAssertTrue(effects.matrices.isEmpty, "walking the rows needs no new matrix")
        (s, effects) = press(s, [.char("0")])
        XCTAssertEqual(effects.matrices.first?.method.settings, .plain)
        XCTAssertEqual(s.generation.matrix?.completedRows, 0)
    }

    // MARK: With the method panes (issue 15)

    func testAWalkedTokenIsAttributedInEveryPane() {
        var s = ready()
        s.panes = PaneSet(methods: [.gim, .plain, .attnLRP, .integratedGradients])
        var effects: [Effect]
        (s, effects) = generated(s, paris)
        XCTAssertEqual(effects.requests.last?.methods, [.gim, .plain, .attnLRP, .integratedGradients],
                       "the first generated token is explained by every pane's method")
        (s, effects) = press(s, [.char(">")])
        XCTAssertEqual(effects.requests.last?.target, .id(30))
        XCTAssertEqual(effects.requests.last?.methods.count, 4)
        XCTAssertEqual(effects.requests.last?.continuation, [7042, 30, 2])
        // Knobs of the focused pane (the IG pane's steps here) ask the same walked token again.
        (s, effects) = press(s, [.char("j"), .char("j"), .char("j"), .char("H")])
        XCTAssertEqual(s.panes.focus, 3)
        XCTAssertEqual(effects.requests.last?.methods[3].steps, 64)
        XCTAssertEqual(effects.requests.last?.target, .id(30))
        XCTAssertEqual(effects.requests.last?.continuation, [7042, 30, 2], "same sequence: the forward is kept")
        // A new pane joins the walk.
        (s, effects) = press(s, [.char("-"), .char("+")])
        XCTAssertEqual(s.panes.panes.count, 4)
        XCTAssertEqual(effects.requests.last?.target, .id(30))
    }

    func testTheMatrixShowsTheFocusedPanesMethod() {
        var s = ready()
        s.panes = PaneSet(methods: [.gim, .plain, .attnLRP])
        (s, _) = generated(s, paris)
        var effects: [Effect]
        (s, effects) = press(s, [.char("x")])
        XCTAssertEqual(effects.matrices.first?.method, .gim)
        // j focuses the plain pane, then AttnLRP: each asks the matrix again with its method.
        (s, effects) = press(s, [.char("j")])
        XCTAssertEqual(effects.matrices.first?.method, .plain)
        (s, effects) = press(s, [.char("j")])
        XCTAssertEqual(effects.matrices.first?.method, .attnLRP)
        XCTAssertEqual(s.generation.matrix?.method, .attnLRP)
        // o cycles the focused pane's method: the matrix follows.
        (s, effects) = press(s, [.char("o")])
        XCTAssertEqual(effects.matrices.first?.method, s.panes.focused.method)
        XCTAssertNotEqual(effects.matrices.first?.method, .attnLRP)
    }

    func testChatModeNeedsARecognisedTemplate() {
        var s = Fixture.ready()
        s = reduce(s, .generation(.chatTemplate(family: nil, problem: "the chat template is not one of the known families"))).0
        var effects: [Effect]
        (s, effects) = press(s, [.char("m")])
        XCTAssertFalse(s.chat.enabled)
        XCTAssertEqual(s.message?.isError, true)
        XCTAssertTrue(s.message?.text.contains("not one of the known families") == true)
        XCTAssertTrue(effects.requests.isEmpty)

        s = ready()
        (s, effects) = press(s, [.char("m")])
        XCTAssertTrue(s.chat.enabled)
        XCTAssertEqual(effects.requests.last?.chat, ChatOptions(system: nil))
        (s, effects) = press(s, [.char("M")] + type("Be brief.") + [.enter])
        XCTAssertEqual(effects.requests.last?.chat, ChatOptions(system: "Be brief."))
        (s, effects) = press(s, [.char("n")])
        XCTAssertEqual(effects.generations.first?.chat, ChatOptions(system: "Be brief."))
        (s, effects) = press(s, [.char("m")])
        XCTAssertTrue(effects.contains(.stopGeneration), "leaving chat mode drops the chat continuation")
        XCTAssertNil(effects.requests.last?.chat)
    }

    func testWordsAndMaskTogglesAreDisplayOnly() {
        let (s, effects) = press(ready(), type("wWZ"))
        XCTAssertTrue(s.display.words)
        XCTAssertEqual(s.display.reduction, .maxAbs)
        XCTAssertTrue(s.display.maskSpecial)
        XCTAssertTrue(effects.requests.isEmpty, "nothing to compute again")
    }

    func testEveryNewKeyIsInTheHelp() {
        let help = KeyMap.helpSections.flatMap { $0.rows.map(\.keys) }.joined(separator: " ")
        for key in ["n", "N", "<", "l L", "x", "w W", "m M", "Z", "^T"] {
            XCTAssertTrue(help.contains(key), "\(key) missing from the help")
        }
    }
}
