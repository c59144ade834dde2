// The direct convolutions' exact checks as one C program, for a machine without Swift (the
// device tool's 16-core AVX-512 machine; DirectConvTests runs the same checks under `swift
// test` where Swift is). Built by scripts/kernel-check.sh against Sources/CKernels.
// For every ISA this CPU has, over shapes with odd sizes, channel counts off the vector widths,
// batch 1 and padding: small-integer data, every direction of TC_VARIANT_DIRECT == the naive
// twin bit for bit; random data, the direct variant under every tile == the GEMM rule bit for
// bit (the input gradient through conv_input_gradient_rows). Exit 1 on the first mismatch, naming it.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tinyconv_kernels.h"
#include "tinyconv_reference.h"

static uint64_t state = 88172645463325252ULL;
static uint64_t next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }
static void fill(float *p, size_t n, int integers) {
    for (size_t i = 0; i < n; i++)
        p[i] = integers ? (float)((int)(next() % 9) - 4) : (float)((double)(next() >> 11) / 9007199254740992.0 * 2 - 1);
}
static float *alloc(size_t n, float v) {
    float *p = malloc((n + 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = v;
    return p;
}
static int same(const float *a, const float *b, size_t n, const char *what, tc_conv_shape s, const char *isa, int tile) {
    if (memcmp(a, b, n * sizeof(float)) == 0) return 1;
    size_t i = 0;
    while (i < n && memcmp(a + i, b + i, sizeof(float)) == 0) i++;
    printf("MISMATCH %s on %s tile %d, shape n%d %dx%d %d->%d k%d pad%d: index %zu got %g want %g\n", what, isa, tile, s.n,
           s.h, s.w, s.cin, s.cout, s.k, s.pad, i, a[i], b[i]);
    return 0;
}

typedef struct { float *y, *dx, *dw, *db; } outs;
static outs run(tc_conv_shape s, const tc_conv_algo *a, const float *x, const float *w, const float *b, const float *dy,
                const float *dw0, int relu) {
    const size_t ws = tc_conv2d_workspace_floats(s, a);
    float *work = alloc(ws, NAN);
    const size_t ny = (size_t)s.n * tc_conv_out_h(s) * tc_conv_out_w(s) * s.cout, nx = (size_t)s.n * s.h * s.w * s.cin;
    outs o = {alloc(ny, NAN), alloc(nx, NAN), alloc(tc_conv_taps(s) * s.cout, 0), alloc((size_t)s.cout, 0)};
    memcpy(o.dw, dw0, tc_conv_taps(s) * s.cout * sizeof(float));
    tc_conv2d_forward(s, a, x, w, b, o.y, relu, work);
    tc_conv2d_backward_data(s, a, dy, w, o.dx, work);
    tc_conv2d_backward_weights(s, a, x, dy, o.dw, o.db, 1, work);
    free(work);
    return o;
}
static void release(outs o) { free(o.y); free(o.dx); free(o.dw); free(o.db); }

int main(void) {
    const tc_conv_shape shapes[] = {
        {3, 14, 14, 6, 16, 5, 0}, {2, 12, 12, 6, 150, 3, 0}, {1, 7, 9, 3, 5, 3, 1}, {2, 5, 4, 2, 17, 2, 0},
        {1, 9, 11, 11, 33, 4, 0}, {2, 8, 8, 19, 7, 5, 2},  {1, 3, 3, 9, 64, 3, 0}, {4, 20, 18, 16, 24, 3, 1},
        {8, 14, 14, 6, 16, 5, 0}, {8, 12, 12, 6, 150, 3, 0}, {2, 6, 7, 3, 1, 3, 0}, {1, 5, 5, 4, 2, 2, 1},
    };
    const tc_isa isas[] = {TC_ISA_GENERIC, TC_ISA_AVX2, TC_ISA_AVX512};
    long checks = 0;
    for (int ii = 0; ii < 3; ii++) {
        if (tc_isa_set(isas[ii]) != 0) { printf("%s: not on this CPU, skipped\n", tc_isa_name(isas[ii])); continue; }
        const char *isa = tc_isa_name(isas[ii]);
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            const tc_conv_shape s = shapes[si];
            const size_t nx = (size_t)s.n * s.h * s.w * s.cin, nw = tc_conv_taps(s) * s.cout;
            const size_t ny = (size_t)s.n * tc_conv_out_h(s) * tc_conv_out_w(s) * s.cout;
            float *x = alloc(nx, 0), *w = alloc(nw, 0), *b = alloc((size_t)s.cout, 0), *dy = alloc(ny, 0), *dw0 = alloc(nw, 0);
            tc_conv_algo direct;
            memset(&direct, 0, sizeof direct);
            direct.forward.variant = direct.backward_data.variant = direct.backward_weights.variant = TC_VARIANT_DIRECT;
            // exact: small integers against the naive twins
            fill(x, nx, 1); fill(w, nw, 1); fill(b, (size_t)s.cout, 1); fill(dy, ny, 1); fill(dw0, nw, 1);
            float *ry = alloc(ny, 0), *rdx = alloc(nx, 0), *rdw = alloc(nw, 0), *rdb = alloc((size_t)s.cout, 0);
            memcpy(rdw, dw0, nw * sizeof(float));
            tc_ref_conv2d_forward(s, x, w, b, ry, 1);
            tc_ref_conv2d_backward_data(s, dy, w, rdx);
            tc_ref_conv2d_backward_weights(s, x, dy, rdw, rdb, 1);
            outs o = run(s, &direct, x, w, b, dy, dw0, 1);
            if (!same(o.y, ry, ny, "exact forward", s, isa, -1) || !same(o.dx, rdx, nx, "exact input gradient", s, isa, -1) ||
                !same(o.dw, rdw, nw, "exact weight gradient", s, isa, -1) || !same(o.db, rdb, (size_t)s.cout, "exact bias gradient", s, isa, -1))
                return 1;
            release(o);
            checks += 4;
            // random floats: every tile of the direct variant == the GEMM rule, bit for bit
            fill(x, nx, 0); fill(w, nw, 0); fill(b, (size_t)s.cout, 0); fill(dy, ny, 0); fill(dw0, nw, 0);
            tc_conv_algo gemm;
            memset(&gemm, 0, sizeof gemm);
            gemm.forward.variant = gemm.backward_data.variant = gemm.backward_weights.variant = TC_VARIANT_GEMM;
            outs want = run(s, &gemm, x, w, b, dy, dw0, 0);
            for (int t = -1; t < tc_gemm_tile_count(isas[ii]); t++) {
                tc_conv_algo a = direct;
                if (t >= 0) {
                    int mr, nr;
                    tc_gemm_tile_shape(isas[ii], t, &mr, &nr);
                    a.forward.mr = a.backward_weights.mr = (uint8_t)mr;
                    a.forward.nr = a.backward_weights.nr = (uint8_t)nr;
                }
                outs got = run(s, &a, x, w, b, dy, dw0, 0);
                if (!same(got.y, want.y, ny, "forward vs GEMM", s, isa, t) || !same(got.dx, want.dx, nx, "input gradient vs GEMM", s, isa, t) ||
                    !same(got.dw, want.dw, nw, "weight gradient vs GEMM", s, isa, t))
                    return 1;
                release(got);
                checks += 3;
            }
            release(want);
            free(x); free(w); free(b); free(dy); free(dw0); free(ry); free(rdx); free(rdw); free(rdb);
        }
        printf("%s: direct convolutions == twins (exact) and == the GEMM path (bits), every tile\n", isa);
    }
    tc_isa_reset();
    printf("ok: %ld checks\n", checks);
    return 0;
}
