import XCTest
@testable import GIMEngine

/// The attention runs stripe by stripe of query rows and its backward recomputes scores and
/// probabilities (`CausalAttention.stripeRows`): results must not depend on the striping. Each
/// check uses stripes of 7 rows (many stripes, the last one short) against one stripe for the
/// whole prompt (what a [T, T] attention computes), on families with sliding windows and
/// soft-caps, at every knob setting; and finite differences through the striped backward.
final class StripedAttentionTests: XCTestCase {
    override func tearDown() { CausalAttention.stripeRows = 0 }

    static func folder(_ family: String) -> String { FamilyParityTests.directory(family).appendingPathComponent("hf").path }

    /// (logits at the last position, attributions per setting, GIM embedding gradient) with `stripe` rows per stripe.
    static func run(_ model: CausalLanguageModel, _ tokens: [Int], stripe: Int) throws -> ([Float], [[Float]], [Float]) {
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
            let (l1, a1, g1) = try Self.run(model, tokens, stripe: 7)
            let (l2, a2, g2) = try Self.run(model, tokens, stripe: 1000)
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

/// Long prompts keep only each block's input and the backward recomputes the block
/// (`DecoderModel.keptActivationBudget`): the same numbers as keeping everything, bit for bit.
final class CheckpointedForwardTests: XCTestCase {
    override func tearDown() { DecoderModel.keptActivationBudget = 1 << 30 }

    func testCheckpointedPassEqualsKeptPass() throws {
        // Post-norms (gemma2, gemma3), q/k norms (qwen3, gemma3), q/k/v biases (qwen2), fused
        // projections (phi3), the plain Llama block (llama3): the checkpoint (input and residual
        // after attention) gives back every activation the backward reads.
        for family in ["gemma2", "qwen3", "phi3", "gemma3", "qwen2", "llama3"] {
            let folder = StripedAttentionTests.folder(family)
            guard FileManager.default.fileExists(atPath: folder) else { throw XCTSkip("family fixtures missing") }
            let model = try ModelBundle.load(path: folder).model
            let tokens = (0..<40).map { ($0 * 29 + 5) % 300 }
            func run() throws -> ([Float], [Float], [Float], [Float]?, Bool) {
                let session = try ExplainSession(model: model, tokenIDs: tokens)
                let gim = try session.attribute(targetTokenID: 9, baselineTokenID: 0, settings: .gim).values
                let plain = try session.attribute(targetTokenID: 9, targetPosition: -5, baselineTokenID: 0, settings: .plain).values
                let cache = session.cache as! DecoderForwardCache
                let components = [GradientSite.attentionOutput(layer: 1), .headOutputs(layer: 0), .blockOutput(layer: 1), .blockInput(layer: 1)]
                    .flatMap { cache.componentOutput($0) ?? [] }
                return (try session.logits(at: 39), gim, plain, components, cache.checkpointed)
            }
            DecoderModel.keptActivationBudget = 1 << 30
            let kept = try run()
            DecoderModel.keptActivationBudget = 0
            let checkpointed = try run()
            XCTAssertFalse(kept.4)
            XCTAssertTrue(checkpointed.4, family)
            XCTAssertEqual(kept.0, checkpointed.0, "\(family) logits")
            XCTAssertEqual(kept.1, checkpointed.1, "\(family) GIM attributions")
            XCTAssertEqual(kept.2, checkpointed.2, "\(family) plain attributions")
            XCTAssertEqual(kept.3, checkpointed.3, "\(family) attention, head and MLP outputs")
            XCTAssertFalse(kept.3?.isEmpty ?? true)
        }
    }

    /// GIM and the plain gradient side by side on a checkpointed pass (one recomputation per layer
    /// for both: `DecoderBackward.runTogether`) equal each run alone, bit for bit, with a foil and
    /// an argmax target; and three settings at once, twice on the same session (reused backwards).
    func testBackwardsTogetherEqualEachAlone() throws {
        for family in ["gemma2", "qwen3"] {
            let folder = StripedAttentionTests.folder(family)
            guard FileManager.default.fileExists(atPath: folder) else { throw XCTSkip("family fixtures missing") }
            let model = try ModelBundle.load(path: folder).model
            let tokens = (0..<40).map { ($0 * 29 + 5) % 300 }
            DecoderModel.keptActivationBudget = 0
            let session = try ExplainSession(model: model, tokenIDs: tokens)
            XCTAssertTrue((session.cache as! DecoderForwardCache).checkpointed)
            var ablation = GIMSettings.gim
            ablation.softmaxTemperature = 1
            let settings: [GIMSettings] = [.gim, .plain, ablation]
            for (target, foil, position) in [(Optional(9), Optional(4), -3), (nil, nil, -1)] {
                for count in [2, 3, 3] {
                    let together = try session.attributeTogether(targetTokenID: target, targetPosition: position,
                                                                 foilTokenID: foil, baselineTokenID: 0,
                                                                 settings: Array(settings.prefix(count)))
                    XCTAssertEqual(together.count, count)
                    for (a, s) in zip(together, settings) {
                        let alone = try session.attribute(targetTokenID: target, targetPosition: position, foilTokenID: foil,
                                                          baselineTokenID: 0, settings: s)
                        XCTAssertEqual(a.values, alone.values, "\(family) \(s)")
                        XCTAssertEqual(a.targetTokenID, alone.targetTokenID)
                        XCTAssertEqual(a.targetLogit, alone.targetLogit)
                    }
                }
            }
        }
    }

    /// The figure a long prompt is checked against grows linearly, and checkpointing keeps it
    /// near T·D per layer: SmolLM2's shape at 4096 tokens needs well under 1 GB of activations.
    func testActivationMemoryIsLinearInLength() throws {
        let c = DecoderConfig(vocabSize: 49152, dim: 576, layers: 30, heads: 9, kvHeads: 3, headDim: 64, ffnDim: 1536,
                              ropeBase: 100000, contextLength: 8192)
        let at = [512, 1024, 2048, 4096, 8192].map { c.activationBytes(tokens: $0) }
        XCTAssertLessThan(at[3], 900_000_000, "4096 tokens: \(at[3]) bytes")
        XCTAssertLessThan(Double(at[4]) / Double(at[3]), 2.3)
        XCTAssertGreaterThan(c.keptBytes(tokens: 4096), DecoderModel.keptActivationBudget)
        XCTAssertLessThan(c.keptBytes(tokens: 1024), DecoderModel.keptActivationBudget)
    }
}
