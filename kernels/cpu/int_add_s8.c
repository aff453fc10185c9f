// int_add_s8.c — residual add with two input rescalers and an output rescaler (TFLite ADD, int8).
#include "int_ops.h"

int ratq_add_params_from_scales(double s_a, int32_t z_a, double s_b, int32_t z_b, double s_y, int32_t z_y,
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

void ratq_add_s8_cpu(int64_t count, const int8_t *a, const int8_t *b, const ratq_add_params_s8 *p, int8_t *out) {
    const int32_t lift = (int32_t)1 << p->left_shift;
    for (int64_t i = 0; i < count; i++) {
        const int32_t a1 = (a[i] + p->input1_offset) * lift; // |.| <= 255 * 2^20 < 2^31
        const int32_t b1 = (b[i] + p->input2_offset) * lift;
        const int64_t sum = (int64_t)ratq_scale(a1, p->input1, p->rounding) + ratq_scale(b1, p->input2, p->rounding);
        out[i] = (int8_t)ratq_requantize(ratq_sat_i32(sum), p->output, p->output_offset, p->act_min, p->act_max,
                                         p->rounding);
    }
}
