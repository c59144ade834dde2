// Blocked GEMM in the BLIS style: pack a KC x NC block of B into NR-wide panels (kept
// hot in cache), walk A in MR-row panels (in place when row-major, else copied), and
// run the ISA's MR x NR register-tile microkernel (edge tiles store only their live part).
// The tile and block sizes come from the call's choice (tc_gemm_algo: what a tuned plan
// measured fastest here) or the shape rules and the ISA's fixed blocking.
#include <assert.h>
#include <string.h>
#include "gemm_driver.h"

// Bounds on a chosen blocking (the tuner's analytical candidates stay inside them), so a
// workspace sized for a choice is never unbounded.
enum { KC_MAX = 1024, NC_MAX = 4096, MC_MAX = 2048 };

static size_t clamp_size(int32_t v, size_t lo, size_t hi) {
    const size_t x = v < 0 ? 0 : (size_t)v;
    return x < lo ? lo : x > hi ? hi : x;
}

// packed B block (kc x N, at most nc) + copied A block (mc_rows x kc) + padded bias
static size_t gemm_workspace(size_t kc, size_t nc, size_t mc_rows, size_t N) {
    const size_t ncp = tc_tile_padded(N < nc ? N : nc);
    return kc * ncp + mc_rows * kc + ncp + 64;
}

size_t tc_gemm_workspace_for(const tc_gemm_algo *a, size_t N) {
    if (a && a->kc > 0)
        return gemm_workspace(clamp_size(a->kc, 1, KC_MAX), clamp_size(a->nc, 1, NC_MAX),
                              clamp_size(a->mc, TC_MAX_MR, MC_MAX), N);  // >= the rows tc_gemm_setup_for keeps
    size_t most = 0;
    for (int i = 0; i < tc_all_kernels_count; i++) {
        const tc_gemm_blocking *b = &tc_all_kernels[i]->blocking;
        const size_t f = gemm_workspace((size_t)b->kc, (size_t)b->nc, (size_t)b->mc_panels * TC_MAX_MR, N);
        if (f > most) most = f;
    }
    return most;
}

size_t tc_gemm_workspace_floats(size_t M, size_t N, size_t K) {
    (void)M;
    (void)K;
    return tc_gemm_workspace_for(NULL, N);
}

int tc_gemm_find_tile(const tc_isa_kernels *t, int mr, int nr, tc_gemm_ukernel *out) {
    for (int i = 0; i < t->tile_count; i++)
        if (t->tiles[i].mr == mr && t->tiles[i].nr == nr) {
            *out = t->tiles[i];
            return 1;
        }
    return 0;
}

tc_gemm_setup tc_gemm_setup_for(const tc_isa_kernels *t, const tc_gemm_algo *a, tc_gemm_ukernel rule) {
    tc_gemm_setup g;
    g.uk = rule;
    if (a && a->mr > 0) tc_gemm_find_tile(t, a->mr, a->nr, &g.uk);
    const size_t MR = (size_t)g.uk.mr;
    if (a && a->kc > 0) {
        g.kc = clamp_size(a->kc, 1, KC_MAX);
        g.nc = clamp_size(a->nc, 1, NC_MAX);
        g.mc = clamp_size(a->mc, 1, MC_MAX) / MR * MR;
        if (g.mc < MR) g.mc = MR;
    } else {
        g.kc = (size_t)t->blocking.kc;
        g.nc = (size_t)t->blocking.nc;
        g.mc = (size_t)t->blocking.mc_panels * MR;
    }
    return g;
}

int tc_gemm_tile_count(tc_isa isa) {
    for (int i = 0; i < tc_all_kernels_count; i++)
        if (tc_all_kernels[i]->isa == isa) return tc_all_kernels[i]->tile_count;
    return 0;
}

void tc_gemm_tile_shape(tc_isa isa, int i, int *mr, int *nr) {
    *mr = *nr = 0;
    for (int j = 0; j < tc_all_kernels_count; j++)
        if (tc_all_kernels[j]->isa == isa && i >= 0 && i < tc_all_kernels[j]->tile_count) {
            *mr = tc_all_kernels[j]->tiles[i].mr;
            *nr = tc_all_kernels[j]->tiles[i].nr;
        }
}

tc_gemm_ukernel tc_gemm_choose_ukernel(const tc_isa_kernels *t, size_t N) {
    // The tile that wastes fewer output lanes; ties go to the wider tile.
    if (N <= (size_t)t->gemm_half.nr) return t->gemm_half;
    const size_t wide = tc_round_up(N, (size_t)t->gemm_wide.nr);
    const size_t narrow = tc_round_up(N, (size_t)t->gemm_narrow.nr);
    return narrow < wide ? t->gemm_narrow : t->gemm_wide;
}

tc_gemm_ukernel tc_gemm_choose_ukernel_mn(const tc_isa_kernels *t, size_t M, size_t N) {
    const tc_gemm_ukernel u = tc_gemm_choose_ukernel(t, N);
    if (M <= (size_t)t->gemm_short.mr && u.mr > t->gemm_short.mr && N > (size_t)t->gemm_narrow.nr) return t->gemm_short;
    // Few rows, wide outputs: the 8-row tile when it pads fewer rows (M = 8 and 16: a
    // dense layer on a shard, LeNet-5's conv2 weight gradient); a shape-only choice.
    const tc_gemm_ukernel o = t->gemm_octa;
    if (M <= 2 * (size_t)u.mr && o.mr < u.mr && N > (size_t)t->gemm_narrow.nr &&
        tc_round_up(M, (size_t)o.mr) < tc_round_up(M, (size_t)u.mr))
        return o;
    return u;
}

tc_gemm_ukernel tc_gemm_choose_ukernel_by_work(const tc_isa_kernels *t, size_t M, size_t N) {
    const tc_gemm_ukernel candidates[4] = {t->gemm_wide, t->gemm_narrow, t->gemm_short, t->gemm_taps};
    tc_gemm_ukernel best = candidates[0];
    size_t best_work = (size_t)-1;
    for (int i = 0; i < 4; i++) {
        const tc_gemm_ukernel u = candidates[i];
        const size_t work = tc_round_up(M, (size_t)u.mr) * tc_round_up(N, (size_t)u.nr);
        if (work < best_work) { best = u; best_work = work; }
    }
    return best;
}

// ---- B side: k-major panels, dst[k*nr_pad + j] = op(j0 + j, k0 + k), zero for j >= nj.
void tc_pack_b(const tc_isa_kernels *t, const tc_panel_source *s, size_t j0, size_t nj, size_t nr_pad, size_t k0,
               size_t kc, float *dst) {
    const float *p = s->p + (ptrdiff_t)j0 * s->rs + (ptrdiff_t)k0 * s->cs;
    if (s->rs == 1) {  // a k-row of the panel is contiguous: vector copies, no call per row
        t->copy_panel(kc, nj, nr_pad, p, s->cs, dst);
        return;
    }
    if (s->cs == 1 && s->rs > 0) {  // rows of op are contiguous: the panel is their transpose
        t->transpose(nj, kc, p, (size_t)s->rs, dst, nr_pad);
    } else {
        for (size_t j = 0; j < nj; j++) {
            const float *row = p + (ptrdiff_t)j * s->rs;
            for (size_t k = 0; k < kc; k++) dst[k * nr_pad + j] = row[(ptrdiff_t)k * s->cs];
        }
    }
    if (nj < nr_pad)
        for (size_t k = 0; k < kc; k++) memset(dst + k * nr_pad + nj, 0, (nr_pad - nj) * sizeof(float));
}

// ---- A side: rows copied row-major, dst[i*kc + k] = op(i0 + i, k0 + k), zero rows
// for mi <= i < mr.
static void rows_strided(const tc_isa_kernels *t, const tc_panel_source *s, size_t i0, size_t mi, size_t mr,
                         size_t k0, size_t kc, float *dst) {
    const float *p = s->p + (ptrdiff_t)i0 * s->rs + (ptrdiff_t)k0 * s->cs;
    if (s->rs == 1 && s->cs > 1) {  // columns of op are contiguous (dy [rows][Cout] read as dy^T)
        t->transpose(kc, mi, p, (size_t)s->cs, dst, kc);
    } else {
        for (size_t i = 0; i < mi; i++) {
            const float *row = p + (ptrdiff_t)i * s->rs;
            if (s->cs == 1) memcpy(dst + i * kc, row, kc * sizeof(float));
            else
                for (size_t k = 0; k < kc; k++) dst[i * kc + k] = row[(ptrdiff_t)k * s->cs];
        }
    }
    if (mi < mr) memset(dst + mi * kc, 0, (mr - mi) * kc * sizeof(float));
}

void tc_im2col_rows(const tc_isa_kernels *t, tc_conv_shape s, const float *x, size_t r0, size_t rows, float *dst) {
    t->im2col_rows(s, x, r0, rows, dst, (size_t)s.k * s.k * s.cin);
}

// Taps k0 .. k0+kc of im2col rows (when K is split into several KC blocks).
static void rows_im2col(const tc_isa_kernels *t, const tc_panel_source *s, size_t i0, size_t mi, size_t mr, size_t k0,
                        size_t kc, float *dst) {
    const tc_conv_shape sh = s->s;
    const int ho = tc_conv_out_h(sh), wo = tc_conv_out_w(sh);
    const size_t cin = (size_t)sh.cin, K = tc_conv_taps(sh);
    const int whole = k0 == 0 && kc == K;  // whole rows (K within one block): the ISA's row copier
    if (whole) t->im2col_rows(sh, s->p, i0, mi, dst, kc);
    for (size_t i = 0; i < (whole ? 0 : mi); i++) {
        float *d = dst + i * kc;
        const size_t r = i0 + i;
        const int ox = (int)(r % (size_t)wo), oy = (int)((r / (size_t)wo) % (size_t)ho);
        const float *img = s->p + r / ((size_t)wo * ho) * (size_t)sh.h * sh.w * cin;
        size_t t = k0, c = k0 % cin, tap = k0 / cin;
        while (t < k0 + kc) {  // runs of channels, one tap at a time
            const int kx = (int)(tap % (size_t)sh.k), ky = (int)(tap / (size_t)sh.k);
            const int iy = oy + ky - sh.pad, ix = ox + kx - sh.pad;
            size_t run = cin - c;
            if (run > k0 + kc - t) run = k0 + kc - t;
            if (iy >= 0 && iy < sh.h && ix >= 0 && ix < sh.w)
                memcpy(d + (t - k0), img + ((size_t)iy * sh.w + ix) * cin + c, run * sizeof(float));
            else
                memset(d + (t - k0), 0, run * sizeof(float));
            t += run;
            c = 0;
            tap++;
        }
    }
    if (mi < mr) memset(dst + mi * kc, 0, (mr - mi) * kc * sizeof(float));
}

static void pack_rows(const tc_isa_kernels *t, const tc_panel_source *s, size_t i0, size_t mi, size_t mr,
                      size_t k0, size_t kc, float *dst) {
    if (s->kind == TC_SRC_IM2COL) rows_im2col(t, s, i0, mi, mr, k0, kc, dst);
    else rows_strided(t, s, i0, mi, mr, k0, kc, dst);
}

static float relu1(float v) { return v > 0.0f ? v : 0.0f; }

void tc_gemm_sources(const tc_isa_kernels *t, const tc_gemm_algo *algo, size_t M, size_t N, size_t K,
                     const tc_panel_source *A, const tc_panel_source *Bt, float *C, size_t ldc, int accumulate,
                     const float *bias, int relu, float *workspace) {
    assert(t && A && Bt && C && workspace && ldc >= N);
    if (M == 0 || N == 0) return;
    if (K == 0) {  // empty reduction: C = bias (or unchanged when accumulating)
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                float v = accumulate ? C[i * ldc + j] : (bias ? bias[j] : 0.0f);
                C[i * ldc + j] = relu ? relu1(v) : v;
            }
        return;
    }
    const tc_gemm_setup g = tc_gemm_setup_for(t, algo, tc_gemm_choose_ukernel_mn(t, M, N));
    const tc_gemm_ukernel uk = g.uk;
    const size_t KC = g.kc, NC = g.nc, MR = (size_t)uk.mr, NR = (size_t)uk.nr, MC = g.mc;
    const size_t ncmax = tc_tile_padded(N < NC ? N : NC);
    float *bpack = workspace;
    float *apack = bpack + KC * ncmax;
    float *bias_pad = apack + MC * KC;
    // Row-major A is read in place, except a ragged last panel (it would read past M).
    const int a_direct = A->kind == TC_SRC_STRIDED && A->cs == 1;
    // B whose k-rows are contiguous in j (dense and conv weights) is read in place too when
    // A has so few rows (a shard of 8 samples through a dense layer) that packing would cost
    // about as much as the product; ragged last panels are still packed. Same FMAs, same bits.
    const int b_direct = Bt->kind == TC_SRC_STRIDED && Bt->rs == 1 && M <= 2 * MR;

    for (size_t jc = 0; jc < N; jc += NC) {
        const size_t nc = N - jc < NC ? N - jc : NC;
        if (bias) {
            memcpy(bias_pad, bias + jc, nc * sizeof(float));
            memset(bias_pad + nc, 0, (tc_round_up(nc, NR) - nc) * sizeof(float));
        }
        for (size_t pc = 0; pc < K; pc += KC) {
            const size_t kc = K - pc < KC ? K - pc : KC;
            const int first = pc == 0, last = pc + kc == K;
            int flags = (accumulate || !first) ? TC_UK_LOAD_C : 0;
            if (last && relu) flags |= TC_UK_RELU;
            const float *bptr = (!accumulate && first && bias) ? bias_pad : NULL;
            for (size_t jr = 0; jr < nc; jr += NR) {
                const size_t nr = nc - jr < NR ? nc - jr : NR;
                if (!b_direct || nr < NR) tc_pack_b(t, Bt, jc + jr, nr, NR, pc, kc, bpack + jr * kc);
            }
            for (size_t ic = 0; ic < M; ic += MC) {
                const size_t mc = M - ic < MC ? M - ic : MC;
                for (size_t ir = 0; ir < mc; ir += MR) {
                    const size_t mr = mc - ir < MR ? mc - ir : MR;
                    if (!a_direct || mr < MR) pack_rows(t, A, ic + ir, mr, MR, pc, kc, apack + ir * kc);
                }
                for (size_t jr = 0; jr < nc; jr += NR) {
                    const size_t nr = nc - jr < NR ? nc - jr : NR;
                    const int b_in_place = b_direct && nr == NR;
                    const float *bp = b_in_place ? Bt->p + (ptrdiff_t)(jc + jr) + (ptrdiff_t)pc * Bt->cs : bpack + jr * kc;
                    const size_t ldb = b_in_place ? (size_t)Bt->cs : NR;
                    const float *biasp = bptr ? bptr + jr : NULL;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        const size_t mr = mc - ir < MR ? mc - ir : MR;
                        float *c = C + (ic + ir) * ldc + jc + jr;
                        const int in_place = a_direct && mr == MR;
                        const float *ap = in_place ? A->p + (ptrdiff_t)(ic + ir) * A->rs + pc : apack + ir * kc;
                        const size_t lda = in_place ? (size_t)A->rs : kc;
                        uk.fn(kc, ap, lda, bp, ldb, c, ldc, biasp, flags, NULL, (int)mr, (int)nr);
                    }
                }
            }
        }
    }
}

void tc_gemm(size_t M, size_t N, size_t K, const float *A, ptrdiff_t rsA, ptrdiff_t csA,
             const float *B, ptrdiff_t rsB, ptrdiff_t csB, float *C, size_t ldc, int accumulate,
             const float *bias, int relu, float *workspace) {
    assert(A && B && C && workspace && ldc >= N);
    const tc_panel_source a = tc_src_strided(A, rsA, csA);
    const tc_panel_source bt = tc_src_strided(B, csB, rsB);  // op(j, k) = B[k][j]
    tc_gemm_sources(tc_active_kernels(), NULL, M, N, K, &a, &bt, C, ldc, accumulate, bias, relu, workspace);
}
