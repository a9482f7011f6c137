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
    /// Loads and dequantizes every weight of a GGUF file of any supported family, checking each
    /// tensor's shape. Projections in an encoding the forward's kernel decodes (Q4_1, Q8_0) are
    /// also kept as blocks (`QuantizedMatrix`).
    public convenience init(gguf: GGUFFile) throws {
        let c = try DecoderConfig(gguf: gguf)
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
        try self.init(source: source, names: names, config: c, normOffset: 0, quantized: quantizedLayers)
    }
}
