import CKernels

/// A weight matrix W [rows, cols] (file layout: one row per output feature) kept in GGUF's Q4_1
/// encoding: each row is cols/32 blocks of 20 bytes {f16 d; f16 m; u8 qs[16]}. The forward
/// kernel decodes it on the fly (`gim_linear_forward_q4_1`), reading 5/32 of the bytes of the
/// Float32 matrix: for short prompts the forward is bound by reading the weights, and SmolLM2's
/// 66 MB of Q4_1 projections stay in this machine's L3 cache where the 424 MB of Float32 do not.
public final class Q41Matrix: @unchecked Sendable {
    public static let blockBytes = 20
    public let rows: Int
    public let cols: Int
    /// rows · cols/32 · 20 bytes.
    let bytes: UnsafeMutableRawPointer

    var rowBytes: Int { cols / 32 * Self.blockBytes }
    var byteCount: Int { rows * rowBytes }

    /// An uninitialised matrix; `cols` must be a multiple of 32.
    init(rows: Int, cols: Int) {
        precondition(rows > 0 && cols > 0 && cols % 32 == 0)
        self.rows = rows
        self.cols = cols
        bytes = .allocate(byteCount: rows * (cols / 32 * Self.blockBytes), alignment: 64)
    }

    deinit { bytes.deallocate() }

    /// Copies whole rows of Q4_1 blocks (e.g. one GGUF tensor) in at row `firstRow`.
    func copyRows(from source: UnsafeRawBufferPointer, firstRow: Int) {
        precondition(source.count % rowBytes == 0 && firstRow * rowBytes + source.count <= byteCount)
        (bytes + firstRow * rowBytes).copyMemory(from: source.baseAddress!, byteCount: source.count)
    }
}

/// A block's projections in Q4_1 for the forward (the backward uses `LlamaLayerMatrices`' Wᵀ).
public struct LlamaLayerQ41: Sendable {
    /// [qkvDim, dim] rows of q, then k, then v.
    public let wqkv: Q41Matrix
    /// [dim, heads·headDim].
    public let wo: Q41Matrix
    /// [2·ffnDim, dim] rows of gate, then up.
    public let wGateUp: Q41Matrix
    /// [dim, ffnDim].
    public let wDown: Q41Matrix

    func check(_ c: LlamaConfig, layer i: Int) throws {
        for (m, r, k, name) in [(wqkv, c.qkvDim, c.dim, "q/k/v"), (wo, c.dim, c.attnDim, "attn_output"),
                                (wGateUp, 2 * c.ffnDim, c.dim, "gate/up"), (wDown, c.dim, c.ffnDim, "ffn_down")]
        where m.rows != r || m.cols != k {
            throw ModelError.shapeMismatch("blk.\(i) \(name) Q4_1 copy is \(m.rows)×\(m.cols), expected \(r)×\(k)")
        }
    }
}
