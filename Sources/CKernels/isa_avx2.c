// AVX2 + FMA path: 256-bit vectors, 16 registers.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define TC_VW 8
#define TC_FMA 1
#define TC_ISA_ID TC_ISA_AVX2
#define TC_TABLE tc_kernels_avx2
#define TC_ISA_SUFFIX _avx2
// Register tiles, X(MR, vectors across, name), within the 16 registers: 6x16 (12 accumulators,
// 2 B vectors, 1 broadcast), 4x24 (12 + 3 + 1), 12x8 and 14x8 (one B vector, many broadcasts),
// 3x32 (12 + 4 + 1: the compiler folds a B load into an FMA).
#define TC_TILES(X) \
    X(6, 2, 6x16) X(12, 1, 12x8) X(5, 2, 5x16) X(4, 3, 4x24) X(8, 1, 8x8) X(3, 4, 3x32) X(4, 2, 4x16) X(14, 1, 14x8)
#define TC_ROLE_WIDE TC_ENTRY(6, 2, 6x16)
#define TC_ROLE_NARROW TC_ENTRY(12, 1, 12x8)
#define TC_ROLE_HALF TC_ENTRY(12, 1, 12x8)
#define TC_ROLE_SHORT TC_ENTRY(6, 2, 6x16)
#define TC_ROLE_TAPS TC_ENTRY(5, 2, 5x16)
#define TC_ROLE_OCTA TC_ENTRY(6, 2, 6x16)
#define TC_BLOCKING {192, 512, 16}  // KC, NC, MC panels
#define TC_DIRECT_CB 3              // 2 rows x 2 parities x 3 channels = 12 accumulators
#include "isa_kernels_template.h"
#pragma clang attribute pop
#endif
