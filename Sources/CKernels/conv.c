// Convolution (stride 1, k x k, zero padding) as GEMMs whose A operand is packed
// straight from the NHWC image (implicit im2col): nothing the size of the column
// matrix is ever written. 1x1 convs are plain GEMMs over N*H*W rows; Cin = 1 convs take
// conv_cin1.c. Dense layers are 1x1 convs over N x 1 x 1 x in.
//
// Each public entry point looks the ISA context up once (tc_active_kernels) and passes
// it down with the direction's choice (tc_gemm_algo: tile, blocking, variant; NULL or zero
// fields: the shape rules below).
#include <assert.h>
#include <string.h>
#include "conv_internal.h"

// Rows of the column matrix handled per GEMM in the backward kernels.
enum { ROW_BLOCK = 384 };

int tc_conv_shape_ok(tc_conv_shape s) {
    return s.n > 0 && s.h > 0 && s.w > 0 && s.cin > 0 && s.cout > 0 && s.k > 0 && s.pad >= 0 && s.pad < s.k &&
           tc_conv_out_h(s) > 0 && tc_conv_out_w(s) > 0;
}

static int is_1x1(tc_conv_shape s) { return s.k == 1 && s.pad == 0; }
static size_t out_rows(tc_conv_shape s) { return (size_t)s.n * tc_conv_out_h(s) * tc_conv_out_w(s); }
static const tc_gemm_algo *direction(const tc_conv_algo *a, int d) {
    if (!a) return NULL;
    return d == TC_DIR_FORWARD ? &a->forward : d == TC_DIR_BACKWARD_DATA ? &a->backward_data : &a->backward_weights;
}
static int variant(const tc_gemm_algo *a) { return a ? a->variant : TC_VARIANT_RULE; }
// The direct weight gradient is the rule where it is offered: 1.2-2.2x the best GEMM candidate on
// every zoo shape and CPU measured (docs/performance.md, direct convolutions); forward and input
// gradient stay GEMM by rule and go direct where the tuner measures it faster.
static int wgrad_direct(tc_conv_shape s, const tc_gemm_algo *a) {
    const int v = variant(a);
    return tc_conv_direct_ok(s) && (v == TC_VARIANT_DIRECT || v == TC_VARIANT_RULE);
}

// ---- the shape rules for the two orientation choices
// Backward data of a 1x1 conv: few rows (a dense layer on a shard) take the transposed
// product dx^T = W dY^T, whose A operand (the weights) is read in place.
static int bwd_data_transposed(tc_conv_shape s, const tc_gemm_algo *a) {
    const size_t rows = out_rows(s), cin = (size_t)s.cin;
    if (!is_1x1(s) || rows > ROW_BLOCK) return 0;
    const int v = variant(a);
    return v == TC_VARIANT_RULE ? 2 * rows < cin : v == TC_VARIANT_ALT;
}

// Weight gradient: col^T dY [taps][Cout], or when Cout is narrower than the tap count the
// swapped (dY^T col)^T, which fills the vector lanes better. Cost per row of the column block,
// in cycles: padded FMAs (2 vector FMAs per cycle) plus about one cycle per element of the A
// operand, which is gathered either way; the swapped product also pays for transposing its
// t x Cout result once (nothing for a conv over hundreds of positions, most of the work for a
// dense layer on a shard of 8 rows).
static int wgrad_swapped(const tc_isa_kernels *kt, tc_conv_shape s, const tc_gemm_algo *a) {
    const int v = variant(a);
    if (v != TC_VARIANT_RULE) return v == TC_VARIANT_ALT;
    const size_t t = tc_conv_taps(s), co = (size_t)s.cout, rows = out_rows(s), vw = (size_t)kt->vector_floats;
    const tc_gemm_ukernel u1 = tc_gemm_choose_ukernel_mn(kt, t, co), u2 = tc_gemm_choose_ukernel_mn(kt, co, t);
    const size_t cost1 = tc_round_up(t, (size_t)u1.mr) * tc_round_up(co, (size_t)u1.nr) / (2 * vw) + t;
    const size_t cost2 = tc_round_up(co, (size_t)u2.mr) * tc_round_up(t, (size_t)u2.nr) / (2 * vw) + co + t * co / rows;
    return cost2 < cost1;
}

// ---- workspace
size_t tc_conv2d_workspace_floats(tc_conv_shape s, const tc_conv_algo *algo) {
    const size_t t = tc_conv_taps(s), co = (size_t)s.cout, wide = t > co ? t : co;
    size_t g = 0;
    for (int d = 0; d < 3; d++) {
        const tc_gemm_algo *a = direction(algo, d);
        const size_t ns[3] = {wide, (size_t)s.cin, ROW_BLOCK};  // outputs, 1x1 input gradient, its transposed form
        for (int i = 0; i < 3; i++) {
            const size_t f = tc_gemm_workspace_for(a, ns[i]);
            if (f > g) g = f;
        }
    }
    // + a column block (both backward kernels) and a transposed dW (backward weights)
    const size_t generic = g + (size_t)ROW_BLOCK * t + t * co + 64;
    const size_t cin1 = tc_conv_cin1_direct(s) ? tc_conv_cin1_workspace_floats(s, algo) : 0;
    const size_t direct = tc_conv_direct_ok(s) ? tc_conv_direct_workspace_floats(s) : 0;
    const size_t most = generic > cin1 ? generic : cin1;
    return most > direct ? most : direct;
}

// ---- 1x1 convs and dense layers, on a range of channels (work below the shard: a range is the
// same GEMM on a slice of the weights, so every element keeps its FMA chain; the whole call is
// the full range)
// y [rows][c0..c1) = relu?(x [rows][Cin] * w [Cin][c0..c1) + b[c0..c1))
static void forward_1x1(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x, const float *w,
                        const float *b, float *y, int relu, float *workspace, int c0, int c1) {
    const tc_panel_source src = tc_src_strided(x, s.cin, 1);
    const tc_panel_source bt = tc_src_strided(w + c0, 1, s.cout);  // op(cout - c0, cin)
    tc_gemm_sources(t, a, out_rows(s), (size_t)(c1 - c0), (size_t)s.cin, &src, &bt, y + c0, (size_t)s.cout, 0,
                    b ? b + c0 : NULL, relu, workspace);
}

// dx [rows][c0..c1) = dy [rows][Cout] * w [c0..c1)[Cout]^T; few rows (a dense layer on a shard) take
// the transposed product dx^T = W dY^T, whose A operand (the weights) is read in place.
static void backward_data_1x1(const tc_isa_kernels *kt, tc_conv_shape s, const tc_gemm_algo *a, const float *dy,
                              const float *w, float *dx, float *workspace, int c0, int c1) {
    const size_t rows = out_rows(s), cin = (size_t)s.cin, cn = (size_t)(c1 - c0);
    const float *wc = w + (size_t)c0 * s.cout;
    if (bwd_data_transposed(s, a)) {
        // dx^T [cn][rows] = w [c0..c1)[cout] dy^T, then the small result transposed: each
        // element is the same FMA chain over cout as in dy w^T.
        float *dxt = workspace, *gw = workspace + ROW_BLOCK * cin + 16;
        const tc_panel_source wa = tc_src_strided(wc, s.cout, 1);   // op(ci - c0, co) = w[ci][co]
        const tc_panel_source dyt = tc_src_strided(dy, s.cout, 1);  // op(row, co) = dy[row][co]
        tc_gemm_sources(kt, a, cn, rows, (size_t)s.cout, &wa, &dyt, dxt, rows, 0, NULL, 0, gw);
        kt->transpose(cn, rows, dxt, rows, dx + c0, cin);
        return;
    }
    const tc_panel_source dys = tc_src_strided(dy, s.cout, 1);
    const tc_panel_source wt = tc_src_strided(wc, s.cout, 1);  // op(ci - c0, co) = w[ci][co]
    tc_gemm_sources(kt, a, rows, cn, (size_t)s.cout, &dys, &wt, dx + c0, cin, 0, NULL, 0, workspace);
}

// ---- forward: [N*Ho*Wo][Cout] = im2col(x) [N*Ho*Wo][k*k*Cin] * w [k*k*Cin][Cout]
void tc_conv2d_forward(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *w, const float *b,
                       float *y, int relu, float *workspace) {
    assert(tc_conv_shape_ok(s) && x && w && y && workspace);
    const tc_isa_kernels *t = tc_active_kernels();
    const tc_gemm_algo *a = direction(algo, TC_DIR_FORWARD);
    if (tc_conv_cin1_direct(s)) {
        tc_conv_cin1_forward(t, s, a, x, w, b, y, relu, workspace);
        return;
    }
    if (is_1x1(s)) {
        forward_1x1(t, s, a, x, w, b, y, relu, workspace, 0, s.cout);
        return;
    }
    if (variant(a) == TC_VARIANT_DIRECT && tc_conv_direct_ok(s)) {
        tc_conv_direct_forward(t, s, a, x, w, b, y, relu, workspace);
        return;
    }
    const tc_panel_source src = tc_src_im2col(x, s);
    const tc_panel_source bt = tc_src_strided(w, 1, s.cout);
    tc_gemm_sources(t, a, out_rows(s), (size_t)s.cout, tc_conv_taps(s), &src, &bt, y, (size_t)s.cout, 0, b, relu,
                    workspace);
}

// ---- backward data: dx = col2im(dy * w^T). The column gradient dcol [rows][k*k*Cin] comes
// from a GEMM whose output width is the tap count (wide enough to fill vector lanes even when
// Cin is 1 or 6), then is scattered back into dx (ISA template col2im_rows_add, row by row in
// order, so each dx element receives its terms in the same order whatever the block size).
// Done ROW_BLOCK rows at a time so the column buffer stays small and in cache.
void tc_conv2d_backward_data(tc_conv_shape s, const tc_conv_algo *algo, const float *dy, const float *w, float *dx,
                             float *workspace) {
    assert(tc_conv_shape_ok(s) && dy && w && dx && workspace);
    const tc_isa_kernels *kt = tc_active_kernels();
    const tc_gemm_algo *a = direction(algo, TC_DIR_BACKWARD_DATA);
    const tc_panel_source wt = tc_src_strided(w, s.cout, 1);  // op(tap, cout) = w[tap][cout]
    if (is_1x1(s)) {
        backward_data_1x1(kt, s, a, dy, w, dx, workspace, 0, s.cin);
        return;
    }
    if (variant(a) == TC_VARIANT_DIRECT && tc_conv_direct_ok(s)) {
        tc_conv_direct_backward_data(kt, s, dy, w, dx, workspace);
        return;
    }
    const size_t rows = out_rows(s), t = tc_conv_taps(s);
    float *dcol = workspace, *gw = workspace + ROW_BLOCK * t + 16;
    memset(dx, 0, (size_t)s.n * s.h * s.w * s.cin * sizeof(float));
    for (size_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
        const size_t rb = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
        const tc_panel_source dys = tc_src_strided(dy + r0 * s.cout, s.cout, 1);
        tc_gemm_sources(kt, a, rb, t, (size_t)s.cout, &dys, &wt, dcol, t, 0, NULL, 0, gw);
        kt->col2im_rows_add(s, r0, rb, dcol, t, dx);
    }
}

void tc_conv_bias_grad(const tc_isa_kernels *t, size_t images, size_t rows, int cout, const float *dy, float *db,
                       int accumulate) {
    if (!db) return;
    if (!accumulate) memset(db, 0, (size_t)cout * sizeof(float));
    t->bias_grad(images, rows, cout, dy, db);
}

// ---- backward weights: dw [k*k*Cin][Cout] (+)= im2col(x)^T * dy, ROW_BLOCK rows of the column
// matrix at a time (materialized in the workspace; 1x1 convs read x in place). Swapped, the
// product accumulates dw^T in the workspace, starting from dw^T when accumulating, so every
// element is the same FMA chain in either orientation. Columns [c0, c1) only (work below the
// shard): each element's chain runs over the same rows in the same order whatever the range, so
// the pieces of a split give the bits of the whole call.
static void backward_weights(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *dy, float *dw,
                             float *db, int accumulate, float *workspace, int c0, int c1) {
    assert(tc_conv_shape_ok(s) && x && dy && dw && workspace && 0 <= c0 && c0 < c1 && c1 <= s.cout);
    const tc_isa_kernels *kt = tc_active_kernels();
    const tc_gemm_algo *a = direction(algo, TC_DIR_BACKWARD_WEIGHTS);
    const size_t rows = out_rows(s), per_image = (size_t)tc_conv_out_h(s) * tc_conv_out_w(s);
    if (tc_conv_cin1_direct(s)) {
        assert(c0 == 0 && c1 == s.cout);  // tc_conv2d_backward_weights_splits: one piece
        tc_conv_cin1_backward_weights(kt, s, a, x, dy, dw, accumulate, workspace);
        tc_conv_bias_grad(kt, (size_t)s.n, per_image, s.cout, dy, db, accumulate);
        return;
    }
    if (wgrad_direct(s, a)) {
        tc_conv_direct_backward_weights(kt, s, a, x, dy, dw, accumulate, workspace, c0, c1);
        tc_conv_bias_grad(kt, (size_t)s.n, per_image, s.cout, dy, db, accumulate);
        return;
    }
    const size_t t = tc_conv_taps(s), co = (size_t)s.cout, cn = (size_t)(c1 - c0);
    const int swapped = wgrad_swapped(kt, s, a);  // of the whole shape: the same choice for every piece
    float *col = workspace;                        // [ROW_BLOCK][taps]
    float *tr = col + (size_t)ROW_BLOCK * t + 16;  // [c1 - c0][taps] when swapped
    float *gw = tr + co * t + 16;
    float *dwc = dw + c0;
    if (swapped && accumulate) kt->transpose(t, cn, dwc, co, tr, t);
    for (size_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
        const size_t rb = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
        const float *blk = x + r0 * t;
        if (!is_1x1(s)) {
            tc_im2col_rows(kt, s, x, r0, rb, col);
            blk = col;
        }
        const tc_panel_source cols = tc_src_strided(blk, 1, (ptrdiff_t)t);         // op(tap, row)
        const tc_panel_source dys = tc_src_strided(dy + r0 * co + c0, 1, s.cout);  // op(cout - c0, row)
        const int acc = accumulate || r0 > 0;
        if (swapped)
            tc_gemm_sources(kt, a, cn, t, rb, &dys, &cols, tr, t, acc, NULL, 0, gw);
        else
            tc_gemm_sources(kt, a, t, cn, rb, &cols, &dys, dwc, co, acc, NULL, 0, gw);
    }
    if (swapped) kt->transpose(cn, t, tr, t, dwc, co);
    tc_conv_bias_grad(kt, (size_t)s.n, per_image, s.cout, dy, db, accumulate);
}

void tc_conv2d_backward_weights(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *dy,
                                float *dw, float *db, int accumulate, float *workspace) {
    backward_weights(s, algo, x, dy, dw, db, accumulate, workspace, 0, s.cout);
}

int tc_conv2d_backward_weights_splits(tc_conv_shape s) { return tc_conv_shape_ok(s) && !tc_conv_cin1_direct(s); }

void tc_conv2d_backward_weights_columns(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *dy,
                                        float *dw, float *db, int accumulate, float *workspace, int c0, int c1) {
    backward_weights(s, algo, x, dy, dw, db, accumulate, workspace, c0, c1);
}

// ---- what a choice can set, and what the rules pick
int tc_conv2d_choices(tc_conv_shape s, int d) {
    if (!tc_conv_shape_ok(s)) return 0;
    if (tc_conv_cin1_direct(s) && d != TC_DIR_BACKWARD_DATA) return tc_conv_cin1_choices(s, d);
    const int gemm = TC_CHOICE_TILE | TC_CHOICE_BLOCKING, direct = tc_conv_direct_ok(s) ? TC_CHOICE_DIRECT : 0;
    if (d == TC_DIR_BACKWARD_DATA) return (is_1x1(s) && out_rows(s) <= ROW_BLOCK ? gemm | TC_CHOICE_VARIANT : gemm) | direct;
    if (d == TC_DIR_BACKWARD_WEIGHTS) return gemm | TC_CHOICE_VARIANT | direct;
    return gemm | direct;
}

int tc_conv2d_direct_tile(tc_conv_shape s, int d, int *mr, int *nr) {
    *mr = *nr = 0;
    if (!tc_conv_direct_ok(s) || d == TC_DIR_BACKWARD_DATA) return 0;
    const tc_gemm_ukernel u = tc_conv_direct_tile(tc_active_kernels(), s, d, NULL);
    *mr = u.mr;
    *nr = u.nr;
    return 1;
}

static tc_gemm_algo rule_for(const tc_isa_kernels *t, tc_gemm_ukernel uk, int v) {
    const tc_gemm_setup g = tc_gemm_setup_for(t, NULL, uk);
    tc_gemm_algo a = {(uint8_t)uk.mr, (uint8_t)uk.nr, (uint8_t)v, 0, (int32_t)g.kc, (int32_t)g.nc, (int32_t)g.mc};
    return a;
}

tc_conv_algo tc_conv2d_rule(tc_conv_shape s) {
    const tc_isa_kernels *t = tc_active_kernels();
    tc_conv_algo r;
    memset(&r, 0, sizeof r);
    if (!tc_conv_shape_ok(s)) return r;
    const size_t rows = out_rows(s), taps = tc_conv_taps(s), co = (size_t)s.cout, cin = (size_t)s.cin;
    if (tc_conv_cin1_direct(s)) {
        r.forward = rule_for(t, tc_gemm_choose_ukernel(t, co), TC_VARIANT_GEMM);
        if (s.cout > 8) r.backward_weights = rule_for(t, tc_gemm_choose_ukernel_by_work(t, taps, co), TC_VARIANT_GEMM);
    } else {
        r.forward = rule_for(t, tc_gemm_choose_ukernel_mn(t, rows, co), TC_VARIANT_GEMM);
        const int sw = wgrad_swapped(t, s, NULL);
        r.backward_weights = wgrad_direct(s, NULL) ? rule_for(t, tc_conv_direct_tile(t, s, TC_DIR_BACKWARD_WEIGHTS, NULL), TC_VARIANT_DIRECT)
                           : sw ? rule_for(t, tc_gemm_choose_ukernel_mn(t, co, taps), TC_VARIANT_ALT)
                                : rule_for(t, tc_gemm_choose_ukernel_mn(t, taps, co), TC_VARIANT_GEMM);
    }
    if (is_1x1(s)) {
        const int tr = bwd_data_transposed(s, NULL);
        r.backward_data = tr ? rule_for(t, tc_gemm_choose_ukernel_mn(t, cin, rows), TC_VARIANT_ALT)
                             : rule_for(t, tc_gemm_choose_ukernel_mn(t, rows, cin), TC_VARIANT_GEMM);
    } else {
        const size_t rb = rows < ROW_BLOCK ? rows : ROW_BLOCK;
        r.backward_data = rule_for(t, tc_gemm_choose_ukernel_mn(t, rb, taps), TC_VARIANT_GEMM);
    }
    return r;
}

// ---------------------------------------------------------------- dense
static tc_conv_shape dense_shape(int n, int in, int out) {
    const tc_conv_shape s = {n, 1, 1, in, out, 1, 0};
    return s;
}
size_t tc_dense_workspace_floats(int n, int in, int out, const tc_conv_algo *algo) {
    return tc_conv2d_workspace_floats(dense_shape(n, in, out), algo);
}
void tc_dense_forward(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *w, const float *b,
                      float *y, int relu, float *workspace) {
    tc_conv2d_forward(dense_shape(n, in, out), algo, x, w, b, y, relu, workspace);
}
void tc_dense_backward_data(int n, int in, int out, const tc_conv_algo *algo, const float *dy, const float *w, float *dx,
                            float *workspace) {
    tc_conv2d_backward_data(dense_shape(n, in, out), algo, dy, w, dx, workspace);
}
void tc_dense_forward_columns(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *w,
                              const float *b, float *y, int relu, float *workspace, int c0, int c1) {
    const tc_conv_shape s = dense_shape(n, in, out);
    assert(tc_conv_shape_ok(s) && x && w && y && workspace && 0 <= c0 && c0 < c1 && c1 <= out);
    forward_1x1(tc_active_kernels(), s, direction(algo, TC_DIR_FORWARD), x, w, b, y, relu, workspace, c0, c1);
}
void tc_dense_backward_data_columns(int n, int in, int out, const tc_conv_algo *algo, const float *dy, const float *w,
                                    float *dx, float *workspace, int c0, int c1) {
    const tc_conv_shape s = dense_shape(n, in, out);
    assert(tc_conv_shape_ok(s) && dy && w && dx && workspace && 0 <= c0 && c0 < c1 && c1 <= in);
    backward_data_1x1(tc_active_kernels(), s, direction(algo, TC_DIR_BACKWARD_DATA), dy, w, dx, workspace, c0, c1);
}
void tc_dense_backward_weights(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *dy,
                               float *dw, float *db, int accumulate, float *workspace) {
    tc_conv2d_backward_weights(dense_shape(n, in, out), algo, x, dy, dw, db, accumulate, workspace);
}
void tc_dense_backward_weights_columns(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *dy,
                                       float *dw, float *db, int accumulate, float *workspace, int c0, int c1) {
    tc_conv2d_backward_weights_columns(dense_shape(n, in, out), algo, x, dy, dw, db, accumulate, workspace, c0, c1);
}
