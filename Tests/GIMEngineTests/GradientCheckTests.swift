import XCTest
@testable import GIMEngine

/// The plain backward (all GIM modifications off) must be the true gradient: checked against
/// central finite differences of the forward pass on tiny random models.
final class GradientCheckTests: XCTestCase {
    /// L(e) = logit[target] at `position` for the prompt's embeddings replaced by `e`.
    func logit(_ model: DecoderModel, _ tokens: [Int], _ e: [Float], position: Int, target: Int) throws -> Double {
        let cache = try model.forward(tokens, embeddings: e)
        return Double(model.logits(cache, at: position)[target])
    }

    func checkGradient(model: DecoderModel, tokens: [Int], position: Int, target: Int,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let d = model.config.dim
        let session = try ExplainSession(model: model, tokenIDs: tokens)
        var seed = [Float](repeating: 0, count: tokens.count * d)
        for j in 0..<d { seed[(position) * d + j] = model.weights.output.row(target)[j] }
        let grad = try session.backward(seed: seed, settings: .plain)
        let e0 = session.cache.embeddings.array

        let h: Float = 1e-2
        var maxErr = 0.0, maxGrad = 0.0
        for i in 0..<e0.count {
            var plus = e0, minus = e0
            plus[i] += h
            minus[i] -= h
            let fd = (try logit(model, tokens, plus, position: position, target: target)
                - logit(model, tokens, minus, position: position, target: target)) / Double(2 * h)
            maxErr = max(maxErr, abs(fd - Double(grad[i])))
            maxGrad = max(maxGrad, abs(fd))
        }
        XCTAssertGreaterThan(maxGrad, 1e-2, "the gradient should not vanish", file: file, line: line)
        XCTAssertLessThan(maxErr / maxGrad, 1e-3, "relative error of backward vs finite differences", file: file, line: line)
        // Positions after the target cannot influence it (causal mask).
        for i in (position + 1) * d..<e0.count {
            XCTAssertEqual(grad[i], 0, file: file, line: line)
        }
    }

    func testTiedModelLastPosition() throws {
        let model = try TinyLlama.random(seed: 1)
        try checkGradient(model: model, tokens: [3, 17, 5, 29, 11, 2], position: 5, target: 7)
    }

    func testInnerPositionAndUntiedHead() throws {
        var c = TinyLlama.config
        c.tiedOutput = false
        let model = try TinyLlama.random(seed: 2, config: c)
        try checkGradient(model: model, tokens: [1, 4, 9, 16, 25, 36, 0], position: 3, target: 12)
    }

    func testNeoxRoPEAndGroupedHeads() throws {
        var c = TinyLlama.config
        c.ropeLayout = .neox
        c.heads = 6
        c.kvHeads = 2
        c.headDim = 2
        let model = try TinyLlama.random(seed: 3, config: c)
        try checkGradient(model: model, tokens: [8, 8, 3, 30, 2], position: 4, target: 0)
    }

    /// Each GIM knob, on its own, changes the gradient (else a knob would be silently dead).
    func testEveryKnobChangesTheGradient() throws {
        let model = try TinyLlama.random(seed: 4)
        let session = try ExplainSession(model: model, tokenIDs: [5, 6, 7, 8, 9, 10])
        let plain = try session.attribute(baselineTokenID: 0, settings: .plain).values
        let knobs: [(String, GIMSettings)] = [
            ("freeze_norm", { var s = GIMSettings.plain; s.freezeNorm = true; return s }()),
            ("temperature", { var s = GIMSettings.plain; s.softmaxTemperature = 2; return s }()),
            ("q_scale", { var s = GIMSettings.plain; s.qScale = 0.25; return s }()),
            ("k_scale", { var s = GIMSettings.plain; s.kScale = 0.25; return s }()),
            ("v_scale", { var s = GIMSettings.plain; s.vScale = 0.5; return s }()),
            ("gate_scale", { var s = GIMSettings.plain; s.gateScale = 0.5; return s }()),
            ("up_scale", { var s = GIMSettings.plain; s.upScale = 0.5; return s }()),
        ]
        let scale = plain.map(abs).max()!
        for (name, settings) in knobs {
            let v = try session.attribute(baselineTokenID: 0, settings: settings).values
            let diff = zip(v, plain).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(diff / scale, 1e-4, "\(name) had no effect")
        }
    }
}
