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

        /// One tensor to dequantize into `buffer` starting at `offset`, with the dims GGUF must have.
        struct Job { let name: String; let dims: [Int]; let buffer: FloatBuffer; let offset: Int }
        var jobs: [Job] = []
        func job(_ name: String, _ dims: [Int], _ buffer: FloatBuffer, _ offset: Int = 0) { jobs.append(Job(name: name, dims: dims, buffer: buffer, offset: offset)) }

        let embedding = FloatBuffer(count: c.vocabSize * c.dim)
        job("token_embd.weight", [c.dim, c.vocabSize], embedding)
        let outputNorm = FloatBuffer(count: c.dim)
        job("output_norm.weight", [c.dim], outputNorm)
        var output: FloatBuffer? = nil
        if !c.tiedOutput {
            output = FloatBuffer(count: c.vocabSize * c.dim)
            job("output.weight", [c.dim, c.vocabSize], output!)
        }
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            let l = LlamaLayerWeights(
                attnNorm: FloatBuffer(count: c.dim), wqkv: FloatBuffer(count: c.qkvDim * c.dim),
                wo: FloatBuffer(count: c.dim * c.attnDim), ffnNorm: FloatBuffer(count: c.dim),
                wGateUp: FloatBuffer(count: 2 * c.ffnDim * c.dim), wDown: FloatBuffer(count: c.dim * c.ffnDim))
            job(p + "attn_norm.weight", [c.dim], l.attnNorm)
            job(p + "attn_q.weight", [c.dim, c.attnDim], l.wqkv)
            job(p + "attn_k.weight", [c.dim, c.kvHeads * c.headDim], l.wqkv, c.attnDim * c.dim)
            job(p + "attn_v.weight", [c.dim, c.kvHeads * c.headDim], l.wqkv, (c.attnDim + c.kvHeads * c.headDim) * c.dim)
            job(p + "attn_output.weight", [c.attnDim, c.dim], l.wo)
            job(p + "ffn_norm.weight", [c.dim], l.ffnNorm)
            job(p + "ffn_gate.weight", [c.dim, c.ffnDim], l.wGateUp)
            job(p + "ffn_up.weight", [c.dim, c.ffnDim], l.wGateUp, c.ffnDim * c.dim)
            job(p + "ffn_down.weight", [c.ffnDim, c.dim], l.wDown)
            layers.append(l)
        }

        // Validate every tensor before any work, so errors are reported deterministically.
        var infos: [GGUFTensorInfo] = []
        for j in jobs {
            let t = try gguf.info(j.name)
            guard t.dims == j.dims else {
                throw ModelError.shapeMismatch("\(gguf.path): tensor \"\(j.name)\" has dims \(t.dims), expected \(j.dims)")
            }
            guard let type = t.type, type.canDequantize else {
                throw GGUFError(.unsupportedType, path: gguf.path,
                                "tensor \"\(j.name)\" uses quantization \(t.typeName), which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)")
            }
            infos.append(t)
        }
        DispatchQueue.concurrentPerform(iterations: jobs.count) { k in
            let j = jobs[k], t = infos[k]
            Dequantize.run(t.type!, from: gguf.rawBytes(t),
                           into: UnsafeMutableBufferPointer(start: j.buffer.pointer + j.offset, count: t.elementCount))
        }
        try self.init(config: c, tokenEmbedding: embedding, outputNorm: outputNorm, output: output, layers: layers)
    }
}
