// Counter-based randomness and inverted dropout. The mask bit of an element is a pure
// function of (seed, stream, index): no generator state, so any split of a batch
// across threads draws the same mask.
#include "tinyconv_kernels.h"

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

// y = x * mask / (1 - rate); the key is hoisted out of the loop.
void tc_dropout_forward(size_t count, float rate, uint64_t seed, uint64_t stream,
                        uint64_t first, const float *x, float *y, uint8_t *mask) {
    const uint64_t key = stream_key(seed, stream);
    const float scale = rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f;
    for (size_t i = 0; i < count; i++) {
        const uint8_t keep = uniform_keyed(key, first + i) >= rate;
        mask[i] = keep;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

void tc_dropout_backward(size_t count, float rate, const uint8_t *mask, const float *dy,
                         float *dx) {
    const float scale = rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f;
    for (size_t i = 0; i < count; i++) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}
