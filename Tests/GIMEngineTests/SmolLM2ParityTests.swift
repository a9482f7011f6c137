import XCTest
@testable import GIMEngine

/// The real default model against PyTorch/transformers on the same GGUF weights
/// (fixtures from scripts/reference/make_fixtures.py).
final class SmolLM2ParityTests: XCTestCase {
    /// Loaded once for the whole test class (a static let runs once): dequantizing takes a moment.
    static let shared = Result {
        DecoderModel(weights: try DecoderWeights(gguf: try GGUFFile(path: try Fixtures.defaultModelPath())))
    }

    static func model() throws -> DecoderModel { try shared.get() }

    func testConfigurationOfTheDefaultModel() throws {
        let g = try GGUFFile(path: try Fixtures.defaultModelPath())
        XCTAssertEqual(g.tensors.count, 272)
        let c = try DecoderConfig(gguf: g)
        XCTAssertEqual(c, DecoderConfig(vocabSize: 49152, dim: 576, layers: 30, heads: 9, kvHeads: 3, headDim: 64,
                                      ffnDim: 1536, ropeBase: 100000, rmsEps: 1e-5, contextLength: 8192,
                                      ropeLayout: .normal, tiedOutput: true))
        XCTAssertEqual(g.tensors["token_embd.weight"]?.type, .q8_0)
        XCTAssertEqual(g.tensors["blk.0.attn_q.weight"]?.type, .q4_1)
    }

    func testLastPositionLogitsMatchTransformers() throws {
        let model = try Self.model()
        let fx = try Fixtures.json("forward_smollm2")
        let cases = fx["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        var worst: Float = 0
        defer { print("forward parity on SmolLM2: \(cases.count) prompts, worst max |logit diff| = \(worst)") }
        for c in cases {
            let ids = (c["token_ids"] as! [Any]).ints
            let session = try ExplainSession(model: model, tokenIDs: ids)
            let logits = try session.logits(at: -1)
            let top5 = Array(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5))
            XCTAssertEqual(top5, (c["top5_ids"] as! [Any]).ints, "top-5 for \(c["prompt"]!)")
            var maxDiff: Float = 0
            for pair in c["top20"] as! [[Any]] {
                let id = (pair[0] as! NSNumber).intValue, v = Float((pair[1] as! NSNumber).doubleValue)
                maxDiff = max(maxDiff, abs(logits[id] - v))
            }
            let sampled = c["sampled_logits"] as! [String: Any]
            let stride = (sampled["stride"] as! NSNumber).intValue
            for (k, v) in (sampled["values"] as! [Any]).floats.enumerated() {
                maxDiff = max(maxDiff, abs(logits[k * stride] - v))
            }
            XCTAssertLessThan(maxDiff, 1e-3, "max |logit difference| for \(c["prompt"]!)")
            worst = max(worst, maxDiff)
        }
    }

    func testAttributionsMatchReferenceForEverySetting() throws {
        let model = try Self.model()
        let fx = try Fixtures.json("gim_smollm2")
        let cases = fx["cases"] as! [[String: Any]]
        var sessions: [[Int]: ExplainSession] = [:]
        var prompts = Set<[Int]>(), settingsSeen = Set<String>()
        var worstRelative: Float = 0, worstPearson = 1.0
        for c in cases {
            let ids = (c["token_ids"] as! [Any]).ints
            let session = try sessions[ids] ?? ExplainSession(model: model, tokenIDs: ids)
            sessions[ids] = session
            let name = c["setting"] as! String
            let a = try session.attribute(targetTokenID: (c["target_token_id"] as! NSNumber).intValue,
                                          targetPosition: (c["target_position"] as! NSNumber).intValue,
                                          baselineTokenID: (c["baseline_token_id"] as! NSNumber).intValue,
                                          settings: TinyParityTests.settings(c["settings"] as! [String: Any]))
            let expected = (c["attributions"] as! [Any]).floats
            XCTAssertEqual(a.values.count, expected.count)
            let scale = expected.map(abs).max()!
            let maxDiff = zip(a.values, expected).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(maxDiff, 1e-3 * scale, "\(name) on \(c["prompt"]!): max diff \(maxDiff), scale \(scale)")
            let r = Statistics.pearson(a.values, expected)
            XCTAssertGreaterThanOrEqual(r, 0.999, "\(name) on \(c["prompt"]!)")
            worstRelative = max(worstRelative, maxDiff / scale)
            worstPearson = min(worstPearson, r)
            prompts.insert(ids)
            settingsSeen.insert(name)
        }
        print("GIM parity on SmolLM2: \(cases.count) cases, worst max|diff|/max|attr| = \(worstRelative), worst Pearson = \(worstPearson)")
        XCTAssertGreaterThanOrEqual(prompts.count, 10)
        XCTAssertTrue(settingsSeen.isSuperset(of: ["plain", "gim", "gim_014", "freeze_only", "temperature_only", "qkv_only", "gateup_only"]))
    }
}
