// qnet_cuda.h — the small GPU kernels of the fake-quant network (host/quant/qnet_cuda.h) that are not ops of their
// own: network input conversion, dequantization, gradient accumulation and the STE backward of ADD and GAP.
// Each mirrors one loop of host/quant/fake.c, calling the same RATQ_HD per-element functions (below, and the
// grids of kernels/math/quant_grid.h): the same IEEE operations in the same order as the CPU loop, so the GPU
// results are bit-identical (nvcc -fmad=false, no fast-math). The CONV / DW / FC prologue is ratq_ste_grad
// (kernels/cuda/train_elem.h).
//
// Pointers: every tensor pointer is a DEVICE pointer; calls are asynchronous on `stream`; launch errors print
// file:line and exit(1) (kernels/cuda/cuda_check.h). Layouts NHWC, channels innermost.
#ifndef RATQ_CUDA_QNET_CUDA_H
#define RATQ_CUDA_QNET_CUDA_H

#include <cuda_runtime.h>
#include <stdint.h>

#include "cuda/train_elem.h" // ratq_ste_grad, RATQ_HD
#include "math/quant_grid.h" // ratq_input_s8_from_u8, ratq_dequantize_s8
#include "math/rescale.h"

// ADD backward, one element (host/quant/fake.c): g = mask ? dy : 0; da += g r_a; db += g r_b (either may be absent).
RATQ_HD float ratq_qnet_add_ste(float dy, uint8_t mask) { return mask ? dy : 0.0f; }

#ifdef __cplusplus
extern "C" {
#endif

// q[i] = ratq_input_s8_from_u8(img[i]), i < count (network input, host/quant/qnet.h).
void ratq_qnet_input_s8_cuda(int64_t count, const uint8_t *img, int8_t *q, cudaStream_t stream);
// out[i] = ratq_dequantize_s8(x[i], scale, zp), i < count.
void ratq_qnet_dequant_cuda(int64_t count, const int8_t *x, float scale, int32_t zp, float *out, cudaStream_t stream);
// dst[i] += src[i] (twin of ratq_accumulate_cpu).
void ratq_accumulate_cuda(int64_t count, float *dst, const float *src, cudaStream_t stream);
// ADD: g = ratq_qnet_add_ste(dy[i], mask[i]); if da: da[i] += g * ratio_a; if db: db[i] += g * ratio_b.
// da and db may be NULL (the network input gets no gradient); they must not alias each other.
void ratq_qnet_add_bwd_cuda(int64_t count, const float *dy, const uint8_t *mask, float ratio_a, float ratio_b,
                            float *da, float *db, cudaStream_t stream);
// GAP: dy, mask [n][c]; dx [n][hw][c]: dx[(b*hw + p)*c + ch] += ratq_ste_grad(dy[b*c + ch], mask[b*c + ch], r)
// with r = ratio / (float)hw computed by the caller exactly as host/quant/fake.c (o->ratio_a / (float)hw).
void ratq_qnet_gap_bwd_cuda(int n, int hw, int c, const float *dy, const uint8_t *mask, float r, float *dx,
                            cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
