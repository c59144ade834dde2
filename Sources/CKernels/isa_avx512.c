// AVX-512 path: 512-bit vectors, 32 registers.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#define TC_VW 16
#define TC_FMA 1
#define TC_ISA_ID TC_ISA_AVX512
#define TC_TABLE tc_kernels_avx512
#define TC_ISA_SUFFIX _avx512
// Register tiles, X(MR, vectors across, name): accumulators MR x vectors plus the B vectors
// and one broadcast stay within the 32 registers (14x32: 28 + 2 + 1).
#define TC_TILES(X)                                                                               \
    X(12, 2, 12x32) X(12, 1, 12x16) X(6, 4, 6x64) X(5, 4, 5x64) X(8, 2, 8x32) X(14, 2, 14x32)     \
    X(8, 3, 8x48) X(4, 4, 4x64) X(6, 2, 6x32) X(24, 1, 24x16) X(28, 1, 28x16) X(8, 1, 8x16) X(6, 1, 6x16)
#define TC_HALF_TILES(X) X(12, 1, 12x8) X(24, 1, 24x8)
#define TC_ROLE_WIDE TC_ENTRY(12, 2, 12x32)
#define TC_ROLE_NARROW TC_ENTRY(12, 1, 12x16)
#define TC_ROLE_HALF TC_HALF_ENTRY(12, 1, 12x8)
#define TC_ROLE_SHORT TC_ENTRY(6, 4, 6x64)
#define TC_ROLE_TAPS TC_ENTRY(5, 4, 5x64)
#define TC_ROLE_OCTA TC_ENTRY(8, 2, 8x32)
#define TC_BLOCKING {192, 512, 16}  // KC, NC, MC panels
#define TC_DIRECT_CB 6              // 2 rows x 2 parities x 6 channels = 24 accumulators
#include "isa_kernels_template.h"
#pragma clang attribute pop
#endif
