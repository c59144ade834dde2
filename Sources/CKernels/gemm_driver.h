// Private: the blocked GEMM driver shared by the 1x1/kxk conv and dense kernels.
// Operands are "sources": A is read in place when row-major, otherwise copied a few
// rows at a time (im2col happens there, so the column matrix never materializes);
// B is packed into NR-wide k-major panels.
#ifndef TINYCONV_GEMM_DRIVER_H
#define TINYCONV_GEMM_DRIVER_H

#include "kernels_internal.h"

typedef enum { TC_SRC_STRIDED, TC_SRC_IM2COL } tc_src_kind;

// STRIDED:  op(i, k) = p[i*rs + k*cs]
// IM2COL:   op(i, k) = col(row i, tap k), rows (n, oy, ox), taps (ky, kx, c); A only.
typedef struct {
    tc_src_kind kind;
    const float *p;
    ptrdiff_t rs, cs;
    tc_conv_shape s;  // input shape for IM2COL (p is NHWC [n][h][w][cin])
} tc_panel_source;

static inline tc_panel_source tc_src_strided(const float *p, ptrdiff_t rs, ptrdiff_t cs) {
    tc_panel_source s = {TC_SRC_STRIDED, p, rs, cs, {0, 0, 0, 0, 0, 0, 0}};
    return s;
}
static inline tc_panel_source tc_src_im2col(const float *x, tc_conv_shape s) {
    tc_panel_source src = {TC_SRC_IM2COL, x, 0, 0, s};
    return src;
}

// One GEMM call's tile and cache blocking, resolved from a choice (tc_gemm_algo).
typedef struct {
    tc_gemm_ukernel uk;
    size_t kc, nc, mc;  // mc: rows, a multiple of uk.mr
} tc_gemm_setup;

/// The tile a choice names on this ISA (by shape), else `rule`; the blocking it names, else
/// the ISA's fixed one. a may be NULL (the rule and the fixed blocking).
tc_gemm_setup tc_gemm_setup_for(const tc_isa_kernels *t, const tc_gemm_algo *a, tc_gemm_ukernel rule);
/// The ISA's tile of a shape, if it has one (returns 0 and leaves *out alone otherwise).
int tc_gemm_find_tile(const tc_isa_kernels *t, int mr, int nr, tc_gemm_ukernel *out);
/// Workspace floats of tc_gemm_sources with N output columns under a choice's blocking (a NULL
/// or a->kc == 0: the largest fixed blocking of any ISA).
size_t tc_gemm_workspace_for(const tc_gemm_algo *a, size_t N);

/// C[M][N] (row-major, ldc) (= or +=) sum_k A(i,k) * Bt(j,k) (+ bias[j], ReLU), with the
/// tile and blocking of the choice a (NULL, or no tile named: tc_gemm_choose_ukernel_mn).
void tc_gemm_sources(const tc_isa_kernels *t, const tc_gemm_algo *a, size_t M, size_t N, size_t K,
                     const tc_panel_source *A, const tc_panel_source *Bt, float *C, size_t ldc, int accumulate,
                     const float *bias, int relu, float *workspace);

/// dst[r][t] = im2col rows r0 .. r0+rows of x (row-major, k*k*cin floats per row).
void tc_im2col_rows(const tc_isa_kernels *t, tc_conv_shape s, const float *x, size_t r0, size_t rows, float *dst);

/// Packs op(j0 .. j0+nj, k0 .. k0+kc) into one k-major panel dst[k*nr_pad + j] (zero
/// columns beyond nj).
void tc_pack_b(const tc_isa_kernels *t, const tc_panel_source *s, size_t j0, size_t nj, size_t nr_pad, size_t k0,
               size_t kc, float *dst);

/// Which microkernel the driver uses for an N-wide output (a shape-only choice, so the
/// arithmetic is the same whatever thread runs it).
tc_gemm_ukernel tc_gemm_choose_ukernel(const tc_isa_kernels *t, size_t N);
/// The tile (wide, narrow, short or taps) that computes the fewest padded elements for an
/// M x N output (ties: the earlier in that order). A shape-only choice.
tc_gemm_ukernel tc_gemm_choose_ukernel_by_work(const tc_isa_kernels *t, size_t M, size_t N);
/// The same, knowing the row count too: 6 rows or fewer take the short tile.
tc_gemm_ukernel tc_gemm_choose_ukernel_mn(const tc_isa_kernels *t, size_t M, size_t N);

#endif
