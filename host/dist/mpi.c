// host/dist/mpi.c — the MPI transport (built when CMake finds MPI, RATQ_HAVE_MPI). Launch: mpirun -np N ratq ...
// Point-to-point MPI_Send / MPI_Recv of bytes, chunked below INT_MAX; the collectives are in dist.c.
#include "dist/internal.h"
#include "common/io.h"

#include <stdlib.h>

int ratq_dist_mpi_launched(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

#if defined(RATQ_HAVE_MPI)
#include <mpi.h>

int ratq_dist_mpi_init(ratq_dist *d) {
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        ratq_error("distributed (mpi): MPI_Init_thread failed");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->world);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &d->local_rank);
    MPI_Comm_free(&local);
    return 0;
}

void ratq_dist_mpi_finalize(ratq_dist *d) {
    (void)d;
    MPI_Finalize();
}

enum { CHUNK = 1 << 30 };

int ratq_dist_mpi_send(ratq_dist *d, int peer, const void *buf, size_t bytes) {
    (void)d;
    const char *p = buf;
    do {
        int n = bytes > CHUNK ? CHUNK : (int)bytes;
        if (MPI_Send(p, n, MPI_BYTE, peer, 0, MPI_COMM_WORLD) != MPI_SUCCESS) return -1;
        p += n;
        bytes -= (size_t)n;
    } while (bytes);
    return 0;
}

int ratq_dist_mpi_recv(ratq_dist *d, int peer, void *buf, size_t bytes) {
    (void)d;
    char *p = buf;
    do {
        int n = bytes > CHUNK ? CHUNK : (int)bytes;
        if (MPI_Recv(p, n, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) return -1;
        p += n;
        bytes -= (size_t)n;
    } while (bytes);
    return 0;
}

#else // built without MPI: the backend reports itself unavailable

int ratq_dist_mpi_init(ratq_dist *d) {
    (void)d;
    ratq_error("distributed (mpi): ratq was built without MPI (apt-get install libopenmpi-dev, then reconfigure)");
    return -1;
}
void ratq_dist_mpi_finalize(ratq_dist *d) { (void)d; }
int ratq_dist_mpi_send(ratq_dist *d, int peer, const void *buf, size_t bytes) {
    (void)d, (void)peer, (void)buf, (void)bytes;
    return -1;
}
int ratq_dist_mpi_recv(ratq_dist *d, int peer, void *buf, size_t bytes) {
    (void)d, (void)peer, (void)buf, (void)bytes;
    return -1;
}
#endif
