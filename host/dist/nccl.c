// host/dist/nccl.c — NCCL communicator for GPU ranks (built with CUDA and NCCL: RATQ_HAVE_CUDA, RATQ_HAVE_NCCL).
// Every CUDA / NCCL call is checked and reports file:line.
#include "dist/nccl.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/io.h"

#if defined(RATQ_HAVE_CUDA) && defined(RATQ_HAVE_NCCL)
#include <cuda_runtime.h>
#include <nccl.h>

#include "cuda/cuda_check.h" // CUDA_CHECK, NCCL_CHECK: file:line, the statement, the library's message, exit(1)

struct ratq_nccl {
    ncclComm_t comm;
    int device;
};

int ratq_nccl_available(void) { return 1; }

ratq_nccl *ratq_nccl_init(ratq_dist *d) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        ratq_error("rank %d: no CUDA device for NCCL", ratq_dist_rank(d));
        return NULL;
    }
    ratq_nccl *c = calloc(1, sizeof *c);
    if (!c) {
        ratq_error("rank %d: out of memory for the NCCL communicator", ratq_dist_rank(d));
        return NULL;
    }
    c->device = ratq_dist_local_rank(d) % n;
    CUDA_CHECK(cudaSetDevice(c->device));
    ncclUniqueId id;
    if (ratq_dist_rank(d) == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    ratq_dist_broadcast(d, &id, sizeof id, 0);
    NCCL_CHECK(ncclCommInitRank(&c->comm, ratq_dist_world(d), id, ratq_dist_rank(d)));
    return c;
}

void ratq_nccl_finalize(ratq_nccl *c) {
    if (!c) return;
    NCCL_CHECK(ncclCommDestroy(c->comm));
    free(c);
}

int ratq_nccl_allreduce_mean_f32(ratq_nccl *c, float *dev_buf, size_t count, void *stream) {
    NCCL_CHECK(ncclAllReduce(dev_buf, dev_buf, count, ncclFloat32, ncclAvg, c->comm, (cudaStream_t)stream));
    return 0;
}

#else

struct ratq_nccl {
    int unused;
};
int ratq_nccl_available(void) { return 0; }
ratq_nccl *ratq_nccl_init(ratq_dist *d) {
    (void)d;
    ratq_error("ratq was built without CUDA+NCCL: GPU ranks are not available (install the CUDA toolkit with NCCL "
               "or set NCCL_ROOT, then reconfigure)");
    return NULL;
}
void ratq_nccl_finalize(ratq_nccl *c) { (void)c; }
int ratq_nccl_allreduce_mean_f32(ratq_nccl *c, float *dev_buf, size_t count, void *stream) {
    (void)c, (void)dev_buf, (void)count, (void)stream;
    return -1;
}
#endif
