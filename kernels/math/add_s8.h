// add_s8.h — the residual add of the integer engine (TFLite ADD, int8): its parameters, their derivation from
// the real scales, and the value entering its output requantization. The one definition used by the CPU engine
// (kernels/cpu/int_add_s8.c), the CUDA kernel (kernels/cuda/add_pool_cuda.cu), the fake-quant network and the
// integer model. C11 and CUDA (RATQ_HD), as rescale.h.
//
//   a' = (a + input1_offset) * 2^left_shift,   b' likewise
//   y  = clamp(R(R(a' * M1) + R(b' * M2), Mo) + output_offset, act_min, act_max)
// with M1 = S_a/(2 max(S_a,S_b)), M2 = S_b/(2 max(S_a,S_b)), Mo = 2 max(S_a,S_b)/(2^left_shift S_y)
// (TFLite uses left_shift = 20 for int8). R is the rounding mode applied by ratq_scale.
#ifndef RATQ_MATH_ADD_S8_H
#define RATQ_MATH_ADD_S8_H

#include <stdint.h>

#include "math/rescale.h"

typedef struct {
    int32_t input1_offset, input2_offset; // -z_a, -z_b
    int32_t left_shift;
    ratq_rescale input1, input2, output;
    int32_t output_offset;
    int32_t act_min, act_max;
    ratq_rounding rounding;
} ratq_add_params_s8;

// The three rescalers (each cut to k bits) from the real scales, as TFLite's Prepare does; left_shift 20, clamp
// [-128, 127] (the caller narrows it for a fused activation). Returns 0, or -1 if a multiplier is out of range
// (e.g. a scale <= 0 or NaN).
RATQ_HD int ratq_add_params_from_scales(double s_a, int32_t z_a, double s_b, int32_t z_b, double s_y, int32_t z_y,
                                        int k, ratq_rounding rounding, ratq_add_params_s8 *p) {
    if (!(s_a > 0) || !(s_b > 0) || !(s_y > 0)) return -1;
    const double twice_max = 2.0 * (s_a > s_b ? s_a : s_b);
    p->input1_offset = -z_a;
    p->input2_offset = -z_b;
    p->left_shift = 20;
    p->output_offset = z_y;
    p->act_min = -128;
    p->act_max = 127;
    p->rounding = rounding;
    if (ratq_rescale_from_real(s_a / twice_max, k, &p->input1)) return -1;
    if (ratq_rescale_from_real(s_b / twice_max, k, &p->input2)) return -1;
    if (ratq_rescale_from_real(twice_max / ((double)(1 << p->left_shift) * s_y), k, &p->output)) return -1;
    return 0;
}

// The value entering the output requantization, one element:
//   acc = sat32(R(a' * M1) + R(b' * M2)),  |a'|, |b'| <= 255 * 2^left_shift < 2^31 for left_shift <= 23.
// The output is then ratq_requantize(acc, p->output, p->output_offset, p->act_min, p->act_max, p->rounding).
RATQ_HD int32_t ratq_add_acc_s8(int8_t a, int8_t b, const ratq_add_params_s8 *p) {
    const int32_t lift = (int32_t)1 << p->left_shift;
    const int32_t a1 = (a + p->input1_offset) * lift;
    const int32_t b1 = (b + p->input2_offset) * lift;
    return ratq_sat_i32((int64_t)ratq_scale(a1, p->input1, p->rounding) + ratq_scale(b1, p->input2, p->rounding));
}

#endif // RATQ_MATH_ADD_S8_H
