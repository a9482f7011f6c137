// The products of one attention stripe; see attention_kernels.h for what each computes.
//
// Every kernel keeps a tile of the output in 24 of the 32 zmm registers and walks the reduction
// once, a broadcast scalar of one operand times vectors of the other per step:
//   scores  12 query rows × 32 keys: per head dimension d, 2 vector loads of a key panel (32 keys
//           at d, contiguous once packed) and 12 broadcasts of a[i, d];
//   mix      6 rows × 64 head columns: per key j, 4 vector loads of key row j (contiguous in the
//           q|k|v buffer, so read in place) and 6 broadcasts of p[i, j]; keys in chunks of 256 so
//           the chunk's key rows stay in L2 while every row tile passes over them;
//   gather   6 keys × 64 head columns: per row i, 4 vector loads of x[i] (the stacked query rows
//           or output gradients, [m, hd], L1/L2 resident) and 6 broadcasts of p[i, j..].
// Head dimensions above 64 run in column chunks of 64, and a last partial vector is masked, so
// any hd works. Each output sums its terms in one fixed order.
#include "attention_kernels.h"
#include "linear_kernels.h"

#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,fma")))
#define INLINE static inline __attribute__((always_inline))

enum { PANEL = 32, SCORE_ROWS = 12, MIX_ROWS = 6, MIX_CHUNK = 256, GATHER_KEYS = 6, COLUMNS = 64 };

long gim_attention_panel_floats(long keys, long hd) { return (keys + PANEL - 1) / PANEL * PANEL * hd; }

void gim_attention_pack_panels(const float *key, long ld, long keys, long hd, float *panels) {
    for (long p = 0; p * PANEL < keys; p++) {
        float *dst = panels + p * hd * PANEL;
        const long j0 = p * PANEL, n = keys - j0 < PANEL ? keys - j0 : PANEL;
        for (long d = 0; d < hd; d++) {
            float *line = dst + d * PANEL;
            for (long j = 0; j < n; j++) line[j] = key[(j0 + j) * ld + d];
            for (long j = n; j < PANEL; j++) line[j] = 0;
        }
    }
}

// MARK: scores

// s[r, lanes] = α · Σ_d a[r, d] · panel[d, lanes] for r < R; lanes 0–15 stored under m0, 16–31 under m1.
INLINE AVX512 void scores_tile(const float *a, long hd, const float *panel, const int R, __m512 alpha, float *s,
                               long lds, __mmask16 m0, __mmask16 m1) {
    __m512 acc[SCORE_ROWS][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long d = 0; d < hd; d++) {
        const __m512 k0 = _mm512_loadu_ps(panel + d * PANEL), k1 = _mm512_loadu_ps(panel + d * PANEL + 16);
        for (int r = 0; r < R; r++) {
            const __m512 q = _mm512_set1_ps(a[r * hd + d]);
            acc[r][0] = _mm512_fmadd_ps(q, k0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(q, k1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(s + r * lds, m0, _mm512_mul_ps(acc[r][0], alpha));
        _mm512_mask_storeu_ps(s + r * lds + 16, m1, _mm512_mul_ps(acc[r][1], alpha));
    }
}

AVX512 void gim_attention_scores(const float *a, long m, long hd, const float *panels, long first, long count,
                                 float alpha, float *s, long lds) {
    if (!gim_kernels_available() || m <= 0 || count <= 0) return;
    const __m512 al = _mm512_set1_ps(alpha);
    const long end = first + count;
    for (long p = first / PANEL; p * PANEL < end; p++) {
        const long p0 = p * PANEL;
        const long lo = first > p0 ? first - p0 : 0, hi = end < p0 + PANEL ? end - p0 : PANEL;
        const unsigned long long lanes = ((1ull << hi) - 1) & ~((1ull << lo) - 1);
        const __mmask16 m0 = (__mmask16)(lanes & 0xFFFF), m1 = (__mmask16)(lanes >> 16);
        const float *panel = panels + p * hd * PANEL;
        // Column p0 − first of s (before the row's start for a first panel begun mid-way: those
        // lanes are masked off, and a masked-off lane is neither read nor written).
        float *out = s + (p0 - first);
        for (long i = 0; i < m; i += SCORE_ROWS) {
            const long rows = m - i < SCORE_ROWS ? m - i : SCORE_ROWS;
            const float *ai = a + i * hd;
            float *si = out + i * lds;
            switch (rows) {
#define CASE(R) case R: scores_tile(ai, hd, panel, R, al, si, lds, m0, m1); break;
                CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
#undef CASE
            }
        }
    }
}

// MARK: column chunks (mix and gather)

// The lanes of the first n floats of a vector (n ≥ 16: all).
INLINE __mmask16 first_lanes(long n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// The head columns [c0, c0 + 64) ∩ [0, hd) as nv vectors, the last one under `last`.
typedef struct { int nv; __mmask16 last; } Columns;
INLINE Columns columns_at(long c0, long hd) {
    const long cols = hd - c0 < COLUMNS ? hd - c0 : COLUMNS;
    const int nv = (int)((cols + 15) / 16);
    return (Columns){nv, first_lanes(cols - 16 * (nv - 1))};
}

INLINE __mmask16 lane_mask(int v, int nv, __mmask16 last) { return v == nv - 1 ? last : (__mmask16)0xFFFF; }

// MARK: mix

// c[r, 0..<16·nv] (=|+=) Σ_{j0 ≤ j < j1} p[r, j] · key[j, 0..<16·nv] for r < R (last vector under `last`),
// times α when `final` (the sum is complete).
INLINE AVX512 void mix_tile(const float *p, long ldp, long j0, long j1, const float *key, long ldk, float *c,
                            long ldc, const int R, const int nv, __mmask16 last, int resume, int final, __m512 alpha) {
    __m512 acc[MIX_ROWS][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = resume ? _mm512_maskz_loadu_ps(lane_mask(v, nv, last), c + r * ldc + 16 * v) : _mm512_setzero_ps();
    for (long j = j0; j < j1; j++) {
        const float *kr = key + j * ldk;
        __m512 kv[4];
        for (int v = 0; v < nv; v++) kv[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, last), kr + 16 * v);
        for (int r = 0; r < R; r++) {
            const __m512 b = _mm512_set1_ps(p[r * ldp + j]);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(b, kv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(c + r * ldc + 16 * v, lane_mask(v, nv, last),
                                  final ? _mm512_mul_ps(acc[r][v], alpha) : acc[r][v]);
}

AVX512 void gim_attention_mix(const float *p, long ldp, long m, long w, const float *key, long ldk, long hd,
                              float alpha, float *c, long ldc) {
    if (!gim_kernels_available() || m <= 0) return;
    if (w <= 0) {
        for (long i = 0; i < m; i++)
            for (long d = 0; d < hd; d++) c[i * ldc + d] = 0;
        return;
    }
    const __m512 al = _mm512_set1_ps(alpha);
    for (long j0 = 0; j0 < w; j0 += MIX_CHUNK) {
        const long j1 = w - j0 < MIX_CHUNK ? w : j0 + MIX_CHUNK;
        const int resume = j0 > 0, final = j1 == w;
        for (long i = 0; i < m; i += MIX_ROWS) {
            const long rows = m - i < MIX_ROWS ? m - i : MIX_ROWS;
            for (long c0 = 0; c0 < hd; c0 += COLUMNS) {
                const Columns cc = columns_at(c0, hd);
                const float *pi = p + i * ldp, *kc = key + c0;
                float *ci = c + i * ldc + c0;
#define TILE(R, NV) mix_tile(pi, ldp, j0, j1, kc, ldk, ci, ldc, R, NV, cc.last, resume, final, al)
#define ROWS(R) case R: switch (cc.nv) { case 1: TILE(R, 1); break; case 2: TILE(R, 2); break; \
                                         case 3: TILE(R, 3); break; default: TILE(R, 4); break; } break;
                switch (rows) { ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) }
#undef ROWS
#undef TILE
            }
        }
    }
}

// MARK: gather

// c[k, 0..<16·nv] += α · Σ_{i < m} p[i, k] · x[i, 0..<16·nv] for k < K (rows of c and x hd apart).
INLINE AVX512 void gather_tile(const float *p, long ldp, long m, const float *x, long hd, float *c, const int K,
                               const int nv, __mmask16 last, __m512 alpha) {
    __m512 acc[GATHER_KEYS][4];
    for (int k = 0; k < K; k++)
        for (int v = 0; v < nv; v++) acc[k][v] = _mm512_setzero_ps();
    for (long i = 0; i < m; i++) {
        const float *xr = x + i * hd, *pr = p + i * ldp;
        __m512 xv[4];
        for (int v = 0; v < nv; v++) xv[v] = _mm512_maskz_loadu_ps(lane_mask(v, nv, last), xr + 16 * v);
        for (int k = 0; k < K; k++) {
            const __m512 b = _mm512_set1_ps(pr[k]);
            for (int v = 0; v < nv; v++) acc[k][v] = _mm512_fmadd_ps(b, xv[v], acc[k][v]);
        }
    }
    for (int k = 0; k < K; k++)
        for (int v = 0; v < nv; v++) {
            const __mmask16 mk = lane_mask(v, nv, last);
            float *q = c + k * hd + 16 * v;
            _mm512_mask_storeu_ps(q, mk, _mm512_fmadd_ps(acc[k][v], alpha, _mm512_maskz_loadu_ps(mk, q)));
        }
}

AVX512 void gim_attention_gather(const float *p, long ldp, long m, long w, const float *x, long hd, float alpha,
                                 float *c) {
    if (!gim_kernels_available() || m <= 0 || w <= 0) return;
    const __m512 al = _mm512_set1_ps(alpha);
    for (long j = 0; j < w; j += GATHER_KEYS) {
        const long keys = w - j < GATHER_KEYS ? w - j : GATHER_KEYS;
        for (long c0 = 0; c0 < hd; c0 += COLUMNS) {
            const Columns cc = columns_at(c0, hd);
            const float *pj = p + j, *xc = x + c0;
            float *cj = c + j * hd + c0;
#define TILE(K, NV) gather_tile(pj, ldp, m, xc, hd, cj, K, NV, cc.last, al)
#define KEYS(K) case K: switch (cc.nv) { case 1: TILE(K, 1); break; case 2: TILE(K, 2); break; \
                                         case 3: TILE(K, 3); break; default: TILE(K, 4); break; } break;
            switch (keys) { KEYS(1) KEYS(2) KEYS(3) KEYS(4) KEYS(5) KEYS(6) }
#undef KEYS
#undef TILE
        }
    }
}
