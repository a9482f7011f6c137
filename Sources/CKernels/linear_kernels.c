// The AVX-512 kernel for y = x·wᵀ with w row-major [out, in]; see linear_kernels.h.
//
// The activations (x, rows × in floats, small next to w) are first transposed into
// at [in][Mp] (Mp = rows rounded up to 16, zero padded) so 16 rows are one vector; the weights
// are read in place (no packed copy of w) and broadcast one scalar at a time:
//   y[m, n] (+)= Σ_k w[n·in + k] · at[k, m]
// A tile is NR rows of w by MV vectors (16·MV rows of x) in 24 of the 32 zmm registers: per
// step k, MV vector loads of at and NR broadcasts of w feed NR·MV fused multiply-adds, and no
// lane sums are needed at the end; the NR rows of w are NR sequential streams.
//
// The engine keeps its Llama projections transposed (Wᵀ, see LlamaLayerMatrices.swift) so
// the backward's dx = dy·W is this product with w = Wᵀ. (Computing dy·W on the file layout
// instead means reading w down its columns; straight or through a packed panel with software
// prefetch, that measured 0.8–1.1x OpenBLAS: the reads of w no longer overlap the arithmetic
// as these row streams do.)
// Compiled for AVX-512 only (target attribute) and chosen at run time, so the library still
// loads on CPUs without it; callers check gim_kernels_available().
#include "linear_kernels.h"
#include "decode_blocks.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

int gim_kernels_available(void) {
    static int available = -1;  // decided once; a benign race writes the same value
    if (available < 0) {
        __builtin_cpu_init();
        available = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") ? 1 : 0;
    }
    return available;
}

// MARK: tiles

enum { MAX_NR = 24, MAX_MV = 2 };

// How a tile writes y: STORE y = Σ, ADD y += Σ, RESUME the sums continue from y (a later chunk of
// the reduction: the same sequence of fused multiply-adds as one pass over the whole depth, so
// splitting the depth into chunks does not change a bit).
enum { TILE_STORE = 0, TILE_ADD = 1, TILE_RESUME = 2 };

// y[m, n] (+)= Σ_{k < depth} w[n·ldw + k] · at[k, m] for n < nr and m < mr (the tile's valid
// rows; at holds 16·mv columns). nr, mv are constants after inlining, so acc lives in registers.
INLINE AVX512 void tile(const float *at, long mp, const float *w, long ldw, long depth, float *y, long ldy,
                        const int nr, const int mv, int mr, int mode) {
    __m512 acc[MAX_NR][MAX_MV];
    float t[MAX_NR][16 * MAX_MV];
    if (mode == TILE_RESUME) {
        for (int i = 0; i < nr; i++)
            for (int m = 0; m < 16 * mv; m++) t[i][m] = m < mr ? y[m * ldy + i] : 0;
        for (int i = 0; i < nr; i++)
            for (int v = 0; v < mv; v++) acc[i][v] = _mm512_loadu_ps(&t[i][16 * v]);
    } else {
        for (int i = 0; i < nr; i++)
            for (int v = 0; v < mv; v++) acc[i][v] = _mm512_setzero_ps();
    }
    for (long k = 0; k < depth; k++) {
        __m512 av[MAX_MV];
        for (int v = 0; v < mv; v++) av[v] = _mm512_loadu_ps(at + k * mp + 16 * v);
        for (int i = 0; i < nr; i++) {
            __m512 wv = _mm512_set1_ps(w[i * ldw + k]);
            for (int v = 0; v < mv; v++) acc[i][v] = _mm512_fmadd_ps(wv, av[v], acc[i][v]);
        }
    }
    for (int i = 0; i < nr; i++)
        for (int v = 0; v < mv; v++) _mm512_storeu_ps(&t[i][16 * v], acc[i][v]);
    for (int m = 0; m < mr; m++) {
        float *row = y + m * ldy;
        for (int i = 0; i < nr; i++) row[i] = mode == TILE_ADD ? row[i] + t[i][m] : t[i][m];
    }
}

// Tile height (rows of w per tile): 24 × 1 vector when x has at most 16 rows, else 12 × 2.
static inline long tile_height(long mp) { return mp > 16 ? 12 : 24; }

// `count` rows of w (ldw apart, `depth` long) against every row of x: whole tiles when count is
// the tile height (12 × 1 for a last block of ≤ 16 rows of x), else one row of w at a time.
static AVX512 void tile_rows(const float *at, long mp, long rows, const float *w, long ldw, long depth,
                             float *y, long ldy, long count, int mode) {
    const long nr = tile_height(mp);
    for (long m = 0; m < rows; m += 32) {
        int mr = rows - m < 32 ? (int)(rows - m) : 32;
        const float *a = at + m;
        float *o = y + m * ldy;
        if (count == nr) {
            if (nr == 24) tile(a, mp, w, ldw, depth, o, ldy, 24, 1, mr, mode);
            else if (mr > 16) tile(a, mp, w, ldw, depth, o, ldy, 12, 2, mr, mode);
            else tile(a, mp, w, ldw, depth, o, ldy, 12, 1, mr, mode);
        } else {
            for (long i = 0; i < count; i++) {
                if (mr > 16) tile(a, mp, w + i * ldw, ldw, depth, o + i, ldy, 1, 2, mr, mode);
                else tile(a, mp, w + i * ldw, ldw, depth, o + i, ldy, 1, 1, mr, mode);
            }
        }
    }
}

// All tiles for rows [n_begin, n_end) of w and every row of x. When at is larger than AT_BYTES
// the reduction runs in chunks whose part of at stays in L2 while every tile of w passes over
// it; later chunks add to the first one's sums (chunking small inputs only costs: measured +10%
// at 32 rows).
enum { AT_BYTES = 512 * 1024 };

static AVX512 void product(const float *at, long mp, long rows, const float *w, long in, float *y, long ldy,
                           long n_begin, long n_end, int accumulate) {
    const long nr = tile_height(mp);
    long chunk = AT_BYTES / (mp * (long)sizeof(float));
    chunk = chunk < 256 ? 256 : chunk;
    for (long k0 = 0; k0 < in; k0 += chunk) {
        const long depth = in - k0 < chunk ? in - k0 : chunk;
        for (long n = n_begin; n < n_end; n += nr) {
            const long count = n_end - n < nr ? n_end - n : nr;
            tile_rows(at + k0 * mp, mp, rows, w + n * in + k0, in, depth, y + n, ldy, count,
                      accumulate || k0 > 0 ? TILE_ADD : TILE_STORE);
        }
    }
}

// A per-thread buffer for the transposed activations, grown as needed and kept (a prompt's
// activations are a few MB at most).
typedef struct { float *data; long capacity; } Buffer;
static _Thread_local Buffer at_buffer;

// A thread's buffers are freed when it exits, by the destructor of a pthread key whose value
// lists them. The pool's workers and the explorer's worker live as long as the process, but a
// thread that ran the engine and ended (a test's thread, a Dispatch worker) left its buffers
// behind: LeakSanitizer reported up to 1.3 MB per ended thread.
enum { MAX_THREAD_BUFFERS = 8 };
typedef struct { Buffer *list[MAX_THREAD_BUFFERS]; int count; } ThreadBuffers;
static _Thread_local ThreadBuffers thread_buffers;
static pthread_key_t thread_buffers_key;
static pthread_once_t thread_buffers_once = PTHREAD_ONCE_INIT;

static void free_thread_buffers(void *value) {
    ThreadBuffers *t = value;
    for (int i = 0; i < t->count; i++) {
        free(t->list[i]->data);
        t->list[i]->data = NULL;
        t->list[i]->capacity = 0;
    }
    t->count = 0;
}

static void create_thread_buffers_key(void) { pthread_key_create(&thread_buffers_key, free_thread_buffers); }

static float *reserve(Buffer *b, long floats) {
    if (b->capacity < floats) {
        if (!b->data) {  // this buffer's first allocation on this thread
            pthread_once(&thread_buffers_once, create_thread_buffers_key);
            if (thread_buffers.count < MAX_THREAD_BUFFERS) thread_buffers.list[thread_buffers.count++] = b;
            pthread_setspecific(thread_buffers_key, &thread_buffers);
        }
        free(b->data);
        b->data = aligned_alloc(64, ((size_t)floats * sizeof(float) + 63) / 64 * 64);
        if (!b->data) abort();  // a few MB at most; out of memory is not recoverable here
        b->capacity = floats;
    }
    return b->data;
}

// at[r, m] = a[m, r] for m < rows (zero for rows ≤ m < mp), r < depth. Returns the buffer.
static float *transpose_into_buffer(const float *a, long lda, long rows, long depth, long mp) {
    float *at = reserve(&at_buffer, mp * depth);
    for (long r = 0; r < depth; r++) {
        float *col = at + r * mp;
        for (long m = 0; m < rows; m++) col[m] = a[m * lda + r];
        for (long m = rows; m < mp; m++) col[m] = 0;
    }
    return at;
}

AVX512 void gim_linear_forward(const float *x, long ldx, const float *w, float *y, long ldy,
                               long rows, long in, long n_begin, long n_end, int accumulate) {
    if (!gim_kernels_available() || rows <= 0 || n_end <= n_begin) return;
    long mp = (rows + 15) / 16 * 16;
    const float *xt = transpose_into_buffer(x, ldx, rows, in, mp);
    product(xt, mp, rows, w, in, y, ldy, n_begin, n_end, accumulate);
}

// MARK: quantized weights

// Decoders of `count` rows of blocks (in/32 blocks each) into dst [count][in], value by value as
// Dequantize.swift computes them: the product rounded before any sum.

static AVX512 void decode_q4_1_rows(const unsigned char *w, long in, long count, float *dst) {
#pragma clang fp contract(off)
    const long blocks = in / 32;
    const __m128i low = _mm_set1_epi8(0x0F);
    for (long r = 0; r < count; r++) {
        const unsigned char *row = w + r * blocks * 20;
        float *out = dst + r * in;
        for (long b = 0; b < blocks; b++) {
            const unsigned char *p = row + b * 20;
            unsigned short dh, mh;
            memcpy(&dh, p, 2);
            memcpy(&mh, p + 2, 2);
            __m512 d = _mm512_set1_ps(_cvtsh_ss(dh)), m = _mm512_set1_ps(_cvtsh_ss(mh));
            __m128i qs = _mm_loadu_si128((const __m128i *)(p + 4));
            __m128i lo = _mm_and_si128(qs, low), hi = _mm_and_si128(_mm_srli_epi16(qs, 4), low);
            __m512 vlo = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(lo));
            __m512 vhi = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(hi));
            _mm512_storeu_ps(out + 32 * b, _mm512_add_ps(_mm512_mul_ps(vlo, d), m));
            _mm512_storeu_ps(out + 32 * b + 16, _mm512_add_ps(_mm512_mul_ps(vhi, d), m));
        }
    }
}

static AVX512 void decode_q8_0_rows(const unsigned char *w, long in, long count, float *dst) {
    const long blocks = in / 32;
    for (long r = 0; r < count; r++) {
        const unsigned char *row = w + r * blocks * 34;
        float *out = dst + r * in;
        for (long b = 0; b < blocks; b++) {
            const unsigned char *p = row + b * 34;
            unsigned short dh;
            memcpy(&dh, p, 2);
            __m512 d = _mm512_set1_ps(_cvtsh_ss(dh));
            __m512 v0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
            __m512 v1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
            _mm512_storeu_ps(out + 32 * b, _mm512_mul_ps(v0, d));
            _mm512_storeu_ps(out + 32 * b + 16, _mm512_mul_ps(v1, d));
        }
    }
}

static _Thread_local Buffer decoded_buffer;

// How one encoding is read: `decode(src, values, dst, enc)` writes `values` consecutive values of
// one row (a whole number of blocks, starting at a block boundary) as Float32.
typedef struct Encoding Encoding;
typedef void (*decode_chunk_fn)(const unsigned char *src, long values, float *dst, const Encoding *enc);
struct Encoding { decode_chunk_fn decode; int type; long block_values, block_bytes; };

static AVX512 void decode_chunk_q4_1(const unsigned char *src, long values, float *dst, const Encoding *enc) {
    (void)enc;
    decode_q4_1_rows(src, values, 1, dst);
}
static AVX512 void decode_chunk_q8_0(const unsigned char *src, long values, float *dst, const Encoding *enc) {
    (void)enc;
    decode_q8_0_rows(src, values, 1, dst);
}
static AVX512 void decode_chunk_blocks(const unsigned char *src, long values, float *dst, const Encoding *enc) {
    gim_decode_blocks(enc->type, src, values / enc->block_values, dst);
}

// A tile's rows are decoded into a buffer whose rows are DECODE_PAD floats longer than the values
// they hold: at strides that are multiples of 4 KB (in = 1024, 2048, 8192 …) every row of a tile
// fell into one 8-way L1 set and each broadcast came from L2 (the 1B model's forward at 8 tokens
// took longer than its backward and than its forward at 32 tokens). A tile decodes its whole rows
// when they fit DECODE_BYTES (a share of L2 that leaves room for the transposed activations);
// longer rows are decoded DECODE_CHUNK values at a time (24 rows × 8192 values would be 768 KB).
// The chunking changes no bit: later chunks resume the sums in y (TILE_RESUME).
enum { DECODE_PAD = 16, DECODE_BYTES = 256 * 1024, DECODE_CHUNK = 1024 };

static inline long decode_chunk(long nr, long in) {
    return nr * (in + DECODE_PAD) * (long)sizeof(float) <= DECODE_BYTES ? in : DECODE_CHUNK;
}

// y[:, n] (+)= x · W[n, :]ᵀ for n in [n_begin, n_end), W's rows in `enc` (row_bytes apart).
static AVX512 void decoded_product(const float *xt, long mp, long rows, const unsigned char *wq, long row_bytes,
                                   Encoding enc, long in, float *y, long ldy, long n_begin, long n_end,
                                   int accumulate) {
    const long nr = tile_height(mp);
    const long chunk = decode_chunk(nr, in), ld = chunk + DECODE_PAD;
    float *dec = reserve(&decoded_buffer, nr * ld);
    for (long n = n_begin; n < n_end; n += nr) {
        const long count = n_end - n < nr ? n_end - n : nr;
        for (long k0 = 0; k0 < in; k0 += chunk) {
            const long depth = in - k0 < chunk ? in - k0 : chunk;
            const unsigned char *src = wq + n * row_bytes + k0 / enc.block_values * enc.block_bytes;
            for (long r = 0; r < count; r++) enc.decode(src + r * row_bytes, depth, dec + r * ld, &enc);
            // Later chunks resume the first one's sums in y: bit for bit one pass over the depth.
            tile_rows(xt + k0 * mp, mp, rows, dec, ld, depth, y + n, ldy, count,
                      k0 > 0 ? TILE_RESUME : accumulate ? TILE_ADD : TILE_STORE);
        }
    }
}

AVX512 void gim_linear_forward_quantized(const float *x, long ldx, const void *w, int encoding, float *y, long ldy,
                                         long rows, long in, long n_begin, long n_end, int accumulate) {
    if (!gim_kernels_available() || rows <= 0 || n_end <= n_begin || in % 32 != 0) return;
    Encoding enc;
    switch (encoding) {
    case GIM_Q4_1: enc = (Encoding){decode_chunk_q4_1, 0, 32, 20}; break;
    case GIM_Q8_0: enc = (Encoding){decode_chunk_q8_0, 0, 32, 34}; break;
    default: return;
    }
    const long mp = (rows + 15) / 16 * 16;
    const float *xt = transpose_into_buffer(x, ldx, rows, in, mp);
    decoded_product(xt, mp, rows, (const unsigned char *)w, in / 32 * enc.block_bytes, enc, in, y, ldy, n_begin,
                    n_end, accumulate);
}

// MARK: per-thread scratch for callers

static _Thread_local Buffer caller_scratch;

float *gim_thread_scratch(long floats) { return reserve(&caller_scratch, floats < 1 ? 1 : floats); }

static _Thread_local Buffer attention_scratch;

float *gim_attention_scratch(long floats) { return reserve(&attention_scratch, floats < 1 ? 1 : floats); }

static _Thread_local Buffer attention_pack_scratch;

float *gim_attention_pack_scratch(long floats) { return reserve(&attention_pack_scratch, floats < 1 ? 1 : floats); }

AVX512 int gim_linear_forward_blocks(const float *x, long ldx, const void *w, int ggml_type, long block_values,
                                     long block_bytes, float *y, long ldy, long rows, long in, long n_begin, long n_end,
                                     int accumulate) {
    if (!gim_kernels_available() || rows <= 0 || n_end <= n_begin || in % block_values != 0 ||
        DECODE_CHUNK % block_values != 0) return 0;  // (a chunk is a whole number of blocks)
    float probe;
    // Only the encodings gim_decode_blocks handles (decoding zero blocks tells without writing).
    if (!gim_decode_blocks(ggml_type, w, 0, &probe)) return 0;
    const long mp = (rows + 15) / 16 * 16;
    const float *xt = transpose_into_buffer(x, ldx, rows, in, mp);
    const Encoding enc = {decode_chunk_blocks, ggml_type, block_values, block_bytes};
    decoded_product(xt, mp, rows, (const unsigned char *)w, in / block_values * block_bytes, enc, in, y, ldy, n_begin,
                    n_end, accumulate);
    return 1;
}

// MARK: backward on weights in a block encoding

// dx[t, c] (+)= Σ_o dy[t, o] · W[o, c]: W's rows decoded a panel at a time (P rows × one column
// block) into an L1 buffer, then an outer-product micro-kernel: TN tokens × NV vectors of
// columns held in zmm accumulators, each decoded W row's vectors multiplied by the TN scalars
// dy[t, o] broadcast. Accumulators are stored back to dx between panels.
enum { BW_PANEL = 32, BW_MAX_TN = 6, BW_MAX_NV = 4 };

INLINE AVX512 void outer_tile(const float *buf, long ldb, long panel, const float *dy, long lddy, float *dx, long ldx,
                              const int tn, const int nv, int first) {
    __m512 acc[BW_MAX_TN][BW_MAX_NV];
    for (int t = 0; t < tn; t++)
        for (int v = 0; v < nv; v++)
            acc[t][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(dx + t * ldx + 16 * v);
    for (long o = 0; o < panel; o++) {
        __m512 w[BW_MAX_NV];
        for (int v = 0; v < nv; v++) w[v] = _mm512_loadu_ps(buf + o * ldb + 16 * v);
        for (int t = 0; t < tn; t++) {
            const __m512 s = _mm512_set1_ps(dy[t * lddy + o]);
            for (int v = 0; v < nv; v++) acc[t][v] = _mm512_fmadd_ps(s, w[v], acc[t][v]);
        }
    }
    for (int t = 0; t < tn; t++)
        for (int v = 0; v < nv; v++) _mm512_storeu_ps(dx + t * ldx + 16 * v, acc[t][v]);
}

// One (token group, column sub-chunk) with constant tn and nv after inlining.
static AVX512 void outer_tile_dispatch(const float *buf, long ldb, long panel, const float *dy, long lddy, float *dx,
                                       long ldx, int tn, int nv, int first) {
#define CASE(TN) case TN: \
    if (nv == 4) outer_tile(buf, ldb, panel, dy, lddy, dx, ldx, TN, 4, first); \
    else if (nv == 2) outer_tile(buf, ldb, panel, dy, lddy, dx, ldx, TN, 2, first); \
    else outer_tile(buf, ldb, panel, dy, lddy, dx, ldx, TN, 1, first); \
    break;
    switch (tn) { CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) }
#undef CASE
}

AVX512 int gim_linear_backward_blocks(const float *dy, long lddy, const void *w, int ggml_type, long block_values,
                                      long block_bytes, float *dx, long ldx, long rows, long out, long c_begin,
                                      long c_end, int accumulate) {
    if (!gim_kernels_available() || rows <= 0 || c_end <= c_begin || block_values % 16 != 0 ||
        c_begin % block_values != 0 || c_end % block_values != 0) return 0;
    float probe;
    if (!gim_decode_blocks(ggml_type, w, 0, &probe)) return 0;
    const long in = ldx;  // columns of W = row stride of dx
    const long row_bytes = in / block_values * block_bytes;
    const long bw = block_values;
    float *buf = reserve(&decoded_buffer, BW_PANEL * bw);
    const unsigned char *wq = (const unsigned char *)w;
    for (long c = c_begin; c < c_end; c += bw) {
        const long block = c / bw;
        for (long o0 = 0; o0 < out; o0 += BW_PANEL) {
            const long panel = out - o0 < BW_PANEL ? out - o0 : BW_PANEL;
            for (long r = 0; r < panel; r++)
                gim_decode_blocks(ggml_type, wq + (o0 + r) * row_bytes + block * block_bytes, 1, buf + r * bw);
            const int first = o0 == 0 && !accumulate;
            for (long t0 = 0; t0 < rows; t0 += BW_MAX_TN) {
                const int tn = rows - t0 < BW_MAX_TN ? (int)(rows - t0) : BW_MAX_TN;
                for (long s = 0; s < bw; s += 16 * BW_MAX_NV) {
                    const int nv = bw - s >= 64 ? 4 : (bw - s >= 32 ? 2 : 1);
                    outer_tile_dispatch(buf + s, bw, panel, dy + t0 * lddy + o0, lddy, dx + t0 * ldx + c + s, ldx, tn, nv, first);
                }
            }
        }
    }
    return 1;
}
