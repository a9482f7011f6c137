/// Where one tensor lives inside a GGUF file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// Dimensions as GGUF stores them: `dims[0]` is the contiguous one. A matrix used as
    /// y = W x with W of shape [out, in] is stored with dims = [in, out].
    public let dims: [Int]
    public let typeID: UInt32
    /// nil when the file uses an encoding this program does not know.
    public let type: GGMLType?
    /// Absolute byte offset of the tensor's data in the file.
    public let fileOffset: Int
    public let byteCount: Int
    public var elementCount: Int { dims.reduce(1, *) }
    public var typeName: String { type?.name ?? "type#\(typeID)" }
}

/// A parsed, memory-mapped GGUF file: metadata, tensor directory, and access to tensor bytes.
/// Every count, size and offset is validated against the file before use.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order (for listing).
    public let metadataKeys: [String]
    public let tensors: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let alignment: Int
    let file: MappedFile

    /// Upper bounds that stop forged counts from causing huge allocations or endless loops.
    static let maxTensors = 1 << 20
    static let maxKeyValues = 1 << 20
    static let maxDims = 4
    static let maxArrayNesting = 4

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Parses GGUF bytes held in memory; `name` stands for the path in error messages.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(file: MappedFile(bytes: bytes, name: name))
    }

    init(file: MappedFile) throws {
        self.file = file
        self.path = file.path
        var r = ByteReader(file.bytes, path: file.path)
        let path = file.path

        guard file.bytes.count >= 4 else {
            throw GGUFError(.notGGUF, path: path, "not a GGUF file (only \(file.bytes.count) bytes)")
        }
        let magic = try r.read(UInt32.self, "the magic number")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            let shown = (0..<4).map { file.bytes[$0] }.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
            throw GGUFError(.notGGUF, path: path, "not a GGUF file (starts with \"\(shown)\", expected \"GGUF\")")
        }
        version = try r.read(UInt32.self, "the version")
        guard version == 2 || version == 3 else {
            throw GGUFError(.unsupportedVersion, path: path, "GGUF version \(version) is not supported (2 and 3 are)")
        }
        let tensorCount = try r.read(UInt64.self, "the tensor count")
        let kvCount = try r.read(UInt64.self, "the metadata count")
        guard tensorCount <= UInt64(Self.maxTensors) else {
            throw GGUFError(.badValue, path: path, "tensor count \(tensorCount) is implausible")
        }
        guard kvCount <= UInt64(Self.maxKeyValues) else {
            throw GGUFError(.badValue, path: path, "metadata count \(kvCount) is implausible")
        }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<Int(kvCount) {
            let key = try r.readString("metadata key #\(i)")
            let typeID = try r.read(UInt32.self, "the type of metadata \"\(key)\"")
            let value = try Self.readValue(&r, typeID: typeID, key: key, depth: 0)
            if metadata.updateValue(value, forKey: key) == nil { keys.append(key) }
        }
        self.metadata = metadata
        self.metadataKeys = keys

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.intValue, v > 0, v <= 1 << 16, v & (v - 1) == 0 else {
                throw GGUFError(.badValue, path: path, "general.alignment \(a.summary) is not a power of two")
            }
            alignment = v
        }
        self.alignment = alignment

        struct Raw { let name: String; let dims: [Int]; let typeID: UInt32; let offset: UInt64 }
        var raws: [Raw] = []
        raws.reserveCapacity(min(Int(tensorCount), r.remaining / 24))
        for i in 0..<Int(tensorCount) {
            let name = try r.readString("the name of tensor #\(i)")
            let nDims = try r.read(UInt32.self, "the dimension count of tensor \"\(name)\"")
            guard nDims >= 1, nDims <= UInt32(Self.maxDims) else {
                throw GGUFError(.badValue, path: path, "tensor \"\(name)\" has \(nDims) dimensions (1 to \(Self.maxDims) allowed)")
            }
            var dims: [Int] = []
            for d in 0..<Int(nDims) {
                let n = try r.read(UInt64.self, "dimension \(d) of tensor \"\(name)\"")
                guard n >= 1, n <= UInt64(1) << 40 else {
                    throw GGUFError(.badValue, path: path, "tensor \"\(name)\" dimension \(d) is \(n)")
                }
                dims.append(Int(n))
            }
            let typeID = try r.read(UInt32.self, "the type of tensor \"\(name)\"")
            let offset = try r.read(UInt64.self, "the offset of tensor \"\(name)\"")
            raws.append(Raw(name: name, dims: dims, typeID: typeID, offset: offset))
        }

        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        let fileSize = file.bytes.count
        var tensors: [String: GGUFTensorInfo] = [:]
        var names: [String] = []
        for raw in raws {
            let type = GGMLType(rawValue: raw.typeID)
            var byteCount = 0
            var elements = 1
            for d in raw.dims {
                let (m, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, m <= 1 << 40 else {
                    throw GGUFError(.badValue, path: path, "tensor \"\(raw.name)\" has too many elements \(raw.dims)")
                }
                elements = m
            }
            if let type {
                // Blocks never straddle rows: each row (dims[0] values) is a whole number of blocks.
                guard raw.dims[0] % type.blockSize == 0, let bytes = type.byteCount(elements: elements) else {
                    throw GGUFError(.badValue, path: path,
                                    "tensor \"\(raw.name)\" row length \(raw.dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
                }
                byteCount = bytes
            }
            guard raw.offset <= UInt64(fileSize) else {
                throw GGUFError(.truncated, path: path,
                                "tensor \"\(raw.name)\" starts at data offset \(raw.offset), beyond the end of the file (\(fileSize) bytes)")
            }
            // Unknown encodings are listed but never read, so only known ones need all their bytes.
            if type != nil {
                guard raw.offset <= UInt64(fileSize), dataStart + Int(raw.offset) + byteCount <= fileSize else {
                    throw GGUFError(.truncated, path: path,
                                    "tensor \"\(raw.name)\" (\(byteCount) bytes at data offset \(raw.offset)) lies beyond the end of the file (\(fileSize) bytes); the file is truncated or corrupt")
                }
            }
            guard tensors[raw.name] == nil else {
                throw GGUFError(.badValue, path: path, "tensor \"\(raw.name)\" appears twice")
            }
            tensors[raw.name] = GGUFTensorInfo(name: raw.name, dims: raw.dims, typeID: raw.typeID, type: type,
                                               fileOffset: dataStart + Int(raw.offset), byteCount: byteCount)
            names.append(raw.name)
        }
        self.tensors = tensors
        self.tensorNames = names
    }

    private static func readValue(_ r: inout ByteReader, typeID: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch typeID {
        case 0: return .uint8(try r.read(UInt8.self, "metadata \"\(key)\""))
        case 1: return .int8(try r.read(Int8.self, "metadata \"\(key)\""))
        case 2: return .uint16(try r.read(UInt16.self, "metadata \"\(key)\""))
        case 3: return .int16(try r.read(Int16.self, "metadata \"\(key)\""))
        case 4: return .uint32(try r.read(UInt32.self, "metadata \"\(key)\""))
        case 5: return .int32(try r.read(Int32.self, "metadata \"\(key)\""))
        case 6: return .float32(try r.readFloat("metadata \"\(key)\""))
        case 7:
            let b = try r.read(UInt8.self, "metadata \"\(key)\"")
            guard b <= 1 else { throw GGUFError(.badValue, path: r.path, "metadata \"\(key)\" is a bool with value \(b)") }
            return .bool(b == 1)
        case 8: return .string(try r.readString("metadata \"\(key)\""))
        case 9:
            guard depth < maxArrayNesting else {
                throw GGUFError(.badValue, path: r.path, "metadata \"\(key)\" nests arrays too deeply")
            }
            let elementType = try r.read(UInt32.self, "the element type of metadata \"\(key)\"")
            let count = try r.read(UInt64.self, "the length of metadata \"\(key)\"")
            // Every element takes at least one byte, so a count above the bytes left is forged.
            guard count <= UInt64(r.remaining) else {
                throw GGUFError(.truncated, path: r.path,
                                "metadata \"\(key)\" claims \(count) elements but only \(r.remaining) bytes remain")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try readValue(&r, typeID: elementType, key: key, depth: depth + 1))
            }
            return .array(items)
        case 10: return .uint64(try r.read(UInt64.self, "metadata \"\(key)\""))
        case 11: return .int64(try r.read(Int64.self, "metadata \"\(key)\""))
        case 12: return .float64(try r.readDouble("metadata \"\(key)\""))
        default:
            throw GGUFError(.badValue, path: r.path, "metadata \"\(key)\" has unknown value type \(typeID)")
        }
    }

    // MARK: - Access

    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let t = tensors[name] else {
            throw GGUFError(.missing, path: path, "tensor \"\(name)\" is missing")
        }
        return t
    }

    /// Throws if the file on disk disappeared or changed since it was opened.
    public func checkUnchanged() throws { try file.checkUnchanged() }

    /// The raw bytes of a tensor (valid while this file lives).
    public func rawBytes(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[info.fileOffset..<(info.fileOffset + info.byteCount)])
    }

    /// The tensor's values as Float32, in storage order (dims[0] fastest).
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        guard let type = t.type, type.canDequantize else {
            throw GGUFError(.unsupportedType, path: path, GGMLType.unsupportedMessage(tensor: name, typeName: t.typeName))
        }
        try file.checkUnchanged()
        var out = [Float](repeating: 0, count: t.elementCount)
        out.withUnsafeMutableBufferPointer { dst in
            Dequantize.run(type, from: rawBytes(t), into: dst)
        }
        return out
    }

    /// Metadata helpers that name the key when it is missing or of the wrong type.
    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw GGUFError(.missing, path: path, "metadata \"\(key)\" is missing") }
        guard let i = v.intValue else { throw GGUFError(.badValue, path: path, "metadata \"\(key)\" is \(v.summary), expected an integer") }
        return i
    }

    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw GGUFError(.missing, path: path, "metadata \"\(key)\" is missing") }
        guard let d = v.doubleValue else { throw GGUFError(.badValue, path: path, "metadata \"\(key)\" is \(v.summary), expected a number") }
        return d
    }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw GGUFError(.missing, path: path, "metadata \"\(key)\" is missing") }
        guard let s = v.stringValue else { throw GGUFError(.badValue, path: path, "metadata \"\(key)\" is \(v.summary), expected a string") }
        return s
    }
}
