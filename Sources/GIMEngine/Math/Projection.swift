/// One linear layer of a decoder block, W [out, in] (q|k|v and gate|up fused by rows), in the
/// storage its model was loaded with (`DecoderWeights.Storage`):
/// - `.transposed`: Wᵀ [in, out] in Float32, plus the file's Q4_1/Q8_0 blocks for the forward
///   when it had them: the fast path for models whose Float32 weights fit in memory comfortably
///   (see `DecoderLayerMatrices` for why transposed).
/// - `.parts`: the file's own tensors (e.g. attn_q, attn_k, attn_v), each in its encoding,
///   stacked by rows; nothing is copied or dequantized at load.
public final class Projection: Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    public let storage: Storage

    public enum Storage: Sendable {
        case transposed(FloatBuffer, QuantizedMatrix?)
        case parts([WeightMatrix])
    }

    init(transposed wT: FloatBuffer, out: Int, in inFeatures: Int, forwardBlocks: QuantizedMatrix?) {
        precondition(wT.count == out * inFeatures)
        outFeatures = out
        self.inFeatures = inFeatures
        storage = .transposed(wT, forwardBlocks)
    }

    init(parts: [WeightMatrix]) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.cols == parts[0].cols })
        outFeatures = parts.reduce(0) { $0 + $1.rows }
        inFeatures = parts[0].cols
        storage = .parts(parts)
    }

    /// y[T, out] (+)= x[T, in] · Wᵀ.
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows t: Int, accumulate: Bool = false) {
        switch storage {
        case .transposed(let wT, let blocks):
            BLAS.project(x, wT: wT, quantized: blocks, y, rows: t, inFeatures: inFeatures, outFeatures: outFeatures,
                         accumulate: accumulate)
        case .parts(let parts):
            var offset = 0
            for p in parts {
                p.forward(x, y + offset, tokens: t, ldy: outFeatures, accumulate: accumulate)
                offset += p.rows
            }
        }
    }

    /// dx[T, in] (+)= dy[T, out] · W.
    func backward(_ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows t: Int, accumulate: Bool = false) {
        switch storage {
        case .transposed(let wT, _):
            BLAS.linearBackwardTransposed(dy, wT.pointer, dx, rows: t, inFeatures: inFeatures, outFeatures: outFeatures,
                                          accumulate: accumulate)
        case .parts(let parts):
            var offset = 0
            for (i, p) in parts.enumerated() {
                p.backward(dy + offset, lddy: outFeatures, dx, tokens: t, accumulate: accumulate || i > 0)
                offset += p.rows
            }
        }
    }

    /// W in the file layout [out, in] as Float32 (export and tests).
    public func fileLayout() -> FloatBuffer {
        let w = FloatBuffer(count: outFeatures * inFeatures)
        switch storage {
        case .transposed(let wT, _):
            Transpose.copy(wT.pointer, rows: inFeatures, cols: outFeatures, into: w.pointer)
        case .parts(let parts):
            var offset = 0
            for p in parts {
                (w.pointer + offset * inFeatures).update(from: p.float32().pointer, count: p.rows * inFeatures)
                offset += p.rows
            }
        }
        return w
    }

    /// Bytes of weights held for this layer (Float32 copies, or the file's bytes).
    var byteCount: Int {
        switch storage {
        case .transposed(let wT, let q): return wT.count * 4 + (q?.byteCount ?? 0)
        case .parts(let parts): return parts.reduce(0) { $0 + $1.byteCount }
        }
    }
}
