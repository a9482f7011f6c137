// The matrix kernel of the linear layers, y = x·wᵀ with w row-major [out, in], written for
// the shapes GIM meets: few rows (the prompt's tokens) against large weight matrices. The
// engine stores its Llama projections transposed, so this is the backward's dx = dy·W (the
// product a knob change waits for); GPT-2's forward uses it too, and the quantized variant
// below is the Llama forward when the model file is Q4_1 or Q8_0. Measured single-threaded on
// this project's 2-core AVX-512 machine against OpenBLAS 0.3.21 (SkylakeX kernels), on
// SmolLM2's backward shapes: 1.3–1.6x faster at 8 and 32 rows, equal at 128, slower at 1 row
// (callers use OpenBLAS below 4 rows and above 128). A call computes a slice of the output
// columns, so a caller can split the work between threads without the kernel knowing about
// threads.
#ifndef GIM_LINEAR_KERNELS_H
#define GIM_LINEAR_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU runs the AVX-512 kernels below; 0 means callers must use another path
/// (the functions then do nothing).
int gim_kernels_available(void);

/// y[m, n] (+)= Σ_k x[m, k] · w[n, k] for m < rows and n in [n_begin, n_end).
/// x: [rows, in] with row stride ldx; w: [out, in] with row stride in; y: [rows, out] with row
/// stride ldy. accumulate = 0 overwrites y, 1 adds to it.
void gim_linear_forward(const float *x, long ldx, const float *w, float *y, long ldy,
                        long rows, long in, long n_begin, long n_end, int accumulate);

/// Block encodings of w the quantized product decodes (GGUF's layouts, 32 values per block).
enum { GIM_Q4_1 = 1 /* {f16 d; f16 m; u8 qs[16]}: q·d + m, low nibbles are values 0–15 */,
       GIM_Q8_0 = 2 /* {f16 d; i8 qs[32]}: q·d */ };

/// The same product with w kept in a block encoding: each row of w is in/32 blocks. Each tile's
/// rows of w are decoded once into a per-thread buffer, exactly as the Float32 dequantization
/// does (product, then sum; no fused multiply-add), so results equal the Float32 path's up to
/// summation order while reading 5/32 (Q4_1) or 17/64 (Q8_0) of the bytes. `in` must be a
/// multiple of 32; an unknown encoding does nothing.
void gim_linear_forward_quantized(const float *x, long ldx, const void *w, int encoding, float *y, long ldy,
                                  long rows, long in, long n_begin, long n_end, int accumulate);

/// The same product for the encodings `gim_decode_blocks` decodes (ggml type ids; blocks of
/// `block_values` values in `block_bytes` bytes): each tile's rows of w are decoded into a
/// per-thread buffer, then multiplied as in gim_linear_forward. Returns 0 without writing when
/// the kernels are unavailable or the encoding is not one of those.
int gim_linear_forward_blocks(const float *x, long ldx, const void *w, int ggml_type, long block_values,
                              long block_bytes, float *y, long ldy, long rows, long in, long n_begin, long n_end,
                              int accumulate);

/// The backward of the same layer, dx[t, c] (+)= Σ_o dy[t, o] · w[o, c] for t < rows and
/// c in [c_begin, c_end) (whole blocks), w [out, ldx] in a `gim_decode_blocks` encoding; dy rows
/// are lddy apart, dx rows ldx. Decodes each panel of 32 rows × one block into an L1 buffer
/// once, for every token. Returns 0 without writing when the kernels are unavailable, the
/// encoding is not decoded in C, or the columns are not whole blocks.
int gim_linear_backward_blocks(const float *dy, long lddy, const void *w, int ggml_type, long block_values,
                               long block_bytes, float *dx, long ldx, long rows, long out, long c_begin,
                               long c_end, int accumulate);

/// A 64-byte aligned buffer of at least `floats` floats owned by the calling thread, kept and
/// reused by that thread's later calls (the previous contents are not preserved when it grows).
/// For a caller's own per-thread scratch, e.g. weight rows decoded from a block encoding; the
/// kernels above use buffers of their own, so it stays valid across calls to them.
float *gim_thread_scratch(long floats);

/// A second such buffer, for the attention's stripes of scores and probabilities.
float *gim_attention_scratch(long floats);

/// A third, for the keys and values an attention call packs once for all its stripes
/// (`gim_attention_pack_panels`), which the other threads read while each uses its own
/// `gim_attention_scratch`.
float *gim_attention_pack_scratch(long floats);

#ifdef __cplusplus
}
#endif

#endif
