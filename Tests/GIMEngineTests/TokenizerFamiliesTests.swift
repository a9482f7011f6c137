import XCTest
@testable import GIMEngine

/// The tokenizer families beyond byte-level BPE, against golden ids from the Python `tokenizers`
/// library (tokenizer.json) and from llama.cpp's SPM algorithm (vocab.gguf), written by
/// scripts/reference/make_tokenizer_fixtures.py into Fixtures/tokenizers/<kind>/.
final class TokenizerFamiliesTests: XCTestCase {
    static func dir(_ kind: String) -> String {
        Fixtures.repoRoot.appendingPathComponent("Tests/GIMEngineTests/Fixtures/tokenizers/\(kind)").path
    }

    static func golden(_ kind: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir(kind) + "/golden.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// Every case's ids with and without special tokens, and (when the golden has it) the decoded text.
    @discardableResult
    func check(_ tok: BPETokenizer, _ cases: [[String: Any]], label: String, file: StaticString = #filePath,
               line: UInt = #line) -> Int {
        XCTAssertGreaterThanOrEqual(cases.count, 200, label)
        var mismatches = 0
        for c in cases {
            let text = c["text"] as! String
            let ids = (c["ids"] as! [Any]).ints
            let got = tok.encode(text, addSpecialTokens: false)
            let gotSpecial = tok.encode(text, addSpecialTokens: true)
            let special = (c["ids_special"] as! [Any]).ints
            var ok = got == ids && gotSpecial == special
            XCTAssertEqual(got, ids, "\(label): \(text.debugDescription)", file: file, line: line)
            XCTAssertEqual(gotSpecial, special, "\(label) with special tokens: \(text.debugDescription)", file: file, line: line)
            if let decoded = c["decoded"] as? String {
                let d = tok.decode(ids)
                if Array(d.utf8) != Array(decoded.utf8) { ok = false }
                XCTAssertEqual(Array(d.utf8), Array(decoded.utf8),
                               "\(label) decode: \(text.debugDescription) -> \(d.debugDescription), expected \(decoded.debugDescription)",
                               file: file, line: line)
            }
            if !ok { mismatches += 1 }
        }
        print("\(label): \(cases.count - mismatches)/\(cases.count) texts match")
        return mismatches
    }

    func testLlama2TokenizerJSON() throws {
        let g = try Self.golden("llama2")
        let tok = try BPETokenizer(tokenizerJSONFile: Self.dir("llama2") + "/tokenizer.json")
        XCTAssertEqual(tok.kind, .sentencePieceBPE)
        XCTAssertTrue(tok.addBOS)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.unkID, 0)
        check(tok, g["tokenizer.json"] as! [[String: Any]], label: "llama2 tokenizer.json")
    }

    /// tokenizer_config.json's add_bos_token/add_eos_token, when present, decide over the
    /// post-processor (transformers 5 rebuilds the template from them).
    func testAddBOSFromTokenizerConfig() throws {
        let path = Self.dir("llama2") + "/tokenizer.json"
        var hints = TokenizerJSONHints()
        hints.addBOS = false
        hints.eosToken = "</s>"
        var tok = try BPETokenizer(tokenizerJSONFile: path, hints: hints)
        XCTAssertEqual(tok.encode("the"), tok.encode("the", addSpecialTokens: false))
        hints.addBOS = true
        hints.addEOS = true
        tok = try BPETokenizer(tokenizerJSONFile: path, hints: hints)
        XCTAssertEqual(tok.encode("the"), [1] + tok.encode("the", addSpecialTokens: false) + [2])
        // Without the flags, the file's template (BOS only) decides.
        tok = try BPETokenizer(tokenizerJSONFile: path)
        XCTAssertEqual(tok.encode("the"), [1] + tok.encode("the", addSpecialTokens: false))
    }

    func testLlama2MetaspaceVariants() throws {
        let g = try Self.golden("llama2")
        let variants = g["variants"] as! [String: Any]
        XCTAssertEqual(variants.count, 6)
        for (name, cases) in variants.sorted(by: { $0.key < $1.key }) {
            let tok = try BPETokenizer(tokenizerJSONFile: Self.dir("llama2") + "/variants/" + name)
            check(tok, cases as! [[String: Any]], label: "llama2 \(name)")
        }
    }

    func testLlama2GGUFFollowsLlamaCpp() throws {
        let g = try Self.golden("llama2")
        let tok = try BPETokenizer(gguf: GGUFFile(path: Self.dir("llama2") + "/vocab.gguf"))
        XCTAssertEqual(tok.kind, .llamaSPM)
        XCTAssertTrue(tok.addBOS)
        XCTAssertFalse(tok.addEOS)
        XCTAssertEqual([tok.bosID, tok.eosID, tok.unkID], [1, 2, 0])
        let cases = g["vocab.gguf"] as! [[String: Any]]
        check(tok, cases, label: "llama2 vocab.gguf (llama.cpp)")
        roundTrip(tok, cases, label: "llama2 vocab.gguf")
        let diffs = cases.filter { $0["transformers_ids"] != nil }.count
        print("llama2 vocab.gguf: transformers' GGUF tokenizer differs from llama.cpp on \(diffs)/\(cases.count) texts")
    }

    func testGemmaTokenizerJSON() throws {
        let g = try Self.golden("gemma")
        let tok = try BPETokenizer(tokenizerJSONFile: Self.dir("gemma") + "/tokenizer.json")
        XCTAssertEqual(tok.kind, .sentencePieceBPE)
        XCTAssertTrue(tok.addBOS)
        XCTAssertEqual(tok.bosID, 2)
        check(tok, g["tokenizer.json"] as! [[String: Any]], label: "gemma tokenizer.json")
    }

    func testGemmaGGUFFollowsLlamaCpp() throws {
        let g = try Self.golden("gemma")
        let tok = try BPETokenizer(gguf: GGUFFile(path: Self.dir("gemma") + "/vocab.gguf"))
        XCTAssertEqual(tok.kind, .llamaSPM)
        XCTAssertEqual([tok.bosID, tok.eosID, tok.unkID, tok.padID], [2, 1, 3, 0])
        let cases = g["vocab.gguf"] as! [[String: Any]]
        check(tok, cases, label: "gemma vocab.gguf (llama.cpp)")
        roundTrip(tok, cases, label: "gemma vocab.gguf")
    }

    func testQwen2TokenizerJSON() throws {
        let g = try Self.golden("qwen2")
        let tok = try BPETokenizer(tokenizerJSONFile: Self.dir("qwen2") + "/tokenizer.json")
        XCTAssertEqual(tok.kind, .byteLevelBPE)
        XCTAssertEqual(tok.preTokenizerKind, .qwen2)
        XCTAssertFalse(tok.addBOS)
        check(tok, g["tokenizer.json"] as! [[String: Any]], label: "qwen2 tokenizer.json")
        // NFC: a decomposed and a precomposed é give the same ids.
        XCTAssertEqual(tok.encode("Cafe\u{301}"), tok.encode("Caf\u{E9}"))
    }

    func testUnigramTokenizerJSON() throws {
        let g = try Self.golden("unigram")
        let tok = try BPETokenizer(tokenizerJSONFile: Self.dir("unigram") + "/tokenizer.json")
        XCTAssertEqual(tok.kind, .unigram)
        XCTAssertFalse(tok.addBOS)
        XCTAssertTrue(tok.addEOS)
        check(tok, g["tokenizer.json"] as! [[String: Any]], label: "unigram tokenizer.json")
        let variants = g["variants"] as! [String: Any]
        for (name, cases) in variants {
            let v = try BPETokenizer(tokenizerJSONFile: Self.dir("unigram") + "/variants/" + name)
            check(v, cases as! [[String: Any]], label: "unigram \(name)")
        }
    }

    /// decode(encode(text)) == text where the pipeline is lossless: texts without special tokens
    /// written in them (llama.cpp re-prefixes a space after those) and without a literal "▁"
    /// (which, as spaces are written "▁", decodes as a space).
    func roundTrip(_ tok: BPETokenizer, _ cases: [[String: Any]], label: String) {
        var n = 0
        for c in cases {
            let text = c["text"] as! String
            if text.contains("<") && text.contains(">") || text.unicodeScalars.contains("\u{2581}") { continue }
            XCTAssertEqual(Array(tok.decode(tok.encode(text, addSpecialTokens: false)).utf8), Array(text.utf8),
                           "\(label) round trip: \(text.debugDescription)")
            n += 1
        }
        XCTAssertGreaterThan(n, 150)
    }

    // MARK: Errors

    func testUnsupportedComponentsAreNamedErrors() throws {
        let path = Self.dir("llama2") + "/tokenizer.json"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let base = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        func error(_ edit: (inout [String: Any]) -> Void) -> String {
            var json = base
            edit(&json)
            do {
                _ = try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: json), path: "t")
                return ""
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(error { $0["normalizer"] = ["type": "Precompiled", "precompiled_charsmap": "AAAA"] }.contains("Precompiled"))
        XCTAssertTrue(error { $0["normalizer"] = ["type": "NFKC"] }.contains("NFKC"))
        XCTAssertTrue(error { $0["normalizer"] = ["type": "Replace", "pattern": ["Regex": " {2,}"], "content": "▁"] }.contains("regex"))
        XCTAssertTrue(error { $0["pre_tokenizer"] = ["type": "Whitespace"] }.contains("Whitespace"))
        XCTAssertTrue(error { $0["decoder"] = ["type": "WordPiece", "prefix": "##"] }.contains("WordPiece"))
        XCTAssertTrue(error {
            var m = $0["model"] as! [String: Any]
            m["type"] = "WordPiece"
            $0["model"] = m
        }.contains("WordPiece"))
        XCTAssertTrue(error {
            var m = $0["model"] as! [String: Any]
            m["dropout"] = 0.1
            $0["model"] = m
        }.contains("dropout"))
        XCTAssertEqual(error { _ in }, "")
    }

    func testGGUFUnknownModelIsAnError() throws {
        XCTAssertEqual(TokenizerError.unsupportedModel("bert").description.contains("bert"), true)
    }
}
