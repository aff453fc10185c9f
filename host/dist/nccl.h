// host/dist/nccl.h — GPU gradient all-reduce over NCCL for data-parallel ranks (one GPU per rank, the rank's
// local rank picks the device). The NCCL unique id is created by rank 0 and sent to every rank with
// ratq_dist_broadcast (MPI or the TCP rendezvous), so any launcher works.
#ifndef RATQ_HOST_DIST_NCCL_H
#define RATQ_HOST_DIST_NCCL_H

#include <stddef.h>

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

#endif
