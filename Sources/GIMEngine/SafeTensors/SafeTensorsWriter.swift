import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes Float32 tensors as a safetensors file: u64 little-endian header length, the JSON header
/// (padded with spaces to a multiple of 8 bytes, so the data is aligned), then the tensors' bytes
/// back to back in header order.
public enum SafeTensorsWriter {
    public struct Tensor {
        public let name: String
        /// Row-major shape ([out, in] for a Linear weight).
        public let shape: [Int]
        /// Fills `destination` (shape.product values) with the tensor's values.
        public let fill: (UnsafeMutableBufferPointer<Float>) -> Void

        public init(name: String, shape: [Int], fill: @escaping (UnsafeMutableBufferPointer<Float>) -> Void) {
            self.name = name
            self.shape = shape
            self.fill = fill
        }

        /// A tensor copied from `count` floats at `source`.
        public init(name: String, shape: [Int], from source: UnsafePointer<Float>) {
            self.init(name: name, shape: shape) { dst in
                dst.baseAddress!.update(from: source, count: dst.count)
            }
        }
    }

    /// Writes `tensors` (sorted by name) as F32 to `path`, replacing any file there.
    public static func writeF32(path: String, tensors: [Tensor], metadata: [String: String] = ["format": "pt"]) throws {
        let sorted = tensors.sorted { $0.name < $1.name }
        guard Set(sorted.map(\.name)).count == sorted.count else {
            throw SafeTensorsError(.badHeader, path: path, "duplicate tensor names")
        }
        // Header: build the JSON by hand so the key order (and so the file) is deterministic.
        var entries: [String] = []
        if !metadata.isEmpty {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            entries.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        var offset = 0
        for t in sorted {
            let bytes = t.shape.reduce(1, *) * 4
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }

        guard let f = fopen(path, "wb") else {
            throw SafeTensorsError(.cannotOpen, path: path, "cannot create: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        func put(_ p: UnsafeRawPointer, _ n: Int) throws {
            guard n == 0 || fwrite(p, 1, n, f) == n else {
                throw SafeTensorsError(.cannotOpen, path: path, "write failed: \(String(cString: strerror(errno)))")
            }
        }
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try put($0.baseAddress!, 8) }
        try header.withUnsafeBytes { try put($0.baseAddress!, $0.count) }
        for t in sorted {
            let n = t.shape.reduce(1, *)
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(n, 1))
            defer { buffer.deallocate() }
            let values = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
            t.fill(values)
            #if _endian(big)
            for i in 0..<n { values[i] = Float(bitPattern: values[i].bitPattern.littleEndian) }
            #endif
            try put(UnsafeRawPointer(buffer.baseAddress!), n * 4)
        }
        guard fflush(f) == 0 else {
            throw SafeTensorsError(.cannotOpen, path: path, "write failed: \(String(cString: strerror(errno)))")
        }
    }

    /// A JSON string literal.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
