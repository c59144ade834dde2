// Private: the blocked, packed GEMM driver shared by 1x1/kxk conv and dense kernels.
// Both operands are "panel sources": a source packs op(i, k) for a block of rows i
// and reduction indices k, so im2col happens inside packing and never materializes.
#ifndef TINYCONV_GEMM_DRIVER_H
#define TINYCONV_GEMM_DRIVER_H

#include "kernels_internal.h"

typedef enum { TC_SRC_STRIDED, TC_SRC_IM2COL, TC_SRC_IM2COL_T } tc_src_kind;

// STRIDED:   op(i, k) = p[i*rs + k*cs]
// IM2COL:    op(i, k) = col(row i, tap k)   (rows: n,oy,ox; taps: ky,kx,c)
// IM2COL_T:  op(i, k) = col(row k, tap i)
typedef struct {
    tc_src_kind kind;
    const float *p;
    ptrdiff_t rs, cs;
    tc_conv_shape s;  // input shape for the im2col kinds (p is NHWC [n][h][w][cin])
} tc_panel_source;

static inline tc_panel_source tc_src_strided(const float *p, ptrdiff_t rs, ptrdiff_t cs) {
    tc_panel_source s = {TC_SRC_STRIDED, p, rs, cs, {0, 0, 0, 0, 0, 0, 0}};
    return s;
}
static inline tc_panel_source tc_src_im2col(tc_src_kind kind, const float *x, tc_conv_shape s) {
    tc_panel_source src = {kind, x, 0, 0, s};
    return src;
}

/// C[M][N] (row-major, ldc) (= or +=) sum_k A(i,k) * B(j,k) (+ bias[j], ReLU).
void tc_gemm_sources(size_t M, size_t N, size_t K, const tc_panel_source *A,
                     const tc_panel_source *Bt, float *C, size_t ldc, int accumulate,
                     const float *bias, int relu, float *workspace);

/// Which microkernel the driver uses for an N-wide output (shape-only choice, so the
/// arithmetic is the same whatever thread runs it).
tc_gemm_ukernel tc_gemm_choose_ukernel(const tc_isa_kernels *t, size_t N);

#endif
