// AVX2 + FMA path: 256-bit vectors, 16 registers: 6x16 and 12x8 tiles.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define TC_VW 8
#define TC_MR_WIDE 6
#define TC_MR_NARROW 12
#define TC_FMA 1
#define TC_ISA_ID TC_ISA_AVX2
#define TC_TABLE tc_kernels_avx2
#define TC_ISA_SUFFIX _avx2
#define TC_WIDE_TILE 6x16
#define TC_NARROW_TILE 12x8
#define TC_HALF_TILE_SIZE 12x8
#define TC_SHORT_TILE_SIZE 6x16
#define TC_TAPS_TILE_SIZE 5x16
#define TC_BLOCKING {192, 512, 16}  // KC, NC, MC panels
#include "isa_kernels_template.h"
#pragma clang attribute pop
#endif
