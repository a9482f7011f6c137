import XCTest
@testable import GIMEngine

final class DequantizeTests: XCTestCase {
    /// Random blocks of every supported type against gguf-py's dequantization (fixture).
    func testBlocksMatchReference() throws {
        let fixture = try Fixtures.json("dequant_blocks")
        let cases = fixture["cases"] as! [[String: Any]]
        var seen = Set<String>()
        for c in cases {
            let name = c["type"] as! String
            let type = try XCTUnwrap(GGMLType.allCases.first { $0.name == name }, name)
            let hex = c["hex"] as! String
            var bytes = [UInt8]()
            var i = hex.startIndex
            while i < hex.endIndex {
                let j = hex.index(i, offsetBy: 2)
                bytes.append(UInt8(hex[i..<j], radix: 16)!)
                i = j
            }
            let expected = (c["values"] as! [Any]).floats
            var got = [Float](repeating: .nan, count: expected.count)
            bytes.withUnsafeBytes { src in
                got.withUnsafeMutableBufferPointer { Dequantize.run(type, from: src, into: $0) }
            }
            for k in expected.indices {
                XCTAssertEqual(got[k], expected[k], accuracy: 1e-6 * max(1, abs(expected[k])), "\(name) value \(k)")
            }
            seen.insert(name)
        }
        XCTAssertEqual(seen, ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q6_K"])
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
