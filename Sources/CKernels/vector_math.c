// Vectorizable exp, SiLU and softmax; see vector_math.h.
#include "vector_math.h"

#include <stdint.h>
#include <string.h>

#include "target_clones.h"

// exp(x) = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 (|r| ≤ ln2/2, ln 2 split in two
// parts so r is exact to float precision), e^r by its Taylor polynomial to degree 6 (truncation
// error < 2e-8 relative on that interval), 2^n built in the exponent bits.
static inline __attribute__((always_inline)) float exp_poly(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    float n = __builtin_rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693145751953125f;     // ln 2, high part (exact in n·hi)
    r = r - n * 1.42860682030941723212e-6f;   // ln 2, low part
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

CLONES void gim_exp(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = exp_poly(x[i]);
}

CLONES void gim_silu_product(const float *restrict gate, const float *restrict up, float *restrict act, long f) {
    for (long j = 0; j < f; j++) {
        float g = gate[j];
        float sig = 1.0f / (1.0f + exp_poly(-g));
        act[j] = g * sig * up[j];
    }
}

CLONES void gim_silu_product_backward(const float *restrict gate, const float *restrict up, const float *restrict dact,
                                      float *restrict dgate, float *restrict dup, long f, float gate_scale,
                                      float up_scale) {
    for (long j = 0; j < f; j++) {
        float g = gate[j], u = up[j], da = dact[j];
        float sig = 1.0f / (1.0f + exp_poly(-g));
        dgate[j] = da * u * gate_scale * (sig * (1.0f + g * (1.0f - sig)));
        dup[j] = da * (g * sig) * up_scale;
    }
}

// The max and the sum are taken in 16 interleaved lanes so they vectorize without reassociating
// a single running sum (which the compiler may not do on its own).
CLONES void gim_softmax_row(const float *x, float *y, long n, long cols, float scale) {
    float lanes[16];
    for (int k = 0; k < 16; k++) lanes[k] = -__builtin_inff();
    long j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) {
            float v = x[j + k] * scale;
            lanes[k] = v > lanes[k] ? v : lanes[k];
        }
    float mx = -__builtin_inff();
    for (; j < n; j++) mx = x[j] * scale > mx ? x[j] * scale : mx;
    for (int k = 0; k < 16; k++) mx = lanes[k] > mx ? lanes[k] : mx;

    for (j = 0; j < n; j++) y[j] = exp_poly(x[j] * scale - mx);

    for (int k = 0; k < 16; k++) lanes[k] = 0;
    for (j = 0; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) lanes[k] += y[j + k];
    float sum = 0;
    for (; j < n; j++) sum += y[j];
    for (int k = 0; k < 16; k++) sum += lanes[k];

    float inv = 1.0f / sum;
    for (j = 0; j < n; j++) y[j] *= inv;
    for (j = n; j < cols; j++) y[j] = 0;
}

// The dot product is taken in 16 interleaved lanes, as in gim_softmax_row.
CLONES void gim_softmax_backward_row(const float *s, float *dy, long n) {
    float lanes[16];
    for (int k = 0; k < 16; k++) lanes[k] = 0;
    long j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) lanes[k] += s[j + k] * dy[j + k];
    float dot = 0;
    for (; j < n; j++) dot += s[j] * dy[j];
    for (int k = 0; k < 16; k++) dot += lanes[k];
    for (j = 0; j < n; j++) dy[j] = s[j] * (dy[j] - dot);
}
