// TinyConv C kernel core: fp32 SIMD kernels, forward and backward.
//
// Layout everywhere: activations are NHWC (channels innermost), conv weights are
// [k][k][Cin][Cout] (Cout innermost), dense weights are [in][out] (out innermost).
// Every kernel is single-threaded, takes raw pointers and sizes, allocates nothing
// and knows nothing about models or threads. Scratch memory comes from the caller:
// each kernel that needs it has a *_workspace_floats() query.
// Naive reference twins (tc_ref_*) live in reference.c, declared with the test hooks in
// tinyconv_reference.h: what tests trust, not what production calls.
#ifndef TINYCONV_KERNELS_H
#define TINYCONV_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- ISA dispatch
typedef enum {
    TC_ISA_GENERIC = 0,  // 128-bit vectors, baseline x86-64 (SSE2) or any CPU
    TC_ISA_AVX2 = 1,     // AVX2 + FMA, 256-bit
    TC_ISA_AVX512 = 2,   // AVX-512F, 512-bit
} tc_isa;

/// Best ISA this CPU supports (CPUID), ignoring any override.
tc_isa tc_isa_detect(void);
/// ISA in use: the override if set, otherwise TINYCONV_ISA (generic|avx2|avx512)
/// from the environment if valid and supported, otherwise tc_isa_detect().
tc_isa tc_isa_active(void);
/// Force an ISA (for tests and benchmarks). Returns 0 on success, -1 if the CPU
/// lacks it. Not thread-safe against running kernels: call between steps.
int tc_isa_set(tc_isa isa);
/// Forget the override: back to the environment / detection.
void tc_isa_reset(void);
const char *tc_isa_name(tc_isa isa);
/// Floats per vector on the ISA (4, 8, 16).
int tc_isa_vector_floats(tc_isa isa);

// Shape of a stride-1 k x k conv with symmetric zero padding (section convolution below).
typedef struct {
    int n, h, w, cin, cout, k, pad;
} tc_conv_shape;
// The output-size rule: its one home (the Swift ConvShape calls these too).
static inline int tc_conv_out_h(tc_conv_shape s) { return s.h + 2 * s.pad - s.k + 1; }
static inline int tc_conv_out_w(tc_conv_shape s) { return s.w + 2 * s.pad - s.k + 1; }
static inline size_t tc_conv_taps(tc_conv_shape s) { return (size_t)s.k * s.k * s.cin; }

// ---------------------------------------------------------------- algorithm choices
// How one GEMM-based kernel call runs. The zero value is the shape rule (an untuned plan);
// a tuned plan passes what timing the candidates on the machine at hand picked. Every choice
// computes each output element with the same operations in the same order: it changes
// speed, never bits.
typedef struct {
    uint8_t mr, nr;      // register tile by shape (tc_gemm_tile_shape); 0 x 0, or a shape the
                         // active ISA lacks: the rule's tile
    uint8_t variant;     // TC_VARIANT_*
    uint8_t reserved;
    int32_t kc, nc, mc;  // cache blocking (BLIS's KC, NC, and MC in rows); kc = 0: the ISA's fixed one
} tc_gemm_algo;

enum {
    TC_VARIANT_RULE = 0,  // the shape rule
    TC_VARIANT_GEMM = 1,  // forward: the GEMM; backward data: dY W^T; weight gradient: col^T dY
    TC_VARIANT_ALT = 2,   // forward, Cin = 1: direct, positions in vector lanes; backward data, 1x1:
                          // (W dY^T)^T; weight gradient: (dY^T col)^T
    TC_VARIANT_DIRECT = 3,  // k x k, Cin > 1: the direct convolution of every direction (conv_direct.c):
                            // no im2col, no col2im; the tile applies to forward and weight gradient
};
enum { TC_DIR_FORWARD = 0, TC_DIR_BACKWARD_DATA = 1, TC_DIR_BACKWARD_WEIGHTS = 2 };

// One choice per direction of a conv (or dense) layer.
typedef struct {
    tc_gemm_algo forward, backward_data, backward_weights;
} tc_conv_algo;

/// The register tiles of an ISA (the tuner's candidates): how many, and tile i's rows x columns.
int tc_gemm_tile_count(tc_isa isa);
void tc_gemm_tile_shape(tc_isa isa, int i, int *mr, int *nr);
/// What the shape rules pick for a conv on the active ISA, every field filled in.
tc_conv_algo tc_conv2d_rule(tc_conv_shape s);
/// What a choice can set for a direction (TC_DIR_*) of a conv shape: TC_CHOICE_* flags (0: a
/// fixed kernel; TC_CHOICE_DIRECT: TC_VARIANT_DIRECT is offered too).
enum { TC_CHOICE_TILE = 1, TC_CHOICE_BLOCKING = 2, TC_CHOICE_VARIANT = 4, TC_CHOICE_DIRECT = 8 };
int tc_conv2d_choices(tc_conv_shape s, int direction);
/// The register tile TC_VARIANT_DIRECT runs for a direction when the choice names none, on the
/// active ISA: 1 with *mr x *nr, or 0 (no direct variant, or the input gradient's fixed block).
int tc_conv2d_direct_tile(tc_conv_shape s, int direction, int *mr, int *nr);

// ---------------------------------------------------------------- GEMM
// C[M,N] (= or +=) A[M,K] * B[K,N], A and B read through (row, column) strides,
// so transposes cost nothing; C is row-major with leading dimension ldc.
// bias (N floats, may be NULL) is added, then ReLU if relu != 0, when not accumulating.
size_t tc_gemm_workspace_floats(size_t M, size_t N, size_t K);
void tc_gemm(size_t M, size_t N, size_t K,
             const float *A, ptrdiff_t rsA, ptrdiff_t csA,
             const float *B, ptrdiff_t rsB, ptrdiff_t csB,
             float *C, size_t ldc, int accumulate,
             const float *bias, int relu, float *workspace);

// ---------------------------------------------------------------- convolution
// Stride 1, square k x k kernel, symmetric zero padding `pad` (valid: 0; same: (k-1)/2).
// x: [N][H][W][Cin]   w: [k][k][Cin][Cout]   b: [Cout]   y: [N][Ho][Wo][Cout]
// Ho = H + 2*pad - k + 1, Wo likewise. 1x1 convs (k=1, pad=0) run as one GEMM over N*H*W rows.
// algo (NULL: the shape rules) picks tiles, blocking and variants; the workspace query takes
// the same algo (NULL: enough for the rules).
size_t tc_conv2d_workspace_floats(tc_conv_shape s, const tc_conv_algo *algo);
/// y = relu?(conv(x, w) + b)
void tc_conv2d_forward(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *w, const float *b,
                       float *y, int relu, float *workspace);
/// dx = conv_full(dy, flip(w)): input gradient. dx: [N][H][W][Cin] (overwritten).
void tc_conv2d_backward_data(tc_conv_shape s, const tc_conv_algo *algo, const float *dy, const float *w,
                             float *dx, float *workspace);
/// dw (+)= im2col(x)^T * dy, db (+)= column sums of dy. accumulate=0 overwrites.
void tc_conv2d_backward_weights(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *dy,
                                float *dw, float *db, int accumulate, float *workspace);
/// Work below the shard: the weight gradient's output channels [c0, c1) alone, dw [k*k*Cin][c0..c1)
/// (+)= the same bits as the whole call; db (whole, [Cout]) when not NULL. Shapes whose weight
/// gradient cannot be cut so (the Cin = 1 path) answer 0 to tc_conv2d_backward_weights_splits and
/// take only c0 = 0, c1 = Cout.
int tc_conv2d_backward_weights_splits(tc_conv_shape s);
void tc_conv2d_backward_weights_columns(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *dy,
                                        float *dw, float *db, int accumulate, float *workspace, int c0, int c1);

// Conv + bias + ReLU + 2x2 max pool, fused, for any conv shape with an output of at least
// 2 x 2 (tc_conv2d_relu_maxpool_fusable): the conv output is never stored whole.
// y, code: [N][Ho/2][Wo/2][Cout] (code as in tc_maxpool2x2_forward_code).
int tc_conv2d_relu_maxpool_fusable(tc_conv_shape s);
size_t tc_conv2d_relu_maxpool_workspace_floats(tc_conv_shape s, const tc_conv_algo *algo);
void tc_conv2d_relu_maxpool_forward(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *w,
                                    const float *b, float *y, uint8_t *code, float *workspace);
/// From the pooled output's gradient dy and the forward's codes: dw, db (+)= the conv's
/// parameter gradients (accumulate=0 overwrites) and, if dx != NULL, dx (overwritten).
void tc_conv2d_relu_maxpool_backward(tc_conv_shape s, const tc_conv_algo *algo, const float *x, const float *w,
                                     const uint8_t *code, const float *dy, float *dx, float *dw, float *db,
                                     int accumulate, float *workspace);

// ---------------------------------------------------------------- dense
// x: [N][in]  w: [in][out]  b: [out]  y: [N][out]: the 1x1 conv over N x 1 x 1 x in (algo as there).
size_t tc_dense_workspace_floats(int n, int in, int out, const tc_conv_algo *algo);
void tc_dense_forward(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *w,
                      const float *b, float *y, int relu, float *workspace);
/// dx[N][in] = dy[N][out] * w^T
void tc_dense_backward_data(int n, int in, int out, const tc_conv_algo *algo, const float *dy, const float *w,
                            float *dx, float *workspace);
/// dw (+)= x^T dy, db (+)= column sums of dy
void tc_dense_backward_weights(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *dy,
                               float *dw, float *db, int accumulate, float *workspace);
/// Work below the shard, by features: y [N][c0..c1) alone (outputs c0..c1 of the forward), and
/// dx [N][c0..c1) alone (inputs c0..c1 of the input gradient); the bits of the whole calls.
void tc_dense_forward_columns(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *w,
                              const float *b, float *y, int relu, float *workspace, int c0, int c1);
void tc_dense_backward_data_columns(int n, int in, int out, const tc_conv_algo *algo, const float *dy, const float *w,
                                    float *dx, float *workspace, int c0, int c1);
/// Outputs [c0, c1) of dw alone (as tc_conv2d_backward_weights_columns); db whole when not NULL.
void tc_dense_backward_weights_columns(int n, int in, int out, const tc_conv_algo *algo, const float *x, const float *dy,
                                       float *dw, float *db, int accumulate, float *workspace, int c0, int c1);

// ---------------------------------------------------------------- vector kernels, one list
// Every kernel with one body per ISA and a plain signature is listed once, as
// X(name, (parameters), (arguments)). From this list come its public entry point tc_<name>
// (dispatch.c: one table lookup), its field in the per-ISA table (kernels_internal.h) and that
// field's entry name_<isa> (isa_kernels_template.h), and its naive twin's declaration
// tc_ref_<name> (tinyconv_reference.h). Adding such a kernel is a line here, its body in the
// template and its twin in reference.c. Contracts:
//   maxpool2x2_forward   x [N][H][W][C] -> y [N][H/2][W/2][C], max of each 2x2 window (floor).
//   maxpool2x2_backward  dx (overwritten) gets dy at the first maximum of each window (row-major
//                        tie rule, as the forward); relu_mask != 0 also drops it where the maximum is
//                        not positive (the backward of a ReLU before the pool, in the same pass).
//   maxpool2x2_backward_code  dx [N][H][W][C] (overwritten) from the codes of
//                        tc_maxpool2x2_forward_code alone: the same dx as the backward with relu_mask.
//   avgpool2x2_forward   y = ((x00 + x01) + (x10 + x11)) / 4 per window.
//   avgpool2x2_backward  dx (overwritten) = dy/4 on each window's four elements; 0 in a dropped
//                        odd trailing row or column.
//   relu_forward / relu_backward  y = max(x, 0); dx = dy where y > 0 else 0 (dx may alias dy).
//   sgd_momentum         Keras SGD with momentum and l2(lambda) on the loss (gradient gains 2*lambda*w):
//                        g' = g + 2*lambda*w;  v = momentum*v - lr*g';  w = w + v.
//   adamw                PyTorch's AdamW (decoupled weight decay), one step: w *= 1 - lr*wd;
//                        m += (1-b1)(g - m); v = b2 v + (1-b2) g^2; w -= (lr/bc1) m / (sqrt(v)/bc2s + eps),
//                        with bc1 = 1 - b1^t and bc2s = sqrt(1 - b2^t) for step t (from 1).
//   Batch normalization over x [rows][c] (rows = samples x positions, channels innermost), a
//   shard's part of a minibatch; per channel, rows summed in order:
//   bn_sums              s[ch] = sum_r x[r][ch]   (overwritten)
//   bn_squares           s[ch] = sum_r (x[r][ch] - mean[ch])^2
//   bn_normalize         y = (x - mean) * scale + shift (scale = gamma / sqrt(var + eps)), ReLU if relu
//   bn_backward_sums     g1[ch] = sum_r dy, g2[ch] = sum_r dy * (x - mean) * inv_std  (overwritten)
//   bn_backward_data     dx = k * (dy - g1 / n - (x - mean) * inv_std * g2 / n), k = gamma * inv_std, with
//                        g1, g2 the whole minibatch's sums over its n rows (inv_n = 1 / n)
//   transpose            dst[j][i] (row pitch ldd) = src[i][j] (row pitch lds), i < rows, j < cols;
//                        nothing else of dst is written (the GEMM packings and gradient layouts)
//   conv_input_gradient_rows  dx [N][H][W][Cin] += the input gradient of a valid (pad 0) k x k
//                        conv, without col2im: for each output position (in order) and kernel row ky,
//                        the run of taps (kx, ci) gets the chain over co of dy[pos][co] *
//                        wr[ky][co][kx*Cin + ci] (wr [k][Cout][k*Cin rounded up to 16], zero past
//                        k*Cin: w[ky][kx][ci][co] re-laid), added into dx[oy+ky][ox+kx][ci]: what
//                        col2im adds, in its order (the GEMM path's bits). dy [N][Ho][Wo][Cout].
#define TC_VECTOR_KERNELS(X)                                                                               \
    X(maxpool2x2_forward, (int n, int h, int w, int c, const float *x, float *y), (n, h, w, c, x, y))       \
    X(maxpool2x2_backward, (int n, int h, int w, int c, const float *x, const float *y, const float *dy,  \
                            float *dx, int relu_mask), (n, h, w, c, x, y, dy, dx, relu_mask))                \
    X(maxpool2x2_backward_code, (int n, int h, int w, int c, const uint8_t *code, const float *dy,         \
                                 float *dx), (n, h, w, c, code, dy, dx))                                     \
    X(avgpool2x2_forward, (int n, int h, int w, int c, const float *x, float *y), (n, h, w, c, x, y))       \
    X(avgpool2x2_backward, (int n, int h, int w, int c, const float *dy, float *dx), (n, h, w, c, dy, dx)) \
    X(relu_forward, (size_t count, const float *x, float *y), (count, x, y))                                \
    X(relu_backward, (size_t count, const float *y, const float *dy, float *dx), (count, y, dy, dx))        \
    X(sgd_momentum, (size_t count, float lr, float momentum, float l2, float *w, float *v, const float *g), \
      (count, lr, momentum, l2, w, v, g))                                                                   \
    X(adamw, (size_t count, float lr, float beta1, float beta2, float eps, float weight_decay, float bc1,   \
              float bc2_sqrt, float *w, float *m, float *v, const float *g),                                \
      (count, lr, beta1, beta2, eps, weight_decay, bc1, bc2_sqrt, w, m, v, g))                              \
    X(bn_sums, (size_t rows, int c, const float *x, float *s), (rows, c, x, s))                             \
    X(bn_squares, (size_t rows, int c, const float *x, const float *mean, float *s), (rows, c, x, mean, s)) \
    X(bn_normalize, (size_t rows, int c, const float *x, const float *mean, const float *scale,            \
                     const float *shift, int relu, float *y), (rows, c, x, mean, scale, shift, relu, y))    \
    X(bn_backward_sums, (size_t rows, int c, const float *x, const float *mean, const float *inv_std,      \
                         const float *dy, float *g1, float *g2), (rows, c, x, mean, inv_std, dy, g1, g2))   \
    X(bn_backward_data, (size_t rows, int c, const float *x, const float *mean, const float *inv_std,      \
                         const float *k, const float *g1, const float *g2, float inv_n, const float *dy,   \
                         float *dx), (rows, c, x, mean, inv_std, k, g1, g2, inv_n, dy, dx))              \
    X(transpose, (size_t rows, size_t cols, const float *src, size_t lds, float *dst, size_t ldd),          \
      (rows, cols, src, lds, dst, ldd))                                                                     \
    X(conv_input_gradient_rows, (int n, int h, int w, int cin, int cout, int k, const float *dy,            \
                                 const float *wr, float *dx), (n, h, w, cin, cout, k, dy, wr, dx))

#define TC_DECLARE_KERNEL(name, params, args) void tc_##name params;
TC_VECTOR_KERNELS(TC_DECLARE_KERNEL)
#undef TC_DECLARE_KERNEL

/// Max pool over a ReLU's output that records, per output element, a code byte: bits 0-1
/// the window index (row-major) of the first maximum, bit 2 set iff that maximum is > 0.
void tc_maxpool2x2_forward_code(int n, int h, int w, int c, const float *x, float *y, uint8_t *code);

// ---------------------------------------------------------------- dropout
/// Counter-based uniform in [0,1): a pure function of (seed, stream, index), so a
/// dropout mask does not depend on how a batch is split across threads.
float tc_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/// Inverted dropout over `count` elements starting at element `first` of the stream:
/// element i is kept (scaled by 1/(1-rate)) iff tc_uniform(seed, stream, first+i) >= rate.
/// mask (count bytes) records 1 for kept, 0 for dropped.
void tc_dropout_forward(size_t count, float rate, uint64_t seed, uint64_t stream,
                        uint64_t first, const float *x, float *y, uint8_t *mask);
void tc_dropout_backward(size_t count, float rate, const uint8_t *mask,
                         const float *dy, float *dx);

// ---------------------------------------------------------------- loss
/// Softmax cross-entropy over rows of logits [N][classes]. Returns the summed
/// (not averaged) loss; writes probabilities to prob and, if dlogits != NULL,
/// dlogits = (prob - onehot(label)) * grad_scale. Labels are assumed in range.
double tc_softmax_xent(int n, int classes, const float *logits, const int32_t *labels,
                       float *prob, float *dlogits, float grad_scale);

// ---------------------------------------------------------------- optimizer
// (sgd_momentum and adamw are in the vector-kernel list above.)
/// dst[i] = sum over s in [0, nsrc) of src[s][i], summed as a fixed pairwise tree
/// (the result does not depend on who calls it or on thread count).
void tc_sum_buffers(size_t count, int nsrc, const float *const *src, float *dst);
/// dst[i] = dst[i] + src[i]: one node of that tree merged on its own (the same bits as
/// tc_sum_buffers over the node's left and right sums).
void tc_add_buffer(size_t count, const float *src, float *dst);

// ---------------------------------------------------------------- peak probe
/// Register-resident FMA loop on the given ISA: returns the number of FLOPs done
/// (2 per lane per FMA). Time it to get the core's peak.
double tc_peak_probe(tc_isa isa, uint64_t iterations);

#ifdef __cplusplus
}
#endif
#endif
