import XCTest
@testable import GIMEngine

/// `HFFolderExport` (gim convert): a GGUF written as a Hugging Face folder must give the same
/// logits, attributions and token ids as the GGUF itself. This checks the two RoPE layouts against
/// each other: GGUF q/k rows are in llama.cpp's adjacent-pair order, the folder's in rotate-half.
final class HFConvertTests: XCTestCase {
    static func temporaryFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("gim-convert-\(UUID().uuidString)").path
    }

    /// max |a − b| / max |b|
    static func relative(_ a: [Float], _ b: [Float]) -> Double {
        let scale = Double(b.map(abs).max() ?? 0)
        return (zip(a, b).map { Double(abs($0 - $1)) }.max() ?? 0) / max(scale, 1e-30)
    }

    /// Compares two bundles on prompts: token ids, logits at the last position, and attributions
    /// for several settings. Returns the worst relative differences (logits, attributions).
    static func compare(_ a: ModelBundle, _ b: ModelBundle, prompts: [String],
                        settings: [GIMSettings] = [.gim, .gim014, .plain]) throws -> (Double, Double) {
        var worstLogit = 0.0, worstAttribution = 0.0
        let baseline = try a.inferredBaseline()
        XCTAssertEqual(try b.inferredBaseline(), baseline)
        for prompt in prompts {
            let ids = a.encode(prompt)
            XCTAssertEqual(b.encode(prompt), ids, prompt)
            let sa = try ExplainSession(model: a.model, tokenIDs: ids)
            let sb = try ExplainSession(model: b.model, tokenIDs: ids)
            let la = try sa.logits(at: -1)
            worstLogit = max(worstLogit, relative(try sb.logits(at: -1), la))
            for s in settings {
                let x = try sa.attribute(baselineTokenID: baseline, settings: s)
                let y = try sb.attribute(baselineTokenID: baseline, settings: s)
                XCTAssertEqual(x.targetTokenID, y.targetTokenID, prompt)
                worstAttribution = max(worstAttribution, relative(y.values, x.values))
            }
        }
        return (worstLogit, worstAttribution)
    }

    /// The tiny Llama folder → a GGUF laid out as llama.cpp writes it (q/k rows permuted to
    /// adjacent pairs, tokenizer in tokenizer.ggml.*) → convert → a folder equal to the original.
    func testTinyLlamaRoundTripsThroughGGUF() throws {
        let source = try ModelBundle.load(path: HFTinyParityTests.folder("tiny-llama"))
        let model = try XCTUnwrap(source.model as? DecoderModel)
        let c = model.config, w = model.weights, d = c.dim, hd = c.headDim, half = hd / 2
        var g = GGUFWriter()
        g.add("general.architecture", .string("llama"))
        g.add("general.name", .string("tiny llama"))
        g.add("llama.block_count", .uint32(UInt32(c.layers)))
        g.add("llama.embedding_length", .uint32(UInt32(d)))
        g.add("llama.feed_forward_length", .uint32(UInt32(c.ffnDim)))
        g.add("llama.attention.head_count", .uint32(UInt32(c.heads)))
        g.add("llama.attention.head_count_kv", .uint32(UInt32(c.kvHeads)))
        g.add("llama.rope.freq_base", .float32(c.ropeBase))
        g.add("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsEps))
        g.add("llama.context_length", .uint32(UInt32(c.contextLength)))

        // Tokenizer metadata from tokenizer.json.
        let tj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
            HFTinyParityTests.folder("tiny-llama") + "/tokenizer.json"))) as! [String: Any]
        let m = tj["model"] as! [String: Any]
        var tokens = [String](repeating: "", count: source.tokenizer.vocabSize)
        var types = [GGUFValue](repeating: .int32(1), count: tokens.count)
        for (t, id) in m["vocab"] as! [String: Int] { tokens[id] = t }
        for a in tj["added_tokens"] as! [[String: Any]] {
            let id = a["id"] as! Int
            tokens[id] = a["content"] as! String
            types[id] = .int32((a["special"] as! Bool) ? 3 : 4)
        }
        g.add("tokenizer.ggml.model", .string("gpt2"))
        g.add("tokenizer.ggml.pre", .string("llama-bpe"))
        g.add("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        g.add("tokenizer.ggml.token_type", .array(types))
        g.add("tokenizer.ggml.merges", .array((m["merges"] as! [[String]]).map { .string($0.joined(separator: " ")) }))
        g.add("tokenizer.ggml.bos_token_id", .uint32(0))
        g.add("tokenizer.ggml.eos_token_id", .uint32(1))
        g.add("tokenizer.ggml.padding_token_id", .uint32(2))
        g.add("tokenizer.ggml.add_bos_token", .bool(true))

        // Tensors (GGUF dims: contiguous first, so [out, in] matrices are [in, out]).
        func rows(_ b: FloatBuffer, _ start: Int, _ count: Int) -> [Float] { b.slice(start * d, count * d) }
        /// llama.cpp's permutation: GGUF row 2i+j of a head is HF row j·half + i.
        func permuted(_ hf: [Float], heads: Int) -> [Float] {
            var out = hf
            for h in 0..<heads {
                for i in 0..<half {
                    for j in 0..<2 {
                        let src = (h * hd + j * half + i) * d, dst = (h * hd + 2 * i + j) * d
                        for k in 0..<d { out[dst + k] = hf[src + k] }
                    }
                }
            }
            return out
        }
        g.addF32("token_embd.weight", dims: [d, c.vocabSize], w.tokenEmbedding.float32().array)
        g.addF32("output.weight", dims: [d, c.vocabSize], w.output.float32().array)
        g.addF32("output_norm.weight", dims: [d], w.outputNorm.array)
        let kv = c.kvHeads * hd
        for (i, l) in w.layers.enumerated() {
            let p = "blk.\(i)."
            g.addF32(p + "attn_norm.weight", dims: [d], l.attnNorm.array)
            g.addF32(p + "attn_q.weight", dims: [d, c.attnDim], permuted(rows(l.wqkv, 0, c.attnDim), heads: c.heads))
            g.addF32(p + "attn_k.weight", dims: [d, kv], permuted(rows(l.wqkv, c.attnDim, kv), heads: c.kvHeads))
            g.addF32(p + "attn_v.weight", dims: [d, kv], rows(l.wqkv, c.attnDim + kv, kv))
            g.addF32(p + "attn_output.weight", dims: [c.attnDim, d], l.wo.array)
            g.addF32(p + "ffn_norm.weight", dims: [d], l.ffnNorm.array)
            g.addF32(p + "ffn_gate.weight", dims: [d, c.ffnDim], l.wGateUp.slice(0, c.ffnDim * d))
            g.addF32(p + "ffn_up.weight", dims: [d, c.ffnDim], l.wGateUp.slice(c.ffnDim * d, c.ffnDim * d))
            g.addF32(p + "ffn_down.weight", dims: [c.ffnDim, d], l.wDown.array)
        }
        let ggufPath = temporaryPath("tiny-llama-\(UUID().uuidString).gguf")
        try g.write(to: ggufPath)
        defer { try? FileManager.default.removeItem(atPath: ggufPath) }

        let gguf = try ModelBundle.load(path: ggufPath)
        XCTAssertEqual((gguf.model as! DecoderModel).config.ropeLayout, .normal)
        let dir = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try HFFolderExport.writeLlama(ggufPath: ggufPath, to: dir)
        XCTAssertEqual(summary.tensorCount, 3 + 9 * c.layers)
        let converted = try ModelBundle.load(path: dir)
        XCTAssertEqual(converted.name, "tiny llama")
        let cc = (converted.model as! DecoderModel)
        XCTAssertEqual(cc.config.ropeLayout, .neox)
        // Bit-identical weights to the original folder: the permutation is inverted exactly.
        for (a, b) in zip(cc.weights.layers, w.layers) { XCTAssertEqual(a.wqkv.array, b.wqkv.array) }
        XCTAssertTrue(converted.tokenizer.addBOS)
        XCTAssertEqual(converted.tokenizer.preTokenizerKind, .llama3)

        let prompts = ["The capital of France is", "def add(a, b):\n    return a +", "x <think> 12345 <|pad|>"]
        let (l1, a1) = try Self.compare(gguf, converted, prompts: prompts)
        let (l2, a2) = try Self.compare(source, converted, prompts: prompts)
        print("tiny Llama GGUF vs converted folder: logits \(l1), attributions \(a1); original folder vs converted: \(l2), \(a2)")
        XCTAssertLessThan(max(l1, a1), 1e-4)
        XCTAssertEqual(l2, 0)
        XCTAssertEqual(a2, 0)

        // A second conversion into the same folder needs overwrite.
        XCTAssertThrowsError(try HFFolderExport.writeLlama(ggufPath: ggufPath, to: dir)) {
            XCTAssertTrue("\($0)".contains("not empty"), "\($0)")
        }
        XCTAssertNoThrow(try HFFolderExport.writeLlama(ggufPath: ggufPath, to: dir, overwrite: true))
    }

    /// SmolLM2 (GGUF Q4_1) and the same model converted to a safetensors folder: same token ids,
    /// logits and GIM attributions. Skipped when the model is not fetched (CI has it).
    func testConvertedSmolLM2MatchesGGUF() throws {
        let ggufPath = try Fixtures.defaultModelPath()
        let dir = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try HFFolderExport.writeLlama(ggufPath: ggufPath, to: dir)
        XCTAssertEqual(summary.tensorCount, 2 + 9 * 30)
        let gguf = try ModelBundle.load(path: ggufPath)
        let folder = try ModelBundle.load(path: dir)
        XCTAssertEqual((folder.model as! DecoderModel).config.ropeLayout, .neox)
        XCTAssertEqual((gguf.model as! DecoderModel).config.ropeLayout, .normal)
        XCTAssertEqual(folder.tokenizer.preTokenizerKind, .digitsThenGPT2)
        XCTAssertEqual(folder.tokenizer.vocabSize, gguf.tokenizer.vocabSize)
        XCTAssertEqual(folder.tokenizer.bosID, gguf.tokenizer.bosID)
        XCTAssertEqual(folder.tokenizer.eosID, gguf.tokenizer.eosID)
        XCTAssertEqual(folder.tokenizer.addBOS, gguf.tokenizer.addBOS)

        // The tokenizer: every golden text of the SmolLM2 tokenizer fixture.
        let fx = try Fixtures.json("tokenizer_smollm2")
        let cases = fx["cases"] as! [[String: Any]]
        for c in cases {
            let text = c["text"] as! String
            XCTAssertEqual(folder.tokenizer.encode(text, addSpecialTokens: false), (c["ids"] as! [Any]).ints, text.debugDescription)
        }

        let prompts = ["The capital of France is", "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
                       "<|im_start|>user\nWhat is 12 + 30?<|im_end|>\n<|im_start|>assistant\n", "Zoë's café serves"]
        let (logits, attributions) = try Self.compare(gguf, folder, prompts: prompts)
        print("SmolLM2 GGUF vs converted folder: max relative diff logits \(logits), attributions \(attributions) (\(cases.count) tokenizer texts equal)")
        XCTAssertLessThan(logits, 1e-4)
        XCTAssertLessThan(attributions, 1e-4)
    }
}
