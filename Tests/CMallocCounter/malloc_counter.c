// Interposes malloc, calloc and realloc for the whole test binary (the executable's own
// definitions win over libc's) and forwards to glibc's __libc_* entry points, counting.
#include "malloc_counter.h"
#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define TC_NO_COUNTER 1
#endif
#endif

#if defined(__GLIBC__) || defined(__linux__)
#if !defined(TC_NO_COUNTER)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static int64_t calls;
static _Thread_local int tracked;
void tc_test_malloc_track_this_thread(int on) { tracked = on; }

void *malloc(size_t n) {
    if (tracked) __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
    if (tracked) __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
    if (tracked) __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
int64_t tc_test_malloc_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }
#else
int64_t tc_test_malloc_calls(void) { return -1; }
void tc_test_malloc_track_this_thread(int on) { (void)on; }
#endif
#else
int64_t tc_test_malloc_calls(void) { return -1; }
void tc_test_malloc_track_this_thread(int on) { (void)on; }
#endif
