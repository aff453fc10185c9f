// test_cuda_ste_host.cu — the element functions of the CUDA training ops (kernels/cuda/train_elem.h) run on the
// HOST (label cpu: compiled by nvcc, launches no kernel, needs no GPU), against the CPU twins:
//   STE prologue    ratq_ste_grad == the loop of host/quant/fake.c (g = mask ? dy * r[c] : 0), bit for bit, over
//                   special values (+-0, +-Inf, NaN, subnormals, huge) and mask bytes 0, 1, 2, 255; in place too.
//   tap gather      ratq_tap_src (kernels/cpu/float_conv_plan.h, shared by CPU and CUDA; its stride-1/2 shortcuts)
//                   == its definition (t >= 0, t % stride == 0, t / stride < out ? t / stride : -1), exhaustively
//                   on a range.
//   depthwise bwd   dx from ratq_dwconv2d_dx_elem == ratq_dwconv2d_bwd_cpu's dx, bit for bit; dw assembled from
//                   ratq_dwconv2d_dw_rowsum (double over rows in order) vs ratq_dwconv2d_bwd_cpu / _ref.
//   conv bwd        the im2col / col2im path of ratq_conv2d_bwd_cuda replayed on the host with the element
//                   functions and ratq_sgemm_cpu == ratq_conv2d_bwd_cpu, bit for bit (same GEMM calls).
//   GEMM mapping    a column-major (BLAS-convention) reference GEMM run with ratq_gemm_rowmajor_as_colmajor's
//                   arguments == ratq_sgemm_ref, bit for bit, for all four transpose cases with padded ld.
//   GAP bwd         ratq_gap_bwd_elem == ratq_global_avgpool_bwd_cpu, bit for bit.
//   xent            rows through ratq_xent_dlogit / ratq_xent_row_loss with the CPU's sequential sums ==
//                   ratq_softmax_xent_ref (dlogits and loss), bit for bit.
//   optimizers      ratq_sgd_elem / ratq_adamw_elem (+ ratq_adamw_prepare) == ratq_sgd_step_cpu /
//                   ratq_adamw_step_cpu over several steps and option sets, bit for bit.
// "Bit for bit" holds because the same IEEE operations run in the same order (no FMA on the host). On the device
// the same functions run (tests/gpu/test_cuda_train_ops.cu checks the kernels there).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/float_internal.h"
#include "cpu/float_ops.h"
#include "cuda/train_elem.h"
#include "test_util.h"

static uint64_t g_st = 0x5EED5EEDull;

static float *falloc(size_t n) { return ratq_test_falloc(n); }                          // test_util.h
static float *frand(size_t n, double lo, double hi) { return ratq_test_frand(&g_st, n, lo, hi); }
static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// Bitwise equality of two float arrays (NaN equal to NaN only with the same bits). One check per array;
// prints the first 5 differences and the max |d|.
static void check_bits(const char *what, const float *got, const float *want, size_t n) {
    size_t bad = 0;
    double maxd = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (fbits(got[i]) == fbits(want[i])) continue;
        const double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= maxd)) maxd = d;
        if (bad++ < 5) fprintf(stderr, "  %s[%zu]: got %.9g (0x%08x) want %.9g (0x%08x)\n", what, i, got[i],
                               fbits(got[i]), want[i], fbits(want[i]));
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu elements differ in their bits, max |d| = %.3g", what, bad, n, maxd);
}

// Relative L2 error ||got - ref|| / ||ref|| <= tol (NaN fails).
static void check_rel_l2(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    const double rel = den > 0.0 ? sqrt(num / den) : sqrt(num);
    printf("  %-40s rel L2 %.3g\n", what, rel);
    CHECK_MSG(rel <= tol, "%s: relative L2 %.3g > %.3g", what, rel, tol);
}

// ---------------------------------------------------------------------------------------------
static void test_ste(void) {
    const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, 1e-45f, -1e-45f, 1.17549435e-38f,
                              3.4e38f, -3.4e38f, 0.333333343f, 1e-20f};
    const uint8_t masks[] = {0, 1, 2, 255};
    const float ratios[] = {1.0f, 0.9375f, 1.0625f, 0.0f, 2.5f, 1e30f, 1e-30f};
    const int ns = (int)(sizeof specials / sizeof specials[0]), nr = (int)(sizeof ratios / sizeof ratios[0]);
    for (int i = 0; i < ns; i++)
        for (int m = 0; m < 4; m++)
            for (int r = 0; r < nr; r++) {
                const float dy = specials[i], ratio = ratios[r];
                const uint8_t mk = masks[m];
                const float want = mk ? dy * ratio : 0.0f; // host/quant/fake.c: dy[j] = mk[j] ? dy[j] * r : 0.0f
                const float got = ratq_ste_grad(dy, mk, ratio);
                CHECK_MSG(fbits(got) == fbits(want), "ste(%g, %u, %g) = %g (0x%08x), want 0x%08x", dy, mk, ratio, got,
                          fbits(got), fbits(want));
                if (!mk) CHECK_MSG(fbits(got) == 0u, "a clipped element must give +0, got 0x%08x", fbits(got));
                if (mk && ratio == 1.0f && !isnan(dy))
                    CHECK_MSG(fbits(got) == fbits(dy), "ratio 1 must pass dy unchanged: 0x%08x", fbits(got));
            }
    // Whole NHWC tensor: channel = index % channels, including in place.
    const int channels = 96;
    const int64_t count = (int64_t)2 * 7 * 5 * channels;
    float *dy = frand((size_t)count, -2.0, 2.0), *ratio = frand(channels, 0.8, 1.2), *g = falloc((size_t)count);
    float *want = falloc((size_t)count);
    uint8_t *mask = (uint8_t *)malloc((size_t)count);
    for (int64_t j = 0; j < count; j++) mask[j] = (uint8_t)(ratq_test_rng(&g_st) % 10 == 0 ? 0 : 1);
    dy[3] = NAN, mask[3] = 0; // clipped NaN -> +0
    for (int64_t j = 0; j < count; j++) {
        const int c = (int)(j % channels);
        want[j] = mask[j] ? dy[j] * ratio[c] : 0.0f;
    }
    ratq_ste_grad_ref(count, channels, dy, mask, ratio, g);
    check_bits("ste tensor", g, want, (size_t)count);
    ratq_ste_grad_ref(count, channels, dy, mask, ratio, dy); // in place
    check_bits("ste tensor in place", dy, want, (size_t)count);
    free(dy), free(ratio), free(g), free(want), free(mask);
}

static void test_tap_src(void) {
    for (int stride = 1; stride <= 4; stride++)
        for (int out = 1; out <= 9; out++)
            for (int t = -7; t <= 40; t++)
                CHECK_EQ_I64(ratq_tap_src(t, stride, out),
                             (t >= 0 && t % stride == 0 && t / stride < out) ? t / stride : -1,
                             "t=%d stride=%d out=%d", t, stride, out);
}

// ---------------------------------------------------------------------------------------------
typedef struct {
    const char *name;
    int n, h, w, ic, oc, k, stride, dilation, groups;
} conv_case;

static void test_dwconv(const conv_case *cc) {
    const ratq_conv2d_params p =
        ratq_conv2d_params_same(cc->n, cc->h, cc->w, cc->ic, cc->oc, cc->k, cc->stride, cc->dilation, cc->ic);
    CHECK_MSG(ratq_conv2d_params_check(&p, cc->name) == 0 && ratq_dwconv2d_params_check(&p, cc->name) == 0, "%s",
              cc->name);
    const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
    const size_t nw = (size_t)p.kh * p.kw * p.oc;
    float *x = frand(nx, 0.0, 6.0), *w = frand(nw, -0.5, 0.5), *dy = frand(ny, -1e-3, 1e-3);
    float *dx = falloc(nx), *dw = falloc(nw), *dw_ref = falloc(nw), *dx_e = falloc(nx), *dw_e = falloc(nw);
    CHECK_MSG(ratq_dwconv2d_bwd_cpu(&p, x, w, dy, dx, dw, NULL) == 0, "%s", cc->name);
    CHECK_MSG(ratq_dwconv2d_bwd_ref(&p, x, w, dy, NULL, dw_ref, NULL) == 0, "%s", cc->name);
    for (size_t i = 0; i < nx; i++) dx_e[i] = ratq_dwconv2d_dx_elem(&p, w, dy, (int64_t)i);
    for (int ky = 0; ky < p.kh; ky++)
        for (int kx = 0; kx < p.kw; kx++)
            for (int o = 0; o < p.oc; o++) {
                double s = 0.0;
                for (int n = 0; n < p.n; n++)
                    for (int oy = 0; oy < p.oh; oy++) {
                        const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                        if (iy < 0 || iy >= p.h) continue;
                        s += (double)ratq_dwconv2d_dw_rowsum(&p, x, dy, o, n, oy, iy, kx);
                    }
                dw_e[((size_t)ky * p.kw + kx) * p.oc + o] = (float)s;
            }
    char what[128];
    snprintf(what, sizeof what, "%s dx", cc->name);
    check_bits(what, dx_e, dx, nx);
    // The CPU twin adds the same float row sums in double in another grouping (threads): last-bit differences.
    snprintf(what, sizeof what, "%s dw vs cpu", cc->name);
    check_rel_l2(what, dw_e, dw, nw, 1e-7);
    // vs the double reference: float row sums of <= OW terms, rel. error ~ 2^-24 sqrt(OW).
    snprintf(what, sizeof what, "%s dw vs ref", cc->name);
    check_rel_l2(what, dw_e, dw_ref, nw, 1e-5);
    free(x), free(w), free(dy), free(dx), free(dw), free(dw_ref), free(dx_e), free(dw_e);
}

// The non-pointwise path of ratq_conv2d_bwd_cuda replayed on the host: same GEMM calls, element functions for
// im2col / col2im, one chunk (these shapes fit the 2^22-float cap, as on the CPU).
static void test_conv(const conv_case *cc) {
    const ratq_conv2d_params p =
        ratq_conv2d_params_same(cc->n, cc->h, cc->w, cc->ic, cc->oc, cc->k, cc->stride, cc->dilation, cc->groups);
    CHECK_MSG(ratq_conv2d_params_check(&p, cc->name) == 0, "%s", cc->name);
    const int G = p.groups, icg = p.ic / G, ocg = p.oc / G, kk = p.kh * p.kw;
    const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
    const size_t nw = (size_t)p.oc * kk * icg, ncol = (size_t)p.n * p.oh * p.ow * kk * icg;
    CHECK_MSG(ratq_conv2d_workspace_floats(&p) == ncol, "%s: one chunk expected (%zu vs %zu floats)", cc->name,
              ratq_conv2d_workspace_floats(&p), ncol);
    float *x = frand(nx, -1.0, 1.0), *w = frand(nw, -0.5, 0.5), *dy = frand(ny, -1.0, 1.0);
    float *dx = falloc(nx), *dw = falloc(nw), *dx_e = falloc(nx), *dw_e = falloc(nw), *col = falloc(ncol);
    CHECK_MSG(ratq_conv2d_bwd_cpu(&p, x, w, dy, dx, dw, NULL, NULL) == 0, "%s", cc->name);
    const int rows = p.n * p.oh * p.ow;
    for (int g = 0; g < G; g++) {
        for (size_t i = 0; i < ncol; i++) col[i] = ratq_im2col_elem(&p, x, 0, g, (int64_t)i);
        ratq_sgemm_cpu(1, 0, ocg, kk * icg, rows, 1.0f, dy + (size_t)g * ocg, p.oc, col, kk * icg, 0.0f,
                       dw_e + (size_t)g * ocg * kk * icg, kk * icg);
        ratq_sgemm_cpu(0, 0, rows, kk * icg, ocg, 1.0f, dy + (size_t)g * ocg, p.oc, w + (size_t)g * ocg * kk * icg,
                       kk * icg, 0.0f, col, kk * icg);
        const int64_t ndx = (int64_t)p.n * p.h * p.w * icg;
        for (int64_t i = 0; i < ndx; i++)
            dx_e[(i / icg) * p.ic + (int64_t)g * icg + i % icg] = ratq_col2im_elem(&p, col, i);
    }
    char what[128];
    snprintf(what, sizeof what, "%s dx", cc->name);
    check_bits(what, dx_e, dx, nx);
    snprintf(what, sizeof what, "%s dw", cc->name);
    check_bits(what, dw_e, dw, nw);
    free(x), free(w), free(dy), free(dx), free(dw), free(dx_e), free(dw_e), free(col);
}

// ---------------------------------------------------------------------------------------------
// Column-major GEMM by the BLAS definition: C(i,j) = alpha * sum_l opA(i,l) opB(l,j) + beta * C(i,j),
// element (i,l) of a column-major matrix at a[i + l*lda]; the double accumulation and final rounding of
// ratq_sgemm_ref, so the two agree bit for bit when the argument mapping is right.
static void colmajor_gemm_ref(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                              const float *b, int ldb, float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int l = 0; l < k; l++) {
                const float av = ta ? a[l + (size_t)i * lda] : a[i + (size_t)l * lda];
                const float bv = tb ? b[j + (size_t)l * ldb] : b[l + (size_t)j * ldb];
                acc += (double)av * (double)bv;
            }
            const float r = alpha * (float)acc;
            c[i + (size_t)j * ldc] = beta == 0.0f ? r : r + beta * c[i + (size_t)j * ldc];
        }
}

static void test_gemm_mapping(void) {
    const int m = 7, n = 5, k = 9;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                const float alpha = 1.5f, beta = bi ? 0.25f : 0.0f;
                // row-major: A is [m][lda] (or [k][lda] transposed), B is [k][ldb] (or [n][ldb]); padded ld
                const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
                const int arows = ta ? k : m, brows = tb ? n : k;
                float *a = frand((size_t)arows * lda, -1, 1), *b = frand((size_t)brows * ldb, -1, 1);
                float *c0 = frand((size_t)m * ldc, -1, 1), *c1 = falloc((size_t)m * ldc);
                memcpy(c1, c0, sizeof(float) * m * ldc);
                ratq_sgemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
                const ratq_colmajor_gemm g = ratq_gemm_rowmajor_as_colmajor(ta, tb, m, n, k, a, lda, b, ldb, ldc);
                colmajor_gemm_ref(g.transa, g.transb, g.m, g.n, g.k, alpha, g.a, g.lda, g.b, g.ldb, beta, c1, g.ldc);
                char what[64];
                snprintf(what, sizeof what, "gemm mapping ta=%d tb=%d beta=%g", ta, tb, beta);
                check_bits(what, c1, c0, (size_t)m * ldc);
                free(a), free(b), free(c0), free(c1);
            }
}

static void test_gap(void) {
    const ratq_pool_params p = {3, 7, 5, 19};
    const size_t nx = (size_t)p.n * p.h * p.w * p.c;
    float *dy = frand((size_t)p.n * p.c, -1, 1), *dx = falloc(nx), *dx_e = falloc(nx);
    ratq_global_avgpool_bwd_cpu(&p, dy, dx);
    const float inv = ratq_gap_bwd_inv(&p);
    for (size_t i = 0; i < nx; i++) dx_e[i] = ratq_gap_bwd_elem(&p, dy, inv, (int64_t)i);
    check_bits("gap bwd 3x7x5x19", dx_e, dx, nx);
    free(dy), free(dx), free(dx_e);
}

static void test_xent(void) {
    const float smooth[] = {0.0f, 0.1f};
    for (int e = 0; e < 2; e++) {
        const ratq_xent_params p = {6, 1000, smooth[e]};
        const size_t nz = (size_t)p.n * p.classes;
        float *z = frand(nz, -8, 8), *dl = falloc(nz), *dl_e = falloc(nz);
        int32_t labels[6];
        for (int i = 0; i < p.n; i++) labels[i] = (int32_t)(ratq_test_rng(&g_st) % (uint64_t)p.classes);
        z[5] = 40.0f; // a dominant logit (p ~ 1)
        const double loss = ratq_softmax_xent_ref(&p, z, labels, dl);
        double loss_e = 0.0;
        for (int i = 0; i < p.n; i++) {
            const float *zr = z + (size_t)i * p.classes;
            double mx = zr[0];
            for (int k = 1; k < p.classes; k++) mx = zr[k] > mx ? (double)zr[k] : mx;
            double se = 0.0, sz = 0.0;
            for (int k = 0; k < p.classes; k++) se += exp((double)zr[k] - mx), sz += zr[k];
            const double lse = mx + log(se);
            for (int k = 0; k < p.classes; k++)
                dl_e[(size_t)i * p.classes + k] =
                    ratq_xent_dlogit(zr[k], lse, k == labels[i], p.label_smoothing, p.classes, p.n);
            loss_e += ratq_xent_row_loss(lse, zr[labels[i]], sz, p.label_smoothing, p.classes);
        }
        loss_e /= p.n;
        check_bits(e ? "xent dlogits eps 0.1" : "xent dlogits eps 0", dl_e, dl, nz);
        CHECK_MSG(loss_e == loss, "xent loss %.17g want %.17g (eps %g)", loss_e, loss, p.label_smoothing);
        free(z), free(dl), free(dl_e);
    }
}

static void test_optim(void) {
    const size_t n = 4099;
    const ratq_sgd_params sgds[] = {
        {0.1f, 0.0f, 0.0f, 0.0f, 0, 0},    // plain
        {0.05f, 0.9f, 0.0f, 1e-4f, 0, 0},  // momentum + weight decay
        {0.05f, 0.9f, 0.0f, 4e-5f, 1, 0},  // Nesterov
        {0.02f, 0.8f, 0.1f, 0.0f, 0, 0},   // dampening
    };
    for (int s = 0; s < 4; s++) {
        float *p0 = frand(n, -1, 1), *p1 = falloc(n), *b0 = frand(n, -1, 1), *b1 = falloc(n);
        memcpy(p1, p0, sizeof(float) * n), memcpy(b1, b0, sizeof(float) * n);
        for (int64_t step = 0; step < 3; step++) {
            float *grad = frand(n, -0.1, 0.1);
            ratq_sgd_params sp = sgds[s];
            sp.step = step;
            ratq_sgd_step_cpu(&sp, n, p0, grad, sp.momentum != 0.0f ? b0 : NULL);
            for (size_t i = 0; i < n; i++) {
                float dummy = 0.0f;
                ratq_sgd_elem(&sp, &p1[i], grad[i], sp.momentum != 0.0f ? &b1[i] : &dummy);
            }
            free(grad);
        }
        char what[64];
        snprintf(what, sizeof what, "sgd set %d param", s);
        check_bits(what, p1, p0, n);
        snprintf(what, sizeof what, "sgd set %d momentum", s);
        check_bits(what, b1, b0, n);
        free(p0), free(p1), free(b0), free(b1);
    }
    // The third set has a large lr * weight_decay, so that the decay factor has bits to lose.
    const ratq_adamw_params ads[] = {
        {1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 1},
        {3e-4f, 0.8f, 0.99f, 1e-6f, 0.0f, 1},
        {0.05f, 0.9f, 0.999f, 1e-8f, 0.37f, 1},
    };
    for (int s = 0; s < 3; s++) {
        float *p0 = frand(n, -1, 1), *p1 = falloc(n), *m0 = falloc(n), *m1 = falloc(n);
        float *v0 = falloc(n), *v1 = falloc(n);
        memcpy(p1, p0, sizeof(float) * n);
        memset(m0, 0, sizeof(float) * n), memset(m1, 0, sizeof(float) * n);
        memset(v0, 0, sizeof(float) * n), memset(v1, 0, sizeof(float) * n);
        for (int64_t t = 1; t <= 4; t++) {
            float *grad = frand(n, -0.1, 0.1);
            grad[0] = 0.0f; // v stays 0 on the first step: denominator eps only
            ratq_adamw_params ap = ads[s];
            ap.step = t;
            ratq_adamw_step_cpu(&ap, n, p0, grad, m0, v0);
            const ratq_adamw_consts k = ratq_adamw_prepare(&ap);
            for (size_t i = 0; i < n; i++) ratq_adamw_elem(&ap, &k, &p1[i], grad[i], &m1[i], &v1[i]);
            free(grad);
        }
        char what[64];
        snprintf(what, sizeof what, "adamw set %d param", s);
        check_bits(what, p1, p0, n);
        snprintf(what, sizeof what, "adamw set %d m", s);
        check_bits(what, m1, m0, n);
        snprintf(what, sizeof what, "adamw set %d v", s);
        check_bits(what, v1, v0, n);
        free(p0), free(p1), free(m0), free(m1), free(v0), free(v1);
    }
}

int main(void) {
    test_ste();
    test_tap_src();
    static const conv_case dws[] = {
        {"dw3 s1 2x20x20x24", 2, 20, 20, 24, 24, 3, 1, 1, 0},
        {"dw5 s2 2x21x19x40", 2, 21, 19, 40, 40, 5, 2, 1, 0},
        {"dw3 s2 d2 dm2 1x15x13x6", 1, 15, 13, 6, 12, 3, 2, 2, 0},
        {"dw5 s1 1x7x7x33", 1, 7, 7, 33, 33, 5, 1, 1, 0},
    };
    for (int i = 0; i < 4; i++) test_dwconv(&dws[i]);
    static const conv_case convs[] = {
        {"stem 3x3 s2 2x32x32x3->16", 2, 32, 32, 3, 16, 3, 2, 1, 1},
        {"conv 3x3 g2 d2 2x11x9x8->12", 2, 11, 9, 8, 12, 3, 1, 2, 2},
        {"conv 1x1 s2 2x13x13x16->24", 2, 13, 13, 16, 24, 1, 2, 1, 1},
        {"conv 5x5 s1 1x9x10x5->7", 1, 9, 10, 5, 7, 5, 1, 1, 1},
    };
    for (int i = 0; i < 4; i++) test_conv(&convs[i]);
    test_gemm_mapping();
    test_gap();
    test_xent();
    test_optim();
    return ratq_test_finish("test_cuda_ste_host");
}
