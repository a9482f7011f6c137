import XCTest
@testable import GIMEngine

final class GGUFReaderTests: XCTestCase {
    func sample() -> GGUFWriter {
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add("test.count", .uint32(7))
        w.add("test.list", .array([.string("a"), .string("bé"), .string("🙂")]))
        w.add("test.pi", .float32(3.25))
        w.addF32("a.weight", dims: [4, 2], [1, 2, 3, 4, 5, 6, 7, 8])
        w.addF32("b.weight", dims: [3], [-1, 0, 1])
        return w
    }

    func expectError(_ bytes: [UInt8], _ kind: GGUFError.Kind, containing text: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let path = temporaryPath("bad-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { error in
            guard let e = error as? GGUFError else { return XCTFail("unexpected error \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(text), "\(e) should mention \(text)", file: file, line: line)
            XCTAssertTrue(e.description.contains(path), "\(e) should name the file", file: file, line: line)
        }
    }

    func testReadsMetadataAndTensors() throws {
        let path = temporaryPath("ok.gguf")
        try sample().write(to: path)
        let g = try GGUFFile(path: path)
        XCTAssertEqual(g.metadata["general.architecture"]?.stringValue, "llama")
        XCTAssertEqual(try g.int("test.count"), 7)
        XCTAssertEqual(g.metadata["test.list"]?.stringArray, ["a", "bé", "🙂"])
        XCTAssertEqual(try g.double("test.pi"), 3.25)
        XCTAssertEqual(g.tensorNames, ["a.weight", "b.weight"])
        XCTAssertEqual(try g.floats("a.weight"), [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(try g.floats("b.weight"), [-1, 0, 1])
        XCTAssertEqual(try g.info("a.weight").dims, [4, 2])
    }

    func testForeignFile() throws {
        try expectError(Array("PK\u{3}\u{4} this is a zip file".utf8), .notGGUF, containing: "not a GGUF file")
        try expectError([], .notGGUF, containing: "not a GGUF file")
    }

    func testUnsupportedVersion() throws {
        var b = sample().bytes()
        b[4] = 9
        try expectError(b, .unsupportedVersion, containing: "version 9")
    }

    func testEveryTruncationIsAnError() throws {
        let full = sample().bytes()
        // Cut inside the header, the metadata, the tensor directory and the tensor data.
        for cut in [6, 20, 40, 90, 150, 200, full.count - 40, full.count - 1] where cut < full.count {
            let path = temporaryPath("cut-\(cut).gguf")
            try Data(full[0..<cut]).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try GGUFFile(path: path), "cut at \(cut)") { error in
                XCTAssertEqual((error as? GGUFError)?.kind, .truncated, "cut at \(cut): \(error)")
            }
        }
    }

    func testForgedCountsDoNotAllocate() throws {
        var b = sample().bytes()
        // tensor count (bytes 8..<16) forged to 2^60
        for i in 8..<16 { b[i] = 0 }
        b[15] = 0x10
        try expectError(b, .badValue, containing: "tensor count")

        // metadata array length forged to 2^40: the reader must refuse before allocating.
        var w = GGUFWriter()
        w.add("x", .array([.uint8(1), .uint8(2)]))
        var c = w.bytes()
        let lengthAt = 4 + 4 + 8 + 8 + (8 + 1) + 4 + 4  // magic, version, counts, key "x", value type, element type
        c[lengthAt + 5] = 1
        try expectError(c, .truncated, containing: "claims")

        // a string length larger than the file
        var s = sample().bytes()
        s[24 + 7] = 0x7F
        try expectError(s, .truncated, containing: "claims")
    }

    func testUnsupportedTensorTypesAreNamedWhenRead() throws {
        var w = sample()
        w.tensors.append((name: "k.weight", dims: [256], type: GGMLType.iq2_xxs.rawValue,
                          data: [UInt8](repeating: 0, count: GGMLType.iq2_xxs.typeSize)))
        w.tensors.append((name: "x.weight", dims: [4], type: 99, data: [1, 2, 3, 4]))
        let path = temporaryPath("iq2xxs.gguf")
        try w.write(to: path)
        let g = try GGUFFile(path: path)
        XCTAssertThrowsError(try g.floats("k.weight")) { error in
            XCTAssertTrue("\(error)".contains("IQ2_XXS"), "\(error)")
        }
        XCTAssertThrowsError(try g.floats("x.weight")) { error in
            XCTAssertTrue("\(error)".contains("type#99"), "\(error)")
        }
    }

    func testRowLengthMustFitTheBlockSize() throws {
        var w = sample()
        w.tensors.append((name: "k.weight", dims: [100], type: GGMLType.q4_1.rawValue, data: [UInt8](repeating: 0, count: 80)))
        try expectError(w.bytes(), .badValue, containing: "block size")
    }
}

/// Hostile variations of a complete tiny model file (Tests/Fuzz/corpus/gguf): each must load or
/// fail with an error, never crash, and the obvious corruptions must name what is wrong.
final class CorruptModelFileTests: XCTestCase {
    func seed() throws -> [UInt8] {
        let url = Fixtures.repoRoot.appendingPathComponent("Tests/Fuzz/corpus/gguf/tiny-llama-q4_1.gguf")
        return Array(try Data(contentsOf: url))
    }

    func loadEverything(_ bytes: [UInt8]) -> Error? {
        do {
            let g = try GGUFFile(bytes: bytes, name: "flipped.gguf")
            _ = try DecoderWeights(gguf: g)
            let tokenizer = try BPETokenizer(gguf: g)
            _ = tokenizer.decode(tokenizer.encode("the cat 123"))
            return nil
        } catch {
            return error
        }
    }

    func testTheSeedLoads() throws {
        XCTAssertNil(loadEverything(try seed()))
    }

    func testBitFlipsNeverCrash() throws {
        let original = try seed()
        var rng = SeededRandom(seed: 99)
        var failures = 0
        for _ in 0..<400 {
            var b = original
            // Most flips land in the header, metadata and tensor directory, where parsing happens.
            let at = Int.random(in: 0..<min(b.count, 6000), using: &rng)
            b[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            if let error = loadEverything(b) {
                failures += 1
                XCTAssertFalse("\(error)".isEmpty)
            }
        }
        XCTAssertGreaterThan(failures, 50, "many flips should be detected")
    }

    func testNamedCorruptions() throws {
        var b = try seed()
        b[0] ^= 0x20
        XCTAssertEqual((loadEverything(b) as? GGUFError)?.kind, .notGGUF)
        b = try seed()
        b[4] = 7
        XCTAssertEqual((loadEverything(b) as? GGUFError)?.kind, .unsupportedVersion)
        b = try seed()
        XCTAssertEqual((loadEverything(Array(b[..<(b.count - 100)])) as? GGUFError)?.kind, .truncated)
    }

    /// A configuration that claims a huge model must fail on the tensor shapes, not allocate.
    func testForgedConfigurationDoesNotAllocate() throws {
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add("llama.embedding_length", .uint32(65536))
        w.add("llama.block_count", .uint32(1000))
        w.add("llama.attention.head_count", .uint32(512))
        w.add("llama.feed_forward_length", .uint32(262144))
        w.add("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.add("llama.vocab_size", .uint32(4_000_000))
        w.addF32("token_embd.weight", dims: [4], [1, 2, 3, 4])
        let g = try GGUFFile(bytes: w.bytes(), name: "forged.gguf")
        XCTAssertThrowsError(try DecoderWeights(gguf: g)) { error in
            XCTAssertTrue("\(error)".contains("token_embd.weight"), "\(error)")
        }
    }
}

final class ChangingModelFileTests: XCTestCase {
    func testFileChangedOrRemovedWhileOpenIsReported() throws {
        let path = temporaryPath("changing.gguf")
        let seed = try Data(contentsOf: Fixtures.repoRoot.appendingPathComponent("Tests/Fuzz/corpus/gguf/tiny-llama-q4_1.gguf"))
        try seed.write(to: URL(fileURLWithPath: path))
        let g = try GGUFFile(path: path)
        XCTAssertNoThrow(try g.checkUnchanged())
        // Replaced by a shorter file: reading it through the old mapping could crash with SIGBUS.
        try seed.prefix(seed.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DecoderWeights(gguf: g)) { XCTAssertTrue("\($0)".contains("changed"), "\($0)") }
        try FileManager.default.removeItem(atPath: path)
        XCTAssertThrowsError(try g.floats("output_norm.weight")) { XCTAssertTrue("\($0)".contains("disappeared"), "\($0)") }
    }
}
