// quant_grid.h — the quantization grids of weights, biases and activations: scale, zero point, real <-> int.
//
// The one definition used by the fake-quant network (host/quant), the integer model (host/qmodel) and the GPU
// kernels: plain C11 that also compiles as CUDA (__host__ __device__ via RATQ_HD), no __CUDA_ARCH__ branches,
// no float contraction (-ffp-contract=off, -fmad=false). Per-element functions take one element; reductions
// (a channel's max |W|, a tensor's observed range) are the caller's.
//
//   weights      int8 symmetric per output channel, -127..127 (never -128), zero point 0
//   biases       int32, scale S_x * S_w[c], zero point 0
//   activations  int8 asymmetric per tensor: real = S * (q - z), q in -128..127, ReLU / ReLU6 as the clamp range
//   input        u8 image -> int8 with the EfficientNet-Lite preprocessing real = (u8 - 127) / 128
// round() below is C's: half away from zero.
#ifndef RATQ_MATH_QUANT_GRID_H
#define RATQ_MATH_QUANT_GRID_H

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "math/rescale.h" // RATQ_HD, ratq_rescale

// ---- weights ----------------------------------------------------------------------------------------------

// Scale of a channel with amax = max_j |W[j]| (finite): S_w = amax / 127 rounded to float (held in double),
// 1 for an all-zero channel, raised by one double ulp if S_w * 127 < amax (in double). Either way
// amax / S_w <= 127 (1 + 2^-24) rounds to 127: no weight is clipped beyond its own rounding.
RATQ_HD double ratq_weight_scale_s8(double amax) {
    double s_w = amax > 0 ? (double)(float)(amax / 127.0) : 1.0;
    if (s_w * 127.0 < amax) s_w = nextafter(s_w, 1e300);
    return s_w;
}

// The bias must fit with room for every dot product: |q_b| = |b| / (S_x S_w) <= 2^30 (the dot products of the
// supported layers stay below 255 * 127 * K < 2^30), so the int32 accumulator never saturates (LiteRT's would
// wrap where ratq saturates). S_w (from ratq_weight_scale_s8) is raised to the smallest float32 >= |b| / (S_x 2^30)
// where it is below; otherwise (and for a non-finite bias, which ratq_quantize_bias_s32 then rejects) returned
// unchanged. Only near-dead channels with a large bias are affected.
RATQ_HD double ratq_weight_scale_bias_fit(double s_w, double b, double s_x) {
    const double need = fabs(b) / (s_x * 1073741824.0);
    if (!(s_w < need) || !(need <= DBL_MAX)) return s_w;
    float f = (float)need;
    if ((double)f < need) f = nextafterf(f, FLT_MAX);
    return (double)f;
}

// Scale snapping: the weight scale whose multiplier S_x * S_w / S_y is exactly the k-bit r (from
// ratq_rescale_from_real_up, so S_w >= the unsnapped scale and no weight clips): S_w = (m 2^-s) * S_y / S_x.
RATQ_HD double ratq_weight_scale_snapped(ratq_rescale r, double s_x, double s_y) {
    return ratq_rescale_to_real(r) * s_y / s_x;
}

// One output channel's weight grid and k-bit multiplier, from amax = max_j |W[j]| (finite) and its bias b:
//   S_w = ratq_weight_scale_bias_fit(ratq_weight_scale_s8(amax), b, S_x);  M = ratq_conv_multiplier(S_x, S_w, S_y)
//   (m, s) = ratq_rescale_from_real(M, k);  snap: (m, s) = ratq_rescale_from_real_up(M, k),
//            S_w = ratq_weight_scale_snapped((m, s), S_x, S_y) (unless m = 0)
//   ratio = (float)(S_y m 2^-s / (S_x S_w))  (the STE's k-bit over exact multiplier; 1 when snapped)
// The one sequence used by the CPU quantizer (host/quant/fake.c) and the GPU kernel (kernels/cuda/quantize_elem.h).
// Returns 0, or -1 if M is out of range for k bits; *M_out (may be NULL) receives M for the error line.
RATQ_HD int ratq_weight_channel_grid(double amax, double b, double s_x, double s_y, int k, int snap, double *s_w_out,
                                     ratq_rescale *r, float *ratio, double *M_out) {
    double s_w = ratq_weight_scale_bias_fit(ratq_weight_scale_s8(amax), b, s_x);
    const double M = ratq_conv_multiplier(s_x, s_w, s_y);
    if (M_out) *M_out = M;
    if (snap) {
        if (ratq_rescale_from_real_up(M, k, r) != 0) return -1;
        if (r->m) s_w = ratq_weight_scale_snapped(*r, s_x, s_y);
    } else if (ratq_rescale_from_real(M, k, r) != 0) {
        return -1;
    }
    *s_w_out = s_w;
    *ratio = (float)(s_y * ratq_rescale_to_real(*r) / (s_x * s_w));
    return 0;
}

// q_w = clamp(round(w / S_w), -127, 127); w finite.
RATQ_HD int8_t ratq_quantize_weight_s8(double w, double s_w) {
    const double v = round(w / s_w);
    return (int8_t)(v < -127 ? -127 : (v > 127 ? 127 : v));
}

// The dequantized weight w_r = S_w * q_w: the product in double, rounded once to float.
RATQ_HD float ratq_dequantize_weight_s8(int8_t q, double s_w) { return (float)(q * s_w); }

// ---- biases -----------------------------------------------------------------------------------------------

// q_b = sat32(round(b / (S_x * S_w))). Returns 0, or -1 (*q untouched) if the rounded quotient is not finite.
RATQ_HD int ratq_quantize_bias_s32(double b, double s_x, double s_w, int32_t *q) {
    const double v = round(b / (s_x * s_w));
    if (!(fabs(v) <= DBL_MAX)) return -1; // also NaN
    *q = v < INT32_MIN ? INT32_MIN : (v > INT32_MAX ? INT32_MAX : (int32_t)v);
    return 0;
}

// ---- activations ------------------------------------------------------------------------------------------

// Grid of a calibrated range [lo, hi] with lo <= 0 <= hi: S = (hi - lo) / 255 rounded to float (1/255 if
// hi == lo), z = clamp(round(-128 - lo / S), -128, 127) (lo / S in double), so real 0 is exactly q = z.
RATQ_HD void ratq_activation_grid_s8(double lo, double hi, float *scale, int32_t *zp) {
    const float s = hi > lo ? (float)((hi - lo) / 255.0) : 1.0f / 255.0f;
    const double z = round(-128.0 - lo / (double)s);
    *scale = s;
    *zp = (int32_t)(z < -128 ? -128 : (z > 127 ? 127 : z));
}

// The dequantized activation x_r = S * (q - z) in float: the int difference converted exactly, one multiply.
RATQ_HD float ratq_dequantize_s8(int8_t q, float scale, int32_t zp) { return scale * (float)(q - zp); }

// Activation clamp range of a quantized output with scale S and zero point z (TFLite
// CalculateActivationRangeQuantized): none -> [-128, 127]; relu -> [max(-128, z), 127];
// relu6 -> [max(-128, z), min(127, z + round(6/S))] (6/S in double).
typedef enum { RATQ_ACT_NONE = 0, RATQ_ACT_RELU = 1, RATQ_ACT_RELU6 = 2 } ratq_activation;

RATQ_HD void ratq_activation_range_s8(ratq_activation act, float scale, int32_t zp, int32_t *lo, int32_t *hi) {
    int64_t l = -128, h = 127;
    if (act == RATQ_ACT_RELU || act == RATQ_ACT_RELU6) l = zp > l ? zp : l;
    if (act == RATQ_ACT_RELU6) {
        int64_t top = zp + (int64_t)round(6.0 / (double)scale);
        h = top < h ? top : h;
    }
    *lo = (int32_t)l;
    *hi = (int32_t)h;
}

// ---- network input ----------------------------------------------------------------------------------------

// u8 pixel -> int8 on the grid (S_in, z_in): q = clamp(round((u8 - 127) / 128 / S_in) + z_in, -128, 127),
// in double (the integer model's rule, host/qmodel/qmodel.h).
RATQ_HD int8_t ratq_quantize_input_s8(uint8_t u, double s_in, int32_t z_in) {
    const double q = round(((double)(u - 127) / 128.0) / s_in) + z_in;
    return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

// The same on the fake-quant network's grid S_in = 1/128, z_in = -1: q = u8 - 128, real (q + 1) / 128 =
// (u8 - 127) / 128 exactly, no clamp ever binds (equals ratq_quantize_input_s8(u, 1.0 / 128, -1) for every u8).
RATQ_HD int8_t ratq_input_s8_from_u8(uint8_t u) { return (int8_t)(u - 128); }

#endif // RATQ_MATH_QUANT_GRID_H
