// Private to the conv family. Calls go one way: conv_pool.c (fused conv + ReLU + max pool)
// -> conv.c (GEMM convs, dense, bias gradient) -> conv_cin1.c (the Cin = 1 path) and
// conv_direct.c (k x k, Cin > 1, direct) -> gemm.c.
#ifndef TINYCONV_CONV_INTERNAL_H
#define TINYCONV_CONV_INTERNAL_H

#include "gemm_driver.h"

// ---- conv.c
/// db [Cout] (+)= column sums of dy [images][rows][Cout], image by image (the order is the
/// ISA kernel's: the same for one call over n images as for n calls over one).
void tc_conv_bias_grad(const tc_isa_kernels *t, size_t images, size_t rows, int cout, const float *dy, float *db,
                       int accumulate);
/// A valid conv shape (every size positive, padding below k, a non-empty output).
int tc_conv_shape_ok(tc_conv_shape s);

// ---- conv_cin1.c: Cin = 1 without im2col, taps read from the zero-padded image plane
/// Whether a shape takes the Cin = 1 path (Cin 1, k > 1, at most 121 taps).
int tc_conv_cin1_direct(tc_conv_shape s);
size_t tc_conv_cin1_workspace_floats(tc_conv_shape s, const tc_conv_algo *algo);
/// y [N][Ho][Wo][Cout] = relu?(conv(x, w) + b): the GEMM over the plane (variant GEMM) or the
/// direct kernel with positions in vector lanes (variant ALT); the same bits either way.
void tc_conv_cin1_forward(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x,
                          const float *w, const float *b, float *y, int relu, float *workspace);
/// y, code [N][Ho/2][Wo/2][Cout] = the 2x2 max pool (with codes) of relu(conv(x, w) + b), two conv
/// rows at a time, never stored whole.
void tc_conv_cin1_forward_pooled(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x,
                                 const float *w, const float *b, float *y, uint8_t *code, float *workspace);
/// dw [taps][Cout] (+)= im2col(x)^T dy (no bias gradient)
void tc_conv_cin1_backward_weights(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x,
                                   const float *dy, float *dw, int accumulate, float *workspace);
/// Whether a direction of a Cin = 1 shape offers TC_VARIANT_ALT / a tile choice (tc_conv2d_choices).
int tc_conv_cin1_choices(tc_conv_shape s, int direction);

// ---- conv_direct.c: k x k convs with Cin > 1 without im2col or col2im (TC_VARIANT_DIRECT)
/// Whether a shape offers the direct variant (k > 1, Cin > 1).
int tc_conv_direct_ok(tc_conv_shape s);
size_t tc_conv_direct_workspace_floats(tc_conv_shape s);
/// The register tile a direct direction runs: the choice's, else the shape rule's.
tc_gemm_ukernel tc_conv_direct_tile(const tc_isa_kernels *t, tc_conv_shape s, int direction, const tc_gemm_algo *a);
void tc_conv_direct_forward(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a, const float *x,
                            const float *w, const float *b, float *y, int relu, float *workspace);
/// dw [taps][c0..c1) (+)= the weight gradient (no bias gradient)
void tc_conv_direct_backward_weights(const tc_isa_kernels *t, tc_conv_shape s, const tc_gemm_algo *a,
                                     const float *x, const float *dy, float *dw, int accumulate, float *workspace,
                                     int c0, int c1);
void tc_conv_direct_backward_data(const tc_isa_kernels *t, tc_conv_shape s, const float *dy, const float *w,
                                  float *dx, float *workspace);

#endif
