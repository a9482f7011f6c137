import COpenBLAS

/// Row-major single-precision matrix products on OpenBLAS. Every matrix is row-major with an
/// explicit leading dimension (the stride between rows), so a head's slice of a wider buffer
/// can be passed without copying.
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
    @inline(__always)
    static func linear(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                       rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
             b: w, ldb: inFeatures, beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
    }

    /// The input gradient of a linear layer: dx[T,in] (+)= dy[T,out] · W with W stored [out,in].
    @inline(__always)
    static func linearBackward(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                               rows: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        gemm(m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
             b: w, ldb: inFeatures, beta: accumulate ? 1 : 0, c: dx, ldc: inFeatures)
    }

    /// y[out] = W[out,in] · x[in].
    static func matvec(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                       outFeatures: Int, inFeatures: Int) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), 1, w, Int32(inFeatures),
                    x, 1, 0, y, 1)
    }

    /// Number of threads OpenBLAS uses.
    static var threads: Int { Int(openblas_get_num_threads()) }
    static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
