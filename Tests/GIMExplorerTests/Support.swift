import Foundation
import GIMEngine
import XCTest
@testable import GIMExplorer

/// Synthetic results (no model needed) and the snapshot helper.
enum Fixture {
    /// "The capital of France is" with the attributions of DESIGN.md.
    static func france(requestID: Int = 1, settings: GIMSettings = .gim, targetPosition: Int = 4,
                       gim: [Float] = [0.51, 6.66, -0.75, 0.30, 17.43],
                       plain: [Float] = [2.21, 8.57, 0.89, -4.02, -2.73]) -> AnalysisResult {
        AnalysisResult(
            requestID: requestID, prompt: "The capital of France is", tokenIDs: [504, 3575, 282, 4649, 314],
            tokenTexts: ["The", " capital", " of", " France", " is"], targetPosition: targetPosition,
            targetID: 7042, targetText: " Paris", targetProbability: 0.412,
            predictions: [
                Prediction(id: 7042, text: " Paris", probability: 0.412, logit: 17.2),
                Prediction(id: 253, text: " a", probability: 0.081, logit: 15.6),
                Prediction(id: 260, text: " the", probability: 0.064, logit: 15.3),
                Prediction(id: 3209, text: " located", probability: 0.031, logit: 14.6),
                Prediction(id: 1695, text: " known", probability: 0.020, logit: 14.1),
            ],
            gim: gim, plain: plain, targetLogit: 17.2, settings: settings,
            forwardMilliseconds: 95, gimMilliseconds: 58, plainMilliseconds: 61)
    }

    /// The France result with three panes: GIM, the plain gradient and AttnLRP (values made up).
    static func threePanes(requestID: Int = 1, third: AttributionMethod = .attnLRP,
                           values: [Float] = [1.2, 4.1, -0.3, 2.2, 9.6]) -> AnalysisResult {
        var r = france(requestID: requestID)
        r.panes.append(PaneResult(method: third, values: values, milliseconds: 72))
        return r
    }

    /// A ready state whose panes are GIM, plain and `third`, with its result on screen.
    static func readyThree(third: AttributionMethod = .attnLRP, mode: ExplorerState.Mode = .command) -> ExplorerState {
        var s = ExplorerState(modelPath: "models/test.gguf", prompt: "The capital of France is", debounceMilliseconds: 400,
                              themeNames: ["dark", "light", "colorblind", "monochrome"], colorDepth: .ansi256)
        s.panes = PaneSet(methods: [.gim, .plain, third])
        s = reduce(s, .modelLoaded(name: "SmolLM2-135M-Instruct")).0
        s = reduce(s, .analysisFinished(threePanes(requestID: s.lastRequest?.id ?? 1, third: third))).0
        s.mode = mode
        s.message = nil
        return s
    }

    /// A prompt of wide, combining, emoji and control characters.
    static func unicode() -> AnalysisResult {
        let texts = ["日本", "語の", "テキスト", " 🌍", " café", "e\u{301}", "\u{301}", "\n", "\t", " Ελληνικά", " 👩‍💻", "<0xE2>", " ok"]
        let n = texts.count
        let gim: [Float] = (0..<n).map { i in Float(i % 3 == 0 ? i : -i) * 0.7 }
        let plain: [Float] = (0..<n).map { i in Float(n - i) * (i % 2 == 0 ? 1 : -1) }
        return AnalysisResult(
            requestID: 1, prompt: texts.joined(), tokenIDs: Array(100..<(100 + n)), tokenTexts: texts,
            targetPosition: n - 1, targetID: 42, targetText: " 世界", targetProbability: 0.2,
            predictions: [Prediction(id: 42, text: " 世界", probability: 0.2, logit: 9),
                          Prediction(id: 43, text: "\n", probability: 0.1, logit: 8.3)],
            gim: gim, plain: plain, targetLogit: 9, settings: .gim, forwardMilliseconds: nil, gimMilliseconds: 40,
            plainMilliseconds: nil)
    }

    /// A state with a model, a committed prompt and its result.
    static func ready(_ result: AnalysisResult = france(), mode: ExplorerState.Mode = .command,
                      depth: ColorDepth = .ansi256) -> ExplorerState {
        var s = ExplorerState(modelPath: "models/test.gguf", prompt: result.prompt, debounceMilliseconds: 400,
                              themeNames: ["dark", "light", "colorblind", "monochrome"], colorDepth: depth)
        s = reduce(s, .modelLoaded(name: "SmolLM2-135M-Instruct")).0
        s = reduce(s, .analysisFinished(result)).0
        s.mode = mode
        s.message = nil
        return s
    }

    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

/// Compares a frame with `Snapshots/NAME.txt` (characters, then role codes; see Frame.snapshot).
/// A missing snapshot is written and the test fails once; SNAPSHOT_RECORD=1 rewrites them all.
func assertSnapshot(_ frame: Frame, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    let dir = URL(fileURLWithPath: "\(file)").resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("Snapshots")
    let url = dir.appendingPathComponent(name + ".txt")
    let actual = frame.snapshot
    let record = ProcessInfo.processInfo.environment["SNAPSHOT_RECORD"] == "1"
    guard !record, let expected = try? String(contentsOf: url, encoding: .utf8) else {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? actual.write(to: url, atomically: true, encoding: .utf8)
        if !record { XCTFail("snapshot \(name) was missing and has been recorded; check it and run again", file: file, line: line) }
        return
    }
    guard expected != actual else { return }
    let e = expected.components(separatedBy: "\n"), a = actual.components(separatedBy: "\n")
    let i = (0..<min(e.count, a.count)).first { e[$0] != a[$0] } ?? min(e.count, a.count)
    let failed = dir.appendingPathComponent(name + ".actual.txt")
    try? actual.write(to: failed, atomically: true, encoding: .utf8)
    XCTFail("""
        snapshot \(name) differs at line \(i + 1) (actual written to \(failed.lastPathComponent)):
        expected: \(i < e.count ? e[i] : "<end>")
        actual:   \(i < a.count ? a[i] : "<end>")
        """, file: file, line: line)
}

/// Feeds keys through the reducer, collecting every effect.
func press(_ state: ExplorerState, _ keys: [Key]) -> (ExplorerState, [Effect]) {
    var s = state
    var all: [Effect] = []
    for k in keys {
        let (next, effects) = reduce(s, .key(k))
        s = next
        all += effects
    }
    return (s, all)
}

func type(_ text: String) -> [Key] { text.map { .char($0) } }

extension Array where Element == Effect {
    var requests: [AnalysisRequest] {
        compactMap { if case .analyze(let r) = $0 { return r } else { return nil } }
    }
}

/// Issue 16's fixtures: a chat-formatted prompt with a greedy continuation.
enum ContinuationFixture {
    static let promptTexts = ["<|im_start|>", "user", "\n", "What", " is", " the", " capital", " of", " France", "?",
                              "<|im_end|>", "\n", "<|im_start|>", "assistant", "\n"]
    static let continuation = [ContinuationToken(id: 504, text: "The", probability: 0.62),
                               ContinuationToken(id: 3575, text: " capital", probability: 0.71),
                               ContinuationToken(id: 282, text: " of", probability: 0.98),
                               ContinuationToken(id: 4649, text: " France", probability: 0.95),
                               ContinuationToken(id: 314, text: " is", probability: 0.93),
                               ContinuationToken(id: 7042, text: " Paris", probability: 0.88),
                               ContinuationToken(id: 30, text: ".", probability: 0.74),
                               ContinuationToken(id: 2, text: "<|im_end|>", probability: 0.81, isSpecial: true)]
    static var texts: [String] { promptTexts + continuation.map(\.text) }
    static var special: [Bool] { texts.map { $0.hasPrefix("<|") } }

    /// A deterministic attribution of row `j` over the tokens before it (zeros after).
    static func row(_ j: Int, plain: Bool = false) -> [Float] {
        let n = texts.count, p = promptTexts.count
        return (0..<n).map { i in
            guard i < p + j else { return 0 }
            let v = Float((i * 7 + j * 3) % 11) - 4.5
            return plain ? v * 0.5 + Float(i % 3) : v * Float(1 + (i == p + j - 1 ? 3 : 0))
        }
    }

    static func words() -> WordMapping {
        WordAggregation.mapping(pieces: texts.map { Array($0.utf8) }, special: special, specialText: texts)
    }

    /// The result of walking to continuation token `j`.
    static func result(selected j: Int = 5) -> AnalysisResult {
        let n = texts.count, p = promptTexts.count
        let t = continuation[j]
        return AnalysisResult(
            requestID: 9, prompt: "What is the capital of France?", tokenIDs: Array(1000..<(1000 + n)), tokenTexts: texts,
            targetPosition: p + j - 1, targetID: t.id, targetText: t.text, targetProbability: t.probability,
            predictions: [Prediction(id: t.id, text: t.text, probability: t.probability, logit: 21.5),
                          Prediction(id: 17, text: " Lyon", probability: 0.03, logit: 18.1)],
            gim: row(j), plain: row(j, plain: true), targetLogit: 21.5, settings: .gim, forwardMilliseconds: nil,
            gimMilliseconds: 61, plainMilliseconds: 64, special: special, words: words(), continuationStart: p)
    }

    /// The explorer after a chat-mode generation, walked to token `j`.
    static func state(selected j: Int = 5, depth: ColorDepth = .ansi256) -> ExplorerState {
        var s = Fixture.ready(result(selected: j), depth: depth)
        s.chat = ChatState()
        s.chat.enabled = true
        s.chat.family = "ChatML"
        s.generation.requestID = 1
        s.generation.prompt = "What is the capital of France?"
        s.generation.chat = ChatOptions()
        s.generation.promptTokenCount = promptTexts.count
        s.generation.tokens = continuation
        s.generation.stop = "stop-token"
        s.generation.selected = j
        return s
    }
}

extension Array where Element == Event {
    /// Without the worker's one-off chat-template report (posted after loading, in a batch of
    /// its own or not): tests that check the order of results and figures ignore it.
    var withoutChatAvailability: [Event] {
        filter { if case .generation(.chatTemplate) = $0 { false } else { true } }
    }
}
