import CKernels
import COpenBLAS
import Foundation

/// A weight matrix W [rows, cols], row-major with one row per output feature (y = W x), as a
/// model file stores it: Float32 in memory, or blocks of a GGUF encoding read straight from the
/// mapped file (no copy: memory follows the file). Both products a linear layer needs work on
/// either storage:
///   forward   y[T, rows] (+)= x[T, cols] · Wᵀ
///   backward  dx[T, cols] (+)= dy[T, rows] · W
/// Blocks are decoded panel by panel into a per-thread scratch (`gim_thread_scratch`), exactly
/// as `Dequantize` decodes them, so both storages give the same numbers up to summation order.
/// Immutable after init; the bytes it reads are never written, so it is safe to share.
public final class WeightMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    public let storage: Storage
    /// Keeps the memory `storage` points into alive (the mapped file).
    private let owner: (any AnyObject & Sendable)?

    /// `@unchecked Sendable`: `.blocks` points into memory that `owner` keeps alive and nobody
    /// writes (a read-only file map); `.float32` is a `FloatBuffer`, written only while loading.
    public enum Storage: @unchecked Sendable {
        /// [rows, cols] Float32.
        case float32(FloatBuffer)
        /// rows · (cols / blockSize) blocks of `type`, row after row.
        case blocks(GGMLType, UnsafeRawPointer)
    }

    public init(float32 buffer: FloatBuffer, rows: Int, cols: Int) {
        precondition(buffer.count >= rows * cols)
        self.rows = rows
        self.cols = cols
        storage = .float32(buffer)
        owner = nil
    }

    /// `bytes` holds rows · cols values of `type` (cols a multiple of its block size), and stays
    /// valid while `owner` lives.
    public init(blocks type: GGMLType, bytes: UnsafeRawPointer, rows: Int, cols: Int, owner: any AnyObject & Sendable) {
        precondition(type.canDequantize && cols % type.blockSize == 0)
        self.rows = rows
        self.cols = cols
        storage = .blocks(type, bytes)
        self.owner = owner
    }

    /// Bytes of one row in the storage.
    public var rowBytes: Int {
        switch storage {
        case .float32: return cols * 4
        case .blocks(let t, _): return cols / t.blockSize * t.typeSize
        }
    }

    /// Bytes the matrix occupies (file bytes for blocks).
    public var byteCount: Int { rows * rowBytes }

    /// The encoding's name ("F32" for Float32 storage), for reports.
    public var encodingName: String {
        switch storage {
        case .float32: return "F32"
        case .blocks(let t, _): return t.name
        }
    }

    /// The granularity of column ranges `decode` accepts.
    var columnAlignment: Int {
        switch storage {
        case .float32: return 1
        case .blocks(let t, _): return t.blockSize
        }
    }

    /// W[r0 ..< r0+count, columns] as Float32 into dst [count, columns.count]; the column range's
    /// ends are multiples of `columnAlignment` (or `cols`).
    func decode(rows r0: Int, count: Int, columns: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let width = columns.count
        switch storage {
        case .float32(let b):
            for r in 0..<count {
                (dst + r * width).update(from: b.pointer + (r0 + r) * cols + columns.lowerBound, count: width)
            }
        case .blocks(let t, let bytes):
            let rb = rowBytes, first = columns.lowerBound / t.blockSize * t.typeSize
            let n = width / t.blockSize * t.typeSize
            let blocks = width / t.blockSize
            for r in 0..<count {
                let src = bytes + (r0 + r) * rb + first
                // The vectorized C decoders for the common encodings, Dequantize for the rest
                // (the same bits either way).
                if gim_decode_blocks(Int32(t.rawValue), src, blocks, dst + r * width) == 0 {
                    Dequantize.run(t, from: UnsafeRawBufferPointer(start: src, count: n),
                                   into: UnsafeMutableBufferPointer(start: dst + r * width, count: width))
                }
            }
        }
    }

    /// Row `r` decoded. [cols]
    public func row(_ r: Int) -> [Float] {
        precondition(r >= 0 && r < rows)
        return [Float](unsafeUninitializedCapacity: cols) { out, n in
            decode(rows: r, count: 1, columns: 0..<cols, into: out.baseAddress!)
            n = cols
        }
    }

    /// Row `r` decoded into dst [cols].
    func copyRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows)
        decode(rows: r, count: 1, columns: 0..<cols, into: dst)
    }

    /// The whole matrix as Float32 [rows, cols] (export and tests).
    public func float32() -> FloatBuffer {
        if case .float32(let b) = storage, b.count == rows * cols { return b }
        let out = FloatBuffer(count: rows * cols)
        Parallel.forEachRange(rows, minimumPerPart: 16) { range in
            decode(rows: range.lowerBound, count: range.count, columns: 0..<cols, into: out.pointer + range.lowerBound * cols)
        }
        return out
    }

    // MARK: products

    /// Rows of W decoded per panel: enough to keep a kernel busy, small enough to stay in L2.
    private var panelRows: Int { max(16, min(128, (256 << 10) / max(1, 4 * cols)) / 16 * 16) }

    /// y[t, n] (+)= Σ_k x[t, k] · W[n, k] for t < tokens, n < rows; x rows are `cols` apart, y rows `ldy`.
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, tokens t: Int, ldy: Int,
                 accumulate: Bool) {
        switch storage {
        case .float32(let b):
            Self.product(x, ldx: cols, b.pointer, y, ldy: ldy, tokens: t, depth: cols, columns: 0..<rows, accumulate: accumulate)
        case .blocks(let type, let bytes):
            if let code = QuantizedMatrix.Encoding(type)?.kernelCode, BLAS.kernelHandles(rows: t) {
                // Q4_1 / Q8_0: the kernel decodes tiles of rows itself, straight from the file.
                Parallel.forEachRange(rows, alignment: 48, minimumPerPart: BLAS.minimumColumns(t, cols)) { range in
                    gim_linear_forward_quantized(x, cols, bytes, code, y, ldy, t, cols, range.lowerBound, range.upperBound,
                                                 accumulate ? 1 : 0)
                }
                return
            }
            if BLAS.kernelHandles(rows: t), gim_decode_blocks(Int32(type.rawValue), bytes, 0, y) == 1 {
                // Encodings with a C decoder: the kernel decodes each tile's rows (12–24) into a
                // buffer that stays in L1, straight from the file.
                Parallel.forEachRange(rows, alignment: 48, minimumPerPart: BLAS.minimumColumns(t, cols)) { range in
                    _ = gim_linear_forward_blocks(x, cols, bytes, Int32(type.rawValue), type.blockSize, type.typeSize, y, ldy, t,
                                                  cols, range.lowerBound, range.upperBound, accumulate ? 1 : 0)
                }
                return
            }
            let panel = panelRows
            Parallel.forEachRange(rows, alignment: panel, minimumPerPart: BLAS.minimumColumns(t, cols)) { range in
                let scratch = gim_thread_scratch(panel * cols)!
                var n0 = range.lowerBound
                while n0 < range.upperBound {
                    let n = min(panel, range.upperBound - n0)
                    decode(rows: n0, count: n, columns: 0..<cols, into: scratch)
                    Self.product(x, ldx: cols, scratch, y + n0, ldy: ldy, tokens: t, depth: cols,
                                 columns: 0..<n, accumulate: accumulate, serial: true)
                    n0 += n
                }
            }
        }
    }

    /// dx[t, k] (+)= Σ_n dy[t, n] · W[n, k] for t < tokens; dy rows are `lddy` apart, dx rows `cols`.
    func backward(_ dy: UnsafePointer<Float>, lddy: Int, _ dx: UnsafeMutablePointer<Float>, tokens t: Int,
                  accumulate: Bool) {
        switch storage {
        case .float32(let b):
            // Column slices of dx (and W) per part: dx[:, c] = dy · W[:, c].
            Parallel.forEachRange(cols, alignment: 16, minimumPerPart: BLAS.minimumColumns(t, rows)) { c in
                BLAS.gemm(m: t, n: c.count, k: rows, a: dy, lda: lddy, b: b.pointer + c.lowerBound, ldb: cols,
                          beta: accumulate ? 1 : 0, c: dx + c.lowerBound, ldc: cols)
            }
        case .blocks(let type, let bytes):
            let align = columnAlignment
            if BLAS.kernelHandles(rows: t), type.blockSize % 16 == 0, gim_decode_blocks(Int32(type.rawValue), bytes, 0, dx) == 1 {
                // The outer-product kernel: each panel of W decoded once into L1, for all tokens.
                Parallel.forEachRange(cols, alignment: align, minimumPerPart: max(align, BLAS.minimumColumns(t, rows))) { c in
                    _ = gim_linear_backward_blocks(dy, lddy, bytes, Int32(type.rawValue), type.blockSize, type.typeSize, dx, cols,
                                                   t, rows, c.lowerBound, c.upperBound, accumulate ? 1 : 0)
                }
                return
            }
            // Each part owns a slice of dx's columns (whole blocks) and walks W's rows panel by
            // panel: dx[:, c] (+)= dy[:, panel] · W[panel, c]. No reduction across threads.
            let panel = 256
            Parallel.forEachRange(cols, alignment: align, minimumPerPart: max(align, BLAS.minimumColumns(t, rows))) { c in
                let scratch = gim_thread_scratch(panel * c.count)!
                var n0 = 0
                while n0 < rows {
                    let n = min(panel, rows - n0)
                    decode(rows: n0, count: n, columns: c, into: scratch)
                    BLAS.gemm(m: t, n: c.count, k: n, a: dy + n0, lda: lddy, b: scratch, ldb: c.count,
                              beta: accumulate || n0 > 0 ? 1 : 0, c: dx + c.lowerBound, ldc: cols)
                    n0 += n
                }
            }
        }
    }

    /// y[:, columns] (+)= x · w[columns]ᵀ with w row-major [·, depth] (row n at w + n·depth), on the
    /// AVX-512 kernel for 4–128 tokens, else OpenBLAS; parallel over column slices unless `serial`.
    private static func product(_ x: UnsafePointer<Float>, ldx: Int, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                ldy: Int, tokens t: Int, depth: Int, columns: Range<Int>, accumulate: Bool,
                                serial: Bool = false) {
        func run(_ c: Range<Int>) {
            if BLAS.kernelHandles(rows: t) {
                gim_linear_forward(x, ldx, w, y, ldy, t, depth, c.lowerBound, c.upperBound, accumulate ? 1 : 0)
            } else if t == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(c.count), Int32(depth), 1, w + c.lowerBound * depth,
                            Int32(depth), x, 1, accumulate ? 1 : 0, y + c.lowerBound, 1)
            } else {
                BLAS.gemm(transB: true, m: t, n: c.count, k: depth, a: x, lda: ldx, b: w + c.lowerBound * depth, ldb: depth,
                          beta: accumulate ? 1 : 0, c: y + c.lowerBound, ldc: ldy)
            }
        }
        if serial { return run(columns) }
        Parallel.forEachRange(columns.count, alignment: 48, minimumPerPart: BLAS.minimumColumns(t, depth)) { r in
            run((columns.lowerBound + r.lowerBound)..<(columns.lowerBound + r.upperBound))
        }
    }
}
