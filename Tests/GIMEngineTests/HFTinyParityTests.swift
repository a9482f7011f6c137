import XCTest
@testable import GIMEngine

/// Tiny random GPT-2 and Llama models saved by transformers as Hugging Face folders
/// (Fixtures/hf/, written by scripts/reference/make_hf_fixtures.py), loaded through
/// `ModelBundle.load(path:)`, against the float64 PyTorch references (logits at every position,
/// attributions and embedding gradients for several GIM settings and targets).
final class HFTinyParityTests: XCTestCase {
    static func folder(_ name: String) -> String {
        Fixtures.repoRoot.appendingPathComponent("Tests/GIMEngineTests/Fixtures/hf/\(name)").path
    }

    /// Checks one fixture (the same per-sequence checks as every family's, `FamilyParityTests.check`);
    /// returns the worst relative differences (logits, attributions, gradients).
    func check(fixture: String, folder: String, expectedArchitecture: String) throws -> (Double, Double, Double) {
        let bundle = try ModelBundle.load(path: Self.folder(folder))
        XCTAssertEqual(bundle.model.architecture, expectedArchitecture)
        let fx = try Fixtures.json(fixture)
        XCTAssertEqual((fx["sequences"] as! [Any]).count, 3)
        return try FamilyParityTests.check(bundle, section: fx, label: folder)
    }

    func testTinyGPT2MatchesReference() throws {
        _ = try check(fixture: "hf_tiny_gpt2", folder: "tiny-gpt2", expectedArchitecture: "gpt2")
    }

    func testTinyLlamaMatchesReference() throws {
        _ = try check(fixture: "hf_tiny_llama", folder: "tiny-llama", expectedArchitecture: "llama")
    }

    /// The folder's configuration and tokenizer come through as transformers saved them.
    func testTinyFoldersLoadTheirConfiguration() throws {
        let gpt2 = try ModelBundle.load(path: Self.folder("tiny-gpt2"))
        let g = try XCTUnwrap(gpt2.model as? GPT2Model)
        XCTAssertEqual(g.config, GPT2Config(vocabSize: 512, contextLength: 64, dim: 32, layers: 2, heads: 4))
        XCTAssertEqual(gpt2.name, "tiny-gpt2")
        XCTAssertEqual(gpt2.tokenizer.preTokenizerKind, .gpt2)
        XCTAssertFalse(gpt2.tokenizer.addBOS)
        XCTAssertEqual(try gpt2.inferredBaseline(), 221)  // "Ġ"

        let llama = try ModelBundle.load(path: Self.folder("tiny-llama"))
        let l = try XCTUnwrap(llama.model as? DecoderModel)
        XCTAssertEqual(l.config, DecoderConfig(vocabSize: 513, dim: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8,
                                             ffnDim: 64, ropeBase: 1000, rmsEps: 1e-5, contextLength: 64,
                                             ropeLayout: .neox, tiedOutput: false))
        XCTAssertEqual(llama.tokenizer.preTokenizerKind, .llama3)
        XCTAssertTrue(llama.tokenizer.addBOS)
        XCTAssertEqual(llama.tokenizer.bosID, 0)
        XCTAssertEqual(llama.tokenizer.eosID, 1)
        XCTAssertEqual(llama.tokenizer.padID, 2)
        XCTAssertEqual(llama.encode("The capital").first, 0)
    }

    /// On GPT-2 the gate/up scales have nothing to act on; the other knobs each change the result.
    func testGPT2KnobsThatApply() throws {
        let bundle = try ModelBundle.load(path: Self.folder("tiny-gpt2"))
        let session = try ExplainSession(model: bundle.model, tokenIDs: bundle.encode("The capital of France is"))
        let base = try bundle.inferredBaseline()
        let plain = try session.attribute(baselineTokenID: base, settings: .plain).values
        func moved(_ s: GIMSettings) throws -> Float {
            let v = try session.attribute(baselineTokenID: base, settings: s).values
            return zip(v, plain).map { abs($0 - $1) }.max()!
        }
        var s = GIMSettings.plain
        s.gateScale = 0.5
        s.upScale = 0.5
        XCTAssertEqual(try moved(s), 0)
        for knob in 0..<5 {
            var k = GIMSettings.plain
            switch knob {
            case 0: k.freezeNorm = true
            case 1: k.softmaxTemperature = 2
            case 2: k.qScale = 0.25
            case 3: k.kScale = 0.25
            default: k.vScale = 0.5
            }
            XCTAssertGreaterThan(try moved(k), 1e-4, "knob \(knob)")
        }
    }

    /// Finite differences on the plain gradient through a GPT-2 (LayerNorm, GELU, positions).
    func testGPT2PlainGradientMatchesFiniteDifferences() throws {
        let bundle = try ModelBundle.load(path: Self.folder("tiny-gpt2"))
        let model = bundle.model
        let ids = Array(bundle.encode("Once upon a time").prefix(6))
        let session = try ExplainSession(model: model, tokenIDs: ids)
        let target = 17, d = model.dim, t = ids.count
        var seed = [Float](repeating: 0, count: t * d)
        for j in 0..<d { seed[(t - 1) * d + j] = model.outputHead.row(target)[j] }
        let g = try session.backward(seed: seed, settings: .plain)
        let e = session.cache.embeddings.array
        func logit(_ x: [Float]) throws -> Double {
            Double(model.logits(try model.forwardPass(ids, embeddings: x), at: t - 1)[target])
        }
        let h: Float = 1e-2
        for k in stride(from: 0, to: t * d, by: 13) {
            var up = e, down = e
            up[k] += h
            down[k] -= h
            let numeric = (try logit(up) - logit(down)) / Double(2 * h)
            XCTAssertEqual(Double(g[k]), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "element \(k)")
        }
    }

    func testUnsupportedArchitectureIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gim-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"model_type": "mamba", "architectures": ["MambaForCausalLM"]}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelBundle.load(path: dir.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("mamba") && text.contains("MambaForCausalLM") && text.contains("supported"), text)
        }
        // A mixture-of-experts model is refused naming the feature.
        try #"{"model_type": "qwen2_moe", "architectures": ["Qwen2MoeForCausalLM"]}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelBundle.load(path: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("qwen2_moe") && "\(error)".contains("mixture-of-experts"), "\(error)")
        }
        // A folder without config.json says what a model folder holds.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try ModelBundle.load(path: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
        }
    }

    /// A Llama config that asks for what the engine does not run is refused by name.
    func testUnsupportedLlamaVariantsAreNamed() throws {
        func config(_ json: String) throws -> HFDecoderConfig { try JSONDecoder().decode(HFDecoderConfig.self, from: Data(json.utf8)) }
        let base = #""model_type": "llama", "hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 1, "intermediate_size": 64, "vocab_size": 10"#
        XCTAssertThrowsError(try config("{\(base), \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 8}}").decoderConfig(path: "c")) {
            XCTAssertTrue("\($0)".contains("yarn"), "\($0)")
        }
        XCTAssertThrowsError(try config("{\(base), \"attention_bias\": true}").decoderConfig(path: "c")) {
            XCTAssertTrue("\($0)".contains("attention_bias"), "\($0)")
        }
        let v4 = try config("{\(base), \"rope_theta\": 500000.0, \"rope_scaling\": null}").decoderConfig(path: "c")
        XCTAssertEqual(v4.ropeBase, 500000)
        XCTAssertEqual(v4.kvHeads, 4)
        XCTAssertEqual(v4.headDim, 8)
        XCTAssertEqual(v4.rmsEps, 1e-6)
        XCTAssertEqual(v4.ropeLayout, .neox)
        XCTAssertFalse(v4.tiedOutput)
        let v5 = try config("{\(base), \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000.0}}").decoderConfig(path: "c")
        XCTAssertEqual(v5.ropeBase, 1000)
    }
}
