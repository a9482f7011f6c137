import Foundation
import XCTest
@testable import GIMEngine

/// SmolLM2's tokenizer, loaded once from the default model.
private enum SmolLM2Tokenizer {
    private static let loaded: Result<BPETokenizer, Error> = Result {
        let path = try Fixtures.defaultModelPath()
        return try BPETokenizer(gguf: GGUFFile(path: path))
    }

    static func get() throws -> BPETokenizer { try loaded.get() }
}

final class TokenizerTests: XCTestCase {

    // MARK: SmolLM2 (needs the model file)

    func testLoadsSmolLM2Tokenizer() throws {
        let tok = try SmolLM2Tokenizer.get()
        XCTAssertEqual(tok.vocabSize, 49152)
        XCTAssertEqual(tok.preTokenizerKind, .digitsThenGPT2)
        XCTAssertEqual(tok.warnings, [])
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.eosID, 2)
        XCTAssertEqual(tok.unkID, 0)
        XCTAssertEqual(tok.padID, 2)
        XCTAssertFalse(tok.addBOS)
        XCTAssertEqual(tok.merger.table.count, 48900)
        XCTAssertEqual(tok.tokenString(279), tok.tokens[279])
        XCTAssertEqual(tok.id(forToken: "Ġthe"), 260)
    }

    /// Every fixture case gives exactly the ids of the Hugging Face pipeline.
    func testFixtureIDs() throws {
        let tok = try SmolLM2Tokenizer.get()
        let fixture = try Fixtures.json("tokenizer_smollm2")
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 50)
        var passed = 0
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let expected = try XCTUnwrap(c["ids"] as? [Any]).ints
            let ids = tok.encode(text, addSpecialTokens: false)
            XCTAssertEqual(ids, expected, "ids of \(text.debugDescription)")
            // add_bos_token is false, so asking for special tokens adds nothing.
            XCTAssertEqual(tok.encode(text, addSpecialTokens: true), expected)
            XCTAssertEqual(tok.decode(ids), text, "round trip of \(text.debugDescription)")
            if ids == expected { passed += 1 }
        }
        XCTAssertEqual(passed, cases.count)
        if let baseline = fixture["baseline_token_id"] as? Int {
            XCTAssertEqual(tok.encode(" ", addSpecialTokens: false).first, baseline)
        }
    }

    func testRoundTripsUnicode() throws {
        let tok = try SmolLM2Tokenizer.get()
        let samples = [
            "", " ", "\n", "a", "Hello, world!",
            "👨‍👩‍👧‍👦 🇯🇵 👍🏽 🫠", "漢字かなカナ한국어", "e\u{301}\u{302} a\u{20DD} Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫ",
            "   \t\t\n\n \r\n  \u{A0}\u{2003}\u{3000}end  ", "x\u{85}y\u{2028}z\u{2029}",
            "٣٤٥ ⅫⅣ ½ ²³ ①②", "I'm, you're, it's, they'll, we've, he'd, 'S 'LL",
            String(repeating: "ab", count: 500), String(repeating: " ", count: 300) + "x",
            "<|im_start|>user\n<|im_end|><|im_end", "\u{7F}\u{01}\u{1F}\u{0B}",
        ]
        for s in samples {
            XCTAssertEqual(tok.decode(tok.encode(s, addSpecialTokens: false)), s, "round trip of \(s.debugDescription)")
        }
    }

    /// Random strings of scalars round-trip, as long as each of their bytes has a token.
    /// SmolLM2 has no token for bytes 0x04 0x06 0x13 0x14 0x16 0x1D nor for the lead bytes of
    /// scalars U+40000…U+BFFFF (0xF1, 0xF2); those bytes are dropped (as by Hugging Face without
    /// an unk token), and the bytes no UTF-8 text holds (0xC0, 0xC1, 0xF5…) have no token either.
    func testRoundTripsRandomScalars() throws {
        let tok = try SmolLM2Tokenizer.get()
        var available = Set<UInt8>()
        for id in 0..<tok.vocabSize where !tok.isSpecial(id) {
            let bytes = tok.decodeBytes([id])
            if bytes.count == 1 { available.insert(bytes[0]) }
        }
        XCTAssertEqual(Set(0...255).subtracting(available.map(Int.init)).sorted(),
                       [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xC0, 0xC1, 0xF1, 0xF2] + Array(0xF5...0xFF))
        var rng = SeededRandom(seed: 42)
        func randomScalar() -> Unicode.Scalar {
            while true {
                let r = Int.random(in: 0..<10, using: &rng)
                let v: UInt32
                switch r {
                case 0..<3: v = UInt32.random(in: 0x20...0x7E, using: &rng)
                case 3: v = UInt32.random(in: 0...0x7F, using: &rng)
                case 4..<7: v = UInt32.random(in: 0x80...0x2FFF, using: &rng)
                case 7..<9: v = UInt32.random(in: 0x3000...0xFFFF, using: &rng)
                default: v = UInt32.random(in: 0x10000...0x10FFFF, using: &rng)
                }
                guard let s = Unicode.Scalar(v) else { continue }  // surrogates
                if String(s).utf8.allSatisfy(available.contains) { return s }
            }
        }
        for _ in 0..<2000 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...40, using: &rng) { view.append(randomScalar()) }
            let s = String(view)
            let ids = tok.encode(s, addSpecialTokens: false)
            XCTAssertEqual(tok.decode(ids), s, "round trip of \(s.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        // A byte without a token is dropped rather than crashing or inventing an id.
        XCTAssertEqual(tok.decode(tok.encode("a\u{04}b", addSpecialTokens: false)), "ab")
    }

    func testDisplayText() throws {
        let tok = try SmolLM2Tokenizer.get()
        let partial = try XCTUnwrap(tok.id(forToken: "ðŁ"))  // the first two bytes of most emoji
        XCTAssertEqual(tok.displayText(partial), "<0xF0><0x9F>")
        XCTAssertEqual(tok.decodeBytes([partial]), [0xF0, 0x9F])
        let spaceAndLead = try XCTUnwrap(tok.id(forToken: "Ġæ"))
        XCTAssertEqual(tok.displayText(spaceAndLead), " <0xE6>")
        XCTAssertEqual(tok.displayText(try XCTUnwrap(tok.id(forToken: "Ġworld"))), " world")
        XCTAssertEqual(tok.displayText(try XCTUnwrap(tok.id(forToken: "Ċ"))), "\n")
        XCTAssertEqual(tok.displayText(1), "<|im_start|>")
        XCTAssertEqual(tok.displayText(-1), "<invalid token -1>")
        XCTAssertEqual(tok.tokenString(partial), "ðŁ")
        // Together the pieces of an emoji decode to it; alone, invalid bytes become U+FFFD.
        let pizza = tok.encode("🍕", addSpecialTokens: false)
        XCTAssertGreaterThan(pizza.count, 1)
        XCTAssertEqual(tok.decode(pizza), "🍕")
        XCTAssertEqual(tok.decode([partial]), "\u{FFFD}")
    }

    func testSpecialTokens() throws {
        let tok = try SmolLM2Tokenizer.get()
        let controls = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<empty_output>"]
        for text in controls {
            let id = try XCTUnwrap(tok.id(forToken: text))
            XCTAssertTrue(tok.isSpecial(id))
            XCTAssertEqual(tok.encode(text, addSpecialTokens: false), [id])
            XCTAssertEqual(tok.displayText(id), text)
        }
        XCTAssertFalse(tok.isSpecial(260))
        XCTAssertFalse(tok.isSpecial(-3))
        XCTAssertFalse(tok.isSpecial(1_000_000))
        let chat = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
        let ids = tok.encode(chat, addSpecialTokens: false)
        XCTAssertEqual(ids.filter { $0 == 1 }.count, 2)
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 1)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(tok.decode(ids), chat)
        // Near misses stay plain text.
        XCTAssertFalse(tok.encode("<|im_star|> <|IM_END|>", addSpecialTokens: false).contains { tok.isSpecial($0) })
    }

    /// The heap merge (long pieces) and the scan merge (short ones) agree on real merges.
    func testHeapAndScanMergesAgree() throws {
        let tok = try SmolLM2Tokenizer.get()
        var rng = SeededRandom(seed: 7)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz etaoinshrdlu".utf8)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 2...300, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            var scan = tok.bpeSymbols(bytes[...])
            var heap = scan
            tok.merger.mergeByScan(&scan)
            tok.merger.mergeWithHeap(&heap)
            XCTAssertEqual(scan, heap)
        }
    }

    func testConcurrentEncodingIsConsistent() throws {
        let tok = try SmolLM2Tokenizer.get()
        let texts = (0..<64).map { "Sample \($0): the quick brown fox #\($0 * 7919) jumps — ünïcödé \($0 % 5) times." }
        let expected = texts.map { tok.encode($0, addSpecialTokens: false) }
        let fresh = try BPETokenizer(gguf: GGUFFile(path: Fixtures.defaultModelPath()))
        let results = Locked([[Int]](repeating: [], count: texts.count))
        DispatchQueue.concurrentPerform(iterations: texts.count) { i in
            let ids = fresh.encode(texts[i], addSpecialTokens: false)  // concurrently; only the store is locked
            results.withLock { $0[i] = ids }
        }
        XCTAssertEqual(results.value, expected)
    }

    func testEncodingSpeed() throws {
        let tok = try SmolLM2Tokenizer.get()
        var text = ""
        var k = 0
        while text.utf8.count < 9000 {
            text += "Paragraph \(k): The quick brown fox jumps over the lazy dog; 日本語 🍕 naïve café, x=\(k * 31).\n"
            k += 1
        }
        let start = DispatchTime.now()
        let ids = tok.encode(text, addSpecialTokens: false)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        XCTAssertGreaterThan(ids.count, 2000)
        // Release builds take well under a millisecond; this bound only catches pathologies.
        XCTAssertLessThan(ms, 2000, "encoding \(ids.count) tokens took \(ms) ms")
    }

    // MARK: Tiny hand-built vocabulary (no model file)

    /// The 256 byte tokens in byte order, then the given extra tokens.
    private func tinyTokenizer(extra: [String], merges: [String], special: Set<String> = [],
                               pre: String? = "gpt2") throws -> BPETokenizer {
        let bytes = (0..<256).map { String(Unicode.Scalar(ByteUnicodeTable.byteToScalar[$0])!) }
        let tokens = bytes + extra
        let types = tokens.map { special.contains($0) ? Int32(3) : Int32(1) }
        return try BPETokenizer(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: pre,
                                bosID: tokens.firstIndex(of: "<s>"), eosID: tokens.firstIndex(of: "</s>"),
                                unkID: nil, padID: nil,
                                addBOS: tokens.contains("<s>"), addEOS: tokens.contains("</s>"))
    }

    func testByteAlphabet() {
        XCTAssertEqual(ByteUnicodeTable.byteToScalar[0x20], 0x120)  // Ġ
        XCTAssertEqual(ByteUnicodeTable.byteToScalar[0x0A], 0x10A)  // Ċ
        XCTAssertEqual(ByteUnicodeTable.byteToScalar[0x41], 0x41)
        XCTAssertEqual(ByteUnicodeTable.byteToScalar[0xAD], 0x143)  // the last remapped byte
        XCTAssertEqual(Set(ByteUnicodeTable.byteToScalar).count, 256)
        for b in 0..<256 {
            XCTAssertEqual(ByteUnicodeTable.byte(for: ByteUnicodeTable.byteToScalar[b]), UInt8(b))
        }
        XCTAssertNil(ByteUnicodeTable.byte(for: 0x20))
        XCTAssertEqual(ByteUnicodeTable.spell(Array(" the\n".utf8)), "Ġthe\u{10A}")
    }

    func testTinyVocabularyMerges() throws {
        let tok = try tinyTokenizer(extra: ["Ġt", "he", "Ġthe", "ĠĠ", "ab", "abab", "abababab", "<s>", "</s>", "<|x|>"],
                                    merges: ["Ġ t", "h e", "Ġt he", "Ġ Ġ", "a b", "ab ab", "abab abab"],
                                    special: ["<s>", "</s>", "<|x|>"])
        func id(_ t: String) -> Int { tok.id(forToken: t)! }
        XCTAssertEqual(tok.vocabSize, 266)
        XCTAssertEqual(tok.encode(" the", addSpecialTokens: false), [id("Ġthe")])
        XCTAssertEqual(tok.encode("the", addSpecialTokens: false), [id("t"), id("he")])
        XCTAssertEqual(tok.encode(" the", addSpecialTokens: true), [id("<s>"), id("Ġthe"), id("</s>")])
        // `\s+(?!\S)`: the last space of a run goes to the word after it.
        XCTAssertEqual(tok.encode("  the", addSpecialTokens: false), [id("Ġ"), id("Ġthe")])
        XCTAssertEqual(tok.encode("   the", addSpecialTokens: false), [id("ĠĠ"), id("Ġthe")])
        XCTAssertEqual(tok.encode("  ", addSpecialTokens: false), [id("ĠĠ")])
        // Equal ranks merge leftmost first; short pieces use the scan, long ones the heap.
        XCTAssertEqual(tok.encode("ababababab", addSpecialTokens: false), [id("abababab"), id("ab")])
        let long = tok.encode(String(repeating: "ab", count: 101), addSpecialTokens: false)
        XCTAssertEqual(long, Array(repeating: id("abababab"), count: 25) + [id("ab")])
        // Special tokens are matched whole, anywhere, whatever addSpecialTokens says.
        XCTAssertEqual(tok.encode("a<|x|>b", addSpecialTokens: false), [id("a"), id("<|x|>"), id("b")])
        XCTAssertEqual(tok.encode("<|x|", addSpecialTokens: false), [id("<"), id("|"), id("x"), id("|")])
        XCTAssertTrue(tok.isSpecial(id("<|x|>")))
        XCTAssertEqual(tok.decode(tok.encode("a<|x|> the  é\n", addSpecialTokens: false)), "a<|x|> the  é\n")
        XCTAssertEqual(tok.displayText(id("Ġthe")), " the")
        XCTAssertEqual(tok.displayText(id("Ã")), "<0xC3>")
        XCTAssertEqual(tok.tokenString(id("Ġthe")), "Ġthe")
    }

    func testPreTokenizerPieces() {
        func pieces(_ kind: PreTokenizerKind, _ text: String) -> [String] {
            let pre = PreTokenizer(kind: kind)
            let scalars = text.unicodeScalars.map(\.value)
            let classes = scalars.map { pre.classify($0) }
            var ranges: [Range<Int>] = []
            pre.split(scalars, classes, in: 0..<scalars.count, into: &ranges)
            return ranges.map { r in String(String.UnicodeScalarView(r.map { Unicode.Scalar(scalars[$0])! })) }
        }
        XCTAssertEqual(pieces(.gpt2, "I'm 123 go!!  now\t\tx  "), ["I", "'m", " 123", " go", "!!", " ", " now", "\t", "\t", "x", "  "])
        XCTAssertEqual(pieces(.digitsThenGPT2, "x 123 y"), ["x", " ", "1", "2", "3", " y"])
        XCTAssertEqual(pieces(.gpt2, "DON'T 's"), ["DON", "'", "T", " '", "s"])
        XCTAssertEqual(pieces(.llama3, "DON'T 12345 (hi)\n\n  x"), ["DON", "'T", " ", "123", "45", " (", "hi", ")\n\n", " ", " x"])
        XCTAssertEqual(pieces(.llama3, "a \n\n b"), ["a", " \n\n", " b"])
        XCTAssertEqual(pieces(.qwen2, "x12"), ["x", "1", "2"])
        XCTAssertEqual(pieces(.gpt2, "e\u{301}t\u{301}"), ["e", "\u{301}", "t", "\u{301}"])
        XCTAssertEqual(pieces(.qwen35, "e\u{301}t\u{301}"), ["e\u{301}t\u{301}"])
        XCTAssertEqual(pieces(.gpt2, "a\u{A0}\u{A0}b"), ["a", "\u{A0}", "\u{A0}", "b"])
    }

    func testPreTokenizerNames() throws {
        XCTAssertEqual(PreTokenizerKind.named("smollm"), .digitsThenGPT2)
        XCTAssertEqual(PreTokenizerKind.named("default"), .gpt2)
        XCTAssertEqual(PreTokenizerKind.named("llama-bpe"), .llama3)
        XCTAssertEqual(PreTokenizerKind.named("qwen2"), .qwen2)
        XCTAssertNil(PreTokenizerKind.named("no-such-thing"))
        let tok = try tinyTokenizer(extra: [], merges: [], pre: "no-such-thing")
        XCTAssertEqual(tok.preTokenizerKind, .gpt2)
        XCTAssertEqual(tok.warnings.count, 1)
        XCTAssertTrue(tok.warnings[0].contains("no-such-thing"))
        XCTAssertEqual(try tinyTokenizer(extra: [], merges: [], pre: nil).warnings, [])
    }

    func testConstructionErrors() throws {
        XCTAssertThrowsError(try BPETokenizer(tokens: [], merges: [], tokenTypes: nil, preTokenizer: nil, bosID: nil,
                                              eosID: nil, unkID: nil, padID: nil, addBOS: false, addEOS: false)) {
            XCTAssertEqual($0 as? TokenizerError, .emptyVocabulary)
        }
        XCTAssertThrowsError(try tinyTokenizer(extra: ["ab"], merges: ["a b", "a zz"])) { error in
            XCTAssertEqual(error as? TokenizerError, .mergeUnknownToken(index: 1, merge: "a zz", token: "zz"))
            XCTAssertTrue("\(error)".contains("\"zz\""), "\(error)")
        }
        XCTAssertThrowsError(try tinyTokenizer(extra: [], merges: ["a b"])) { error in
            XCTAssertEqual(error as? TokenizerError, .mergeUnknownToken(index: 0, merge: "a b", token: "ab"))
        }
        XCTAssertThrowsError(try tinyTokenizer(extra: [], merges: ["ab"])) {
            XCTAssertEqual($0 as? TokenizerError, .malformedMerge(index: 0, merge: "ab"))
        }
        XCTAssertThrowsError(try BPETokenizer(tokens: ["a"], merges: [], tokenTypes: [1, 1], preTokenizer: nil,
                                              bosID: nil, eosID: nil, unkID: nil, padID: nil, addBOS: false, addEOS: false)) {
            XCTAssertEqual($0 as? TokenizerError, .tokenTypeCountMismatch(tokens: 1, types: 2))
        }
        XCTAssertThrowsError(try BPETokenizer(tokens: ["a"], merges: [], tokenTypes: nil, preTokenizer: nil,
                                              bosID: 5, eosID: nil, unkID: nil, padID: nil, addBOS: false, addEOS: false)) {
            XCTAssertEqual($0 as? TokenizerError, .specialIDOutOfRange(name: "bos", id: 5, vocabSize: 1))
        }
    }

    func testFromGGUFMetadata() throws {
        let bytes = (0..<256).map { String(Unicode.Scalar(ByteUnicodeTable.byteToScalar[$0])!) }
        let tokens = ["<|endoftext|>"] + bytes + ["Ġt", "<|im_end|>"]
        var w = GGUFWriter()
        w.add("tokenizer.ggml.model", .string("gpt2"))
        w.add("tokenizer.ggml.pre", .string("smollm"))
        w.add("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        w.add("tokenizer.ggml.merges", .array([.string("Ġ t")]))
        w.add("tokenizer.ggml.token_type", .array(tokens.map { .int32($0.hasPrefix("<|") ? 3 : 1) }))
        w.add("tokenizer.ggml.bos_token_id", .uint32(0))
        w.add("tokenizer.ggml.eos_token_id", .uint32(258))
        w.add("tokenizer.ggml.padding_token_id", .uint32(99_999))  // out of range: ignored
        w.add("tokenizer.ggml.add_bos_token", .bool(true))
        let path = temporaryPath("tok-\(UUID().uuidString).gguf")
        try w.write(to: path)
        let tok = try BPETokenizer(gguf: GGUFFile(path: path))
        XCTAssertEqual(tok.preTokenizerKind, .digitsThenGPT2)
        XCTAssertEqual(tok.bosID, 0)
        XCTAssertNil(tok.padID)
        XCTAssertTrue(tok.addBOS)
        XCTAssertEqual(tok.encode(" t7<|im_end|>"), [0, 257, 1 + 0x37, 258])

        var other = GGUFWriter()
        other.add("tokenizer.ggml.model", .string("bert"))
        other.add("tokenizer.ggml.tokens", .array([.string("a")]))
        let otherPath = temporaryPath("tok-\(UUID().uuidString).gguf")
        try other.write(to: otherPath)
        XCTAssertThrowsError(try BPETokenizer(gguf: GGUFFile(path: otherPath))) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedModel("bert"))
            XCTAssertTrue("\(error)".contains("\"bert\""), "\(error)")
        }

        // A SentencePiece ("llama") vocabulary needs its scores.
        var spm = GGUFWriter()
        spm.add("tokenizer.ggml.model", .string("llama"))
        spm.add("tokenizer.ggml.tokens", .array([.string("a")]))
        let spmPath = temporaryPath("tok-\(UUID().uuidString).gguf")
        try spm.write(to: spmPath)
        XCTAssertThrowsError(try BPETokenizer(gguf: GGUFFile(path: spmPath))) { error in
            XCTAssertEqual(error as? TokenizerError, .missingMetadata(key: "tokenizer.ggml.scores", expected: "an array of numbers"))
        }
    }
}
