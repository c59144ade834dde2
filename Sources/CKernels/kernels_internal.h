// Private to the C target: the per-ISA kernel table that dispatch.c selects from.
#ifndef TINYCONV_KERNELS_INTERNAL_H
#define TINYCONV_KERNELS_INTERNAL_H

#include "tinyconv_kernels.h"

// Microkernel flags.
enum { TC_UK_LOAD_C = 1, TC_UK_RELU = 2 };

// A GEMM microkernel computes one MR x NR tile of C, of which the first mr rows and nr
// columns are live (loaded and stored; the rest is computed and dropped):
//   c[mr][nr] (= bias | += c) + a[MR][kc] * b[kc][NR], then ReLU if asked.
// a: mr rows, row-major with leading dimension lda (read in place when the source is
// row-major, so small-N products do not pay for packing); b: kc rows of nr floats, ldb
// apart (nr for a packed panel; the source's row stride when B is read in place).
// koff (only for fn_koff): A(i, k) = a[i + koff[k]] instead of a[i*lda + k].
typedef void (*tc_gemm_ukernel_fn)(size_t kc, const float *a, size_t lda, const float *b,
                                   size_t ldb, float *c, size_t ldc, const float *bias, int flags,
                                   const int32_t *koff, int mr, int nr);
typedef struct {
    int mr, nr;
    tc_gemm_ukernel_fn fn;       // A(i, k) = a[i*lda + k]
    tc_gemm_ukernel_fn fn_koff;  // A(i, k) = a[i + koff[k]] (lda ignored)
    tc_gemm_ukernel_fn fn_roff;  // A(i, k) = a[koff[i] + k] (lda ignored)
} tc_gemm_ukernel;

// Cache blocking of the GEMM driver (BLIS's KC/NC/MC): a KC x NC block of packed B
// stays in L2 while MC_PANELS x MR rows of A stream past it.
typedef struct {
    int kc;         // reduction depth per packed block
    int nc;         // output columns per packed B block
    int mc_panels;  // A row panels per block
} tc_gemm_blocking;

// Everything the kernels need to know about one ISA: register tiles, blocking and the
// vector kernels. Looked up once per public call (tc_active_kernels) and passed down.
typedef struct {
    tc_isa isa;
    int vector_floats;
    tc_gemm_blocking blocking;
    // Every register tile of the ISA, by shape (the candidates a tuned plan picks from); the
    // roles below are the entries the shape rules pick.
    const tc_gemm_ukernel *tiles;
    int tile_count;
    tc_gemm_ukernel gemm_wide;    // nr = 2 vectors: for N of 24 and more
    tc_gemm_ukernel gemm_narrow;  // nr = 1 vector: for small N (10, 12, 16 outputs)
    tc_gemm_ukernel gemm_half;    // nr = half a 512-bit vector: N <= 8 (= narrow below AVX-512)
    tc_gemm_ukernel gemm_short;   // mr = 6, nr = 4 vectors: M <= 6 (= wide below AVX-512, already 6 rows)
    tc_gemm_ukernel gemm_taps;    // mr = 5: tap counts of 5x5 kernels (chosen by padded work only)
    tc_gemm_ukernel gemm_octa;    // mr = 8, nr = 2 vectors: 7-8 or 13-16 rows (= wide below AVX-512)
    // the kernels of TC_VECTOR_KERNELS (tinyconv_kernels.h), one field each
#define TC_KERNEL_FIELD(name, params, args) void(*name) params;
    TC_VECTOR_KERNELS(TC_KERNEL_FIELD)
#undef TC_KERNEL_FIELD
    void (*maxpool2x2_forward_code)(int n, int h, int w, int c, int xc, const float *x, float *y, uint8_t *code);
    // Cin = 1 conv with output positions in vector lanes (conv_cin1.c): output rows oy and oy+1
    // (rows = 1: oy only) of one image. plane: the image's zero-padded plane split by column
    // parity (even columns, then odd ones; koff folds in which), row stride wh, offset to row oy;
    // koff [2][taps]: tap offsets for even and odd output columns; w [taps][cpad], b [cpad] with
    // cpad = Cout rounded up to conv1ch_direct_channels (zero-padded). code != NULL: y and code
    // [Wo/2][Cout] = the pooled row oy/2 of the ReLU'd rows (codes as tc_maxpool2x2_forward_code);
    // else y [rows][Wo][Cout], ReLU'd if relu.
    void (*conv1ch_direct_rows)(const float *plane, size_t wh, const int32_t *koff, int taps, const float *w,
                                const float *b, int cout, int wo, int rows, int relu, float *y, uint8_t *code);
    int conv1ch_direct_channels;
    void (*conv1ch_weight_grad)(size_t kpad, const float *plane, const float *dyt, int taps,
                                const int32_t *koff, int cout, float *dw);
    // db [Cout] += column sums of dy [images][rows][Cout] (order: isa_kernels_template.h)
    void (*bias_grad)(size_t images, size_t rows, int cout, const float *dy, float *db);
    // dst [rows][n_pad] = src rows (stride floats apart), n floats each, zero from n to n_pad
    void (*copy_panel)(size_t rows, size_t n, size_t n_pad, const float *src, ptrdiff_t stride, float *dst);
    // d [rows][ld] = im2col rows r0 .. r0+rows of x (k*k*Cin each; zero outside the image)
    void (*im2col_rows)(tc_conv_shape s, const float *x, size_t r0, size_t rows, float *d, size_t ld);
    // dx [N][H][W][Cin] += the gradients d [rows][ld] of im2col rows r0.., scattered to their
    // windows in row order
    void (*col2im_rows_add)(tc_conv_shape s, size_t r0, size_t rows, const float *d, size_t ld, float *dx);
    // key: the stream's splitmix64 key; scale = 1 / (1 - rate).
    void (*dropout_forward)(size_t count, float rate, float scale, uint64_t key, uint64_t first,
                            const float *x, float *y, uint8_t *mask);
    void (*dropout_backward)(size_t count, float scale, const uint8_t *mask, const float *dy,
                             float *dx);
    void (*add)(size_t count, const float *a, const float *b, float *dst);
    double (*peak_probe)(uint64_t iterations);
} tc_isa_kernels;

extern const tc_isa_kernels tc_kernels_generic;
#if defined(__x86_64__)
extern const tc_isa_kernels tc_kernels_avx2;
extern const tc_isa_kernels tc_kernels_avx512;
#endif

/// The table for the active ISA.
const tc_isa_kernels *tc_active_kernels(void);
/// Every table compiled in (workspace queries take the largest need over them, so a
/// workspace sized once serves whichever ISA runs).
extern const tc_isa_kernels *const tc_all_kernels[];
extern const int tc_all_kernels_count;

// Channels per block of the narrow Cin = 1 weight-gradient kernel (conv.c pads to it).
#define TC_CIN1_WGRAD_CHANNELS 6

// Largest tile any ISA uses (for workspace sizes).
#define TC_MAX_MR 28
#define TC_MAX_NR 64

static inline size_t tc_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }
// Room for n columns padded to any tile's width: at least round_up(n, NR) for every NR up to
// TC_MAX_NR (NR is not always a power of two: 24, 48), kept a multiple of 16 floats.
static inline size_t tc_tile_padded(size_t n) { return tc_round_up(n + TC_MAX_NR, 16); }

#endif
