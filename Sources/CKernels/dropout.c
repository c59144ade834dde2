// Counter-based randomness and inverted dropout. The mask bit of an element is a pure
// function of (seed, stream, index): no generator state, so any split of a batch
// across threads draws the same mask.
#include "kernels_internal.h"

static inline uint64_t mix64(uint64_t z) {  // splitmix64 finalizer
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t stream_key(uint64_t seed, uint64_t stream) {
    return mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL));
}

static inline float uniform_keyed(uint64_t key, uint64_t index) {
    return (float)(mix64(key + index * 0x9e3779b97f4a7c15ULL) >> 40) * (1.0f / 16777216.0f);
}

float tc_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    return uniform_keyed(stream_key(seed, stream), index);
}

// y = x * mask / (1 - rate), vectorized per ISA (isa_kernels_template.h); the key is
// hashed once here.
void tc_dropout_forward(size_t count, float rate, uint64_t seed, uint64_t stream,
                        uint64_t first, const float *x, float *y, uint8_t *mask) {
    const float scale = rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f;
    tc_active_kernels()->dropout_forward(count, rate, scale, stream_key(seed, stream), first, x, y,
                                         mask);
}

void tc_dropout_backward(size_t count, float rate, const uint8_t *mask, const float *dy,
                         float *dx) {
    const float scale = rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f;
    tc_active_kernels()->dropout_backward(count, scale, mask, dy, dx);
}
