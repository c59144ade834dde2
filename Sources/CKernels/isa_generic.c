// Generic path: 128-bit vectors (SSE2 on x86-64, NEON elsewhere), no FMA.
#define TC_VW 4
#define TC_MR_WIDE 6
#define TC_MR_NARROW 12
#define TC_FMA 0
#define TC_ISA_ID TC_ISA_GENERIC
#define TC_TABLE tc_kernels_generic
#define TC_ISA_SUFFIX _generic
#define TC_WIDE_TILE 6x8
#define TC_NARROW_TILE 12x4
#define TC_HALF_TILE_SIZE 12x4
#define TC_SHORT_TILE_SIZE 6x8
#define TC_TAPS_TILE_SIZE 5x8
#define TC_BLOCKING {192, 512, 16}  // KC, NC, MC panels
#include "isa_kernels_template.h"
