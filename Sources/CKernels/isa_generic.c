// Generic path: 128-bit vectors (SSE2 on x86-64, NEON elsewhere), no FMA.
#define TC_VW 4
#define TC_MR_WIDE 6
#define TC_MR_NARROW 12
#define TC_FMA 0
#define TC_ISA_ID TC_ISA_GENERIC
#define TC_TABLE tc_kernels_generic
#include "isa_kernels_template.h"
