import XCTest
@testable import GIMEngine

/// A tiny random Llama (GGUF layout, adjacent-pair RoPE) written by scripts/reference/make_fixtures.py
/// with its logits, embedding gradients and attributions from the PyTorch reference in float64.
final class TinyParityTests: XCTestCase {
    static func loadModel() throws -> (DecoderModel, [[String: Any]]) {
        let fx = try Fixtures.json("tiny_llama")
        let cfg = fx["config"] as! [String: Any]
        func i(_ k: String) -> Int { (cfg[k] as! NSNumber).intValue }
        let c = DecoderConfig(vocabSize: i("vocab_size"), dim: i("dim"), layers: i("n_layers"), heads: i("n_heads"),
                            kvHeads: i("n_kv_heads"), headDim: i("head_dim"), ffnDim: i("ffn_dim"),
                            ropeBase: Float((cfg["rope_base"] as! NSNumber).doubleValue),
                            rmsEps: Float((cfg["rms_eps"] as! NSNumber).doubleValue), contextLength: 64,
                            ropeLayout: RoPELayout(rawValue: cfg["rope_layout"] as! String)!,
                            tiedOutput: cfg["tied"] as! Bool)
        let w = fx["weights"] as! [String: Any]
        func t(_ name: String) -> [Float] { (w[name] as! [Any]).floats }
        let layers = (0..<c.layers).map { l -> DecoderLayerWeights in
            let p = "blk.\(l)."
            return DecoderLayerWeights(
                attnNorm: FloatBuffer(t(p + "attn_norm")),
                wqkv: FloatBuffer(t(p + "attn_q") + t(p + "attn_k") + t(p + "attn_v")),
                wo: FloatBuffer(t(p + "attn_output")), ffnNorm: FloatBuffer(t(p + "ffn_norm")),
                wGateUp: FloatBuffer(t(p + "ffn_gate") + t(p + "ffn_up")), wDown: FloatBuffer(t(p + "ffn_down")))
        }
        let weights = try DecoderWeights(config: c, tokenEmbedding: FloatBuffer(t("token_embd")),
                                       outputNorm: FloatBuffer(t("output_norm")),
                                       output: c.tiedOutput ? nil : FloatBuffer(t("output")), layers: layers)
        return (DecoderModel(weights: weights), fx["cases"] as! [[String: Any]])
    }

    static func settings(_ d: [String: Any]) -> GIMSettings {
        func f(_ k: String) -> Float { Float((d[k] as! NSNumber).doubleValue) }
        return GIMSettings(freezeNorm: d["freeze_norm"] as! Bool, softmaxTemperature: f("softmax_temperature"),
                           qScale: f("q_scale"), kScale: f("k_scale"), vScale: f("v_scale"),
                           gateScale: f("gate_scale"), upScale: f("up_scale"))
    }

    func testLogitsAndAttributionsMatchReference() throws {
        let (model, cases) = try Self.loadModel()
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        var settingsSeen = Set<String>()
        for c in cases {
            let ids = (c["token_ids"] as! [Any]).ints
            let session = try ExplainSession(model: model, tokenIDs: ids)
            let name = c["setting"] as! String
            settingsSeen.insert(name)

            let logits = (c["logits"] as! [[Any]]).map(\.floats)
            for (p, row) in logits.enumerated() {
                let got = try session.logits(at: p)
                let scale = row.map(abs).max()!
                for v in row.indices {
                    XCTAssertEqual(got[v], row[v], accuracy: 1e-4 * scale, "logit \(v) at \(p) for \(ids)")
                }
            }

            let a = try session.attribute(targetTokenID: (c["target_token_id"] as! NSNumber).intValue,
                                          targetPosition: (c["target_position"] as! NSNumber).intValue,
                                          baselineTokenID: (c["baseline_token_id"] as! NSNumber).intValue,
                                          settings: Self.settings(c["settings"] as! [String: Any]))
            let expected = (c["attributions"] as! [Any]).floats
            let scale = expected.map(abs).max()!
            XCTAssertGreaterThan(scale, 0)
            for t in expected.indices {
                XCTAssertEqual(a.values[t], expected[t], accuracy: 1e-4 * scale, "\(name) attribution \(t) for \(ids)")
            }
            XCTAssertEqual(Double(a.targetLogit), (c["target_logit"] as! NSNumber).doubleValue, accuracy: 1e-4 * max(1, abs(Double(a.targetLogit))))

            // The full embedding gradient, not only its dot products.
            let grad = (c["embedding_grad"] as! [[Any]]).flatMap(\.floats)
            var seed = [Float](repeating: 0, count: ids.count * model.config.dim)
            let d = model.config.dim, target = (c["target_token_id"] as! NSNumber).intValue
            for j in 0..<d { seed[a.targetPosition * d + j] = model.weights.output.row(target)[j] }
            let g = try session.backward(seed: seed, settings: Self.settings(c["settings"] as! [String: Any]))
            let gscale = grad.map(abs).max()!
            for k in grad.indices { XCTAssertEqual(g[k], grad[k], accuracy: 1e-4 * gscale, "\(name) grad \(k)") }
        }
        XCTAssertTrue(settingsSeen.isSuperset(of: ["plain", "gim", "gim_014", "freeze_only", "temperature_only", "qkv_only", "gateup_only"]))
    }
}
