import Foundation

extension DecoderConfig {
    /// Reads the hyper-parameters of a GGUF file of any supported family (llama.cpp's
    /// `general.architecture` and `<arch>.*` keys).
    public init(gguf: GGUFFile) throws {
        let arch = (try? gguf.string("general.architecture")) ?? "?"
        let family = try DecoderFamily.gguf(architecture: arch, path: gguf.path)
        self = try family.configure(CheckpointHyperparameters(gguf: gguf, architecture: arch))
    }
}

/// A GGUF file as a tensor source: llama.cpp's dims are [cols, rows]; every encoding `Dequantize`
/// decodes is accepted, any other is an error naming the tensor and its type.
struct GGUFTensorSource: DecoderTensorSource {
    let gguf: GGUFFile
    var path: String { gguf.path }

    func contains(_ name: String) -> Bool { gguf.tensors[name] != nil }

    func expect(_ name: String, rows: Int, cols: Int?) throws {
        let t = try gguf.info(name)
        let dims = cols.map { [$0, rows] } ?? [rows]
        guard t.dims == dims else {
            throw ModelError.shapeMismatch("\(gguf.path): tensor \"\(name)\" has dims \(t.dims), expected \(dims)")
        }
        guard let type = t.type, type.canDequantize else {
            throw GGUFError(.unsupportedType, path: gguf.path,
                            "tensor \"\(name)\" uses quantization \(t.typeName), which is not supported (supported: \(GGMLType.dequantizableList))")
        }
    }

    func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix? {
        let info = try gguf.info(name)
        guard let type = info.type, type.canDequantize, cols % type.blockSize == 0 else { return nil }
        return WeightMatrix(blocks: type, bytes: gguf.rawBytes(info).baseAddress!, rows: rows, cols: cols, owner: gguf)
    }

    func load(_ jobs: [DecoderTensorJob]) throws {
        let infos = try jobs.map { try gguf.info($0.name) }
        // The file must not have been swapped or cut since it was validated.
        try gguf.checkUnchanged()
        DispatchQueue.concurrentPerform(iterations: jobs.count) { k in
            let j = jobs[k], info = infos[k]
            Dequantize.run(info.type!, from: gguf.rawBytes(info),
                           into: UnsafeMutableBufferPointer(start: j.buffer.pointer + j.offset, count: info.elementCount))
        }
    }
}

extension DecoderWeights {
    /// Loads a GGUF file of any supported family, checking each tensor's shape, with the weights
    /// held as `storage` says (nil: `Storage.automatic`):
    /// - `.float32`: every weight dequantized, projections transposed (the fast kernels);
    ///   projections in an encoding the forward's kernel decodes (Q4_1, Q8_0) are also kept as
    ///   blocks (`QuantizedMatrix`).
    /// - `.file`: projections, embedding and head read in place from the mapped file.
    public convenience init(gguf: GGUFFile, storage: Storage? = nil) throws {
        let c = try DecoderConfig(gguf: gguf)
        let storage = try storage ?? Storage.automatic(for: c)
        // Float32 storage allocates 4 bytes per parameter; the file storage reads the file's
        // bytes in place (they must fit too, or every pass would read the disk).
        let fileBytes = gguf.tensors.values.reduce(0) { $0 + $1.byteCount }
        try MemoryCheck.require(storage == .float32 ? 4 * c.parameterCount : fileBytes, for: "\(gguf.path) (\(storage.rawValue) weights)",
                                advice: storage == .float32 ? "keep the weights in the file's encoding (GIM_WEIGHTS=file)" : "")
        let family = DecoderFamily(rawValue: c.family)!
        let names = DecoderTensorNames.gguf(family)
        let source = GGUFTensorSource(gguf: gguf)
        // A fused matrix is kept only when all its parts share one encoding the kernel decodes.
        func quantized(_ parts: [(String, Int)], rows: Int, cols: Int) -> QuantizedMatrix? {
            let infos = parts.compactMap { gguf.tensors[$0.0] }
            let types = Set(infos.compactMap(\.type))
            guard infos.count == parts.count, types.count == 1, let e = QuantizedMatrix.Encoding(types.first!),
                  cols % 32 == 0 else { return nil }
            let m = QuantizedMatrix(e, rows: rows, cols: cols)
            for ((_, firstRow), info) in zip(parts, infos) {
                m.copyRows(from: gguf.rawBytes(info), firstRow: firstRow)
            }
            return m
        }
        let kv = c.kvHeads * c.headDim
        // Made only after every shape was checked (a forged file cannot overrun a copy).
        let quantizedLayers = { (0..<c.layers).map { i -> DecoderLayerQuantized in
            let p = names.layer(i)
            let qkv = names.qkvFused.map { [(p + $0, 0)] }
                ?? [(p + names.q, 0), (p + names.k, c.attnDim), (p + names.v, c.attnDim + kv)]
            let gateUp = names.gateUpFused.map { [(p + $0, 0)] } ?? [(p + names.gate, 0), (p + names.up, c.ffnDim)]
            return DecoderLayerQuantized(
                wqkv: quantized(qkv, rows: c.qkvDim, cols: c.dim),
                wo: quantized([(p + names.attnOutput, 0)], rows: c.dim, cols: c.attnDim),
                wGateUp: quantized(gateUp, rows: 2 * c.ffnDim, cols: c.dim),
                wDown: quantized([(p + names.down, 0)], rows: c.dim, cols: c.ffnDim))
        } }
        try self.init(source: source, names: names, config: c, normOffset: 0, storage: storage, quantized: quantizedLayers)
    }
}

extension DecoderWeights.Storage {
    /// Models whose Float32 weights take at most this many bytes are dequantized (`.float32`):
    /// SmolLM2-135M's 0.54 GB runs on the fast Float32 kernels, while a 1B model's 4.9 GB would
    /// not fit a laptop's memory next to everything else and stays in the file.
    public static let float32Budget = 1 << 30

    /// `GIM_WEIGHTS` (float32, file or auto) chooses; auto (or unset) = `.float32` within the
    /// budget, else `.file`. Another value is an error.
    public static func automatic(for c: DecoderConfig,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Self {
        switch environment["GIM_WEIGHTS"] ?? "auto" {
        case "auto", "": return 4 * c.parameterCount <= float32Budget ? .float32 : .file
        case let v:
            guard let s = Self(rawValue: v) else {
                throw ModelError.badInput("GIM_WEIGHTS is \"\(v)\"; use auto, float32 or file")
            }
            return s
        }
    }
}
