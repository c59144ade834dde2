// TinyConv test hooks: the naive reference twins of every kernel (reference.c: plain
// loops, double accumulation where it matters) and the per-thread ISA override. The tests
// compare each fast kernel against its twin; production code calls neither.
#ifndef TINYCONV_REFERENCE_H
#define TINYCONV_REFERENCE_H

#include "tinyconv_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Force an ISA for kernels called on the calling thread only (tests run concurrently).
int tc_isa_set_for_thread(tc_isa isa);
void tc_isa_reset_for_thread(void);

// ---------------------------------------------------------------- naive twins
// One for each kernel of TC_VECTOR_KERNELS, same parameters:
#define TC_DECLARE_TWIN(name, params, args) void tc_ref_##name params;
TC_VECTOR_KERNELS(TC_DECLARE_TWIN)
#undef TC_DECLARE_TWIN
void tc_ref_gemm(size_t M, size_t N, size_t K, const float *A, ptrdiff_t rsA, ptrdiff_t csA,
                 const float *B, ptrdiff_t rsB, ptrdiff_t csB, float *C, size_t ldc,
                 int accumulate, const float *bias, int relu);
void tc_ref_conv2d_forward(tc_conv_shape s, const float *x, const float *w, const float *b,
                           float *y, int relu);
void tc_ref_conv2d_backward_data(tc_conv_shape s, const float *dy, const float *w, float *dx);
void tc_ref_conv2d_backward_weights(tc_conv_shape s, const float *x, const float *dy,
                                    float *dw, float *db, int accumulate);
void tc_ref_dense_forward(int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y, int relu);
void tc_ref_dense_backward_data(int n, int in, int out, const float *dy, const float *w,
                                float *dx);
void tc_ref_dense_backward_weights(int n, int in, int out, const float *x, const float *dy,
                                   float *dw, float *db, int accumulate);
void tc_ref_maxpool2x2_forward_code(int n, int h, int w, int c, const float *x, float *y, uint8_t *code);
void tc_ref_dropout_forward(size_t count, float rate, uint64_t seed, uint64_t stream,
                            uint64_t first, const float *x, float *y, uint8_t *mask);
void tc_ref_dropout_backward(size_t count, float rate, const uint8_t *mask,
                             const float *dy, float *dx);
double tc_ref_softmax_xent(int n, int classes, const float *logits, const int32_t *labels,
                           float *prob, float *dlogits, float grad_scale);

#ifdef __cplusplus
}
#endif
#endif
