import XCTest
@testable import GIMEngine

/// A model whose target logit is exactly additive over positions, so the faithful order is known
/// by construction: logit[0] = Σ_{t ≤ position} e[t, 0], every other logit 0. Token id i has the
/// one-dimensional embedding `values[i]`; token 0 (the baseline) is 0, so replacing position t by
/// the baseline lowers the logit by exactly values[id_t].
final class AdditiveModel: CausalLanguageModel, Sendable {
    let values: [Float]
    let tokenEmbedding: WeightMatrix
    private let batchCallCount = Locked(0)
    var batchCalls: Int { batchCallCount.value }
    init(values: [Float]) {
        self.values = values
        tokenEmbedding = WeightMatrix(float32: FloatBuffer(values), rows: values.count, cols: 1)
    }

    var architecture: String { "additive" }
    var vocabSize: Int { values.count }
    var dim: Int { 1 }
    var layerCount: Int { 0 }
    var headCount: Int { 0 }
    var headDim: Int { 0 }
    var contextLength: Int { 64 }
    var parameterCount: Int { values.count }
    var outputHead: WeightMatrix { WeightMatrix(float32: FloatBuffer(count: values.count), rows: values.count, cols: 1) }
    func forwardPass(_ tokens: [Int], embeddings: [Float]?) throws -> ForwardPass {
        throw ModelError.badInput("no forward pass: batchLogits only")
    }
    func logits(_ pass: ForwardPass, at position: Int) -> [Float] { fatalError("unused") }
    func makeBackward(length: Int) -> BackwardPass { fatalError("unused") }
    func forwardFLOPs(tokens: Int) -> Double { 0 }
    func backwardFLOPs(tokens: Int) -> Double { 0 }
    func batchLogits(tokens: [Int], embeddings batch: [[Float]], at position: Int) throws -> [[Float]] {
        batchCallCount.withLock { $0 += 1 }
        return batch.map { e in
            var l = [Float](repeating: 0, count: values.count)
            l[0] = e[0...position].reduce(0, +)
            return l
        }
    }
}

final class FaithfulnessTests: XCTestCase {
    /// Tokens 1...5 contribute 3, −1, 0.5, 2, 0.25; the full drop is 4.75.
    let model = AdditiveModel(values: [0, 3, -1, 0.5, 2, 0.25, 1, -1, 0.5, -0.5])
    let tokens = [1, 2, 3, 4, 5]
    let contributions: [Float] = [3, -1, 0.5, 2, 0.25]

    func evaluator(_ tokens: [Int]? = nil, position: Int = -1, options: FaithfulnessOptions = .init()) throws -> FaithfulnessEvaluator {
        try FaithfulnessEvaluator(model: model, tokenIDs: tokens ?? self.tokens, targetTokenID: 0,
                                  targetPosition: position, baselineTokenID: 0, options: options)
    }

    func testReferenceAndLeaveOneOutAreExact() throws {
        let r = try evaluator().reference()
        XCTAssertEqual(r.positions, 5)
        XCTAssertEqual(r.targetLogit, 4.75, accuracy: 1e-6)
        XCTAssertEqual(r.baselineLogit, 0, accuracy: 1e-6)
        XCTAssertEqual(r.logitDrop, 4.75, accuracy: 1e-6)
        XCTAssertTrue(r.logitAreasDefined)
        XCTAssertTrue(r.probabilityAreasDefined)
        for (a, b) in zip(r.leaveOneOut!, contributions) { XCTAssertEqual(a, Double(b), accuracy: 1e-6) }
        // p = softmax over 10 logits, nine of them 0.
        XCTAssertEqual(r.targetProbability, exp(4.75) / (exp(4.75) + 9), accuracy: 1e-9)
        XCTAssertEqual(r.baselineProbability, 0.1, accuracy: 1e-9)
    }

    /// The exact contributions give the hand-computed areas; reversed, the mirror image.
    func testAreasByHand() throws {
        let e = try evaluator()
        let best = try e.score(contributions)
        // Deletion drops D(k) = 0, 3, 5, 5.5, 5.75, 4.75; area = (ΣD(1..4)/Δ + 1/2) / 5.
        let expected = (19.25 / 4.75 + 0.5) / 5
        XCTAssertEqual(best.deletionArea!, expected, accuracy: 1e-9)
        // Additive: keeping the top k recovers the same sums.
        XCTAssertEqual(best.insertionArea!, expected, accuracy: 1e-9)
        // Unnormalised: Δ times the normalised areas, in logits.
        XCTAssertEqual(best.deletionLogits, 4.75 * expected, accuracy: 1e-6)
        XCTAssertEqual(best[.insertionLogitUnits]!, 4.75 * expected, accuracy: 1e-6)
        XCTAssertEqual(best.deletion.counts, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(best.deletion.effectPresent(best.reference)!.first!, 1, accuracy: 1e-9)
        XCTAssertEqual(best.deletion.effectPresent(best.reference)!.last!, 0, accuracy: 1e-9)
        XCTAssertEqual(best.insertion.effectPresent(best.reference)!.first!, 0, accuracy: 1e-9)
        // Interpolated for a plot: x = 0.1 is halfway between k = 0 (1) and k = 1 (1 − 3/4.75).
        let plot = best.deletion.effectPresent(best.reference, at: [0, 0.1, 0.2, 1])!
        XCTAssertEqual(plot[0], 1, accuracy: 1e-9)
        XCTAssertEqual(plot[1], 1 - 1.5 / 4.75, accuracy: 1e-9)
        XCTAssertEqual(plot[2], 1 - 3 / 4.75, accuracy: 1e-9)
        XCTAssertEqual(plot[3], 0, accuracy: 1e-9)
        XCTAssertEqual(best.spearman!, 1, accuracy: 1e-12)
        XCTAssertEqual(best.pearson!, 1, accuracy: 1e-9)

        let worst = try e.score(contributions.map { -$0 })
        XCTAssertEqual(worst.deletionArea!, (-0.25 / 4.75 + 0.5) / 5, accuracy: 1e-9)
        XCTAssertEqual(worst.spearman!, -1, accuracy: 1e-12)
        XCTAssertEqual(worst.pearson!, -1, accuracy: 1e-9)
    }

    /// For an additive model every antithetic pair (π, reversed π) averages to exactly 1/2, and the
    /// exact order beats every other order at every k.
    func testRandomFloorAndOptimality() throws {
        let e = try evaluator(options: FaithfulnessOptions(randomOrders: 6, seed: 3))
        let random = try e.randomFloor()!
        XCTAssertEqual(random.deletionArea!, 0.5, accuracy: 1e-9)
        XCTAssertEqual(random.insertionArea!, 0.5, accuracy: 1e-9)
        let best = try e.score(contributions)
        let reversed = try e.score(contributions.map { -$0 })
        XCTAssertGreaterThan(best.deletionArea!, random.deletionArea!)
        XCTAssertLessThan(reversed.deletionArea!, random.deletionArea!)
        XCTAssertGreaterThan(best.insertionArea!, random.insertionArea!)
        XCTAssertLessThan(reversed.insertionArea!, random.insertionArea!)

        var rng = SplitMix64(seed: 11)
        for _ in 0..<40 {
            let a = (0..<5).map { _ in Float.random(in: -1...1, using: &rng) }
            let s = try e.score(a)
            XCTAssertLessThanOrEqual(s.deletionArea!, best.deletionArea! + 1e-12)
            XCTAssertLessThanOrEqual(s.insertionArea!, best.insertionArea! + 1e-12)
            XCTAssertLessThanOrEqual(s.deletionAreaProbability!, best.deletionAreaProbability! + 1e-12)
            XCTAssertLessThanOrEqual(s.insertionAreaProbability!, best.insertionAreaProbability! + 1e-12)
            for (x, y) in zip(s.deletion.logits, best.deletion.logits) { XCTAssertGreaterThanOrEqual(x, y - 1e-9) }
        }
        // Same seed, same floor; another seed, other orders (but still exactly 1/2 here).
        let again = try evaluator(options: FaithfulnessOptions(randomOrders: 6, seed: 3)).randomFloor()!
        XCTAssertEqual(again.deletion.logits, random.deletion.logits)
        let other = try evaluator(options: FaithfulnessOptions(randomOrders: 6, seed: 4)).randomFloor()!
        XCTAssertNotEqual(other.deletion.logits, random.deletion.logits)
    }

    func testZeroFullDropIsUndefinedAndCounted() throws {
        // Contributions 1, −1, 0.5, −0.5 sum to 0: no full drop to normalise by.
        let e = try evaluator([6, 7, 8, 9])
        let s = try e.score([1, -1, 0.5, -0.5])
        XCTAssertFalse(s.reference.logitAreasDefined)
        XCTAssertNil(s.deletionArea)
        XCTAssertNil(s.insertionArea)
        XCTAssertNil(s.deletionAreaProbability)
        // D(k) in the order 1, 0.5, −0.5, −1: 0, 1, 1.5, 1, 0 → (1 + 1.5 + 1) / 4 logits.
        XCTAssertEqual(s.deletionLogits, 3.5 / 4, accuracy: 1e-6)
        XCTAssertEqual(s.spearman!, 1, accuracy: 1e-12)
        let good = try evaluator().score(contributions)
        let summary = FaithfulnessSummary.measure([good.deletionArea, s.deletionArea], resamples: 100)
        XCTAssertEqual(summary.undefined, 1)
        XCTAssertEqual(summary.interval!.count, 1)
        XCTAssertEqual(summary.interval!.mean, good.deletionArea!, accuracy: 1e-12)
    }

    /// Positions after the target are never perturbed and do not count.
    func testInnerTargetPosition() throws {
        let e = try evaluator(position: 2)
        XCTAssertEqual(e.positions, 3)
        let s = try e.score(contributions)   // longer than n: the first n values are used
        XCTAssertEqual(s.reference.logitDrop, 2.5, accuracy: 1e-6)
        XCTAssertEqual(s.deletion.counts, [0, 1, 2, 3])
        // Order 0 (3), 2 (0.5), 1 (−1): D = 0, 3, 3.5, 2.5.
        XCTAssertEqual(s.deletionArea!, ((3 + 3.5) / 2.5 + 0.5) / 3, accuracy: 1e-9)
    }

    func testCurvePointsAtFractions() {
        let o = FaithfulnessOptions(maxCurvePoints: 4)
        XCTAssertEqual(o.curveCounts(3), [0, 1, 2, 3])
        XCTAssertEqual(o.curveCounts(4), [0, 1, 2, 3, 4])
        XCTAssertEqual(o.curveCounts(10), [0, 3, 5, 8, 10])
        XCTAssertEqual(FaithfulnessOptions(maxCurvePoints: 1).curveCounts(7), [0, 7])
    }

    /// Fractions: the trapezoid uses the actual x = k/n, so a linear curve still gives 1/2.
    func testAreaWithUnevenFractions() throws {
        let ones = [Int](repeating: 1, count: 10)
        let e = try FaithfulnessEvaluator(model: AdditiveModel(values: [0, 1]), tokenIDs: ones, targetTokenID: 0,
                                          baselineTokenID: 0, options: FaithfulnessOptions(maxCurvePoints: 4))
        let s = try e.score([Float](repeating: 1, count: 10))
        XCTAssertEqual(s.deletion.counts, [0, 3, 5, 8, 10])
        XCTAssertEqual(s.deletionArea!, 0.5, accuracy: 1e-9)
        XCTAssertNil(s.spearman, "a constant attribution has no rank correlation")
    }

    /// Inputs are memoized and batched: one call for everything a prompt needs.
    func testMemoAndBatching() throws {
        let m = AdditiveModel(values: model.values)
        let e = try FaithfulnessEvaluator(model: m, tokenIDs: tokens, targetTokenID: 0, baselineTokenID: 0,
                                          options: FaithfulnessOptions(randomOrders: 2))
        _ = try e.scores([contributions, contributions.map { -$0 }], includeRandom: true)
        XCTAssertEqual(m.batchCalls, 1)
        // ∅, all, 5 singles; deletion/insertion prefixes of each order (sets, deduplicated).
        let count = e.forwardCount
        XCTAssertLessThan(count, 7 + 4 * 2 * 4)
        _ = try e.score(contributions)
        _ = try e.randomFloor()
        XCTAssertEqual(e.forwardCount, count, "nothing new to run")
        XCTAssertEqual(m.batchCalls, 1)
        // Small batches: same numbers.
        let chunked = try FaithfulnessEvaluator(model: AdditiveModel(values: model.values), tokenIDs: tokens,
                                                targetTokenID: 0, baselineTokenID: 0,
                                                options: FaithfulnessOptions(randomOrders: 2, batchRows: 1))
        let a = try chunked.score(contributions), b = try e.score(contributions)
        XCTAssertEqual(a.deletion.logits, b.deletion.logits)
        XCTAssertEqual(a.insertion.probabilities, b.insertion.probabilities)
    }

    func testLeaveOneOutCanBeSkipped() throws {
        let m = AdditiveModel(values: model.values)
        let e = try FaithfulnessEvaluator(model: m, tokenIDs: tokens, targetTokenID: 0, baselineTokenID: 0,
                                          options: FaithfulnessOptions(randomOrders: 0, leaveOneOut: false))
        let s = try e.score(contributions)
        XCTAssertNil(s.reference.leaveOneOut)
        XCTAssertNil(s.spearman)
        XCTAssertEqual(s.deletionArea!, (19.25 / 4.75 + 0.5) / 5, accuracy: 1e-9)
        XCTAssertEqual(e.forwardCount, 2 + 2 * 4, "∅, all, and the 4 inner points of each curve")
        XCTAssertNil(try e.randomFloor())
    }

    func testCancellation() throws {
        let e = try evaluator()
        XCTAssertThrowsError(try e.score(contributions, cancel: { true })) { XCTAssertTrue($0 is CancellationError) }
        XCTAssertEqual(e.forwardCount, 0)
        XCTAssertNotNil(try e.score(contributions).deletionArea)
    }

    func testRejectsBadInput() throws {
        XCTAssertThrowsError(try evaluator(position: 5))
        XCTAssertThrowsError(try evaluator([1, 99]))
        let e = try evaluator()
        XCTAssertThrowsError(try e.score([1, 2]))
        XCTAssertThrowsError(try e.score([1, .nan, 0, 0, 0]))
    }

    func testContrastiveTargetUsesLogitDifference() throws {
        let e = try FaithfulnessEvaluator(model: model, tokenIDs: tokens, targetTokenID: 0, foilTokenID: 3,
                                          baselineTokenID: 0)
        let r = try e.reference()
        XCTAssertEqual(r.targetLogit, 4.75, accuracy: 1e-6)   // logit[3] is 0
        XCTAssertLessThan(r.targetProbability, exp(4.75) / (exp(4.75) + 9))
    }
}

final class FaithfulnessStatisticsTests: XCTestCase {
    func testRanksAndSpearman() {
        XCTAssertEqual(Statistics.ranks([10, 30, 20, 20]), [1, 4, 2.5, 2.5])
        XCTAssertEqual(Statistics.spearman([1, 2, 3, 4], [10, 100, 1000, 10000])!, 1, accuracy: 1e-12)
        XCTAssertEqual(Statistics.spearman([1, 2, 3, 4], [4, 3, 2, 1])!, -1, accuracy: 1e-12)
        XCTAssertNil(Statistics.spearman([1, 1, 1], [1, 2, 3]))
        XCTAssertNil(Statistics.pearsonIfDefined([0.1, 0.1, 0.1], [1, 2, 3]))
        // Against a textbook value: ρ = 1 − 6Σd²/(n(n²−1)) without ties.
        let a: [Double] = [3, 1, 4, 5, 9, 2], b: [Double] = [2, 7, 1, 8, 2.5, 6]
        let ra = Statistics.ranks(a), rb = Statistics.ranks(b)
        let d2 = zip(ra, rb).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        XCTAssertEqual(Statistics.spearman(a, b)!, 1 - 6 * d2 / (6 * 35), accuracy: 1e-12)
    }

    func testBootstrapInterval() {
        XCTAssertNil(Statistics.bootstrapMean([]))
        let one = Statistics.bootstrapMean([2])!
        XCTAssertEqual([one.mean, one.lower, one.upper], [2, 2, 2])
        var rng = SplitMix64(seed: 5)
        let v = (0..<400).map { _ in Double.random(in: 0..<1, using: &rng) }
        let i = Statistics.bootstrapMean(v, resamples: 2000, seed: 1)!
        XCTAssertLessThan(i.lower, i.mean)
        XCTAssertGreaterThan(i.upper, i.mean)
        // Standard error of a U(0,1) mean over 400 values: 0.2887/20 ≈ 0.0144; 95% half-width ≈ 0.028.
        XCTAssertEqual(i.upper - i.lower, 2 * 1.96 * 0.2887 / 20, accuracy: 0.008)
        XCTAssertEqual(Statistics.bootstrapMean(v, seed: 1), i, "seeded: reruns agree")
        let c = FaithfulnessSummary.compare([1, 2, nil, 4], [0, 3, 1, 4], resamples: 100)
        XCTAssertEqual([c.wins, c.losses, c.ties], [1, 1, 1])
        XCTAssertEqual(c.difference!.count, 3)
    }

    func testPromptSetParsing() throws {
        let set = try EvaluationPrompt.parse("""
        {"prompt": "The capital of France is", "category": "factual", "target": " Paris"}

        // a comment
        {"prompt": "2 + 2 ="}
        """)
        XCTAssertEqual(set, [EvaluationPrompt(prompt: "The capital of France is", category: "factual", target: " Paris"),
                             EvaluationPrompt(prompt: "2 + 2 =")])
        XCTAssertThrowsError(try EvaluationPrompt.parse("{\"text\": \"x\"}")) {
            XCTAssertTrue("\($0)".contains(":1:"))
        }
        XCTAssertThrowsError(try EvaluationPrompt.parse("\n\n"))
    }

    /// The shipped prompt set parses, is large enough and covers every category.
    func testShippedPromptSet() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let set = try EvaluationPrompt.load(path: root.appendingPathComponent("data/prompts.jsonl").path)
        XCTAssertGreaterThanOrEqual(set.count, 100)
        let categories = Set(set.compactMap(\.category))
        for c in ["factual", "agreement", "coreference", "arithmetic", "code", "multilingual"] {
            XCTAssertTrue(categories.contains(c), "missing category \(c)")
        }
        XCTAssertEqual(Set(set.map(\.prompt)).count, set.count, "duplicate prompts")
    }
}
