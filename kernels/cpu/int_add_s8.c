// int_add_s8.c — residual add with two input rescalers and an output rescaler (TFLite ADD, int8;
// the arithmetic in kernels/math/add_s8.h).
#include "int_ops.h"

void ratq_add_s8_cpu(int64_t count, const int8_t *a, const int8_t *b, const ratq_add_params_s8 *p, int8_t *out,
                     uint8_t *mask) {
    for (int64_t i = 0; i < count; i++) {
        uint8_t m;
        out[i] = (int8_t)ratq_requantize_masked(ratq_add_acc_s8(a[i], b[i], p), p->output, p->output_offset,
                                                p->act_min, p->act_max, p->rounding, &m);
        if (mask) mask[i] = m;
    }
}
