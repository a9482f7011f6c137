import XCTest
@testable import GIMEngine

/// tokenizer.json reading: golden ids from the Python `tokenizers` library on the tiny models'
/// tokenizers (Fixtures/tokenizer_hf_tiny.json), both merge spellings, and clear errors for
/// pipelines this tokenizer does not implement.
final class TokenizerJSONTests: XCTestCase {
    static func path(_ model: String) -> String {
        HFTinyParityTests.folder(model) + "/tokenizer.json"
    }

    func testTinyTokenizersMatchPythonTokenizers() throws {
        let fx = try Fixtures.json("tokenizer_hf_tiny")
        for model in ["tiny-gpt2", "tiny-llama"] {
            let tok = try BPETokenizer(tokenizerJSONFile: Self.path(model))
            let cases = fx[model] as! [[String: Any]]
            XCTAssertGreaterThanOrEqual(cases.count, 40)
            var mismatches = 0
            for c in cases {
                let text = c["text"] as! String
                let got = tok.encode(text, addSpecialTokens: false)
                let expected = (c["ids"] as! [Any]).ints
                if got != expected { mismatches += 1 }
                XCTAssertEqual(got, expected, "\(model): \(text.debugDescription)")
                XCTAssertEqual(tok.encode(text, addSpecialTokens: true), (c["ids_special"] as! [Any]).ints,
                               "\(model) with special tokens: \(text.debugDescription)")
                // Byte-level BPE round-trips text exactly.
                XCTAssertEqual(tok.decode(got), text, "\(model) decode: \(text.debugDescription)")
            }
            print("\(model): \(cases.count - mismatches)/\(cases.count) texts give the Python tokenizers' ids")
        }
    }

    /// merges as [["a", "b"], ...] (what tokenizers 0.20+ writes) and as ["a b", ...] give one tokenizer.
    func testMergeSpellingsAgree() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path("tiny-gpt2")))
        var json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var model = json["model"] as! [String: Any]
        let pairs = model["merges"] as! [[String]]
        XCTAssertFalse(pairs.isEmpty)
        model["merges"] = pairs.map { $0.joined(separator: " ") }
        json["model"] = model
        let strings = try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: json), path: "strings")
        let original = try BPETokenizer(tokenizerJSON: data, path: "pairs")
        for text in ["The capital of France is", "def add(a, b):\n    return a + b", "Ångström 12345 🍕"] {
            XCTAssertEqual(strings.encode(text), original.encode(text))
        }
    }

    /// A small synthetic byte-level tokenizer.json with the given pre-tokenizer and extra fields.
    static func synthetic(preTokenizer: Any?, model extra: [String: Any] = [:], top: [String: Any] = [:]) throws -> Data {
        var vocab: [String: Int] = [:]
        for b in 0..<256 {
            vocab[String(Unicode.Scalar(ByteUnicodeTable.byteToScalar[b])!)] = b
        }
        vocab["Ġt"] = 256
        vocab["Ġth"] = 257
        vocab["12"] = 258
        var model: [String: Any] = ["type": "BPE", "vocab": vocab, "merges": ["Ġ t", "Ġt h", "1 2"],
                                    "ignore_merges": false]
        for (k, v) in extra { model[k] = v }
        var json: [String: Any] = ["version": "1.0", "added_tokens": [] as [Any], "normalizer": NSNull(),
                                   "pre_tokenizer": preTokenizer ?? NSNull(), "post_processor": NSNull(),
                                   "decoder": ["type": "ByteLevel"], "model": model]
        for (k, v) in top { json[k] = v }
        return try JSONSerialization.data(withJSONObject: json)
    }

    static var byteLevel: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true] }

    func testPreTokenizerMapping() throws {
        let digits: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Digits", "individual_digits": true], Self.byteLevel]]
        let tok = try BPETokenizer(tokenizerJSON: Self.synthetic(preTokenizer: digits), path: "t")
        XCTAssertEqual(tok.preTokenizerKind, .digitsThenGPT2)
        XCTAssertEqual(tok.encode("12 th"), [49, 50, 257])  // digits one by one, so "12" is not merged

        let plain = try BPETokenizer(tokenizerJSON: Self.synthetic(preTokenizer: Self.byteLevel), path: "t")
        XCTAssertEqual(plain.preTokenizerKind, .gpt2)
        XCTAssertEqual(plain.encode("12 th"), [258, 257])

        let qwen: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": BPETokenizer.splitPattern(.qwen2)!], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]]]
        XCTAssertEqual(try BPETokenizer(tokenizerJSON: Self.synthetic(preTokenizer: qwen), path: "t").preTokenizerKind, .qwen2)
    }

    func testUnsupportedPipelinesAreNamed() throws {
        func expectError(_ data: Data, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: data, path: "my/tokenizer.json"), file: file, line: line) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains(fragment) && text.contains("my/tokenizer.json"), text, file: file, line: line)
            }
        }
        expectError(try Self.synthetic(preTokenizer: ["type": "Metaspace", "replacement": "▁"]), "Metaspace")
        expectError(try Self.synthetic(preTokenizer: ["type": "ByteLevel", "add_prefix_space": true, "use_regex": true]), "add_prefix_space")
        expectError(try Self.synthetic(preTokenizer: nil), "pre_tokenizer")
        expectError(try Self.synthetic(preTokenizer: ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": "\\w+"], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false]]]), "\\w+")
        expectError(try Self.synthetic(preTokenizer: Self.byteLevel, model: ["type": "WordPiece"]), "WordPiece")
        expectError(try Self.synthetic(preTokenizer: Self.byteLevel, model: ["byte_fallback": true]), "byte_fallback")
        expectError(try Self.synthetic(preTokenizer: Self.byteLevel, model: ["ignore_merges": true]), "ignore_merges")
        expectError(try Self.synthetic(preTokenizer: Self.byteLevel, top: ["normalizer": ["type": "NFKC"]]), "NFKC")
        expectError(try Self.synthetic(preTokenizer: Self.byteLevel, top: ["post_processor": ["type": "RobertaProcessing"]]), "RobertaProcessing")
        expectError(try Self.synthetic(preTokenizer: Self.byteLevel, top: ["added_tokens": [
            ["id": 300, "content": "<mask>", "lstrip": true, "rstrip": false, "single_word": false, "special": true]]]), "lstrip")
        expectError(try Self.synthetic(preTokenizer: Self.byteLevel, model: ["merges": ["Ġ q"]]), "Ġ q")
        expectError(Data("{\"model\": 3}".utf8), "not a tokenizer.json")
        expectError(Data("not json".utf8), "not a tokenizer.json")
    }

    /// Added tokens: special ones are control tokens; the others are matched whole too; an id
    /// beyond the vocabulary extends it, leaving unused ids empty.
    func testAddedTokens() throws {
        let data = try Self.synthetic(preTokenizer: Self.byteLevel, top: ["added_tokens": [
            ["id": 259, "content": "<|end|>", "special": true],
            ["id": 262, "content": "<think>", "special": false, "normalized": true]]])
        var hints = TokenizerJSONHints()
        hints.eosToken = "<|end|>"
        let tok = try BPETokenizer(tokenizerJSON: data, path: "t", hints: hints)
        XCTAssertEqual(tok.vocabSize, 263)
        XCTAssertEqual(tok.eosID, 259)
        XCTAssertTrue(tok.isSpecial(259))
        XCTAssertEqual(tok.encode("a<think> th<|end|>"), [97, 262, 257, 259])
        XCTAssertEqual(tok.decode([262, 257]), "<think> th")
    }
}
