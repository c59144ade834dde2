// Convolution (stride 1, k x k, zero padding) as GEMMs whose A operand is packed
// straight from the NHWC image (implicit im2col): nothing the size of the column
// matrix is ever written. 1x1 convs are plain GEMMs over N*H*W rows.
//
// Each public entry point looks the ISA context up once (tc_active_kernels) and passes
// it down; tile shapes and block sizes come from that context.
#include <assert.h>
#include <string.h>
#include "conv_cin1.h"

// Rows of the column matrix handled per GEMM in the backward kernels.
enum { ROW_BLOCK = 384 };


size_t tc_conv2d_workspace_floats(tc_conv_shape s) {
    const size_t t = tc_conv_taps(s);
    size_t g = tc_gemm_workspace_floats(0, t > (size_t)s.cout ? t : (size_t)s.cout, 0);
    const size_t g2 = tc_gemm_workspace_floats(0, (size_t)s.cin, 0);
    if (g2 > g) g = g2;
    const size_t g3 = tc_gemm_workspace_floats(0, ROW_BLOCK, 0);  // the few-rows backward data (N = rows)
    if (g3 > g) g = g3;
    // + a column block (both backward kernels) and a transposed dW (backward weights)
    const size_t generic = g + (size_t)ROW_BLOCK * t + t * s.cout + 64;
    const size_t direct = tc_conv_cin1_direct(s) ? tc_conv_cin1_workspace_floats(s) : 0;
    return generic > direct ? generic : direct;
}

// [N*Ho*Wo][Cout] = im2col(x) [N*Ho*Wo][k*k*Cin] * w [k*k*Cin][Cout]
static int shape_ok(tc_conv_shape s) {
    return s.n > 0 && s.h > 0 && s.w > 0 && s.cin > 0 && s.cout > 0 && s.k > 0 && s.pad >= 0 && s.pad < s.k &&
           tc_conv_out_h(s) > 0 && tc_conv_out_w(s) > 0;
}

void tc_conv2d_forward(tc_conv_shape s, const float *x, const float *w, const float *b,
                       float *y, int relu, float *workspace) {
    assert(shape_ok(s) && x && w && y && workspace);
    const tc_isa_kernels *t = tc_active_kernels();
    if (tc_conv_cin1_direct(s)) {
        tc_conv_cin1_forward(t, s, x, w, b, y, relu, workspace);
        return;
    }
    const size_t rows = (size_t)s.n * tc_conv_out_h(s) * tc_conv_out_w(s);
    const tc_panel_source a = (s.k == 1 && s.pad == 0)
                                  ? tc_src_strided(x, s.cin, 1)
                                  : tc_src_im2col(x, s);
    const tc_panel_source bt = tc_src_strided(w, 1, s.cout);
    tc_gemm_sources(t, rows, (size_t)s.cout, tc_conv_taps(s), &a, &bt, y, (size_t)s.cout, 0, b, relu, workspace);
}

// dx = col2im(dy * w^T): the column gradient dcol [rows][k*k*Cin] comes from a GEMM
// whose output width is the tap count (wide enough to fill vector lanes even when Cin
// is 1 or 6), then is scattered back into dx. Done ROW_BLOCK rows at a time so the
// column buffer stays small and in cache.

// dx += col2im(dcol rows r0 .. r0+rb): ISA template col2im_rows_add, row by row in order
// (each dx element receives its terms in the same order whatever the block size).
static void col2im_add(const tc_isa_kernels *t, tc_conv_shape s, size_t r0, size_t rb, const float *dcol, float *dx) {
    t->col2im_rows_add(s, r0, rb, dcol, tc_conv_taps(s), dx);
}

void tc_conv2d_backward_data(tc_conv_shape s, const float *dy, const float *w, float *dx,
                             float *workspace) {
    assert(shape_ok(s) && dy && w && dx && workspace);
    const tc_isa_kernels *kt = tc_active_kernels();
    const tc_panel_source wt = tc_src_strided(w, s.cout, 1);  // op(tap, cout) = w[tap][cout]
    if (s.k == 1 && s.pad == 0) {
        const size_t rows = (size_t)s.n * s.h * s.w, cin = (size_t)s.cin;
        if (rows <= ROW_BLOCK && 2 * rows < cin) {
            // Few rows (a dense layer on a shard): dx^T [cin][rows] = w [cin][cout] dy^T, so the
            // weights are read in place instead of packed transposed on every call; then
            // transpose the small result. Each element is the same FMA chain over cout.
            float *dxt = workspace, *gw = workspace + ROW_BLOCK * cin + 16;
            const tc_panel_source a = tc_src_strided(w, s.cout, 1);    // op(ci, co) = w[ci][co]
            const tc_panel_source bt = tc_src_strided(dy, s.cout, 1);  // op(row, co) = dy[row][co]
            tc_gemm_sources(kt, cin, rows, (size_t)s.cout, &a, &bt, dxt, rows, 0, NULL, 0, gw);
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < cin; c++) dx[r * cin + c] = dxt[c * rows + r];
            return;
        }
        const tc_panel_source a = tc_src_strided(dy, s.cout, 1);
        tc_gemm_sources(kt, rows, cin, (size_t)s.cout, &a, &wt, dx, cin, 0, NULL, 0, workspace);
        return;
    }
    const size_t rows = (size_t)s.n * tc_conv_out_h(s) * tc_conv_out_w(s), t = tc_conv_taps(s);
    float *dcol = workspace, *gw = workspace + ROW_BLOCK * t + 16;
    memset(dx, 0, (size_t)s.n * s.h * s.w * s.cin * sizeof(float));
    for (size_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
        const size_t rb = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
        const tc_panel_source a = tc_src_strided(dy + r0 * s.cout, s.cout, 1);
        tc_gemm_sources(kt, rb, t, (size_t)s.cout, &a, &wt, dcol, t, 0, NULL, 0, gw);
        col2im_add(kt, s, r0, rb, dcol, dx);
    }
}

void tc_conv_bias_grad(const tc_isa_kernels *t, size_t images, size_t rows, int cout, const float *dy, float *db,
                       int accumulate) {
    if (!db) return;
    if (!accumulate) memset(db, 0, (size_t)cout * sizeof(float));
    t->bias_grad(images, rows, cout, dy, db);
}

// dw [k*k*Cin][Cout] (+)= im2col(x)^T * dy, ROW_BLOCK rows of the column matrix at a
// time (materialized in the workspace; 1x1 convs read x in place). When Cout is
// narrower than the tap count the transposed product dw^T = dy^T * col fills the
// vector lanes better: it accumulates in the workspace and is added back transposed.
void tc_conv2d_backward_weights(tc_conv_shape s, const float *x, const float *dy, float *dw,
                                float *db, int accumulate, float *workspace) {
    assert(shape_ok(s) && x && dy && dw && workspace);
    const tc_isa_kernels *kt = tc_active_kernels();
    if (tc_conv_cin1_direct(s)) {
        tc_conv_cin1_backward_weights(kt, s, x, dy, dw, accumulate, workspace);
        tc_conv_bias_grad(kt, (size_t)s.n, (size_t)tc_conv_out_h(s) * tc_conv_out_w(s), s.cout, dy, db, accumulate);
        return;
    }
    const size_t rows = (size_t)s.n * tc_conv_out_h(s) * tc_conv_out_w(s);
    const size_t t = tc_conv_taps(s), co = (size_t)s.cout;
    const int one = s.k == 1 && s.pad == 0;
    const tc_gemm_ukernel u1 = tc_gemm_choose_ukernel_mn(kt, t, co), u2 = tc_gemm_choose_ukernel_mn(kt, co, t);
    // Cost per row of the column block, in cycles: padded FMAs (2 vector FMAs per cycle)
    // plus about one cycle per element of the A operand, which is gathered either way.
    const size_t vw = (size_t)kt->vector_floats;
    const size_t cost1 = ((t + u1.mr - 1) / u1.mr * u1.mr) * ((co + u1.nr - 1) / u1.nr * u1.nr) / (2 * vw) + t;
    // The swapped product also pays for transposing its t x Cout result once: per row that
    // is nothing for a conv over hundreds of positions, and most of the work for a dense
    // layer on a shard of 8 rows.
    const size_t cost2 = ((co + u2.mr - 1) / u2.mr * u2.mr) * ((t + u2.nr - 1) / u2.nr * u2.nr) / (2 * vw) + co +
                         t * co / rows;
    const int swapped = cost2 < cost1;
    float *col = workspace;                        // [ROW_BLOCK][taps]
    float *tr = col + (size_t)ROW_BLOCK * t + 16;  // [Cout][taps] when swapped
    float *gw = tr + co * t + 16;
    for (size_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
        const size_t rb = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
        const float *blk = x + r0 * t;
        if (!one) {
            tc_im2col_rows(kt, s, x, r0, rb, col);
            blk = col;
        }
        const tc_panel_source cols = tc_src_strided(blk, 1, (ptrdiff_t)t);  // op(tap, row)
        const tc_panel_source dys = tc_src_strided(dy + r0 * co, 1, s.cout);  // op(cout, row)
        if (swapped)
            tc_gemm_sources(kt, co, t, rb, &dys, &cols, tr, t, r0 > 0, NULL, 0, gw);
        else
            tc_gemm_sources(kt, t, co, rb, &cols, &dys, dw, co, accumulate || r0 > 0, NULL, 0, gw);
    }
    if (swapped)
        for (size_t i = 0; i < t; i++)
            for (size_t j = 0; j < co; j++)
                dw[i * co + j] = (accumulate ? dw[i * co + j] : 0.0f) + tr[j * t + i];
    tc_conv_bias_grad(kt, (size_t)s.n, (size_t)tc_conv_out_h(s) * tc_conv_out_w(s), s.cout, dy, db, accumulate);
}

// ---------------------------------------------------------------- dense
// A dense layer is a 1x1 conv over an N x 1 x 1 x in tensor.
static tc_conv_shape dense_shape(int n, int in, int out) {
    const tc_conv_shape s = {n, 1, 1, in, out, 1, 0};
    return s;
}
size_t tc_dense_workspace_floats(int n, int in, int out) {
    return tc_conv2d_workspace_floats(dense_shape(n, in, out));
}
void tc_dense_forward(int n, int in, int out, const float *x, const float *w, const float *b,
                      float *y, int relu, float *workspace) {
    tc_conv2d_forward(dense_shape(n, in, out), x, w, b, y, relu, workspace);
}
void tc_dense_backward_data(int n, int in, int out, const float *dy, const float *w, float *dx,
                            float *workspace) {
    tc_conv2d_backward_data(dense_shape(n, in, out), dy, w, dx, workspace);
}
void tc_dense_backward_weights(int n, int in, int out, const float *x, const float *dy,
                               float *dw, float *db, int accumulate, float *workspace) {
    tc_conv2d_backward_weights(dense_shape(n, in, out), x, dy, dw, db, accumulate, workspace);
}
