// host/quant/qnet_cuda.h — the fake-quant (Rescale-Aware Training) network's forward and STE backward on one GPU, the
// twin of ratq_qnet_forward / ratq_qnet_backward (host/quant/fake.c; formulas and layouts in host/quant/qnet.h).
//
// Division of work (one training step of the host step table, host/train/rat_step_host.c):
//   CPU   ratq_qnet_quantize (weight scales, int8 weights, int32 biases, k-bit (m, s), ratios, dequantized
//         weights), the loss, gradient accumulation over micro-batches, the rank all-reduce, the optimizer;
//   GPU   ratq_qnet_cuda_upload_quantized (the quantized parameters of this step), the integer forward of a
//         micro-batch (kernels/cuda/ops_cuda.h: conv / depthwise / fc / add / global average pool, each with the
//         fused requantization epilogue and STE mask output), the STE backward (kernels/cuda/train_ops_cuda.h,
//         kernels/cuda/qnet_cuda.h), the download of the parameter gradients into q->grads.
//
// Exactness:
//   forward   every op's int8 output and STE mask are BIT-IDENTICAL to ratq_qnet_forward's (integer accumulation is
//             exact on both sides; the output stage is the shared ratq_scale of kernels/math/rescale.h).
//   backward  the same sequence of operations as ratq_qnet_backward on the same operands (identical masks, ratios,
//             dequantized activations and weights); element-wise steps (STE prologues, dequantization, ADD / GAP
//             backward, accumulation of branch gradients) are bit-identical, the GEMMs (cuBLAS FP32 vs OpenBLAS)
//             and column sums add in another order: each op's gradient agrees to ~1e-6 relative L2 per GEMM
//             level, and errors add up along the backward chain. Reruns on the same GPU are bit-identical (no
//             floating-point atomics; train_ops_cuda.h "Determinism").
//
// Device memory for max_batch images (train = 1): every op's int8 output and mask, every op's float activation
// gradient, dequantization and dx scratch of the largest op, the conv im2col workspace, the quantized parameters
// and the gradient vector [n_params]. train = 0 (a forward-only network, e.g. the int32 distillation teacher)
// skips the float buffers.
//
// Errors: CUDA failures print file:line and exit(1) (kernels/cuda/cuda_check.h); API misuse returns -1 / NULL after
// one error line. Built without CUDA (RATQ_HAVE_CUDA undefined) every function prints "built without CUDA" and
// fails.
#ifndef RATQ_HOST_QUANT_NET_CUDA_H
#define RATQ_HOST_QUANT_NET_CUDA_H

#include <stdint.h>

#include "quant/qnet.h"

typedef struct ratq_qnet_cuda ratq_qnet_cuda;

// The GPU for a process of local rank `local_rank`: local_rank % (number of devices). Returns the device index,
// or -1 after one error line when built without CUDA or when no device is present.
int ratq_qnet_cuda_select(int local_rank);

// Device buffers for q's op list (q need not be quantized yet) and up to max_batch images on GPU `device`.
// Returns NULL after an error line.
ratq_qnet_cuda *ratq_qnet_cuda_create(const ratq_qnet *q, int max_batch, int device, int train);
void ratq_qnet_cuda_destroy(ratq_qnet_cuda *g);

// Copy q's quantized state (after ratq_qnet_quantize) to the device. Returns 0, or -1 if q is not quantized.
int ratq_qnet_cuda_upload_quantized(ratq_qnet_cuda *g, const ratq_qnet *q);

// Integer forward of n <= max_batch u8 images (HOST pointer, [n][res][res][in_c]). Returns a HOST pointer to the
// int8 logits [n][classes] (valid until the next forward on g), equal bit for bit to ratq_qnet_forward's, or NULL.
const int8_t *ratq_qnet_cuda_forward(ratq_qnet_cuda *g, const ratq_qnet *q, const uint8_t *img, int n);
// Dequantized logits of the last forward into out [n][classes] (ratq_qnet_logits's formula).
void ratq_qnet_cuda_logits(const ratq_qnet_cuda *g, const ratq_qnet *q, float *out);
// Copy op `op`'s int8 output and STE mask of the last forward to HOST buffers of n * oh*ow*oc bytes (either may be
// NULL); op = -1: the int8 network input (mask must be NULL). Returns 0 or -1.
int ratq_qnet_cuda_download_op(const ratq_qnet_cuda *g, const ratq_qnet *q, int op, int8_t *out, uint8_t *mask);

// STE backward of the last forward given dL/d(dequantized logits) (HOST [n][classes]); OVERWRITES q->grads (host)
// like ratq_qnet_backward. Needs train = 1. Returns 0 or -1.
int ratq_qnet_cuda_backward(ratq_qnet_cuda *g, ratq_qnet *q, const float *dlogits);

#endif
