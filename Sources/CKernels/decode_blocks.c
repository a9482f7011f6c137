// Block decoders; see decode_blocks.h. Layouts are GGUF's (ggml-common.h): little-endian,
// packed, f16 scales. Each loop mirrors Dequantize.swift's arithmetic exactly (product, then
// sum or difference, in the same order) with contraction off, so the results are bit-identical.
#include "decode_blocks.h"

#include <stdint.h>
#include <string.h>

#pragma clang fp contract(off)

#include "target_clones.h"  // CLONES; none under a sanitizer (see there)

// IEEE half to float, exact (subnormals and infinities included).
static inline float half(const unsigned char *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3FF) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// The 6-bit scale and min of sub-block j (0..7) of the 12 packed bytes of a Q4_K/Q5_K block.
static inline void scale_min_k4(int j, const unsigned char *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

CLONES static void f16_blocks(const unsigned char *s, long n, float *y) {
    for (long i = 0; i < n; i++) y[i] = half(s + 2 * i);
}

CLONES static void bf16_blocks(const unsigned char *s, long n, float *y) {
    for (long i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, 2);
        uint32_t bits = (uint32_t)h << 16;
        memcpy(y + i, &bits, 4);
    }
}

CLONES static void q8_0_blocks(const unsigned char *s, long blocks, float *y) {
    for (long b = 0; b < blocks; b++) {
        const unsigned char *p = s + b * 34;
        const float d = half(p);
        const int8_t *q = (const int8_t *)(p + 2);
        float *o = y + b * 32;
        for (int j = 0; j < 32; j++) o[j] = (float)q[j] * d;
    }
}

CLONES static void q4_0_blocks(const unsigned char *s, long blocks, float *y) {
    for (long b = 0; b < blocks; b++) {
        const unsigned char *p = s + b * 18;
        const float d = half(p);
        float *o = y + b * 32;
        for (int j = 0; j < 16; j++) {
            o[j] = (float)((int)(p[2 + j] & 0x0F) - 8) * d;
            o[j + 16] = (float)((int)(p[2 + j] >> 4) - 8) * d;
        }
    }
}

CLONES static void q5_0_blocks(const unsigned char *s, long blocks, float *y) {
    for (long b = 0; b < blocks; b++) {
        const unsigned char *p = s + b * 22;
        const float d = half(p);
        uint32_t qh;
        memcpy(&qh, p + 2, 4);
        float *o = y + b * 32;
        for (int j = 0; j < 16; j++) {
            int lo = (p[6 + j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int hi = (p[6 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            o[j] = (float)(lo - 16) * d;
            o[j + 16] = (float)(hi - 16) * d;
        }
    }
}

CLONES static void q4_k_blocks(const unsigned char *s, long blocks, float *y) {
    for (long b = 0; b < blocks; b++) {
        const unsigned char *p = s + b * 144;
        const float d = half(p), dmin = half(p + 2);
        const unsigned char *sc = p + 4, *qs = p + 16;
        float *out = y + b * 256;
        for (int g = 0; g < 4; g++) {
            int s1, m1, s2, m2;
            scale_min_k4(2 * g, sc, &s1, &m1);
            scale_min_k4(2 * g + 1, sc, &s2, &m2);
            const float d1 = d * (float)s1, o1 = dmin * (float)m1;
            const float d2 = d * (float)s2, o2 = dmin * (float)m2;
            const unsigned char *q = qs + 32 * g;
            float *o = out + 64 * g;
            for (int l = 0; l < 32; l++) {
                o[l] = d1 * (float)(q[l] & 0x0F) - o1;
                o[l + 32] = d2 * (float)(q[l] >> 4) - o2;
            }
        }
    }
}

CLONES static void q5_k_blocks(const unsigned char *s, long blocks, float *y) {
    for (long b = 0; b < blocks; b++) {
        const unsigned char *p = s + b * 176;
        const float d = half(p), dmin = half(p + 2);
        const unsigned char *sc = p + 4, *qh = p + 16, *qs = p + 48;
        float *out = y + b * 256;
        for (int g = 0; g < 4; g++) {
            int s1, m1, s2, m2;
            scale_min_k4(2 * g, sc, &s1, &m1);
            scale_min_k4(2 * g + 1, sc, &s2, &m2);
            const float d1 = d * (float)s1, o1 = dmin * (float)m1;
            const float d2 = d * (float)s2, o2 = dmin * (float)m2;
            const int b1 = 2 * g, b2 = 2 * g + 1;
            const unsigned char *q = qs + 32 * g;
            float *o = out + 64 * g;
            for (int l = 0; l < 32; l++) {
                o[l] = d1 * (float)((q[l] & 0x0F) | ((qh[l] >> b1) & 1) << 4) - o1;
                o[l + 32] = d2 * (float)((q[l] >> 4) | ((qh[l] >> b2) & 1) << 4) - o2;
            }
        }
    }
}

CLONES static void q6_k_blocks(const unsigned char *s, long blocks, float *y) {
    for (long b = 0; b < blocks; b++) {
        const unsigned char *p = s + b * 210;
        const float d = half(p + 208);
        float *out = y + b * 256;
        for (int h = 0; h < 2; h++) {
            const unsigned char *ql = p + 64 * h, *qh = p + 128 + 32 * h;
            const int8_t *sc = (const int8_t *)(p + 192 + 8 * h);
            float *o = out + 128 * h;
            // Per 16 values one scale: the product scale·d first, as Dequantize.swift does.
            float s[8];
            for (int k = 0; k < 8; k++) s[k] = (float)sc[k] * d;
            for (int l = 0; l < 32; l++) {
                const int g = l / 16;
                const int q1 = (int)((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32;
                const int q2 = (int)((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
                const int q3 = (int)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                o[l] = s[g] * (float)q1;
                o[l + 32] = s[g + 2] * (float)q2;
                o[l + 64] = s[g + 4] * (float)q3;
                o[l + 96] = s[g + 6] * (float)q4;
            }
        }
    }
}

int gim_decode_blocks(int type, const void *src, long blocks, float *dst) {
    const unsigned char *s = (const unsigned char *)src;
    switch (type) {
    case 0: memcpy(dst, s, (size_t)blocks * 4); return 1;
    case 1: f16_blocks(s, blocks, dst); return 1;
    case 30: bf16_blocks(s, blocks, dst); return 1;
    case 8: q8_0_blocks(s, blocks, dst); return 1;
    case 2: q4_0_blocks(s, blocks, dst); return 1;
    case 6: q5_0_blocks(s, blocks, dst); return 1;
    case 12: q4_k_blocks(s, blocks, dst); return 1;
    case 13: q5_k_blocks(s, blocks, dst); return 1;
    case 14: q6_k_blocks(s, blocks, dst); return 1;
    default: return 0;
    }
}
