import XCTest
@testable import GIMEngine

final class ComponentAttributionTests: XCTestCase {
    /// A layer's attention output is attn_output applied to its heads, so by linearity the head
    /// scores must add up to the layer's attention score, for GIM and plain alike.
    func testHeadScoresSumToTheLayerScore() throws {
        let model = try TinyLlama.random(seed: 5)
        let session = try ExplainSession(model: model, tokenIDs: [4, 8, 15, 16, 23, 42 % 40])
        for settings in [GIMSettings.plain, .gim] {
            let s = try session.componentScores(targetTokenID: 3, baselineTokenID: 0, settings: settings)
            for l in 0..<model.config.layers {
                let sum = s.heads[l].reduce(0, +)
                XCTAssertEqual(sum, s.attention[l], accuracy: 1e-4 * max(1, abs(s.attention[l])))
                XCTAssertNotEqual(s.attention[l], 0)
                XCTAssertNotEqual(s.mlp[l], 0)
            }
            XCTAssertNotEqual(s.cleanLogit, s.corruptLogit)
        }
    }

    /// The observer is called at each of the four sites of every layer.
    func testGradientObserverSeesEverySite() throws {
        let model = try TinyLlama.random(seed: 6)
        let session = try ExplainSession(model: model, tokenIDs: [1, 2, 3, 4])
        var seen = Set<GradientSite>()
        var seed = [Float](repeating: 0, count: 4 * model.config.dim)
        seed[3 * model.config.dim] = 1
        _ = try session.backward(seed: seed, settings: .gim) { site, _, _ in seen.insert(site) }
        XCTAssertEqual(seen.count, 4 * model.config.layers)
    }
}
