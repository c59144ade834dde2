// Fixed-order reduction of per-shard gradient buffers: a pairwise tree over the source
// index, sum(lo,hi) = sum(lo,mid) + sum(mid,hi), so the rounding depends only on the
// number of sources, never on who runs it. Callers parallelize over element chunks.
#include "kernels_internal.h"

enum { BLOCK = 256 };

// out[0..len) = tree sum of src[lo..hi)[off..off+len); one stack block per tree level.
static void tree(const tc_isa_kernels *t, const float *const *src, int lo, int hi, size_t off,
                 size_t len, float *out) {
    if (hi - lo == 1) {
        const float *s = src[lo] + off;
        for (size_t i = 0; i < len; i++) out[i] = s[i];
        return;
    }
    const int mid = lo + (hi - lo) / 2;
    float right[BLOCK];
    tree(t, src, lo, mid, off, len, out);
    tree(t, src, mid, hi, off, len, right);
    t->add(len, out, right, out);
}

void tc_sum_buffers(size_t count, int nsrc, const float *const *src, float *dst) {
    const tc_isa_kernels *t = tc_active_kernels();
    if (nsrc <= 0) {
        for (size_t i = 0; i < count; i++) dst[i] = 0.0f;
        return;
    }
    for (size_t b = 0; b < count; b += BLOCK) {
        const size_t len = count - b < BLOCK ? count - b : BLOCK;
        tree(t, src, 0, nsrc, b, len, dst + b);
    }
}

// dst += src: one node of the tree above, for callers that merge it a node at a time (the
// same addition, so the same bits as tc_sum_buffers over that node's two halves).
void tc_add_buffer(size_t count, const float *src, float *dst) {
    const tc_isa_kernels *t = tc_active_kernels();
    t->add(count, dst, src, dst);
}
