// Generic path: 128-bit vectors (SSE2 on x86-64, NEON elsewhere), no FMA.
#define TC_VW 4
#define TC_FMA 0
#define TC_ISA_ID TC_ISA_GENERIC
#define TC_TABLE tc_kernels_generic
#define TC_ISA_SUFFIX _generic
#define TC_TILES(X) X(6, 2, 6x8) X(12, 1, 12x4) X(5, 2, 5x8) X(4, 3, 4x12) X(8, 1, 8x4)
#define TC_ROLE_WIDE TC_ENTRY(6, 2, 6x8)
#define TC_ROLE_NARROW TC_ENTRY(12, 1, 12x4)
#define TC_ROLE_HALF TC_ENTRY(12, 1, 12x4)
#define TC_ROLE_SHORT TC_ENTRY(6, 2, 6x8)
#define TC_ROLE_TAPS TC_ENTRY(5, 2, 5x8)
#define TC_ROLE_OCTA TC_ENTRY(6, 2, 6x8)
#define TC_BLOCKING {192, 512, 16}  // KC, NC, MC panels
#define TC_DIRECT_CB 3
#include "isa_kernels_template.h"
