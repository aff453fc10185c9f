// host/dist/nccl.h — GPU gradient all-reduce over NCCL for data-parallel ranks (one GPU per rank, the rank's
// local rank picks the device). The NCCL unique id is created by rank 0 and sent to every rank with
// ratq_dist_broadcast (MPI or the TCP rendezvous), so any launcher works; TCP / MPI only bootstrap.
//
// Faults (host/dist/dist.h "Faults"): the communicator creation and every wait for NCCL work run under the dist
// deadline (ratq_dist_guard_begin); a peer that dies or stalls makes this rank print one line naming itself,
// the step and the NCCL operation, abort the communicator (ncclCommAbort, registered with ratq_dist_on_fault) and
// exit with status 3. An asynchronous NCCL error (ncclCommGetAsyncError, e.g. a remote peer's socket closed) exits
// the same way without waiting for the deadline.
//
// Reproducibility: NCCL's reduction order is fixed by its ring / tree for one world size, topology and NCCL
// version, so reruns are bit-identical; it differs from the CPU ranks' rank-ordered sum (dist.h) in the last bits,
// and ncclAvg for floats pre-multiplies by 1/W.
#ifndef RATQ_HOST_DIST_NCCL_H
#define RATQ_HOST_DIST_NCCL_H

#include <stddef.h>
#include <stdint.h>

#include "dist/dist.h"

typedef struct ratq_nccl ratq_nccl;

// 1 if ratq was built with CUDA and NCCL.
int ratq_nccl_available(void);
// Select device local_rank % device_count and create the communicator. NULL after one error line.
ratq_nccl *ratq_nccl_init(ratq_dist *d);
void ratq_nccl_finalize(ratq_nccl *c);
// dev_buf[i] = mean over ranks (ncclAvg), enqueued on `stream` (a cudaStream_t; NULL = default stream).
// Element count, not bytes. Returns 0, or exits with file:line on an NCCL/CUDA error.
int ratq_nccl_allreduce_mean_f32(ratq_nccl *c, float *dev_buf, size_t count, void *stream);
// dev_buf[i] = sum over ranks (ncclSum), float64 (step scalars: loss, correct counts). Element count.
int ratq_nccl_allreduce_sum_f64(ratq_nccl *c, double *dev_buf, size_t count, void *stream);
int ratq_nccl_allreduce_sum_i64(ratq_nccl *c, int64_t *dev_buf, size_t count, void *stream);
// 1 if this NCCL (ncclGetVersion, at run time) supports CUDA stream capture of its collectives (>= 2.9.6), so that
// a training step with its all-reduces can be one CUDA Graph; 0 otherwise or without NCCL.
int ratq_nccl_graph_capture(void);
// The CUDA device the communicator runs on.
int ratq_nccl_device(const ratq_nccl *c);
// Wait until `event` (a recorded cudaEvent_t) completes, under the dist deadline: an asynchronous NCCL error or the
// deadline exits this rank (status 3, one line naming rank, step and `what`). Returns 0.
int ratq_nccl_wait(ratq_nccl *c, void *event, const char *what);

#endif
