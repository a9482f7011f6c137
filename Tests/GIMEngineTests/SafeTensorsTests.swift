import XCTest
@testable import GIMEngine

/// The safetensors reader: values of each float dtype, and a clear error (file, tensor, problem),
/// never a crash, for truncated or forged files and shard indexes.
final class SafeTensorsTests: XCTestCase {
    /// A safetensors file from a header object and the data bytes.
    static func file(header: String, data: [UInt8]) -> [UInt8] {
        let h = Array(header.utf8)
        var out = withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) }
        out += h
        out += data
        return out
    }

    static func bytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    func testReadsEachFloatType() throws {
        let f32: [Float] = [1, -2.5, 3.25, 0]
        let f16: [Float16] = [0.5, -1, 65504, 0.099975586]
        let bf16: [UInt16] = [0x3F80, 0xC020, 0x4049, 0x0000]  // 1, -2.5, 3.140625, 0
        let f64: [Double] = [1e-3, -7, 2.5, 1e30]
        var data = Self.bytes(f32)
        data += Self.bytes(f16)
        data += Self.bytes(bf16)
        data += Self.bytes(f64)
        let header = """
        {"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
         "b": {"dtype": "F16", "shape": [4], "data_offsets": [16, 24]},
         "c": {"dtype": "BF16", "shape": [1, 4], "data_offsets": [24, 32]},
         "d": {"dtype": "F64", "shape": [4], "data_offsets": [32, 64]},
         "e": {"dtype": "I64", "shape": [0], "data_offsets": [64, 64]}}
        """
        let st = try SafeTensorsFile(bytes: Self.file(header: header, data: data), name: "t.safetensors")
        XCTAssertEqual(st.metadata, ["format": "pt"])
        XCTAssertEqual(st.tensorNames, ["a", "b", "c", "d", "e"])
        XCTAssertEqual(try st.info("a").shape, [2, 2])
        XCTAssertEqual(try st.floats("a"), f32)
        XCTAssertEqual(try st.floats("b"), f16.map(Float.init))
        XCTAssertEqual(try st.floats("c"), [1, -2.5, 3.140625, 0])
        XCTAssertEqual(try st.floats("d"), f64.map(Float.init))
        XCTAssertThrowsError(try st.floats("e")) { XCTAssertTrue("\($0)".contains("I64"), "\($0)") }
        XCTAssertThrowsError(try st.floats("zz")) { XCTAssertTrue("\($0)".contains("\"zz\""), "\($0)") }
    }

    func testForgedHeadersGiveClearErrors() {
        func expect(_ bytes: [UInt8], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try SafeTensorsFile(bytes: bytes, name: "bad.safetensors"), file: file, line: line) { e in
                let text = "\(e)"
                XCTAssertTrue(text.hasPrefix("bad.safetensors: "), text, file: file, line: line)
                for f in fragments { XCTAssertTrue(text.contains(f), "\(text) lacks \(f)", file: file, line: line) }
            }
        }
        let ok = Self.bytes([Float](repeating: 1, count: 4))
        func t(_ entry: String, data: [UInt8] = ok) -> [UInt8] { Self.file(header: "{\"w\": \(entry)}", data: data) }

        expect([1, 2, 3], ["3 bytes"])
        expect(withUnsafeBytes(of: UInt64(1000).littleEndian) { Array($0) } + [0x7B, 0x7D], ["header length 1000", "past the end"])
        expect(withUnsafeBytes(of: UInt64.max.littleEndian) { Array($0) }, ["header length"])
        expect(Self.file(header: "{\"w\": ", data: []), ["not a JSON object"])
        expect(Self.file(header: "[1, 2]", data: []), ["not a JSON object"])
        expect(t(#"{"dtype": "F32", "shape": [4], "data_offsets": [0, 32]}"#), ["\"w\"", "[0, 32]", "past the end"])
        expect(t(#"{"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}"#), ["\"w\"", "needs 20 bytes", "hold 16"])
        expect(t(#"{"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}"#), ["\"w\"", "negative"])
        expect(t(#"{"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}"#), ["\"w\"", "increasing"])
        expect(t(#"{"dtype": "F32", "shape": [4], "data_offsets": [0]}"#), ["\"w\"", "[begin, end]"])
        expect(t(#"{"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}"#), ["\"w\"", "unknown dtype \"Q4\""])
        expect(t(#"{"dtype": "F32", "shape": "4", "data_offsets": [0, 16]}"#), ["\"w\"", "shape"])
        expect(t(#"{"dtype": "F32", "shape": [4.5], "data_offsets": [0, 16]}"#), ["\"w\""])
        expect(t(#"{"shape": [4], "data_offsets": [0, 16]}"#), ["\"w\"", "dtype"])
        expect(t(#"{}"#), ["\"w\"", "no \"dtype\""])
        expect(t(#"{"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 16]}"#), ["\"w\"", "overflow"])
        expect(Self.file(header: #"{"__metadata__": {"a": 1}}"#, data: []), ["__metadata__"])
        expect(Self.file(header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}"#, data: ok),
               ["overlaps"])
    }

    /// Every prefix of a real file either parses (if the cut falls after all data) or fails cleanly.
    func testTruncatedRealFileNeverCrashes() throws {
        let path = HFTinyParityTests.folder("tiny-gpt2") + "/model.safetensors"
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let whole = try SafeTensorsFile(bytes: full, name: "full")
        XCTAssertEqual(whole.tensors["transformer.wpe.weight"]?.dtype, .bf16)
        XCTAssertEqual(whole.tensors["transformer.h.1.mlp.c_fc.weight"]?.dtype, .f16)
        var cuts = Array(stride(from: 0, to: full.count, by: 997)) + [full.count - 1]
        cuts += Array(0..<40)
        for cut in cuts {
            XCTAssertThrowsError(try SafeTensorsFile(bytes: Array(full[..<cut]), name: "cut")) { e in
                XCTAssertTrue(e is SafeTensorsError, "\(e)")
            }
        }
        // Random byte flips in the header: errors or a file that still validates, never a crash.
        var rng = SeededRandom(seed: 11)
        let headerEnd = 8 + Int(full.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for _ in 0..<300 {
            var b = full
            let i = Int.random(in: 0..<headerEnd, using: &rng)
            b[i] = UInt8.random(in: 0...255, using: &rng)
            if let st = try? SafeTensorsFile(bytes: b, name: "flip") {
                for name in st.tensorNames { _ = try? st.floats(name) }
            }
        }
    }

    func testShardIndexProblemsAreNamed() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("gim-st-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        let shard = Self.file(header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#,
                              data: Self.bytes([Float](repeating: 2, count: 4)))
        try Data(shard).write(to: dir.appendingPathComponent("s1.safetensors"))

        func expect(_ indexJSON: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            try indexJSON.write(to: index, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try SafeTensorsFolder(directory: dir.path), file: file, line: line) { e in
                for f in fragments { XCTAssertTrue("\(e)".contains(f), "\(e) lacks \(f)", file: file, line: line) }
            }
        }
        try expect(#"{"weight_map": {"a": "../s1.safetensors"}}"#, ["\"a\"", "not a file name"])
        try expect(#"{"weight_map": {"a": "missing.safetensors"}}"#, ["missing.safetensors"])
        try expect(#"{"weight_map": {"b": "s1.safetensors"}}"#, ["\"b\"", "does not hold it"])
        try expect(#"{"weight_map": {}}"#, ["no tensors"])
        try expect(#"{"nothing": 1}"#, ["weight_map"])

        try #"{"weight_map": {"a": "s1.safetensors"}}"#.write(to: index, atomically: true, encoding: .utf8)
        let folder = try SafeTensorsFolder(directory: dir.path)
        XCTAssertEqual(folder.tensorNames, ["a"])
        XCTAssertThrowsError(try folder.expect("a", shape: [2, 2])) { XCTAssertTrue("\($0)".contains("[4]"), "\($0)") }
        let buffer = FloatBuffer(count: 4)
        try SafeTensorsFolder.run([folder.job("a", shape: [4], into: buffer)])
        XCTAssertEqual(buffer.array, [2, 2, 2, 2])

        try fm.removeItem(at: index)
        XCTAssertThrowsError(try SafeTensorsFolder(directory: dir.path)) { XCTAssertTrue("\($0)".contains("model.safetensors"), "\($0)") }
    }

    /// A model folder whose tensors disagree with its config.json names the tensor.
    func testFolderWithWrongTensorShape() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("gim-st-\(UUID().uuidString)")
        try fm.copyItem(atPath: HFTinyParityTests.folder("tiny-gpt2"), toPath: dir.path)
        defer { try? fm.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["n_positions"] = 128
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertThrowsError(try ModelBundle.load(path: dir.path)) { e in
            XCTAssertTrue("\(e)".contains("wpe.weight") && "\(e)".contains("[64, 32]"), "\(e)")
        }
    }

    func testWriterRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gim-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        try a.withUnsafeBufferPointer { p in
            try SafeTensorsWriter.writeF32(path: path, tensors: [
                .init(name: "z.weight", shape: [2, 3], from: p.baseAddress!),
                .init(name: "a \"quoted\"", shape: [3]) { dst in for i in 0..<3 { dst[i] = Float(-i) } },
            ])
        }
        let st = try SafeTensorsFile(path: path)
        XCTAssertEqual(try st.floats("z.weight"), a)
        XCTAssertEqual(try st.info("z.weight").shape, [2, 3])
        XCTAssertEqual(try st.floats("a \"quoted\""), [0, -1, -2])
        XCTAssertEqual(st.metadata, ["format": "pt"])
        XCTAssertEqual((try st.info("a \"quoted\"")).fileOffset % 8, 0)
    }
}
