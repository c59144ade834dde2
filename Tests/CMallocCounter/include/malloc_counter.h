// Counts calls to malloc, calloc and realloc in the test binary, so a test can assert
// that a steady-state training step allocates nothing. Test support only.
#ifndef TINYCONV_MALLOC_COUNTER_H
#define TINYCONV_MALLOC_COUNTER_H
#include <stdint.h>
/// Allocation calls so far made on tracked threads, or -1 where counting is unavailable
/// (under a sanitizer, whose runtime owns malloc). Tests run concurrently, so only the
/// threads a test marks (its own and its scheduler's workers) are counted.
int64_t tc_test_malloc_calls(void);
/// Counts (1) or stops counting (0) the calling thread's allocations.
void tc_test_malloc_track_this_thread(int on);
#endif
