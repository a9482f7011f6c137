/// The weights of one decoder block in the file layout, dequantized to Float32: matrices are
/// row-major [out, in] (y = W x), as GGUF and safetensors store them. Loaders fill these and hand
/// them to `LlamaWeights`, which keeps them transposed for computing (`LlamaLayerMatrices`).
public struct LlamaLayerWeights: Sendable {
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

    public init(attnNorm: FloatBuffer, wqkv: FloatBuffer, wo: FloatBuffer, ffnNorm: FloatBuffer,
                wGateUp: FloatBuffer, wDown: FloatBuffer) {
        self.attnNorm = attnNorm; self.wqkv = wqkv; self.wo = wo
        self.ffnNorm = ffnNorm; self.wGateUp = wGateUp; self.wDown = wDown
    }
}

/// All weights of a Llama-family model.
public final class LlamaWeights: @unchecked Sendable {
    public let config: LlamaConfig
    /// [vocab, dim] token embedding rows; the `e` of the attribution formula is a row of this.
    public let tokenEmbedding: FloatBuffer
    /// [dim] final RMSNorm weight.
    public let outputNorm: FloatBuffer
    /// [vocab, dim] output head; the same buffer as `tokenEmbedding` when tied.
    public let output: FloatBuffer
    /// The decoder blocks, projections transposed (see `LlamaLayerMatrices`).
    public let blocks: [LlamaLayerMatrices]

    /// The decoder blocks in the file layout ([out, in] matrices): a copy made on each call,
    /// for export and tests; the engine computes with `blocks`.
    public var layers: [LlamaLayerWeights] { blocks.map { $0.fileLayout(config) } }

    /// Checks every shape, then takes over the layers' buffers: their projections are transposed
    /// in place (no second copy of the weights), so the `layers` passed in must not be used
    /// afterwards.
    /// `quantized`, when given, holds the same projections in a block encoding (one per layer)
    /// for the forward.
    public init(config: LlamaConfig, tokenEmbedding: FloatBuffer, outputNorm: FloatBuffer, output: FloatBuffer?,
                layers: [LlamaLayerWeights], quantized: [LlamaLayerQuantized]? = nil) throws {
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
        }
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.outputNorm = outputNorm
        self.output = output ?? tokenEmbedding
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
        var result = [LlamaLayerMatrices?](repeating: nil, count: layers.count)
        result.withUnsafeMutableBufferPointer { out in
            Parallel.forEachRange(layers.count) { range in
                let scratch = FloatBuffer(count: largest)
                for i in range { out[i] = LlamaLayerMatrices(consuming: layers[i], c, quantized: quantized?[i], scratch: scratch.pointer) }
            }
        }
        self.blocks = result.map { $0! }
    }
}
