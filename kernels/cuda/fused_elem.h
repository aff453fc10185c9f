// fused_elem.h — the per-element arithmetic of the fused STE backward of the fake-quant network
// (kernels/cuda/fused_bwd_cuda.cu, used by host/quant/qnet_cuda.c), written once as RATQ_HD so the kernels run it
// per thread and tests/cpu/test_cuda_fused_host.cu runs it on the HOST against the unfused CPU sequence
// (host/quant/fake.c: STE prologue, dequantization, ratq_*_bwd_cpu, accumulation into the producer's gradient).
//
// What is fused (each removes a full pass over an activation tensor):
//   STE          g = mask ? dy * r[o] : 0 is computed where g is consumed: inside the bias column sum of a CONV / FC
//                (which also writes g for the GEMMs: one read of dy + mask instead of two), and inside both depthwise
//                backward kernels (g is never stored).
//   dequantize   x_r = S (q - z): the depthwise kernels read the int8 activation and dequantize per element
//                (ratq_dequantize_s8, the CPU's float); the CONV / FC weight-gradient GEMM takes the exact integers
//                (q - z) (representable in TF32 and bf16: |q - z| <= 255) and S as its alpha:
//                  dW = S (g^T (q - z))        (im2col reads the int8 tensor directly).
//   accumulate   every backward contribution to a producer's gradient d_src is written in place:
//                  d_src = first ? 0 + v : d_src + v        (first = the first contribution in backward order)
//                which is the CPU's memset(0) followed by d_src += v, bit for bit (0 + -0 = +0 included), without
//                the memset of all activation gradients and without a separate accumulate pass; the GEMMs write
//                d_src with beta = 0 (first) or 1.
// Bit-exactness: the fused element functions use the same float operations in the same order as the unfused
// sequence, so their results are bit-identical to it (and to the CPU for the gathers; sums over rows add in
// another order).
#ifndef RATQ_CUDA_FUSED_ELEM_H
#define RATQ_CUDA_FUSED_ELEM_H

#include <stdint.h>

#include "cpu/float_conv_plan.h"
#include "cpu/float_ops.h"
#include "cuda/train_elem.h" // ratq_ste_grad
#include "math/quant_grid.h"
#include "math/rescale.h"

// x_r = S (q - z) in float: the grid's dequantization (kernels/math/quant_grid.h), as host/quant/fake.c dequant.
RATQ_HD float ratq_fe_dequant(int8_t q, float scale, int32_t zp) { return ratq_dequantize_s8(q, scale, zp); }

// The centered integer q - z as float (exact): the weight-gradient GEMM operand, S applied as its alpha.
RATQ_HD float ratq_fe_centered(int8_t q, int32_t zp) { return (float)(q - zp); }

// Write one backward contribution v into a producer's gradient (see "accumulate").
RATQ_HD float ratq_fe_accum(float dst, float v, int first) { return first ? 0.0f + v : dst + v; }

// Depthwise dx element idx = ((n*H + iy)*W + ix)*IC + c with the STE prologue on the fly: the sum of
// ratq_dwconv2d_dx_elem (train_elem.h) with dy replaced by g = ratq_ste_grad(dy, mask, ratio[o]); same order.
RATQ_HD float ratq_fe_dw_dx(const ratq_conv2d_params *p, const float *w, const float *dy, const uint8_t *mask,
                            const float *ratio, int64_t idx) {
    const int dm = p->oc / p->ic;
    const int c = (int)(idx % p->ic);
    int64_t r = idx / p->ic;
    const int ix = (int)(r % p->w);
    r /= p->w;
    const int iy = (int)(r % p->h);
    const int n = (int)(r / p->h);
    float d = 0.0f;
    for (int ky = 0; ky < p->kh; ky++) {
        const int oy = ratq_tap_src(iy + p->pad_top - ky * p->dilation_h, p->stride_h, p->oh);
        if (oy < 0) continue;
        for (int kx = 0; kx < p->kw; kx++) {
            const int ox = ratq_tap_src(ix + p->pad_left - kx * p->dilation_w, p->stride_w, p->ow);
            if (ox < 0) continue;
            const int64_t e = (((int64_t)n * p->oh + oy) * p->ow + ox) * p->oc;
            const float *wp = w + (int64_t)(ky * p->kw + kx) * p->oc;
            for (int o = c * dm; o < c * dm + dm; o++) d = d + ratq_ste_grad(dy[e + o], mask[e + o], ratio[o]) * wp[o];
        }
    }
    return d;
}

// Depthwise dw row partial (ratq_dwconv2d_dw_rowsum with g and x_r on the fly): output channel o, output row
// (n, oy), tap column kx, input row iy (inside, checked by the caller): float sum over ox ascending of
//   ratq_ste_grad(dy, mask, ratio_o) * ratq_fe_dequant(x, S_x, z_x)
RATQ_HD float ratq_fe_dw_rowsum(const ratq_conv2d_params *p, const int8_t *x, float sx, int32_t zx, const float *dy,
                                const uint8_t *mask, float ratio_o, int o, int n, int oy, int iy, int kx) {
    const int dm = p->oc / p->ic;
    const int8_t *xr = x + ((int64_t)n * p->h + iy) * p->w * p->ic + o / dm;
    const int64_t e0 = ((int64_t)n * p->oh + oy) * p->ow * p->oc + o;
    float ra = 0.0f;
    for (int ox = 0; ox < p->ow; ox++) {
        const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
        if (ix < 0 || ix >= p->w) continue;
        const int64_t e = e0 + (int64_t)ox * p->oc;
        ra = ra + ratq_ste_grad(dy[e], mask[e], ratio_o) * ratq_fe_dequant(xr[(int64_t)ix * p->ic], sx, zx);
    }
    return ra;
}

// Depthwise db row partial: double sum over ox ascending of g on output row (n, oy); the rows are then added in
// double in a fixed partition order (the CPU adds all rows in one sequence: last-bit differences after rounding).
RATQ_HD double ratq_fe_db_row(const ratq_conv2d_params *p, const float *dy, const uint8_t *mask, float ratio_o, int o,
                              int n, int oy) {
    const int64_t e0 = ((int64_t)n * p->oh + oy) * p->ow * p->oc + o;
    double s = 0.0;
    for (int ox = 0; ox < p->ow; ox++) {
        const int64_t e = e0 + (int64_t)ox * p->oc;
        s += ratq_ste_grad(dy[e], mask[e], ratio_o);
    }
    return s;
}

#ifdef __cplusplus
// All taps of one output row at once (the depthwise dw kernel for KH x KW kernels known at compile time): reads dy
// and the mask once per element; for every tap (ky, kx) whose input row iy lies inside, adds its float row sum
// (over ox ascending: exactly ratq_fe_dw_rowsum) to s[ky*KW + kx] in double, and the db row sum
// (ratq_fe_db_row) to s[KH*KW]. The caller's s has KH*KW + 1 doubles.
template <int KH, int KW>
RATQ_HD void ratq_fe_dw_row_taps(const ratq_conv2d_params *p, const int8_t *x, float sx, int32_t zx, const float *dy,
                                 const uint8_t *mask, float ratio_o, int o, int n, int oy, double *s) {
    const int dm = p->oc / p->ic;
    int iy[KH];
    for (int ky = 0; ky < KH; ky++) iy[ky] = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
    float ra[KH * KW];
    for (int t = 0; t < KH * KW; t++) ra[t] = 0.0f;
    double sb = 0.0;
    const int64_t e0 = ((int64_t)n * p->oh + oy) * p->ow * p->oc + o;
    for (int ox = 0; ox < p->ow; ox++) {
        const int64_t e = e0 + (int64_t)ox * p->oc;
        const float g = ratq_ste_grad(dy[e], mask[e], ratio_o);
        sb += g;
        for (int ky = 0; ky < KH; ky++) {
            if (iy[ky] < 0 || iy[ky] >= p->h) continue;
            const int8_t *xr = x + ((int64_t)n * p->h + iy[ky]) * p->w * p->ic + o / dm;
            for (int kx = 0; kx < KW; kx++) {
                const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                if (ix < 0 || ix >= p->w) continue;
                ra[ky * KW + kx] = ra[ky * KW + kx] + g * ratq_fe_dequant(xr[(int64_t)ix * p->ic], sx, zx);
            }
        }
    }
    for (int ky = 0; ky < KH; ky++) {
        if (iy[ky] < 0 || iy[ky] >= p->h) continue; // the CPU skips the rows a tap never reads
        for (int kx = 0; kx < KW; kx++) s[ky * KW + kx] += (double)ra[ky * KW + kx];
    }
    s[KH * KW] += sb;
}
#endif

// im2col of the int8 input as centered integers (q - z), padding 0 (= the real zero): the element of
// ratq_im2col_elem (train_elem.h) for x_r / S_x, exact.
RATQ_HD float ratq_fe_im2col_s8(const ratq_conv2d_params *p, const int8_t *x, int32_t zx, int n0, int g, int64_t idx) {
    const int icg = p->ic / p->groups;
    const int64_t ncol = (int64_t)p->kh * p->kw * icg;
    const int64_t r = idx / ncol;
    const int j = (int)(idx % ncol), i = j % icg, tap = j / icg;
    const int ky = tap / p->kw, kx = tap % p->kw;
    const int ox = (int)(r % p->ow), oy = (int)(r / p->ow % p->oh);
    const int n = n0 + (int)(r / ((int64_t)p->oh * p->ow));
    const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
    const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
    if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) return 0.0f;
    return ratq_fe_centered(x[(((int64_t)n * p->h + iy) * p->w + ix) * p->ic + (int64_t)g * icg + i], zx);
}

#endif
