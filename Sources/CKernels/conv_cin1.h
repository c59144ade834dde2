// Private: the Cin = 1 convolution path (no im2col; taps read from a zero-padded image
// plane), shared by conv.c and the fused conv + ReLU + max-pool in conv_cin1.c.
#ifndef TINYCONV_CONV_CIN1_H
#define TINYCONV_CONV_CIN1_H

#include "gemm_driver.h"

static inline int tc_conv_out_h(tc_conv_shape s) { return s.h + 2 * s.pad - s.k + 1; }
static inline int tc_conv_out_w(tc_conv_shape s) { return s.w + 2 * s.pad - s.k + 1; }
static inline size_t tc_conv_taps(tc_conv_shape s) { return (size_t)s.k * s.k * s.cin; }

/// Whether a shape takes the Cin = 1 direct path (Cin 1, k > 1, at most 121 taps).
int tc_conv_cin1_direct(tc_conv_shape s);
size_t tc_conv_cin1_workspace_floats(tc_conv_shape s);
/// y [N][Ho][Wo][Cout] = relu?(conv(x, w) + b)
void tc_conv_cin1_forward(const tc_isa_kernels *t, tc_conv_shape s, const float *x, const float *w,
                          const float *b, float *y, int relu, float *workspace);
/// dw [taps][Cout] (+)= im2col(x)^T dy (no bias gradient)
void tc_conv_cin1_backward_weights(const tc_isa_kernels *t, tc_conv_shape s, const float *x,
                                   const float *dy, float *dw, int accumulate, float *workspace);
/// db [Cout] (+)= column sums of dy [images][rows][Cout], image by image (the order is the
/// ISA kernel's: the same for one call over n images as for n calls over one).
void tc_conv_bias_grad(const tc_isa_kernels *t, size_t images, size_t rows, int cout, const float *dy, float *db,
                       int accumulate);

#endif
