import Foundation

/// The weights of a Hugging Face model folder: `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json` (`{"weight_map": {tensor name: shard file name}}`).
/// Each file is memory-mapped once; tensors are converted to Float32 only when loaded.
public final class SafeTensorsFolder: Sendable {
    public let directory: String
    public let files: [SafeTensorsFile]
    /// Tensor name -> index into `files`.
    private let location: [String: Int]

    public static let singleFile = "model.safetensors"
    public static let indexFile = "model.safetensors.index.json"

    public init(directory: String) throws {
        self.directory = directory
        let dir = URL(fileURLWithPath: directory)
        let fm = FileManager.default
        let single = dir.appendingPathComponent(Self.singleFile).path
        let index = dir.appendingPathComponent(Self.indexFile).path
        if fm.fileExists(atPath: index) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: index)) } catch {
                throw SafeTensorsError(.cannotOpen, path: index, "cannot read: \(error.localizedDescription)")
            }
            let parsed: ShardIndex
            do { parsed = try JSONDecoder().decode(ShardIndex.self, from: data) } catch {
                throw SafeTensorsError(.badHeader, path: index, "not a shard index ({\"weight_map\": {tensor: file}}): \(JSONProblem.describe(error))")
            }
            var shardNames: [String] = []
            var shardIndex: [String: Int] = [:]
            var location: [String: Int] = [:]
            for (tensor, file) in parsed.weight_map.sorted(by: { $0.key < $1.key }) {
                // Shards must be plain file names inside the folder.
                guard !file.isEmpty, !file.contains("/"), !file.contains("\\"), file != ".", file != ".." else {
                    throw SafeTensorsError(.badHeader, path: index, tensor: tensor, "shard \"\(file)\" is not a file name inside the folder")
                }
                if let i = shardIndex[file] {
                    location[tensor] = i
                } else {
                    shardIndex[file] = shardNames.count
                    location[tensor] = shardNames.count
                    shardNames.append(file)
                }
            }
            guard !shardNames.isEmpty else {
                throw SafeTensorsError(.badHeader, path: index, "the weight_map lists no tensors")
            }
            files = try shardNames.map { try SafeTensorsFile(path: dir.appendingPathComponent($0).path) }
            for (tensor, i) in location where files[i].tensors[tensor] == nil {
                throw SafeTensorsError(.missing, path: files[i].path, tensor: tensor,
                                       "the index \(Self.indexFile) places it in this shard, which does not hold it")
            }
            self.location = location
        } else if fm.fileExists(atPath: single) {
            let file = try SafeTensorsFile(path: single)
            files = [file]
            location = Dictionary(uniqueKeysWithValues: file.tensorNames.map { ($0, 0) })
        } else {
            throw SafeTensorsError(.missing, path: directory, "no \(Self.singleFile) or \(Self.indexFile) in the folder")
        }
    }

    public var tensorNames: [String] { location.keys.sorted() }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    /// The file holding a tensor and where it is in it.
    public func find(_ name: String) throws -> (file: SafeTensorsFile, info: SafeTensorInfo) {
        guard let i = location[name] else {
            throw SafeTensorsError(.missing, path: directory, tensor: name, "missing from the model's safetensors")
        }
        return (files[i], try files[i].info(name))
    }

    /// Checks that a tensor exists with `shape` and a floating-point dtype.
    @discardableResult
    public func expect(_ name: String, shape: [Int]) throws -> (file: SafeTensorsFile, info: SafeTensorInfo) {
        let found = try find(name)
        guard found.info.shape == shape else {
            throw SafeTensorsError(.badTensor, path: found.file.path, tensor: name,
                                   "has shape \(found.info.shape), the configuration implies \(shape)")
        }
        guard found.info.dtype.isFloatWeight else {
            throw SafeTensorsError(.unsupportedType, path: found.file.path, tensor: name,
                                   "dtype \(found.info.dtype.rawValue) is not a floating-point weight type (supported: F32, F16, BF16, F64)")
        }
        return found
    }

    /// One tensor to convert to Float32 into `buffer` at `offset`; `transpose` turns a stored
    /// [rows, cols] matrix into [cols, rows] (GPT-2's Conv1D keeps weights [in, out]).
    public struct Job: Sendable {
        let file: SafeTensorsFile
        let info: SafeTensorInfo
        let buffer: FloatBuffer
        let offset: Int
        let transpose: Bool
    }

    /// Validates a tensor (name, shape as stored, float dtype) and returns its conversion job.
    public func job(_ name: String, shape: [Int], into buffer: FloatBuffer, offset: Int = 0,
                    transpose: Bool = false) throws -> Job {
        let (file, info) = try expect(name, shape: shape)
        precondition(!transpose || shape.count == 2)
        precondition(offset + info.elementCount <= buffer.count, "destination too small for \(name)")
        return Job(file: file, info: info, buffer: buffer, offset: offset, transpose: transpose)
    }

    /// Runs conversion jobs in parallel.
    public static func run(_ jobs: [Job]) throws {
        let firstError = Locked<Error?>(nil)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { k in
            let j = jobs[k]
            let n = j.info.elementCount
            do {
                if j.transpose {
                    let rows = j.info.shape[0], cols = j.info.shape[1]
                    let tmp = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(n, 1))
                    defer { tmp.deallocate() }
                    try j.file.read(j.info, into: UnsafeMutableBufferPointer(rebasing: tmp[0..<n]))
                    let dst = j.buffer.pointer + j.offset
                    for r in 0..<rows {
                        for c in 0..<cols { dst[c * rows + r] = tmp[r * cols + c] }
                    }
                } else {
                    try j.file.read(j.info, into: UnsafeMutableBufferPointer(start: j.buffer.pointer + j.offset, count: n))
                }
            } catch {
                firstError.withLock { if $0 == nil { $0 = error } }
            }
        }
        if let e = firstError.value { throw e }
    }
}

private struct ShardIndex: Decodable {
    let weight_map: [String: String]
}
