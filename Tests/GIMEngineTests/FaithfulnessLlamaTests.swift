import XCTest
@testable import GIMEngine

/// The batched Llama forward and the faithfulness measures on tiny Llamas.
final class FaithfulnessLlamaTests: XCTestCase {
    /// batchLogits must equal one ordinary forward per input, at the last and at an inner position,
    /// through the protocol (the Llama override, not the default loop) as well as directly.
    func testBatchLogitsMatchSingleForwards() throws {
        var neox = TinyLlama.config
        neox.ropeLayout = .neox
        neox.tiedOutput = false
        for (seed, config) in [(UInt64(1), TinyLlama.config), (2, neox)] {
            let model = try TinyLlama.random(seed: seed, config: config)
            let tokens = [3, 17, 5, 29, 11, 2, 8]
            let d = model.dim
            var rng = SplitMix64(seed: seed)
            let base = try model.forward(tokens).embeddings.array
            let inputs = (0..<5).map { i -> [Float] in
                var e = base
                // Replace some rows by another token's embedding, and jitter the rest.
                for t in 0..<tokens.count where (t + i) % 3 == 0 {
                    for j in 0..<d { e[t * d + j] = model.weights.tokenEmbedding.row(9)[j] }
                }
                for j in e.indices { e[j] += 0.05 * Float.random(in: -1...1, using: &rng) }
                return e
            }
            for position in [tokens.count - 1, 3, 0] {
                let batched = try (model as any CausalLanguageModel).batchLogits(tokens: tokens, embeddings: inputs, at: position)
                XCTAssertEqual(batched.count, inputs.count)
                for (e, logits) in zip(inputs, batched) {
                    let single = model.logits(try model.forward(tokens, embeddings: e), at: position)
                    let scale = single.map(abs).max()!
                    let err = zip(single, logits).map { abs($0 - $1) }.max()!
                    XCTAssertLessThan(err / scale, 1e-5, "seed \(seed) position \(position)")
                }
            }
        }
    }

    func testBatchLogitsRejectsBadShapes() throws {
        let model = try TinyLlama.random()
        XCTAssertThrowsError(try model.batchLogits(tokens: [1, 2], embeddings: [[Float](repeating: 0, count: 5)], at: 1))
        XCTAssertThrowsError(try model.batchLogits(tokens: [1, 2], embeddings: [], at: 2))
        XCTAssertEqual(try model.batchLogits(tokens: [1, 2], embeddings: [], at: 1).count, 0)
    }

    /// A tiny Llama whose logit is additive over tokens up to rounding: queries and keys are zero
    /// (uniform causal attention), the MLP is off (gate and up weights zero), and every embedding,
    /// the baseline's included, carries a large constant in dimension 0 so every RMS is nearly the
    /// same for all inputs. The target logit is then ≈ a fixed linear function of the embeddings,
    /// so the leave-one-out order is (nearly) the best deletion order by construction, and the
    /// plain gradient × (input − baseline) equals the leave-one-out effects.
    static func nearlyAdditiveModel() throws -> DecoderModel {
        var c = TinyLlama.config
        c.tiedOutput = false
        var rng = SeededRandom(seed: 21)
        func buf(_ n: Int, _ scale: Float, around: Float = 0) -> FloatBuffer {
            FloatBuffer((0..<n).map { _ in around + scale * rng.normal() })
        }
        let layers = (0..<c.layers).map { _ -> DecoderLayerWeights in
            var qkv = [Float](repeating: 0, count: c.qkvDim * c.dim)
            // Only the value rows (after q and k) are non-zero.
            for i in (c.attnDim + c.kvHeads * c.headDim) * c.dim..<qkv.count { qkv[i] = 0.5 * rng.normal() }
            return DecoderLayerWeights(attnNorm: buf(c.dim, 0, around: 1), wqkv: FloatBuffer(qkv),
                                     wo: buf(c.dim * c.attnDim, 0.3), ffnNorm: buf(c.dim, 0, around: 1),
                                     wGateUp: FloatBuffer(count: 2 * c.ffnDim * c.dim), wDown: buf(c.dim * c.ffnDim, 0.3))
        }
        var emb = (0..<c.vocabSize * c.dim).map { _ in rng.normal() }
        for v in 0..<c.vocabSize { emb[v * c.dim] = 100 }
        let w = try DecoderWeights(config: c, tokenEmbedding: FloatBuffer(emb), outputNorm: buf(c.dim, 0, around: 1),
                                 output: buf(c.vocabSize * c.dim, 20), layers: layers)
        return DecoderModel(weights: w)
    }

    func testLeaveOneOutOrderScoresBestOnANearlyAdditiveLlama() throws {
        let model = try Self.nearlyAdditiveModel()
        let tokens = [4, 9, 13, 22, 31, 7, 18, 26]
        let baseline = 0
        // Target: the token whose logit the prompt raises most over the all-baseline input.
        let allBaseline = model.logits(try model.forward([Int](repeating: baseline, count: tokens.count)), at: 7)
        let session = try ExplainSession(model: model, tokenIDs: tokens)
        let raised = zip(try session.logits(at: 7), allBaseline).map { $0 - $1 }
        let target = ExplainSession.argmax(raised)
        let plain = try session.attribute(targetTokenID: target, baselineTokenID: baseline, settings: .plain)
        let gim = try session.attribute(targetTokenID: plain.targetTokenID, baselineTokenID: baseline, settings: .gim)
        let e = try FaithfulnessEvaluator(model: model, attribution: plain, options: FaithfulnessOptions(randomOrders: 8))
        let r = try e.reference()
        XCTAssertGreaterThan(r.logitDrop, 0.5, "the construction should leave a clear full drop")
        // Additivity check: the leave-one-out effects sum to the full drop.
        XCTAssertEqual(r.leaveOneOut!.reduce(0, +), r.logitDrop, accuracy: 0.005 * r.logitDrop)

        let loo = r.leaveOneOut!.map(Float.init)
        let best = try e.score(loo)
        let reversed = try e.score(loo.map { -$0 })
        let random = try e.randomFloor()!
        XCTAssertEqual(best.spearman!, 1, accuracy: 1e-12)
        XCTAssertEqual(best.pearson!, 1, accuracy: 1e-9)
        XCTAssertGreaterThan(best.deletionArea!, random.deletionArea! + 0.1)
        XCTAssertLessThan(reversed.deletionArea!, random.deletionArea! - 0.1)
        XCTAssertGreaterThan(best.insertionArea!, random.insertionArea! + 0.1)
        XCTAssertLessThan(reversed.insertionArea!, random.insertionArea! - 0.1)
        XCTAssertEqual(random.deletionArea!, 0.5, accuracy: 0.02)
        var rng = SplitMix64(seed: 2)
        for _ in 0..<20 {
            let s = try e.score((0..<tokens.count).map { _ in Float.random(in: -1...1, using: &rng) })
            XCTAssertLessThanOrEqual(s.deletionArea!, best.deletionArea! + 0.01)
        }

        // On a linear model gradient × (input − baseline) is the exact effect.
        let p = try e.score(plain.values)
        XCTAssertGreaterThan(p.spearman!, 0.95)
        XCTAssertGreaterThan(p.pearson!, 0.99)
        XCTAssertEqual(p.deletionArea!, best.deletionArea!, accuracy: 0.01)
        // GIM runs through the same path (its numbers on this model are not the point).
        XCTAssertNotNil(try e.score(gim.values).deletionArea)
    }

    /// End to end on a random tiny Llama: one batched call per prompt, and the measures are in range.
    func testScoresOnARandomTinyLlama() throws {
        let model = try TinyLlama.random(seed: 5)
        let session = try ExplainSession(model: model, tokenIDs: [5, 6, 7, 8, 9, 10, 11, 12, 13])
        let gim = try session.attribute(baselineTokenID: 0, settings: .gim)
        let plain = try session.attribute(targetTokenID: gim.targetTokenID, baselineTokenID: 0, settings: .plain)
        let e = try FaithfulnessEvaluator(model: model, attribution: gim)
        let (scores, random) = try e.scores([gim.values, plain.values])
        let r = try e.reference()
        XCTAssertEqual(r.targetLogit, Double(gim.targetLogit), accuracy: 1e-4 * max(1, abs(r.targetLogit)))
        for s in scores + [random!] {
            XCTAssertEqual(s.deletion.logits.first!, r.targetLogit)
            XCTAssertEqual(s.deletion.logits.last!, r.baselineLogit)
            XCTAssertEqual(s.insertion.logits.first!, r.baselineLogit)
            XCTAssertEqual(s.insertion.logits.last!, r.targetLogit)
            if let c = s.spearman { XCTAssertTrue((-1...1).contains(c)) }
        }
        // Leave-one-out from the evaluator equals separate forwards.
        let d = model.dim
        var x = session.cache.embeddings.array
        for j in 0..<d { x[2 * d + j] = model.weights.tokenEmbedding.row(0)[j] }
        let f = model.logits(try model.forward(session.tokenIDs, embeddings: x), at: 8)[gim.targetTokenID]
        XCTAssertEqual(r.leaveOneOut![2], r.targetLogit - Double(f), accuracy: 1e-4 * max(1, abs(r.targetLogit)))
    }
}
