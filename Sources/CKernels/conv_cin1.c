// The Cin = 1 convolution (a network's first layer on a one-channel image) without
// im2col, and its fusion with the ReLU and 2x2 max pool after it.
#include <assert.h>
#include <string.h>
#include "conv_cin1.h"

// Cin = 1: no im2col. Each image is copied once into a zero-padded plane P
// [(H+2p) x (W+2p)], and an output row's MR consecutive positions read their taps
// straight from P: A(i, tap) = P[(oy*Wp + ox0 + i) + koff[tap]], koff = ky*Wp + kx.
enum { CIN1_MAX_TAPS = 121, CIN1_SLACK = 64 };

int tc_conv_cin1_direct(tc_conv_shape s) { return s.cin == 1 && s.k > 1 && s.k * s.k <= CIN1_MAX_TAPS; }

void tc_fill_padded_plane(tc_conv_shape s, const float *x, int n, float *plane) {
    const size_t wp = (size_t)(s.w + 2 * s.pad);
    const float *img = x + (size_t)n * s.h * s.w;
    for (int r = 0; r < s.h; r++)
        memcpy(plane + (size_t)(r + s.pad) * wp + s.pad, img + (size_t)r * s.w, (size_t)s.w * sizeof(float));
}

// Packed panels, either direction: forward taps x N, backward KC positions x N (the largest
// KC any ISA uses), N = Cout rounded up to the widest tile. The wide weight gradient keeps its
// Cout-padded dw right after them.
static size_t cin1_panels_floats(tc_conv_shape s) {
    const size_t ncp = (size_t)(s.cout + TC_MAX_NR - 1) / TC_MAX_NR * TC_MAX_NR;
    const size_t kk = (size_t)s.k * s.k;
    size_t kc = 0;
    for (int i = 0; i < tc_all_kernels_count; i++)
        if ((size_t)tc_all_kernels[i]->blocking.kc > kc) kc = (size_t)tc_all_kernels[i]->blocking.kc;
    return (kk > kc ? kk : kc) * ncp;
}

size_t tc_conv_cin1_workspace_floats(tc_conv_shape s) {
    const size_t plane = (size_t)(s.h + 2 * s.pad) * (s.w + 2 * s.pad) + CIN1_SLACK;
    const size_t ncp = (size_t)(s.cout + TC_MAX_NR - 1) / TC_MAX_NR * TC_MAX_NR;
    const size_t panels = cin1_panels_floats(s) + (size_t)s.k * s.k * ncp;  // + the padded dw
    const size_t kpad = ((size_t)(s.h + 2 * s.pad - s.k + 1) * (s.w + 2 * s.pad) + TC_MAX_NR) / 16 * 16 + 16;  // >= the narrow kernel's kpad on any vector width
    const size_t transposed = (size_t)(s.cout + TC_CIN1_WGRAD_CHANNELS - 1) / TC_CIN1_WGRAD_CHANNELS *
                              TC_CIN1_WGRAD_CHANNELS * kpad;  // narrow weight gradient
    return plane + (panels > transposed ? panels : transposed) + (size_t)s.cout + TC_MAX_NR + 64;
}

// The forward pass, split so that a caller can produce output rows one at a time (the
// fused conv + pool below computes two rows, pools them, and moves on).
typedef struct {
    tc_gemm_ukernel uk;
    size_t K, co;
    int wo, wp, flags;
    float *plane;
    const float *bpack, *bias_pad;
    int32_t koff[CIN1_MAX_TAPS];
} cin1_forward_ctx;

// Packs the weights and bias into the workspace and clears the plane's padding.
static void cin1_forward_init(cin1_forward_ctx *f, const tc_isa_kernels *t, tc_conv_shape s, const float *w,
                              const float *b, int relu, float *workspace) {
    f->uk = tc_gemm_choose_ukernel(t, (size_t)s.cout);
    const size_t NR = (size_t)f->uk.nr;
    f->K = tc_conv_taps(s);
    f->co = (size_t)s.cout;
    f->wo = tc_conv_out_w(s);
    f->wp = s.w + 2 * s.pad;
    f->flags = relu ? TC_UK_RELU : 0;
    const int hp = s.h + 2 * s.pad;
    const size_t ncp = (f->co + NR - 1) / NR * NR;
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
// get ReLU(0 + 0) = 0), so no tile goes through the edge-tile copy for its columns.
static void cin1_forward_row(const cin1_forward_ctx *f, int oy, float *yrow, size_t ldc) {
    const size_t MR = (size_t)f->uk.mr, NR = (size_t)f->uk.nr, co = f->co;
    const int whole = ldc >= (co + NR - 1) / NR * NR;
    for (size_t ox0 = 0; ox0 < (size_t)f->wo; ox0 += MR) {
        const size_t mr = (size_t)f->wo - ox0 < MR ? (size_t)f->wo - ox0 : MR;
        const float *a = f->plane + (size_t)oy * f->wp + ox0;
        // ragged tiles: rows past mr read inside the plane's slack and are dropped
        for (size_t jr = 0; jr < co; jr += NR)
            tc_ukernel_tile(f->uk.fn_koff, f->uk.mr, f->uk.nr, mr, whole || co - jr >= NR ? NR : co - jr, f->K, a, 1,
                            f->bpack + jr * f->K, NR, yrow + ox0 * ldc + jr, ldc, f->bias_pad + jr, f->flags, f->koff);
    }
}

void tc_conv_cin1_forward(const tc_isa_kernels *t, tc_conv_shape s, const float *x, const float *w,
                          const float *b, float *y, int relu, float *workspace) {
    cin1_forward_ctx f;
    cin1_forward_init(&f, t, s, w, b, relu, workspace);
    const int ho = tc_conv_out_h(s);
    for (int n = 0; n < s.n; n++) {
        tc_fill_padded_plane(s, x, n, f.plane);
        for (int oy = 0; oy < ho; oy++) cin1_forward_row(&f, oy, y + ((size_t)n * ho + oy) * f.wo * f.co, f.co);
    }
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
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s), hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
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
        tc_fill_padded_plane(s, x, n, plane);
        const float *dyn = dy + (size_t)n * ho * wo * co;
        for (size_t c = 0; c < co; c++)  // contiguous writes, short-stride reads
            for (int oy = 0; oy < ho; oy++) {
                float *dst = dyt + c * kpad + (size_t)oy * wp;
                const float *src = dyn + (size_t)oy * wo * co + c;
                for (int ox = 0; ox < wo; ox++) dst[ox] = src[(size_t)ox * co];
            }
        t->conv1ch_weight_grad(kpad, plane, dyt, (int)T, koff, s.cout, dw);
    }
}

void tc_conv_cin1_backward_weights(const tc_isa_kernels *t, tc_conv_shape s, const float *x,
                                   const float *dy, float *dw, int accumulate, float *workspace) {
    if (s.cout <= 8) {
        conv_backward_weights_cin1_narrow(t, s, x, dy, dw, accumulate, workspace);
        return;
    }
    // rows = taps (25 for 5x5): the short 6-row tile wastes 5 rows where the 12-row one wastes 11
    const tc_gemm_ukernel uk = tc_gemm_choose_ukernel_by_work(t, tc_conv_taps(s), (size_t)s.cout);
    const size_t MR = (size_t)uk.mr, NR = (size_t)uk.nr, T = tc_conv_taps(s), co = (size_t)s.cout;
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s), hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
    const size_t ncp = (co + NR - 1) / NR * NR, positions = (size_t)ho * wp;
    const size_t KB = (size_t)t->blocking.kc;  // positions per packed block
    float *plane = workspace;
    float *bpack = plane + (size_t)hp * wp + CIN1_SLACK;  // [KB][ncp]
    int32_t roff[CIN1_MAX_TAPS + TC_MAX_MR];
    for (size_t i = 0; i < T + MR; i++)
        roff[i] = i < T ? (int32_t)((i / (size_t)s.k) * wp + i % (size_t)s.k) : 0;  // pad rows read P[0..]
    // When Cout is not a multiple of the tile width, accumulate into dw padded to ncp columns
    // (the padded columns gather zeros), so no tile goes through the edge-tile copy; the live
    // columns see the same FMAs in the same order.
    float *dwt = dw;
    size_t ldw = co;
    if (ncp != co) {
        dwt = bpack + cin1_panels_floats(s);
        ldw = ncp;
        t->copy_panel(T, accumulate ? co : 0, ncp, dw, (ptrdiff_t)co, dwt);  // dw, or zeros
    } else if (!accumulate) {
        memset(dw, 0, T * co * sizeof(float));
    }
    memset(plane, 0, ((size_t)hp * wp + CIN1_SLACK) * sizeof(float));
    for (int n = 0; n < s.n; n++) {
        tc_fill_padded_plane(s, x, n, plane);
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
                    tc_ukernel_tile(uk.fn_roff, uk.mr, uk.nr, mr, ldw - jr < NR ? ldw - jr : NR, kc, a, 0, bpack + jr * kc, NR,
                                    dwt + i0 * ldw + jr, ldw, NULL, TC_UK_LOAD_C, roff + i0);
            }
        }
    }
    if (dwt != dw)
        for (size_t i = 0; i < T; i++) memcpy(dw + i * co, dwt + i * ldw, co * sizeof(float));
}


// ---------------------------------------------------------------- conv + ReLU + max pool
// The Cin = 1 conv, its ReLU and the 2x2 max pool after it in one pass: two conv rows at a
// time go to a small buffer (L1/L2-resident), are pooled, and are never stored, so the
// conv's Ho x Wo x Cout activation (24x24x120 in the Custom net) makes no round trip
// through memory. The pool records, per output element, which window element was the
// first maximum and whether it was positive (tc_maxpool2x2_forward_code); the backward
// scatters the pooled gradient by those codes, one image at a time, and runs the conv's
// gradient kernels on that image. Every float is computed by the same operations in the
// same order as conv forward -> pool forward -> pool backward (ReLU-masked) -> conv
// backward, so the fused and unfused plans give the same bits.

int tc_conv2d_relu_maxpool_fusable(tc_conv_shape s) {
    return tc_conv_cin1_direct(s) && tc_conv_out_h(s) >= 2 && tc_conv_out_w(s) >= 2;
}

// The fused kernels' own scratch at the start of the workspace: one image's conv-output
// gradient (backward) or two conv rows with channels padded to a tile (forward); the conv's
// workspace follows.
static size_t fused_scratch_floats(tc_conv_shape s) {
    const size_t wo = (size_t)tc_conv_out_w(s), grad = (size_t)tc_conv_out_h(s) * wo * s.cout;
    const size_t rows = 2 * wo * ((size_t)s.cout + TC_MAX_NR);
    return (grad > rows ? grad : rows) + 64;
}

size_t tc_conv2d_relu_maxpool_workspace_floats(tc_conv_shape s) {
    return fused_scratch_floats(s) + tc_conv2d_workspace_floats(s);
}

void tc_conv2d_relu_maxpool_forward(tc_conv_shape s, const float *x, const float *w, const float *b,
                                    float *y, uint8_t *code, float *workspace) {
    assert(tc_conv2d_relu_maxpool_fusable(s) && s.n > 0 && x && w && y && code && workspace);
    const tc_isa_kernels *t = tc_active_kernels();
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s), po = ho / 2, pw = wo / 2;
    const size_t co = (size_t)s.cout;
    cin1_forward_ctx f;
    cin1_forward_init(&f, t, s, w, b, 1, workspace + fused_scratch_floats(s));
    const size_t ldc = (co + (size_t)f.uk.nr - 1) / (size_t)f.uk.nr * (size_t)f.uk.nr;  // channels padded to the tile
    const size_t row = (size_t)wo * ldc;
    float *rows = workspace;  // [2][Wo][ldc]
    for (int n = 0; n < s.n; n++) {
        tc_fill_padded_plane(s, x, n, f.plane);
        for (int p = 0; p < po; p++) {  // an odd last conv row is dropped by the pool: not computed
            cin1_forward_row(&f, 2 * p, rows, ldc);
            cin1_forward_row(&f, 2 * p + 1, rows + row, ldc);
            const size_t q = ((size_t)n * po + p) * pw * co;
            t->maxpool2x2_forward_code(1, 2, wo, s.cout, (int)ldc, rows, y + q, code + q);
        }
    }
}

void tc_conv2d_relu_maxpool_backward(tc_conv_shape s, const float *x, const float *w, const uint8_t *code,
                                     const float *dy, float *dx, float *dw, float *db, int accumulate,
                                     float *workspace) {
    assert(tc_conv2d_relu_maxpool_fusable(s) && s.n > 0 && x && w && code && dy && dw && workspace);
    const tc_isa_kernels *t = tc_active_kernels();
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    const size_t pooled = (size_t)(ho / 2) * (wo / 2) * s.cout;
    float *dconv = workspace;  // [Ho][Wo][Cout] of one image
    float *ws = workspace + fused_scratch_floats(s);
    tc_conv_shape one = s;
    one.n = 1;
    for (int n = 0; n < s.n; n++) {
        t->maxpool2x2_backward_code(1, ho, wo, s.cout, code + n * pooled, dy + n * pooled, dconv);
        const int acc = accumulate || n > 0;
        const float *xn = x + (size_t)n * s.h * s.w;
        tc_conv_cin1_backward_weights(t, one, xn, dconv, dw, acc, ws);
        tc_conv_bias_grad(t, 1, (size_t)ho * wo, s.cout, dconv, db, acc);
        if (dx) tc_conv2d_backward_data(one, dconv, w, dx + (size_t)n * s.h * s.w, ws);
    }
}
