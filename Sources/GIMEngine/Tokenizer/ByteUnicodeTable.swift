/// GPT-2's reversible spelling of bytes as printable Unicode scalars.
///
/// Byte-level BPE vocabularies never store raw bytes: every byte is written as one scalar. The
/// printable ranges `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for their own byte value; the 68 other
/// bytes (controls, space, NBSP, soft hyphen, …) are given U+0100 onwards, in byte order. So a
/// space is `Ġ` (U+0120) and a newline `Ċ` (U+010A).
enum ByteUnicodeTable {
    /// The scalar value that spells each byte.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isSelfSpelled(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// Indexed by scalar value (below `scalarLimit`): the byte it spells, or -1.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: scalarLimit)
        for (byte, scalar) in byteToScalar.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    /// One past the largest scalar the table uses (256 + 68 remapped bytes).
    static let scalarLimit = 256 + 68

    /// The byte a scalar spells, or nil when the scalar is not part of the byte alphabet.
    @inline(__always)
    static func byte(for scalar: UInt32) -> UInt8? {
        guard scalar < UInt32(scalarLimit) else { return nil }
        let b = scalarToByte[Int(scalar)]
        return b < 0 ? nil : UInt8(b)
    }

    /// The byte-alphabet spelling of some bytes (e.g. " the" -> "Ġthe").
    static func spell<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }

    private static func isSelfSpelled(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
