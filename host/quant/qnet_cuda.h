// host/quant/qnet_cuda.h — the fake-quant (Rescale-Aware Training) network's forward and STE backward on one GPU, the
// twin of ratq_qnet_forward / ratq_qnet_backward (host/quant/fake.c; formulas and layouts in host/quant/qnet.h).
//
// Two ways to drive it:
//   host API     (ratq_qnet_cuda_upload_quantized / _forward / _backward; the host step table,
//                host/train/rat_step_host.c):
//                the CPU quantizes (ratq_qnet_quantize), the GPU runs the integer forward and the STE backward of
//                host images and host dL/dlogits, and the gradient comes back to the host;
//   device API   (the *_device functions; host/train/rat_step_cuda.c): the GPU quantizes its own master weights
//                (kernels/cuda/quantize_cuda.cu, bit-identical to ratq_qnet_quantize), the forward reads device
//                images, the loss writes dL/dlogits into ratq_qnet_cuda_dlogits, the backward writes (or adds) the
//                gradient into a device buffer. Everything is asynchronous on the object's stream, allocates
//                nothing and synchronizes nothing (CUDA Graph capture safe).
//
// Backward (both APIs): the fused STE backward of kernels/cuda/fused_elem.h: the STE mask x ratio is applied inside
// the bias column sum (CONV / FC) or inside the depthwise kernels, the int8 activations are dequantized inside
// the depthwise kernels and enter the weight-gradient GEMM as exact centered integers (q - z) with S as alpha,
// and every gradient contribution is written straight into the producer's gradient (first contribution
// overwrites, later ones add; no memset, no accumulate pass). GEMM arithmetic: ratq_qnet_cuda_set_gemm
// (RATQ_GEMM_FP32 by default here; TF32 / bf16 tensor cores on request).
//
// Exactness:
//   forward   every op's int8 output and STE mask are BIT-IDENTICAL to ratq_qnet_forward's (integer accumulation is
//             exact on both sides; the output stage is the shared ratq_scale of kernels/math/rescale.h).
//   quantize  (device API) int8 weights, int32 biases, (m, s), ratios, scales and dequantized weights
//             BIT-IDENTICAL to ratq_qnet_quantize (the shared kernels/cuda/quantize_elem.h).
//   backward  the element-wise steps (STE, dequantization, ADD / GAP backward, depthwise dx, accumulation into the
//             producers' gradients) are bit-identical to the CPU's; the GEMMs (cuBLAS vs OpenBLAS, alpha = S
//             instead of pre-scaled operands) and the column sums add in another order: in FP32 each op's gradient
//             agrees to ~1e-6 relative L2 per GEMM level, errors add up along the backward chain; TF32 / bf16
//             round the GEMM operands (tests/gpu/test_quant_cuda.c states the tolerances). Reruns on the same GPU
//             are bit-identical (no floating-point atomics; train_ops_cuda.h "Determinism").
//
// Device memory for max_batch images (train = 1): every op's int8 output and mask, every op's float activation
// gradient, centered-input and dx scratch of the largest op, the conv im2col workspace, the reduction partials,
// the quantized parameters and the gradient vector [n_params]. train = 0 (a forward-only network, e.g. the int32
// distillation teacher) skips the float buffers.
//
// Errors: CUDA failures print file:line and exit(1) (kernels/cuda/cuda_check.h); API misuse returns -1 / NULL after
// one error line. Built without CUDA (RATQ_HAVE_CUDA undefined) every function prints "built without CUDA" and
// fails.
#ifndef RATQ_HOST_QUANT_NET_CUDA_H
#define RATQ_HOST_QUANT_NET_CUDA_H

#include <stdint.h>

#include "cuda/quantize_elem.h" // ratq_qe_channel_desc (plain C header)
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

// ---- configuration ----
// GEMM arithmetic of the backward: RATQ_GEMM_FP32 (default), RATQ_GEMM_TF32, RATQ_GEMM_BF16 (kernels/cuda/
// train_ops_cuda.h).
#define RATQ_QNET_GEMM_FP32 0
#define RATQ_QNET_GEMM_TF32 1
#define RATQ_QNET_GEMM_BF16 2
void ratq_qnet_cuda_set_gemm(ratq_qnet_cuda *g, int math);
// Run on `stream` (a cudaStream_t of g's device) instead of g's own stream (NULL: back to its own).
void ratq_qnet_cuda_set_stream(ratq_qnet_cuda *g, void *stream);
void *ratq_qnet_cuda_get_stream(const ratq_qnet_cuda *g);

// ---- device API (asynchronous on g's stream; pointers below are DEVICE pointers) ----
// Prepare the device quantization from q (calibrated and quantized once on the host, ratq_qnet_quantize: the ADD
// and GAP parameters depend only on the activation scales and stay fixed): uploads the per-channel table and q's
// quantized state (as ratq_qnet_cuda_upload_quantized). Synchronous. Returns 0 or -1.
int ratq_qnet_cuda_quantize_setup(ratq_qnet_cuda *g, const ratq_qnet *q);
// Quantize the master weights params [n_params] into g's int8 weights, biases, rescalers, ratios, scales and
// dequantized weights (q's layout). A failing channel sets *status to its ratq_qe_error_key (min over failures;
// *status must be ~0 before). Returns 0 or -1 (not set up).
int ratq_qnet_cuda_quantize_device(ratq_qnet_cuda *g, const ratq_qnet *q, const float *params,
                                   unsigned long long *status);
// 0 if status == ~0ull, else one error line naming op and channel as ratq_qnet_quantize would, and -1.
int ratq_qnet_cuda_status_check(const ratq_qnet *q, unsigned long long status);
// Synchronous download of the quantized state into dst's per-op arrays (wq, bq, rs, ratio, w_scale, and wr when
// train): for tests against ratq_qnet_quantize. dst has g's op list. Returns 0 or -1.
int ratq_qnet_cuda_download_quantized(const ratq_qnet_cuda *g, ratq_qnet *dst);
// Integer forward of n images already on the device (u8 [n][res][res][in_c]); returns the device int8 logits
// [n][classes] (valid until the next forward), or NULL.
const int8_t *ratq_qnet_cuda_forward_device(ratq_qnet_cuda *g, const ratq_qnet *q, const uint8_t *img, int n);
// Where the backward reads dL/d(dequantized logits) [max_batch][classes] (the loss writes it). NULL if train = 0.
float *ratq_qnet_cuda_dlogits(ratq_qnet_cuda *g);
// STE backward of the last forward into grads [n_params] (accumulate = 0: overwrite; 1: add). op_done (may be
// NULL) is called on the host right after op i's work is enqueued (ops in backward order, i descending): from
// then on, work enqueued on g's stream sees op i's parameter gradients final (e.g. to start an all-reduce of a
// bucket of them). Returns 0 or -1.
int ratq_qnet_cuda_backward_device(ratq_qnet_cuda *g, const ratq_qnet *q, float *grads, int accumulate,
                                   void (*op_done)(void *arg, int op), void *arg);

// ---- layout helpers (host code, also built without CUDA; tests/cpu/test_cuda_quantize_host.cu runs them) ----
// Per-op offsets: ch_off[i] = first per-channel slot of op i (CONV/DW/FC: oc slots, GAP: 1), wq_off[i] = offset of
// op i's int8 weights (16-byte aligned); *n_ch, *n_wq = totals.
void ratq_qnet_cuda_layout(const ratq_qnet *q, size_t *ch_off, size_t *wq_off, size_t *n_ch, size_t *n_wq);
// first_of[i] = the op whose backward contributes first (highest consumer index) to op i's gradient, -1 if none.
void ratq_qnet_cuda_first_of(const ratq_qnet *q, int *first_of);
// The device quantization table (one entry per output channel of every CONV/DW/FC op, op order) into desc (NULL:
// count only). Needs q's activation quantization. Returns the number of channels.
int64_t ratq_qnet_cuda_quant_table(const ratq_qnet *q, const size_t *ch_off, const size_t *wq_off,
                                   ratq_qe_channel_desc *desc);

#endif
