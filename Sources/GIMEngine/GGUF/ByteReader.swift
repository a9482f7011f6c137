/// A cursor over little-endian bytes that checks every read against the end of the buffer,
/// so a truncated or forged file produces an error instead of an out-of-bounds read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    /// Throws `truncated` unless `count` more bytes are available; `what` names the field.
    func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw GGUFError(.truncated, path: path,
                            "file ends inside \(what()) at byte \(offset) (needs \(count) bytes, \(remaining) left)")
        }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A GGUF string: u64 length then UTF-8 bytes (invalid UTF-8 is repaired, not trusted).
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try read(UInt64.self, what())
        guard length <= UInt64(remaining) else {
            throw GGUFError(.truncated, path: path,
                            "\(what()) claims \(length) bytes at byte \(offset) but only \(remaining) remain")
        }
        let n = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        offset += n
        return String(decoding: slice, as: UTF8.self)
    }
}
