// Convolution (stride 1, k x k, zero padding) as GEMMs whose A operand is packed
// straight from the NHWC image (implicit im2col): nothing the size of the column
// matrix is ever written. 1x1 convs are plain GEMMs over N*H*W rows.
#include <string.h>
#include "gemm_driver.h"

static int out_h(tc_conv_shape s) { return s.h + 2 * s.pad - s.k + 1; }
static int out_w(tc_conv_shape s) { return s.w + 2 * s.pad - s.k + 1; }
static size_t taps(tc_conv_shape s) { return (size_t)s.k * s.k * s.cin; }

size_t tc_conv2d_workspace_floats(tc_conv_shape s) {
    const size_t t = taps(s), kkcout = (size_t)s.k * s.k * s.cout;
    size_t g = tc_gemm_workspace_floats(0, t > (size_t)s.cout ? t : (size_t)s.cout, 0);
    const size_t g2 = tc_gemm_workspace_floats(0, (size_t)s.cin, 0);
    if (g2 > g) g = g2;
    // + flipped weights (backward data) or a transposed dW (backward weights)
    const size_t extra = kkcout * s.cin > t * s.cout ? kkcout * s.cin : t * s.cout;
    return g + extra + 16;
}

// [N*Ho*Wo][Cout] = im2col(x) [N*Ho*Wo][k*k*Cin] * w [k*k*Cin][Cout]
void tc_conv2d_forward(tc_conv_shape s, const float *x, const float *w, const float *b,
                       float *y, int relu, float *workspace) {
    const size_t rows = (size_t)s.n * out_h(s) * out_w(s);
    const tc_panel_source a = (s.k == 1 && s.pad == 0)
                                  ? tc_src_strided(x, s.cin, 1)
                                  : tc_src_im2col(TC_SRC_IM2COL, x, s);
    const tc_panel_source bt = tc_src_strided(w, 1, s.cout);
    tc_gemm_sources(rows, (size_t)s.cout, taps(s), &a, &bt, y, (size_t)s.cout, 0, b, relu,
                    workspace);
}

// dx = full convolution of dy with the spatially flipped, channel-transposed kernel:
// a forward conv over dy [N][Ho][Wo][Cout] with padding k-1-pad gives [N][H][W][Cin].
void tc_conv2d_backward_data(tc_conv_shape s, const float *dy, const float *w, float *dx,
                             float *workspace) {
    if (s.k == 1 && s.pad == 0) {
        const size_t rows = (size_t)s.n * s.h * s.w;
        const tc_panel_source a = tc_src_strided(dy, s.cout, 1);
        const tc_panel_source bt = tc_src_strided(w, s.cout, 1);  // op(cin, cout) = w[cin][cout]
        tc_gemm_sources(rows, (size_t)s.cin, (size_t)s.cout, &a, &bt, dx, (size_t)s.cin, 0,
                        NULL, 0, workspace);
        return;
    }
    const int k = s.k;
    float *wf = workspace;  // [k][k][Cout][Cin]
    float *gw = workspace + (size_t)k * k * s.cout * s.cin + 16;
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
            for (int co = 0; co < s.cout; co++)
                for (int ci = 0; ci < s.cin; ci++)
                    wf[(((size_t)ky * k + kx) * s.cout + co) * s.cin + ci] =
                        w[((((size_t)(k - 1 - ky)) * k + (k - 1 - kx)) * s.cin + ci) * s.cout + co];
    const tc_conv_shape t = {s.n, out_h(s), out_w(s), s.cout, s.cin, k, k - 1 - s.pad};
    tc_conv2d_forward(t, dy, wf, NULL, dx, 0, gw);
}

static void bias_grad(size_t rows, int cout, const float *dy, float *db, int accumulate) {
    if (!db) return;
    if (!accumulate) memset(db, 0, (size_t)cout * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < cout; c++) db[c] += dy[r * cout + c];
}

// dw [k*k*Cin][Cout] (+)= im2col(x)^T * dy. When Cout is narrower than the tap count
// the transposed product dw^T = dy^T * im2col(x) fills the vector lanes better; it is
// computed into the workspace and added back transposed.
void tc_conv2d_backward_weights(tc_conv_shape s, const float *x, const float *dy, float *dw,
                                float *db, int accumulate, float *workspace) {
    const size_t rows = (size_t)s.n * out_h(s) * out_w(s);
    const size_t t = taps(s), co = (size_t)s.cout;
    const int one = s.k == 1 && s.pad == 0;
    const tc_panel_source xs = one ? tc_src_strided(x, 1, s.cin)
                                   : tc_src_im2col(TC_SRC_IM2COL_T, x, s);  // op(tap, row)
    const tc_panel_source dys = tc_src_strided(dy, 1, s.cout);               // op(cout, row)
    const tc_isa_kernels *kt = tc_active_kernels();
    const tc_gemm_ukernel u1 = tc_gemm_choose_ukernel(kt, co), u2 = tc_gemm_choose_ukernel(kt, t);
    const size_t work1 = ((t + u1.mr - 1) / u1.mr * u1.mr) * ((co + u1.nr - 1) / u1.nr * u1.nr);
    const size_t work2 = ((co + u2.mr - 1) / u2.mr * u2.mr) * ((t + u2.nr - 1) / u2.nr * u2.nr);
    if (work2 < work1) {
        float *tr = workspace;  // [Cout][taps]
        tc_gemm_sources(co, t, rows, &dys, &xs, tr, t, 0, NULL, 0, workspace + co * t + 16);
        for (size_t i = 0; i < t; i++)
            for (size_t j = 0; j < co; j++)
                dw[i * co + j] = (accumulate ? dw[i * co + j] : 0.0f) + tr[j * t + i];
    } else {
        tc_gemm_sources(t, co, rows, &xs, &dys, dw, co, accumulate, NULL, 0, workspace);
    }
    bias_grad(rows, s.cout, dy, db, accumulate);
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
