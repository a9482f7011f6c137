import XCTest
@testable import GIMEngine

/// Generation with the KV cache against full recomputation: at every step the cached logits equal
/// the logits of a full forward over the whole sequence (max |diff| ≤ 1e-5 relative to the largest
/// logit), and greedy decoding gives the same tokens, on every tiny family model (sliding windows
/// of 4 and soft-caps included), on tiny GPT-2 and on SmolLM2.
final class GenerationTests: XCTestCase {
    /// max |cached − full| / max(1, max |full|) over every step, and whether greedy ids agree.
    @discardableResult
    func checkKVCache(_ bundle: ModelBundle, prompt: [Int], steps: Int, label: String) throws -> Double {
        try checkKVCache(bundle.model, prompt: prompt, steps: steps, label: label)
    }

    @discardableResult
    func checkKVCache(_ full: CausalLanguageModel, prompt: [Int], steps: Int, label: String) throws -> Double {
        let model = try XCTUnwrap(full as? IncrementalDecoding, label)
        let reference = try Generator.generate(model: full, prompt: prompt,
                                               settings: GenerationSettings(maxTokens: steps, useKVCache: false))
        let cached = try Generator.generate(model: full, prompt: prompt, settings: GenerationSettings(maxTokens: steps))
        XCTAssertTrue(cached.usedKVCache && !reference.usedKVCache, label)
        XCTAssertEqual(cached.generatedIDs, reference.generatedIDs, "\(label): greedy tokens")
        for (a, b) in zip(cached.tokens, reference.tokens) { XCTAssertEqual(a.probability, b.probability, accuracy: 1e-5, label) }

        // Logits at every step: prefill the prompt, then one token at a time, against one full forward.
        let seq = reference.allIDs
        let pass = try full.forwardPass(seq, embeddings: nil)
        let cache = try model.makeKVCache(capacity: seq.count)
        var worst = 0.0
        var p = prompt.count
        var logits = try model.extend(cache, with: prompt)
        while true {
            let expected = full.logits(pass, at: p - 1)
            let scale = max(1, Double(expected.map(abs).max()!))
            let diff = zip(logits, expected).map { Double(abs($0 - $1)) }.max()!
            worst = max(worst, diff / scale)
            guard p < seq.count else { break }
            logits = try model.extend(cache, with: [seq[p]])
            p += 1
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(label): KV-cached logits vs full forward")
        print("KV cache \(label): \(steps) steps, same greedy tokens, worst |Δlogit|/max(1,max|logit|) = \(worst)")
        return worst
    }

    func testTinyFamilies() throws {
        for family in FamilyParityTests.families {
            let dir = FamilyParityTests.directory(family).appendingPathComponent("hf").path
            let bundle = try ModelBundle.load(path: dir)
            let prompt = Array(bundle.encode("the cat sat on the mat and").prefix(10))
            try checkKVCache(bundle, prompt: prompt, steps: 12, label: family)
            let gguf = FamilyParityTests.directory(family).appendingPathComponent("model.gguf").path
            if FileManager.default.fileExists(atPath: gguf) {
                try checkKVCache(try ModelBundle.load(path: gguf), prompt: prompt, steps: 12, label: family + " gguf")
            }
        }
    }

    /// GPT-2: learned positions added at the cache's offset, LayerNorm, biases; run to the end of
    /// the tiny model's 64-position context (the last wpe row is used, then the context stops it),
    /// and again with attention scaled by 1/(layer + 1).
    func testTinyGPT2() throws {
        let bundle = try ModelBundle.load(path: HFTinyParityTests.folder("tiny-gpt2"))
        let gpt2 = try XCTUnwrap(bundle.model as? GPT2Model)
        let prompt = Array(bundle.encode("the cat sat on the mat and").prefix(10))
        XCTAssertGreaterThan(prompt.count, 3)
        try checkKVCache(gpt2, prompt: prompt, steps: 12, label: "tiny-gpt2")
        try checkKVCache(gpt2, prompt: prompt, steps: gpt2.contextLength - prompt.count, label: "tiny-gpt2 whole context")
        let atEnd = try Generator.generate(model: gpt2, prompt: prompt, settings: GenerationSettings(maxTokens: 100))
        XCTAssertEqual(atEnd.stop, .context)
        XCTAssertEqual(atEnd.allIDs.count, gpt2.contextLength)
        XCTAssertTrue(atEnd.usedKVCache)

        var c = gpt2.config
        c.scaleAttentionByInverseLayer = true
        let w = gpt2.weights
        let inverse = GPT2Model(weights: try GPT2Weights(config: c, tokenEmbedding: w.tokenEmbedding,
                                                         positionEmbedding: w.positionEmbedding, layers: w.layers,
                                                         outputNormWeight: w.outputNormWeight,
                                                         outputNormBias: w.outputNormBias, output: nil))
        try checkKVCache(inverse, prompt: prompt, steps: 12, label: "tiny-gpt2 scale_attn_by_inverse_layer_idx")

        // A cache is for its own model kind and size.
        XCTAssertThrowsError(try gpt2.makeKVCache(capacity: gpt2.contextLength + 1))
        let cache = try gpt2.makeKVCache(capacity: 4)
        XCTAssertThrowsError(try gpt2.extend(cache, with: [1, 2, 3, 4, 5]))
        XCTAssertThrowsError(try gpt2.extend(cache, with: [gpt2.vocabSize]))
    }

    func testSmolLM2() throws {
        let bundle = try ModelBundle.load(path: try Fixtures.defaultModelPath())
        try checkKVCache(bundle, prompt: bundle.encode("The capital of France is"), steps: 16, label: "SmolLM2")
        try checkKVCache(bundle, prompt: try bundle.encodeChat(user: "Write a haiku about rain."), steps: 12, label: "SmolLM2 chat")
    }

    func testSamplingIsSeededAndStops() throws {
        let dir = FamilyParityTests.directory("llama3").appendingPathComponent("hf").path
        let bundle = try ModelBundle.load(path: dir)
        let prompt = Array(bundle.encode("the cat").prefix(6))
        let s = SamplingSettings(temperature: 1.5, topP: 0.9, seed: 42)
        let a = try Generator.generate(model: bundle.model, prompt: prompt, settings: GenerationSettings(maxTokens: 20, sampling: s))
        let b = try Generator.generate(model: bundle.model, prompt: prompt,
                                       settings: GenerationSettings(maxTokens: 20, sampling: s, useKVCache: false))
        XCTAssertEqual(a.generatedIDs, b.generatedIDs, "same seed, same tokens with or without the cache")
        let c = try Generator.generate(model: bundle.model, prompt: prompt,
                                       settings: GenerationSettings(maxTokens: 20, sampling: SamplingSettings(temperature: 1.5, topP: 0.9, seed: 7)))
        XCTAssertNotEqual(a.generatedIDs, c.generatedIDs, "another seed, another continuation")
        // Stop token, cancellation, streaming.
        let stopAt = a.generatedIDs[3]
        let stopped = try Generator.generate(model: bundle.model, prompt: prompt,
                                             settings: GenerationSettings(maxTokens: 20, sampling: s, stopTokenIDs: [stopAt]))
        XCTAssertEqual(stopped.stop, .stopToken)
        XCTAssertEqual(stopped.generatedIDs.last, stopAt)
        var streamed: [Int] = []
        var asked = 0
        let cancelled = try Generator.generate(model: bundle.model, prompt: prompt, settings: GenerationSettings(maxTokens: 20),
                                               isCancelled: { asked += 1; return asked > 5 }, onToken: { streamed.append($0.id) })
        XCTAssertEqual(cancelled.stop, .cancelled)
        XCTAssertEqual(cancelled.generatedIDs.count, 5)
        XCTAssertEqual(streamed, cancelled.generatedIDs)
        XCTAssertThrowsError(try Generator.generate(model: bundle.model, prompt: prompt,
                                                    settings: GenerationSettings(maxTokens: 2, sampling: SamplingSettings(temperature: -1))))
    }

    func testSampledDistributionFollowsTopP() {
        // Logits with probabilities ≈ [0.64, 0.24, 0.09, 0.03]: top-p 0.7 keeps the first two only.
        let logits: [Float] = [3, 2, 1, 0]
        var rng = SeededGenerator(seed: 1)
        let s = SamplingSettings(temperature: 1, topP: 0.7, seed: 1)
        var counts = [0, 0, 0, 0]
        for _ in 0..<4000 { counts[s.pick(logits, &rng)] += 1 }
        XCTAssertEqual(counts[2] + counts[3], 0)
        XCTAssertEqual(Double(counts[0]) / 4000, 0.64 / 0.88, accuracy: 0.03)
    }
}
