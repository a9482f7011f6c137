import XCTest
@testable import GIMEngine

/// The attention runs stripe by stripe of query rows and its backward recomputes scores and
/// probabilities (`CausalAttention.stripeRows`): results must not depend on the striping. Each
/// check uses stripes of 7 rows (many stripes, the last one short) against one stripe for the
/// whole prompt (what a [T, T] attention computes), on families with sliding windows and
/// soft-caps, at every knob setting; and finite differences through the striped backward.
final class StripedAttentionTests: XCTestCase {
    override func tearDown() { CausalAttention.stripeRows = 64 }

    static func folder(_ family: String) -> String { FamilyParityTests.directory(family).appendingPathComponent("hf").path }

    /// (logits at the last position, attributions per setting, GIM embedding gradient) with `stripe` rows per stripe.
    func run(_ model: CausalLanguageModel, _ tokens: [Int], stripe: Int) throws -> ([Float], [[Float]], [Float]) {
        CausalAttention.stripeRows = stripe
        let session = try ExplainSession(model: model, tokenIDs: tokens)
        let settings: [GIMSettings] = [.plain, .gim, .gim014, GIMSettings(freezeNorm: false, softmaxTemperature: 3, qScale: 1, kScale: 1, vScale: 1, gateScale: 1, upScale: 1),
                                       GIMSettings(freezeNorm: true, softmaxTemperature: 1, qScale: 1, kScale: 1, vScale: 1, gateScale: 1, upScale: 1)]
        let attributions = try settings.map { try session.attribute(targetTokenID: 7, targetPosition: -2, baselineTokenID: 0, settings: $0).values }
        var seed = [Float](repeating: 0, count: tokens.count * model.dim)
        for j in 0..<model.dim { seed[(tokens.count - 1) * model.dim + j] = Float(j % 5) - 2 }
        return (try session.logits(at: tokens.count - 1), attributions, try session.backward(seed: seed, settings: .gim))
    }

    func testStripesGiveTheSameResultsAsOneStripe() throws {
        for family in ["gemma2", "mistral", "qwen3", "llama3", "phi3"] {
            guard FileManager.default.fileExists(atPath: Self.folder(family)) else { throw XCTSkip("family fixtures missing") }
            let model = try ModelBundle.load(path: Self.folder(family)).model
            let tokens = (0..<100).map { ($0 * 37 + 11) % 300 }
            let (l1, a1, g1) = try run(model, tokens, stripe: 7)
            let (l2, a2, g2) = try run(model, tokens, stripe: 1000)
            XCTAssertLessThan(FamilyParityTests.relative(l1, l2), 1e-5, "\(family) logits")
            for (x, y) in zip(a1, a2) { XCTAssertLessThan(FamilyParityTests.relative(x, y), 1e-5, "\(family) attributions") }
            XCTAssertLessThan(FamilyParityTests.relative(g1, g2), 1e-5, "\(family) gradient")
        }
    }

    /// The plain backward through many short stripes (window and soft-cap: Gemma 2) against
    /// central finite differences of the forward.
    func testStripedBackwardMatchesFiniteDifferences() throws {
        guard FileManager.default.fileExists(atPath: Self.folder("gemma2")) else { throw XCTSkip("family fixtures missing") }
        CausalAttention.stripeRows = 5
        let model = try ModelBundle.load(path: Self.folder("gemma2")).model
        let ids = (0..<23).map { ($0 * 13 + 3) % 300 }, t = ids.count, d = model.dim, p = t - 1
        let session = try ExplainSession(model: model, tokenIDs: ids)
        let e = session.cache.embeddings.array
        // A seed on the hidden state directly (the capped logit saturates on this tiny model).
        let direction = (0..<d).map { Float(($0 * 7) % 11) - 5 }
        var seed = [Float](repeating: 0, count: t * d)
        for j in 0..<d { seed[p * d + j] = direction[j] }
        let g = try session.backward(seed: seed, settings: .plain)
        func objective(_ x: [Float]) throws -> Double {
            let cache = try model.forwardPass(ids, embeddings: x) as! DecoderForwardCache
            return (0..<d).reduce(0.0) { $0 + Double(cache.hidden[p * d + $1]) * Double(direction[$1]) }
        }
        let h: Float = 1e-2
        var worst = 0.0, scale = 0.0
        for k in stride(from: 0, to: t * d, by: 17) {
            var up = e, down = e
            up[k] += h; down[k] -= h
            let numeric = (try objective(up) - objective(down)) / Double(2 * h)
            worst = max(worst, abs(Double(g[k]) - numeric))
            scale = max(scale, abs(numeric))
        }
        XCTAssertGreaterThan(scale, 1e-2)
        XCTAssertLessThan(worst / scale, 1e-2, "worst \(worst), scale \(scale)")
    }
}
