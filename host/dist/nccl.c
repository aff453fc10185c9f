// host/dist/nccl.c — NCCL communicator for GPU ranks (built with CUDA and NCCL: RATQ_HAVE_CUDA, RATQ_HAVE_NCCL).
// Every CUDA / NCCL call is checked and reports file:line.
#define _POSIX_C_SOURCE 200809L // nanosleep
#include "dist/nccl.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/io.h"

#if defined(RATQ_HAVE_CUDA) && defined(RATQ_HAVE_NCCL)
#include <cuda_runtime.h>
#include <nccl.h>

#include "cuda/cuda_check.h" // CUDA_CHECK, NCCL_CHECK: file:line, the statement, the library's message, exit(1)

struct ratq_nccl {
    ncclComm_t comm;
    int device;
    ratq_dist *dist;
};

int ratq_nccl_available(void) { return 1; }

// The dist fault hook: abort the communicator so no NCCL kernel keeps waiting on a dead peer.
static void abort_comm(void *arg) {
    ratq_nccl *c = arg;
    if (c && c->comm) (void)ncclCommAbort(c->comm);
}

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
    c->dist = d;
    CUDA_CHECK(cudaSetDevice(c->device));
    ncclUniqueId id;
    if (ratq_dist_rank(d) == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    ratq_dist_broadcast(d, &id, sizeof id, 0);
    ratq_dist_guard_begin(d, "NCCL communicator creation"); // a rank that never joins: exit 3, not a hang
    NCCL_CHECK(ncclCommInitRank(&c->comm, ratq_dist_world(d), id, ratq_dist_rank(d)));
    ratq_dist_guard_end(d);
    ratq_dist_on_fault(d, abort_comm, c);
    return c;
}

void ratq_nccl_finalize(ratq_nccl *c) {
    if (!c) return;
    ratq_dist_on_fault(c->dist, NULL, NULL);
    NCCL_CHECK(ncclCommDestroy(c->comm));
    free(c);
}

int ratq_nccl_allreduce_mean_f32(ratq_nccl *c, float *dev_buf, size_t count, void *stream) {
    NCCL_CHECK(ncclAllReduce(dev_buf, dev_buf, count, ncclFloat32, ncclAvg, c->comm, (cudaStream_t)stream));
    return 0;
}

int ratq_nccl_allreduce_sum_f64(ratq_nccl *c, double *dev_buf, size_t count, void *stream) {
    NCCL_CHECK(ncclAllReduce(dev_buf, dev_buf, count, ncclFloat64, ncclSum, c->comm, (cudaStream_t)stream));
    return 0;
}

int ratq_nccl_allreduce_sum_i64(ratq_nccl *c, int64_t *dev_buf, size_t count, void *stream) {
    NCCL_CHECK(ncclAllReduce(dev_buf, dev_buf, count, ncclInt64, ncclSum, c->comm, (cudaStream_t)stream));
    return 0;
}

int ratq_nccl_device(const ratq_nccl *c) { return c->device; }

int ratq_nccl_graph_capture(void) {
    int v = 0;
    if (ncclGetVersion(&v) != ncclSuccess) return 0;
    return v >= 20906; // NCCL_VERSION(2, 9, 6): major * 10000 + minor * 100 + patch from 2.9 on
}

int ratq_nccl_wait(ratq_nccl *c, void *event, const char *what) {
    ratq_dist_guard_begin(c->dist, what);
    for (long spins = 0;; spins++) {
        const cudaError_t e = cudaEventQuery((cudaEvent_t)event);
        if (e == cudaSuccess) break;
        if (e != cudaErrorNotReady) CUDA_CHECK(e);
        ncclResult_t async = ncclSuccess;
        NCCL_CHECK(ncclCommGetAsyncError(c->comm, &async));
        if (async != ncclSuccess && async != ncclInProgress)
            ratq_dist_abort(c->dist, "%s: NCCL error: %s (a rank died?); resume from the last checkpoint", what,
                            ncclGetErrorString(async));
        if (spins > 1000) { // after ~the first millisecond, poll every 100 us instead of spinning
            struct timespec ts = {0, 100 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    ratq_dist_guard_end(c->dist);
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
int ratq_nccl_allreduce_sum_f64(ratq_nccl *c, double *dev_buf, size_t count, void *stream) {
    (void)c, (void)dev_buf, (void)count, (void)stream;
    return -1;
}
int ratq_nccl_allreduce_sum_i64(ratq_nccl *c, int64_t *dev_buf, size_t count, void *stream) {
    (void)c, (void)dev_buf, (void)count, (void)stream;
    return -1;
}
int ratq_nccl_device(const ratq_nccl *c) {
    (void)c;
    return -1;
}
int ratq_nccl_graph_capture(void) { return 0; }
int ratq_nccl_wait(ratq_nccl *c, void *event, const char *what) {
    (void)c, (void)event, (void)what;
    return -1;
}
#endif
