// host/train/rat_train.h — Rescale-Aware Training: fine-tune the folded master weights of a calibrated ratq_qnet with the
// integer arithmetic in the loop (host/quant/qnet.h: exact integer forward, STE backward).
//
// Data parallel (cfg->dist, host/dist/dist.h; NULL = one process): W ranks, per-rank batch B = cfg->batch, global
// batch G = B * W, NB = floor(n / G) steps per epoch (drop_last). Epoch e's order is the seeded permutation
// ratq_data_epoch_order(n, shuffle, seed, e) (identical on every rank); step b's global batch is
// order[b G .. b G + G), of which rank r takes the contiguous slice [b G + r B, b G + r B + B). Each rank cuts its
// slice into C = B / micro_batch chunks; a chunk's gradient is the mean over its images, the rank's gradient is
// (((g_0 + g_1) + ...) / C) and the ranks' gradients are averaged by ratq_dist_allreduce_mean_f32 (rank order,
// same bits everywhere). Hence W ranks with B = micro_batch produce bit-identical weights to one rank with batch
// W B and micro_batch B (tests/cpu/dist_finetune.cmake). Rank 0 alone writes the log and the checkpoints; at the
// start (and on --resume, where rank 0 reads the checkpoint) rank 0 broadcasts weights, activation quantization
// and optimizer state, so every rank starts identical. A checkpoint records G: it resumes with any W whose
// B * W == G (e.g. 2 ranks x 8 -> 1 rank x 16), since step t then covers the same images.
//
// One step (0-based global step t, epoch e = t / NB, batch b = t % NB):
//   1. ratq_qnet_quantize: weight scales, int8 weights, int32 biases and k-bit (m, s) from the current weights
//      (activation ranges stay fixed from calibration);
//   2. integer forward of the batch (uint8 images from host/data/data.h; TRAIN transform if augment, else the
//      quantizer's eval transform), dequantized logits z = S_y (q - z_y);
//   3. loss: cross-entropy with label smoothing eps (float_ops ratq_softmax_xent_cpu), or with distillation
//        L = (1 - a) CE(z, y) + a T^2 KL(softmax(t / T) || softmax(z / T)),  t = teacher logits,
//        dL/dz = (1 - a) dCE/dz + a T (softmax(z / T) - softmax(t / T)) / N
//      teacher: the float folded network (RATQ_TEACHER_FLOAT) or the int8 network with 31-bit rescalers
//      (RATQ_TEACHER_INT32: a copy of the initial weights quantized at k = 31, fixed);
//   4. STE backward (ratq_qnet_backward); 5. SGD (float_ops ratq_sgd_step_cpu, momentum, weight decay) or AdamW
//      (ratq_adamw_step_cpu, step t + 1) with lr = ratq_lr_at(cosine schedule with linear warm-up, step t).
// The log (JSON lines, one per step, rank 0) holds step, epoch, loss, batch accuracy, lr; a failed write is an
// error. A resume cuts the log back to the checkpoint's step before appending, so no step is logged twice.
// A non-finite loss (after the rank all-reduce) stops training before that step's update, naming the step (the
// GPU-resident loop: after it, see below); a non-finite weight after an update stops it too. Nothing non-finite is saved (checkpoints, .ratqm, .ratqw).
// The step itself (quantize, micro-batches, update) goes through the table of host/train/rat_step.h.
//
// GPU-resident loop (RATQ_DEVICE_CUDA; any table with the pipelined entries of host/train/rat_step.h): per step t the
// loop submits step t (enqueued, not waited for), then collects step t - 1 (waits for its result: loss, correct
// count, quantization status, non-finite weight count, read from pinned memory; under the dist deadline with NCCL),
// logs it and releases its batch, then takes batch t + 1 from the stream and stages it (host -> device on the copy
// stream, overlapping step t). So the device always has the next step queued and the host never waits on the device
// except for the previous step's result. The checks lag by one step: when step t - 1's loss or weights are found
// non-finite, step t has been submitted; the run stops naming step t - 1, and nothing is saved (checkpoints are
// written only after a drain, below, from weights checked finite). Steps followed by a checkpoint (every
// ckpt_every, the stop of stop_after, the last) are drained: collected right after their submission, before the
// checkpoint and before the next batch is staged. Same data order, learning rates and step arithmetic as the
// eager sequence, so the pipelining changes no bit (tests/gpu/test_rat_step_cuda.c "loop").
//
// Checkpoints (host/train/checkpoint.c) hold the master weights, the optimizer state (SGD momentum / AdamW m and v), the activation quantization of
// every op, the next step and the run's seed/config; the data order is a pure function of (seed, epoch) and
// the augmentation of (seed, epoch, index) (host/data/data.h), so resuming at step t continues exactly: the final
// weights are bit-identical to an uninterrupted run on the same machine and thread count.
#ifndef RATQ_HOST_TRAIN_RAT_H
#define RATQ_HOST_TRAIN_RAT_H

#include <stdint.h>

#include "data/data.h"
#include "dist/dist.h"
#include "quant/qnet.h"

typedef enum { RATQ_TEACHER_NONE = 0, RATQ_TEACHER_FLOAT = 1, RATQ_TEACHER_INT32 = 2 } ratq_teacher_kind;
typedef enum { RATQ_OPT_SGD = 0, RATQ_OPT_ADAMW = 1 } ratq_optimizer_kind;
// Where the step runs (`--device`):
// RATQ_DEVICE_CUDA (`cuda`, host/train/rat_step_cuda.h): the GPU-resident step, one GPU per rank: master weights and
// optimizer state on the device, device quantization, float / int32 teacher, loss and fused backward, NCCL
// all-reduce; the loop stages batch t + 1 on a copy stream while step t runs, replays the step as a CUDA Graph, and
// reads one small result per step from pinned memory (see "GPU-resident loop" below).
// RATQ_DEVICE_CUDA_HOST (`cuda-host`, host/train/rat_step_host.c): the host-driven twin kept for tests and
// diagnosis: the integer forward and STE backward of every micro-batch (and the int32 teacher's forward) on one GPU,
// quantization, float teacher, loss, accumulation, all-reduce (TCP / MPI), optimizer and checkpoints on the CPU.
// Its GEMMs follow cfg->gemm like the resident step's; with RATQ_QNET_GEMM_FP32 it differs from the CPU step by
// summation order only (tests/gpu/test_quant_cuda.c).
typedef enum { RATQ_DEVICE_CPU = 0, RATQ_DEVICE_CUDA = 1, RATQ_DEVICE_CUDA_HOST = 2 } ratq_train_device;

struct ratq_rat_step_ops; // host/train/rat_step.h

typedef struct {
    int epochs;            // >= 1
    int batch;             // images per step
    int64_t limit;         // use the first `limit` training images (0 = all)
    double lr, final_lr;   // cosine from lr to final_lr
    int64_t warmup_steps;
    ratq_optimizer_kind optimizer; // SGD (momentum, L2 weight decay) or AdamW (beta 0.9/0.999, eps 1e-8,
                                   // decoupled weight decay), float_ops.h semantics
    float momentum;        // SGD momentum (PyTorch semantics)
    float weight_decay;    // SGD: L2 on every weight and bias; AdamW: decoupled
    float label_smoothing;
    ratq_teacher_kind teacher;
    float distill_alpha;   // a
    float temperature;     // T
    int augment;           // 1 = RandomResizedCrop + flip (RATQ_TF_TRAIN), 0 = the eval transform
    uint64_t seed;         // data order / augmentation
    int num_workers;       // data loader threads
    const char *log_path;  // JSON lines per step (NULL = none)
    const char *ckpt_path; // checkpoint file (NULL = none)
    int64_t ckpt_every;    // write a checkpoint every N steps (and at the end); 0 = only at the end
    int resume;            // continue from ckpt_path if it exists
    int64_t stop_after;    // stop (after checkpointing) once this many steps are done; 0 = run to the end
    int progress;          // progress line on stderr (rank 0)
    int micro_batch;       // images per forward/backward chunk (0 = batch); must divide batch
    ratq_dist *dist;       // data-parallel group (NULL = one process); batch is per rank
    ratq_train_device device; // where the step runs (see above)
    int gpu;               // RATQ_DEVICE_CUDA(_HOST): the CUDA device index (ratq_qnet_cuda_select(local rank))
    int gemm;              // RATQ_DEVICE_CUDA(_HOST): backward GEMM arithmetic, RATQ_QNET_GEMM_TF32 (1, default),
                           // _FP32 (0) or _BF16 (2) (host/quant/qnet_cuda.h)
    int cuda_graphs;       // RATQ_DEVICE_CUDA: 1 (default) = replay the step as a CUDA Graph, 0 = launch kernel by kernel
    const struct ratq_rat_step_ops *step_ops; // NULL (default): the table ratq_rat_step_open chooses for `device`;
                                              // tests inject their own (tests/cpu/test_rat_loop_pipelined.c)
} ratq_rat_config;

ratq_rat_config ratq_rat_config_default(void);

typedef struct {
    int64_t steps_done;   // global steps completed (including resumed ones)
    int64_t total_steps;
    double last_loss;     // mean loss of the last epoch run in this process
    double last_acc;      // batch accuracy of the last epoch (fraction)
    int finished;         // all steps done
} ratq_rat_stats;

// Train q (calibrated; quantization options in *opt) on ds. teacher (same architecture and calibration as q,
// NULL for RATQ_TEACHER_NONE): the float folded network (RATQ_TEACHER_FLOAT) or the int8 network quantized at
// k = 31 (RATQ_TEACHER_INT32), e.g. from ratq_rat_pipeline (host/train/rat_pipeline.h). On return q is quantized
// from the final weights. Returns 0 or -1 after an error line.
int ratq_rat_train(ratq_qnet *q, const ratq_quant_options *opt, ratq_qnet *teacher, const ratq_dataset *ds,
                   const ratq_rat_config *cfg, ratq_rat_stats *stats);

// ---- checkpoints (host/train/checkpoint.c) ----
// File layout (little-endian): "RATQCKP1" | u32 version 2 | u32 n_ops | u64 n_params | i64 next_step |
//   u64 seed | i64 global_batch (images per step over all ranks; version 1 files lack it: 0 = unknown) | i32 k |
//   i32 rounding | i32 snap | i32 optimizer (0 SGD, 1 AdamW) | per op {f32 scale, i32 zp, i32 lo, i32 hi} |
//   f32 params[n_params] | f32 state1[n_params] (SGD momentum / AdamW m) | AdamW only: f32 state2[n_params] (v) |
//   "CRC1" | u32 crc (zlib CRC-32 of every byte before it, the tag included) | u64 file_size.
// Written atomically (common/io.h), never with a non-finite value. The loader verifies the CRC first (a mismatch:
// "FILE: checksum: ..."); files written before the checksum existed (8 bytes shorter, no "CRC1") still load, with
// their values checked for NaN / Inf. state2 is NULL for SGD.
typedef struct {
    int64_t next_step;
    uint64_t seed;
    int64_t global_batch;
} ratq_ckpt_info;
int ratq_ckpt_save(const char *path, const ratq_qnet *q, int optimizer, const float *state1, const float *state2,
                   const ratq_ckpt_info *info);
// Load into q (same architecture: n_ops, n_params must match; q->opt and `optimizer` must match the file) and
// the optimizer state. Returns 0, 1 if the file does not exist, or -1 after an error line naming the file and
// field.
int ratq_ckpt_load(const char *path, ratq_qnet *q, int optimizer, float *state1, float *state2, ratq_ckpt_info *info);

#endif
