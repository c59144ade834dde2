// The few MPI calls TinyConv's data-parallel training makes, as static inline functions
// Swift can call (Open MPI's MPI_COMM_WORLD is a macro Swift cannot import). Every
// collective is non-blocking and polled against a deadline, so a rank that dies or hangs
// turns into a clear error on the others instead of a silent hang.
#ifndef TINYCONV_MPI_H
#define TINYCONV_MPI_H

#include <mpi.h>
#include <sched.h>
#include <time.h>

enum { TC_MPI_OK = 0, TC_MPI_TIMEOUT = 1, TC_MPI_ERROR = 2 };

/// MPI_Init (the caller's thread alone makes MPI calls), errors returned not fatal.
static inline int tc_mpi_init(int *rank, int *size) {
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return TC_MPI_ERROR;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return TC_MPI_OK;
}

static inline void tc_mpi_finalize(void) { MPI_Finalize(); }
static inline void tc_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

/// Waits for a request until `timeout` seconds pass: polls without pause for 50 us (a message
/// between ranks that finish together arrives within that), then yields the core between polls
/// (ranks may share cores: a waiting rank must not take one from a computing rank, and a sleep
/// would oversleep a message that arrives a few microseconds later).
static inline int tc_mpi_wait(MPI_Request *request, double timeout) {
    const double start = MPI_Wtime(), deadline = start + timeout;
    int done = 0;
    while (!done) {
        if (MPI_Test(request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return TC_MPI_ERROR;
        if (done) break;
        const double now = MPI_Wtime();
        if (now > deadline) return TC_MPI_TIMEOUT;
        if (now - start > 50e-6) sched_yield();
    }
    return TC_MPI_OK;
}

/// All-gather in place: rank r's counts[r] bytes already sit at displs[r] in buf; on return
/// every rank's part does.
static inline int tc_mpi_allgatherv_in_place(void *buf, const int *counts, const int *displs, double timeout) {
    MPI_Request request;
    if (MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_BYTE, MPI_COMM_WORLD, &request) != MPI_SUCCESS)
        return TC_MPI_ERROR;
    return tc_mpi_wait(&request, timeout);
}

/// `bytes` bytes to rank `to` (tag 7: the tree exchange's only message kind).
static inline int tc_mpi_send(const void *buf, int bytes, int to, double timeout) {
    MPI_Request request;
    if (MPI_Isend(buf, bytes, MPI_BYTE, to, 7, MPI_COMM_WORLD, &request) != MPI_SUCCESS) return TC_MPI_ERROR;
    return tc_mpi_wait(&request, timeout);
}

/// `bytes` bytes from rank `from` into buf.
static inline int tc_mpi_receive(void *buf, int bytes, int from, double timeout) {
    MPI_Request request;
    if (MPI_Irecv(buf, bytes, MPI_BYTE, from, 7, MPI_COMM_WORLD, &request) != MPI_SUCCESS) return TC_MPI_ERROR;
    return tc_mpi_wait(&request, timeout);
}

/// Rank 0's `bytes` bytes at buf, on every rank.
static inline int tc_mpi_broadcast(void *buf, int bytes, double timeout) {
    MPI_Request request;
    if (MPI_Ibcast(buf, bytes, MPI_BYTE, 0, MPI_COMM_WORLD, &request) != MPI_SUCCESS) return TC_MPI_ERROR;
    return tc_mpi_wait(&request, timeout);
}

/// value = the maximum of every rank's value.
static inline int tc_mpi_allreduce_max(int *value, double timeout) {
    int in = *value;
    MPI_Request request;
    if (MPI_Iallreduce(&in, value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &request) != MPI_SUCCESS) return TC_MPI_ERROR;
    return tc_mpi_wait(&request, timeout);
}

#endif
