// host/train/rat_step.h — one RAT training step behind a table of functions: the seam where a device takes over.
//
// The loop (host/train/rat_train.c) owns the data order, the feeding of images, the learning-rate schedule, the
// log and the checkpoints. Everything that touches the weights, the gradients and the optimizer state goes
// through a ratq_rat_step_ops table, called in this order for global step t (formulas: host/train/rat_train.h):
//
//   begin(s, t)                                   quantize: int8 weights, int32 biases, k-bit (m, s) from the
//                                                 current master weights (activation ranges stay fixed)
//   micro_batch(s, c, img, labels, &loss, &hits)  c = 0 .. chunks-1: teacher forward (if any), integer forward
//                                                 of micro_batch images, loss, STE backward; the chunk's mean
//                                                 gradient is accumulated as ((g_0 + g_1) + ...) over c
//   (the loop all-reduces loss and hits over the ranks and stops on a non-finite loss, before any update)
//   update(s, t, lr)                              gradient = sum / chunks, mean over the ranks
//                                                 (ratq_dist_allreduce_mean_f32, cfg->dist), optimizer step;
//                                                 -1 after an error line if a weight became non-finite
//   sync_host(s)                                  q->params, state[0], state[1] hold the current master weights
//                                                 and optimizer state on the host (before a checkpoint, at the end)
//   destroy(s)                                    (also after a failed call)
//
// A table may instead provide the PIPELINED entries (begin / micro_batch / update NULL): the whole step of one
// batch, asynchronous, for a device that runs it without the host (the GPU-resident step). The loop then calls, for
// global steps t (host/train/rat_train.h "GPU-resident loop"):
//
//   stage(s, t, img, labels)      the rank's whole batch of step t (cfg->batch images, labels checked against the
//                                 classes), copied to the device asynchronously; img / labels stay valid and unchanged
//                                 until collect(s, t) returned
//   submit(s, t, lr)              enqueue step t on its staged batch (quantize, every micro-batch, all-reduce,
//                                 optimizer); returns without waiting. At most two steps are outstanding (submitted,
//                                 not collected); they are collected in order
//   collect(s, t, &loss, &hits)   wait for step t: loss = mean over ranks of the rank's sum over chunks of the chunk's
//                                 loss / chunks, hits = correct predictions over all ranks; -1 after an error line
//                                 naming step t if the loss or a master weight is not finite or the quantization
//                                 failed (nothing has been saved: the loop stops)
//   sync_host(s)                  only while no step is outstanding
//
// ratq_rat_step_host_ops (host/train/rat_step_host.c) runs the loss, the accumulation, the all-reduce and the
// optimizer on the host; cfg->device selects where its forward / backward run (RATQ_DEVICE_CPU: ratq_qnet_forward /
// ratq_qnet_backward; RATQ_DEVICE_CUDA_HOST: ratq_qnet_cuda_*). The GPU-resident step (host/train/rat_step_cuda.h,
// RATQ_DEVICE_CUDA: weights, optimizer state and loss on the device, NCCL all-reduce) is the pipelined table
// ratq_rat_step_cuda_ops; ratq_rat_step_open is the one place that chooses the table (or takes cfg->step_ops).
//
// Contract on the state: before begin(s, start) / stage(s, start, ...) q->params, state[0] and state[1] hold the
// (possibly resumed) master weights and optimizer state on the host; a table that keeps them elsewhere uploads them in
// open and downloads them in sync_host. q->ops[].out (activation quantization) is fixed during training.
#ifndef RATQ_HOST_TRAIN_RAT_STEP_H
#define RATQ_HOST_TRAIN_RAT_STEP_H

#include <stdint.h>

#include "train/rat_train.h"

typedef struct ratq_rat_step ratq_rat_step;

typedef struct ratq_rat_step_ops {
    const char *name;
    int (*open)(ratq_rat_step *s); // after s's public fields are set; -1 after an error line (nothing to destroy)
    int (*begin)(ratq_rat_step *s, int64_t t);
    int (*micro_batch)(ratq_rat_step *s, int chunk, const uint8_t *img, const int32_t *labels, double *loss,
                       int64_t *hits);
    int (*update)(ratq_rat_step *s, int64_t t, double lr);
    // the pipelined entries (all three, or none)
    int (*stage)(ratq_rat_step *s, int64_t t, const uint8_t *img, const int32_t *labels);
    int (*submit)(ratq_rat_step *s, int64_t t, double lr);
    int (*collect)(ratq_rat_step *s, int64_t t, double *loss, int64_t *hits);
    int (*sync_host)(ratq_rat_step *s);
    void (*destroy)(ratq_rat_step *s);
} ratq_rat_step_ops;

struct ratq_rat_step {
    const ratq_rat_step_ops *ops;
    ratq_qnet *q;                 // student: master weights q->params [n_params], gradients q->grads
    ratq_qnet *teacher;           // cfg->teacher != NONE: float network (FLOAT) or int8 network at k = 31 (INT32)
    const ratq_quant_options *opt;
    const ratq_rat_config *cfg;
    float *state[2];              // host optimizer state [n_params]: SGD momentum | AdamW m, v (state[1] NULL for SGD)
    int micro_batch, chunks;      // images per micro_batch call; calls per step (micro_batch * chunks = cfg->batch)
    void *impl;                   // the table's own data
};

// The host step (CPU, or CPU with the forward / backward on one GPU: cfg->device).
extern const ratq_rat_step_ops ratq_rat_step_host_ops;

// Fill s (q, teacher, opt, cfg, state: the caller's; micro_batch divides cfg->batch) and open the table chosen for
// cfg (cfg->step_ops, else by cfg->device). Returns 0, or -1 after an error line (nothing to destroy).
int ratq_rat_step_open(ratq_rat_step *s, ratq_qnet *q, ratq_qnet *teacher, const ratq_quant_options *opt,
                       const ratq_rat_config *cfg, float *state1, float *state2, int micro_batch);

#endif
