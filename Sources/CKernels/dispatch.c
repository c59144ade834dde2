// Run-time ISA selection: CPUID detection, TINYCONV_ISA from the environment, and an
// override for tests. The choice is read once per kernel call (one atomic load).
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "kernels_internal.h"
#include "tinyconv_reference.h"

static int isa_supported(tc_isa isa) {
    switch (isa) {
    case TC_ISA_GENERIC: return 1;
#if defined(__x86_64__)
    case TC_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case TC_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

tc_isa tc_isa_detect(void) {
    if (isa_supported(TC_ISA_AVX512)) return TC_ISA_AVX512;
    if (isa_supported(TC_ISA_AVX2)) return TC_ISA_AVX2;
    return TC_ISA_GENERIC;
}

// -1: no override. The process-wide one is atomic so worker threads see it; the
// per-thread one lets concurrent tests force different ISAs without interfering.
static int override_isa = -1;
static _Thread_local int thread_override_isa = -1;

static tc_isa isa_from_environment(void) {
    const char *s = getenv("TINYCONV_ISA");
    if (s) {
        for (int i = TC_ISA_GENERIC; i <= TC_ISA_AVX512; i++)
            if (strcmp(s, tc_isa_name((tc_isa)i)) == 0 && isa_supported((tc_isa)i))
                return (tc_isa)i;
    }
    return tc_isa_detect();
}

tc_isa tc_isa_active(void) {
    if (thread_override_isa >= 0) return (tc_isa)thread_override_isa;
    int o = __atomic_load_n(&override_isa, __ATOMIC_RELAXED);
    if (o >= 0) return (tc_isa)o;
    static int cached = -1;
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (c < 0) {
        c = (int)isa_from_environment();
        __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    }
    return (tc_isa)c;
}

int tc_isa_set(tc_isa isa) {
    if (!isa_supported(isa)) return -1;
    __atomic_store_n(&override_isa, (int)isa, __ATOMIC_RELAXED);
    return 0;
}

void tc_isa_reset(void) { __atomic_store_n(&override_isa, -1, __ATOMIC_RELAXED); }

int tc_isa_set_for_thread(tc_isa isa) {
    if (!isa_supported(isa)) return -1;
    thread_override_isa = (int)isa;
    return 0;
}

void tc_isa_reset_for_thread(void) { thread_override_isa = -1; }

const char *tc_isa_name(tc_isa isa) {
    switch (isa) {
    case TC_ISA_GENERIC: return "generic";
    case TC_ISA_AVX2: return "avx2";
    case TC_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

static const tc_isa_kernels *table_for(tc_isa isa) {
    switch (isa) {
#if defined(__x86_64__)
    case TC_ISA_AVX512: return &tc_kernels_avx512;
    case TC_ISA_AVX2: return &tc_kernels_avx2;
#endif
    default: return &tc_kernels_generic;
    }
}

#if defined(__x86_64__)
const tc_isa_kernels *const tc_all_kernels[] = {&tc_kernels_generic, &tc_kernels_avx2, &tc_kernels_avx512};
const int tc_all_kernels_count = 3;
#else
const tc_isa_kernels *const tc_all_kernels[] = {&tc_kernels_generic};
const int tc_all_kernels_count = 1;
#endif

int tc_isa_vector_floats(tc_isa isa) { return table_for(isa)->vector_floats; }

const tc_isa_kernels *tc_active_kernels(void) { return table_for(tc_isa_active()); }

double tc_peak_probe(tc_isa isa, uint64_t iterations) {
    if (!isa_supported(isa)) return 0.0;
    return table_for(isa)->peak_probe(iterations);
}

// The entry points of TC_VECTOR_KERNELS: one table lookup each (shapes are checked by the
// Swift routes that call them).
#define TC_KERNEL_ROUTE(name, params, args) \
    void tc_##name params { tc_active_kernels()->name args; }
TC_VECTOR_KERNELS(TC_KERNEL_ROUTE)
#undef TC_KERNEL_ROUTE

void tc_maxpool2x2_forward_code(int n, int h, int w, int c, const float *x, float *y, uint8_t *code) {
    assert(n > 0 && h >= 2 && w >= 2 && c > 0 && x && y && code);
    tc_active_kernels()->maxpool2x2_forward_code(n, h, w, c, c, x, y, code);
}
