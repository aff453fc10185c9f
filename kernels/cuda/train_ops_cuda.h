// train_ops_cuda.h — CUDA twins of the training-side ops: the STE prologue of host/quant/fake.c and the float
// backward / loss / optimizer ops of kernels/cpu/float_ops.h. Same arguments in the same order as the CPU twin,
// plus a stream; same semantics (every gradient output is OVERWRITTEN, and may be NULL to skip it).
//
// Pointers: the params structs (p) are HOST pointers, read before the call returns; every tensor pointer is a
// DEVICE pointer. All calls are asynchronous on `stream` (no host synchronization); scratch memory is taken
// with cudaMallocAsync / cudaFreeAsync on the same stream. Errors (launch, allocation, cuBLAS) print file:line
// and exit(1) (kernels/cuda/cuda_check.h); the int-returning functions return 0.
//
// Determinism: every op gives bit-identical results when rerun with the same inputs on the same GPU model and
// CUDA / cuBLAS version. No floating-point atomics: reductions (bias gradients, depthwise weight gradients, the
// loss) write per-block partial sums that a second pass adds in a fixed order; partition counts depend only on
// the shapes, never on the device. cuBLAS runs in CUBLAS_DEFAULT_MATH (FP32, no TF32) with atomics disallowed
// (its default), which the cuBLAS documentation states is bit-wise reproducible for one handle and one stream
// at a time (the handle is per device, serialized by a mutex; see gemm_bwd_cuda.cu).
//
// Accuracy vs the CPU twins: element-wise ops (STE, pool backward, depthwise dx, im2col / col2im, SGD, AdamW)
// run the same IEEE operations in the same order (kernels/cuda/train_elem.h) and are expected bit-identical;
// reductions add the same float terms in another order (double partial sums: last-bit differences);
// cuBLAS GEMMs accumulate in float in another order (relative L2 error ~1e-6 for K ~ 10^4).
#ifndef RATQ_CUDA_TRAIN_OPS_CUDA_H
#define RATQ_CUDA_TRAIN_OPS_CUDA_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/float_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

// --- STE prologue (host/quant/qnet.h, CONV / DW / FC): g[i] = mask[i] ? dy[i] * ratio[i % channels] : 0
// dy, g: [count] NHWC, channels innermost; mask: uint8 [count]; ratio: [channels]. g may equal dy (in place).
void ratq_ste_grad_cuda(int64_t count, int channels, const float *dy, const uint8_t *mask, const float *ratio,
                        float *g, cudaStream_t stream);

// --- helpers ---
// Twin of ratq_sgemm_cpu (row-major, same argument contract; beta == 0 does not read C), via cublasSgemm.
void ratq_sgemm_cuda(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                     const float *b, int ldb, float beta, float *c, int ldc, cudaStream_t stream);
// The same GEMM with a choice of arithmetic (float32 operands and result in memory in every case):
//   RATQ_GEMM_FP32  cublasSgemm, FP32 SIMT (the reference: ~1e-7 relative per product sum)
//   RATQ_GEMM_TF32  cublasGemmEx, CUBLAS_COMPUTE_32F_FAST_TF32: tensor cores, operands rounded to TF32 (10-bit
//                   mantissa, relative 2^-11 per operand), FP32 accumulation
//   RATQ_GEMM_BF16  cublasGemmEx, CUBLAS_COMPUTE_32F_FAST_16BF: tensor cores, operands rounded to bf16 (8-bit
//                   mantissa, 2^-9 per operand), FP32 accumulation
// Integers of magnitude <= 256 (the centered activations q - z of the weight-gradient GEMM) are exact in all three.
// All three are bit-reproducible run to run on one GPU model (cuBLAS default algorithms, atomics not allowed).
#define RATQ_GEMM_FP32 0
#define RATQ_GEMM_TF32 1
#define RATQ_GEMM_BF16 2
void ratq_sgemm_math_cuda(int math, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                          int lda, const float *b, int ldb, float beta, float *c, int ldc, cudaStream_t stream);
// out[j] = (float) sum_{r < rows} x[r*ld + j] for j < c (double partial sums, fixed order; twin of
// ratq_colsum_cpu, kernels/cpu/float_internal.h).
void ratq_colsum_cuda(int rows, int c, int ld, const float *x, float *out, cudaStream_t stream);
// Destroys the per-device cuBLAS handles made by the first GEMM (optional, e.g. before cudaDeviceReset).
void ratq_cuda_train_release(void);

// --- conv2d backward (twin of ratq_conv2d_bwd_cpu): NHWC x / dy / dx, OHWI w / dw, db [oc].
// 1x1 / stride 1 / no padding: two GEMMs per group on NHWC directly; otherwise im2col + GEMM per chunk of images
// (dw accumulated over chunks with beta = 1, dx by a col2im gather), exactly the CPU structure.
// ws: device scratch of ratq_conv2d_workspace_floats_cuda(p) floats (0 for 1x1), or NULL to allocate it on the
// stream.
size_t ratq_conv2d_workspace_floats_cuda(const ratq_conv2d_params *p);
int ratq_conv2d_bwd_cuda(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                         float *dw, float *db, float *ws, cudaStream_t stream);

// --- depthwise conv2d backward (twin of ratq_dwconv2d_bwd_cpu): w, dw [kh][kw][oc], db [oc], any kernel size,
// stride, dilation, padding and depth multiplier. dx: one thread per element (gather, no atomics). dw: per
// (channel, tap, row partition) double partial sums of the per-row float sums, then a fixed-order pass.
int ratq_dwconv2d_bwd_cuda(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                           float *dw, float *db, cudaStream_t stream);

// --- linear backward (twin of ratq_linear_bwd_cpu): dx = dy . w, dw = dy^T . x (cuBLAS), db = colsum(dy).
void ratq_linear_bwd_cuda(const ratq_linear_params *p, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *db, cudaStream_t stream);

// --- global average pool backward (twin of ratq_global_avgpool_bwd_cpu): dx[n][h][w][c] = dy[n][c] / (h*w).
void ratq_global_avgpool_bwd_cuda(const ratq_pool_params *p, const float *dy, float *dx, cudaStream_t stream);

// --- softmax cross-entropy with label smoothing (twin of ratq_softmax_xent_cpu). The CPU twin RETURNS the mean
// loss; this one writes it to *loss (device double, may be NULL) so that no host synchronization is needed.
// dlogits may be NULL. labels: device int32 [n], in [0, classes).
void ratq_softmax_xent_cuda(const ratq_xent_params *p, const float *logits, const int32_t *labels, float *dlogits,
                            double *loss, cudaStream_t stream);

// --- optimizers (twins of ratq_sgd_step_cpu / ratq_adamw_step_cpu; same per-element arithmetic).
void ratq_sgd_step_cuda(const ratq_sgd_params *p, size_t n, float *param, const float *grad, float *momentum_buf,
                        cudaStream_t stream);
void ratq_adamw_step_cuda(const ratq_adamw_params *p, size_t n, float *param, const float *grad, float *m, float *v,
                          cudaStream_t stream);

// --- float forward twins (kernels/cuda/float_fwd_cuda.cu, element functions in float_fwd_elem.h), for the float
// teacher: conv2d (ws: ratq_conv2d_workspace_floats_cuda(p) floats, unused for 1x1), depthwise, linear, the
// network input (u8 - 127) / 128, ReLU6 in place, residual add (y may alias a or b), global average pool.
void ratq_conv2d_fwd_cuda(int math, const ratq_conv2d_params *p, const float *x, const float *w, const float *b,
                          float *y, float *ws, cudaStream_t stream);
void ratq_dwconv2d_fwd_cuda(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y,
                            cudaStream_t stream);
void ratq_linear_fwd_cuda(int math, const ratq_linear_params *p, const float *x, const float *w, const float *b,
                          float *y, cudaStream_t stream);
void ratq_float_input_cuda(int64_t count, const uint8_t *img, float *x, cudaStream_t stream);
void ratq_relu6_inplace_cuda(int64_t count, float *y, cudaStream_t stream);
void ratq_add_fwd_cuda(int64_t count, const float *a, const float *b, float *y, cudaStream_t stream);
void ratq_global_avgpool_fwd_cuda(const ratq_pool_params *p, const float *x, float *y, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
