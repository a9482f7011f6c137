/// Where a checkpoint keeps each weight of a decoder: one value per format and family. Matrices
/// are [out, in] (y = W x) in both formats (GGUF lists the dims the other way round).
struct DecoderTensorNames {
    var embedding: String
    var outputNorm: String
    var output: String
    /// Per layer: the block's prefix ("blk.3." / "model.layers.3.").
    var layer: (Int) -> String
    var attnNorm: String
    /// q, k, v as three tensors, or one fused [qkvDim, dim] tensor (Phi-3).
    var q: String, k: String, v: String
    var qkvFused: String?
    /// Biases of q, k, v (Qwen 2).
    var qBias: String, kBias: String, vBias: String
    var qNorm: String, kNorm: String
    var attnOutput: String
    var postAttnNorm: String
    /// The norm before the MLP (Llama's post_attention_layernorm, Gemma 2's pre_feedforward_layernorm).
    var ffnNorm: String
    /// gate and up as two tensors, or one fused [2·ffnDim, dim] tensor, gate rows first (Phi-3).
    var gate: String, up: String
    var gateUpFused: String?
    var down: String
    var postFfnNorm: String

    /// llama.cpp's names, the same for every family (Phi-3 fuses q|k|v and gate|up).
    static func gguf(_ family: DecoderFamily) -> DecoderTensorNames {
        DecoderTensorNames(
            embedding: "token_embd.weight", outputNorm: "output_norm.weight", output: "output.weight",
            layer: { "blk.\($0)." }, attnNorm: "attn_norm.weight",
            q: "attn_q.weight", k: "attn_k.weight", v: "attn_v.weight",
            qkvFused: family == .phi3 ? "attn_qkv.weight" : nil,
            qBias: "attn_q.bias", kBias: "attn_k.bias", vBias: "attn_v.bias",
            qNorm: "attn_q_norm.weight", kNorm: "attn_k_norm.weight", attnOutput: "attn_output.weight",
            postAttnNorm: "post_attention_norm.weight", ffnNorm: "ffn_norm.weight",
            gate: "ffn_gate.weight", up: "ffn_up.weight", gateUpFused: family == .phi3 ? "ffn_up.weight" : nil,
            down: "ffn_down.weight", postFfnNorm: "post_ffw_norm.weight")
    }

    /// transformers' names. Gemma 2/3's `post_attention_layernorm` is the post-norm of the
    /// attention; everywhere else it is the norm before the MLP.
    static func huggingFace(_ family: DecoderFamily) -> DecoderTensorNames {
        let postNorms = family == .gemma2 || family == .gemma3
        return DecoderTensorNames(
            embedding: "model.embed_tokens.weight", outputNorm: "model.norm.weight", output: "lm_head.weight",
            layer: { "model.layers.\($0)." }, attnNorm: "input_layernorm.weight",
            q: "self_attn.q_proj.weight", k: "self_attn.k_proj.weight", v: "self_attn.v_proj.weight",
            qkvFused: family == .phi3 ? "self_attn.qkv_proj.weight" : nil,
            qBias: "self_attn.q_proj.bias", kBias: "self_attn.k_proj.bias", vBias: "self_attn.v_proj.bias",
            qNorm: "self_attn.q_norm.weight", kNorm: "self_attn.k_norm.weight", attnOutput: "self_attn.o_proj.weight",
            postAttnNorm: "post_attention_layernorm.weight",
            ffnNorm: postNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight",
            gate: "mlp.gate_proj.weight", up: "mlp.up_proj.weight",
            gateUpFused: family == .phi3 ? "mlp.gate_up_proj.weight" : nil,
            down: "mlp.down_proj.weight", postFfnNorm: "post_feedforward_layernorm.weight")
    }
}

/// A model file the decoder loader reads tensors from: it checks a tensor's shape and encoding
/// before anything is allocated, then converts many tensors to Float32 in parallel.
protocol DecoderTensorSource {
    /// Where the file is, for messages.
    var path: String { get }
    func contains(_ name: String) -> Bool
    /// Checks that `name` exists as [rows, cols] ([rows] when cols is nil) in a readable encoding.
    func expect(_ name: String, rows: Int, cols: Int?) throws
    /// Converts the checked tensors to Float32 at (buffer, offset), in parallel.
    func load(_ jobs: [DecoderTensorJob]) throws
    /// A checked [rows, cols] tensor read in place in its encoding, or nil when this source
    /// cannot (then only the Float32 storage is possible).
    func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix?
}

extension DecoderTensorSource {
    func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix? { nil }
}

/// One tensor to convert: `name` into `buffer` starting at `offset`.
struct DecoderTensorJob {
    let name: String
    let buffer: FloatBuffer
    let offset: Int
}

extension DecoderWeights {
    /// Loads every weight of a decoder from `source`, the names of `names`, the switches of `c`;
    /// every shape is checked before anything is allocated (a forged configuration cannot ask for
    /// more memory than the file's tensors justify). Norm weights get `normOffset` added (Gemma's
    /// (1 + w) folded in: 1 for transformers' checkpoints, 0 for GGUF whose converter did it).
    /// With `.file` storage (and a source that can map tensors), the projections, embedding and
    /// head stay in the file (`Projection.parts`); only norms and biases are converted.
    convenience init(source: DecoderTensorSource, names n: DecoderTensorNames, config c: DecoderConfig,
                     normOffset: Float, storage: Storage = .float32,
                     quantized: () -> [DecoderLayerQuantized]? = { nil }) throws {
        try c.validate()
        let d = c.dim, f = c.ffnDim, kv = c.kvHeads * c.headDim, hd = c.headDim
        // 1. Shapes.
        try source.expect(n.embedding, rows: c.vocabSize, cols: d)
        try source.expect(n.outputNorm, rows: d, cols: nil)
        if !c.tiedOutput {
            guard source.contains(n.output) else {
                throw ModelError.shapeMismatch("\(source.path): \(n.output) is missing and the head is not tied to the embeddings")
            }
            try source.expect(n.output, rows: c.vocabSize, cols: d)
        }
        for i in 0..<c.layers {
            let p = n.layer(i)
            try source.expect(p + n.attnNorm, rows: d, cols: nil)
            if let fused = n.qkvFused {
                try source.expect(p + fused, rows: c.qkvDim, cols: d)
            } else {
                try source.expect(p + n.q, rows: c.attnDim, cols: d)
                try source.expect(p + n.k, rows: kv, cols: d)
                try source.expect(p + n.v, rows: kv, cols: d)
            }
            if c.qkvBias {
                try source.expect(p + n.qBias, rows: c.attnDim, cols: nil)
                try source.expect(p + n.kBias, rows: kv, cols: nil)
                try source.expect(p + n.vBias, rows: kv, cols: nil)
            }
            if c.qkNorm {
                try source.expect(p + n.qNorm, rows: hd, cols: nil)
                try source.expect(p + n.kNorm, rows: hd, cols: nil)
            }
            try source.expect(p + n.attnOutput, rows: d, cols: c.attnDim)
            try source.expect(p + n.ffnNorm, rows: d, cols: nil)
            if let fused = n.gateUpFused {
                try source.expect(p + fused, rows: 2 * f, cols: d)
            } else {
                try source.expect(p + n.gate, rows: f, cols: d)
                try source.expect(p + n.up, rows: f, cols: d)
            }
            try source.expect(p + n.down, rows: d, cols: f)
            if c.postNorms {
                try source.expect(p + n.postAttnNorm, rows: d, cols: nil)
                try source.expect(p + n.postFfnNorm, rows: d, cols: nil)
            }
        }

        if storage == .file, try source.matrix(n.embedding, rows: c.vocabSize, cols: d) != nil {
            try self.init(fileSource: source, names: n, config: c, normOffset: normOffset)
            return
        }

        // 2. Buffers (after the checks, like the block copies `quantized` makes), and where each tensor goes (q|k|v and gate|up share fused buffers).
        var jobs: [DecoderTensorJob] = []
        var norms: [FloatBuffer] = []
        func job(_ name: String, _ buffer: FloatBuffer, _ offset: Int = 0) {
            jobs.append(DecoderTensorJob(name: name, buffer: buffer, offset: offset))
        }
        func norm(_ name: String, _ buffer: FloatBuffer) { job(name, buffer); norms.append(buffer) }
        let embedding = FloatBuffer(count: c.vocabSize * d)
        job(n.embedding, embedding)
        let outputNorm = FloatBuffer(count: d)
        norm(n.outputNorm, outputNorm)
        var output: FloatBuffer?
        if !c.tiedOutput {
            output = FloatBuffer(count: c.vocabSize * d)
            job(n.output, output!)
        }
        var layers: [DecoderLayerWeights] = []
        for i in 0..<c.layers {
            let p = n.layer(i)
            let l = DecoderLayerWeights(allocating: c)
            norm(p + n.attnNorm, l.attnNorm)
            if let fused = n.qkvFused {
                job(p + fused, l.wqkv)
            } else {
                job(p + n.q, l.wqkv)
                job(p + n.k, l.wqkv, c.attnDim * d)
                job(p + n.v, l.wqkv, (c.attnDim + kv) * d)
            }
            if let bias = l.extras.qkvBias {
                job(p + n.qBias, bias)
                job(p + n.kBias, bias, c.attnDim)
                job(p + n.vBias, bias, c.attnDim + kv)
            }
            if let q = l.extras.qNorm, let k = l.extras.kNorm {
                norm(p + n.qNorm, q)
                norm(p + n.kNorm, k)
            }
            job(p + n.attnOutput, l.wo)
            norm(p + n.ffnNorm, l.ffnNorm)
            if let fused = n.gateUpFused {
                job(p + fused, l.wGateUp)
            } else {
                job(p + n.gate, l.wGateUp)
                job(p + n.up, l.wGateUp, f * d)
            }
            job(p + n.down, l.wDown)
            if let a = l.extras.postAttnNorm, let m = l.extras.postFfnNorm {
                norm(p + n.postAttnNorm, a)
                norm(p + n.postFfnNorm, m)
            }
            layers.append(l)
        }

        // 3. Convert, then fold the norms' offset in.
        try source.load(jobs)
        if normOffset != 0 {
            for b in norms { for j in 0..<b.count { b[j] += normOffset } }
        }
        try self.init(config: c, tokenEmbedding: embedding, outputNorm: outputNorm, output: output, layers: layers,
                      quantized: quantized())
    }
}

extension DecoderWeights {
    /// The `.file` storage: every matrix read in place from `source` (shapes already checked);
    /// norms and biases converted to Float32 (Gemma's offset folded in).
    fileprivate convenience init(fileSource source: DecoderTensorSource, names n: DecoderTensorNames, config c: DecoderConfig,
                                 normOffset: Float) throws {
        let d = c.dim, f = c.ffnDim, kv = c.kvHeads * c.headDim
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> WeightMatrix {
            guard let m = try source.matrix(name, rows: rows, cols: cols) else {
                throw ModelError.shapeMismatch("\(source.path): \(name) cannot be read in place")
            }
            return m
        }
        var jobs: [DecoderTensorJob] = []
        var norms: [FloatBuffer] = []
        func vector(_ name: String, _ count: Int, norm: Bool) -> FloatBuffer {
            let b = FloatBuffer(count: count)
            jobs.append(DecoderTensorJob(name: name, buffer: b, offset: 0))
            if norm { norms.append(b) }
            return b
        }
        let embedding = try matrix(n.embedding, c.vocabSize, d)
        let output = c.tiedOutput ? nil : try matrix(n.output, c.vocabSize, d)
        let outputNorm = vector(n.outputNorm, d, norm: true)
        var blocks: [DecoderLayerMatrices] = []
        for i in 0..<c.layers {
            let p = n.layer(i)
            let qkv = try n.qkvFused.map { [try matrix(p + $0, c.qkvDim, d)] }
                ?? [matrix(p + n.q, c.attnDim, d), matrix(p + n.k, kv, d), matrix(p + n.v, kv, d)]
            let gateUp = try n.gateUpFused.map { [try matrix(p + $0, 2 * f, d)] }
                ?? [matrix(p + n.gate, f, d), matrix(p + n.up, f, d)]
            var extras = DecoderLayerExtras()
            if c.qkvBias {
                let bias = FloatBuffer(count: c.qkvDim)
                jobs += [DecoderTensorJob(name: p + n.qBias, buffer: bias, offset: 0),
                         DecoderTensorJob(name: p + n.kBias, buffer: bias, offset: c.attnDim),
                         DecoderTensorJob(name: p + n.vBias, buffer: bias, offset: c.attnDim + kv)]
                extras.qkvBias = bias
            }
            if c.qkNorm {
                extras.qNorm = vector(p + n.qNorm, c.headDim, norm: true)
                extras.kNorm = vector(p + n.kNorm, c.headDim, norm: true)
            }
            if c.postNorms {
                extras.postAttnNorm = vector(p + n.postAttnNorm, d, norm: true)
                extras.postFfnNorm = vector(p + n.postFfnNorm, d, norm: true)
            }
            blocks.append(DecoderLayerMatrices(
                attnNorm: vector(p + n.attnNorm, d, norm: true), qkv: Projection(parts: qkv),
                o: Projection(parts: [try matrix(p + n.attnOutput, d, c.attnDim)]),
                ffnNorm: vector(p + n.ffnNorm, d, norm: true), gateUp: Projection(parts: gateUp),
                down: Projection(parts: [try matrix(p + n.down, d, f)]), extras: extras))
        }
        try source.load(jobs)
        if normOffset != 0 {
            for b in norms { for j in 0..<b.count { b[j] += normOffset } }
        }
        try self.init(config: c, tokenEmbedding: embedding, outputNorm: outputNorm, output: output, blocks: blocks)
    }
}
