#include "tinyconv_openmp.h"

// libdispatch's C entry point behind DispatchQueue.concurrentPerform. Swift's
// concurrentPerform converts its closure to a block, which allocates on every call;
// dispatch_apply_f takes a plain function pointer and context, so a steady-state
// training step allocates nothing. Declared here: the same prototype as <dispatch/dispatch.h>,
// whose path depends on the toolchain. A NULL queue is DISPATCH_APPLY_AUTO.
extern void dispatch_apply_f(size_t iterations, void *queue, void *context,
                             void (*work)(void *context, size_t iteration));

void tc_dispatch_apply(size_t iterations, tc_apply_body body, void *context) {
    dispatch_apply_f(iterations, (void *)0, context, body);
}
