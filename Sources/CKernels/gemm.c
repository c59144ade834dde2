// Blocked GEMM in the BLIS style: pack a KC x NC block of B into NR-wide panels (kept
// hot in L1/L2), pack an MC x KC block of A into MR-tall panels, and run the ISA's
// MR x NR register-tile microkernel over the block. Edge tiles go through a stack tile.
#include <string.h>
#include "gemm_driver.h"

enum { KC = 192, NC = 512, MC_PANELS = 16 };

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

size_t tc_gemm_workspace_floats(size_t M, size_t N, size_t K) {
    (void)M;
    (void)K;
    const size_t nc = round_up(N < NC ? N : NC, TC_MAX_NR);
    // packed B block + packed A block + padded bias
    return (size_t)KC * nc + (size_t)MC_PANELS * TC_MAX_MR * KC + nc + 64;
}

tc_gemm_ukernel tc_gemm_choose_ukernel(const tc_isa_kernels *t, size_t N) {
    // Pick the tile that wastes fewer output lanes; ties go to the wide tile.
    const size_t wide = round_up(N, (size_t)t->gemm_wide.nr);
    const size_t narrow = round_up(N, (size_t)t->gemm_narrow.nr);
    return narrow < wide ? t->gemm_narrow : t->gemm_wide;
}

// ---- packing: dst[k*mstride + i] = op(i0 + i, k0 + k) for i < mi, zero for mi <= i < mstride

static void pack_strided(const tc_panel_source *s, size_t i0, size_t mi, size_t mstride,
                         size_t k0, size_t kc, float *dst) {
    const float *p = s->p + (ptrdiff_t)i0 * s->rs + (ptrdiff_t)k0 * s->cs;
    if (s->rs == 1) {
        for (size_t k = 0; k < kc; k++) {
            memcpy(dst + k * mstride, p + (ptrdiff_t)k * s->cs, mi * sizeof(float));
            if (mi < mstride) memset(dst + k * mstride + mi, 0, (mstride - mi) * sizeof(float));
        }
        return;
    }
    for (size_t i = 0; i < mi; i++) {
        const float *row = p + (ptrdiff_t)i * s->rs;
        for (size_t k = 0; k < kc; k++) dst[k * mstride + i] = row[(ptrdiff_t)k * s->cs];
    }
    for (size_t i = mi; i < mstride; i++)
        for (size_t k = 0; k < kc; k++) dst[k * mstride + i] = 0.0f;
}

// Rows are output positions r = (n, oy, ox); taps t = (ky, kx, c). Walk the taps of one
// row as runs of contiguous channels.
static void pack_im2col(const tc_panel_source *s, size_t i0, size_t mi, size_t mstride,
                        size_t k0, size_t kc, float *dst) {
    const tc_conv_shape sh = s->s;
    const int ho = sh.h + 2 * sh.pad - sh.k + 1, wo = sh.w + 2 * sh.pad - sh.k + 1;
    const size_t cin = (size_t)sh.cin;
    for (size_t i = 0; i < mi; i++) {
        const size_t r = i0 + i;
        const int ox = (int)(r % (size_t)wo);
        const int oy = (int)((r / (size_t)wo) % (size_t)ho);
        const size_t n = r / ((size_t)wo * ho);
        const float *img = s->p + n * (size_t)sh.h * sh.w * cin;
        size_t t = k0, c = k0 % cin, tap = k0 / cin;
        while (t < k0 + kc) {
            const int kx = (int)(tap % (size_t)sh.k), ky = (int)(tap / (size_t)sh.k);
            const int iy = oy + ky - sh.pad, ix = ox + kx - sh.pad;
            size_t run = cin - c;
            if (run > k0 + kc - t) run = k0 + kc - t;
            float *d = dst + (t - k0) * mstride + i;
            if (iy >= 0 && iy < sh.h && ix >= 0 && ix < sh.w) {
                const float *src = img + ((size_t)iy * sh.w + ix) * cin + c;
                for (size_t j = 0; j < run; j++) d[j * mstride] = src[j];
            } else {
                for (size_t j = 0; j < run; j++) d[j * mstride] = 0.0f;
            }
            t += run;
            c = 0;
            tap++;
        }
    }
    for (size_t i = mi; i < mstride; i++)
        for (size_t k = 0; k < kc; k++) dst[k * mstride + i] = 0.0f;
}

// op(i, k) = col(row k, tap i): for each row k, copy taps i0..i0+mi.
static void pack_im2col_t(const tc_panel_source *s, size_t i0, size_t mi, size_t mstride,
                          size_t k0, size_t kc, float *dst) {
    const tc_conv_shape sh = s->s;
    const int ho = sh.h + 2 * sh.pad - sh.k + 1, wo = sh.w + 2 * sh.pad - sh.k + 1;
    const size_t cin = (size_t)sh.cin;
    for (size_t k = 0; k < kc; k++) {
        const size_t r = k0 + k;
        const int ox = (int)(r % (size_t)wo);
        const int oy = (int)((r / (size_t)wo) % (size_t)ho);
        const size_t n = r / ((size_t)wo * ho);
        const float *img = s->p + n * (size_t)sh.h * sh.w * cin;
        float *d = dst + k * mstride;
        size_t i = 0, c = i0 % cin, tap = i0 / cin;
        while (i < mi) {
            const int kx = (int)(tap % (size_t)sh.k), ky = (int)(tap / (size_t)sh.k);
            const int iy = oy + ky - sh.pad, ix = ox + kx - sh.pad;
            size_t run = cin - c;
            if (run > mi - i) run = mi - i;
            if (iy >= 0 && iy < sh.h && ix >= 0 && ix < sh.w)
                memcpy(d + i, img + ((size_t)iy * sh.w + ix) * cin + c, run * sizeof(float));
            else
                memset(d + i, 0, run * sizeof(float));
            i += run;
            c = 0;
            tap++;
        }
        if (mi < mstride) memset(d + mi, 0, (mstride - mi) * sizeof(float));
    }
}

static void pack(const tc_panel_source *s, size_t i0, size_t mi, size_t mstride, size_t k0,
                 size_t kc, float *dst) {
    switch (s->kind) {
    case TC_SRC_STRIDED: pack_strided(s, i0, mi, mstride, k0, kc, dst); break;
    case TC_SRC_IM2COL: pack_im2col(s, i0, mi, mstride, k0, kc, dst); break;
    case TC_SRC_IM2COL_T: pack_im2col_t(s, i0, mi, mstride, k0, kc, dst); break;
    }
}

static float relu1(float v) { return v > 0.0f ? v : 0.0f; }

void tc_gemm_sources(size_t M, size_t N, size_t K, const tc_panel_source *A,
                     const tc_panel_source *Bt, float *C, size_t ldc, int accumulate,
                     const float *bias, int relu, float *workspace) {
    if (M == 0 || N == 0) return;
    if (K == 0) {  // empty reduction: C = bias (or unchanged when accumulating)
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                float v = accumulate ? C[i * ldc + j] : (bias ? bias[j] : 0.0f);
                C[i * ldc + j] = relu ? relu1(v) : v;
            }
        return;
    }
    const tc_isa_kernels *t = tc_active_kernels();
    const tc_gemm_ukernel uk = tc_gemm_choose_ukernel(t, N);
    const size_t MR = (size_t)uk.mr, NR = (size_t)uk.nr, MC = MC_PANELS * MR;
    const size_t ncmax = round_up(N < NC ? N : NC, TC_MAX_NR);
    float *bpack = workspace;
    float *apack = bpack + KC * ncmax;
    float *bias_pad = apack + MC_PANELS * TC_MAX_MR * KC;
    float tile[TC_MAX_MR * TC_MAX_NR] __attribute__((aligned(64)));

    for (size_t jc = 0; jc < N; jc += NC) {
        const size_t nc = N - jc < NC ? N - jc : NC;
        const size_t ncp = round_up(nc, NR);
        if (bias) {
            memcpy(bias_pad, bias + jc, nc * sizeof(float));
            memset(bias_pad + nc, 0, (ncp - nc) * sizeof(float));
        }
        for (size_t pc = 0; pc < K; pc += KC) {
            const size_t kc = K - pc < KC ? K - pc : KC;
            const int first = pc == 0, last = pc + kc == K;
            int flags = (accumulate || !first) ? TC_UK_LOAD_C : 0;
            if (last && relu) flags |= TC_UK_RELU;
            const float *bptr = (!accumulate && first && bias) ? bias_pad : NULL;
            for (size_t jr = 0; jr < nc; jr += NR) {
                const size_t nr = nc - jr < NR ? nc - jr : NR;
                pack(Bt, jc + jr, nr, NR, pc, kc, bpack + jr * kc);
            }
            for (size_t ic = 0; ic < M; ic += MC) {
                const size_t mc = M - ic < MC ? M - ic : MC;
                for (size_t ir = 0; ir < mc; ir += MR) {
                    const size_t mr = mc - ir < MR ? mc - ir : MR;
                    pack(A, ic + ir, mr, MR, pc, kc, apack + ir * kc);
                }
                for (size_t jr = 0; jr < nc; jr += NR) {
                    const size_t nr = nc - jr < NR ? nc - jr : NR;
                    const float *bp = bpack + jr * kc;
                    const float *biasp = bptr ? bptr + jr : NULL;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        const size_t mr = mc - ir < MR ? mc - ir : MR;
                        float *c = C + (ic + ir) * ldc + jc + jr;
                        if (mr == MR && nr == NR) {
                            uk.fn(kc, apack + ir * kc, bp, c, ldc, biasp, flags);
                            continue;
                        }
                        if (flags & TC_UK_LOAD_C)
                            for (size_t i = 0; i < mr; i++)
                                memcpy(tile + i * NR, c + i * ldc, nr * sizeof(float));
                        uk.fn(kc, apack + ir * kc, bp, tile, NR, biasp, flags);
                        for (size_t i = 0; i < mr; i++)
                            memcpy(c + i * ldc, tile + i * NR, nr * sizeof(float));
                    }
                }
            }
        }
    }
}

void tc_gemm(size_t M, size_t N, size_t K, const float *A, ptrdiff_t rsA, ptrdiff_t csA,
             const float *B, ptrdiff_t rsB, ptrdiff_t csB, float *C, size_t ldc, int accumulate,
             const float *bias, int relu, float *workspace) {
    const tc_panel_source a = tc_src_strided(A, rsA, csA);
    const tc_panel_source bt = tc_src_strided(B, csB, rsB);  // op(j, k) = B[k][j]
    tc_gemm_sources(M, N, K, &a, &bt, C, ldc, accumulate, bias, relu, workspace);
}
