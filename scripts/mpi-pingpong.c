// The link parameters of the scaling model (docs/distributed.md): ranks 0 and 1 bounce
// messages of 8 bytes (latency) and of 256 KiB and 1 MiB (bandwidth) and rank 0 prints one
// JSON line: {"latencySeconds": one-way time of 8 bytes, "bytesPerSecond": from the large
// messages' one-way times, "oneWaySeconds": {size: seconds}}, medians of 31 round trips each.
// Built and run by scripts/measure-scaling.sh (mpicc), on the same transport as the runs.
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double one_way(int rank, char *buf, int bytes) {
    enum { N = 31 };
    double t[N];
    for (int warm = 0; warm < 3; warm++) {
        if (rank == 0) { MPI_Send(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD); MPI_Recv(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); }
        else { MPI_Recv(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); MPI_Send(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD); }
    }
    for (int i = 0; i < N; i++) {
        const double t0 = MPI_Wtime();
        if (rank == 0) { MPI_Send(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD); MPI_Recv(buf, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); }
        else { MPI_Recv(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); MPI_Send(buf, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD); }
        t[i] = (MPI_Wtime() - t0) / 2;
    }
    qsort(t, N, sizeof t[0], cmp);
    return t[N / 2];
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) { fprintf(stderr, "mpi-pingpong: needs 2 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    char *buf = calloc(1 << 20, 1);
    if (rank <= 1) {
        const int sizes[] = {8, 1 << 18, 1 << 20};
        double t[3];
        for (int i = 0; i < 3; i++) t[i] = one_way(rank, buf, sizes[i]);
        if (rank == 0) {
            // bandwidth from the two large sizes' difference: the fixed cost cancels
            const double bw = (double)(sizes[2] - sizes[1]) / (t[2] - t[1]);
            printf("{\"latencySeconds\": %.9f, \"bytesPerSecond\": %.1f, \"oneWaySeconds\": {\"8\": %.9f, \"262144\": %.9f, \"1048576\": %.9f}}\n",
                   t[0], bw, t[0], t[1], t[2]);
        }
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
