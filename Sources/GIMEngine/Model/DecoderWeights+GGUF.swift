import Foundation

extension LlamaConfig {
    /// Reads the `llama.*` (or other Llama-family architecture's) hyper-parameters of a GGUF file.
    public init(gguf: GGUFFile) throws {
        let arch = (try? gguf.string("general.architecture")) ?? "?"
        let supported = ["llama", "smollm"]
        guard supported.contains(arch) else {
            throw ModelError.unsupportedArchitecture("\(gguf.path): general.architecture is \"\(arch)\"; supported: \(supported.joined(separator: ", "))")
        }
        let dim = try gguf.int("\(arch).embedding_length")
        let heads = try gguf.int("\(arch).attention.head_count")
        let kvHeads = (try? gguf.int("\(arch).attention.head_count_kv")) ?? heads
        let headDim = heads > 0 ? dim / heads : 0
        if let ropeDims = try? gguf.int("\(arch).rope.dimension_count"), ropeDims != headDim {
            throw ModelError.unsupportedArchitecture("\(gguf.path): partial RoPE (\(ropeDims) of \(headDim) dims) is not supported")
        }
        let vocab = (try? gguf.int("\(arch).vocab_size"))
            ?? gguf.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count
            ?? gguf.tensors["token_embd.weight"].map { $0.dims.count == 2 ? $0.dims[1] : 0 } ?? 0
        self.init(vocabSize: vocab, dim: dim, layers: try gguf.int("\(arch).block_count"),
                  heads: heads, kvHeads: kvHeads, headDim: headDim,
                  ffnDim: try gguf.int("\(arch).feed_forward_length"),
                  ropeBase: Float((try? gguf.double("\(arch).rope.freq_base")) ?? 10000),
                  rmsEps: Float(try gguf.double("\(arch).attention.layer_norm_rms_epsilon")),
                  contextLength: (try? gguf.int("\(arch).context_length")) ?? 2048,
                  ropeLayout: .normal,
                  tiedOutput: gguf.tensors["output.weight"] == nil)
        try validate()
    }
}

extension LlamaWeights {
    /// Loads and dequantizes every weight of a Llama-family GGUF file, checking each tensor's shape.
    /// Tensors are dequantized in parallel straight into their fused destination buffers.
    public convenience init(gguf: GGUFFile) throws {
        let c = try LlamaConfig(gguf: gguf)

        // 1. Check that every tensor exists with the shape the configuration implies and a known
        //    encoding, before allocating anything: a forged configuration must not be able to ask
        //    for more memory than the file's own tensors justify.
        var infos: [String: GGUFTensorInfo] = [:]
        func expect(_ name: String, _ dims: [Int]) throws {
            let t = try gguf.info(name)
            guard t.dims == dims else {
                throw ModelError.shapeMismatch("\(gguf.path): tensor \"\(name)\" has dims \(t.dims), expected \(dims)")
            }
            guard let type = t.type, type.canDequantize else {
                throw GGUFError(.unsupportedType, path: gguf.path,
                                "tensor \"\(name)\" uses quantization \(t.typeName), which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)")
            }
            infos[name] = t
        }
        try expect("token_embd.weight", [c.dim, c.vocabSize])
        try expect("output_norm.weight", [c.dim])
        if !c.tiedOutput { try expect("output.weight", [c.dim, c.vocabSize]) }
        let kvWidth = c.kvHeads * c.headDim
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            try expect(p + "attn_norm.weight", [c.dim])
            try expect(p + "attn_q.weight", [c.dim, c.attnDim])
            try expect(p + "attn_k.weight", [c.dim, kvWidth])
            try expect(p + "attn_v.weight", [c.dim, kvWidth])
            try expect(p + "attn_output.weight", [c.attnDim, c.dim])
            try expect(p + "ffn_norm.weight", [c.dim])
            try expect(p + "ffn_gate.weight", [c.dim, c.ffnDim])
            try expect(p + "ffn_up.weight", [c.dim, c.ffnDim])
            try expect(p + "ffn_down.weight", [c.ffnDim, c.dim])
        }

        // 2. Allocate, and list where each tensor goes (q|k|v and gate|up share fused buffers).
        struct Job { let info: GGUFTensorInfo; let buffer: FloatBuffer; let offset: Int }
        var jobs: [Job] = []
        func job(_ name: String, _ buffer: FloatBuffer, _ offset: Int = 0) {
            jobs.append(Job(info: infos[name]!, buffer: buffer, offset: offset))
        }
        let embedding = FloatBuffer(count: c.vocabSize * c.dim)
        job("token_embd.weight", embedding)
        let outputNorm = FloatBuffer(count: c.dim)
        job("output_norm.weight", outputNorm)
        var output: FloatBuffer? = nil
        if !c.tiedOutput {
            output = FloatBuffer(count: c.vocabSize * c.dim)
            job("output.weight", output!)
        }
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            let l = LlamaLayerWeights(
                attnNorm: FloatBuffer(count: c.dim), wqkv: FloatBuffer(count: c.qkvDim * c.dim),
                wo: FloatBuffer(count: c.dim * c.attnDim), ffnNorm: FloatBuffer(count: c.dim),
                wGateUp: FloatBuffer(count: 2 * c.ffnDim * c.dim), wDown: FloatBuffer(count: c.dim * c.ffnDim))
            job(p + "attn_norm.weight", l.attnNorm)
            job(p + "attn_q.weight", l.wqkv)
            job(p + "attn_k.weight", l.wqkv, c.attnDim * c.dim)
            job(p + "attn_v.weight", l.wqkv, (c.attnDim + kvWidth) * c.dim)
            job(p + "attn_output.weight", l.wo)
            job(p + "ffn_norm.weight", l.ffnNorm)
            job(p + "ffn_gate.weight", l.wGateUp)
            job(p + "ffn_up.weight", l.wGateUp, c.ffnDim * c.dim)
            job(p + "ffn_down.weight", l.wDown)
            layers.append(l)
        }

        // 3. Dequantize in parallel (after checking the file was not swapped or cut meanwhile).
        try gguf.checkUnchanged()
        DispatchQueue.concurrentPerform(iterations: jobs.count) { k in
            let j = jobs[k]
            Dequantize.run(j.info.type!, from: gguf.rawBytes(j.info),
                           into: UnsafeMutableBufferPointer(start: j.buffer.pointer + j.offset, count: j.info.elementCount))
        }
        // 4. Projections in an encoding the forward's kernel decodes are also kept as blocks
        //    (a fused matrix only when all its parts share the encoding).
        func quantized(_ parts: [(String, Int)], rows: Int, cols: Int) -> QuantizedMatrix? {
            let types = Set(parts.compactMap { infos[$0.0]?.type })
            guard types.count == 1, let e = QuantizedMatrix.Encoding(types.first!), cols % 32 == 0 else { return nil }
            let m = QuantizedMatrix(e, rows: rows, cols: cols)
            for (name, firstRow) in parts { m.copyRows(from: gguf.rawBytes(infos[name]!), firstRow: firstRow) }
            return m
        }
        let quantizedLayers = (0..<c.layers).map { i in
            let p = "blk.\(i)."
            return LlamaLayerQuantized(
                wqkv: quantized([(p + "attn_q.weight", 0), (p + "attn_k.weight", c.attnDim), (p + "attn_v.weight", c.attnDim + kvWidth)],
                                rows: c.qkvDim, cols: c.dim),
                wo: quantized([(p + "attn_output.weight", 0)], rows: c.dim, cols: c.attnDim),
                wGateUp: quantized([(p + "ffn_gate.weight", 0), (p + "ffn_up.weight", c.ffnDim)], rows: 2 * c.ffnDim, cols: c.dim),
                wDown: quantized([(p + "ffn_down.weight", 0)], rows: c.dim, cols: c.ffnDim))
        }
        try self.init(config: c, tokenEmbedding: embedding, outputNorm: outputNorm, output: output, layers: layers, quantized: quantizedLayers)
    }
}
