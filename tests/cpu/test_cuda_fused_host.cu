// test_cuda_fused_host.cu — the element functions of the fused STE backward (kernels/cuda/fused_elem.h) and of the
// float teacher's forward (kernels/cuda/float_fwd_elem.h) run on the HOST (label cpu: compiled by nvcc, launches no
// kernel, needs no GPU), against the unfused CPU sequence of host/quant/fake.c ratq_qnet_backward:
//   g = ratq_ste_grad(dy, mask, r) (train_elem.h, the CPU loop), x_r = S (q - z), then ratq_*_bwd_cpu, then
//   d_src = 0 (memset) + dx.
//   depthwise dx    ratq_fe_dw_dx (STE and nothing else on the fly) == ratq_dwconv2d_bwd_cpu(x_r, w, g) dx, bit for
//                   bit, for 3x3 / 5x5, strides 1 / 2, dilation, depth multiplier 2; then ratq_fe_accum with first = 1
//                   == memset + accumulate, and with first = 0 == accumulate, bit for bit.
//   depthwise dw    ratq_fe_dw_rowsum (STE and dequantization on the fly) == ratq_dwconv2d_dw_rowsum(x_r, g) per row
//                   and tap, bit for bit; ratq_fe_dw_row_taps<3,3> / <5,5> (all taps in one pass, the kernel's body)
//                   == those per-tap row sums added in double, bit for bit, and its db row sums == the double sum of
//                   g; the assembled dw and db agree with ratq_dwconv2d_bwd_cpu to 1e-7 relative L2 (row sums added
//                   in another grouping).
//   im2col          S_x * ratq_fe_im2col_s8 (centered integers, padding 0) == ratq_im2col_elem on x_r, bit for bit.
//   dW with alpha   S_x * (g^T (q - z)) vs g^T x_r (the CPU's operand order), ratq_sgemm_cpu both: 1e-6 relative L2
//                   (one rounding moves from the operand to the result).
//   accumulation    ratq_fe_accum(d, v, 1) == 0.0f + v (so -0 becomes +0 as after the CPU's memset), (d, v, 0) == d + v.
//   float forward   ratq_ff_dw_elem == ratq_dwconv2d_fwd_cpu, ratq_ff_gap_elem == ratq_global_avgpool_fwd_cpu,
//                   ratq_ff_relu6 == ratq_relu6_fwd_cpu (NaN, +-0, +-Inf included), ratq_ff_input == (u8-127)/128 for
//                   all 256 values: bit for bit.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/float_ops.h"
#include "cuda/float_fwd_elem.h"
#include "cuda/fused_elem.h"
#include "cuda/train_elem.h"
#include "test_util.h"

static uint64_t g_st = 0xF05EDull;

static float *frand(size_t n, double lo, double hi) { return ratq_test_frand(&g_st, n, lo, hi); }
static float *falloc(size_t n) { // zeroed: every test writes all of it, but then no compiler doubts it
    float *p = ratq_test_falloc(n);
    memset(p, 0, sizeof(float) * n);
    return p;
}
static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void check_bits(const char *what, const float *got, const float *want, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (fbits(got[i]) != fbits(want[i]) && bad++ < 5)
            fprintf(stderr, "  %s[%zu]: got %.9g want %.9g\n", what, i, got[i], want[i]);
    CHECK_MSG(bad == 0, "%s: %zu of %zu elements differ in their bits", what, bad, n);
}

static void check_rel_l2(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    const double rel = den > 0.0 ? sqrt(num / den) : sqrt(num);
    printf("  %-44s rel L2 %.3g\n", what, rel);
    CHECK_MSG(rel <= tol && rel == rel, "%s: relative L2 %.3g > %.3g", what, rel, tol);
}

// int8 activations with their quantization, an STE mask (~80% pass), ratios near 1.
typedef struct {
    int8_t *q;
    float s;
    int32_t z;
} qtensor;

static qtensor qrand(size_t n) {
    qtensor t;
    t.q = (int8_t *)malloc(n);
    for (size_t i = 0; i < n; i++) t.q[i] = (int8_t)ratq_test_range(&g_st, -128, 127);
    t.s = (float)(0.01 + 0.05 * ratq_test_unit(&g_st));
    t.z = (int32_t)ratq_test_range(&g_st, -128, 20);
    return t;
}
static uint8_t *mrand(size_t n) {
    uint8_t *m = (uint8_t *)malloc(n);
    for (size_t i = 0; i < n; i++) m[i] = (uint8_t)(ratq_test_rng(&g_st) % 5 != 0);
    return m;
}
static float *dequant(const qtensor *t, size_t n) {
    float *x = falloc(n);
    for (size_t i = 0; i < n; i++) x[i] = t->s * (float)(t->q[i] - t->z); // host/quant/fake.c dequant
    return x;
}

typedef struct {
    const char *name;
    int n, h, w, ic, oc, k, stride, dilation;
} dw_case;

template <int K>
static void row_taps(const ratq_conv2d_params *p, const int8_t *x, float sx, int32_t zx, const float *dy,
                     const uint8_t *mask, float r, int o, int n, int oy, double *s) {
    ratq_fe_dw_row_taps<K, K>(p, x, sx, zx, dy, mask, r, o, n, oy, s);
}

static void test_dw(const dw_case *c) {
    const ratq_conv2d_params p = ratq_conv2d_params_same(c->n, c->h, c->w, c->ic, c->oc, c->k, c->stride, c->dilation, c->ic);
    CHECK_MSG(ratq_dwconv2d_params_check(&p, c->name) == 0, "%s", c->name);
    const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
    const size_t kk = (size_t)p.kh * p.kw, nw = kk * p.oc;
    qtensor xq = qrand(nx);
    float *xr = dequant(&xq, nx), *w = frand(nw, -0.5, 0.5), *dy = frand(ny, -1e-2, 1e-2), *ratio = frand(p.oc, 0.9, 1.1);
    uint8_t *mask = mrand(ny);
    float *g = falloc(ny);
    ratq_ste_grad_ref((int64_t)ny, p.oc, dy, mask, ratio, g); // the CPU's STE pass
    float *dx = falloc(nx), *dw = falloc(nw), *db = falloc(p.oc);
    CHECK_MSG(ratq_dwconv2d_bwd_cpu(&p, xr, w, g, dx, dw, db) == 0, "%s: cpu", c->name);
    // dx, and its accumulation into a producer gradient
    float *dx_f = falloc(nx), *prev = frand(nx, -1, 1), *acc_cpu = falloc(nx), *acc_f = falloc(nx);
    for (size_t i = 0; i < nx; i++) dx_f[i] = ratq_fe_dw_dx(&p, w, dy, mask, ratio, (int64_t)i);
    char what[128];
    snprintf(what, sizeof what, "%s dx", c->name);
    check_bits(what, dx_f, dx, nx);
    memset(acc_cpu, 0, sizeof(float) * nx);
    ratq_accumulate_cpu(nx, acc_cpu, dx);
    for (size_t i = 0; i < nx; i++) acc_f[i] = ratq_fe_accum(prev[i] /* garbage: ignored */, dx_f[i], 1);
    snprintf(what, sizeof what, "%s dx first contribution", c->name);
    check_bits(what, acc_f, acc_cpu, nx);
    memcpy(acc_cpu, prev, sizeof(float) * nx);
    ratq_accumulate_cpu(nx, acc_cpu, dx);
    for (size_t i = 0; i < nx; i++) acc_f[i] = ratq_fe_accum(prev[i], dx_f[i], 0);
    snprintf(what, sizeof what, "%s dx later contribution", c->name);
    check_bits(what, acc_f, acc_cpu, nx);
    // dw: per (row, tap) float row sums, fused vs unfused; all taps at once vs per tap; db
    double *s_tap = (double *)calloc(nw, sizeof(double)), *s_all = (double *)calloc((kk + 1) * p.oc, sizeof(double));
    long bad_row = 0;
    for (int o = 0; o < p.oc; o++)
        for (int n = 0; n < p.n; n++)
            for (int oy = 0; oy < p.oh; oy++) {
                for (int ky = 0; ky < p.kh; ky++) {
                    const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                    if (iy < 0 || iy >= p.h) continue;
                    for (int kx = 0; kx < p.kw; kx++) {
                        const float a = ratq_fe_dw_rowsum(&p, xq.q, xq.s, xq.z, dy, mask, ratio[o], o, n, oy, iy, kx);
                        const float b = ratq_dwconv2d_dw_rowsum(&p, xr, g, o, n, oy, iy, kx);
                        bad_row += fbits(a) != fbits(b);
                        s_tap[((size_t)ky * p.kw + kx) * p.oc + o] += (double)a;
                    }
                }
                double s[26] = {0};
                if (p.kh == 3) row_taps<3>(&p, xq.q, xq.s, xq.z, dy, mask, ratio[o], o, n, oy, s);
                else row_taps<5>(&p, xq.q, xq.s, xq.z, dy, mask, ratio[o], o, n, oy, s);
                for (size_t t = 0; t <= kk; t++) s_all[t * p.oc + o] += s[t];
            }
    CHECK_MSG(bad_row == 0, "%s: %ld fused dw row sums differ from the unfused ones", c->name, bad_row);
    long bad_taps = 0;
    for (size_t j = 0; j < nw; j++) bad_taps += s_all[j] != s_tap[j];
    CHECK_MSG(bad_taps == 0, "%s: %ld all-taps sums differ from the per-tap sums", c->name, bad_taps);
    float *dw_f = falloc(nw), *db_f = falloc(p.oc);
    for (size_t j = 0; j < nw; j++) dw_f[j] = (float)s_all[j];
    for (int o = 0; o < p.oc; o++) db_f[o] = (float)s_all[kk * p.oc + o];
    snprintf(what, sizeof what, "%s dw vs cpu", c->name);
    check_rel_l2(what, dw_f, dw, nw, 1e-7);
    snprintf(what, sizeof what, "%s db vs cpu", c->name);
    check_rel_l2(what, db_f, db, p.oc, 1e-7);
    free(xq.q), free(xr), free(w), free(dy), free(ratio), free(mask), free(g), free(dx), free(dw), free(db);
    free(dx_f), free(prev), free(acc_cpu), free(acc_f), free(s_tap), free(s_all), free(dw_f), free(db_f);
}

// im2col of the centered int8 input, and dW with S as alpha.
static void test_conv_operands(void) {
    const ratq_conv2d_params p = ratq_conv2d_params_same(2, 11, 9, 8, 12, 3, 2, 1, 2); // grouped, strided, padded
    const int G = p.groups, icg = p.ic / G, kk = p.kh * p.kw;
    const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ncol = (size_t)p.n * p.oh * p.ow * kk * icg;
    qtensor xq = qrand(nx);
    float *xr = dequant(&xq, nx), *a = falloc(ncol), *b = falloc(ncol);
    for (int g = 0; g < G; g++) {
        for (size_t i = 0; i < ncol; i++) {
            a[i] = xq.s * ratq_fe_im2col_s8(&p, xq.q, xq.z, 0, g, (int64_t)i);
            b[i] = ratq_im2col_elem(&p, xr, 0, g, (int64_t)i);
        }
        check_bits(g ? "im2col s8 group 1" : "im2col s8 group 0", a, b, ncol);
    }
    // pointwise dW: rows x ic input, rows x oc gradient
    const int rows = 3 * 17 * 5, ic = 40, oc = 24;
    qtensor x1 = qrand((size_t)rows * ic);
    float *x1r = dequant(&x1, (size_t)rows * ic), *xc = falloc((size_t)rows * ic), *gr = frand((size_t)rows * oc, -1, 1);
    for (size_t i = 0; i < (size_t)rows * ic; i++) xc[i] = ratq_fe_centered(x1.q[i], x1.z);
    float *dw_cpu = falloc((size_t)oc * ic), *dw_alpha = falloc((size_t)oc * ic);
    ratq_sgemm_cpu(1, 0, oc, ic, rows, 1.0f, gr, oc, x1r, ic, 0.0f, dw_cpu, ic);
    ratq_sgemm_cpu(1, 0, oc, ic, rows, x1.s, gr, oc, xc, ic, 0.0f, dw_alpha, ic);
    check_rel_l2("dW = S (g^T (q - z)) vs g^T x_r", dw_alpha, dw_cpu, (size_t)oc * ic, 1e-6);
    long inexact = 0; // the centered operand is an integer of magnitude <= 255: exact in TF32 / bf16 too
    for (size_t i = 0; i < (size_t)rows * ic; i++) inexact += !(fabsf(xc[i]) <= 255.0f && xc[i] == floorf(xc[i]));
    CHECK_MSG(inexact == 0, "%ld centered operands are not integers in [-255, 255]", inexact);
    free(xq.q), free(xr), free(a), free(b), free(x1.q), free(x1r), free(xc), free(gr), free(dw_cpu), free(dw_alpha);
}

static void test_accum(void) {
    const float vals[] = {0.0f, -0.0f, 1.5f, -2.25f, INFINITY, 1e-45f};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            const float d = vals[i], v = vals[j];
            CHECK_MSG(fbits(ratq_fe_accum(d, v, 1)) == fbits(0.0f + v), "accum first (%g, %g)", d, v);
            CHECK_MSG(fbits(ratq_fe_accum(d, v, 0)) == fbits(d + v), "accum (%g, %g)", d, v);
        }
    CHECK_MSG(fbits(ratq_fe_accum(NAN, -0.0f, 1)) == fbits(0.0f), "first contribution -0 must give +0");
}

static void test_float_forward(void) {
    for (int u = 0; u < 256; u++)
        CHECK_MSG(fbits(ratq_ff_input((uint8_t)u)) == fbits((float)(u - 127) / 128.0f), "input %d", u);
    const float sp[] = {NAN, 0.0f, -0.0f, INFINITY, -INFINITY, 6.0f, 6.0000005f, -1e-45f, 3.25f};
    float y[9];
    ratq_relu6_fwd_cpu(9, sp, y);
    for (int i = 0; i < 9; i++) CHECK_MSG(fbits(ratq_ff_relu6(sp[i])) == fbits(y[i]), "relu6(%g)", sp[i]);
    const dw_case cs[] = {{"fwd dw3 s2 dm2", 2, 13, 11, 6, 12, 3, 2, 1}, {"fwd dw5 s1 d2", 1, 9, 10, 16, 16, 5, 1, 2}};
    for (int c = 0; c < 2; c++) {
        const ratq_conv2d_params p =
            ratq_conv2d_params_same(cs[c].n, cs[c].h, cs[c].w, cs[c].ic, cs[c].oc, cs[c].k, cs[c].stride, cs[c].dilation, cs[c].ic);
        const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
        float *x = frand(nx, -1, 1), *w = frand((size_t)p.kh * p.kw * p.oc, -1, 1), *b = frand(p.oc, -1, 1);
        float *ycpu = falloc(ny), *ye = falloc(ny);
        for (int withb = 0; withb < 2; withb++) {
            CHECK_MSG(ratq_dwconv2d_fwd_cpu(&p, x, w, withb ? b : NULL, ycpu) == 0, "%s", cs[c].name);
            for (size_t i = 0; i < ny; i++) ye[i] = ratq_ff_dw_elem(&p, x, w, withb ? b : NULL, (int64_t)i);
            check_bits(cs[c].name, ye, ycpu, ny);
        }
        free(x), free(w), free(b), free(ycpu), free(ye);
    }
    const ratq_pool_params pp = {3, 7, 7, 37};
    float *x = frand((size_t)pp.n * pp.h * pp.w * pp.c, -3, 3), *yc = falloc((size_t)pp.n * pp.c), *ye = falloc((size_t)pp.n * pp.c);
    ratq_global_avgpool_fwd_cpu(&pp, x, yc);
    for (int64_t i = 0; i < (int64_t)pp.n * pp.c; i++) ye[i] = ratq_ff_gap_elem(&pp, x, i);
    check_bits("fwd global avgpool 3x7x7x37", ye, yc, (size_t)pp.n * pp.c);
    free(x), free(yc), free(ye);
}

int main(void) {
    static const dw_case dws[] = {
        {"dw3 s1 2x20x20x24", 2, 20, 20, 24, 24, 3, 1, 1},
        {"dw5 s2 2x21x19x40", 2, 21, 19, 40, 40, 5, 2, 1},
        {"dw3 s2 d2 dm2 1x15x13x6", 1, 15, 13, 6, 12, 3, 2, 2},
        {"dw5 s1 1x7x7x33", 1, 7, 7, 33, 33, 5, 1, 1},
    };
    for (int i = 0; i < 4; i++) test_dw(&dws[i]);
    test_conv_operands();
    test_accum();
    test_float_forward();
    return ratq_test_finish("test_cuda_fused_host");
}
