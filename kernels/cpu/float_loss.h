// float_loss.h — the loss of one RAT micro-batch on the CPU (host/train/rat_train.h "One step", 3.): cross-entropy with
// label smoothing and the distillation term, over the shared element functions of kernels/cpu/float_loss_elem.h
// (the GPU loss, kernels/cuda/loss_cuda.cu, calls the same ones).
#ifndef RATQ_CPU_FLOAT_LOSS_H
#define RATQ_CPU_FLOAT_LOSS_H

#include <stdint.h>

#include "cpu/float_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

// Distillation: returns a T^2 KL(softmax(t / T) || softmax(z / T)) averaged over the n rows and ADDS
// a T (softmax(z / T) - softmax(t / T)) / n to dz [n][k]. ws: 2k doubles of scratch.
double ratq_distill_cpu(const float *z, const float *t, int n, int k, float a, float T, float *dz, double *ws);
// The whole micro-batch loss, rat_train.c's sequence: L = CE(z, labels) (1 - a) (+ the distillation term when a > 0,
// t = teacher logits), dz = dL/dz (overwritten). Returns L.
double ratq_rat_loss_cpu(const ratq_xent_params *xp, const float *z, const float *t, const int32_t *labels, float a,
                         float T, float *dz, double *ws);

#ifdef __cplusplus
}
#endif
#endif
