// float_xent.c — softmax cross-entropy with label smoothing (PyTorch semantics, mean over the batch).
#include <math.h>

#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

// One sample: returns its loss  (1-eps)*(lse - z_y) + eps*(lse - mean_k z_k)  and writes
// dl[k] = (p_k - q_k) / N with q_k = (1-eps)*[k == y] + eps/K (if dl != NULL). All in double.
static double xent_row(const ratq_xent_params *p, const float *z, int32_t label, float *dl) {
    const int K = p->classes;
    const double eps = p->label_smoothing;
    double mx = z[0];
    for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    double se = 0.0, sz = 0.0;
    for (int k = 0; k < K; k++) {
        se += exp((double)z[k] - mx);
        sz += z[k];
    }
    const double lse = mx + log(se);
    if (dl) {
        for (int k = 0; k < K; k++) {
            const double pk = exp((double)z[k] - lse);
            const double qk = (1.0 - eps) * (k == label ? 1.0 : 0.0) + eps / K;
            dl[k] = (float)((pk - qk) / p->n);
        }
    }
    return (1.0 - eps) * (lse - z[label]) + eps * (lse - sz / K);
}

double ratq_softmax_xent_ref(const ratq_xent_params *p, const float *logits, const int32_t *labels, float *dlogits) {
    double loss = 0.0;
    for (int i = 0; i < p->n; i++)
        loss += xent_row(p, logits + (size_t)i * p->classes, labels[i],
                         dlogits ? dlogits + (size_t)i * p->classes : NULL);
    return loss / p->n;
}

double ratq_softmax_xent_cpu(const ratq_xent_params *p, const float *logits, const int32_t *labels, float *dlogits) {
    double loss = 0.0;
    RATQ_OMP(parallel for schedule(static) reduction(+ : loss))
    for (int i = 0; i < p->n; i++)
        loss += xent_row(p, logits + (size_t)i * p->classes, labels[i],
                         dlogits ? dlogits + (size_t)i * p->classes : NULL);
    return loss / p->n;
}
