// Direct convolutions (k x k, Cin > 1, the shapes that otherwise take im2col): the GEMM
// register tiles read their A operand where the activations lie, as LIBXSMM's direct
// convolutions do (Georganas et al., SC'18): register blocks over output positions and output
// channels, a broadcast of the input per FMA, no im2col panel, no transposed copy.
//
// Forward, one output row at a time: MR consecutive positions of the row are MR rows one Cin
// apart in x, and for kernel row ky the taps (kx, ci) are one contiguous run of k*Cin floats:
//   A(i, kx*Cin + ci) = x[n][oy + ky][ox0 + i + kx][ci]   (the plain tile, lda = Cin)
// so each tile is k calls of the plain microkernel, one per kernel row, the chain carried in C.
// Weight gradient, for kernel row ky: the run of k*Cin taps against every output position r,
//   A(tap, r) = x[ky * Wp * Cin + roff[r] + tap]   (the offsets tile),   B(r, co) = dy[r][co]
// with dy read in place. Input gradient: conv_input_gradient_rows (the ISA template): each
// position's column-gradient runs computed in registers and added straight into dx.
//
// Bits: each output element is the chain the GEMM path computes (the bias, 0 or C, then one FMA
// per tap or position in the same order, then ReLU; the input gradient: one dot product over
// Cout per window, added in the window order col2im adds them), so the tuner may pick either
// path per layer and per direction without changing a result. Padding: a zero-padded copy of x
// (the zeros enter the chain as im2col's zeros do); pad = 0 reads x itself.
#include <assert.h>
#include <string.h>
#include "conv_internal.h"

int tc_conv_direct_ok(tc_conv_shape s) { return tc_conv_shape_ok(s) && s.k > 1 && s.cin > 1; }

static int plane_h(tc_conv_shape s) { return s.h + 2 * s.pad; }
static int plane_w(tc_conv_shape s) { return s.w + 2 * s.pad; }
static size_t padded_floats(tc_conv_shape s) {
    return s.pad ? (size_t)s.n * plane_h(s) * plane_w(s) * s.cin + 16 : 0;
}

// x [N][H][W][Cin] -> xp [N][Hp][Wp][Cin], zero border; returns the shape of xp with pad 0.
static tc_conv_shape pad_input(tc_conv_shape s, const float *x, float *xp) {
    const size_t cin = (size_t)s.cin, wp = (size_t)plane_w(s), hp = (size_t)plane_h(s), line = (size_t)s.w * cin;
    memset(xp, 0, (size_t)s.n * hp * wp * cin * sizeof(float));
    for (int n = 0; n < s.n; n++)
        for (int y = 0; y < s.h; y++)
            memcpy(xp + (((size_t)n * hp + (size_t)(y + s.pad)) * wp + (size_t)s.pad) * cin,
                   x + ((size_t)n * s.h + (size_t)y) * line, line * sizeof(float));
    tc_conv_shape p = s;
    p.h = (int)hp;
    p.w = (int)wp;
    p.pad = 0;
    return p;
}

// The input as a pad-0 shape: x itself, or (padding) its zero-padded copy at the start of the
// workspace, *ws moved past it.
// Positions the weight gradient reads from copies, at most: the windows whose spare tap rows run
// past x (fewer than MR, each at least one float apart) or whose dy row's ragged panel runs past
// dy (fewer than NR floats, so fewer than NR rows even at Cout = 1).
#define TAIL_CAP ((size_t)TC_MAX_MR + TC_MAX_NR + 1)

static tc_conv_shape unpadded_input(tc_conv_shape s0, const float **x, float **ws) {
    if (!s0.pad) return s0;
    const tc_conv_shape s = pad_input(s0, *x, *ws);
    *x = *ws;
    *ws += padded_floats(s0);
    return s;
}

// The tile the rules pick for an M x N block of outputs: the fewest padded elements, counting a
// tile with fewer accumulators than the FMA pipes x latency (8) as proportionally slower.
static tc_gemm_ukernel direct_tile(const tc_isa_kernels *t, const tc_gemm_algo *a, size_t M, size_t N) {
    tc_gemm_ukernel best = t->tiles[0];
    double best_cost = -1;
    for (int i = 0; i < t->tile_count; i++) {
        const tc_gemm_ukernel u = t->tiles[i];
        if (u.nr % t->vector_floats) continue;  // whole vectors only (the half tiles are the tuner's)
        const double chains = (double)u.mr * (u.nr / t->vector_floats);
        const double cost = (double)tc_round_up(M, (size_t)u.mr) * tc_round_up(N, (size_t)u.nr) *
                            (chains < 8 ? 8 / chains : 1);
        if (best_cost < 0 || cost < best_cost) { best = u; best_cost = cost; }
    }
    return tc_gemm_setup_for(t, a, best).uk;
}

tc_gemm_ukernel tc_conv_direct_tile(const tc_isa_kernels *t, tc_conv_shape s, int direction, const tc_gemm_algo *a) {
    if (direction == TC_DIR_BACKWARD_WEIGHTS) return direct_tile(t, a, (size_t)s.k * s.cin, (size_t)s.cout);
    return direct_tile(t, a, (size_t)tc_conv_out_w(s), (size_t)s.cout);
}

static size_t input_gradient_floats(tc_conv_shape s0);

// ---- forward
// workspace: padded x | packed weights [Cout/NR panels][taps][NR] | bias [NR-padded] | one A tile
size_t tc_conv_direct_workspace_floats(tc_conv_shape s) {
    const size_t taps = tc_conv_taps(s), cpad = tc_tile_padded((size_t)s.cout);
    const size_t fwd = taps * cpad + cpad + (size_t)TC_MAX_MR * taps + 64;
    // weight gradient: position offsets (one int32 per row, kept in float slots) + the tail copy
    const size_t rows = (size_t)s.n * tc_conv_out_h(s) * tc_conv_out_w(s);
    const size_t krun = (size_t)s.k * s.cin, stride = tc_round_up(krun + TC_MAX_MR, 16);
    const size_t tail_rows = TAIL_CAP;
    const size_t wgrad = rows + 16 + (size_t)s.k * tail_rows * stride + tail_rows * cpad + 64;
    const size_t most = fwd > wgrad ? fwd : wgrad, dx = input_gradient_floats(s);
    return padded_floats(s) + (most > dx ? most : dx);
}

void tc_conv_direct_forward(const tc_isa_kernels *t, tc_conv_shape s0, const tc_gemm_algo *a, const float *x,
                            const float *w, const float *b, float *y, int relu, float *workspace) {
    float *ws = workspace;
    const tc_conv_shape s = unpadded_input(s0, &x, &ws);
    const tc_gemm_ukernel uk = tc_conv_direct_tile(t, s0, TC_DIR_FORWARD, a);
    const size_t MR = (size_t)uk.mr, NR = (size_t)uk.nr;
    const size_t cin = (size_t)s.cin, co = (size_t)s.cout, taps = tc_conv_taps(s), krun = (size_t)s.k * cin;
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    const size_t line = (size_t)s.w * cin, image = (size_t)s.h * line;
    const float *x_end = x + (size_t)s.n * image;
    float *bpack = ws, *bias_pad = bpack + taps * tc_round_up(co, NR), *apack = bias_pad + tc_round_up(co, NR);
    const tc_panel_source wsrc = tc_src_strided(w, 1, (ptrdiff_t)co);  // op(cout, tap) = w[tap][cout]
    for (size_t jr = 0; jr < co; jr += NR)
        tc_pack_b(t, &wsrc, jr, co - jr < NR ? co - jr : NR, NR, 0, taps, bpack + jr * taps);
    if (b) {
        memcpy(bias_pad, b, co * sizeof(float));
        memset(bias_pad + co, 0, (tc_round_up(co, NR) - co) * sizeof(float));
    }
    const int last_flags = relu ? TC_UK_RELU : 0;
    for (int n = 0; n < s.n; n++)
        for (int oy = 0; oy < ho; oy++) {
            const float *row = x + (size_t)n * image + (size_t)oy * line;
            float *yrow = y + ((size_t)n * ho + (size_t)oy) * wo * co;
            for (size_t jr = 0; jr < co; jr += NR) {
                const int nr = (int)(co - jr < NR ? co - jr : NR);
                const float *bp = bpack + jr * taps, *bias = b ? bias_pad + jr : NULL;
                for (size_t ox0 = 0; ox0 < (size_t)wo; ox0 += MR) {
                    const int mr = (int)((size_t)wo - ox0 < MR ? (size_t)wo - ox0 : MR);
                    const float *a0 = row + ox0 * cin;
                    float *c = yrow + ox0 * co + jr;
                    // rows past mr are read too: in place unless that runs past the input
                    if (a0 + (MR - 1) * cin + (size_t)(s.k - 1) * line + krun <= x_end) {
                        for (int ky = 0; ky < s.k; ky++) {
                            int flags = ky ? TC_UK_LOAD_C : 0;
                            if (ky == s.k - 1) flags |= last_flags;
                            uk.fn(krun, a0 + (size_t)ky * line, cin, bp + (size_t)ky * krun * NR, NR, c, co,
                                  ky ? NULL : bias, flags, NULL, mr, nr);
                        }
                    } else {  // the shard's last positions: their windows copied (mr rows), one call
                        const size_t r0 = ((size_t)n * ho + (size_t)oy) * wo + ox0;
                        t->im2col_rows(s, x, r0, (size_t)mr, apack, taps);
                        memset(apack + (size_t)mr * taps, 0, (MR - (size_t)mr) * taps * sizeof(float));
                        uk.fn(taps, apack, taps, bp, NR, c, co, bias, last_flags, NULL, mr, nr);
                    }
                }
            }
        }
}

// ---- weight gradient: dw [taps][c0..c1) (+)= sum over positions r of A(tap, r) * dy[r][c0..c1),
// positions in order (in blocks of KC, the chain carried in dw), db as the GEMM path.
void tc_conv_direct_backward_weights(const tc_isa_kernels *t, tc_conv_shape s0, const tc_gemm_algo *a,
                                     const float *x, const float *dy, float *dw, int accumulate, float *workspace,
                                     int c0, int c1) {
    float *ws = workspace;
    const tc_conv_shape s = unpadded_input(s0, &x, &ws);
    const tc_gemm_ukernel uk = tc_conv_direct_tile(t, s0, TC_DIR_BACKWARD_WEIGHTS, a);
    const tc_gemm_setup g = tc_gemm_setup_for(t, a, uk);
    const size_t MR = (size_t)uk.mr, NR = (size_t)uk.nr, KC = g.kc;
    const size_t cin = (size_t)s.cin, co = (size_t)s.cout, krun = (size_t)s.k * cin;
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    const size_t line = (size_t)s.w * cin, image = (size_t)s.h * line, rows = (size_t)s.n * ho * wo;
    const size_t x_floats = (size_t)s.n * image, dy_floats = rows * co;
    const size_t cn = (size_t)(c1 - c0), last_i0 = (krun - 1) / MR * MR;
    int32_t *roff = (int32_t *)ws;  // roff[r]: offset in x of position r's window origin
    const size_t stride = tc_round_up(krun + TC_MAX_MR, 16), tail_cap = TAIL_CAP;
    float *tail_a = ws + rows + 16;                        // [ky][tail row][stride]: the windows' runs
    float *tail_b = tail_a + (size_t)s.k * tail_cap * stride;  // [tail row][cpad]: dy rows, zero past Cout
    const size_t ldtb = tc_tile_padded(co);
    {
        size_t r = 0;
        for (int n = 0; n < s.n; n++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) roff[r++] = (int32_t)((size_t)n * image + (size_t)oy * line + (size_t)ox * cin);
    }
    // Positions from `tail` on are read from copies: a tile reads MR taps of a run (past its
    // end, up to last_i0 + MR) and NR channels of a dy row (past Cout for a ragged panel);
    // neither may run past its buffer.
    size_t tail = rows;
    while (tail > 0 && (size_t)roff[tail - 1] + (size_t)(s.k - 1) * line + last_i0 + MR > x_floats) tail--;
    const int ragged = cn % NR != 0 || (size_t)c0 + tc_round_up(cn, NR) > co;
    if (ragged) {
        const size_t over = (size_t)c0 + tc_round_up(cn, NR) - co;  // floats read past the last row
        while (tail > 0 && (tail - 1) * co + co + over > dy_floats) tail--;
    }
    assert(rows - tail <= tail_cap);
    const size_t ntail = rows - tail;
    int32_t toff[TAIL_CAP];
    for (size_t j = 0; j < ntail; j++) {
        toff[j] = (int32_t)(j * stride);
        for (int ky = 0; ky < s.k; ky++) {
            float *d = tail_a + ((size_t)ky * tail_cap + j) * stride;
            memcpy(d, x + (size_t)roff[tail + j] + (size_t)ky * line, krun * sizeof(float));
            memset(d + krun, 0, (stride - krun) * sizeof(float));
        }
        memcpy(tail_b + j * ldtb, dy + (tail + j) * co, co * sizeof(float));
        memset(tail_b + j * ldtb + co, 0, (ldtb - co) * sizeof(float));
    }
    for (size_t p0 = 0; p0 < rows; p0 += KC) {
        const size_t kc = rows - p0 < KC ? rows - p0 : KC;
        const size_t in_place = tail > p0 ? (tail - p0 < kc ? tail - p0 : kc) : 0;  // positions before the tail
        const size_t copied = kc - in_place;
        const size_t tj = p0 + in_place - tail;  // first tail row this block reads (when copied > 0)
        for (int ky = 0; ky < s.k; ky++) {
            const float *aky = x + (size_t)ky * line;
            for (size_t jr = 0; jr < cn; jr += NR) {
                const int nr = (int)(cn - jr < NR ? cn - jr : NR);
                const size_t col = (size_t)c0 + jr;
                for (size_t i0 = 0; i0 < krun; i0 += MR) {
                    const int mr = (int)(krun - i0 < MR ? krun - i0 : MR);
                    float *c = dw + ((size_t)ky * krun + i0) * co + col;
                    int flags = (accumulate || p0 > 0) ? TC_UK_LOAD_C : 0;
                    if (in_place) {
                        uk.fn_koff(in_place, aky + i0, 0, dy + p0 * co + col, co, c, co, NULL, flags, roff + p0, mr, nr);
                        flags = TC_UK_LOAD_C;
                    }
                    if (copied)
                        uk.fn_koff(copied, tail_a + (size_t)ky * tail_cap * stride + i0, 0, tail_b + tj * ldtb + col,
                                   ldtb, c, co, NULL, flags, toff + tj, mr, nr);
                }
            }
        }
    }
}

// ---- input gradient: the weights re-laid as wr [k][Cout][k*Cin rounded up to 16], then the ISA's
// kernel adds every position's column-gradient runs straight into dx (zeroed first); dy is read
// where it lies. With padding, the gradient of the padded input, cropped.
static size_t input_gradient_floats(tc_conv_shape s) {
    return (size_t)s.cout * s.k * tc_round_up((size_t)s.k * s.cin, 16) + 64;
}

void tc_conv_direct_backward_data(const tc_isa_kernels *t, tc_conv_shape s0, const float *dy, const float *w,
                                  float *dx, float *workspace) {
    tc_conv_shape s = s0;
    s.h = plane_h(s0);
    s.w = plane_w(s0);
    s.pad = 0;
    const int k = s.k, cin = s.cin, co = s.cout;
    const size_t krun = (size_t)k * cin, runp = tc_round_up(krun, 16);
    float *dxp = s0.pad ? workspace : dx;
    float *wr = workspace + padded_floats(s0);
    for (int ky = 0; ky < k; ky++) {
        // rows (kx, ci) of kernel row ky, [krun][Cout] -> wr[ky][co][0..krun)
        float *wk = wr + (size_t)ky * co * runp;
        t->transpose(krun, (size_t)co, w + (size_t)ky * krun * co, (size_t)co, wk, runp);
        for (int c = 0; c < co; c++) memset(wk + (size_t)c * runp + krun, 0, (runp - krun) * sizeof(float));
    }
    memset(dxp, 0, (size_t)s.n * s.h * s.w * cin * sizeof(float));
    t->conv_input_gradient_rows(s.n, s.h, s.w, cin, co, k, dy, wr, dxp);
    if (s0.pad) {
        const size_t line = (size_t)s0.w * cin;
        for (int n = 0; n < s0.n; n++)
            for (int y = 0; y < s0.h; y++)
                memcpy(dx + ((size_t)n * s0.h + y) * line,
                       dxp + (((size_t)n * s.h + (size_t)(y + s0.pad)) * s.w + (size_t)s0.pad) * cin, line * sizeof(float));
    }
}
