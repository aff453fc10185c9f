// dist.h — data-parallel communication: rank, world size, local device and typed collectives.
//
// One API for every launch; call sites never #ifdef:
//   single  one process (world 1); every collective is a no-op (mean of one = itself).
//   mpi     `mpirun -np N ratq ...` (Open MPI / MPICH environment detected), collectives over MPI.
//   tcp     launcher-agnostic, each setting from the first variable present:
//             rank        RATQ_RANK,        RANK (torchrun),        SLURM_PROCID
//             world       RATQ_WORLD_SIZE,  WORLD_SIZE (torchrun),  SLURM_NTASKS
//             local rank  RATQ_LOCAL_RANK,  LOCAL_RANK (torchrun),  SLURM_LOCALID   (default: the rank)
//             rank 0      RATQ_MASTER_ADDR, MASTER_ADDR (torchrun)
//             port        RATQ_MASTER_PORT, MASTER_PORT (torchrun; under torchrun's agent store,
//                         TORCHELASTIC_USE_AGENT_STORE=True, the agent already listens on MASTER_PORT, so ratq
//                         uses MASTER_PORT + 1)
//           e.g. `torchrun --nproc-per-node 8 --no-python ratq finetune ...`; collectives over a TCP star through
//           rank 0 (CPU ranks). On GPU ranks the gradients go over NCCL (host/dist/nccl.h) and TCP only
//           bootstraps.
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

// ---- fault handling for work outside these collectives (e.g. NCCL on the GPU, host/dist/nccl.h) ----
// The collective deadline in seconds.
double ratq_dist_timeout(const ratq_dist *d);
// While guarded, the watchdog (world > 1) exits this rank with status 3 once the deadline passes, naming the rank,
// the step and `what` ("... stalled for more than T s"), exactly as for a stalled collective. No-op for world 1.
void ratq_dist_guard_begin(ratq_dist *d, const char *what);
void ratq_dist_guard_end(ratq_dist *d);
// fn(arg) runs on a fault exit after the error line, before the exit (e.g. ncclCommAbort, so no kernel keeps
// waiting on a dead peer); a fn that hangs is cut off after 10 s (the exit status stays 3).
void ratq_dist_on_fault(ratq_dist *d, void (*fn)(void *), void *arg);
// Exit now (status 3) with one line "ratq: rank R of W: step S: <message>", running the fault hook. Never returns.
void ratq_dist_abort(ratq_dist *d, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

#endif
