// float_loss_elem.h — the per-element arithmetic of the RAT loss, written once as RATQ_HD (host + device): the CPU
// loss (kernels/cpu/float_loss.c ratq_rat_loss_cpu, the loop of host/train/rat_train.c) and the GPU loss
// (kernels/cuda/loss_cuda.cu) both call these; tests/cpu/test_cuda_loss_host.cu checks them. For one micro-batch of N rows
// with dequantized student logits z (z = S_y (q - z_y)), teacher logits t, labels y, smoothing eps, distillation
// weight a and temperature T (a = 0 without a teacher):
//   dL/dz[r][k] = (float)(dCE[r][k]) * (1 - a) + (float)(a T (ps_k - pt_k) / N)    (float ops, this order)
//   L           = CE * (1 - a) + a T^2 KL / N,   CE = (1/N) sum_r ce_r (ratq_xent_row_loss),
//                 KL = sum_r sum_k pt_k (log pt_k - log max(ps_k, 1e-300)) over pt_k > 0
//   ps = softmax(z / T), pt = softmax(t / T) per row: p_k = exp((x_k - max x) / T) / sum_j exp((x_j - max x) / T)
// The sums over k run in another order on the GPU (block trees) and device exp / log may differ from glibc by
// 1 ulp of a double: dL/dz agrees with the CPU to the last float bit or one ulp, L to ~1e-15 relative.
// The batch accuracy counts rows whose int8 logit argmax (first maximum, ratq_qmodel_argmax) equals the label.
#ifndef RATQ_CPU_FLOAT_LOSS_ELEM_H
#define RATQ_CPU_FLOAT_LOSS_ELEM_H

#include <math.h>
#include <stdint.h>

#include "math/rescale.h" // RATQ_HD

// exp((x - mx) / T), the unnormalized softmax_t term (T promoted to double as the CPU).
RATQ_HD double ratq_le_softmax_term(float x, double mx, float T) { return exp(((double)x - mx) / T); }

// One KL term pt (log pt - log max(ps, 1e-300)), 0 where pt <= 0 (the CPU's `if (pt > 0)`).
RATQ_HD double ratq_le_kl_term(double ps, double pt) {
    return pt > 0 ? pt * (log(pt) - log(ps > 1e-300 ? ps : 1e-300)) : 0.0;
}

// The distillation part of dL/dz: (float)(a T (ps - pt) / N). a, T are floats as in ratq_rat_config: a * T is a
// float product, as in the CPU expression.
RATQ_HD float ratq_le_distill_grad(float a, float T, double ps, double pt, int n) { return (float)(a * T * (ps - pt) / n); }

// The gradient element: the CE gradient (float, ratq_xent_dlogit) scaled by (1 - a), plus the distillation part
// when a > 0.
RATQ_HD float ratq_le_dz(float dce, float a, float T, double ps, double pt, int n) {
    float d = dce * (1.0f - a);
    if (a > 0) d += ratq_le_distill_grad(a, T, ps, pt, n);
    return d;
}

// The distillation loss a T^2 KL / N from the sum of the KL terms.
RATQ_HD double ratq_le_distill_loss(double kl_sum, float a, float T, int n) { return a * (double)T * T * kl_sum / n; }

// The micro-batch loss from the row sums (ce_sum = sum_r ce_r, kl_sum = sum of all KL terms).
RATQ_HD double ratq_le_loss(double ce_sum, double kl_sum, float a, float T, int n) {
    double l = ce_sum / n * (1.0 - a);
    if (a > 0) l += ratq_le_distill_loss(kl_sum, a, T, n);
    return l;
}

// First maximum of an int8 row (ratq_qmodel_argmax).
RATQ_HD int ratq_le_argmax_s8(const int8_t *x, int k) {
    int best = 0;
    for (int i = 1; i < k; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

#endif
