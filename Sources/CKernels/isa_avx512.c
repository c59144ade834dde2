// AVX-512 path: 512-bit vectors, 32 registers: 12x32 and 12x16 tiles.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#define TC_VW 16
#define TC_MR_WIDE 12
#define TC_MR_NARROW 12
#define TC_FMA 1
#define TC_ISA_ID TC_ISA_AVX512
#define TC_TABLE tc_kernels_avx512
#define TC_ISA_SUFFIX _avx512
#define TC_WIDE_TILE 12x32
#define TC_NARROW_TILE 12x16
#define TC_HALF_TILE_SIZE 12x8
#define TC_SHORT_TILE_SIZE 6x64
#define TC_TAPS_TILE_SIZE 5x64
#define TC_OCTA_TILE_SIZE 8x32
#define TC_BLOCKING {192, 512, 16}  // KC, NC, MC panels
#include "isa_kernels_template.h"
#pragma clang attribute pop
#endif
