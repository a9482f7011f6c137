/// The weights of one decoder block as the engine computes with them: norms in Float32 and
/// four `Projection`s, each either Float32 Wᵀ (transposed at load) or the file's own blocks.
///
/// Why transposed on the Float32 path: a knob change re-runs only the backward, so its products
/// dx = dy·W are the ones a person waits for. With Wᵀ stored, dx = dy·(Wᵀ)ᵀ reads Wᵀ's rows along
/// the reduction, the shape of the engine's AVX-512 kernel (`CKernels/linear_kernels.c`, ~1.5–2x
/// OpenBLAS at 8–32 rows), while the forward y = x·Wᵀ becomes OpenBLAS's plain product, or the
/// quantized kernel when the file had Q4_1/Q8_0 weights. Keeping both Float32 layouts would double
/// the 424 MB of SmolLM2's projections.
public struct DecoderLayerMatrices: Sendable {
    /// [dim] RMSNorm weight before attention.
    public let attnNorm: FloatBuffer
    /// [qkvDim, dim]: q (heads·headDim rows), then k and v (kvHeads·headDim rows each).
    public let qkv: Projection
    /// [dim, heads·headDim] attention output projection.
    public let o: Projection
    /// [dim] RMSNorm weight before the MLP.
    public let ffnNorm: FloatBuffer
    /// [2·ffnDim, dim]: gate rows, then up rows.
    public let gateUp: Projection
    /// [dim, ffnDim] MLP down projection.
    public let down: Projection
    /// Biases, q/k norms and post-norms of the families that have them.
    public let extras: DecoderLayerExtras

    /// Takes over `layer`'s buffers and transposes its four projections in place (`scratch`
    /// holds at least the largest matrix); `layer` must not be used afterwards. `quantized`
    /// holds the file's Q4_1/Q8_0 blocks of the same projections for the forward, where it had them.
    init(consuming layer: DecoderLayerWeights, _ c: DecoderConfig, quantized: DecoderLayerQuantized?, scratch: UnsafeMutablePointer<Float>) {
        func transposed(_ w: FloatBuffer, out: Int, in k: Int, _ q: QuantizedMatrix?) -> Projection {
            Transpose.inPlace(w.pointer, rows: out, cols: k, scratch: scratch)
            return Projection(transposed: w, out: out, in: k, forwardBlocks: q)
        }
        qkv = transposed(layer.wqkv, out: c.qkvDim, in: c.dim, quantized?.wqkv)
        o = transposed(layer.wo, out: c.dim, in: c.attnDim, quantized?.wo)
        gateUp = transposed(layer.wGateUp, out: 2 * c.ffnDim, in: c.dim, quantized?.wGateUp)
        down = transposed(layer.wDown, out: c.dim, in: c.ffnDim, quantized?.wDown)
        attnNorm = layer.attnNorm; ffnNorm = layer.ffnNorm
        extras = layer.extras
    }

    /// A block that reads its projections from the file's tensors (see `Projection.parts`).
    init(attnNorm: FloatBuffer, qkv: Projection, o: Projection, ffnNorm: FloatBuffer, gateUp: Projection,
         down: Projection, extras: DecoderLayerExtras) {
        self.attnNorm = attnNorm; self.qkv = qkv; self.o = o
        self.ffnNorm = ffnNorm; self.gateUp = gateUp; self.down = down; self.extras = extras
    }

    /// A copy in the file layout ([out, in] matrices), for export and tests.
    func fileLayout(_ c: DecoderConfig) -> DecoderLayerWeights {
        DecoderLayerWeights(attnNorm: attnNorm, wqkv: qkv.fileLayout(), wo: o.fileLayout(), ffnNorm: ffnNorm,
                            wGateUp: gateUp.fileLayout(), wDown: down.fileLayout(), extras: extras)
    }

    /// Bytes of the four projections as held.
    var projectionBytes: Int { qkv.byteCount + o.byteCount + gateUp.byteCount + down.byteCount }
}
