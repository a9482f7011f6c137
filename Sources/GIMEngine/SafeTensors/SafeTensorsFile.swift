import Foundation

/// Why a safetensors file (or a folder's shard index) cannot be used. The message names the file,
/// the tensor when there is one, and the problem.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        case cannotOpen, truncated, badHeader, badTensor, unsupportedType, missing
    }
    public let kind: Kind
    public let path: String
    public let tensor: String?
    public let detail: String

    public init(_ kind: Kind, path: String, tensor: String? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.tensor = tensor
        self.detail = detail
    }

    public var description: String {
        if let tensor { return "\(path): tensor \"\(tensor)\": \(detail)" }
        return "\(path): \(detail)"
    }
}

/// Element types of the safetensors format, by their header names.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2", f8e8m0 = "F8_E8M0"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2, .f8e8m0: return 1
        }
    }

    /// Whether weights of this type can be read as Float32.
    public var isFloatWeight: Bool { [.f64, .f32, .f16, .bf16].contains(self) }
}

/// Where one tensor lives inside a safetensors file.
public struct SafeTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Row-major shape, as PyTorch has it: a Linear weight is [out, in].
    public let shape: [Int]
    /// Absolute byte offset of the data in the file.
    public let fileOffset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed, memory-mapped safetensors file:
///
///     u64 little-endian N | N bytes of JSON header | data
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
/// relative to the start of the data), plus an optional `"__metadata__"` object of strings.
/// Every offset, size and type is checked against the file before any tensor is touched, so a
/// truncated or forged file gives an error naming the file, the tensor and the problem.
public final class SafeTensorsFile: Sendable {
    public let path: String
    public let tensors: [String: SafeTensorInfo]
    /// Tensor names in data order.
    public let tensorNames: [String]
    /// The `__metadata__` strings (e.g. "format": "pt").
    public let metadata: [String: String]
    let file: MappedFile

    /// Header lengths above this are refused (real headers are a few hundred KB at most).
    static let maxHeaderBytes = 100 << 20
    static let maxTensors = 1 << 20
    static let maxDims = 8

    public convenience init(path: String) throws {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let e as GGUFError {
            throw SafeTensorsError(.cannotOpen, path: path, e.detail)
        }
        try self.init(file: file)
    }

    /// Parses safetensors bytes held in memory; `name` stands for the path in error messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(file: MappedFile(bytes: bytes, name: name))
    }

    init(file: MappedFile) throws {
        self.file = file
        path = file.path
        let size = file.bytes.count
        func fail(_ kind: SafeTensorsError.Kind, _ tensor: String? = nil, _ detail: String) -> SafeTensorsError {
            SafeTensorsError(kind, path: file.path, tensor: tensor, detail)
        }
        guard size >= 8 else {
            throw fail(.truncated, nil, "the file has \(size) bytes; a safetensors file starts with an 8-byte header length")
        }
        let declared = file.bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard declared <= UInt64(size - 8) else {
            throw fail(.truncated, nil, "the header length \(declared) runs past the end of the file (\(size) bytes)")
        }
        let headerLength = Int(declared)
        guard headerLength >= 2 else { throw fail(.badHeader, nil, "the header length \(headerLength) is too small for a JSON object") }
        guard headerLength <= Self.maxHeaderBytes else {
            throw fail(.badHeader, nil, "the header length \(headerLength) exceeds the \(Self.maxHeaderBytes >> 20) MB limit")
        }
        let header = Data(file.bytes[8..<(8 + headerLength)])
        let dataStart = 8 + headerLength
        let dataSize = size - dataStart

        let items: [String: HeaderItem]
        do {
            items = try JSONDecoder().decode([String: HeaderItem].self, from: header)
        } catch {
            throw fail(.badHeader, nil, "the header is not a JSON object of tensors: \(JSONProblem.describe(error))")
        }
        guard items.count <= Self.maxTensors + 1 else {
            throw fail(.badHeader, nil, "the header lists \(items.count) entries (limit \(Self.maxTensors))")
        }

        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensorInfo] = [:]
        tensors.reserveCapacity(items.count)
        for (name, item) in items {
            if name == "__metadata__" {
                guard case .metadata(let m) = item else {
                    throw fail(.badHeader, nil, "\"__metadata__\" must be an object of strings")
                }
                metadata = m
                continue
            }
            let entry: HeaderEntry
            switch item {
            case .tensor(let e): entry = e
            case .metadata: throw fail(.badTensor, name, "the entry has no \"dtype\", \"shape\" and \"data_offsets\"")
            case .invalid(let why): throw fail(.badTensor, name, why)
            }
            guard let dtype = SafeTensorsDType(rawValue: entry.dtype) else {
                throw fail(.unsupportedType, name, "unknown dtype \"\(entry.dtype)\"")
            }
            guard entry.shape.count <= Self.maxDims else {
                throw fail(.badTensor, name, "shape \(entry.shape) has more than \(Self.maxDims) dimensions")
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw fail(.badTensor, name, "shape \(entry.shape) has a negative dimension")
            }
            guard entry.data_offsets.count == 2 else {
                throw fail(.badTensor, name, "data_offsets \(entry.data_offsets) must be [begin, end]")
            }
            let begin = entry.data_offsets[0], end = entry.data_offsets[1]
            guard begin >= 0, begin <= end else {
                throw fail(.badTensor, name, "data_offsets [\(begin), \(end)] are not an increasing pair of non-negative offsets")
            }
            guard end <= dataSize else {
                throw fail(.truncated, name, "data_offsets [\(begin), \(end)] run past the end of the data (\(dataSize) bytes after the header)")
            }
            var elements = 1
            for d in entry.shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail(.badTensor, name, "shape \(entry.shape) overflows") }
                elements = p
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, bytes == end - begin else {
                throw fail(.badTensor, name, "shape \(entry.shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            tensors[name] = SafeTensorInfo(name: name, dtype: dtype, shape: entry.shape,
                                           fileOffset: dataStart + begin, byteCount: bytes)
        }
        // Tensors may not share bytes.
        let ordered = tensors.values.sorted { ($0.fileOffset, $0.name) < ($1.fileOffset, $1.name) }
        var previous: SafeTensorInfo?
        for t in ordered where t.byteCount > 0 {
            if let p = previous, t.fileOffset < p.fileOffset + p.byteCount {
                throw fail(.badTensor, t.name, "its data overlaps tensor \"\(p.name)\"")
            }
            previous = t
        }
        self.tensors = tensors
        self.tensorNames = ordered.map(\.name)
        self.metadata = metadata
    }

    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let t = tensors[name] else {
            throw SafeTensorsError(.missing, path: path, tensor: name, "not in the file")
        }
        return t
    }

    /// The raw bytes of a tensor (valid while this object lives).
    public func rawBytes(_ info: SafeTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[info.fileOffset..<(info.fileOffset + info.byteCount)])
    }

    /// Converts a floating-point tensor to Float32 into `destination` (exactly elementCount values).
    public func read(_ info: SafeTensorInfo, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard destination.count == info.elementCount else {
            throw SafeTensorsError(.badTensor, path: path, tensor: info.name,
                                   "has \(info.elementCount) values, \(destination.count) expected")
        }
        let src = rawBytes(info)
        switch info.dtype {
        case .f32: Dequantize.run(.f32, from: src, into: destination)
        case .f16: Dequantize.run(.f16, from: src, into: destination)
        case .bf16: Dequantize.run(.bf16, from: src, into: destination)
        case .f64:
            guard let s = src.baseAddress, let y = destination.baseAddress else { return }
            for i in 0..<destination.count {
                y[i] = Float(Double(bitPattern: UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        default:
            throw SafeTensorsError(.unsupportedType, path: path, tensor: info.name,
                                   "dtype \(info.dtype.rawValue) is not a floating-point weight type (supported: F32, F16, BF16, F64)")
        }
    }

    /// A floating-point tensor as Float32, row-major.
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        var out = [Float](repeating: 0, count: t.elementCount)
        try out.withUnsafeMutableBufferPointer { try read(t, into: $0) }
        return out
    }
}

/// One header entry as JSON gives it: a tensor, the metadata object, or something else (with why).
private enum HeaderItem: Decodable {
    case tensor(HeaderEntry)
    case metadata([String: String])
    case invalid(String)

    init(from decoder: Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let m = try? single.decode([String: String].self) {
            self = .metadata(m)
            return
        }
        do {
            self = .tensor(try single.decode(HeaderEntry.self))
        } catch {
            self = .invalid(JSONProblem.describe(error))
        }
    }
}

private struct HeaderEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let data_offsets: [Int]
}

/// Short descriptions of JSON decoding problems, naming the field.
enum JSONProblem {
    static func describe(_ error: Error) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "" : " at \"" + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "\""
        }
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, let ctx):
            return "\"\(key.stringValue)\" is missing\(at(ctx.codingPath))"
        case .typeMismatch(let type, let ctx):
            return "expected \(Self.name(type))\(at(ctx.codingPath))"
        case .valueNotFound(let type, let ctx):
            return "expected \(Self.name(type)), found null\(at(ctx.codingPath))"
        case .dataCorrupted(let ctx):
            let under = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return (under ?? ctx.debugDescription) + at(ctx.codingPath)
        @unknown default:
            return "\(e)"
        }
    }

    private static func name(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is String.Type: return "a string"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "a boolean"
        default:
            let s = "\(type)"
            if s.hasPrefix("Array") { return "an array" }
            if s.hasPrefix("Dictionary") { return "an object" }
            return s
        }
    }
}
