import Foundation
import XCTest
@testable import GIMEngine

/// Word aggregation: the rules on hand-made token pieces (leading-space markers, numbers,
/// punctuation, CJK, emoji, code, special tokens), then on each tokenizer kind's real output.
final class WordAggregationTests: XCTestCase {
    /// Words of tokens given as text (a "Ġ"/"▁" marker already read as a space).
    func words(_ tokens: [String], special: Set<Int> = []) -> [String] {
        let m = WordAggregation.mapping(pieces: tokens.map { Array($0.utf8) }, special: tokens.indices.map { special.contains($0) })
        XCTAssertEqual(m.wordOfToken.count, tokens.count)
        return m.words.map(\.text)
    }

    func testLeadingSpaceStartsAWord() {
        XCTAssertEqual(words(["The", " quick", " bro", "wn", " fox"]), ["The", " quick", " brown", " fox"])
        XCTAssertEqual(words(["Hello", "\n", "\n", "world", "  "]), ["Hello", "\n\nworld", "  "])
    }

    func testNumbers() {
        // Digits split one per token (SmolLM2, Llama 3) are one number; decimals and thousands stay whole.
        XCTAssertEqual(words(["In", " ", "2", "0", "2", "4", ",", " ", "3", ".", "1", "4", " and", " ", "1", ",", "0", "0", "0"]),
                       ["In", " 2024", ",", " 3.14", " and", " 1,000"])
        XCTAssertEqual(words([" x", "2", " ", "4", "th"]), [" x2", " 4th"])
    }

    func testPunctuationAndContractions() {
        XCTAssertEqual(words(["Wait", "...", " what", "?!", " don", "'t", " '", "quoted", "'"]),
                       ["Wait", "...", " what", "?!", " don't", " '", "quoted", "'"])
        // A token holding a word and its punctuation keeps them together (a token is never split).
        XCTAssertEqual(words(["Hello,", " world", "!"]), ["Hello,", " world", "!"])
    }

    func testCJKCharactersAreWords() {
        XCTAssertEqual(words(["你", "好", "，", "世界", "！"]), ["你", "好", "，", "世界", "！"])
        XCTAssertEqual(words(["日本", "語", "のテ", "キスト"]), ["日本", "語", "のテ", "キスト"])
        // A character split over byte-level tokens: its tokens make one word.
        let ni = Array("你".utf8), hao = Array("好".utf8)
        let m = WordAggregation.mapping(pieces: [[ni[0]], [ni[1], ni[2]], hao], special: [false, false, false])
        XCTAssertEqual(m.words.map(\.text), ["你", "好"])
        XCTAssertEqual(m.wordOfToken, [0, 0, 1])
    }

    func testEmoji() {
        let pizza = Array("🍕".utf8)
        let m = WordAggregation.mapping(pieces: [Array("I".utf8), Array(" love".utf8), [0x20], Array(pizza[0..<2]), Array(pizza[2...]), Array("!".utf8)],
                                        special: Array(repeating: false, count: 6))
        XCTAssertEqual(m.words.map(\.text), ["I", " love", " 🍕", "!"])
        XCTAssertEqual(m.words[2].tokens, 2..<5)
        // ZWJ sequences, skin tones, flags: one emoji each; two emoji side by side are two words.
        XCTAssertEqual(words(["👨‍👩‍👧", " family", " ", "👍🏽", "🇫🇷", "🇯🇵"]), ["👨‍👩‍👧", " family", " 👍🏽", "🇫🇷", "🇯🇵"])
        XCTAssertEqual(words(["ok", "🙂", "🙂"]), ["ok", "🙂", "🙂"])
    }

    func testCode() {
        XCTAssertEqual(words(["def", " snake", "_case", "(", "x", "):", "\n", "   ", " return", " x", "==", "1", ".", "0"]),
                       ["def", " snake_case", "(", "x", "):", "\n    return", " x", "==", "1.0"])
        XCTAssertEqual(words(["self", ".", "value", "+=", "arr", "[", "i", "]"]), ["self", ".", "value", "+=", "arr", "[", "i", "]"])
    }

    func testSpecialTokensStandAlone() {
        XCTAssertEqual(words(["<|im_start|>", "user", "\n", "Hi", "<|im_end|>", "\n"], special: [0, 4]),
                       ["<|im_start|>", "user", "\nHi", "<|im_end|>", "\n"])
    }

    func testAggregation() {
        let m = WordAggregation.mapping(pieces: ["The", " bro", "wn", " fox"].map { Array($0.utf8) }, special: [false, false, false, false])
        XCTAssertEqual(m.aggregate([1, 2, -3, 0.5]), [1, -1, 0.5])
        XCTAssertEqual(m.aggregate([1, 2, -3, 0.5], .maxAbs), [1, -3, 0.5])
        XCTAssertEqual(WordMapping.tokens(["a", "b"]).aggregate([1, 2]), [1, 2])
        let json = try! JSONEncoder().encode(m)
        XCTAssertEqual(try! JSONDecoder().decode(WordMapping.self, from: json), m)
    }

    // MARK: Each tokenizer kind

    static let sentence = "Hello, world! In 2024 pi is 3.14; don't x_y==1 ok"
    static let sentenceWords = ["Hello", ",", "world", "!", "In", "2024", "pi", "is", "3.14", ";", "don't", "x_y", "==", "1", "ok"]

    func checkKind(_ tok: BPETokenizer, _ label: String, text: String = sentence, expected: [String] = sentenceWords) {
        let ids = tok.encode(text, addSpecialTokens: false)
        let m = WordAggregation.mapping(tokenIDs: ids, tokenizer: tok)
        XCTAssertEqual(m.wordOfToken.count, ids.count, label)
        XCTAssertEqual(m.words.first?.firstToken, 0, label)
        for (a, b) in zip(m.words, m.words.dropFirst()) { XCTAssertEqual(a.endToken, b.firstToken, label) }
        let got = m.words.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(got, expected, "\(label): tokens \(ids.map { tok.displayText($0) })")
        print("words (\(label)): \(ids.count) tokens -> \(m.words.count) words")
    }

    static func fixture(_ path: String) -> String {
        Fixtures.repoRoot.appendingPathComponent("Tests/GIMEngineTests/Fixtures/\(path)").path
    }

    func testByteLevelBPE() throws {
        checkKind(try BPETokenizer(tokenizerJSONFile: Self.fixture("tokenizers/qwen2/tokenizer.json")), "byte-level qwen2")
        checkKind(try HFModelFolder.loadTokenizer(directory: Self.fixture("families/llama3/hf")), "byte-level llama3")
        let smol = try BPETokenizer(gguf: GGUFFile(path: try Fixtures.defaultModelPath()))
        checkKind(smol, "byte-level SmolLM2")
        checkKind(smol, "SmolLM2 CJK+emoji", text: "你好，世界！ I love 🍕 and 👨‍👩‍👧‍👦 2024",
                  expected: ["你", "好", "，", "世", "界", "！", "I", "love", "🍕", "and", "👨‍👩‍👧‍👦", "2024"])
    }

    func testSentencePieceBPE() throws {
        checkKind(try BPETokenizer(tokenizerJSONFile: Self.fixture("tokenizers/llama2/tokenizer.json")), "sentencepiece-bpe llama2")
        checkKind(try BPETokenizer(tokenizerJSONFile: Self.fixture("tokenizers/gemma/tokenizer.json")), "sentencepiece-bpe gemma")
    }

    func testLlamaSPM() throws {
        checkKind(try BPETokenizer(gguf: GGUFFile(path: Self.fixture("tokenizers/llama2/vocab.gguf"))), "llama.cpp spm")
    }

    func testUnigram() throws {
        // The tiny Unigram vocabulary has only lower-case letters: upper case and digits are <unk>
        // (one special token each, so words of their own); the lower-case sentence splits normally.
        checkKind(try BPETokenizer(tokenizerJSONFile: Self.fixture("tokenizers/unigram/tokenizer.json")), "unigram",
                  text: "the cat sat on the mat", expected: ["the", "cat", "sat", "on", "the", "mat"])
    }
}
