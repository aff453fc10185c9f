// test_rat_loss.c — the RAT micro-batch loss written once (kernels/cpu/float_loss_elem.h) and its CPU driver
// ratq_rat_loss_cpu (kernels/cpu/float_loss.c), label cpu, plain C:
//   1. ratq_rat_loss_cpu == the RAT loop's loss as written before it called ratq_rat_loss_cpu (host/train/
//      rat_step_host.c; transcribed below as rat_train_loss: xent, dz scaled by (1 - a), distillation with its own
//      softmax_t), dL/dz and L BIT FOR BIT, over batch sizes, class
//      counts, label smoothing, distillation weights a in {0, 0.5, 1} and temperatures, on int8-dequantized
//      logits (ties included) and float teacher logits;
//   2. the GPU kernel's decomposition (kernels/cuda/loss_cuda.cu): per element ratq_le_dz(ratq_xent_dlogit(...),
//      ...) with the per-row sums taken sequentially equals ratq_rat_loss_cpu's dz bit for bit, and
//      ratq_le_loss(sum of ratq_xent_row_loss, sum of KL terms) equals its L to 1e-12 relative (another association);
//   3. ratq_le_argmax_s8 == ratq_qmodel_argmax (first maximum) on rows with ties.
// The GPU kernel itself runs in tests/gpu/test_rat_step_cuda.c.
#include <math.h>
#include <string.h>

#include "cpu/float_loss.h"
#include "cpu/float_loss_elem.h"
#include "cuda/train_elem.h" // ratq_xent_dlogit, ratq_xent_row_loss (plain C header)
#include "qmodel/qmodel.h"
#include "test_util.h"

// ---- the loop's loss before ratq_rat_loss_cpu (rat_train.c at f364b8a, then rat_step_host.c), verbatim ----
static void softmax_t(const float *x, int k, float T, double *p) {
    double mx = x[0];
    for (int i = 1; i < k; i++)
        if (x[i] > mx) mx = x[i];
    double s = 0;
    for (int i = 0; i < k; i++) s += (p[i] = exp(((double)x[i] - mx) / T));
    for (int i = 0; i < k; i++) p[i] /= s;
}
static double distill(const float *z, const float *t, int n, int k, float a, float T, float *dz, double *ws) {
    double *ps = ws, *pt = ws + k, loss = 0;
    for (int r = 0; r < n; r++) {
        softmax_t(z + (size_t)r * k, k, T, ps);
        softmax_t(t + (size_t)r * k, k, T, pt);
        for (int i = 0; i < k; i++) {
            if (pt[i] > 0) loss += pt[i] * (log(pt[i]) - log(ps[i] > 1e-300 ? ps[i] : 1e-300));
            dz[(size_t)r * k + i] += (float)(a * T * (ps[i] - pt[i]) / n);
        }
    }
    return a * (double)T * T * loss / n;
}
static double rat_train_loss(const ratq_xent_params *xp, const float *z, const float *tz, const int32_t *labels,
                             float a, float T, float *dz, double *ws) {
    double l = ratq_softmax_xent_cpu(xp, z, labels, dz) * (1.0 - a);
    for (size_t i = 0; i < (size_t)xp->n * xp->classes; i++) dz[i] *= 1.0f - a;
    if (a > 0) l += distill(z, tz, xp->n, xp->classes, a, T, dz, ws);
    return l;
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// The GPU's per-element / per-row decomposition with sequential sums (2. above).
static double kernel_decomposition(const ratq_xent_params *xp, const float *z, const float *t, const int32_t *labels,
                                   float a, float T, float *dz) {
    const int K = xp->classes, n = xp->n;
    double ce = 0, kl = 0;
    for (int r = 0; r < n; r++) {
        const float *zr = z + (size_t)r * K, *tr = t + (size_t)r * K;
        double mx = zr[0], mt = tr[0];
        for (int k = 1; k < K; k++) {
            mx = zr[k] > mx ? zr[k] : mx;
            mt = tr[k] > mt ? tr[k] : mt;
        }
        double se = 0, sz = 0, ss = 0, st = 0;
        for (int k = 0; k < K; k++) {
            se += exp((double)zr[k] - mx);
            sz += zr[k];
            ss += ratq_le_softmax_term(zr[k], mx, T);
            st += ratq_le_softmax_term(tr[k], mt, T);
        }
        const double lse = mx + log(se);
        for (int k = 0; k < K; k++) {
            const float dce = ratq_xent_dlogit(zr[k], lse, k == labels[r], xp->label_smoothing, K, n);
            const double ps = ratq_le_softmax_term(zr[k], mx, T) / ss, pt = ratq_le_softmax_term(tr[k], mt, T) / st;
            if (a > 0) kl += ratq_le_kl_term(ps, pt);
            dz[(size_t)r * K + k] = ratq_le_dz(dce, a, T, ps, pt, n);
        }
        ce += ratq_xent_row_loss(lse, zr[labels[r]], sz, xp->label_smoothing, K);
    }
    return ratq_le_loss(ce, kl, a, T, n);
}

static void one_case(uint64_t *st, int n, int K, float eps, float a, float T) {
    float *z = malloc(sizeof(float) * n * K), *t = malloc(sizeof(float) * n * K);
    float *d1 = malloc(sizeof(float) * n * K), *d2 = malloc(sizeof(float) * n * K), *d3 = malloc(sizeof(float) * n * K);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    double *ws = malloc(sizeof(double) * 2 * K);
    const float s = 0.0731f; // an int8 logit scale: many equal logits (ties) in every row
    for (int i = 0; i < n * K; i++) {
        z[i] = s * (float)((int)ratq_test_range(st, -128, 127) - 3);
        t[i] = (float)(8 * ratq_test_unit(st) - 4);
    }
    for (int r = 0; r < n; r++) lab[r] = (int32_t)ratq_test_range(st, 0, K - 1);
    ratq_xent_params xp = {.n = n, .classes = K, .label_smoothing = eps};
    const double l1 = rat_train_loss(&xp, z, t, lab, a, T, d1, ws);
    const double l2 = ratq_rat_loss_cpu(&xp, z, t, lab, a, T, d2, ws);
    const double l3 = kernel_decomposition(&xp, z, t, lab, a, T, d3);
    size_t bad12 = 0, bad23 = 0;
    for (int i = 0; i < n * K; i++) {
        bad12 += fbits(d1[i]) != fbits(d2[i]);
        bad23 += fbits(d2[i]) != fbits(d3[i]);
    }
    CHECK_MSG(bad12 == 0 && l1 == l2, "n=%d K=%d eps=%g a=%g T=%g: ratq_rat_loss_cpu differs from rat_train.c: %zu dz, "
              "loss %.17g vs %.17g", n, K, eps, a, T, bad12, l2, l1);
    CHECK_MSG(bad23 == 0, "n=%d K=%d eps=%g a=%g T=%g: the kernel decomposition's dz differs in %zu elements", n, K, eps,
              a, T, bad23);
    CHECK_MSG(fabs(l3 - l2) <= 1e-12 * fabs(l2) && isfinite(l3), "n=%d K=%d: kernel decomposition loss %.17g vs %.17g",
              n, K, l3, l2);
    free(z), free(t), free(d1), free(d2), free(d3), free(lab), free(ws);
}

int main(void) {
    uint64_t st = 0x105510551055ull;
    const int ns[] = {1, 5, 16}, ks[] = {2, 10, 1000};
    const float eps[] = {0.0f, 0.1f}, as[] = {0.0f, 0.5f, 1.0f}, ts[] = {1.0f, 2.5f};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int e = 0; e < 2; e++)
                for (int c = 0; c < 3; c++)
                    for (int d = 0; d < 2; d++) one_case(&st, ns[a], ks[b], eps[e], as[c], ts[d]);
    // argmax: first maximum, ties included
    for (int r = 0; r < 200; r++) {
        int8_t row[37];
        const int k = 1 + (int)ratq_test_range(&st, 0, 36);
        for (int i = 0; i < k; i++) row[i] = (int8_t)ratq_test_range(&st, -3, 3);
        CHECK_EQ_I64(ratq_le_argmax_s8(row, k), ratq_qmodel_argmax(row, k), "argmax row %d", r);
    }
    return ratq_test_finish("test_rat_loss");
}
