// The Cin = 1 convolution (a network's first layer on a one-channel image) without im2col:
// two forward algorithms with the same bits (a GEMM whose A operand reads the taps straight
// from the zero-padded image plane, or a direct kernel with output positions in vector lanes)
// and the weight gradient. Also the forward fused with the ReLU and 2x2 max pool after it,
// two conv rows at a time (the backward of that fusion is in conv_pool.c).
#include <assert.h>
#include <string.h>
#include "conv_internal.h"

// Each image is copied once into a zero-padded plane P [(H+2p) x (W+2p)], and an output
// row's MR consecutive positions read their taps straight from P:
// A(i, tap) = P[(oy*Wp + ox0 + i) + koff[tap]], koff = ky*Wp + kx.
enum { CIN1_MAX_TAPS = 121, CIN1_SLACK = 64 };

int tc_conv_cin1_direct(tc_conv_shape s) { return s.cin == 1 && s.k > 1 && s.k * s.k <= CIN1_MAX_TAPS; }

int tc_conv_cin1_choices(tc_conv_shape s, int d) {
    if (d == TC_DIR_FORWARD) return TC_CHOICE_TILE | TC_CHOICE_VARIANT;  // K = taps: one block, no blocking
    if (d == TC_DIR_BACKWARD_WEIGHTS) return s.cout > 8 ? TC_CHOICE_TILE | TC_CHOICE_BLOCKING : 0;  // narrow: fixed
    return 0;
}

static int plane_w(tc_conv_shape s) { return s.w + 2 * s.pad; }
static int plane_h(tc_conv_shape s) { return s.h + 2 * s.pad; }

// Copies image n of x [N][H][W][1] into the zero-padded plane [(H+2p) x (W+2p)] (the
// padding border, zeroed once by the caller, is never written).
static void fill_padded_plane(tc_conv_shape s, const float *x, int n, float *plane) {
    const size_t wp = (size_t)plane_w(s);
    const float *img = x + (size_t)n * s.h * s.w;
    for (int r = 0; r < s.h; r++)
        memcpy(plane + (size_t)(r + s.pad) * wp + s.pad, img + (size_t)r * s.w, (size_t)s.w * sizeof(float));
}

// ---- the direct kernel's plane: P split by column parity, E[y][j] = P[y][2j] then
// O[y][j] = P[y][2j+1], each (Hp + 1) rows of wh floats (the extra zero row serves a last
// odd row computed as a pair). An output column ox = 2l + e reads tap (ky, kx) at
// column 2l + e + kx: plane (e + kx) & 1, column l + (e + kx) / 2, so each vector of TC_VW
// consecutive l is one contiguous load and a 2x2 pool window is four lanes at the same l.
static size_t split_row(tc_conv_shape s) {
    const size_t half = (size_t)(tc_conv_out_w(s) + 1) / 2;
    return tc_round_up(half, 16) + (size_t)s.k / 2 + 1;  // 16: the widest vector, so any ISA fits
}
static size_t split_plane_floats(tc_conv_shape s) { return 2 * ((size_t)plane_h(s) + 1) * split_row(s); }
// Channels padded to a whole number of the ISA's direct-kernel blocks (3 or 6); the workspace
// is sized for 6, which is at least as much.
static size_t direct_channels_padded(tc_conv_shape s, int block) { return tc_round_up((size_t)s.cout, (size_t)block); }

static void fill_split_plane(tc_conv_shape s, const float *x, int n, float *plane) {
    const size_t wh = split_row(s), rows = (size_t)plane_h(s) + 1, osz = rows * wh;
    const float *img = x + (size_t)n * s.h * s.w;
    memset(plane, 0, 2 * osz * sizeof(float));
    for (int r = 0; r < s.h; r++) {
        float *even = plane + (size_t)(r + s.pad) * wh, *odd = even + osz;
        const float *src = img + (size_t)r * s.w;
        for (int c = 0; c < s.w; c++) {
            const int px = c + s.pad;  // column in the padded plane
            (px & 1 ? odd : even)[px >> 1] = src[c];
        }
    }
}

// The direct kernel's operands: tap offsets for even and odd output columns, the weights
// [taps][cpad] and bias [cpad] zero-padded to whole channel blocks.
typedef struct {
    int32_t koff[2 * CIN1_MAX_TAPS];
    size_t wh;
    float *plane, *w, *b;
} direct_ctx;

static void direct_init(direct_ctx *d, const tc_isa_kernels *t, tc_conv_shape s, const float *w, const float *b,
                        float *workspace) {
    const size_t taps = tc_conv_taps(s), cpad = direct_channels_padded(s, t->conv1ch_direct_channels), co = (size_t)s.cout;
    d->wh = split_row(s);
    const size_t osz = ((size_t)plane_h(s) + 1) * d->wh;
    for (int e = 0; e < 2; e++)
        for (int ky = 0; ky < s.k; ky++)
            for (int kx = 0; kx < s.k; kx++)
                d->koff[(size_t)e * taps + (size_t)(ky * s.k + kx)] =
                    (int32_t)(((e + kx) & 1) * osz + (size_t)ky * d->wh + (size_t)((e + kx) >> 1));
    d->plane = workspace;
    d->w = d->plane + split_plane_floats(s);
    d->b = d->w + taps * cpad;
    for (size_t t = 0; t < taps; t++)
        for (size_t c = 0; c < cpad; c++) d->w[t * cpad + c] = c < co ? w[t * co + c] : 0.0f;
    for (size_t c = 0; c < cpad; c++) d->b[c] = (b && c < co) ? b[c] : 0.0f;
}
static size_t direct_workspace_floats(tc_conv_shape s) {
    return split_plane_floats(s) + (tc_conv_taps(s) + 1) * direct_channels_padded(s, 6) + 64;
}

// ---- the GEMM over the plane, split so that a caller can produce output rows one at a
// time (the fused conv + pool computes two rows, pools them, and moves on).
typedef struct {
    tc_gemm_ukernel uk;
    size_t K, co;
    int wo, wp, flags;
    float *plane;
    const float *bpack, *bias_pad;
    int32_t koff[CIN1_MAX_TAPS];
} gemm_ctx;

// Packs the weights and bias into the workspace and clears the plane's padding.
static void gemm_init(gemm_ctx *f, const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *w,
                      const float *b, int relu, float *workspace) {
    f->uk = tc_gemm_setup_for(t, a, tc_gemm_choose_ukernel(t, (size_t)s.cout)).uk;
    const size_t NR = (size_t)f->uk.nr;
    f->K = tc_conv_taps(s);
    f->co = (size_t)s.cout;
    f->wo = tc_conv_out_w(s);
    f->wp = plane_w(s);
    f->flags = relu ? TC_UK_RELU : 0;
    const int hp = plane_h(s);
    const size_t ncp = tc_round_up(f->co, NR);
    f->plane = workspace;
    float *bpack = f->plane + (size_t)hp * f->wp + CIN1_SLACK;
    float *bias_pad = bpack + f->K * ncp;
    for (int ky = 0; ky < s.k; ky++)
        for (int kx = 0; kx < s.k; kx++) f->koff[ky * s.k + kx] = ky * f->wp + kx;
    const tc_panel_source wt = tc_src_strided(w, 1, s.cout);
    for (size_t jr = 0; jr < f->co; jr += NR)
        tc_pack_b(t, &wt, jr, f->co - jr < NR ? f->co - jr : NR, NR, 0, f->K, bpack + jr * f->K);
    for (size_t j = 0; j < ncp; j++) bias_pad[j] = (b && j < f->co) ? b[j] : 0.0f;
    f->bpack = bpack;
    f->bias_pad = bias_pad;
    memset(f->plane, 0, ((size_t)hp * f->wp + CIN1_SLACK) * sizeof(float));
}

// yrow [Wo][ldc] = output row oy of the image currently in the plane. With ldc >= Cout
// rounded up to the tile width, every column panel is written whole (the padded channels
// get ReLU(0 + 0) = 0), so every tile stores whole vectors (no masked edge columns).
static void gemm_row(const gemm_ctx *f, int oy, float *yrow, size_t ldc) {
    const size_t MR = (size_t)f->uk.mr, NR = (size_t)f->uk.nr, co = f->co;
    const int whole = ldc >= tc_round_up(co, NR);
    for (size_t ox0 = 0; ox0 < (size_t)f->wo; ox0 += MR) {
        const size_t mr = (size_t)f->wo - ox0 < MR ? (size_t)f->wo - ox0 : MR;
        const float *a = f->plane + (size_t)oy * f->wp + ox0;
        // ragged tiles: rows past mr read inside the plane's slack and are dropped
        for (size_t jr = 0; jr < co; jr += NR)
            f->uk.fn_koff(f->K, a, 1, f->bpack + jr * f->K, NR, yrow + ox0 * ldc + jr, ldc, f->bias_pad + jr, f->flags, f->koff,
                          (int)mr, (int)(whole || co - jr >= NR ? NR : co - jr));
    }
}

static size_t gemm_plane_floats(tc_conv_shape s) { return (size_t)plane_h(s) * plane_w(s) + CIN1_SLACK; }

// Two conv rows with channels padded to the widest tile (the fused forward's row buffer).
static size_t pooled_rows_floats(tc_conv_shape s) {
    return 2 * (size_t)tc_conv_out_w(s) * tc_tile_padded((size_t)s.cout) + 64;
}

static int use_direct(const tc_gemm_algo *a) { return a && a->variant == TC_VARIANT_ALT; }

void tc_conv_cin1_forward(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x,
                          const float *w, const float *b, float *y, int relu, float *workspace) {
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    const size_t row = (size_t)wo * s.cout;
    if (use_direct(a)) {
        direct_ctx d;
        direct_init(&d, t, s, w, b, workspace);
        for (int n = 0; n < s.n; n++) {
            fill_split_plane(s, x, n, d.plane);
            for (int oy = 0; oy < ho; oy += 2)
                t->conv1ch_direct_rows(d.plane + (size_t)oy * d.wh, d.wh, d.koff, (int)tc_conv_taps(s), d.w, d.b, s.cout,
                                       wo, ho - oy < 2 ? 1 : 2, relu, y + ((size_t)n * ho + oy) * row, NULL);
        }
        return;
    }
    gemm_ctx f;
    gemm_init(&f, t, s, a, w, b, relu, workspace);
    for (int n = 0; n < s.n; n++) {
        fill_padded_plane(s, x, n, f.plane);
        for (int oy = 0; oy < ho; oy++) gemm_row(&f, oy, y + ((size_t)n * ho + oy) * row, f.co);
    }
}

void tc_conv_cin1_forward_pooled(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x,
                                 const float *w, const float *b, float *y, uint8_t *code, float *workspace) {
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s), po = ho / 2, pw = wo / 2;
    const size_t prow = (size_t)pw * s.cout;
    if (use_direct(a)) {  // pooled in the lanes: no row buffer
        direct_ctx d;
        direct_init(&d, t, s, w, b, workspace);
        for (int n = 0; n < s.n; n++) {
            fill_split_plane(s, x, n, d.plane);
            for (int p = 0; p < po; p++) {  // an odd last conv row is dropped by the pool: not computed
                const size_t q = ((size_t)n * po + p) * prow;
                t->conv1ch_direct_rows(d.plane + (size_t)2 * p * d.wh, d.wh, d.koff, (int)tc_conv_taps(s), d.w, d.b,
                                       s.cout, wo, 2, 1, y + q, code + q);
            }
        }
        return;
    }
    float *rows = workspace;  // [2][Wo][ldc]
    gemm_ctx f;
    gemm_init(&f, t, s, a, w, b, 1, workspace + pooled_rows_floats(s));
    const size_t ldc = tc_round_up((size_t)s.cout, (size_t)f.uk.nr);  // channels padded to the tile
    const size_t row = (size_t)wo * ldc;
    for (int n = 0; n < s.n; n++) {
        fill_padded_plane(s, x, n, f.plane);
        for (int p = 0; p < po; p++) {
            gemm_row(&f, 2 * p, rows, ldc);
            gemm_row(&f, 2 * p + 1, rows + row, ldc);
            const size_t q = ((size_t)n * po + p) * prow;
            t->maxpool2x2_forward_code(1, 2, wo, s.cout, (int)ldc, rows, y + q, code + q);
        }
    }
}

// ---- weight gradient
// Packed panels of the wide weight gradient: KC positions x N, N = Cout rounded up to the
// widest tile, with KC the largest any ISA's fixed blocking or the choice uses.
static size_t wgrad_panels_floats(tc_conv_shape s, const tc_gemm_algo *a) {
    const size_t ncp = tc_tile_padded((size_t)s.cout);
    size_t kc = a && a->kc > 0 ? (size_t)a->kc : 0;
    for (int i = 0; i < tc_all_kernels_count; i++)
        if ((size_t)tc_all_kernels[i]->blocking.kc > kc) kc = (size_t)tc_all_kernels[i]->blocking.kc;
    return kc * ncp;
}

size_t tc_conv_cin1_workspace_floats(tc_conv_shape s, const tc_conv_algo *algo) {
    const size_t plane = gemm_plane_floats(s);
    const size_t ncp = tc_tile_padded((size_t)s.cout);
    const size_t kk = (size_t)s.k * s.k;
    const tc_gemm_algo *bw = algo ? &algo->backward_weights : NULL;
    const size_t wide = wgrad_panels_floats(s, bw) + kk * ncp;  // + the padded dw
    const size_t fwd = kk * ncp + ncp;                          // forward panels and bias
    const size_t kpad = ((size_t)tc_conv_out_h(s) * plane_w(s) + TC_MAX_NR) / 16 * 16 + 16;  // >= the narrow kernel's kpad on any vector width
    const size_t narrow = tc_round_up((size_t)s.cout, TC_CIN1_WGRAD_CHANNELS) * kpad;
    size_t most = wide > narrow ? wide : narrow;
    if (fwd > most) most = fwd;
    const size_t gemm_path = plane + most + (size_t)s.cout + TC_MAX_NR + 64;
    const size_t direct = direct_workspace_floats(s);
    // the fused forward keeps two conv rows ahead of either
    const size_t fused = pooled_rows_floats(s) + (gemm_path > direct ? gemm_path : direct);
    return fused;
}

// dw [taps][Cout] (+)= sum over positions of P[pos + koff[tap]] * dy[pos][Cout], with
// positions running over the padded width (columns ox >= Wo get zero dy rows), so one
// image is one contiguous stretch of the plane: A(tap, pos) = P[koff[tap] + pos].
// Few output channels (LeNet-5's conv1: 6): vectorize along positions instead, with the
// output gradient transposed to [channel][position] per image (zero past Wo and past the
// last row, channels padded to a multiple of 6 with zero rows).
static void conv_backward_weights_cin1_narrow(const tc_isa_kernels *t, tc_conv_shape s, const float *x,
                                              const float *dy, float *dw, int accumulate, float *workspace) {
    const size_t T = tc_conv_taps(s), co = (size_t)s.cout, vw = (size_t)t->vector_floats;
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s), hp = plane_h(s), wp = plane_w(s);
    const size_t kpad = ((size_t)ho * wp + vw - 1) / vw * vw;
    const size_t cpad = (co + TC_CIN1_WGRAD_CHANNELS - 1) / TC_CIN1_WGRAD_CHANNELS * TC_CIN1_WGRAD_CHANNELS;
    float *plane = workspace;
    float *dyt = plane + (size_t)hp * wp + CIN1_SLACK;  // [cpad][kpad]
    int32_t koff[CIN1_MAX_TAPS];
    for (size_t i = 0; i < T; i++) koff[i] = (int32_t)((i / (size_t)s.k) * wp + i % (size_t)s.k);
    if (!accumulate) memset(dw, 0, T * co * sizeof(float));
    memset(plane, 0, ((size_t)hp * wp + CIN1_SLACK) * sizeof(float));
    memset(dyt, 0, cpad * kpad * sizeof(float));
    for (int n = 0; n < s.n; n++) {
        fill_padded_plane(s, x, n, plane);
        const float *dyn = dy + (size_t)n * ho * wo * co;
        for (int oy = 0; oy < ho; oy++)  // row oy's [Wo][Cout] to [Cout][Wo] at pitch kpad
            t->transpose((size_t)wo, co, dyn + (size_t)oy * wo * co, co, dyt + (size_t)oy * wp, kpad);
        t->conv1ch_weight_grad(kpad, plane, dyt, (int)T, koff, s.cout, dw);
    }
}

void tc_conv_cin1_backward_weights(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x,
                                   const float *dy, float *dw, int accumulate, float *workspace) {
    if (s.cout <= 8) {
        conv_backward_weights_cin1_narrow(t, s, x, dy, dw, accumulate, workspace);
        return;
    }
    // rows = taps (25 for 5x5): the short 6-row tile wastes 5 rows where the 12-row one wastes 11
    const tc_gemm_setup g = tc_gemm_setup_for(t, a, tc_gemm_choose_ukernel_by_work(t, tc_conv_taps(s), (size_t)s.cout));
    const tc_gemm_ukernel uk = g.uk;
    const size_t MR = (size_t)uk.mr, NR = (size_t)uk.nr, T = tc_conv_taps(s), co = (size_t)s.cout;
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s), hp = plane_h(s), wp = plane_w(s);
    const size_t ncp = (co + NR - 1) / NR * NR, positions = (size_t)ho * wp;
    const size_t KB = g.kc;  // positions per packed block
    float *plane = workspace;
    float *bpack = plane + (size_t)hp * wp + CIN1_SLACK;  // [KB][ncp]
    int32_t roff[CIN1_MAX_TAPS + TC_MAX_MR];
    for (size_t i = 0; i < T + MR; i++)
        roff[i] = i < T ? (int32_t)((i / (size_t)s.k) * wp + i % (size_t)s.k) : 0;  // pad rows read P[0..]
    // When Cout is not a multiple of the tile width, accumulate into dw padded to ncp columns
    // (the padded columns gather zeros), so every tile loads and stores whole vectors; the live
    // columns see the same FMAs in the same order.
    float *dwt = dw;
    size_t ldw = co;
    if (ncp != co) {
        dwt = bpack + wgrad_panels_floats(s, a);
        ldw = ncp;
        t->copy_panel(T, accumulate ? co : 0, ncp, dw, (ptrdiff_t)co, dwt);  // dw, or zeros
    } else if (!accumulate) {
        memset(dw, 0, T * co * sizeof(float));
    }
    memset(plane, 0, ((size_t)hp * wp + CIN1_SLACK) * sizeof(float));
    for (int n = 0; n < s.n; n++) {
        fill_padded_plane(s, x, n, plane);
        const float *dyn = dy + (size_t)n * ho * wo * co;
        for (size_t k0 = 0; k0 < positions; k0 += KB) {
            const size_t kc = positions - k0 < KB ? positions - k0 : KB;
            for (size_t jr = 0; jr < co; jr += NR) {  // B panels: dy rows, zero past Wo
                const size_t nr = co - jr < NR ? co - jr : NR;
                float *bp = bpack + jr * kc;
                size_t oy = k0 / (size_t)wp, ox = k0 % (size_t)wp;
                for (size_t k = 0; k < kc;) {  // runs of live positions, then the padded ones
                    const size_t run = ox < (size_t)wo ? (size_t)wo - ox : (size_t)wp - ox;
                    const size_t len = run < kc - k ? run : kc - k;
                    // live: nr channels of len consecutive dy rows; padded: zero rows
                    const int live = ox < (size_t)wo;
                    t->copy_panel(len, live ? nr : 0, NR, live ? dyn + (oy * wo + ox) * co + jr : dyn, (ptrdiff_t)co,
                                  bp + k * NR);
                    k += len;
                    ox += len;
                    if (ox == (size_t)wp) { ox = 0; oy++; }
                }
            }
            const float *a = plane + k0;
            for (size_t i0 = 0; i0 < T; i0 += MR) {
                const size_t mr = T - i0 < MR ? T - i0 : MR;
                for (size_t jr = 0; jr < co; jr += NR)
                    uk.fn_roff(kc, a, 0, bpack + jr * kc, NR, dwt + i0 * ldw + jr, ldw, NULL, TC_UK_LOAD_C, roff + i0, (int)mr,
                               (int)(ldw - jr < NR ? ldw - jr : NR));
            }
        }
    }
    if (dwt != dw)
        for (size_t i = 0; i < T; i++) memcpy(dw + i * co, dwt + i * ldw, co * sizeof(float));
}


