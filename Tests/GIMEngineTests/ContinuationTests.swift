import XCTest
@testable import GIMEngine

/// Per-token attribution of a continuation from one kept forward pass: each row equals a fresh
/// explain of the prefix before that token with the token as target (≤ 1e-5 of the row's largest
/// |value|), for generated and teacher-forced continuations, GIM and plain gradient.
final class ContinuationTests: XCTestCase {
    /// max |got − expected| / max |expected|
    static func relative(_ got: [Float], _ expected: [Float]) -> Double {
        XCTAssertEqual(got.count, expected.count)
        let scale = Double(expected.map(abs).max() ?? 0)
        let diff = zip(got, expected).map { Double(abs($0 - $1)) }.max() ?? 0
        return scale > 0 ? diff / scale : diff
    }

    @discardableResult
    func checkAgainstFreshExplain(_ bundle: ModelBundle, prompt: [Int], continuation: [Int], label: String,
                                  settingsList: [GIMSettings] = [.gim, .plain]) throws -> Double {
        let session = try ContinuationSession(model: bundle.model, prompt: prompt, continuation: continuation)
        let baseline = try bundle.inferredBaseline()
        var worst = 0.0
        for settings in settingsList {
            let matrix = try session.matrix(baselineTokenID: baseline, settings: settings)
            XCTAssertEqual(matrix.rows.count, continuation.count, label)
            for k in 0..<continuation.count {
                let p = prompt.count + k
                let prefix = Array((prompt + continuation)[..<p])
                let fresh = try ExplainSession(model: bundle.model, tokenIDs: prefix)
                    .attribute(targetTokenID: continuation[k], targetPosition: -1, baselineTokenID: baseline, settings: settings)
                XCTAssertEqual(matrix.rows[k].count, p, label)
                let r = Self.relative(matrix.rows[k], fresh.values)
                worst = max(worst, r)
                XCTAssertLessThanOrEqual(r, 1e-5, "\(label) step \(k)")
                let step = try session.attribute(step: k, baselineTokenID: baseline, settings: settings)
                XCTAssertEqual(step.targetLogit, fresh.targetLogit, accuracy: 1e-4 * max(1, abs(fresh.targetLogit)), label)
                let probs = SamplingSettings.softmax(try freshLogits(bundle, prefix))
                XCTAssertEqual(matrix.predictions[k].probability, probs[continuation[k]], accuracy: 1e-5, label)
            }
        }
        print("continuation \(label): \(continuation.count) tokens, worst row vs fresh explain = \(worst) (relative)")
        return worst
    }

    func freshLogits(_ bundle: ModelBundle, _ prefix: [Int]) throws -> [Float] {
        bundle.model.logits(try bundle.model.forwardPass(prefix, embeddings: nil), at: prefix.count - 1)
    }

    func testGeneratedAndTeacherForcedOnTinyFamilies() throws {
        for family in ["llama3", "gemma2", "qwen3", "phi3"] {
            let bundle = try ModelBundle.load(path: FamilyParityTests.directory(family).appendingPathComponent("hf").path)
            let prompt = Array(bundle.encode("the cat sat on the mat").prefix(8))
            let generated = try Generator.generate(model: bundle.model, prompt: prompt, settings: GenerationSettings(maxTokens: 5))
            try checkAgainstFreshExplain(bundle, prompt: prompt, continuation: generated.generatedIDs, label: "\(family) generated")
            let forced = bundle.tokenizer.encode(" and the dog", addSpecialTokens: false)
            try checkAgainstFreshExplain(bundle, prompt: prompt, continuation: forced, label: "\(family) teacher-forced")
        }
    }

    func testSmolLM2ChatAnswer() throws {
        let bundle = try ModelBundle.load(path: try Fixtures.defaultModelPath())
        let prompt = try bundle.encodeChat(user: "What is the capital of France?")
        let generated = try Generator.generate(model: bundle.model, prompt: prompt,
                                               settings: GenerationSettings(maxTokens: 3, stopTokenIDs: bundle.stopTokenIDs))
        // GIM only and 3 tokens: each fresh explain is a forward of its own (slow in a debug build).
        try checkAgainstFreshExplain(bundle, prompt: prompt, continuation: generated.generatedIDs, label: "SmolLM2 chat",
                                     settingsList: [.gim])
        // Teacher forcing: a given answer, whose tokens need not be the argmax.
        let forced = bundle.tokenizer.encode("Lyon is the capital.", addSpecialTokens: false)
        let session = try ContinuationSession(model: bundle.model, prompt: prompt, continuation: forced)
        XCTAssertGreaterThan(try session.prediction(step: 0).rank, 0, "\"Lyon\" is not the model's first choice")
    }

    func testWordRowsAndErrors() throws {
        let bundle = try ModelBundle.load(path: FamilyParityTests.directory("llama3").appendingPathComponent("hf").path)
        let prompt = bundle.encode("the cat sat")
        let cont = bundle.tokenizer.encode(" on the mat", addSpecialTokens: false)
        let session = try ContinuationSession(model: bundle.model, prompt: prompt, continuation: cont)
        let m = try session.matrix(baselineTokenID: try bundle.inferredBaseline(), settings: .gim)
        let words = WordAggregation.mapping(tokenIDs: session.tokenIDs, tokenizer: bundle.tokenizer)
        let wordRows = m.rows(over: words)
        for (k, row) in m.rows.enumerated() {
            // Sums are kept: a row's total over words equals its total over tokens.
            XCTAssertEqual(wordRows[k].reduce(0, +), row.reduce(0, +), accuracy: 1e-4)
            XCTAssertEqual(wordRows[k].count, words.words.prefix { $0.firstToken < row.count }.count)
        }
        XCTAssertThrowsError(try session.attribute(step: cont.count, baselineTokenID: 0, settings: .gim))
        XCTAssertThrowsError(try ContinuationSession(model: bundle.model, prompt: prompt, continuation: []))
        XCTAssertThrowsError(try session.matrix(baselineTokenID: 0, settings: .gim, cancellation: Cancellation { true })) {
            XCTAssertTrue($0 is CancellationError)
        }
        XCTAssertEqual(try session.matrix(baselineTokenID: 0, settings: .gim).rows.count, cont.count, "usable after a cancel")
    }
}
