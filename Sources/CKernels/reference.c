// Naive reference twins: plain loops over the definitions, double accumulators, no
// blocking, no SIMD. Never on the hot path; the tests trust these.
#include <math.h>
#include <string.h>
#include "tinyconv_reference.h"

void tc_ref_gemm(size_t M, size_t N, size_t K, const float *A, ptrdiff_t rsA, ptrdiff_t csA,
                 const float *B, ptrdiff_t rsB, ptrdiff_t csB, float *C, size_t ldc,
                 int accumulate, const float *bias, int relu) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double acc = accumulate ? C[i * ldc + j] : (bias ? bias[j] : 0.0);
            for (size_t k = 0; k < K; k++)
                acc += (double)A[(ptrdiff_t)i * rsA + (ptrdiff_t)k * csA] *
                       B[(ptrdiff_t)k * rsB + (ptrdiff_t)j * csB];
            if (relu && acc < 0) acc = 0;
            C[i * ldc + j] = (float)acc;
        }
}

#define X4(s, n, y, x, c) (((((size_t)(n) * (s).h) + (y)) * (s).w + (x)) * (s).cin + (c))

void tc_ref_conv2d_forward(tc_conv_shape s, const float *x, const float *w, const float *b,
                           float *y, int relu) {
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    for (int n = 0; n < s.n; n++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int co = 0; co < s.cout; co++) {
                    double acc = b ? b[co] : 0.0;
                    for (int ky = 0; ky < s.k; ky++)
                        for (int kx = 0; kx < s.k; kx++) {
                            const int iy = oy + ky - s.pad, ix = ox + kx - s.pad;
                            if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                            for (int ci = 0; ci < s.cin; ci++)
                                acc += (double)x[X4(s, n, iy, ix, ci)] *
                                       w[(((size_t)ky * s.k + kx) * s.cin + ci) * s.cout + co];
                        }
                    if (relu && acc < 0) acc = 0;
                    y[(((size_t)n * ho + oy) * wo + ox) * s.cout + co] = (float)acc;
                }
}

// dx[n,iy,ix,ci] = sum over (ky,kx,co) with oy = iy - ky + pad in range of dy * w.
void tc_ref_conv2d_backward_data(tc_conv_shape s, const float *dy, const float *w, float *dx) {
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    for (int n = 0; n < s.n; n++)
        for (int iy = 0; iy < s.h; iy++)
            for (int ix = 0; ix < s.w; ix++)
                for (int ci = 0; ci < s.cin; ci++) {
                    double acc = 0.0;
                    for (int ky = 0; ky < s.k; ky++)
                        for (int kx = 0; kx < s.k; kx++) {
                            const int oy = iy - ky + s.pad, ox = ix - kx + s.pad;
                            if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                            for (int co = 0; co < s.cout; co++)
                                acc += (double)dy[(((size_t)n * ho + oy) * wo + ox) * s.cout + co] *
                                       w[(((size_t)ky * s.k + kx) * s.cin + ci) * s.cout + co];
                        }
                    dx[X4(s, n, iy, ix, ci)] = (float)acc;
                }
}

void tc_ref_conv2d_backward_weights(tc_conv_shape s, const float *x, const float *dy, float *dw,
                                    float *db, int accumulate) {
    const int ho = tc_conv_out_h(s), wo = tc_conv_out_w(s);
    for (int ky = 0; ky < s.k; ky++)
        for (int kx = 0; kx < s.k; kx++)
            for (int ci = 0; ci < s.cin; ci++)
                for (int co = 0; co < s.cout; co++) {
                    const size_t wi = (((size_t)ky * s.k + kx) * s.cin + ci) * s.cout + co;
                    double acc = accumulate ? dw[wi] : 0.0;
                    for (int n = 0; n < s.n; n++)
                        for (int oy = 0; oy < ho; oy++)
                            for (int ox = 0; ox < wo; ox++) {
                                const int iy = oy + ky - s.pad, ix = ox + kx - s.pad;
                                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                                acc += (double)x[X4(s, n, iy, ix, ci)] *
                                       dy[(((size_t)n * ho + oy) * wo + ox) * s.cout + co];
                            }
                    dw[wi] = (float)acc;
                }
    if (db)
        for (int co = 0; co < s.cout; co++) {
            double acc = accumulate ? db[co] : 0.0;
            for (size_t r = 0; r < (size_t)s.n * ho * wo; r++) acc += dy[r * s.cout + co];
            db[co] = (float)acc;
        }
}

void tc_ref_dense_forward(int n, int in, int out, const float *x, const float *w, const float *b,
                          float *y, int relu) {
    tc_ref_gemm((size_t)n, (size_t)out, (size_t)in, x, in, 1, w, out, 1, y, (size_t)out, 0, b,
                relu);
}

void tc_ref_dense_backward_data(int n, int in, int out, const float *dy, const float *w,
                                float *dx) {
    tc_ref_gemm((size_t)n, (size_t)in, (size_t)out, dy, out, 1, w, 1, out, dx, (size_t)in, 0,
                NULL, 0);
}

void tc_ref_dense_backward_weights(int n, int in, int out, const float *x, const float *dy,
                                   float *dw, float *db, int accumulate) {
    tc_ref_gemm((size_t)in, (size_t)out, (size_t)n, x, 1, in, dy, out, 1, dw, (size_t)out,
                accumulate, NULL, 0);
    if (db)
        for (int j = 0; j < out; j++) {
            double acc = accumulate ? db[j] : 0.0;
            for (int r = 0; r < n; r++) acc += dy[(size_t)r * out + j];
            db[j] = (float)acc;
        }
}

void tc_ref_maxpool2x2_forward(int n, int h, int w, int c, const float *x, float *y) {
    const int ho = h / 2, wo = w / 2;
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ch = 0; ch < c; ch++) {
                    float m = -INFINITY;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++) {
                            const float v =
                                x[((((size_t)s * h) + 2 * oy + dy) * w + 2 * ox + dx) * c + ch];
                            if (v > m) m = v;
                        }
                    y[((((size_t)s * ho) + oy) * wo + ox) * c + ch] = m;
                }
}

void tc_ref_maxpool2x2_backward(int n, int h, int w, int c, const float *x, const float *y,
                                const float *dy, float *dx, int relu_mask) {
    (void)y;
    const int ho = h / 2, wo = w / 2;
    memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ch = 0; ch < c; ch++) {
                    // first strict maximum in window order (the same tie rule as the kernel)
                    size_t best = 0;
                    float m = -INFINITY;
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) {
                            const size_t i = ((((size_t)s * h) + 2 * oy + a) * w + 2 * ox + b) * c + ch;
                            if (x[i] > m) { m = x[i]; best = i; }
                        }
                    // with the ReLU's backward: x came out of a ReLU, so it passes only where positive
                    if (!relu_mask || m > 0) dx[best] = dy[((((size_t)s * ho) + oy) * wo + ox) * c + ch];
                }
}

void tc_ref_maxpool2x2_forward_code(int n, int h, int w, int c, const float *x, float *y, uint8_t *code) {
    const int ho = h / 2, wo = w / 2;
    tc_ref_maxpool2x2_forward(n, h, w, c, x, y);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ch = 0; ch < c; ch++) {
                    const size_t q = ((((size_t)s * ho) + oy) * wo + ox) * c + ch;
                    int best = 0;  // first strict maximum in window order
                    float m = -INFINITY;
                    for (int j = 0; j < 4; j++) {
                        const float v = x[((((size_t)s * h) + 2 * oy + j / 2) * w + 2 * ox + j % 2) * c + ch];
                        if (v > m) { m = v; best = j; }
                    }
                    code[q] = (uint8_t)(best | (m > 0 ? 4 : 0));
                }
}

void tc_ref_maxpool2x2_backward_code(int n, int h, int w, int c, const uint8_t *code, const float *dy,
                                     float *dx) {
    const int ho = h / 2, wo = w / 2;
    memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ch = 0; ch < c; ch++) {
                    const size_t q = ((((size_t)s * ho) + oy) * wo + ox) * c + ch;
                    const int j = code[q] & 3;
                    if (code[q] & 4) dx[((((size_t)s * h) + 2 * oy + j / 2) * w + 2 * ox + j % 2) * c + ch] = dy[q];
                }
}

// Window sums in the order (x00 + x01) + (x10 + x11), then * 1/4: the kernel's order,
// so the twin agrees to the bit.
void tc_ref_avgpool2x2_forward(int n, int h, int w, int c, const float *x, float *y) {
    const int ho = h / 2, wo = w / 2;
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ch = 0; ch < c; ch++) {
                    const float *p = x + ((((size_t)s * h) + 2 * oy) * w + 2 * ox) * c + ch;
                    const size_t row = (size_t)w * c;
                    y[((((size_t)s * ho) + oy) * wo + ox) * c + ch] = ((p[0] + p[c]) + (p[row] + p[row + c])) * 0.25f;
                }
}

void tc_ref_avgpool2x2_backward(int n, int h, int w, int c, const float *dy, float *dx) {
    const int ho = h / 2, wo = w / 2;
    memset(dx, 0, sizeof(float) * (size_t)n * h * w * c);
    for (int s = 0; s < n; s++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ch = 0; ch < c; ch++) {
                    const float g = dy[((((size_t)s * ho) + oy) * wo + ox) * c + ch] * 0.25f;
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) dx[((((size_t)s * h) + 2 * oy + a) * w + 2 * ox + b) * c + ch] = g;
                }
}

void tc_ref_relu_forward(size_t count, const float *x, float *y) {
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void tc_ref_relu_backward(size_t count, const float *y, const float *dy, float *dx) {
    for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// The counter-based draw written out again (splitmix64 finalizer over seed, stream and
// index), not tc_uniform: a twin must not share the code it checks.
static uint64_t ref_splitmix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static float ref_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    const uint64_t key = ref_splitmix(seed ^ ref_splitmix(stream + 0x9e3779b97f4a7c15ULL));
    const uint64_t bits = ref_splitmix(key + index * 0x9e3779b97f4a7c15ULL) >> 40;  // 24 bits
    return (float)bits / 16777216.0f;
}

void tc_ref_dropout_forward(size_t count, float rate, uint64_t seed, uint64_t stream,
                            uint64_t first, const float *x, float *y, uint8_t *mask) {
    for (size_t i = 0; i < count; i++) {
        mask[i] = ref_uniform(seed, stream, first + i) >= rate;
        y[i] = mask[i] ? x[i] / (1.0f - rate) : 0.0f;
    }
}

void tc_ref_dropout_backward(size_t count, float rate, const uint8_t *mask, const float *dy,
                             float *dx) {
    for (size_t i = 0; i < count; i++) dx[i] = mask[i] ? dy[i] / (1.0f - rate) : 0.0f;
}

double tc_ref_softmax_xent(int n, int classes, const float *logits, const int32_t *labels,
                           float *prob, float *dlogits, float grad_scale) {
    double total = 0.0;
    for (int r = 0; r < n; r++) {
        const float *z = logits + (size_t)r * classes;
        double m = z[0], sum = 0.0;
        for (int c = 1; c < classes; c++) if (z[c] > m) m = z[c];
        for (int c = 0; c < classes; c++) sum += exp((double)z[c] - m);
        for (int c = 0; c < classes; c++) {
            const double p = exp((double)z[c] - m) / sum;
            prob[(size_t)r * classes + c] = (float)p;
            if (dlogits)
                dlogits[(size_t)r * classes + c] =
                    (float)((p - (c == labels[r] ? 1.0 : 0.0)) * grad_scale);
        }
        total += -((double)z[labels[r]] - m - log(sum));
    }
    return total;
}

void tc_ref_sgd_momentum(size_t count, float lr, float momentum, float l2, float *w, float *v,
                         const float *g) {
    for (size_t i = 0; i < count; i++) {
        const double grad = (double)g[i] + 2.0 * l2 * w[i];
        const double vel = (double)momentum * v[i] - (double)lr * grad;
        v[i] = (float)vel;
        w[i] = (float)(w[i] + vel);
    }
}

// AdamW as torch.optim.AdamW writes it, in double.
void tc_ref_adamw(size_t count, float lr, float beta1, float beta2, float eps, float weight_decay, float bc1,
                  float bc2_sqrt, float *w, float *m, float *v, const float *g) {
    for (size_t i = 0; i < count; i++) {
        const double gi = g[i];
        const double wi = (double)w[i] * (1.0 - (double)lr * weight_decay);
        const double mi = m[i] + (1.0 - beta1) * (gi - m[i]);
        const double vi = (double)beta2 * v[i] + (1.0 - beta2) * gi * gi;
        const double denom = sqrt(vi) / bc2_sqrt + eps;
        w[i] = (float)(wi - (double)lr / bc1 * (mi / denom));
        m[i] = (float)mi;
        v[i] = (float)vi;
    }
}

// Batch normalization twins, in double, one channel at a time.
void tc_ref_bn_sums(size_t rows, int c, const float *x, float *s) {
    for (int ch = 0; ch < c; ch++) {
        double a = 0;
        for (size_t r = 0; r < rows; r++) a += x[r * c + ch];
        s[ch] = (float)a;
    }
}
void tc_ref_bn_squares(size_t rows, int c, const float *x, const float *mean, float *s) {
    for (int ch = 0; ch < c; ch++) {
        double a = 0;
        for (size_t r = 0; r < rows; r++) a += ((double)x[r * c + ch] - mean[ch]) * ((double)x[r * c + ch] - mean[ch]);
        s[ch] = (float)a;
    }
}
void tc_ref_bn_normalize(size_t rows, int c, const float *x, const float *mean, const float *scale, const float *shift,
                         int relu, float *y) {
    for (size_t r = 0; r < rows; r++)
        for (int ch = 0; ch < c; ch++) {
            double v = ((double)x[r * c + ch] - mean[ch]) * scale[ch] + shift[ch];
            y[r * c + ch] = (float)(relu && v < 0 ? 0 : v);
        }
}
void tc_ref_bn_backward_sums(size_t rows, int c, const float *x, const float *mean, const float *inv_std, const float *dy,
                             float *g1, float *g2) {
    for (int ch = 0; ch < c; ch++) {
        double a1 = 0, a2 = 0;
        for (size_t r = 0; r < rows; r++) {
            a1 += dy[r * c + ch];
            a2 += (double)dy[r * c + ch] * ((double)x[r * c + ch] - mean[ch]) * inv_std[ch];
        }
        g1[ch] = (float)a1;
        g2[ch] = (float)a2;
    }
}
void tc_ref_bn_backward_data(size_t rows, int c, const float *x, const float *mean, const float *inv_std, const float *k,
                             const float *g1, const float *g2, float inv_n, const float *dy, float *dx) {
    for (size_t r = 0; r < rows; r++)
        for (int ch = 0; ch < c; ch++) {
            const double xhat = ((double)x[r * c + ch] - mean[ch]) * inv_std[ch];
            dx[r * c + ch] = (float)((double)k[ch] * (dy[r * c + ch] - (double)g1[ch] * inv_n - xhat * g2[ch] * inv_n));
        }
}

void tc_ref_transpose(size_t rows, size_t cols, const float *src, size_t lds, float *dst, size_t ldd) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

// From the definition: every output position's terms, added into dx in double per tap.
void tc_ref_conv_input_gradient_rows(int n, int h, int w, int cin, int cout, int k, const float *dy, const float *wr,
                                     float *dx) {
    const int ho = h - k + 1, wo = w - k + 1;
    const size_t runp = (size_t)(k * cin + 15) / 16 * 16;
    for (int img = 0; img < n; img++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ky = 0; ky < k; ky++)
                    for (int j = 0; j < k * cin; j++) {
                        double acc = 0.0;
                        for (int co = 0; co < cout; co++)
                            acc += (double)dy[(((size_t)img * ho + oy) * wo + ox) * cout + co] *
                                   wr[((size_t)ky * cout + co) * runp + (size_t)j];
                        dx[(((size_t)img * h + oy + ky) * w + ox) * cin + (size_t)j] += (float)acc;
                    }
}
