// host/quant/qnet_float_cuda.h — the float folded network (ratq_qnet_float_forward, host/quant/qnet.c) on one GPU: the
// float distillation teacher of Rescale-Aware Training (host/train/rat_step_cuda.h). Same op sequence as the CPU:
// (u8 - 127) / 128 input, conv / depthwise / linear with bias, ReLU6 where the op has it, residual add, global
// average pool (kernels/cuda/train_ops_cuda.h float forward twins).
// Exactness: the network input, depthwise, ReLU6, add and average pool are bit-identical to the CPU's per element;
// conv and linear are cuBLAS GEMMs (another summation order, and TF32 / bf16 operands when chosen), so the logits
// agree to ~1e-6 relative in FP32 (tests/gpu/test_rat_step_cuda.c).
// Errors: CUDA failures exit(1) with file:line; misuse returns -1 / NULL after one error line; without CUDA every
// function fails with "built without CUDA".
#ifndef RATQ_HOST_QUANT_NET_FLOAT_CUDA_H
#define RATQ_HOST_QUANT_NET_FLOAT_CUDA_H

#include <stdint.h>

#include "quant/qnet.h"

typedef struct ratq_qnet_float_cuda ratq_qnet_float_cuda;

// Device buffers for q's op list and up to max_batch images on GPU `device`, and q's current float parameters
// (q->params, uploaded once: a teacher's weights do not change). NULL after an error line.
ratq_qnet_float_cuda *ratq_qnet_float_cuda_create(const ratq_qnet *q, int max_batch, int device);
void ratq_qnet_float_cuda_destroy(ratq_qnet_float_cuda *f);
// GEMM arithmetic (RATQ_QNET_GEMM_*, host/quant/qnet_cuda.h; FP32 by default) and stream (NULL = its own).
void ratq_qnet_float_cuda_set_gemm(ratq_qnet_float_cuda *f, int math);
void ratq_qnet_float_cuda_set_stream(ratq_qnet_float_cuda *f, void *stream);
// Forward of n device images (u8 [n][res][res][in_c]), asynchronous: returns the device logits [n][classes].
const float *ratq_qnet_float_cuda_forward_device(ratq_qnet_float_cuda *f, const ratq_qnet *q, const uint8_t *img, int n);
// Forward of n HOST images; copies the logits into out [n][classes] (host). Returns 0 or -1.
int ratq_qnet_float_cuda_forward(ratq_qnet_float_cuda *f, const ratq_qnet *q, const uint8_t *img, int n, float *out);

#endif
