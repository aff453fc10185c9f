// host/train/rat_step_cuda.h — the GPU-resident Rescale-Aware Training step: everything of one step of
// host/train/rat_train.h runs on the GPU; the only per-step transfers are the input batch (host -> device, from
// pinned memory, on a copy stream, overlapping the previous step) and one small result (loss, correct count,
// quantization status: device -> pinned host).
//
// On the device, per rank (one GPU per process, the rank's local rank picks it):
//   master weights [n_params] and the optimizer state (SGD momentum, or AdamW m and v);
//   the quantized student (host/quant/qnet_cuda.h): per step its int8 weights, int32 biases, k-bit (m, s), STE
//     ratios and dequantized weights are derived from the master weights by a device kernel, bit-identical to
//     ratq_qnet_quantize (kernels/cuda/quantize_elem.h);
//   the teacher: the float folded network (host/quant/qnet_float_cuda.h) or the int8 network with 31-bit rescalers
//     (a forward-only ratq_qnet_cuda), weights fixed, uploaded once;
//   per micro-batch of the step: teacher forward, student integer forward, loss (cross-entropy with label
//     smoothing and distillation, kernels/cuda/loss_cuda.h) writing dL/dlogits in place, the fused STE backward
//     adding into the step's gradient sum; then gradient / chunks, the all-reduce over ranks (NCCL, in buckets on a
//     side stream, each bucket starting as soon as the last micro-batch's backward has finished its parameters,
//     so communication overlaps the rest of the backward), and SGD / AdamW (kernels/cuda/optim_cuda.cu).
//   Scratch is allocated once at creation (no allocation per step; the device memory pool keeps what cuBLAS takes).
//   The step's quantization + forward + loss + backward (+ with NCCL the bucketed gradient all-reduce and the scalar
//   all-reduce, joined back) is captured once per input slot as a CUDA Graph (after the slot's first, eager, run:
//   kernels loaded, cuBLAS and NCCL set up) and replayed (cfg.graphs); the optimizer launch stays outside the graph
//   (its lr changes every step). NCCL collectives are captured where NCCL supports stream capture (>= 2.9.6,
//   ratq_nccl_graph_capture): every rank replays the same graph sequence, since every rank runs the same steps.
//
// Same semantics as the CPU loop (host/train/rat_train.h "One step"): chunk c of the rank's batch is images
// [c*MB, (c+1)*MB); the rank's gradient is ((g_0 + g_1) + ...) / C; loss = sum over chunks of the chunk's
// loss / C, averaged over ranks; correct = sum over ranks; SGD step t, AdamW step t + 1; lr is the caller's.
//
// Tolerance against the CPU step (tests/gpu/test_rat_step_cuda.c): the quantization and every int8 forward are
// bit-identical; the backward differs by GEMM summation order (FP32) or operand rounding (TF32 default: 2^-11
// relative per operand, bf16: 2^-9), so one step's weight update agrees to ~1e-3 relative L2 in TF32 (1e-5 in
// FP32), the loss to ~1e-6 relative.
//
// Reproducibility (docs in host/train/rat_step_cuda.c): two runs with the same seed, data, world size, GPU model,
// driver, CUDA / cuBLAS / NCCL versions and GEMM mode give bit-identical weights (no floating-point atomics, fixed
// reduction orders, cuBLAS default algorithms, NCCL's fixed ring / tree for one topology); a checkpoint resumed on
// the same setup continues bit-identically. Not bit-identical across GPU models (cuBLAS picks other kernels),
// across cuBLAS / NCCL versions, across world sizes (NCCL sums in another order than the CPU's rank order), or
// between CPU and GPU (GEMM order): those runs agree to the tolerances above per step, and the checkpoint format
// is the same, so a run may resume on any of them.
//
// Driving it (the RAT loop, host/train/rat_train.c "GPU-resident loop", through ratq_rat_step_cuda_ops; the benchmark
// benchmarks/bench_rat_step_cuda.c; the tests): two input slots; batch t goes to slot t & 1. stage copies a batch in
// on the copy stream (after the slot's previous step has consumed it), submit enqueues a step without waiting,
// collect waits for its result. The loop's order overlaps the copy of batch t + 1, the host's work and the device's
// step t, and keeps one step queued ahead:
//     stage(tr, 0, batch 0)
//     for t: submit(tr, t & 1, t, lr(t)); collect step t - 1; stage(tr, (t+1) & 1, batch t+1)
// ratq_rat_cuda_step = submit + collect (one step at a time, still overlapping a batch staged before it).
//
// Errors: CUDA / NCCL failures print file:line and exit(1); a dead or stalled rank exits 3 naming rank and step
// (host/dist/nccl.h); API misuse, a quantization error (non-finite weight, multiplier out of range) or a
// non-finite loss return -1 after one error line. Built without CUDA, create fails with "built without CUDA".
#ifndef RATQ_HOST_TRAIN_RAT_STEP_CUDA_H
#define RATQ_HOST_TRAIN_RAT_STEP_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "dist/dist.h"
#include "quant/qnet.h"
#include "train/rat_step.h"
#include "train/rat_train.h"

typedef struct {
    int batch;                     // images per step on this rank (B)
    int micro_batch;               // images per forward / backward (0 = batch); divides batch
    ratq_optimizer_kind optimizer; // SGD (momentum, L2 weight decay) or AdamW (0.9 / 0.999 / 1e-8, decoupled)
    float momentum, weight_decay, label_smoothing;
    ratq_teacher_kind teacher;
    float distill_alpha, temperature;
    int gpu;                       // CUDA device index (ratq_qnet_cuda_select(local rank))
    int gemm;                      // RATQ_QNET_GEMM_TF32 (default), _FP32 or _BF16 (host/quant/qnet_cuda.h)
    int graphs;                    // 1 = CUDA Graph replay of the step (default; with several ranks only where NCCL
                                   // supports stream capture), 0 = kernel by kernel
    ratq_dist *dist;               // NULL or world 1: one GPU; else gradients all-reduced over NCCL
    size_t bucket_params;          // NCCL bucket size in parameters (0 = 1M, 4 MB)
    int force_nccl;                // 1 = the NCCL path even with one rank (tests: the all-reduce is the identity)
} ratq_rat_cuda_config;

// Defaults, and the fields taken from a loop config (batch, micro_batch, optimizer, momentum, weight_decay,
// label_smoothing, teacher, distill_alpha, temperature, gpu, gemm, graphs = cuda_graphs, dist).
ratq_rat_cuda_config ratq_rat_cuda_config_default(void);
ratq_rat_cuda_config ratq_rat_cuda_config_from(const ratq_rat_config *cfg);

typedef struct ratq_rat_cuda ratq_rat_cuda;

typedef struct {
    double loss;     // mean over ranks of the rank's loss (sum over chunks of loss / C)
    int64_t correct; // correct predictions over all ranks
    int64_t images;  // images of the step over all ranks (B * world)
} ratq_rat_cuda_result;

// Device state for q (calibrated; quantized once on the host here with *opt, for the fixed ADD / GAP parameters)
// and the teacher (RATQ_TEACHER_FLOAT: a float qnet of the same architecture; RATQ_TEACHER_INT32: the int8 network
// already quantized at k = 31; NONE: NULL). With cfg->dist of world > 1 the NCCL communicator is created here
// (every rank must call it). The master weights start as q->params with a zero optimizer state. NULL after an
// error line.
ratq_rat_cuda *ratq_rat_cuda_create(ratq_qnet *q, const ratq_quant_options *opt, const ratq_qnet *teacher,
                                    const ratq_rat_cuda_config *cfg);
void ratq_rat_cuda_destroy(ratq_rat_cuda *tr);

// Master weights from q->params and the optimizer state (state1: SGD momentum / AdamW m, state2: AdamW v; NULL =
// zeros), e.g. after ratq_ckpt_load. Synchronous. Returns 0 or -1.
int ratq_rat_cuda_load(ratq_rat_cuda *tr, const ratq_qnet *q, const float *state1, const float *state2);
// Master weights into q->params (checked finite: nothing non-finite reaches a checkpoint) and the optimizer state
// into state1 / state2 (each may be NULL; [n_params]), for ratq_ckpt_save. Synchronous. Returns 0 or -1.
int ratq_rat_cuda_sync_to_host(ratq_rat_cuda *tr, ratq_qnet *q, float *state1, float *state2);

// Pinned host memory for the input batches (cudaHostAlloc; plain malloc without CUDA), and its release.
void *ratq_rat_cuda_host_alloc(size_t bytes);
void ratq_rat_cuda_host_free(void *p);

// Stage one step's batch (B u8 images [B][res][res][in_c] and B int32 labels in [0, classes), host memory, best
// pinned) into device input slot 0 or 1: asynchronous on the copy stream, ordered after the slot's previous step has
// read it. The host buffers must stay untouched until the step that uses the slot has been collected. Returns 0 or -1.
int ratq_rat_cuda_stage(ratq_rat_cuda *tr, int slot, const uint8_t *images, const int32_t *labels);
// Enqueue global step t on the batch staged in `slot` with learning rate lr (ratq_lr_at of the run's schedule);
// returns without waiting. The slot's previous step must have been collected. Returns 0 or -1.
int ratq_rat_cuda_submit(ratq_rat_cuda *tr, int slot, int64_t t, double lr);
// Wait for the step submitted on `slot` (under the dist deadline with several ranks) and check it: quantization
// status, finite loss, finite master weights after the update (each failure: one error line naming the step, -1).
// Returns 0 with *res filled, or -1.
int ratq_rat_cuda_collect(ratq_rat_cuda *tr, int slot, ratq_rat_cuda_result *res);
// submit + collect.
int ratq_rat_cuda_step(ratq_rat_cuda *tr, int slot, int64_t t, double lr, ratq_rat_cuda_result *res);
// 1 if steps run as CUDA Graph replays once warm (cfg.graphs, and NCCL capturable with several ranks).
int ratq_rat_cuda_uses_graphs(const ratq_rat_cuda *tr);

// The gradient buckets of the all-reduce (host code, also without CUDA): ranges [lo[k], hi[k]) of about `target`
// parameters covering [0, n_params) exactly once, in backward order (k = 0 holds the last ops' parameters); bucket k
// is complete once op low_op[k]'s backward is (the ops' parameter ranges ascend with the op index). Arrays of
// q->n_ops entries. Returns the bucket count.
int ratq_rat_cuda_buckets(const ratq_qnet *q, size_t target, size_t *lo, size_t *hi, int *low_op);

// Device time of the last collected step in milliseconds (CUDA events around the step, input copy excluded).
double ratq_rat_cuda_last_step_ms(const ratq_rat_cuda *tr);

// The pipelined step table over this API (host/train/rat_step.h), chosen by ratq_rat_step_open for
// cfg->device == RATQ_DEVICE_CUDA (`ratq finetune --device cuda`): stage / submit / collect map to the calls above with
// slot t & 1; graphs follow cfg->cuda_graphs, the GEMM mode cfg->gemm.
extern const ratq_rat_step_ops ratq_rat_step_cuda_ops;

#endif
