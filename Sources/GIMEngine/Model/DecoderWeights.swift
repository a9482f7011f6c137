/// The weights of one decoder block in the file layout, dequantized to Float32: matrices are
/// row-major [out, in] (y = W x), as GGUF and safetensors store them. Loaders fill these and hand
/// them to `DecoderWeights`, which keeps them transposed for computing (`DecoderLayerMatrices`).
public struct DecoderLayerWeights: Sendable {
    /// [dim] RMSNorm weight before attention.
    public let attnNorm: FloatBuffer
    /// [qkvDim, dim]: the rows of attn_q ([heads·headDim]), then attn_k and attn_v ([kvHeads·headDim] each),
    /// fused so the three projections are one GEMM forward and one backward.
    public let wqkv: FloatBuffer
    /// [dim, heads·headDim] attention output projection.
    public let wo: FloatBuffer
    /// [dim] RMSNorm weight before the MLP.
    public let ffnNorm: FloatBuffer
    /// [2·ffnDim, dim]: the rows of ffn_gate then ffn_up, fused like wqkv.
    public let wGateUp: FloatBuffer
    /// [dim, ffnDim] MLP down projection.
    public let wDown: FloatBuffer
    /// What only some families have (see `DecoderConfig`); nil where the config says none.
    public let extras: DecoderLayerExtras

    public init(attnNorm: FloatBuffer, wqkv: FloatBuffer, wo: FloatBuffer, ffnNorm: FloatBuffer,
                wGateUp: FloatBuffer, wDown: FloatBuffer, extras: DecoderLayerExtras = DecoderLayerExtras()) {
        self.attnNorm = attnNorm; self.wqkv = wqkv; self.wo = wo
        self.ffnNorm = ffnNorm; self.wGateUp = wGateUp; self.wDown = wDown; self.extras = extras
    }

    /// Empty buffers of the right sizes for `c`, extras included, for a loader to fill.
    public init(allocating c: DecoderConfig) {
        self.init(attnNorm: FloatBuffer(count: c.dim), wqkv: FloatBuffer(count: c.qkvDim * c.dim),
                  wo: FloatBuffer(count: c.dim * c.attnDim), ffnNorm: FloatBuffer(count: c.dim),
                  wGateUp: FloatBuffer(count: 2 * c.ffnDim * c.dim), wDown: FloatBuffer(count: c.dim * c.ffnDim),
                  extras: DecoderLayerExtras(allocating: c))
    }
}

/// The per-layer weights of the switches in `DecoderConfig` (each nil when its switch is off).
/// Norm weights are stored as the norm multiplies: Gemma's (1 + w) is folded in at load.
public struct DecoderLayerExtras: Sendable {
    /// [qkvDim] biases of q | k | v (`qkvBias`).
    public var qkvBias: FloatBuffer?
    /// [headDim] RMSNorm weights of each query / key head (`qkNorm`).
    public var qNorm: FloatBuffer?
    public var kNorm: FloatBuffer?
    /// [dim] RMSNorm weights on the attention output and the MLP output (`postNorms`).
    public var postAttnNorm: FloatBuffer?
    public var postFfnNorm: FloatBuffer?

    public init(qkvBias: FloatBuffer? = nil, qNorm: FloatBuffer? = nil, kNorm: FloatBuffer? = nil,
                postAttnNorm: FloatBuffer? = nil, postFfnNorm: FloatBuffer? = nil) {
        self.qkvBias = qkvBias; self.qNorm = qNorm; self.kNorm = kNorm
        self.postAttnNorm = postAttnNorm; self.postFfnNorm = postFfnNorm
    }

    init(allocating c: DecoderConfig) {
        self.init(qkvBias: c.qkvBias ? FloatBuffer(count: c.qkvDim) : nil,
                  qNorm: c.qkNorm ? FloatBuffer(count: c.headDim) : nil,
                  kNorm: c.qkNorm ? FloatBuffer(count: c.headDim) : nil,
                  postAttnNorm: c.postNorms ? FloatBuffer(count: c.dim) : nil,
                  postFfnNorm: c.postNorms ? FloatBuffer(count: c.dim) : nil)
    }

    /// Checks that exactly the buffers `c` asks for are present, with their sizes.
    func check(_ c: DecoderConfig, layer i: Int) throws {
        for (b, wanted, n, what) in [(qkvBias, c.qkvBias, c.qkvDim, "q/k/v bias"), (qNorm, c.qkNorm, c.headDim, "q norm"),
                                     (kNorm, c.qkNorm, c.headDim, "k norm"), (postAttnNorm, c.postNorms, c.dim, "post-attention norm"),
                                     (postFfnNorm, c.postNorms, c.dim, "post-feed-forward norm")] {
            guard (b != nil) == wanted else {
                throw ModelError.shapeMismatch("blk.\(i) \(what) is \(b == nil ? "missing" : "given but the configuration has none")")
            }
            if let b, b.count != n { throw ModelError.shapeMismatch("blk.\(i) \(what) has \(b.count) values, expected \(n)") }
        }
    }
}

/// All weights of a decoder (any family of `DecoderConfig`).
public final class DecoderWeights: Sendable {
    public let config: DecoderConfig
    /// [vocab, dim] token embedding rows; the `e` of the attribution formula is a row of this.
    public let tokenEmbedding: WeightMatrix
    /// [dim] final RMSNorm weight.
    public let outputNorm: FloatBuffer
    /// [vocab, dim] output head; the same matrix as `tokenEmbedding` when tied.
    public let output: WeightMatrix
    /// The decoder blocks (see `DecoderLayerMatrices`).
    public let blocks: [DecoderLayerMatrices]

    /// How the projections are held: Float32 Wᵀ, or the file's blocks as they are.
    public enum Storage: String, Sendable, CaseIterable {
        case float32, file
    }

    /// Blocks read from the file's tensors, embedding and head included (`.file` storage): the
    /// shapes are the caller's to check.
    init(config: DecoderConfig, tokenEmbedding: WeightMatrix, outputNorm: FloatBuffer, output: WeightMatrix?,
         blocks: [DecoderLayerMatrices]) throws {
        try config.validate()
        guard blocks.count == config.layers else {
            throw ModelError.shapeMismatch("\(blocks.count) layers given, config says \(config.layers)")
        }
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.outputNorm = outputNorm
        self.output = output ?? tokenEmbedding
        self.blocks = blocks
    }

    /// Bytes of weights held in memory or read from the file (projections, embedding, head).
    public var weightBytes: Int {
        blocks.reduce(0) { $0 + $1.projectionBytes } + tokenEmbedding.byteCount
            + (output === tokenEmbedding ? 0 : output.byteCount)
    }

    /// The decoder blocks in the file layout ([out, in] matrices): a copy made on each call,
    /// for export and tests; the engine computes with `blocks`.
    public var layers: [DecoderLayerWeights] { blocks.map { $0.fileLayout(config) } }

    /// Checks every shape, then takes over the layers' buffers: their projections are transposed
    /// in place (no second copy of the weights), so the `layers` passed in must not be used
    /// afterwards.
    /// `quantized`, when given, holds the same projections in a block encoding (one per layer)
    /// for the forward.
    public init(config: DecoderConfig, tokenEmbedding: FloatBuffer, outputNorm: FloatBuffer, output: FloatBuffer?,
                layers: [DecoderLayerWeights], quantized: [DecoderLayerQuantized]? = nil) throws {
        try config.validate()
        let c = config
        func check(_ b: FloatBuffer, _ n: Int, _ what: String) throws {
            guard b.count == n else { throw ModelError.shapeMismatch("\(what) has \(b.count) values, expected \(n)") }
        }
        try check(tokenEmbedding, c.vocabSize * c.dim, "token embedding")
        try check(outputNorm, c.dim, "output norm")
        if let output { try check(output, c.vocabSize * c.dim, "output head") }
        guard layers.count == c.layers else {
            throw ModelError.shapeMismatch("\(layers.count) layers given, config says \(c.layers)")
        }
        for (i, l) in layers.enumerated() {
            try check(l.attnNorm, c.dim, "blk.\(i).attn_norm")
            try check(l.wqkv, c.qkvDim * c.dim, "blk.\(i) q/k/v")
            try check(l.wo, c.dim * c.attnDim, "blk.\(i).attn_output")
            try check(l.ffnNorm, c.dim, "blk.\(i).ffn_norm")
            try check(l.wGateUp, 2 * c.ffnDim * c.dim, "blk.\(i) gate/up")
            try check(l.wDown, c.dim * c.ffnDim, "blk.\(i).ffn_down")
            try l.extras.check(c, layer: i)
        }
        self.config = config
        self.tokenEmbedding = WeightMatrix(float32: tokenEmbedding, rows: c.vocabSize, cols: c.dim)
        self.outputNorm = outputNorm
        self.output = output.map { WeightMatrix(float32: $0, rows: c.vocabSize, cols: c.dim) } ?? self.tokenEmbedding
        if let quantized {
            guard quantized.count == layers.count else {
                throw ModelError.shapeMismatch("\(quantized.count) quantized layers given, config says \(c.layers)")
            }
            for (i, q) in quantized.enumerated() { try q.check(c, layer: i) }
        }
        // Each projection is transposed in place once: a buffer shared by two of them would be
        // transposed twice, so sharing is refused.
        var seen = Set<ObjectIdentifier>()
        for (i, l) in layers.enumerated() {
            for m in [l.wqkv, l.wo, l.wGateUp, l.wDown] where !seen.insert(ObjectIdentifier(m)).inserted {
                throw ModelError.shapeMismatch("blk.\(i) shares a weight buffer with another projection")
            }
        }
        // Transpose every block's projections, blocks in parallel, one scratch matrix per part.
        let largest = max(c.qkvDim, 2 * c.ffnDim, c.dim) * max(c.dim, c.attnDim, c.ffnDim)
        var result = [DecoderLayerMatrices?](repeating: nil, count: layers.count)
        result.withUnsafeMutableBufferPointer { out in
            Parallel.forEachRange(layers.count) { range in
                let scratch = FloatBuffer(count: largest)
                for i in range { out[i] = DecoderLayerMatrices(consuming: layers[i], c, quantized: quantized?[i], scratch: scratch.pointer) }
            }
        }
        self.blocks = result.map { $0! }
    }
}
