// Elementwise passes of the forward and backward that call exp once per element (SiLU and
// softmax). libm's expf is a function call per element and does not vectorize; these use a
// polynomial exp (max relative error ~2 float ulps, checked against expf by the tests) written
// so the compiler vectorizes it, compiled for AVX-512, AVX2 and plain x86-64 and chosen at load
// time (target_clones).
#ifndef GIM_VECTOR_MATH_H
#define GIM_VECTOR_MATH_H

#ifdef __cplusplus
extern "C" {
#endif

/// y[i] = exp(x[i]) for i < n (x clamped to [-87.3, 88.3], where float exp stays normal).
void gim_exp(const float *x, float *y, long n);

/// One row of the SwiGLU product: act[j] = silu(gate[j]) · up[j], silu(g) = g·σ(g), j < f.
void gim_silu_product(const float *gate, const float *up, float *act, long f);

/// The backward of `gim_silu_product` for one row, with GIM's branch scales:
///   dgate[j] = dact[j] · up[j] · silu'(gate[j]) · gate_scale,  silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
///   dup[j]   = dact[j] · silu(gate[j]) · up_scale
void gim_silu_product_backward(const float *gate, const float *up, const float *dact,
                               float *dgate, float *dup, long f, float gate_scale, float up_scale);

/// Softmax of x[0..<n]·scale written to y[0..<n]; y[n..<cols] = 0 (the causal mask). y may be x.
void gim_softmax_row(const float *x, float *y, long n, long cols, float scale);

/// The softmax backward of one row over n entries, in place: dy[j] = s[j] · (dy[j] − Σ_k s[k]·dy[k]).
void gim_softmax_backward_row(const float *s, float *dy, long n);

#ifdef __cplusplus
}
#endif

#endif
