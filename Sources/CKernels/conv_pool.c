// Conv + bias + ReLU + 2x2 max pool in one kernel, for any conv shape with an output of at
// least 2 x 2. The pool records, per output element, which window element was the first
// maximum and whether it was positive (tc_maxpool2x2_forward_code); the backward scatters the
// pooled gradient by those codes and runs the conv's gradient kernels. Every float is computed
// by the same operations in the same order as conv forward -> pool forward -> pool backward
// (ReLU-masked) -> conv backward, so the fused and unfused plans give the same bits.
//
// Cin = 1 convs (conv_cin1.c) produce two conv rows at a time into a cache-resident buffer
// (or pool them in the vector lanes, direct variant), so their activation (24x24x120 in the
// Custom net) never makes a round trip through memory; the backward goes image by image.
// Other convs run their GEMM over the whole shard into scratch (one packing of the weights, as
// the unfused stage runs it; per-image calls measured 10% slower on LeNet-5's conv2) and pool it
// with codes, so the pool pass and the ReLU mask of the backward come for free; the backward
// expands the codes for the shard and calls the unfused gradient kernels.
#include <assert.h>
#include <string.h>
#include "conv_internal.h"

int tc_conv2d_relu_maxpool_fusable(tc_conv_shape s) {
    return tc_conv_shape_ok(s) && tc_conv_out_h(s) >= 2 && tc_conv_out_w(s) >= 2;
}

static size_t conv_image_floats(tc_conv_shape s) { return (size_t)tc_conv_out_h(s) * tc_conv_out_w(s) * s.cout; }

// The fused kernels' own scratch at the start of the workspace (the conv's workspace follows):
// Cin = 1: one image's conv-output gradient (backward); otherwise the shard's conv output
// (forward) or its gradient (backward).
static size_t own_scratch_floats(tc_conv_shape s) {
    const size_t image = conv_image_floats(s) + 64;
    return tc_conv_cin1_direct(s) ? image : (size_t)s.n * conv_image_floats(s) + 64;
}

size_t tc_conv2d_relu_maxpool_workspace_floats(tc_conv_shape s, const tc_conv_algo *algo) {
    return own_scratch_floats(s) + tc_conv2d_workspace_floats(s, algo);
}

void tc_conv2d_relu_maxpool_forward(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *w,
                                    const float *b, float *y, uint8_t *code, float *workspace) {
    assert(tc_conv2d_relu_maxpool_fusable(s) && x && w && y && code && workspace);
    const tc_isa_kernels *t = tc_active_kernels();
    if (tc_conv_cin1_direct(s)) {
        tc_conv_cin1_forward_pooled(t, s, algo ? &algo->forward : NULL, x, w, b, y, code, workspace);
        return;
    }
    float *conv = workspace;  // [N][Ho][Wo][Cout]
    tc_conv2d_forward(s, algo, x, w, b, conv, 1, workspace + own_scratch_floats(s));
    t->maxpool2x2_forward_code(s.n, tc_conv_out_h(s), tc_conv_out_w(s), s.cout, s.cout, conv, y, code);
}

void tc_conv2d_relu_maxpool_backward(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *w,
                                     const uint8_t *code, const float *dy, float *dx, float *dw, float *db,
                                     int accumulate, float *workspace) {
    assert(tc_conv2d_relu_maxpool_fusable(s) && x && w && code && dy && dw && workspace);
    const tc_isa_kernels *t = tc_active_kernels();
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    const size_t pooled = (size_t)(ho / 2) * (wo / 2) * s.cout;
    float *dconv = workspace;
    float *ws = workspace + own_scratch_floats(s);
    if (!tc_conv_cin1_direct(s)) {  // the shard's conv-output gradient, then the unfused kernels
        t->maxpool2x2_backward_code(s.n, ho, wo, s.cout, code, dy, dconv);
        tc_conv2d_backward_weights(s, algo, x, dconv, dw, db, accumulate, ws);
        if (dx) tc_conv2d_backward_data(s, algo, dconv, w, dx, ws);
        return;
    }
    // Cin = 1: image by image, the conv-output gradient stays in cache. The weight and bias
    // gradients accumulate over images in the order the unfused kernels sum them.
    const size_t per_image = (size_t)ho * wo;
    const tc_gemm_algo *bw = algo ? &algo->backward_weights : NULL;
    tc_conv_shape one = s;
    one.n = 1;
    for (int n = 0; n < s.n; n++) {
        t->maxpool2x2_backward_code(1, ho, wo, s.cout, code + n * pooled, dy + n * pooled, dconv);
        const int acc = accumulate || n > 0;
        const float *xn = x + (size_t)n * s.h * s.w;
        tc_conv_cin1_backward_weights(t, one, bw, xn, dconv, dw, acc, ws);
        tc_conv_bias_grad(t, 1, per_image, s.cout, dconv, db, acc);
        if (dx) tc_conv2d_backward_data(one, algo, dconv, w, dx + (size_t)n * s.h * s.w, ws);
    }
}
