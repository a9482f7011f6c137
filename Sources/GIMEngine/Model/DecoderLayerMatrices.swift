/// The weights of one decoder block as the engine computes with them: every projection W
/// ([out, in], as files store it) is kept transposed, Wᵀ [in, out] row-major.
///
/// Why transposed: a knob change re-runs only the backward, so its products dx = dy·W are the
/// ones a person waits for. With Wᵀ stored, dx = dy·(Wᵀ)ᵀ reads Wᵀ's rows along the reduction,
/// the shape of the engine's AVX-512 kernel (`CKernels/linear_kernels.c`, ~1.5–2x OpenBLAS at
/// 8–32 rows), while the forward y = x·Wᵀ becomes OpenBLAS's plain product, or the
/// quantized kernel on `quantized` when the file had Q4_1/Q8_0 weights. Keeping both Float32 layouts would double
/// the 424 MB of SmolLM2's projections.
public struct DecoderLayerMatrices: Sendable {
    /// [dim] RMSNorm weight before attention.
    public let attnNorm: FloatBuffer
    /// [dim, qkvDim]: Wᵀ of the fused q | k | v projection (columns: q heads, then k, then v).
    public let wqkvT: FloatBuffer
    /// [heads·headDim, dim]: Wᵀ of the attention output projection.
    public let woT: FloatBuffer
    /// [dim] RMSNorm weight before the MLP.
    public let ffnNorm: FloatBuffer
    /// [dim, 2·ffnDim]: Wᵀ of the fused gate | up projection (columns: gate, then up).
    public let wGateUpT: FloatBuffer
    /// [ffnDim, dim]: Wᵀ of the MLP down projection.
    public let wDownT: FloatBuffer
    /// The same projections in the file's block encoding where the forward's kernel decodes it
    /// (see `QuantizedMatrix`); nil otherwise.
    public let quantized: DecoderLayerQuantized?
    /// Biases, q/k norms and post-norms of the families that have them.
    public let extras: DecoderLayerExtras

    /// Takes over `layer`'s buffers and transposes its four projections in place (`scratch`
    /// holds at least the largest matrix); `layer` must not be used afterwards.
    init(consuming layer: DecoderLayerWeights, _ c: DecoderConfig, quantized: DecoderLayerQuantized?, scratch: UnsafeMutablePointer<Float>) {
        self.quantized = quantized
        Transpose.inPlace(layer.wqkv.pointer, rows: c.qkvDim, cols: c.dim, scratch: scratch)
        Transpose.inPlace(layer.wo.pointer, rows: c.dim, cols: c.attnDim, scratch: scratch)
        Transpose.inPlace(layer.wGateUp.pointer, rows: 2 * c.ffnDim, cols: c.dim, scratch: scratch)
        Transpose.inPlace(layer.wDown.pointer, rows: c.dim, cols: c.ffnDim, scratch: scratch)
        attnNorm = layer.attnNorm; wqkvT = layer.wqkv; woT = layer.wo
        ffnNorm = layer.ffnNorm; wGateUpT = layer.wGateUp; wDownT = layer.wDown
        extras = layer.extras
    }

    /// A copy in the file layout ([out, in] matrices), for export and tests.
    func fileLayout(_ c: DecoderConfig) -> DecoderLayerWeights {
        func back(_ t: FloatBuffer, rows: Int, cols: Int) -> FloatBuffer {
            let w = FloatBuffer(count: rows * cols)   // [rows, cols] = transpose of t [cols, rows]
            Transpose.copy(t.pointer, rows: cols, cols: rows, into: w.pointer)
            return w
        }
        return DecoderLayerWeights(attnNorm: attnNorm, wqkv: back(wqkvT, rows: c.qkvDim, cols: c.dim),
                                 wo: back(woT, rows: c.dim, cols: c.attnDim), ffnNorm: ffnNorm,
                                 wGateUp: back(wGateUpT, rows: 2 * c.ffnDim, cols: c.dim),
                                 wDown: back(wDownT, rows: c.dim, cols: c.ffnDim), extras: extras)
    }
}
