// dist.h — data-parallel communication: rank, world size, local device and typed collectives.
//
// One API for every launch; call sites never #ifdef:
//   single  one process (world 1); every collective is a no-op (mean of one = itself).
//   mpi     `mpirun -np N ratq ...` (Open MPI / MPICH environment detected), collectives over MPI.
//   tcp     launcher-agnostic: RATQ_RANK / RATQ_WORLD_SIZE / RATQ_MASTER_ADDR / RATQ_MASTER_PORT
//           (or SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID with RATQ_MASTER_ADDR/PORT), collectives over a
//           TCP star through rank 0.
// Host-buffer all-reduce is deterministic in every backend: rank 0 sums the ranks' buffers in rank order
// (((b0 + b1) + b2) + ...) and multiplies by 1/W, then broadcasts, so a run is bit-reproducible for a given W.
// GPU buffers use NCCL (host/dist/nccl.c), whose unique id travels through ratq_dist_broadcast.
//
// Faults: every collective has a deadline (timeout_s, default 300 s, RATQ_DIST_TIMEOUT). If a peer dies or a
// collective stalls past it, this rank prints one line naming itself, the peer (if known), the collective and
// the step (ratq_dist_set_step) and exits with status 3 — no silent hang; the job resumes from the last checkpoint.
#ifndef RATQ_HOST_DIST_H
#define RATQ_HOST_DIST_H

#include <stddef.h>
#include <stdint.h>

typedef enum { RATQ_DIST_AUTO = 0, RATQ_DIST_SINGLE, RATQ_DIST_MPI, RATQ_DIST_TCP } ratq_dist_backend;

typedef struct {
    ratq_dist_backend backend; // AUTO: mpi if launched by mpirun, tcp if RATQ_RANK/SLURM vars are set, else single
    double timeout_s;          // collective deadline; <= 0 means RATQ_DIST_TIMEOUT or 300 s
} ratq_dist_options;

typedef struct ratq_dist ratq_dist;

// Initialize (once per process). Returns NULL after one error line (bad environment, peer unreachable).
ratq_dist *ratq_dist_init(const ratq_dist_options *opt);
void ratq_dist_finalize(ratq_dist *d);

int ratq_dist_rank(const ratq_dist *d);
int ratq_dist_world(const ratq_dist *d);
int ratq_dist_local_rank(const ratq_dist *d); // rank within the node: picks the GPU
const char *ratq_dist_backend_name(const ratq_dist *d);

// The training step, quoted in fault messages.
void ratq_dist_set_step(ratq_dist *d, int64_t step);

// buf[i] = (sum over ranks of buf[i]) / world, identical bits on every rank. Returns 0 (or exits on a fault).
int ratq_dist_allreduce_mean_f32(ratq_dist *d, float *buf, size_t count);
// Sum of int64 counters (e.g. correct predictions, images), exact.
int ratq_dist_allreduce_sum_i64(ratq_dist *d, int64_t *buf, size_t count);
// Copy root's bytes to every rank.
int ratq_dist_broadcast(ratq_dist *d, void *buf, size_t bytes, int root);
int ratq_dist_barrier(ratq_dist *d);
// A barrier with its own deadline (seconds; <= 0 = wait without limit), for phases where one rank works alone
// (e.g. rank 0 trains the float network while the others wait for the data-parallel stage). A rank that dies
// meanwhile is still noticed at once (closed socket / mpirun teardown).
int ratq_dist_barrier_wait(ratq_dist *d, double timeout_s);

#endif
