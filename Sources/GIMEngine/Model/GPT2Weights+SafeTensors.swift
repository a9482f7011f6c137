extension GPT2Weights {
    /// Loads a GPT-2 checkpoint's tensors (transformers names, with or without the "transformer."
    /// prefix of GPT2LMHeadModel), checking every shape against `config` before allocating.
    /// Conv1D weights are stored [in, out] and are transposed to [out, in] here.
    public convenience init(folder: SafeTensorsFolder, config c: GPT2Config) throws {
        try c.validate()
        let prefix = folder.contains("transformer.wte.weight") ? "transformer." : ""
        let d = c.dim, f = c.ffnDim
        var jobs: [SafeTensorsFolder.Job] = []
        func load(_ name: String, _ shape: [Int], _ buffer: FloatBuffer, transpose: Bool = false) throws {
            jobs.append(try folder.job(prefix + name, shape: shape, into: buffer, transpose: transpose))
        }
        // Check shapes first (no allocation is sized by the configuration before the tensors agree).
        try folder.expect(prefix + "wte.weight", shape: [c.vocabSize, d])
        try folder.expect(prefix + "wpe.weight", shape: [c.contextLength, d])
        let untied = !c.tiedOutput
        if untied { try folder.expect("lm_head.weight", shape: [c.vocabSize, d]) }
        for i in 0..<c.layers {
            let p = prefix + "h.\(i)."
            try folder.expect(p + "attn.c_attn.weight", shape: [d, 3 * d])
            try folder.expect(p + "mlp.c_fc.weight", shape: [d, f])
            try folder.expect(p + "mlp.c_proj.weight", shape: [f, d])
        }

        let wte = FloatBuffer(count: c.vocabSize * d), wpe = FloatBuffer(count: c.contextLength * d)
        try load("wte.weight", [c.vocabSize, d], wte)
        try load("wpe.weight", [c.contextLength, d], wpe)
        var output: FloatBuffer?
        if untied {
            output = FloatBuffer(count: c.vocabSize * d)
            jobs.append(try folder.job("lm_head.weight", shape: [c.vocabSize, d], into: output!))
        }
        var layers: [GPT2LayerWeights] = []
        for i in 0..<c.layers {
            let p = "h.\(i).", l = GPT2LayerWeights(zeroed: c)
            try load(p + "ln_1.weight", [d], l.ln1Weight)
            try load(p + "ln_1.bias", [d], l.ln1Bias)
            try load(p + "attn.c_attn.weight", [d, 3 * d], l.wqkv, transpose: true)
            try load(p + "attn.c_attn.bias", [3 * d], l.bqkv)
            try load(p + "attn.c_proj.weight", [d, d], l.wo, transpose: true)
            try load(p + "attn.c_proj.bias", [d], l.bo)
            try load(p + "ln_2.weight", [d], l.ln2Weight)
            try load(p + "ln_2.bias", [d], l.ln2Bias)
            try load(p + "mlp.c_fc.weight", [d, f], l.wFc, transpose: true)
            try load(p + "mlp.c_fc.bias", [f], l.bFc)
            try load(p + "mlp.c_proj.weight", [f, d], l.wProj, transpose: true)
            try load(p + "mlp.c_proj.bias", [d], l.bProj)
            layers.append(l)
        }
        let lnfW = FloatBuffer(count: d), lnfB = FloatBuffer(count: d)
        try load("ln_f.weight", [d], lnfW)
        try load("ln_f.bias", [d], lnfB)
        try SafeTensorsFolder.run(jobs)
        try self.init(config: c, tokenEmbedding: wte, positionEmbedding: wpe, layers: layers,
                      outputNormWeight: lnfW, outputNormBias: lnfB, output: output)
    }
}
