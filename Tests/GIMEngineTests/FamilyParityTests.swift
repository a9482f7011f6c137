import XCTest
@testable import GIMEngine

/// Tiny random models of every decoder family (Fixtures/families/<name>/, written by
/// scripts/reference/make_family_fixtures.py with transformers' own classes): the Hugging Face
/// folder against the float64 reference of its weights, and the GGUF written from it (llama.cpp's
/// names and layout, ffn_down in a k-quant) against the reference of its dequantized weights.
/// Logits at every position, GIM attributions for every knob setting, embedding gradients.
final class FamilyParityTests: XCTestCase {
    static let families = ["llama2", "llama3", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3"]

    static func directory(_ family: String) -> URL {
        Fixtures.repoRoot.appendingPathComponent("Tests/GIMEngineTests/Fixtures/families/\(family)")
    }

    static func reference(_ family: String) throws -> [String: Any] {
        let url = directory(family).appendingPathComponent("reference.json")
        guard let data = try? Data(contentsOf: url),
              let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw XCTSkip("family fixture \(family) is missing (scripts/reference/make_family_fixtures.py)")
        }
        return obj
    }

    /// max |got − expected| / max |expected|
    static func relative(_ got: [Float], _ expected: [Float]) -> Double {
        let scale = Double(expected.map(abs).max() ?? 0)
        let diff = zip(got, expected).map { Double(abs($0 - $1)) }.max() ?? 0
        return scale > 0 ? diff / scale : diff
    }

    /// Checks one section ("hf" or "gguf") of a family's reference against `bundle`; returns the
    /// worst relative differences (logits, attributions, embedding gradients).
    @discardableResult
    static func check(_ bundle: ModelBundle, section: [String: Any], label: String,
                      tolerance: Double = 1e-4) throws -> (Double, Double, Double) {
        var worst = (0.0, 0.0, 0.0)
        var settingsSeen = Set<String>()
        let sequences = section["sequences"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(sequences.count, 2, label)
        for s in sequences {
            let ids = (s["token_ids"] as! [Any]).ints
            let session = try ExplainSession(model: bundle.model, tokenIDs: ids)
            for (p, row) in (s["logits"] as! [[Any]]).map(\.floats).enumerated() {
                let r = relative(try session.logits(at: p), row)
                worst.0 = max(worst.0, r)
                XCTAssertLessThan(r, tolerance, "\(label) logits at \(p)")
            }
            for run in s["runs"] as! [[String: Any]] {
                let name = run["setting"] as! String
                settingsSeen.insert(name)
                let settings = TinyParityTests.settings(run["settings"] as! [String: Any])
                let target = (run["target_token_id"] as! NSNumber).intValue
                let a = try session.attribute(targetTokenID: target,
                                              targetPosition: (run["target_position"] as! NSNumber).intValue,
                                              baselineTokenID: (run["baseline_token_id"] as! NSNumber).intValue,
                                              settings: settings)
                XCTAssertEqual(a.targetPosition, (run["target_index"] as! NSNumber).intValue, label)
                let r = relative(a.values, (run["attributions"] as! [Any]).floats)
                worst.1 = max(worst.1, r)
                XCTAssertLessThan(r, tolerance, "\(label) \(name) attributions")
                let logit = (run["target_logit"] as! NSNumber).doubleValue
                XCTAssertEqual(Double(a.targetLogit), logit, accuracy: tolerance * max(1, abs(logit)), "\(label) \(name) logit")

                guard let expected = run["embedding_grad"] as? [[Any]] else { continue }
                // The whole embedding gradient, not only its dot products.
                let row = BackwardSeed.row(model: bundle.model, pass: session.cache, position: a.targetPosition,
                                           target: target, foil: nil)
                var seed = [Float](repeating: 0, count: ids.count * bundle.model.dim)
                for j in row.indices { seed[a.targetPosition * bundle.model.dim + j] = row[j] }
                let g = try session.backward(seed: seed, settings: settings)
                let rg = relative(g, expected.flatMap(\.floats))
                worst.2 = max(worst.2, rg)
                XCTAssertLessThan(rg, tolerance, "\(label) \(name) embedding gradient")
            }
        }
        XCTAssertTrue(settingsSeen.isSuperset(of: ["plain", "gim", "gim_014", "freeze_only", "temperature_only", "qkv_only", "gateup_only"]),
                      "\(label): settings \(settingsSeen.sorted())")
        print("\(label): max relative diff vs PyTorch float64: logits \(worst.0), attributions \(worst.1), embedding gradients \(worst.2)")
        return worst
    }

    func checkFamily(_ family: String, architecture: String) throws {
        let fx = try Self.reference(family)
        let dir = Self.directory(family)
        let folder = try ModelBundle.load(path: dir.appendingPathComponent("hf").path)
        XCTAssertEqual(folder.model.architecture, architecture)
        try Self.check(folder, section: fx["hf"] as! [String: Any], label: "\(family) folder")
        let ggufPath = dir.appendingPathComponent("model.gguf").path
        let gguf = try ModelBundle.load(path: ggufPath)
        try Self.check(gguf, section: fx["gguf"] as! [String: Any], label: "\(family) GGUF")
        // The same file with its weights kept in the file's encoding (what big models use).
        let file = try GGUFFile(path: ggufPath)
        let inFile = ModelBundle(path: ggufPath, name: family, model: DecoderModel(weights: try DecoderWeights(gguf: file, storage: .file)),
                                 tokenizer: gguf.tokenizer, loadSeconds: 0)
        try Self.check(inFile, section: fx["gguf"] as! [String: Any], label: "\(family) GGUF, weights in the file")
    }

    /// The plain backward of every family against central finite differences of the forward
    /// (float32, so a loose tolerance; a wrong term in any part is far outside it).
    func testPlainBackwardMatchesFiniteDifferencesForEveryFamily() throws {
        var checked = 0
        for family in Self.families {
            let dir = Self.directory(family).appendingPathComponent("hf")
            guard FileManager.default.fileExists(atPath: dir.path) else { continue }
            let bundle = try ModelBundle.load(path: dir.path)
            let model = bundle.model, d = model.dim
            let ids = Array((0..<12).map { ($0 * 37 + 5) % min(model.vocabSize, 200) })
            let t = ids.count, position = t - 1
            let session = try ExplainSession(model: model, tokenIDs: ids)
            let target = ExplainSession.argmax(try session.logits(at: position))
            let e = session.cache.embeddings.array
            func logit(_ x: [Float]) throws -> Double {
                Double(model.logits(try model.forwardPass(ids, embeddings: x), at: position)[target])
            }
            let row = BackwardSeed.row(model: model, pass: session.cache, position: position, target: target, foil: nil)
            var seed = [Float](repeating: 0, count: t * d)
            for j in row.indices { seed[position * d + j] = row[j] }
            let g = try session.backward(seed: seed, settings: .plain)
            let h: Float = 1e-2
            var worst = 0.0
            for k in stride(from: 0, to: t * d, by: 7) {
                var up = e, down = e
                up[k] += h
                down[k] -= h
                let numeric = (try logit(up) - logit(down)) / Double(2 * h)
                worst = max(worst, abs(Double(g[k]) - numeric) / max(1, abs(numeric)))
                XCTAssertEqual(Double(g[k]), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "\(family) element \(k)")
            }
            print("\(family): plain backward vs finite differences, worst error \(worst)")
            checked += 1
        }
        if checked == 0 { throw XCTSkip("no family fixtures yet") }
    }

    func testLlama2LinearRoPE() throws { try checkFamily("llama2", architecture: "llama") }
    func testLlama3RoPEScaling() throws { try checkFamily("llama3", architecture: "llama") }
    func testMistralSlidingWindow() throws { try checkFamily("mistral", architecture: "mistral") }
    func testQwen2Biases() throws { try checkFamily("qwen2", architecture: "qwen2") }
    func testQwen3QKNorm() throws { try checkFamily("qwen3", architecture: "qwen3") }
    func testGemma() throws { try checkFamily("gemma", architecture: "gemma") }
    func testGemma2() throws { try checkFamily("gemma2", architecture: "gemma2") }
    func testGemma3() throws { try checkFamily("gemma3", architecture: "gemma3") }
    func testPhi3() throws { try checkFamily("phi3", architecture: "phi3") }
}
