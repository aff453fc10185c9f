// float_bn_fold.c — fold an eval-mode batch norm into the preceding conv / linear weights and bias.
//   s_o = gamma[o] / sqrt(var[o] + eps);  w'[o][...] = w[o][...] * s_o;  b'[o] = beta[o] + (b[o] - mean[o]) * s_o
// Computed in double, each result rounded once to float.
#include <math.h>
#include <stddef.h>

#include "cpu/float_ops.h"

static double fold_bias(int o, const float *b, const float *beta, const float *mean, double s) {
    return (double)beta[o] + ((b ? (double)b[o] : 0.0) - (double)mean[o]) * s;
}

void ratq_bn_fold_ohwi(int oc, int per_oc, const float *w, const float *b, const float *gamma, const float *beta,
                       const float *mean, const float *var, float eps, float *w_out, float *b_out) {
    for (int o = 0; o < oc; o++) {
        const double s = (double)gamma[o] / sqrt((double)var[o] + (double)eps);
        for (int j = 0; j < per_oc; j++) w_out[(size_t)o * per_oc + j] = (float)((double)w[(size_t)o * per_oc + j] * s);
        b_out[o] = (float)fold_bias(o, b, beta, mean, s);
    }
}

void ratq_bn_fold_hwo(int oc, int per_oc, const float *w, const float *b, const float *gamma, const float *beta,
                      const float *mean, const float *var, float eps, float *w_out, float *b_out) {
    for (int o = 0; o < oc; o++) {
        const double s = (double)gamma[o] / sqrt((double)var[o] + (double)eps);
        for (int j = 0; j < per_oc; j++) w_out[(size_t)j * oc + o] = (float)((double)w[(size_t)j * oc + o] * s);
        b_out[o] = (float)fold_bias(o, b, beta, mean, s);
    }
}
