// One set of vectorizable kernels, written once with clang/GCC vector extensions
// and compiled once per ISA by isa_<name>.c, which defines:
//   TC_VW (floats per vector), TC_FMA (0/1), TC_TABLE (table name), TC_ISA_SUFFIX (_avx512, ...),
//   TC_TILES(X) and, on AVX-512, TC_HALF_TILES(X): every register tile as X(MR, vectors across,
//   MRxNR name) (half tiles: vectors of TC_VW / 2 floats), TC_ROLE_WIDE / _NARROW / _HALF /
//   _SHORT / _TAPS / _OCTA: the entries the shape rules pick (TC_ENTRY(...) or TC_HALF_ENTRY(...)),
//   TC_BLOCKING (KC, NC, MC panels), TC_DIRECT_CB (channels per direct-conv block).
// Every function is named by its contract and ISA (tc_gemm_f32_12x32_koff_avx512,
// maxpool2x2_forward_avx2), so profiles and backtraces tell the paths apart.
#include <string.h>
#include "kernels_internal.h"

typedef float vf __attribute__((vector_size(TC_VW * 4)));
typedef int32_t vi __attribute__((vector_size(TC_VW * 4)));
typedef uint64_t vu64 __attribute__((vector_size(TC_VW * 8)));
typedef uint8_t vu8 __attribute__((vector_size(TC_VW)));

static inline vf ld(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void st(float *p, vf v) { memcpy(p, &v, sizeof v); }
// The first n lanes (0 < n < TC_VW) of a vector at p: a channel tail narrower than a vector
// (LeNet-5's 6 channels, the Custom net's 12) is one masked operation, not a scalar loop.
#if TC_VW == 16
#include <immintrin.h>
static inline vf ldn(const float *p, int n) { return (vf)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
static inline void stn(float *p, vf v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v); }
#elif TC_VW == 8 && defined(__x86_64__)
#include <immintrin.h>
static inline __m256i lanes_below(int n) { return (__m256i)((vi){0, 1, 2, 3, 4, 5, 6, 7} < n); }
static inline vf ldn(const float *p, int n) { return (vf)_mm256_maskload_ps(p, lanes_below(n)); }
// Stored in pieces of 4, 2 and 1 lanes: a vmaskmovps store is microcoded on AMD Zen 2 (tens of
// cycles) and slow on other cores too, and narrow channel tails store once per pixel.
static inline void stn(float *p, vf v, int n) {
    __m128 lo = _mm256_castps256_ps128((__m256)v);
    if (n >= 4) {
        _mm_storeu_ps(p, lo);
        lo = _mm256_extractf128_ps((__m256)v, 1);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)p, lo);
        lo = _mm_movehl_ps(lo, lo);
        p += 2;
        n -= 2;
    }
    if (n) _mm_store_ss(p, lo);
}
#else
static inline vf ldn(const float *p, int n) { vf v = {0}; memcpy(&v, p, (size_t)n * sizeof(float)); return v; }
static inline void stn(float *p, vf v, int n) { memcpy(p, &v, (size_t)n * sizeof(float)); }
#endif
// Whole vector or the first `lanes` lanes (the channel loops below set lanes = c - ch).
#define LDC(p) (lanes >= TC_VW ? ld(p) : ldn((p), lanes))
#define STC(p, v) (lanes >= TC_VW ? st((p), (v)) : stn((p), (v), lanes))

// x - (+0) is exactly x for every x (0 + x is not, for x = -0), so the subtraction folds
// away and a splat stays a single broadcast.
static inline vf splat(float x) { return x - (vf){0}; }
#if TC_FMA
#define VFMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#else
#define VFMA(a, b, c) ((a) * (b) + (c))
#endif
#define VMAX(a, b) __builtin_elementwise_max((a), (b))

#define TC_CAT4_(a, b, c, d) a##b##c##d
#define TC_CAT4(a, b, c, d) TC_CAT4_(a, b, c, d)
#define TC_CAT2(a, b) TC_CAT4(a, b, , )
// tc_gemm_f32_<MR>x<NR><variant><isa>: variant is empty, _koff or _roff.
#define TC_UK(tile, variant) TC_CAT4(tc_gemm_f32_, tile, variant, TC_ISA_SUFFIX)
// Vector kernels: name_<isa>.
#define TC_FN(name) TC_CAT2(name, TC_ISA_SUFFIX)

// The first n lanes (0 < n < width) of a C row at p, for a tile whose last columns run past
// the output: one masked access, not a copy of the tile through the stack.
static inline vf part_ld_vf(const float *p, int n) { return ldn(p, n); }
static inline void part_st_vf(float *p, vf v, int n) { stn(p, v, n); }
#ifdef TC_HALF_TILES
typedef float vh __attribute__((vector_size(TC_VW * 2)));
static inline vh part_ld_vh(const float *p, int n) { return (vh)_mm256_maskz_loadu_ps((__mmask8)((1u << n) - 1), p); }
static inline void part_st_vh(float *p, vh v, int n) { _mm256_mask_storeu_ps(p, (__mmask8)((1u << n) - 1), (__m256)v); }
#endif

// One microkernel body per tile shape; MR and NV are compile-time constants so the
// accumulators live in registers (MR*NV of them). mr x nr (<= MR x NR) of the tile are live:
// only they are loaded from and stored to C (rows past mr of A must still be readable).
#define DEFINE_GEMM_UKERNEL(NAME, MR, NV, AIDX, V, W)                                         \
    static void NAME(size_t kc, const float *restrict a, size_t lda, const float *restrict b, \
                     size_t ldb, float *restrict c, size_t ldc, const float *restrict bias,   \
                     int flags, const int32_t *restrict koff, int mr, int nr) {               \
        (void)lda;                                                                           \
        (void)koff;                                                                          \
        V acc[MR][NV];                                                                       \
        if (flags & TC_UK_LOAD_C) {                                                          \
            for (int i = 0; i < MR; i++)                                                     \
                for (int v = 0; v < NV; v++) {                                               \
                    const int n_ = nr - v * (W);                                             \
                    if (i < mr && n_ >= (W)) memcpy(&acc[i][v], c + i * ldc + v * (W), sizeof(V)); \
                    else if (i < mr && n_ > 0) acc[i][v] = part_ld_##V(c + i * ldc + v * (W), n_); \
                    else acc[i][v] = (V){0};                                                 \
                }                                                                            \
        } else if (bias) {                                                                   \
            for (int v = 0; v < NV; v++) {                                                   \
                V bv; memcpy(&bv, bias + v * (W), sizeof(V));                                \
                for (int i = 0; i < MR; i++) acc[i][v] = bv;                                 \
            }                                                                                \
        } else {                                                                             \
            for (int i = 0; i < MR; i++)                                                     \
                for (int v = 0; v < NV; v++) acc[i][v] = (V){0};                             \
        }                                                                                    \
        for (size_t k = 0; k < kc; k++) {                                                    \
            V bv[NV];                                                                        \
            for (int v = 0; v < NV; v++) memcpy(&bv[v], b + v * (W), sizeof(V));             \
            for (int i = 0; i < MR; i++) {                                                   \
                V ai = a[AIDX] - (V){0};                                                     \
                for (int v = 0; v < NV; v++) acc[i][v] = VFMA(ai, bv[v], acc[i][v]);         \
            }                                                                                \
            b += ldb;                                                                        \
        }                                                                                    \
        if (flags & TC_UK_RELU) {                                                            \
            for (int i = 0; i < MR; i++)                                                     \
                for (int v = 0; v < NV; v++) acc[i][v] = VMAX(acc[i][v], (V){0});            \
        }                                                                                    \
        for (int i = 0; i < MR && i < mr; i++)                                               \
            for (int v = 0; v < NV; v++) {                                                   \
                const int n_ = nr - v * (W);                                                 \
                if (n_ >= (W)) memcpy(c + i * ldc + v * (W), &acc[i][v], sizeof(V));         \
                else if (n_ > 0) part_st_##V(c + i * ldc + v * (W), acc[i][v], n_);          \
            }                                                                                \
    }

// Each tile in three variants. Plain: A(i, k) = a[i*lda + k]. Offsets: A(i, k) = a[i + koff[k]]
// (rows one float apart, lda unused), which lets a Cin = 1 convolution read its taps straight
// from the padded image, no im2col; the row offsets become constant displacements. Row
// offsets: A(i, k) = a[koff[i] + k] (the weight gradient of a Cin = 1 conv: row i is the image
// shifted by tap i). Every tile computes each element of C as the same chain: the bias (or 0,
// or C), then one FMA per k in order, then ReLU; so the tile changes speed, never bits.
#define TC_DEFINE_TILE_AS(MR, NV, NAME, V, W)                                         \
    DEFINE_GEMM_UKERNEL(TC_UK(NAME, ), MR, NV, i * lda + k, V, W)                    \
    DEFINE_GEMM_UKERNEL(TC_UK(NAME, _koff), MR, NV, i + koff[k], V, W)               \
    DEFINE_GEMM_UKERNEL(TC_UK(NAME, _roff), MR, NV, koff[i] + k, V, W)
#define TC_DEFINE_TILE(MR, NV, NAME) TC_DEFINE_TILE_AS(MR, NV, NAME, vf, TC_VW)
TC_TILES(TC_DEFINE_TILE)
#define TC_ENTRY(MR, NV, NAME) {MR, (NV) * TC_VW, TC_UK(NAME, ), TC_UK(NAME, _koff), TC_UK(NAME, _roff)}
#define TC_ENTRY_ITEM(MR, NV, NAME) TC_ENTRY(MR, NV, NAME),

// Half-width tiles (AVX-512 only): for outputs of 8 or fewer (6-channel layers): on cores that
// split a 512-bit FMA into two 256-bit halves (AMD Zen 4) a 256-bit FMA does the same useful
// work per issue slot at twice the rate; elsewhere it is no slower.
#ifdef TC_HALF_TILES
#define TC_DEFINE_HALF_TILE(MR, NV, NAME) TC_DEFINE_TILE_AS(MR, NV, NAME, vh, TC_VW / 2)
TC_HALF_TILES(TC_DEFINE_HALF_TILE)
#define TC_HALF_ENTRY(MR, NV, NAME) {MR, (NV) * TC_VW / 2, TC_UK(NAME, ), TC_UK(NAME, _koff), TC_UK(NAME, _roff)}
#define TC_HALF_ENTRY_ITEM(MR, NV, NAME) TC_HALF_ENTRY(MR, NV, NAME),
#else
#define TC_HALF_TILES(X)
#endif

// The ISA's tile table, by shape: what a tuned plan picks from (tc_gemm_algo.mr/nr).
static const tc_gemm_ukernel TC_FN(tiles)[] = {TC_TILES(TC_ENTRY_ITEM) TC_HALF_TILES(TC_HALF_ENTRY_ITEM)};

// Every 2x2 window of x [N][H][W][*] (channel stride xc; the odd trailing row or column is
// left out), one vector of channels at a time: o[4] are the offsets in x of the window's
// elements (00, 01, 10, 11), q the offset of its output element in [N][H/2][W/2][C], ch the
// first channel and lanes = C - ch (LDC / STC mask a narrower tail). The body goes last.
#define TC_FOR_EACH_POOL_WINDOW(n, h, w, c, xc, ...)                                              \
    for (int s_ = 0; s_ < (n); s_++)                                                             \
        for (int oy_ = 0; oy_ < (h) / 2; oy_++)                                                  \
            for (int ox_ = 0; ox_ < (w) / 2; ox_++) {                                            \
                const size_t row_ = (size_t)(w) * (size_t)(xc);                                   \
                const size_t o0_ = ((size_t)s_ * (h) + 2 * oy_) * row_ + (size_t)(2 * ox_) * (xc); \
                const size_t o[4] = {o0_, o0_ + (xc), o0_ + row_, o0_ + row_ + (xc)};             \
                const size_t q = (((size_t)s_ * ((h) / 2) + oy_) * ((w) / 2) + ox_) * (size_t)(c); \
                for (int ch = 0; ch < (c); ch += TC_VW) {                                         \
                    const int lanes = (c) - ch;                                                   \
                    __VA_ARGS__                                                                   \
                }                                                                                 \
            }

// x [N][H][W][C] -> y [N][H/2][W/2][C]; vectors run along C, a narrower tail masked.
static void TC_FN(maxpool2x2_forward)(int n, int h, int w, int c, const float *x, float *y) {
    TC_FOR_EACH_POOL_WINDOW(n, h, w, c, c,
        STC(y + q + ch, VMAX(VMAX(LDC(x + o[0] + ch), LDC(x + o[1] + ch)), VMAX(LDC(x + o[2] + ch), LDC(x + o[3] + ch))));)
}

// The gradient goes to the first window element (00, 01, 10, 11) equal to the max;
// with relu_mask, only where that max is positive (the ReLU before the pool).
static void TC_FN(maxpool2x2_backward)(int n, int h, int w, int c, const float *x, const float *y,
                                const float *dy, float *dx, int relu_mask) {
    const vi keep_all = relu_mask ? (vi){0} : ~(vi){0};
    if ((h & 1) || (w & 1)) memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
    TC_FOR_EACH_POOL_WINDOW(n, h, w, c, c,
        const vf m = LDC(y + q + ch);
        const vf g = (vf)((vi)LDC(dy + q + ch) & ((m > (vf){0}) | keep_all));
        vi free = ~(vi){0};
        for (int j = 0; j < 4; j++) {
            const vi hit = (LDC(x + o[j] + ch) == m) & free;
            free &= ~hit;
            STC(dx + o[j] + ch, (vf)((vi)g & hit));
        })
}

// Max pool that also writes, per output element, a code byte: bits 0-1 the window index
// of the first maximum (the backward's tie rule), bit 2 set iff that maximum is positive.
// With it the backward needs neither x nor y (the fused conv + ReLU + pool keeps no x).
// The first `lanes` bytes (a whole vector's worth when lanes >= TC_VW): a fixed-size copy
// or a masked byte access, never a variable-length memcpy call per window.
static inline void TC_FN(store_bytes)(uint8_t *p, vi v, int lanes) {
    const vu8 b = __builtin_convertvector(v, vu8);
    if (lanes >= TC_VW) {
        memcpy(p, &b, sizeof b);
        return;
    }
#if TC_VW == 16
    _mm_mask_storeu_epi8(p, (__mmask16)((1u << lanes) - 1), (__m128i)b);
#else
    int i = 0;  // fixed-size pieces, no loop of byte stores
    if (lanes & 4) { memcpy(p, &b, 4); i = 4; }
    if (lanes & 2) { memcpy(p + i, (const uint8_t *)&b + i, 2); i += 2; }
    if (lanes & 1) p[i] = b[i];
#endif
}
static inline vi TC_FN(load_bytes)(const uint8_t *p, int lanes) {
    vu8 b;
    if (lanes >= TC_VW) {
        memcpy(&b, p, sizeof b);
    } else {
#if TC_VW == 16
        b = (vu8)_mm_maskz_loadu_epi8((__mmask16)((1u << lanes) - 1), p);
#else
        b = (vu8){0};
        int i = 0;
        if (lanes & 4) { memcpy(&b, p, 4); i = 4; }
        if (lanes & 2) { memcpy((uint8_t *)&b + i, p + i, 2); i += 2; }
        if (lanes & 1) b[i] = p[i];
#endif
    }
    return __builtin_convertvector(b, vi);
}
// xc: x's channel stride (>= c; the fused conv's row buffer pads channels to its tile).
static void TC_FN(maxpool2x2_forward_code)(int n, int h, int w, int c, int xc, const float *x, float *y,
                                           uint8_t *code) {
    TC_FOR_EACH_POOL_WINDOW(n, h, w, c, xc,
        const vf v[4] = {LDC(x + o[0] + ch), LDC(x + o[1] + ch), LDC(x + o[2] + ch), LDC(x + o[3] + ch)};
        const vf m = VMAX(VMAX(v[0], v[1]), VMAX(v[2], v[3]));
        vi free = ~(vi){0}, k = (m > (vf){0}) & 4;
        for (int j = 0; j < 4; j++) {
            const vi hit = (v[j] == m) & free;
            free &= ~hit;
            k |= hit & j;
        }
        STC(y + q + ch, m);
        TC_FN(store_bytes)(code + q + ch, k, lanes);)
}

// dx [N][H][W][C] (overwritten): dy at the coded window element where bit 2 is set, else 0.
static void TC_FN(maxpool2x2_backward_code)(int n, int h, int w, int c, const uint8_t *code,
                                            const float *dy, float *dx) {
    if ((h & 1) || (w & 1)) memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
    TC_FOR_EACH_POOL_WINDOW(n, h, w, c, c,
        const vi k = TC_FN(load_bytes)(code + q + ch, lanes);
        const vi g = (vi)LDC(dy + q + ch) & ((k & 4) != 0);
        for (int j = 0; j < 4; j++) STC(dx + o[j] + ch, (vf)(g & ((k & 3) == j)));)
}

// ---- Cin = 1 conv with output positions in vector lanes (contract: kernels_internal.h).
// Accumulators acc[r][e][c]: output row oy + r, columns 2l + e for the TC_VW consecutive l of a
// block, channel c0 + c. Each is the chain the GEMM over the plane computes (the bias, then one
// FMA per tap in tap order, then ReLU), so the two forward algorithms give the same bits. A 2x2
// pool window is the same lane of acc[0][0], acc[0][1], acc[1][0], acc[1][1]: no shuffles; the
// pool is the tc_maxpool2x2_forward_code arithmetic. Per tap: 4 vector loads, TC_DIRECT_CB
// broadcasts, 4 x TC_DIRECT_CB FMAs.
#define TC_DB TC_DIRECT_CB
static void TC_FN(conv1ch_direct_rows)(const float *plane, size_t wh, const int32_t *koff, int taps, const float *w,
                                       const float *b, int cout, int wo, int rows, int relu, float *y, uint8_t *code) {
    const int half = (wo + 1) / 2, pw = wo / 2;
    const size_t cpad = (size_t)(cout + TC_DB - 1) / TC_DB * TC_DB;
    const int32_t *koff_odd = koff + taps;
    for (int l0 = 0; l0 < half; l0 += TC_VW) {
        for (int c0 = 0; c0 < cout; c0 += TC_DB) {
            vf acc[2][2][TC_DB];
            for (int c = 0; c < TC_DB; c++) {
                const vf bv = splat(b[c0 + c]);
                acc[0][0][c] = bv;
                acc[0][1][c] = bv;
                acc[1][0][c] = bv;
                acc[1][1][c] = bv;
            }
            const float *wt = w + c0;
            for (int t = 0; t < taps; t++, wt += cpad) {
                const float *pe = plane + koff[t] + l0, *po = plane + koff_odd[t] + l0;
                const vf a00 = ld(pe), a01 = ld(po), a10 = ld(pe + wh), a11 = ld(po + wh);
                for (int c = 0; c < TC_DB; c++) {
                    const vf wv = splat(wt[c]);
                    acc[0][0][c] = VFMA(a00, wv, acc[0][0][c]);
                    acc[0][1][c] = VFMA(a01, wv, acc[0][1][c]);
                    acc[1][0][c] = VFMA(a10, wv, acc[1][0][c]);
                    acc[1][1][c] = VFMA(a11, wv, acc[1][1][c]);
                }
            }
            const int nc = cout - c0 < TC_DB ? cout - c0 : TC_DB;
            if (relu || code)
                for (int r = 0; r < 2; r++)
                    for (int e = 0; e < 2; e++)
                        for (int c = 0; c < TC_DB; c++) acc[r][e][c] = VMAX(acc[r][e][c], (vf){0});
            if (code) {  // pooled row: y, code [pw][cout]
                float tm[TC_DB][TC_VW];
                uint8_t tk[TC_DB][TC_VW];
                for (int c = 0; c < TC_DB; c++) {
                    const vf v[4] = {acc[0][0][c], acc[0][1][c], acc[1][0][c], acc[1][1][c]};
                    const vf m = VMAX(VMAX(v[0], v[1]), VMAX(v[2], v[3]));
                    vi free = ~(vi){0}, k = (m > (vf){0}) & 4;
                    for (int j = 0; j < 4; j++) {
                        const vi hit = (v[j] == m) & free;
                        free &= ~hit;
                        k |= hit & j;
                    }
                    st(tm[c], m);
                    const vu8 kb = __builtin_convertvector(k, vu8);
                    memcpy(tk[c], &kb, sizeof kb);
                }
                const int nl = pw - l0 < TC_VW ? pw - l0 : TC_VW;
                for (int l = 0; l < nl; l++)
                    for (int c = 0; c < nc; c++) {
                        y[(size_t)(l0 + l) * cout + c0 + c] = tm[c][l];
                        code[(size_t)(l0 + l) * cout + c0 + c] = tk[c][l];
                    }
            } else {  // rows of y [rows][wo][cout]
                float ta[2][2][TC_DB][TC_VW];
                for (int r = 0; r < 2; r++)
                    for (int e = 0; e < 2; e++)
                        for (int c = 0; c < TC_DB; c++) st(ta[r][e][c], acc[r][e][c]);
                for (int r = 0; r < rows; r++)
                    for (int l = 0; l < TC_VW; l++)
                        for (int e = 0; e < 2; e++) {
                            const int ox = 2 * (l0 + l) + e;
                            if (ox >= wo) break;
                            float *dst = y + ((size_t)r * wo + ox) * cout + c0;
                            for (int c = 0; c < nc; c++) dst[c] = ta[r][e][c][l];
                        }
            }
        }
    }
}
#undef TC_DB

// y = ((x00 + x01) + (x10 + x11)) / 4 per window (the twin's order: bit-equal); vectors
// run along C, a narrower tail masked.
static void TC_FN(avgpool2x2_forward)(int n, int h, int w, int c, const float *x, float *y) {
    const vf quarter = splat(0.25f);
    TC_FOR_EACH_POOL_WINDOW(n, h, w, c, c,
        STC(y + q + ch, ((LDC(x + o[0] + ch) + LDC(x + o[1] + ch)) + (LDC(x + o[2] + ch) + LDC(x + o[3] + ch))) * quarter);)
}

// dx = dy / 4 on each window's four elements (0 in a dropped odd row or column).
static void TC_FN(avgpool2x2_backward)(int n, int h, int w, int c, const float *dy, float *dx) {
    const vf quarter = splat(0.25f);
    if ((h & 1) || (w & 1)) memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
    TC_FOR_EACH_POOL_WINDOW(n, h, w, c, c,
        const vf v = LDC(dy + q + ch) * quarter;
        for (int j = 0; j < 4; j++) STC(dx + o[j] + ch, v);)
}

// Weight gradient of a Cin = 1 conv with few output channels, vectorized along positions:
//   dw[t][c] += sum_k plane[koff[t] + k] * dyt[c][k],  k < kpad (a multiple of TC_VW)
// dyt holds the output gradient transposed, one row of kpad per channel, padded with zero
// rows to a multiple of TC_WG_CB channels. Accumulators: TB taps x CB channels, in registers
// (3 x 6 + 6 + 1 of AVX-512's 32; 1 x 6 + 6 + 1 of AVX2's 16).
#define TC_WG_TB (TC_VW >= 16 ? 3 : 1)
#define TC_WG_CB TC_CIN1_WGRAD_CHANNELS
static void TC_FN(conv1ch_weight_grad)(size_t kpad, const float *plane, const float *dyt, int taps,
                                const int32_t *koff, int cout, float *dw) {
    for (int c0 = 0; c0 < cout; c0 += TC_WG_CB) {
        const float *d0 = dyt + (size_t)c0 * kpad;
        for (int t0 = 0; t0 < taps; t0 += TC_WG_TB) {
            const float *p[TC_WG_TB];
            for (int j = 0; j < TC_WG_TB; j++) p[j] = plane + koff[t0 + j < taps ? t0 + j : taps - 1];
            vf acc[TC_WG_TB][TC_WG_CB];
            for (int j = 0; j < TC_WG_TB; j++)
                for (int c = 0; c < TC_WG_CB; c++) acc[j][c] = (vf){0};
            for (size_t k = 0; k < kpad; k += TC_VW) {
                vf d[TC_WG_CB];
                for (int c = 0; c < TC_WG_CB; c++) d[c] = ld(d0 + (size_t)c * kpad + k);
                for (int j = 0; j < TC_WG_TB; j++) {
                    const vf pv = ld(p[j] + k);
                    for (int c = 0; c < TC_WG_CB; c++) acc[j][c] = VFMA(pv, d[c], acc[j][c]);
                }
            }
            for (int j = 0; j < TC_WG_TB && t0 + j < taps; j++)
                for (int c = 0; c < TC_WG_CB && c0 + c < cout; c++) {
                    float s = 0.0f;
                    for (int l = 0; l < TC_VW; l++) s += acc[j][c][l];
                    dw[(size_t)(t0 + j) * cout + c0 + c] += s;
                }
        }
    }
}

// One im2col row, all taps, kernel row by kernel row: the in-bounds kx span is one
// contiguous run in NHWC (k*Cin floats away from the border), copied in vectors with a
// masked tail (Cin = 6: 30-float runs), the out-of-bounds taps zeroed.
static inline void TC_FN(copy_run)(float *d, const float *s, size_t n) {
    size_t j = 0;
    for (; j + TC_VW <= n; j += TC_VW) st(d + j, ld(s + j));
    if (j < n) stn(d + j, ldn(s + j, (int)(n - j)), (int)(n - j));
}
static inline void TC_FN(zero_run)(float *d, size_t n) {
    size_t j = 0;
    for (; j + TC_VW <= n; j += TC_VW) st(d + j, (vf){0});
    if (j < n) stn(d + j, (vf){0}, (int)(n - j));
}
// A packed GEMM panel from rows of a row-major source (the B side of most products).
static void TC_FN(copy_panel)(size_t rows, size_t n, size_t n_pad, const float *src, ptrdiff_t stride, float *dst) {
    for (size_t k = 0; k < rows; k++, src += stride, dst += n_pad) {
        TC_FN(copy_run)(dst, src, n);
        if (n < n_pad) TC_FN(zero_run)(dst + n, n_pad - n);
    }
}

// dst[j * ldd + i] = src[i * lds + j], i < rows, j < cols: the transposed packings (a
// channels-last gradient read channel-major) in 8x8 blocks through registers, where element
// by element cost a load and a store each (LeNet-5's conv1 and conv2 weight gradients; also
// the transposed 1x1 input gradient and the swapped weight gradient's [Cout][taps] result).
#if TC_VW >= 8 && defined(__x86_64__)
// Named registers and unrolled row steps: with an array indexed under runtime bounds the
// compiler kept the block on the stack and the kernel was no faster than scalar copies.
static inline void TC_FN(transpose8x8)(const float *s, size_t lds, int m, int n, float *d, size_t ldd) {
    const __m256i lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#define TC_TR_LD(i) (m <= (i) ? _mm256_setzero_ps() : n == 8 ? _mm256_loadu_ps(s + (i) * lds) : _mm256_maskload_ps(s + (i) * lds, lanes))
    const __m256 r0 = TC_TR_LD(0), r1 = TC_TR_LD(1), r2 = TC_TR_LD(2), r3 = TC_TR_LD(3);
    const __m256 r4 = TC_TR_LD(4), r5 = TC_TR_LD(5), r6 = TC_TR_LD(6), r7 = TC_TR_LD(7);
#undef TC_TR_LD
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    // column j of the block is row j of the result; only the n live ones are stored, m floats
    // each (partial rows by plain stores: masked AVX2 stores are microcoded on Zen 2)
#define TC_TR_ST(j, v)                                                   \
    if (n > (j)) {                                                       \
        if (m == 8) {                                                    \
            _mm256_storeu_ps(d + (j) * ldd, v);                          \
        } else {                                                         \
            float row[8];                                                \
            _mm256_storeu_ps(row, v);                                    \
            for (int i = 0; i < m; i++) d[(j) * ldd + (size_t)i] = row[i]; \
        }                                                                \
    }
    TC_TR_ST(0, _mm256_permute2f128_ps(u0, u4, 0x20)) TC_TR_ST(1, _mm256_permute2f128_ps(u1, u5, 0x20))
    TC_TR_ST(2, _mm256_permute2f128_ps(u2, u6, 0x20)) TC_TR_ST(3, _mm256_permute2f128_ps(u3, u7, 0x20))
    TC_TR_ST(4, _mm256_permute2f128_ps(u0, u4, 0x31)) TC_TR_ST(5, _mm256_permute2f128_ps(u1, u5, 0x31))
    TC_TR_ST(6, _mm256_permute2f128_ps(u2, u6, 0x31)) TC_TR_ST(7, _mm256_permute2f128_ps(u3, u7, 0x31))
#undef TC_TR_ST
}
#endif
static void TC_FN(transpose)(size_t rows, size_t cols, const float *src, size_t lds, float *dst, size_t ldd) {
#if TC_VW >= 8 && defined(__x86_64__)
    for (size_t i = 0; i < rows; i += 8)
        for (size_t j = 0; j < cols; j += 8)
            TC_FN(transpose8x8)(src + i * lds + j, lds, rows - i < 8 ? (int)(rows - i) : 8, cols - j < 8 ? (int)(cols - j) : 8,
                                dst + j * ldd + i, ldd);
#else
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
#endif
}

// The input gradient of a valid k x k conv without col2im (contract: tinyconv_kernels.h, the
// kernel list). Each output position's column-gradient row, one kernel row at a time (a run of
// k*Cin taps, which is one contiguous stretch of a dx row), is computed in registers (a fresh
// chain over Cout per element, as the GEMM computes dcol) and added straight into dx, positions
// in order: col2im's additions in col2im's order, without the column matrix. RB positions of one
// output row share each weight vector; their runs overlap in dx (shifted by Cin) and are added
// position by position, so every dx element still receives its terms by increasing position.
// o: the first run float of this call, nv vectors of it, tail: live lanes of the last vector;
// wr [k][Cout][wstride]: a kernel row's weights stay together (in L1 for the zoo's shapes).
#define DEFINE_DXR(NAME, RB, NV)                                                                         \
    static inline void NAME(const float *d, size_t cout, const float *wr, size_t wstride, int k, int o,  \
                            int tail, float *dxo, size_t line, size_t cin) {                            \
        for (int ky = 0; ky < k; ky++) {                                                                \
            vf acc[RB][NV];                                                                             \
            for (int i = 0; i < RB; i++)                                                                \
                for (int v = 0; v < NV; v++) acc[i][v] = (vf){0};                                       \
            const float *wk = wr + (size_t)ky * cout * wstride + o;                                     \
            for (size_t co = 0; co < cout; co++, wk += wstride) {                                       \
                vf bv[NV];                                                                              \
                for (int v = 0; v < NV; v++) bv[v] = ld(wk + v * TC_VW);                                \
                for (int i = 0; i < RB; i++) {                                                          \
                    const vf a = d[(size_t)i * cout + co] - (vf){0};                                    \
                    for (int v = 0; v < NV; v++) acc[i][v] = VFMA(a, bv[v], acc[i][v]);                 \
                }                                                                                       \
            }                                                                                           \
            float *t = dxo + (size_t)ky * line + o;                                                     \
            for (int i = 0; i < RB; i++)                                                                \
                for (int v = 0; v < NV; v++) {                                                          \
                    float *p = t + (size_t)i * cin + (size_t)v * TC_VW;                                 \
                    if (v < NV - 1 || tail == TC_VW) st(p, ld(p) + acc[i][v]);                          \
                    else stn(p, ldn(p, tail) + acc[i][v], tail);                                        \
                }                                                                                       \
        }                                                                                               \
    }
// Positions per group by the run's vector count, within the register file (RB x NV accumulators,
// NV weight vectors, one broadcast).
#if TC_VW == 16
#define TC_DXR_GROUPS(X) X(1, 12) X(2, 9) X(3, 7) X(4, 5)
#else
#define TC_DXR_GROUPS(X) X(1, 8) X(2, 5) X(3, 3) X(4, 2)
#endif
#define TC_DXR_DEFINE(NV, RB) DEFINE_DXR(TC_CAT4(dxr_group_, NV, _, TC_ISA_SUFFIX), RB, NV) \
                              DEFINE_DXR(TC_CAT4(dxr_single_, NV, _, TC_ISA_SUFFIX), 1, NV)
TC_DXR_GROUPS(TC_DXR_DEFINE)

static void TC_FN(conv_input_gradient_rows)(int n, int h, int w, int cin, int cout, int k, const float *dy,
                                            const float *wr, float *dx) {
    const int ho = h - k + 1, wo = w - k + 1, krun = k * cin, nv = (krun + TC_VW - 1) / TC_VW;
    const size_t wstride = tc_round_up((size_t)krun, 16), line = (size_t)w * cin;  // wr's row: one run
    const size_t co = (size_t)cout, ci = (size_t)cin;
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < ho; oy++) {
            const float *drow = dy + ((size_t)img * ho + (size_t)oy) * wo * co;
            float *xrow = dx + ((size_t)img * h + (size_t)oy) * line;
            int ox = 0;
            if (nv > 4) {  // long runs: one position at a time, the run in chunks of 4 vectors
                for (; ox < wo; ox++)
                    for (int o = 0; o < krun; o += 4 * TC_VW) {
                        const int left = krun - o, cv = left >= 4 * TC_VW ? 4 : (left + TC_VW - 1) / TC_VW;
                        const int tail = left >= 4 * TC_VW ? TC_VW : left - (cv - 1) * TC_VW;
                        const float *d = drow + (size_t)ox * co;
                        float *xo = xrow + (size_t)ox * ci;
                        switch (cv) {
#define TC_DXR_CHUNK(NV, RB) case NV: TC_CAT4(dxr_single_, NV, _, TC_ISA_SUFFIX)(d, co, wr, wstride, k, o, tail, xo, line, ci); break;
                            TC_DXR_GROUPS(TC_DXR_CHUNK)
#undef TC_DXR_CHUNK
                        }
                    }
                continue;
            }
            const int tail = krun - (nv - 1) * TC_VW;
            switch (nv) {
#define TC_DXR_ROW(NV, RB)                                                                                      \
    case NV:                                                                                                    \
        for (; ox + RB <= wo; ox += RB)                                                                         \
            TC_CAT4(dxr_group_, NV, _, TC_ISA_SUFFIX)(drow + (size_t)ox * co, co, wr, wstride, k, 0, tail,      \
                                                      xrow + (size_t)ox * ci, line, ci);                        \
        for (; ox < wo; ox++)                                                                                   \
            TC_CAT4(dxr_single_, NV, _, TC_ISA_SUFFIX)(drow + (size_t)ox * co, co, wr, wstride, k, 0, tail,     \
                                                       xrow + (size_t)ox * ci, line, ci);                       \
        break;
                TC_DXR_GROUPS(TC_DXR_ROW)
#undef TC_DXR_ROW
            }
        }
}

// Rows r0 .. r0+rows of the column matrix, row i at d + i * ldd. The row's (image, oy, ox)
// is stepped, not divided out per row (three integer divisions cost more than the copy).
static void TC_FN(im2col_rows)(tc_conv_shape sh, const float *x, size_t r0, size_t rows, float *d, size_t ldd) {
    const int ho = tc_conv_out_h(sh), wo = tc_conv_out_w(sh);
    const size_t cin = (size_t)sh.cin, krow = (size_t)sh.k * cin, image = (size_t)sh.h * sh.w * cin;
    int ox = (int)(r0 % (size_t)wo), oy = (int)((r0 / (size_t)wo) % (size_t)ho);
    const float *img = x + r0 / ((size_t)wo * ho) * image;
    const size_t vecs = krow / TC_VW, line = (size_t)sh.w * cin;
    const int tail = (int)(krow % TC_VW);
    for (size_t i = 0; i < rows; i++, d += ldd) {
        const int x0 = ox - sh.pad, kx_lo = x0 < 0 ? -x0 : 0;
        const int kx_hi = x0 + sh.k > sh.w ? sh.w - x0 : sh.k;  // exclusive
        const int y0 = oy - sh.pad;
        float *dr = d;
        if (kx_lo == 0 && kx_hi == sh.k && y0 >= 0 && y0 + sh.k <= sh.h) {
            // interior (every row of a valid conv): k runs of k*Cin floats, one line apart, with
            // the run's vector count and tail mask fixed for the call, not worked out per run
            const float *src = img + ((size_t)y0 * sh.w + x0) * cin;
            for (int ky = 0; ky < sh.k; ky++, dr += krow, src += line) {
                size_t j = 0;
                for (size_t v = 0; v < vecs; v++, j += TC_VW) st(dr + j, ld(src + j));
                if (tail) stn(dr + j, ldn(src + j, tail), tail);
            }
        } else {
            for (int ky = 0; ky < sh.k; ky++, dr += krow) {
                const int iy = oy + ky - sh.pad;
                if (iy < 0 || iy >= sh.h || kx_hi <= kx_lo) {
                    TC_FN(zero_run)(dr, krow);
                    continue;
                }
                if (kx_lo > 0) TC_FN(zero_run)(dr, (size_t)kx_lo * cin);
                TC_FN(copy_run)(dr + (size_t)kx_lo * cin, img + ((size_t)iy * sh.w + (x0 + kx_lo)) * cin,
                                (size_t)(kx_hi - kx_lo) * cin);
                if (kx_hi < sh.k) TC_FN(zero_run)(dr + (size_t)kx_hi * cin, (size_t)(sh.k - kx_hi) * cin);
            }
        }
        if (++ox == wo) {
            ox = 0;
            if (++oy == ho) { oy = 0; img += image; }
        }
    }
}

// The inverse scatter: for each kernel row, the in-bounds kx span is one contiguous run in
// both d and NHWC dx, added in vectors (the same additions in the same order as element by
// element, so the same bits).
static void TC_FN(col2im_rows_add)(tc_conv_shape sh, size_t r0, size_t rows, const float *d, size_t ldd, float *dx) {
    const int ho = tc_conv_out_h(sh), wo = tc_conv_out_w(sh);
    const size_t cin = (size_t)sh.cin, image = (size_t)sh.h * sh.w * cin;
    int ox = (int)(r0 % (size_t)wo), oy = (int)((r0 / (size_t)wo) % (size_t)ho);
    float *img = dx + r0 / ((size_t)wo * ho) * image;
    for (size_t i = 0; i < rows; i++, d += ldd) {
        const int x0 = ox - sh.pad, kx_lo = x0 < 0 ? -x0 : 0;
        const int kx_hi = x0 + sh.k > sh.w ? sh.w - x0 : sh.k;  // exclusive
        const size_t len = kx_hi > kx_lo ? (size_t)(kx_hi - kx_lo) * cin : 0;
        for (int ky = 0; ky < sh.k && len > 0; ky++) {
            const int iy = oy + ky - sh.pad;
            if (iy < 0 || iy >= sh.h) continue;
            float *dst = img + ((size_t)iy * sh.w + (x0 + kx_lo)) * cin;
            const float *src = d + ((size_t)ky * sh.k + kx_lo) * cin;
            size_t j = 0;
            for (; j + TC_VW <= len; j += TC_VW) st(dst + j, ld(dst + j) + ld(src + j));
            if (j < len) {
                const int n = (int)(len - j);
                stn(dst + j, ldn(dst + j, n) + ldn(src + j, n), n);
            }
        }
        if (++ox == wo) {
            ox = 0;
            if (++oy == ho) { oy = 0; img += image; }
        }
    }
}

// db [Cout] += sum over images of that image's column sum of dy [images][rows][Cout], each
// image's sum taken as ((p0 + p1) + (p2 + p3)) with pj the in-order sum of its rows r = j
// mod 4: four independent chains instead of one serial chain per channel (which made a
// 6-channel bias gradient latency-bound), and an order that is the same whether a caller
// passes one image or many (the fused conv + pool calls it per image).
static inline vf TC_FN(ld_lanes)(const float *p, int lanes) { return lanes >= TC_VW ? ld(p) : ldn(p, lanes); }
static inline void TC_FN(st_lanes)(float *p, vf v, int lanes) {
    if (lanes >= TC_VW) st(p, v);
    else stn(p, v, lanes);
}
#define TC_BIAS_ROWS(LOAD)                                                                   \
    for (size_t im = 0; im < images; im++) {                                                 \
        vf p0[2] = {{0}, {0}}, p1[2] = {{0}, {0}}, p2[2] = {{0}, {0}}, p3[2] = {{0}, {0}};   \
        const float *q = dy + im * rows * (size_t)cout + c0;                                 \
        const size_t step = (size_t)cout;                                                    \
        size_t r = 0;                                                                        \
        for (; r + 4 <= rows; r += 4, q += 4 * step)                                         \
            for (int j = 0; j < nv; j++) {                                                   \
                p0[j] += LOAD(q + j * TC_VW);                                                \
                p1[j] += LOAD(q + step + j * TC_VW);                                         \
                p2[j] += LOAD(q + 2 * step + j * TC_VW);                                     \
                p3[j] += LOAD(q + 3 * step + j * TC_VW);                                     \
            }                                                                                \
        for (int j = 0; j < nv; j++) {  /* rows r .. rows-1 go to p0, p1, p2 in turn */     \
            if (r < rows) p0[j] += LOAD(q + j * TC_VW);                                      \
            if (r + 1 < rows) p1[j] += LOAD(q + step + j * TC_VW);                           \
            if (r + 2 < rows) p2[j] += LOAD(q + 2 * step + j * TC_VW);                       \
        }                                                                                    \
        for (int j = 0; j < nv; j++) acc[j] += (p0[j] + p1[j]) + (p2[j] + p3[j]);            \
    }
static void TC_FN(bias_grad)(size_t images, size_t rows, int cout, const float *dy, float *db) {
    for (int c0 = 0; c0 < cout; c0 += 2 * TC_VW) {
        const int n = cout - c0 < 2 * TC_VW ? cout - c0 : 2 * TC_VW;
        const int nv = (n + TC_VW - 1) / TC_VW, tail = n - (nv - 1) * TC_VW;
        vf acc[2] = {{0}, {0}};
        for (int j = 0; j < nv; j++) acc[j] = TC_FN(ld_lanes)(db + c0 + j * TC_VW, j == nv - 1 ? tail : TC_VW);
        if (tail == TC_VW) {  // whole vectors, no masks
#define TC_LD_WHOLE(ptr) ld(ptr)
            TC_BIAS_ROWS(TC_LD_WHOLE)
#undef TC_LD_WHOLE
        } else {
#define TC_LD_TAIL(ptr) TC_FN(ld_lanes)((ptr), j == nv - 1 ? tail : TC_VW)
            TC_BIAS_ROWS(TC_LD_TAIL)
#undef TC_LD_TAIL
        }
        for (int j = 0; j < nv; j++) TC_FN(st_lanes)(db + c0 + j * TC_VW, acc[j], j == nv - 1 ? tail : TC_VW);
    }
}
#undef TC_BIAS_ROWS

static void TC_FN(relu_forward)(size_t count, const float *x, float *y) {
    size_t i = 0;
    for (; i + TC_VW <= count; i += TC_VW) st(y + i, VMAX(ld(x + i), (vf){0}));
    for (; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void TC_FN(relu_backward)(size_t count, const float *y, const float *dy, float *dx) {
    size_t i = 0;
    for (; i + TC_VW <= count; i += TC_VW)
        st(dx + i, (vf)((vi)ld(dy + i) & (ld(y + i) > (vf){0})));
    for (; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// Inverted dropout, TC_VW elements per step: the splitmix64 hash of every element's
// index runs in 64-bit lanes (AVX-512DQ multiplies them natively; below it the compiler
// builds the 64-bit product from 32-bit ones), so the mask is the scalar one, bit for bit.
// key: the stream's key (dropout.c); lane l of a step hashes key + (first + i + l) * G.
// (Macros, not functions: a 64-bit-lane vector argument would change the calling
// convention between ISAs, -Wpsabi.)
#define TC_SPLITMIX64(zin)                              \
    ({                                                  \
        vu64 z_ = (zin);                                \
        z_ = (z_ ^ (z_ >> 30)) * 0xbf58476d1ce4e5b9ULL; \
        z_ = (z_ ^ (z_ >> 27)) * 0x94d049bb133111ebULL; \
        z_ ^ (z_ >> 31);                                \
    })
// Keep mask (-1 / 0 lanes) for the TC_VW elements whose hash inputs are h.
#define TC_DROPOUT_KEEP(h, rate)                                                                   \
    ((vi)(__builtin_convertvector(__builtin_convertvector(TC_SPLITMIX64(h) >> 40, vi), vf) *       \
              splat(1.0f / 16777216.0f) >=                                                         \
          splat(rate)))
static void TC_FN(dropout_forward)(size_t count, float rate, float scale, uint64_t key, uint64_t first,
                                   const float *x, float *y, uint8_t *mask) {
    const uint64_t golden = 0x9e3779b97f4a7c15ULL;
    vu64 lane;
    for (int l = 0; l < TC_VW; l++) lane[l] = (uint64_t)l * golden;
    vu64 h = key + first * golden + lane;  // wraps mod 2^64 exactly as the scalar form
    const vu64 step = (vu64){0} + (uint64_t)TC_VW * golden;
    size_t i = 0;
    for (; i + TC_VW <= count; i += TC_VW, h += step) {
        const vi keep = TC_DROPOUT_KEEP(h, rate);
        st(y + i, (vf)((vi)(ld(x + i) * splat(scale)) & keep));
        const vu8 m = __builtin_convertvector(keep & 1, vu8);
        memcpy(mask + i, &m, sizeof m);
    }
    if (i < count) {  // the tail through a padded step: same lanes, same arithmetic
        const size_t n = count - i;
        float xt[TC_VW] = {0}, yt[TC_VW];
        memcpy(xt, x + i, n * sizeof(float));
        const vi keep = TC_DROPOUT_KEEP(h, rate);
        const vf yv = (vf)((vi)(ld(xt) * splat(scale)) & keep);
        memcpy(yt, &yv, sizeof yv);
        memcpy(y + i, yt, n * sizeof(float));
        const vu8 m = __builtin_convertvector(keep & 1, vu8);
        memcpy(mask + i, &m, n);
    }
}

static void TC_FN(dropout_backward)(size_t count, float scale, const uint8_t *mask, const float *dy,
                                    float *dx) {
    size_t i = 0;
    for (; i + TC_VW <= count; i += TC_VW) {
        vu8 m;
        memcpy(&m, mask + i, sizeof m);
        const vi keep = __builtin_convertvector(m, vi) != 0;
        st(dx + i, (vf)((vi)(ld(dy + i) * splat(scale)) & keep));
    }
    for (; i < count; i++) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

static void TC_FN(sgd_momentum)(size_t count, float lr, float momentum, float l2, float *w, float *v,
                         const float *g) {
    const float l2x2 = 2.0f * l2;
    size_t i = 0;
    const vf vm = splat(momentum), vlr = splat(lr), vl2 = splat(l2x2);
    for (; i + TC_VW <= count; i += TC_VW) {
        const vf wi = ld(w + i);
        const vf gi = ld(g + i) + vl2 * wi;
        const vf vi_ = vm * ld(v + i) - vlr * gi;
        st(v + i, vi_);
        st(w + i, wi + vi_);
    }
    for (; i < count; i++) {
        const float gi = g[i] + l2x2 * w[i];
        v[i] = momentum * v[i] - lr * gi;
        w[i] = w[i] + v[i];
    }
}

// PyTorch's AdamW step (torch.optim.AdamW, its single-tensor path): the decoupled decay first,
// m by lerp, v = b2 v + (1 - b2) g^2, then w -= (lr / bc1) m / (sqrt(v) / bc2s + eps). The tail
// goes through one padded vector step, so every element sees the same operations wherever it
// falls (work items cut the parameters at fixed places: the same bits at any thread count).
#define TC_ADAMW_STEP(W, M, V, G)                                                     \
    do {                                                                              \
        const vf g_ = (G), m_ = (M) + a1 * (g_ - (M));                                \
        const vf v_ = b2 * (V) + a2 * (g_ * g_);                                      \
        const vf d_ = __builtin_elementwise_sqrt(v_) / bc2s + ep;                     \
        (W) = (W) * decay - step * (m_ / d_);                                         \
        (M) = m_;                                                                     \
        (V) = v_;                                                                     \
    } while (0)
static void TC_FN(adamw)(size_t count, float lr, float beta1, float beta2, float eps, float weight_decay, float bc1,
                         float bc2_sqrt, float *w, float *m, float *v, const float *g) {
    const vf decay = splat(1.0f - lr * weight_decay), a1 = splat(1.0f - beta1), a2 = splat(1.0f - beta2);
    const vf b2 = splat(beta2), bc2s = splat(bc2_sqrt), ep = splat(eps), step = splat(lr / bc1);
    size_t i = 0;
    for (; i + TC_VW <= count; i += TC_VW) {
        vf wv = ld(w + i), mv = ld(m + i), vv = ld(v + i);
        TC_ADAMW_STEP(wv, mv, vv, ld(g + i));
        st(w + i, wv);
        st(m + i, mv);
        st(v + i, vv);
    }
    if (i < count) {
        const size_t n = count - i;
        float t[4][TC_VW] = {{0}};
        memcpy(t[0], w + i, n * sizeof(float));
        memcpy(t[1], m + i, n * sizeof(float));
        memcpy(t[2], v + i, n * sizeof(float));
        memcpy(t[3], g + i, n * sizeof(float));
        vf wv = ld(t[0]), mv = ld(t[1]), vv = ld(t[2]);
        TC_ADAMW_STEP(wv, mv, vv, ld(t[3]));
        st(t[0], wv);
        st(t[1], mv);
        st(t[2], vv);
        memcpy(w + i, t[0], n * sizeof(float));
        memcpy(m + i, t[1], n * sizeof(float));
        memcpy(v + i, t[2], n * sizeof(float));
    }
}
#undef TC_ADAMW_STEP

// ---- batch normalization, channels in vectors (a masked tail for the last), rows in order
// The reductions keep four partial sums (rows r mod 4) and add them as (0 + 1) + (2 + 3): with
// few channels (LeNet-5's 6) a row is one vector, and a single accumulator would wait on the
// add latency every row.
#define TC_BN_CHANNELS(c, ...)                                       \
    for (int ch = 0; ch < (c); ch += TC_VW) {                         \
        const int lanes = (c) - ch;                                   \
        __VA_ARGS__                                                   \
    }
// acc_k += TERM(r) over rows, four chains; TERM reads row r (a vf expression of r)
#define TC_BN_SUM4(acc, rows, TERM)                                  \
    vf acc##0 = (vf){0}, acc##1 = (vf){0}, acc##2 = (vf){0}, acc##3 = (vf){0}; \
    {                                                                 \
        size_t r = 0;                                                 \
        for (; r + 4 <= (rows); r += 4) {                             \
            acc##0 += TERM(r);                                        \
            acc##1 += TERM(r + 1);                                    \
            acc##2 += TERM(r + 2);                                    \
            acc##3 += TERM(r + 3);                                    \
        }                                                             \
        for (; r < (rows); r++) acc##0 += TERM(r);                    \
    }                                                                 \
    const vf acc = (acc##0 + acc##1) + (acc##2 + acc##3);
#define TC_BN_X(r) LDC(x + (r) * (size_t)c + ch)
#define TC_BN_DY(r) LDC(dy + (r) * (size_t)c + ch)
#define TC_BN_SQ(r) ((TC_BN_X(r) - m) * (TC_BN_X(r) - m))
#define TC_BN_DY_XHAT(r) (TC_BN_DY(r) * ((TC_BN_X(r) - m) * is))
static void TC_FN(bn_sums)(size_t rows, int c, const float *x, float *s) {
    TC_BN_CHANNELS(c,
        TC_BN_SUM4(acc, rows, TC_BN_X)
        STC(s + ch, acc);)
}
static void TC_FN(bn_squares)(size_t rows, int c, const float *x, const float *mean, float *s) {
    TC_BN_CHANNELS(c,
        const vf m = LDC(mean + ch);
        TC_BN_SUM4(acc, rows, TC_BN_SQ)
        STC(s + ch, acc);)
}
static void TC_FN(bn_normalize)(size_t rows, int c, const float *x, const float *mean, const float *scale,
                                const float *shift, int relu, float *y) {
    TC_BN_CHANNELS(c,
        const vf m = LDC(mean + ch), k = LDC(scale + ch), b = LDC(shift + ch);
        for (size_t r = 0; r < rows; r++) {
            vf v = (LDC(x + r * (size_t)c + ch) - m) * k + b;
            if (relu) v = VMAX(v, (vf){0});
            STC(y + r * (size_t)c + ch, v);
        })
}
static void TC_FN(bn_backward_sums)(size_t rows, int c, const float *x, const float *mean, const float *inv_std,
                                    const float *dy, float *g1, float *g2) {
    TC_BN_CHANNELS(c,
        const vf m = LDC(mean + ch), is = LDC(inv_std + ch);
        vf p0 = (vf){0}, p1 = (vf){0}, p2 = (vf){0}, p3 = (vf){0};  // sum dy, chains r mod 4
        vf q0 = (vf){0}, q1 = (vf){0}, q2 = (vf){0}, q3 = (vf){0};  // sum dy * xhat
        size_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            p0 += TC_BN_DY(r); q0 += TC_BN_DY_XHAT(r);
            p1 += TC_BN_DY(r + 1); q1 += TC_BN_DY_XHAT(r + 1);
            p2 += TC_BN_DY(r + 2); q2 += TC_BN_DY_XHAT(r + 2);
            p3 += TC_BN_DY(r + 3); q3 += TC_BN_DY_XHAT(r + 3);
        }
        for (; r < rows; r++) { p0 += TC_BN_DY(r); q0 += TC_BN_DY_XHAT(r); }
        STC(g1 + ch, (p0 + p1) + (p2 + p3));
        STC(g2 + ch, (q0 + q1) + (q2 + q3));)
}
static void TC_FN(bn_backward_data)(size_t rows, int c, const float *x, const float *mean, const float *inv_std,
                                    const float *k, const float *g1, const float *g2, float inv_n, const float *dy,
                                    float *dx) {
    TC_BN_CHANNELS(c,
        const vf m = LDC(mean + ch), is = LDC(inv_std + ch), kk = LDC(k + ch);
        const vf s1 = LDC(g1 + ch) * splat(inv_n), s2 = LDC(g2 + ch) * splat(inv_n);
        for (size_t r = 0; r < rows; r++) {
            const vf xhat = (LDC(x + r * (size_t)c + ch) - m) * is;
            STC(dx + r * (size_t)c + ch, kk * (LDC(dy + r * (size_t)c + ch) - s1 - xhat * s2));
        })
}
#undef TC_BN_CHANNELS
#undef TC_BN_SUM4
#undef TC_BN_X
#undef TC_BN_DY
#undef TC_BN_SQ
#undef TC_BN_DY_XHAT

static void TC_FN(add)(size_t count, const float *a, const float *b, float *dst) {
    size_t i = 0;
    for (; i + TC_VW <= count; i += TC_VW) st(dst + i, ld(a + i) + ld(b + i));
    for (; i < count; i++) dst[i] = a[i] + b[i];
}

// 24 independent accumulator chains: enough to cover FMA latency x throughput on
// every ISA here, few enough to stay in registers (AVX-512 and AVX2 have 32 / 16).
static double TC_FN(peak_probe)(uint64_t iterations) {
#define NACC (TC_VW == 16 ? 24 : 12)
    vf acc[NACC];
    for (int j = 0; j < NACC; j++) acc[j] = splat(1.0f + j * 1e-3f);
    const vf m = splat(0.999999f), a = splat(1e-7f);
    for (uint64_t it = 0; it < iterations; it++) {
        for (int j = 0; j < NACC; j++) acc[j] = VFMA(acc[j], m, a);
        __asm__ volatile("" : "+x"(acc[0]));  // keep the loop from being folded
    }
    vf s = (vf){0};
    for (int j = 0; j < NACC; j++) s += acc[j];
    volatile float sink = s[0];
    (void)sink;
    return (double)iterations * NACC * TC_VW * 2.0;
#undef NACC
}

const tc_isa_kernels TC_TABLE = {
    .isa = TC_ISA_ID,
    .vector_floats = TC_VW,
    .blocking = TC_BLOCKING,
    .tiles = TC_FN(tiles),
    .tile_count = (int)(sizeof TC_FN(tiles) / sizeof TC_FN(tiles)[0]),
    .gemm_wide = TC_ROLE_WIDE,
    .gemm_narrow = TC_ROLE_NARROW,
    .gemm_half = TC_ROLE_HALF,
    .gemm_short = TC_ROLE_SHORT,
    .gemm_taps = TC_ROLE_TAPS,
    .gemm_octa = TC_ROLE_OCTA,
#define TC_KERNEL_ENTRY(name, params, args) .name = TC_FN(name),
    TC_VECTOR_KERNELS(TC_KERNEL_ENTRY)
#undef TC_KERNEL_ENTRY
    .maxpool2x2_forward_code = TC_FN(maxpool2x2_forward_code),
    .conv1ch_direct_rows = TC_FN(conv1ch_direct_rows),
    .conv1ch_direct_channels = TC_DIRECT_CB,
    .conv1ch_weight_grad = TC_FN(conv1ch_weight_grad),
    .copy_panel = TC_FN(copy_panel),
    .im2col_rows = TC_FN(im2col_rows),
    .bias_grad = TC_FN(bias_grad),
    .col2im_rows_add = TC_FN(col2im_rows_add),
    .dropout_forward = TC_FN(dropout_forward),
    .dropout_backward = TC_FN(dropout_backward),
    .add = TC_FN(add),
    .peak_probe = TC_FN(peak_probe),
};
