// float_loss.c — the RAT micro-batch loss on the CPU (kernels/cpu/float_loss.h): plain loops over the element
// functions of kernels/cpu/float_loss_elem.h, sums in the sequential order below.
#include <math.h>

#include "cpu/float_loss.h"
#include "cpu/float_loss_elem.h"

// softmax(x / T) of one row into p: max, then p_i = exp((x_i - max) / T) summed in order, then p_i / sum.
static void softmax_t(const float *x, int k, float T, double *p) {
    double mx = x[0];
    for (int i = 1; i < k; i++)
        if (x[i] > mx) mx = x[i];
    double s = 0;
    for (int i = 0; i < k; i++) s += (p[i] = ratq_le_softmax_term(x[i], mx, T));
    for (int i = 0; i < k; i++) p[i] /= s;
}

double ratq_distill_cpu(const float *z, const float *t, int n, int k, float a, float T, float *dz, double *ws) {
    double *ps = ws, *pt = ws + k, kl = 0;
    for (int r = 0; r < n; r++) {
        softmax_t(z + (size_t)r * k, k, T, ps);
        softmax_t(t + (size_t)r * k, k, T, pt);
        for (int i = 0; i < k; i++) {
            kl += ratq_le_kl_term(ps[i], pt[i]);
            dz[(size_t)r * k + i] += ratq_le_distill_grad(a, T, ps[i], pt[i], n);
        }
    }
    return ratq_le_distill_loss(kl, a, T, n);
}

double ratq_rat_loss_cpu(const ratq_xent_params *xp, const float *z, const float *t, const int32_t *labels, float a,
                         float T, float *dz, double *ws) {
    double l = ratq_softmax_xent_cpu(xp, z, labels, dz) * (1.0 - a);
    for (size_t i = 0; i < (size_t)xp->n * xp->classes; i++) dz[i] *= 1.0f - a;
    if (a > 0) l += ratq_distill_cpu(z, t, xp->n, xp->classes, a, T, dz, ws);
    return l;
}
