import XCTest
@testable import GIMEngine

/// The GIM paper's comprehensiveness and sufficiency on the additive model, where every
/// replaced set's logit is known by hand.
final class PaperFaithfulnessTests: XCTestCase {
    /// Tokens 1...5 contribute 3, −1, 0.5, 2, 0.25; f(x) = 4.75.
    let model = AdditiveModel(values: [0, 3, -1, 0.5, 2, 0.25, 1, -1, 0.5, -0.5])
    let tokens = [1, 2, 3, 4, 5]

    func evaluator() throws -> FaithfulnessEvaluator {
        try FaithfulnessEvaluator(model: model, tokenIDs: tokens, targetTokenID: 0, baselineTokenID: 0)
    }

    func testCountsFollowThePaper() {
        XCTAssertEqual(PaperFaithfulness.comprehensivenessCounts(positions: 5), [1, 2, 3, 4, 5])
        XCTAssertEqual(PaperFaithfulness.comprehensivenessCounts(positions: 80), Array(1...50))
        XCTAssertEqual(PaperFaithfulness.sufficiencyCounts(positions: 5), [2, 4, 4, 4, 4])
        XCTAssertEqual(PaperFaithfulness.sufficiencyCounts(positions: 100), [50, 80, 90, 95, 99])
    }

    func testFaithfulOrderByHand() throws {
        // The exact contributions: order 0, 3, 2, 4, 1.
        let s = try evaluator().paperScores([[3, -1, 0.5, 2, 0.25]])[0]
        XCTAssertEqual(s.targetLogit, 4.75, accuracy: 1e-6)
        // Drops after replacing the top 1…5: 3, 5, 5.5, 5.75, 4.75 → mean 4.8.
        XCTAssertEqual(s.comprehensivenessDrops, [3, 5, 5.5, 5.75, 4.75].map { Double($0) })
        XCTAssertEqual(s.comprehensivenessLogits, 4.8, accuracy: 1e-9)
        // The raw-logit curve: f(x) = 4.75, then the logit left after each replacement.
        XCTAssertEqual(s.comprehensivenessCurve, [4.75, 1.75, -0.25, -0.75, -1, 0])
        XCTAssertEqual(s.comprehensiveness!, 4.8 / 4.75, accuracy: 1e-9)
        // Sufficiency replaces the bottom 2 (tokens 4, 1: 0.25 − 1 → drop −0.75), then the bottom 4
        // (0.5 + 0.25 − 1 + 2 = 1.75) four times → mean (−0.75 + 4·1.75)/5 = 1.25.
        XCTAssertEqual(s.sufficiencyDrops, [-0.75, 1.75, 1.75, 1.75, 1.75])
        XCTAssertEqual(s.sufficiencyLogits, 1.25, accuracy: 1e-9)
        XCTAssertEqual(s.sufficiency!, 1.25 / 4.75, accuracy: 1e-9)
        XCTAssertEqual(s[.comprehensivenessLogits], s.comprehensivenessLogits)
    }

    func testReversedOrderIsWorseOnBoth() throws {
        let e = try evaluator()
        let scores = try e.paperScores([[3, -1, 0.5, 2, 0.25], [-3, 1, -0.5, -2, -0.25]])
        XCTAssertGreaterThan(scores[0].comprehensivenessLogits, scores[1].comprehensivenessLogits)
        XCTAssertLessThan(scores[0].sufficiencyLogits, scores[1].sufficiencyLogits)
    }

    /// A non-positive f(x) leaves the paper's ratios undefined, never the figures in logits.
    func testNonPositiveTargetLogitLeavesOnlyTheRatiosUndefined() throws {
        let e = try FaithfulnessEvaluator(model: model, tokenIDs: [2, 7, 9], targetTokenID: 0, baselineTokenID: 0)
        let s = try e.paperScores([[1, 2, 3]])[0]
        XCTAssertEqual(s.targetLogit, -2.5, accuracy: 1e-6)
        XCTAssertNil(s.comprehensiveness)
        XCTAssertNil(s.sufficiency)
        XCTAssertTrue(s.comprehensivenessLogits.isFinite && s.sufficiencyLogits.isFinite)
        // The raw-logit curve is still defined (what the explorer draws when the ratios are not).
        XCTAssertEqual(s.comprehensivenessCurve.count, 4)
        XCTAssertEqual(s.comprehensivenessCurve[0], -2.5, accuracy: 1e-6)
        XCTAssertTrue(s.comprehensivenessCurve.allSatisfy(\.isFinite))
    }

    /// Shares the evaluator's memo: the curves' masks are not run twice.
    func testSharesTheMemoWithTheCurves() throws {
        let e = try evaluator()
        _ = try e.scores([[3, -1, 0.5, 2, 0.25]], includeRandom: false)
        let before = e.forwardCount
        _ = try e.paperScores([[3, -1, 0.5, 2, 0.25]])
        XCTAssertEqual(e.forwardCount, before)
    }
}
