import CKernels
import Foundation

/// Attention of new rows against a KV cache: the incremental form of `forward` that generation
/// uses, so a step costs O(T) instead of a full forward's O(T²).
extension CausalAttention {
    /// `rows` new query rows (q|k|v in `qkv`, `qkvStride` apart) at positions start..<start+rows:
    /// their k and v are first stored in the cache (`keys`, `values`: [capacity, kvHeads·headDim]
    /// row-major, positions < start already filled), then for every head h
    ///   S = q_h · k_gᵀ · scale over the keys each row sees (`keys(position)`: causal, windowed)
    ///   P = softmax(S) (after the soft-cap, when the family has one);  ctx_h = P · v_g
    /// which is what `forward` computes for those rows of the whole sequence. `parallel` false keeps
    /// the heads on the calling thread (when the caller already runs sequences in parallel).
    func forwardCached(qkv: UnsafePointer<Float>, rows n: Int, keys: UnsafeMutablePointer<Float>,
                       values: UnsafeMutablePointer<Float>, start: Int, ctx: UnsafeMutablePointer<Float>,
                       parallel: Bool = true) {
        let hd = headDim, kvDim = kvHeads * hd, ld = qkvStride
        for r in 0..<n {
            (keys + (start + r) * kvDim).update(from: qkv + r * ld + kOffset, count: kvDim)
            (values + (start + r) * kvDim).update(from: qkv + r * ld + vOffset, count: kvDim)
        }
        // The keys the new rows see together: from the window's start for the first row to the last row.
        let first = self.keys(start).lowerBound, w = start + n - first
        // Row r's keys relative to `first`.
        let visible = { (r: Int) -> Range<Int> in
            let k = self.keys(start + r)
            return (k.lowerBound - first)..<(k.upperBound - first)
        }
        Parallel.forEachRange(heads, minimumPerPart: parallel && w * n >= 4096 ? 1 : heads) { hs in
            let s = gim_attention_scratch(n * w)!
            for h in hs {
                let g = h / groupSize
                BLAS.gemm(transB: true, m: n, n: w, k: hd, alpha: scale, a: qkv + h * hd, lda: ld,
                          b: keys + first * kvDim + g * hd, ldb: kvDim, c: s, ldc: w)
                if let softcap {
                    for r in 0..<n {
                        let row = s + r * w
                        for j in visible(r) { row[j] = tanhf(row[j] / softcap) * softcap }
                    }
                }
                Activations.softmaxRows(s, s, rows: n, cols: w, keys: visible)
                BLAS.gemm(m: n, n: hd, k: w, a: s, lda: w, b: values + first * kvDim + g * hd, ldb: kvDim,
                          c: ctx + h * hd, ldc: ctxStride)
            }
        }
    }
}
