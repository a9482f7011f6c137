extension LlamaWeights {
    /// Loads a Hugging Face `LlamaForCausalLM` checkpoint (model.embed_tokens.weight,
    /// model.layers.N.self_attn.q_proj.weight [out, in], ..., model.norm.weight, lm_head.weight
    /// unless tied). Hugging Face keeps q/k rows in rotate-half order, so `config.ropeLayout`
    /// must be `.neox`. Every shape is checked against `config` before anything is allocated.
    public convenience init(folder: SafeTensorsFolder, config c: LlamaConfig) throws {
        try c.validate()
        let d = c.dim, f = c.ffnDim, kv = c.kvHeads * c.headDim
        let untied = !c.tiedOutput
        try folder.expect("model.embed_tokens.weight", shape: [c.vocabSize, d])
        if untied {
            guard folder.contains("lm_head.weight") else {
                throw SafeTensorsError(.missing, path: folder.directory, tensor: "lm_head.weight",
                                       "missing, and config.json's tie_word_embeddings is false")
            }
            try folder.expect("lm_head.weight", shape: [c.vocabSize, d])
        }
        for i in 0..<c.layers {
            let p = "model.layers.\(i)."
            try folder.expect(p + "self_attn.q_proj.weight", shape: [c.attnDim, d])
            try folder.expect(p + "self_attn.k_proj.weight", shape: [kv, d])
            try folder.expect(p + "mlp.gate_proj.weight", shape: [f, d])
        }

        var jobs: [SafeTensorsFolder.Job] = []
        func load(_ name: String, _ shape: [Int], _ buffer: FloatBuffer, _ offset: Int = 0) throws {
            jobs.append(try folder.job(name, shape: shape, into: buffer, offset: offset))
        }
        let embedding = FloatBuffer(count: c.vocabSize * d)
        try load("model.embed_tokens.weight", [c.vocabSize, d], embedding)
        let outputNorm = FloatBuffer(count: d)
        try load("model.norm.weight", [d], outputNorm)
        var output: FloatBuffer?
        if untied {
            output = FloatBuffer(count: c.vocabSize * d)
            try load("lm_head.weight", [c.vocabSize, d], output!)
        }
        var layers: [LlamaLayerWeights] = []
        for i in 0..<c.layers {
            let p = "model.layers.\(i)."
            let l = LlamaLayerWeights(
                attnNorm: FloatBuffer(count: d), wqkv: FloatBuffer(count: c.qkvDim * d),
                wo: FloatBuffer(count: d * c.attnDim), ffnNorm: FloatBuffer(count: d),
                wGateUp: FloatBuffer(count: 2 * f * d), wDown: FloatBuffer(count: d * f))
            try load(p + "input_layernorm.weight", [d], l.attnNorm)
            try load(p + "self_attn.q_proj.weight", [c.attnDim, d], l.wqkv)
            try load(p + "self_attn.k_proj.weight", [kv, d], l.wqkv, c.attnDim * d)
            try load(p + "self_attn.v_proj.weight", [kv, d], l.wqkv, (c.attnDim + kv) * d)
            try load(p + "self_attn.o_proj.weight", [d, c.attnDim], l.wo)
            try load(p + "post_attention_layernorm.weight", [d], l.ffnNorm)
            try load(p + "mlp.gate_proj.weight", [f, d], l.wGateUp)
            try load(p + "mlp.up_proj.weight", [f, d], l.wGateUp, f * d)
            try load(p + "mlp.down_proj.weight", [d, f], l.wDown)
            layers.append(l)
        }
        try SafeTensorsFolder.run(jobs)
        try self.init(config: c, tokenEmbedding: embedding, outputNorm: outputNorm, output: output, layers: layers)
    }
}
