// OpenMP shim for the framework-style backend (kept out of CKernels, which knows nothing
// of threads): one parallel-for per call (a fork/join, so a barrier between layers),
// static schedule over task indices.
#ifndef TINYCONV_OPENMP_H
#define TINYCONV_OPENMP_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef void (*tc_omp_body)(void *context, int task);
/// Runs body(context, t) for t in [0, tasks) on `threads` OpenMP threads.
void tc_omp_parallel_for(int tasks, int threads, tc_omp_body body, void *context);
/// The calling OpenMP thread's number inside a parallel region (0 outside).
int tc_omp_thread_num(void);
/// Number of threads OpenMP would use by default.
int tc_omp_max_threads(void);
#ifdef __cplusplus
}
#endif
#endif
