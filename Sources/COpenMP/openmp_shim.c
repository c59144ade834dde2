#include <pthread.h>
#include <stdlib.h>
#include "tinyconv_openmp.h"

// Declared here rather than via <omp.h>: Swift's bundled clang ships no omp.h, and
// these two entry points are stable in every libomp.
extern int omp_get_max_threads(void);
extern int omp_get_thread_num(void);
extern void kmp_set_blocktime(int msec);

// Idle OpenMP threads sleep at once instead of spinning 200 ms, so they never compete
// with Dispatch workers when both backends live in one process. Once per process, from
// whichever thread first runs a region (schedulers may start concurrently: pthread_once,
// not a plain flag, which ThreadSanitizer rightly reports as a race).
static void configure_blocktime(void) {
    const char *bt = getenv("TINYCONV_OMP_BLOCKTIME");
    kmp_set_blocktime(bt ? atoi(bt) : 0);
}

void tc_omp_parallel_for(int tasks, int threads, tc_omp_body body, void *context) {
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, configure_blocktime);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < tasks; t++) body(context, t);
}

int tc_omp_max_threads(void) { return omp_get_max_threads(); }

int tc_omp_thread_num(void) { return omp_get_thread_num(); }
