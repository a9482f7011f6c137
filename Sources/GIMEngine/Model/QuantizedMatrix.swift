import CKernels

/// A weight matrix W [rows, cols] (file layout: one row per output feature) kept in a GGUF block
/// encoding the forward kernel decodes on the fly (`gim_linear_forward_quantized`): each row is
/// cols/32 blocks. For short prompts the forward is bound by reading the weights; SmolLM2's
/// Q4_1 projections are 66 MB (5/32 of the Float32 bytes) and stay in this machine's L3 cache,
/// where the 424 MB of Float32 do not.
/// `@unchecked Sendable`: `bytes` is written only by `copyRows` while the model loads, before
/// the matrix is reachable from a model; afterwards it is only read.
public final class QuantizedMatrix: @unchecked Sendable {
    /// The encodings the kernel decodes, bit for bit as `Dequantize` does.
    public enum Encoding: Sendable {
        /// {f16 d; f16 m; u8 qs[16]}: q·d + m, low nibbles first.
        case q4_1
        /// {f16 d; i8 qs[32]}: q·d.
        case q8_0

        public init?(_ type: GGMLType) {
            switch type {
            case .q4_1: self = .q4_1
            case .q8_0: self = .q8_0
            default: return nil
            }
        }

        var blockBytes: Int { self == .q4_1 ? 20 : 34 }
        var kernelCode: Int32 { Int32(self == .q4_1 ? GIM_Q4_1 : GIM_Q8_0) }
    }

    public let encoding: Encoding
    public let rows: Int
    public let cols: Int
    /// rows · cols/32 · blockBytes bytes.
    let bytes: UnsafeMutableRawPointer

    var rowBytes: Int { cols / 32 * encoding.blockBytes }
    var byteCount: Int { rows * rowBytes }

    /// An uninitialised matrix; `cols` must be a multiple of 32.
    init(_ encoding: Encoding, rows: Int, cols: Int) {
        precondition(rows > 0 && cols > 0 && cols % 32 == 0)
        self.encoding = encoding
        self.rows = rows
        self.cols = cols
        bytes = .allocate(byteCount: rows * (cols / 32 * encoding.blockBytes), alignment: 64)
    }

    deinit { bytes.deallocate() }

    /// Copies whole rows of blocks (e.g. one GGUF tensor) in at row `firstRow`.
    func copyRows(from source: UnsafeRawBufferPointer, firstRow: Int) {
        precondition(source.count % rowBytes == 0 && firstRow * rowBytes + source.count <= byteCount)
        (bytes + firstRow * rowBytes).copyMemory(from: source.baseAddress!, byteCount: source.count)
    }
}

/// A block's projections in a block encoding for the forward (the backward uses
/// `DecoderLayerMatrices`' Wᵀ); nil where the file's encoding is not one the kernel decodes.
public struct DecoderLayerQuantized: Sendable {
    /// [qkvDim, dim] rows of q, then k, then v.
    public let wqkv: QuantizedMatrix?
    /// [dim, heads·headDim].
    public let wo: QuantizedMatrix?
    /// [2·ffnDim, dim] rows of gate, then up.
    public let wGateUp: QuantizedMatrix?
    /// [dim, ffnDim].
    public let wDown: QuantizedMatrix?

    func check(_ c: DecoderConfig, layer i: Int) throws {
        for (m, r, k, name) in [(wqkv, c.qkvDim, c.dim, "q/k/v"), (wo, c.dim, c.attnDim, "attn_output"),
                                (wGateUp, 2 * c.ffnDim, c.dim, "gate/up"), (wDown, c.dim, c.ffnDim, "ffn_down")]
        where m != nil && (m!.rows != r || m!.cols != k) {
            throw ModelError.shapeMismatch("blk.\(i) \(name) quantized copy is \(m!.rows)×\(m!.cols), expected \(r)×\(k)")
        }
    }
}
