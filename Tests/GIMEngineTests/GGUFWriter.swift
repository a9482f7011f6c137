import Foundation
@testable import GIMEngine

/// Writes small GGUF files for tests: metadata and tensors, laid out exactly as the format says.
struct GGUFWriter {
    var metadata: [(String, GGUFValue)] = []
    var tensors: [(name: String, dims: [Int], type: UInt32, data: [UInt8])] = []
    var alignment = 32

    mutating func add(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    mutating func addF32(_ name: String, dims: [Int], _ values: [Float]) {
        precondition(values.count == dims.reduce(1, *))
        var bytes: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        tensors.append((name, dims, GGMLType.f32.rawValue, bytes))
    }

    static func typeID(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func putString(_ s: String) { put(UInt64(s.utf8.count)); out += Array(s.utf8) }
        func putValue(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): put(x)
            case .int8(let x): put(x)
            case .uint16(let x): put(x)
            case .int16(let x): put(x)
            case .uint32(let x): put(x)
            case .int32(let x): put(x)
            case .uint64(let x): put(x)
            case .int64(let x): put(x)
            case .float32(let x): put(x.bitPattern)
            case .float64(let x): put(x.bitPattern)
            case .bool(let x): put(UInt8(x ? 1 : 0))
            case .string(let s): putString(s)
            case .array(let items):
                put(items.first.map(Self.typeID) ?? 4)
                put(UInt64(items.count))
                items.forEach(putValue)
            }
        }
        out += Array("GGUF".utf8)
        put(UInt32(3))
        put(UInt64(tensors.count))
        put(UInt64(metadata.count))
        for (k, v) in metadata { putString(k); put(Self.typeID(v)); putValue(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            putString(t.name)
            put(UInt32(t.dims.count))
            t.dims.forEach { put(UInt64($0)) }
            put(t.type)
            put(UInt64(o))
        }
        while out.count % alignment != 0 { out.append(0) }
        for (i, t) in tensors.enumerated() {
            out += t.data
            // Pad between tensors, not after the last, so cutting any byte truncates real data.
            if i + 1 < tensors.count { while out.count % alignment != 0 { out.append(0) } }
        }
        return out
    }

    func write(to path: String) throws {
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
    }
}

/// A temporary file path removed at the end of the test.
func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gim-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}
