import XCTest
@testable import GIMEngine

final class DequantizeTests: XCTestCase {
    static func bytes(hex: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(hex.utf8.count / 2)
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Random and edge-case blocks of every supported type against gguf-py's dequantization
    /// (fixture from scripts/reference/make_dequant_fixtures.py). Bit-exact: every Float32 has
    /// gguf-py's bit pattern (the same value and sign of zero; NaN never occurs).
    func testBlocksMatchReferenceBitForBit() throws {
        let fixture = try Fixtures.json("dequant_blocks")
        let cases = fixture["cases"] as! [[String: Any]]
        var blocksSeen: [String: Int] = [:]
        for c in cases {
            let name = c["type"] as! String, label = c["case"] as! String
            let type = try XCTUnwrap(GGMLType(name: name), name)
            XCTAssertTrue(type.canDequantize, name)
            let bytes = Self.bytes(hex: c["hex"] as! String)
            let expected: [Float] = Self.bytes(hex: c["values_hex"] as! String).withUnsafeBytes {
                Array($0.bindMemory(to: Float.self))
            }
            XCTAssertEqual(bytes.count, expected.count / type.blockSize * type.typeSize, "\(name) \(label)")
            var got = [Float](repeating: .nan, count: expected.count)
            bytes.withUnsafeBytes { src in
                got.withUnsafeMutableBufferPointer { Dequantize.run(type, from: src, into: $0) }
            }
            var mismatches = 0
            for k in expected.indices where got[k].bitPattern != expected[k].bitPattern {
                if mismatches < 5 { XCTFail("\(name) \(label) value \(k): got \(got[k]), gguf-py \(expected[k])") }
                mismatches += 1
            }
            XCTAssertEqual(mismatches, 0, "\(name) \(label): \(mismatches) of \(expected.count) values differ")
            blocksSeen[name, default: 0] += c["blocks"] as! Int
        }
        XCTAssertEqual(Set(blocksSeen.keys), Set(GGMLType.dequantizableNames))
        for (name, n) in blocksSeen { XCTAssertGreaterThanOrEqual(n, 14, name) }
    }

    /// Every type gguf-py knows has the same id, block size and block bytes here.
    func testBlockSizesMatchGGUFPy() throws {
        let sizes = try Fixtures.json("dequant_blocks")["sizes"] as! [String: [Any]]
        XCTAssertFalse(sizes.isEmpty)
        for (name, v) in sizes {
            let ints = v.ints
            let type = try XCTUnwrap(GGMLType(name: name), "gguf-py type \(name) is unknown here")
            XCTAssertEqual(Int(type.rawValue), ints[0], name)
            XCTAssertEqual(type.blockSize, ints[1], name)
            XCTAssertEqual(type.typeSize, ints[2], name)
        }
        XCTAssertEqual(Set(GGMLType.allCases.map(\.name)), Set(sizes.keys))
    }

    func testSupportedListAndMessage() {
        XCTAssertEqual(GGMLType.dequantizableNames,
                       ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"])
        for t in GGMLType.allCases { XCTAssertEqual(t.canDequantize, GGMLType.dequantizable.contains(t), t.name) }
        XCTAssertEqual(GGMLType(name: "iq4_xs"), .iq4_xs)
        XCTAssertNil(GGMLType(name: "Q9_0"))
        XCTAssertEqual(GGMLType.q4_K.byteCount(elements: 512), 288)
        XCTAssertNil(GGMLType.q4_K.byteCount(elements: 300))
        let m = GGMLType.unsupportedMessage(tensor: "blk.0.attn_q.weight", typeName: "IQ2_XXS")
        XCTAssertEqual(m, "tensor \"blk.0.attn_q.weight\" uses quantization IQ2_XXS, which is not supported "
                       + "(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)")
    }

    /// The reader sizes every new type, reads it, names the ones it cannot decode, and rejects
    /// rows that are not whole blocks.
    func testReaderSizesAndReadsEveryType() throws {
        let fixture = try Fixtures.json("dequant_blocks")
        var w = GGUFWriter()
        var expected: [String: [Float]] = [:]
        for c in fixture["cases"] as! [[String: Any]] where c["case"] as! String == "random-3" {
            let type = GGMLType(name: c["type"] as! String)!
            let data = Self.bytes(hex: c["hex"] as! String)
            let name = "t.\(type.name)"
            w.tensors.append((name: name, dims: [type.blockSize, 3], type: type.rawValue, data: data))
            expected[name] = Self.bytes(hex: c["values_hex"] as! String).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        w.tensors.append((name: "iq2", dims: [256], type: GGMLType.iq2_xxs.rawValue,
                          data: [UInt8](repeating: 0, count: GGMLType.iq2_xxs.typeSize)))
        let g = try GGUFFile(bytes: w.bytes())
        for (name, values) in expected {
            let t = try g.info(name)
            XCTAssertEqual(t.byteCount, 3 * t.type!.typeSize, name)
            XCTAssertEqual(try g.floats(name).map(\.bitPattern), values.map(\.bitPattern), name)
        }
        // The same blocks in a file written by gguf-py's GGUFWriter (the fuzz seed).
        let seed = Fixtures.repoRoot.appendingPathComponent("Tests/Fuzz/corpus/gguf/every-type.gguf").path
        let fromPython = try GGUFFile(path: seed)
        XCTAssertEqual(Set(fromPython.tensorNames), Set(expected.keys))
        for (name, values) in expected {
            XCTAssertEqual(try fromPython.floats(name).map(\.bitPattern), values.map(\.bitPattern), "every-type.gguf " + name)
        }
        XCTAssertEqual(try g.info("iq2").byteCount, 66)
        XCTAssertThrowsError(try g.floats("iq2")) { error in
            XCTAssertEqual((error as? GGUFError)?.kind, .unsupportedType)
            XCTAssertTrue("\(error)".contains("uses quantization IQ2_XXS, which is not supported (supported: F32"), "\(error)")
        }
        for type in [GGMLType.q5_0, .q2_K, .iq4_nl, .iq4_xs] {
            var bad = GGUFWriter()
            bad.tensors.append((name: "bad", dims: [type.blockSize + 16, 2], type: type.rawValue,
                                data: [UInt8](repeating: 0, count: 4 * type.typeSize)))
            XCTAssertThrowsError(try GGUFFile(bytes: bad.bytes())) { error in
                XCTAssertEqual((error as? GGUFError)?.kind, .badValue, type.name)
                XCTAssertTrue("\(error)".contains("row length \(type.blockSize + 16) is not a multiple of the \(type.name) block size \(type.blockSize)"), "\(error)")
            }
        }
    }

    /// A hand-built Q4_1 block: value = q·d + m, low nibbles first.
    func testQ4_1ByHand() {
        var block = [UInt8]()
        withUnsafeBytes(of: Float16(0.5).bitPattern.littleEndian) { block += $0 }
        withUnsafeBytes(of: Float16(-1).bitPattern.littleEndian) { block += $0 }
        for j in 0..<16 { block.append(UInt8(j) | UInt8(15 - j) << 4) }
        var out = [Float](repeating: 0, count: 32)
        block.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { Dequantize.run(.q4_1, from: src, into: $0) } }
        for j in 0..<16 {
            XCTAssertEqual(out[j], Float(j) * 0.5 - 1)
            XCTAssertEqual(out[16 + j], Float(15 - j) * 0.5 - 1)
        }
    }

    /// A hand-built Q8_0 block: value = q·d with signed q.
    func testQ8_0ByHand() {
        var block = [UInt8]()
        withUnsafeBytes(of: Float16(0.25).bitPattern.littleEndian) { block += $0 }
        for j in 0..<32 { block.append(UInt8(bitPattern: Int8(j - 16))) }
        var out = [Float](repeating: 0, count: 32)
        block.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { Dequantize.run(.q8_0, from: src, into: $0) } }
        for j in 0..<32 { XCTAssertEqual(out[j], Float(j - 16) * 0.25) }
    }
}
