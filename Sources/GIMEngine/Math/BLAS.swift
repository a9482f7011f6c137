import CKernels
import COpenBLAS
import Foundation

/// Row-major single-precision matrix products on OpenBLAS and the engine's AVX-512 kernels
/// (`CKernels/linear_kernels.c`), the large ones split across `Parallel`'s threads. Every
/// matrix is row-major with an explicit leading dimension (the stride between rows), so a
/// head's slice of a wider buffer can be passed without copying.
enum BLAS {
    /// C[m,n] = alpha * op(A) · op(B) + beta * C, where op(A) is [m,k] and op(B) is [k,n].
    /// A is stored [m,k] (or [k,m] when `transA`), B is stored [k,n] (or [n,k] when `transB`).
    @inline(__always)
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The linear layer y[T,out] = x[T,in] · W^T with W stored [out,in] (GGUF's layout).
    /// Parallel: each part computes a slice of the output columns (a slice of W's rows).
    static func linear(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                       rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        if kernelHandles(rows: rows) {
            // Slices of 48 columns: whole tiles of the kernel (12 or 24 rows of W).
            Parallel.forEachRange(outFeatures, alignment: 48, minimumPerPart: minimumColumns(rows, inFeatures)) { cols in
                gim_linear_forward(x, inFeatures, w, y, outFeatures, rows, inFeatures, cols.lowerBound, cols.upperBound,
                                   accumulate ? 1 : 0)
            }
            return
        }
        Parallel.forEachRange(outFeatures, alignment: 16, minimumPerPart: minimumColumns(rows, inFeatures)) { cols in
            gemm(transB: true, m: rows, n: cols.count, k: inFeatures, a: x, lda: inFeatures,
                 b: w + cols.lowerBound * inFeatures, ldb: inFeatures, beta: accumulate ? 1 : 0,
                 c: y + cols.lowerBound, ldc: outFeatures)
        }
    }

    /// The input gradient of a linear layer: dx[T,in] (+)= dy[T,out] · W with W stored [out,in].
    /// Parallel: each part computes a slice of dx's columns (a column slice of W).
    static func linearBackward(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                               rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        Parallel.forEachRange(inFeatures, alignment: 16, minimumPerPart: minimumColumns(rows, outFeatures)) { cols in
            gemm(m: rows, n: cols.count, k: outFeatures, a: dy, lda: outFeatures,
                 b: w + cols.lowerBound, ldb: inFeatures, beta: accumulate ? 1 : 0,
                 c: dx + cols.lowerBound, ldc: inFeatures)
        }
    }

    /// The linear layer with W stored transposed (`wT` = Wᵀ [in, out], see `DecoderLayerMatrices`):
    /// y[T,out] (+)= x[T,in] · Wᵀ, OpenBLAS's plain product, parallel over column slices.
    static func linearTransposed(_ x: UnsafePointer<Float>, _ wT: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                 rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        linearBackward(x, wT, y, rows: rows, inFeatures: outFeatures, outFeatures: inFeatures, accumulate: accumulate)
    }

    /// The input gradient with W stored transposed: dx[T,in] (+)= dy[T,out] · W = dy · (Wᵀ)ᵀ, which
    /// reads Wᵀ's rows along the reduction: the AVX-512 kernel's shape (see `linear`).
    static func linearBackwardTransposed(_ dy: UnsafePointer<Float>, _ wT: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                         rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        linear(dy, wT, dx, rows: rows, inFeatures: outFeatures, outFeatures: inFeatures, accumulate: accumulate)
    }

    /// A Llama projection in the forward: y[T,out] (+)= x[T,in] · Wᵀ, on the quantized kernel when
    /// the model file gave Q4_1/Q8_0 weights and the rows suit the kernel, else on the stored Wᵀ.
    static func project(_ x: UnsafePointer<Float>, wT: FloatBuffer, quantized: QuantizedMatrix?, _ y: UnsafeMutablePointer<Float>,
                        rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        guard let q = quantized, kernelHandles(rows: rows) else {
            linearTransposed(x, wT.pointer, y, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, accumulate: accumulate)
            return
        }
        precondition(q.rows == outFeatures && q.cols == inFeatures)
        Parallel.forEachRange(outFeatures, alignment: 48, minimumPerPart: minimumColumns(rows, inFeatures)) { cols in
            gim_linear_forward_quantized(x, inFeatures, q.bytes, q.encoding.kernelCode, y, outFeatures, rows, inFeatures,
                                         cols.lowerBound, cols.upperBound, accumulate ? 1 : 0)
        }
    }

    /// Whether a product with `rows` rows runs on the AVX-512 kernel (`CKernels/linear_kernels.c`):
    /// from 4 to 128 rows, where it beats or matches OpenBLAS (see its header), when the CPU has
    /// AVX-512 and GIM_LINEAR_KERNEL is not "openblas" (to compare the two). Longer inputs go to
    /// OpenBLAS, whose packed blocking suits them better.
    @inline(__always)
    static func kernelHandles(rows: Int) -> Bool { rows >= 4 && rows <= 128 && useLinearKernel }

    /// y[out] = W[out,in] · x[in]. Parallel over slices of W's rows (a vocabulary-sized head is
    /// ~100 MB of weights, read at memory speed by every thread at once).
    static func matvec(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                       outFeatures: Int, inFeatures: Int) {
        Parallel.forEachRange(outFeatures, alignment: 16, minimumPerPart: minimumColumns(1, inFeatures)) { rows in
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows.count), Int32(inFeatures), 1,
                        w + rows.lowerBound * inFeatures, Int32(inFeatures), x, 1, 0, y + rows.lowerBound, 1)
        }
    }

    static let useLinearKernel: Bool =
        gim_kernels_available() != 0 && (try? EngineEnvironment.linearKernel(ProcessInfo.processInfo.environment)) != "openblas"

    /// Output columns per part below which a product runs on one thread: about 100k
    /// multiply-adds, tens of microseconds, where handing work to another thread stops paying.
    @inline(__always)
    static func minimumColumns(_ rows: Int, _ depth: Int) -> Int { 100_000 / max(1, rows * depth) }
}
