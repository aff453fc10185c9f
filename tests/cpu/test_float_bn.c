// test_float_bn.c — batch norm (train / eval, forward / backward) and BN folding:
//   forward vs an independent double-precision statement of the formulas (incl. the PyTorch running
//   update with unbiased variance), backward vs central differences, fast vs reference (bit-exact: same
//   per-channel summation order), in-place use, and folded conv == conv followed by eval BN.
#include "cpu/float_ops.h"
#include "cpu/test_float_util.h"

// Per-channel test data with distinct offsets and scales so channels cannot be mixed up unnoticed.
static float *bn_input(int rows, int c) {
    float *x = tf_alloc((size_t)rows * c);
    for (int ch = 0; ch < c; ch++) {
        const double off = -1.0 + 0.3 * ch, sc = 0.5 + 0.1 * (ch % 7);
        for (int r = 0; r < rows; r++) x[(size_t)r * c + ch] = (float)(off + sc * (2.0 * tf_u01() - 1.0));
    }
    return x;
}

// ---- forward vs a double-precision statement of the formulas ----------------------------------
static int test_forward_formulas(int rows, int c) {
    ratq_bn_params p = {rows, c, 1e-3f, 0.1f};
    const size_t n = (size_t)rows * c;
    float *x = bn_input(rows, c), *g = tf_rand(c, 0.5, 1.5), *b = tf_rand(c, -0.5, 0.5), *y = tf_alloc(n);
    float *rm = tf_rand(c, -0.2, 0.2), *rv = tf_rand(c, 0.5, 1.5), *rm0 = tf_alloc(c), *rv0 = tf_alloc(c);
    float *sm = tf_alloc(c), *si = tf_alloc(c);
    float *ey = tf_alloc(n), *erm = tf_alloc(c), *erv = tf_alloc(c), *esm = tf_alloc(c), *esi = tf_alloc(c);
    memcpy(rm0, rm, sizeof(float) * c), memcpy(rv0, rv, sizeof(float) * c);
    ratq_bn_train_fwd_ref(&p, x, g, b, y, rm, rv, sm, si);
    for (int ch = 0; ch < c; ch++) {
        double s = 0, ss = 0;
        for (int r = 0; r < rows; r++) s += x[(size_t)r * c + ch];
        const double mean = s / rows;
        for (int r = 0; r < rows; r++) ss += (x[(size_t)r * c + ch] - mean) * (x[(size_t)r * c + ch] - mean);
        const double var = ss / rows, invstd = 1.0 / sqrt(var + 1e-3);
        esm[ch] = (float)mean, esi[ch] = (float)invstd;
        erm[ch] = (float)(0.9 * rm0[ch] + 0.1 * mean);
        erv[ch] = (float)(0.9 * rv0[ch] + 0.1 * var * rows / (rows - 1)); // PyTorch: unbiased variance
        for (int r = 0; r < rows; r++)
            ey[(size_t)r * c + ch] = (float)(g[ch] * (x[(size_t)r * c + ch] - mean) * invstd + b[ch]);
    }
    int bad = 0;
    // The kernel rounds mean and invstd to float before the per-element float arithmetic: a few ulps of
    // values of magnitude <= ~4, so atol 1e-5 (~80 ulps at 4) with rtol 1e-5; stats are rounded once: 1e-6 rel.
    bad += tf_close("bn train y", y, ey, n, 1e-5, 1e-5);
    bad += tf_close("bn save_mean", sm, esm, c, 1e-7, 1e-6);
    bad += tf_close("bn save_invstd", si, esi, c, 1e-7, 1e-6);
    bad += tf_close("bn running_mean", rm, erm, c, 1e-7, 1e-6);
    bad += tf_close("bn running_var", rv, erv, c, 1e-7, 1e-6);
    // Eval forward with the running statistics.
    ratq_bn_eval_fwd_ref(&p, x, g, b, rm, rv, y);
    for (int ch = 0; ch < c; ch++)
        for (int r = 0; r < rows; r++)
            ey[(size_t)r * c + ch] = (float)(g[ch] * (x[(size_t)r * c + ch] - (double)rm[ch]) / sqrt((double)rv[ch] + 1e-3) + b[ch]);
    bad += tf_close("bn eval y", y, ey, n, 1e-5, 1e-5);
    free(x), free(g), free(b), free(y), free(rm), free(rv), free(rm0), free(rv0), free(sm), free(si);
    free(ey), free(erm), free(erv), free(esm), free(esi);
    return bad;
}

// ---- backward vs central differences ------------------------------------------------------------
typedef struct {
    const ratq_bn_params *p;
    int train;
    float *x, *g, *b, *mean, *var, *y, *sm, *si;
    const float *r;
} gctx;

static double bn_loss(void *vc) {
    gctx *c = vc;
    if (c->train) ratq_bn_train_fwd_ref(c->p, c->x, c->g, c->b, c->y, NULL, NULL, c->sm, c->si);
    else ratq_bn_eval_fwd_ref(c->p, c->x, c->g, c->b, c->mean, c->var, c->y);
    return tf_dot(c->r, c->y, (size_t)c->p->rows * c->p->c);
}

static int test_gradients(int rows, int c, int train) {
    ratq_bn_params p = {rows, c, 1e-3f, 0.1f};
    const size_t n = (size_t)rows * c;
    float *x = bn_input(rows, c), *g = tf_rand(c, 0.5, 1.5), *b = tf_rand(c, -0.5, 0.5), *y = tf_alloc(n);
    float *mean = tf_rand(c, -0.3, 0.3), *var = tf_rand(c, 0.3, 1.5), *sm = tf_alloc(c), *si = tf_alloc(c);
    float *r = tf_rand(n, -1, 1), *dx = tf_alloc(n), *dg = tf_alloc(c), *db = tf_alloc(c);
    gctx ctx = {&p, train, x, g, b, mean, var, y, sm, si, r};
    bn_loss(&ctx); // fills save_mean / save_invstd for the train backward
    if (train) ratq_bn_train_bwd_ref(&p, x, r, g, sm, si, dx, dg, db);
    else ratq_bn_eval_bwd_ref(&p, x, r, g, mean, var, dx, dg, db);
    // Train mode is nonlinear in x (through mean and var): with h = 1e-2 the central-difference truncation
    // error is h^2/6 * |f'''| ~ 1e-4 for unit-variance channels, and the float rounding of the R outputs of
    // a channel (~2e-7 each) contributes ~1e-4 / (2h). atol = rtol = 3e-3 covers both with margin; dropping
    // any term of the exact backward (mean or variance path) changes dx by >= ~0.05 at these sizes.
    // Eval mode is linear in x, gamma, beta: only the rounding term remains (same tolerance).
    const char *mode = train ? "train" : "eval";
    char name[64];
    int bad = 0;
    snprintf(name, sizeof name, "bn %s dx", mode);
    bad += tf_gradcheck(name, bn_loss, &ctx, x, dx, n, 1, 1e-2f, 3e-3, 3e-3);
    snprintf(name, sizeof name, "bn %s dgamma", mode);
    bad += tf_gradcheck(name, bn_loss, &ctx, g, dg, c, 1, 1e-2f, 3e-3, 3e-3);
    snprintf(name, sizeof name, "bn %s dbeta", mode);
    bad += tf_gradcheck(name, bn_loss, &ctx, b, db, c, 1, 1e-2f, 3e-3, 3e-3);
    if (bad) fprintf(stderr, "  in case rows %d c %d %s\n", rows, c, mode);
    free(x), free(g), free(b), free(y), free(mean), free(var), free(sm), free(si), free(r), free(dx), free(dg), free(db);
    return bad;
}

// ---- fast vs reference: bit-exact (same formulas, same per-channel summation order) ------------------
static int test_fast(int rows, int c) {
    ratq_bn_params p = {rows, c, 1e-3f, 0.1f};
    const size_t n = (size_t)rows * c;
    float *x = bn_input(rows, c), *g = tf_rand(c, 0.5, 1.5), *b = tf_rand(c, -0.5, 0.5), *dy = tf_rand(n, -1, 1);
    float *rm1 = tf_rand(c, -0.2, 0.2), *rv1 = tf_rand(c, 0.5, 1.5), *rm2 = tf_alloc(c), *rv2 = tf_alloc(c);
    float *y1 = tf_alloc(n), *y2 = tf_alloc(n), *sm1 = tf_alloc(c), *si1 = tf_alloc(c), *sm2 = tf_alloc(c), *si2 = tf_alloc(c);
    float *dx1 = tf_alloc(n), *dx2 = tf_alloc(n), *dg1 = tf_alloc(c), *dg2 = tf_alloc(c), *db1 = tf_alloc(c), *db2 = tf_alloc(c);
    memcpy(rm2, rm1, sizeof(float) * c), memcpy(rv2, rv1, sizeof(float) * c);
    int bad = 0;
    ratq_bn_train_fwd_ref(&p, x, g, b, y1, rm1, rv1, sm1, si1);
    ratq_bn_train_fwd_cpu(&p, x, g, b, y2, rm2, rv2, sm2, si2);
    bad += tf_equal("bn train fwd cpu y", y2, y1, n);
    bad += tf_equal("bn train fwd cpu running_mean", rm2, rm1, c);
    bad += tf_equal("bn train fwd cpu running_var", rv2, rv1, c);
    bad += tf_equal("bn train fwd cpu save_mean", sm2, sm1, c);
    bad += tf_equal("bn train fwd cpu save_invstd", si2, si1, c);
    ratq_bn_train_bwd_ref(&p, x, dy, g, sm1, si1, dx1, dg1, db1);
    ratq_bn_train_bwd_cpu(&p, x, dy, g, sm1, si1, dx2, dg2, db2);
    bad += tf_equal("bn train bwd cpu dx", dx2, dx1, n);
    bad += tf_equal("bn train bwd cpu dgamma", dg2, dg1, c);
    bad += tf_equal("bn train bwd cpu dbeta", db2, db1, c);
    ratq_bn_train_bwd_cpu(&p, x, dy, g, sm1, si1, dx2, NULL, NULL); // dx does not depend on the NULL outputs
    bad += tf_equal("bn train bwd cpu dx (dgamma, dbeta NULL)", dx2, dx1, n);
    ratq_bn_eval_fwd_ref(&p, x, g, b, rm1, rv1, y1);
    ratq_bn_eval_fwd_cpu(&p, x, g, b, rm1, rv1, y2);
    bad += tf_equal("bn eval fwd cpu", y2, y1, n);
    ratq_bn_eval_bwd_ref(&p, x, dy, g, rm1, rv1, dx1, dg1, db1);
    ratq_bn_eval_bwd_cpu(&p, x, dy, g, rm1, rv1, dx2, dg2, db2);
    bad += tf_equal("bn eval bwd cpu dx", dx2, dx1, n);
    bad += tf_equal("bn eval bwd cpu dgamma", dg2, dg1, c);
    bad += tf_equal("bn eval bwd cpu dbeta", db2, db1, c);
    // In place: y == x (forward) and dx == dy (backward) give the same results.
    float *xi = tf_alloc(n), *dyi = tf_alloc(n);
    memcpy(xi, x, sizeof(float) * n);
    ratq_bn_train_fwd_ref(&p, x, g, b, y1, NULL, NULL, sm1, si1);
    ratq_bn_train_fwd_cpu(&p, xi, g, b, xi, NULL, NULL, sm2, si2);
    bad += tf_equal("bn train fwd in place", xi, y1, n);
    memcpy(dyi, dy, sizeof(float) * n);
    ratq_bn_train_bwd_ref(&p, x, dy, g, sm1, si1, dx1, NULL, NULL);
    ratq_bn_train_bwd_cpu(&p, x, dyi, g, sm1, si1, dyi, NULL, NULL);
    bad += tf_equal("bn train bwd in place", dyi, dx1, n);
    if (bad) fprintf(stderr, "  in case rows %d c %d\n", rows, c);
    free(x), free(g), free(b), free(dy), free(rm1), free(rv1), free(rm2), free(rv2), free(y1), free(y2);
    free(sm1), free(si1), free(sm2), free(si2), free(dx1), free(dx2), free(dg1), free(dg2), free(db1), free(db2);
    free(xi), free(dyi);
    return bad;
}

// ---- BN folding: conv(x, w', b') == bn_eval(conv(x, w, b)) --------------------------------------
static int test_fold(int depthwise, int with_bias) {
    ratq_conv2d_params p = depthwise ? ratq_conv2d_params_same(2, 7, 7, 6, 12, 3, 1, 1, 6)
                                     : ratq_conv2d_params_same(2, 7, 7, 6, 10, 3, 2, 1, 1);
    const int kk = p.kh * p.kw, per_oc = depthwise ? kk : kk * p.ic;
    const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc, nw = (size_t)p.oc * per_oc;
    float *x = tf_rand(nx, -1, 1), *w = tf_rand(nw, -1, 1), *b = with_bias ? tf_rand(p.oc, -1, 1) : NULL;
    float *g = tf_rand(p.oc, 0.5, 1.5), *be = tf_rand(p.oc, -0.5, 0.5), *m = tf_rand(p.oc, -0.5, 0.5), *v = tf_rand(p.oc, 0.2, 2);
    float *wf = tf_alloc(nw), *bf = tf_alloc(p.oc), *y1 = tf_alloc(ny), *y2 = tf_alloc(ny);
    ratq_bn_params bp = {p.n * p.oh * p.ow, p.oc, 1e-3f, 0.1f};
    if (depthwise) {
        ratq_dwconv2d_fwd_ref(&p, x, w, b, y1);
        ratq_bn_fold_hwo(p.oc, per_oc, w, b, g, be, m, v, 1e-3f, wf, bf);
        ratq_dwconv2d_fwd_ref(&p, x, wf, bf, y2);
    } else {
        ratq_conv2d_fwd_ref(&p, x, w, b, y1, NULL);
        ratq_bn_fold_ohwi(p.oc, per_oc, w, b, g, be, m, v, 1e-3f, wf, bf);
        ratq_conv2d_fwd_ref(&p, x, wf, bf, y2, NULL);
    }
    ratq_bn_eval_fwd_ref(&bp, y1, g, be, m, v, y1);
    // Both sides are exact up to a few float roundings of terms bounded by |w*s*x| with s = gamma/sqrt(var+eps)
    // <= 1.5/sqrt(0.2) ~ 3.4: the K <= 54 rounded weights contribute <= 54 * 2^-24 * 3.4 ~ 1.1e-5 in the worst
    // case, the few roundings of y1 (|y| <= ~60) ~ 1e-5. atol 5e-5 plus rtol 1e-5; a missing scale on the
    // bias or the weights gives errors of O(0.1).
    char name[64];
    snprintf(name, sizeof name, "bn fold %s%s", depthwise ? "hwo (depthwise)" : "ohwi (conv)", with_bias ? " with bias" : "");
    int bad = tf_close(name, y2, y1, ny, 5e-5, 1e-5);
    // In place (w_out == w, b_out == b) gives the same folded parameters.
    if (with_bias) {
        float *wi = tf_alloc(nw), *bi = tf_alloc(p.oc);
        memcpy(wi, w, sizeof(float) * nw), memcpy(bi, b, sizeof(float) * p.oc);
        if (depthwise) ratq_bn_fold_hwo(p.oc, per_oc, wi, bi, g, be, m, v, 1e-3f, wi, bi);
        else ratq_bn_fold_ohwi(p.oc, per_oc, wi, bi, g, be, m, v, 1e-3f, wi, bi);
        bad += tf_equal("bn fold in place w", wi, wf, nw);
        bad += tf_equal("bn fold in place b", bi, bf, p.oc);
        free(wi), free(bi);
    }
    free(x), free(w), free(b), free(g), free(be), free(m), free(v), free(wf), free(bf), free(y1), free(y2);
    return bad;
}

int main(void) {
    tf_seed(20240603);
    int bad = 0;
    bad += test_forward_formulas(50, 20);
    bad += test_forward_formulas(2, 3);
    bad += test_gradients(6, 3, 1);   // tiny batch: strong coupling through the batch statistics
    bad += test_gradients(50, 20, 1); // crosses a 16-channel block
    bad += test_gradients(6, 3, 0);
    bad += test_gradients(30, 17, 0);
    bad += test_fast(2 * 14 * 14, 40);
    bad += test_fast(3, 5);
    bad += test_fast(64, 16);
    for (int dw = 0; dw <= 1; dw++)
        for (int wb = 0; wb <= 1; wb++) bad += test_fold(dw, wb);
    if (bad) {
        fprintf(stderr, "test_float_bn: FAIL (%d)\n", bad);
        return 1;
    }
    printf("test_float_bn: OK\n");
    return 0;
}
