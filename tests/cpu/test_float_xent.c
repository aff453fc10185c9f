// test_float_xent.c — softmax cross-entropy with label smoothing (PyTorch semantics, mean over batch):
// loss vs an independent double statement of the formula, known values, shift invariance with large
// logits, dlogits vs central differences of the loss, fast vs reference.
#include "cpu/float_ops.h"
#include "cpu/test_float_util.h"

// PyTorch CrossEntropyLoss(label_smoothing=eps): (1/N) sum_i [(1-eps) * (-log p_{i,y}) + eps/K * sum_k -log p_{i,k}].
static double xent_formula(int n, int K, float eps, const float *z, const int32_t *lab) {
    double L = 0;
    for (int i = 0; i < n; i++) {
        double se = 0;
        for (int k = 0; k < K; k++) se += exp((double)z[(size_t)i * K + k]); // small logits only: no max shift
        double nll = 0, smooth = 0;
        for (int k = 0; k < K; k++) {
            const double lp = log(exp((double)z[(size_t)i * K + k]) / se);
            if (k == lab[i]) nll = -lp;
            smooth += -lp / K;
        }
        L += (1.0 - eps) * nll + eps * smooth;
    }
    return L / n;
}

typedef struct {
    const ratq_xent_params *p;
    float *z;
    const int32_t *lab;
} xctx;
static double xent_loss(void *vc) {
    xctx *c = vc;
    return ratq_softmax_xent_ref(c->p, c->z, c->lab, NULL);
}

static int check_scalar(const char *what, double got, double want, double tol) {
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "FAIL %s: got %.15g want %.15g (|d| %.3g > %.3g)\n", what, got, want, fabs(got - want), tol);
        return 1;
    }
    return 0;
}

static int test_case(int n, int K, float eps) {
    ratq_xent_params p = {n, K, eps};
    const size_t nz = (size_t)n * K;
    float *z = tf_rand(nz, -3, 3), *d1 = tf_alloc(nz), *d2 = tf_alloc(nz);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    for (int i = 0; i < n; i++) lab[i] = (int32_t)(tf_u01() * K);
    int bad = 0;
    const double l1 = ratq_softmax_xent_ref(&p, z, lab, d1);
    // Both in double from the same float logits: only the evaluation order differs (~1e-15 relative).
    bad += check_scalar("xent loss vs formula", l1, xent_formula(n, K, eps, z, lab), 1e-12 * (1 + fabs(l1)));
    const double l2 = ratq_softmax_xent_cpu(&p, z, lab, d2);
    bad += check_scalar("xent loss cpu vs ref", l2, l1, 1e-12 * (1 + fabs(l1))); // reduction order only
    bad += tf_equal("xent dlogits cpu vs ref", d2, d1, nz);                      // same per-row code
    bad += check_scalar("xent loss with dlogits NULL", ratq_softmax_xent_cpu(&p, z, lab, NULL), l2, 0.0);
    // Rows of dlogits sum to 0 (sum_k p_k = sum_k q_k = 1): float rounding of K entries of size <= 1/N.
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += d1[(size_t)i * K + k];
        if (fabs(s) > 1e-6 / n * K) {
            fprintf(stderr, "FAIL xent: dlogits row %d sums to %g\n", i, s);
            bad++;
            break;
        }
    }
    // Central differences of the double loss wrt each float logit, h = 1e-3: truncation h^2/6 * |f'''| with
    // |f'''| <= 1/N gives < 1e-7; the loss is double so rounding is ~1e-13 / 2e-3. dlogits are float (1e-8).
    // atol 1e-6, rtol 1e-5; a wrong smoothing weight changes dlogits by ~eps/K/N >= 2e-4 here.
    xctx c = {&p, z, lab};
    bad += tf_gradcheck("xent dlogits", xent_loss, &c, z, d1, nz, 1, 1e-3f, 1e-6, 1e-5);
    // Known values: equal logits give p = 1/K, so loss = log K for any eps, dlogits = (1/K - q)/N.
    for (size_t j = 0; j < nz; j++) z[j] = 0.25f;
    const double lu = ratq_softmax_xent_ref(&p, z, lab, d1);
    bad += check_scalar("xent uniform logits loss = log K", lu, log((double)K), 1e-12);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < K; k++) {
            const double q = (1.0 - eps) * (k == lab[i]) + (double)eps / K;
            if (fabs(d1[(size_t)i * K + k] - (1.0 / K - q) / n) > 1e-7 / n) {
                fprintf(stderr, "FAIL xent uniform dlogits[%d][%d] = %g want %g\n", i, k, d1[(size_t)i * K + k], (1.0 / K - q) / n);
                bad++;
                i = n;
                break;
            }
        }
    // Shift invariance with large logits (no overflow): logits on a 1/64 grid plus 1024 are exact in float.
    float *zs = tf_alloc(nz), *zb = tf_alloc(nz);
    for (size_t j = 0; j < nz; j++) {
        zs[j] = (float)(floor(tf_u01() * 512.0 - 256.0) / 64.0);
        zb[j] = zs[j] + 1024.0f;
    }
    const double ls = ratq_softmax_xent_ref(&p, zs, lab, d1), lb = ratq_softmax_xent_ref(&p, zb, lab, d2);
    bad += check_scalar("xent shift invariance (logits + 1024)", lb, ls, 1e-9 * (1 + ls));
    bad += tf_close("xent dlogits shift invariance", d2, d1, nz, 1e-9, 1e-6);
    if (bad) fprintf(stderr, "  in case n %d K %d eps %g\n", n, K, eps);
    free(z), free(d1), free(d2), free(lab), free(zs), free(zb);
    return bad;
}

int main(void) {
    tf_seed(20240607);
    int bad = 0;
    bad += test_case(4, 10, 0.0f);
    bad += test_case(4, 10, 0.1f);
    bad += test_case(1, 2, 0.3f);
    bad += test_case(16, 100, 0.1f);
    if (bad) {
        fprintf(stderr, "test_float_xent: FAIL (%d)\n", bad);
        return 1;
    }
    printf("test_float_xent: OK\n");
    return 0;
}
