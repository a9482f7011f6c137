// The matrix products of one attention stripe (CausalAttention.swift): a stripe is m stacked
// query rows (a key/value group's heads) against the w keys those rows see, with head dimension
// hd. Its forward and backward need three shapes of product, all with one side as short as the
// head dimension (64 on most models), where OpenBLAS spends a large share of its time packing
// both operands again for every stripe:
//   scores     s[i, j]   = α · Σ_d a[i, d] · key[j, d]     (S = q·kᵀ, dP = dctx·vᵀ)
//   mix        c[i, :]   = α · Σ_j p[i, j] · key[j, :]     (ctx = P·v, dq = dS·k)
//   gather     c[j, :]  += α · Σ_i p[i, j] · x[i, :]       (dv += Pᵀ·dctx, dk += dSᵀ·q)
// The keys are packed once per layer and key/value group (`gim_attention_pack_panels`, for the
// scores) or read in place (the mix), so no stripe copies an operand. Each product sums in a fixed
// order, so the same inputs give the same bits. AVX-512 only; callers check
// gim_kernels_available() (the functions do nothing without it).
#ifndef GIM_ATTENTION_KERNELS_H
#define GIM_ATTENTION_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Floats `gim_attention_pack_panels` writes for `keys` keys of dimension hd: panels of 32 keys.
long gim_attention_panel_floats(long keys, long hd);

/// Packs key rows key[j, 0..<hd] (rows ld floats apart), j < keys, into panels of 32 keys, each
/// [hd][32] (key j at panel j/32, lane j%32; lanes past `keys` are zero).
void gim_attention_pack_panels(const float *key, long ld, long keys, long hd, float *panels);

/// s[i·lds + j − first] = α · Σ_d a[i·hd + d] · key[j, d] for i < m, first ≤ j < first + count,
/// the keys read from `panels` (gim_attention_pack_panels of keys from 0).
void gim_attention_scores(const float *a, long m, long hd, const float *panels, long first, long count, float alpha,
                          float *s, long lds);

/// c[i·ldc + 0..<hd] = α · Σ_{j < w} p[i·ldp + j] · key[j·ldk + 0..<hd] for i < m.
void gim_attention_mix(const float *p, long ldp, long m, long w, const float *key, long ldk, long hd, float alpha,
                       float *c, long ldc);

/// c[j·hd + 0..<hd] += α · Σ_{i < m} p[i·ldp + j] · x[i·hd + 0..<hd] for j < w.
void gim_attention_gather(const float *p, long ldp, long m, long w, const float *x, long hd, float alpha, float *c);

#ifdef __cplusplus
}
#endif

#endif
