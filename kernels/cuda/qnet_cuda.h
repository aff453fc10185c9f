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

#include "cpu/float_ops.h"
#include "cuda/quantize_elem.h"
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

// ---- per-step weight quantization (kernels/cuda/quantize_elem.h, kernels/cuda/quantize_cuda.cu) ----
// For every channel of desc[n_ch] (device table): int8 weights wq, dequantized weights wr (params' layout), int32
// bias bq, rescaler rs, ratio and scale S_w at the channel's slot, from the master weights params (device). k: bits,
// snap: scale snapping. A failing channel: *status = min(*status, ratq_qe_error_key(...)); the caller sets
// *status = ~0ull before the step, so ~0ull afterwards means no error.
void ratq_quantize_weights_cuda(int64_t n_ch, const ratq_qe_channel_desc *desc, const float *params, int k, int snap,
                                int8_t *wq, float *wr, int32_t *bq, ratq_rescale *rs, float *ratio, double *scale,
                                unsigned long long *status, cudaStream_t stream);

// ---- the fused STE backward (kernels/cuda/fused_elem.h states the fusions; kernels/cuda/fused_bwd_cuda.cu) ----
// `first` flags: 1 = this is the first contribution to that gradient in backward order (ratq_fe_accum);
// `acc` flags: 1 = add the parameter gradient to what the buffer holds (micro-batch sums), 0 = overwrite.
// Every reduction is deterministic (double partial sums in a fixed partition order, kernels/cuda/det_reduce.cuh);
// `part` is device scratch of the size given by the matching *_part_doubles function (no allocation inside).

// CONV / FC: g = ratq_ste_grad(dy, mask, ratio[c]) written over dy (in place, [rows][c]), and
// db[c] (=|+=) sum_rows g.
size_t ratq_fused_ste_colsum_part_doubles(int rows, int c);
void ratq_fused_ste_colsum_cuda(int rows, int c, float *dy_g, const uint8_t *mask, const float *ratio, float *db,
                                int acc, double *part, cudaStream_t stream);

// Depthwise backward from the int8 input x (dequantized per element with S_x, z_x), the float weights w_r, dy and
// the STE mask / ratios: dx into the producer's gradient (may be NULL), dw and db (=|+=, may be NULL).
size_t ratq_fused_dw_part_doubles(const ratq_conv2d_params *p);
void ratq_fused_dw_bwd_cuda(const ratq_conv2d_params *p, const int8_t *x, float sx, int32_t zx, const float *w,
                            const float *dy, const uint8_t *mask, const float *ratio, float *dx, int dx_first,
                            float *dw, float *db, int acc, double *part, cudaStream_t stream);

// CONV (any geometry, groups) / FC after ratq_fused_ste_colsum_cuda (g = the STE gradient, [n*oh*ow][oc]):
//   dw = S_x g^T (x - z_x)   (=|+=; 1x1 / FC: x converted to centered floats in xc; else im2col from int8 in ws)
//   dx = g . w_r             (written into the producer's gradient: beta = 0 when first, else 1; via ws + col2im
//                             for non-1x1 convs); dx may be NULL (network input).
// xc: device scratch of n*h*w*ic floats (1x1 / FC), ws: ratq_conv2d_workspace_floats_cuda(p) floats (else).
void ratq_fused_conv_bwd_cuda(int math, const ratq_conv2d_params *p, const int8_t *x, float sx, int32_t zx,
                              const float *w, const float *g, float *dx, int dx_first, float *dw, int acc, float *xc,
                              float *ws, cudaStream_t stream);
void ratq_fused_fc_bwd_cuda(int math, int n, int in, int out, const int8_t *x, float sx, int32_t zx, const float *w,
                            const float *g, float *dx, int dx_first, float *dw, int acc, float *xc, cudaStream_t stream);

// ADD / GAP backward with first flags (ratq_qnet_add_bwd_cuda / ratq_qnet_gap_bwd_cuda written in place).
void ratq_fused_add_bwd_cuda(int64_t count, const float *dy, const uint8_t *mask, float ratio_a, float ratio_b,
                             float *da, int first_a, float *db, int first_b, cudaStream_t stream);
void ratq_fused_gap_bwd_cuda(int n, int hw, int c, const float *dy, const uint8_t *mask, float r, float *dx, int first,
                             cudaStream_t stream);
// x[i] = x[i] / div (the mean of micro-batch gradient sums, host/train/rat_train.h).
void ratq_div_cuda(int64_t count, float *x, float div, cudaStream_t stream);
// dst = 0 everywhere (a tensor no backward contribution reaches).
void ratq_zero_cuda(int64_t count, float *dst, cudaStream_t stream);
// *out += the number of non-finite (NaN, +-Inf) values of x[count] (exact).
void ratq_count_nonfinite_cuda(int64_t count, const float *x, unsigned long long *out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
