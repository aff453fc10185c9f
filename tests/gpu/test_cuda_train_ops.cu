// test_cuda_train_ops.cu — every CUDA training op (kernels/cuda/train_ops_cuda.h) against its CPU twin
// (host/quant/fake.c's STE loop, kernels/cpu/float_ops.h) on fresh random inputs of EfficientNet-Lite0 shapes,
// and every op rerun once more: the rerun must be BIT-IDENTICAL to the first run (determinism).
//
// Tolerances (|d| = |gpu - cpu|):
//   exact (bit for bit)  STE prologue and global-average-pool backward: one IEEE multiply per element, the same
//                        operands on both sides.
//   relative L2 <= 1e-5  every other float gradient (conv / depthwise / linear dx, dw, db; sgemm):
//                        ||gpu - cpu||_2 <= 1e-5 ||cpu||_2. GEMMs (cuBLAS vs OpenBLAS) accumulate K float products
//                        in different orders; a K-term float sum of random-sign terms has a relative error of
//                        about 2^-24 sqrt(K) (measured on the CPU: sequential float vs double, K = 6272: 1.5e-6),
//                        so two implementations differ by a few 1e-6 at the largest K here (12544, the stem dW);
//                        an indexing bug moves results by O(1). Depthwise dx, im2col / col2im and the element
//                        functions are expected bit-identical (their counts of differing elements are printed).
//   xent                 loss: |d| <= 1e-12 |loss| (double sums in another order, device exp / log within 1 ulp);
//                        dlogits: |d| <= 1e-6 |ref| + 1e-12 per element (a float result of a double expression
//                        that agrees to ~1e-15; the atol covers p_k - q_k cancelling to ~0).
//   SGD / AdamW          |d| <= 1e-6 |ref| + 1e-12 per element for params and optimizer state after several steps
//                        (the same IEEE operations in the same order: expected bit-identical).
// Every GPU output buffer is filled with NaN bytes before each run, so an element that a kernel fails to write
// fails the comparison. Exit 77 (skipped) without a CUDA device. Seed: RATQ_TEST_SEED (default 1), printed;
// RATQ_TEST_CASE=<substring> runs only the matching cases.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/float_ops.h"
#include "cuda/cuda_check.h"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"
#include "test_util.h"

#define TOL_REL_L2 1e-5
#define TOL_OPT_RTOL 1e-6
#define TOL_OPT_ATOL 1e-12

static uint64_t g_st;
static cudaStream_t g_stream;

// ---------------------------------------------------------------------------------------------
// host / device buffers
// ---------------------------------------------------------------------------------------------
static float *falloc(size_t n) { return ratq_test_falloc(n); }                          // test_util.h
static float *frand(size_t n, double lo, double hi) { return ratq_test_frand(&g_st, n, lo, hi); }
// Upstream gradients as the STE produces them: uniform in [-a, a), about 10% exact zeros (clipped elements).
static float *frand_grad(size_t n, double a) {
    float *p = frand(n, -a, a);
    for (size_t i = 0; i < n; i++)
        if (ratq_test_rng(&g_st) % 10 == 0) p[i] = 0.0f;
    return p;
}
static void *dmalloc(size_t bytes) {
    void *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}
// Every copy and memset goes through g_stream (a non-blocking stream does not wait for the legacy default
// stream, so cudaMemcpy / cudaMemset there could race with the kernels under test).
static void up(void *d, const void *h, size_t bytes) {
    CUDA_CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, g_stream));
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
}
static float *dup(const float *h, size_t n) {
    float *d = (float *)dmalloc(sizeof(float) * n);
    up(d, h, sizeof(float) * n);
    return d;
}
static float *dnan(size_t n) { // device buffer of NaN (0xFFFFFFFF) floats
    float *d = (float *)dmalloc(sizeof(float) * n);
    CUDA_CHECK(cudaMemsetAsync(d, 0xFF, sizeof(float) * n, g_stream));
    return d;
}
static void refill_nan(float *d, size_t n) {
    if (d) CUDA_CHECK(cudaMemsetAsync(d, 0xFF, sizeof(float) * n, g_stream));
}
static void down_bytes(void *h, const void *d, size_t bytes) { // waits: execution errors surface here
    CUDA_CHECK(cudaMemcpyAsync(h, d, bytes, cudaMemcpyDeviceToHost, g_stream));
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
}
static void down(float *h, const float *d, size_t n) { down_bytes(h, d, sizeof(float) * n); }
static void dfree(void *d) {
    if (d) CUDA_CHECK(cudaFree(d));
}

// ---------------------------------------------------------------------------------------------
// comparisons (each is one check; failures print the first mismatches and the max difference)
// ---------------------------------------------------------------------------------------------
static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static size_t count_bit_diffs(const float *a, const float *b, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += fbits(a[i]) != fbits(b[i]);
    return k;
}
static void print_first_diffs(const char *what, const float *got, const float *want, size_t n) {
    int shown = 0;
    double maxd = 0.0;
    size_t imax = 0;
    for (size_t i = 0; i < n; i++) {
        if (fbits(got[i]) == fbits(want[i])) continue;
        const double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= maxd)) maxd = d, imax = i;
        if (shown++ < 5) fprintf(stderr, "    %s[%zu]: gpu %.9g cpu %.9g\n", what, i, got[i], want[i]);
    }
    if (shown) fprintf(stderr, "    %s: max |d| = %.3g at %zu\n", what, maxd, imax);
}

static void check_exact(const char *cs, const char *what, const float *gpu, const float *cpu, size_t n) {
    const size_t bad = count_bit_diffs(gpu, cpu, n);
    printf("    %-34s exact: %zu of %zu differ\n", what, bad, n);
    if (bad) print_first_diffs(what, gpu, cpu, n);
    CHECK_MSG(bad == 0, "[%s] %s: %zu of %zu elements differ (exact match required)", cs, what, bad, n);
}

static void check_l2(const char *cs, const char *what, const float *gpu, const float *cpu, size_t n, double tol) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)gpu[i] - (double)cpu[i];
        num += d * d;
        den += (double)cpu[i] * cpu[i];
    }
    const double rel = den > 0.0 ? sqrt(num / den) : sqrt(num);
    printf("    %-34s rel L2 %.3g (%zu of %zu bits differ)\n", what, rel, count_bit_diffs(gpu, cpu, n), n);
    if (!(rel <= tol)) print_first_diffs(what, gpu, cpu, n);
    CHECK_MSG(rel <= tol, "[%s] %s: relative L2 %.3g > %.3g", cs, what, rel, tol);
}

static void check_close(const char *cs, const char *what, const float *gpu, const float *cpu, size_t n, double atol,
                        double rtol) {
    size_t bad = 0;
    double maxd = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)gpu[i] - (double)cpu[i]);
        if (!(d <= maxd)) maxd = d;
        if (!(d <= atol + rtol * fabs((double)cpu[i]))) {
            if (bad < 5) fprintf(stderr, "    %s[%zu]: gpu %.9g cpu %.9g\n", what, i, gpu[i], cpu[i]);
            bad++;
        }
    }
    printf("    %-34s max |d| %.3g (%zu of %zu bits differ)\n", what, maxd, count_bit_diffs(gpu, cpu, n), n);
    CHECK_MSG(bad == 0, "[%s] %s: %zu of %zu outside atol %g + rtol %g, max |d| %.3g", cs, what, bad, n, atol, rtol,
              maxd);
}

// Determinism: the rerun must reproduce the first run bit for bit.
static void check_rerun(const char *cs, const char *what, const float *run2, const float *run1, size_t n) {
    const size_t bad = count_bit_diffs(run2, run1, n);
    if (bad) print_first_diffs(what, run2, run1, n);
    CHECK_MSG(bad == 0, "[%s] %s: rerun differs in %zu of %zu elements (not deterministic)", cs, what, bad, n);
}

// ---------------------------------------------------------------------------------------------
// cases
// ---------------------------------------------------------------------------------------------
typedef enum { C_STE, C_SGEMM, C_CONV, C_DW, C_FC, C_GAP, C_XENT, C_SGD, C_ADAMW } case_kind;

typedef struct {
    const char *name;
    case_kind kind;
    int n, h, w, ic, oc;     // activations x[n][h][w][ic]; FC: in = ic, out = oc; GAP: c = ic; XENT: classes = oc
    int k, stride, dilation, groups;
    int flags;               // CONV: F_NO_DX (dx = NULL, a first layer), F_WS (caller workspace); XENT: eps tenths
} tcase;

#define F_NO_DX 1
#define F_WS 2

static const tcase CASES[] = {
    {"ste 2x56x56x96", C_STE, 2, 56, 56, 96, 96, 1, 1, 1, 1, 0},
    {"sgemm transposes", C_SGEMM, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    // Lite0 1x1 layers (cuBLAS on NHWC directly).
    {"pw 2x56x56x16->96", C_CONV, 2, 56, 56, 16, 96, 1, 1, 1, 1, 0},
    {"pw 2x7x7x320->1280", C_CONV, 2, 7, 7, 320, 1280, 1, 1, 1, 1, 0},
    // Stem 3x3 s2 224 -> 112 (first layer: no dx), im2col path.
    {"stem 1x224x224x3->32 s2", C_CONV, 1, 224, 224, 3, 32, 3, 2, 1, 1, F_NO_DX},
    // im2col generality: grouped + dilated, 1x1 stride 2, and two chunks of one image (beta = 1 accumulation) with a
    // caller workspace.
    {"conv 3x3 g2 d2 2x11x9x8->12", C_CONV, 2, 11, 9, 8, 12, 3, 1, 2, 2, 0},
    {"conv 1x1 s2 2x13x13x16->24", C_CONV, 2, 13, 13, 16, 24, 1, 2, 1, 1, 0},
    {"conv 3x3 2x56x56x96->24 chunked ws", C_CONV, 2, 56, 56, 96, 24, 3, 1, 1, 1, F_WS},
    // Depthwise 3x3 / 5x5, stride 1 / 2, SAME (Lite0 blocks), and an odd one with dm 2 and dilation 2.
    {"dw3 s2 2x112x112x96", C_DW, 2, 112, 112, 96, 96, 3, 2, 1, 0, 0},
    {"dw3 s1 2x56x56x144", C_DW, 2, 56, 56, 144, 144, 3, 1, 1, 0, 0},
    {"dw5 s2 2x56x56x144", C_DW, 2, 56, 56, 144, 144, 5, 2, 1, 0, 0},
    {"dw5 s1 2x14x14x480", C_DW, 2, 14, 14, 480, 480, 5, 1, 1, 0, 0},
    {"dw3 s2 d2 dm2 2x15x13x6", C_DW, 2, 15, 13, 6, 12, 3, 2, 2, 0, 0},
    // Classifier and pool.
    {"fc 8x1280->1000", C_FC, 8, 1, 1, 1280, 1000, 1, 1, 1, 1, 0},
    {"fc 5x37->10", C_FC, 5, 1, 1, 37, 10, 1, 1, 1, 1, 0},
    {"gap 4x7x7x1280", C_GAP, 4, 7, 7, 1280, 1280, 1, 1, 1, 1, 0},
    {"gap 3x5x3x19", C_GAP, 3, 5, 3, 19, 19, 1, 1, 1, 1, 0},
    // Loss: batch 8, 1000 classes, label smoothing 0.1 and 0.
    {"xent 8x1000 eps 0.1", C_XENT, 8, 1, 1, 1000, 1000, 1, 1, 1, 1, 1},
    {"xent 8x1000 eps 0", C_XENT, 8, 1, 1, 1000, 1000, 1, 1, 1, 1, 0},
    {"sgd", C_SGD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"adamw", C_ADAMW, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static void run_ste(const tcase *c) {
    const int channels = c->oc;
    const int64_t count = (int64_t)c->n * c->h * c->w * channels;
    float *dy = frand((size_t)count, -1e-2, 1e-2), *ratio = frand((size_t)channels, 0.8, 1.2);
    uint8_t *mask = (uint8_t *)malloc((size_t)count);
    for (int64_t i = 0; i < count; i++) mask[i] = (uint8_t)(ratq_test_rng(&g_st) % 10 == 0 ? 0 : 1);
    dy[0] = NAN, mask[0] = 0, dy[1] = INFINITY, mask[1] = 0, dy[2] = -0.0f, mask[2] = 1; // clipped NaN / Inf -> +0
    float *want = falloc((size_t)count), *got1 = falloc((size_t)count), *got2 = falloc((size_t)count);
    ratq_ste_grad_ref(count, channels, dy, mask, ratio, want);
    float *d_dy = dup(dy, (size_t)count), *d_ratio = dup(ratio, (size_t)channels), *d_g = dnan((size_t)count);
    uint8_t *d_mask = (uint8_t *)dmalloc((size_t)count);
    up(d_mask, mask, (size_t)count);
    ratq_ste_grad_cuda(count, channels, d_dy, d_mask, d_ratio, d_g, g_stream);
    down(got1, d_g, (size_t)count);
    check_exact(c->name, "g", got1, want, (size_t)count);
    refill_nan(d_g, (size_t)count);
    ratq_ste_grad_cuda(count, channels, d_dy, d_mask, d_ratio, d_g, g_stream);
    down(got2, d_g, (size_t)count);
    check_rerun(c->name, "g", got2, got1, (size_t)count);
    ratq_ste_grad_cuda(count, channels, d_dy, d_mask, d_ratio, d_dy, g_stream); // in place, as host/quant/fake.c
    down(got2, d_dy, (size_t)count);
    check_exact(c->name, "g in place", got2, want, (size_t)count);
    dfree(d_dy), dfree(d_ratio), dfree(d_g), dfree(d_mask);
    free(dy), free(ratio), free(mask), free(want), free(got1), free(got2);
}

// ratq_sgemm_cuda vs ratq_sgemm_ref: all four transpose cases, padded leading dimensions, beta 0 and 0.5.
static void run_sgemm(const tcase *c) {
    const int m = 67, n = 45, k = 129;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                const float alpha = 1.25f, beta = bi ? 0.5f : 0.0f;
                const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
                const size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb, nc = (size_t)m * ldc;
                float *a = frand(na, -1, 1), *b = frand(nb, -1, 1), *c0 = frand(nc, -1, 1);
                float *ref = falloc(nc), *got1 = falloc(nc), *got2 = falloc(nc);
                memcpy(ref, c0, sizeof(float) * nc);
                ratq_sgemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, ref, ldc);
                float *d_a = dup(a, na), *d_b = dup(b, nb), *d_c = dup(c0, nc);
                ratq_sgemm_cuda(ta, tb, m, n, k, alpha, d_a, lda, d_b, ldb, beta, d_c, ldc, g_stream);
                down(got1, d_c, nc);
                up(d_c, c0, sizeof(float) * nc);
                ratq_sgemm_cuda(ta, tb, m, n, k, alpha, d_a, lda, d_b, ldb, beta, d_c, ldc, g_stream);
                down(got2, d_c, nc);
                char what[64];
                snprintf(what, sizeof what, "C ta=%d tb=%d beta=%g", ta, tb, beta);
                check_l2(c->name, what, got1, ref, nc, TOL_REL_L2);
                check_rerun(c->name, what, got2, got1, nc);
                dfree(d_a), dfree(d_b), dfree(d_c);
                free(a), free(b), free(c0), free(ref), free(got1), free(got2);
            }
}

// Conv and depthwise: GPU twice (outputs NaN-filled before each run), CPU twin once.
static void run_conv_dw(const tcase *c) {
    const int dw_op = c->kind == C_DW;
    const ratq_conv2d_params p = ratq_conv2d_params_same(c->n, c->h, c->w, c->ic, c->oc, c->k, c->stride, c->dilation,
                                                         dw_op ? c->ic : c->groups);
    CHECK_MSG(ratq_conv2d_params_check(&p, c->name) == 0, "[%s] invalid params", c->name);
    if (dw_op) CHECK_MSG(ratq_dwconv2d_params_check(&p, c->name) == 0, "[%s] invalid depthwise params", c->name);
    const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
    const size_t nw = dw_op ? (size_t)p.kh * p.kw * p.oc : (size_t)p.oc * p.kh * p.kw * (p.ic / p.groups);
    const size_t nb = (size_t)p.oc;
    const int want_dx = !(c->flags & F_NO_DX);
    float *x = frand(nx, 0.0, 6.0), *w = frand(nw, -0.5, 0.5), *dy = frand_grad(ny, 1e-3);
    float *dx = falloc(nx), *dw = falloc(nw), *db = falloc(nb);
    int rc = dw_op ? ratq_dwconv2d_bwd_cpu(&p, x, w, dy, want_dx ? dx : NULL, dw, db)
                   : ratq_conv2d_bwd_cpu(&p, x, w, dy, want_dx ? dx : NULL, dw, db, NULL);
    CHECK_MSG(rc == 0, "[%s] cpu backward failed", c->name);
    float *d_x = dup(x, nx), *d_w = dup(w, nw), *d_dy = dup(dy, ny);
    float *d_dx = want_dx ? dnan(nx) : NULL, *d_dw = dnan(nw), *d_db = dnan(nb), *d_ws = NULL;
    if (!dw_op && (c->flags & F_WS)) {
        const size_t wsf = ratq_conv2d_workspace_floats_cuda(&p);
        CHECK_MSG(wsf == ratq_conv2d_workspace_floats(&p), "[%s] workspace %zu floats, cpu %zu", c->name, wsf,
                  ratq_conv2d_workspace_floats(&p));
        CHECK_MSG(wsf < (size_t)p.n * p.oh * p.ow * p.kh * p.kw * (p.ic / p.groups), "[%s] expected several chunks",
                  c->name);
        d_ws = dnan(wsf);
    }
    float *g1[3], *g2[3];
    for (int run = 0; run < 2; run++) {
        float **g = run ? g2 : g1;
        refill_nan(d_dx, nx), refill_nan(d_dw, nw), refill_nan(d_db, nb);
        rc = dw_op ? ratq_dwconv2d_bwd_cuda(&p, d_x, d_w, d_dy, d_dx, d_dw, d_db, g_stream)
                   : ratq_conv2d_bwd_cuda(&p, d_x, d_w, d_dy, d_dx, d_dw, d_db, d_ws, g_stream);
        CHECK_MSG(rc == 0, "[%s] gpu backward failed", c->name);
        g[0] = want_dx ? falloc(nx) : NULL, g[1] = falloc(nw), g[2] = falloc(nb);
        if (want_dx) down(g[0], d_dx, nx);
        down(g[1], d_dw, nw);
        down(g[2], d_db, nb);
    }
    if (want_dx) check_l2(c->name, "dx", g1[0], dx, nx, TOL_REL_L2), check_rerun(c->name, "dx", g2[0], g1[0], nx);
    check_l2(c->name, "dw", g1[1], dw, nw, TOL_REL_L2), check_rerun(c->name, "dw", g2[1], g1[1], nw);
    check_l2(c->name, "db", g1[2], db, nb, TOL_REL_L2), check_rerun(c->name, "db", g2[2], g1[2], nb);
    if (d_ws) { // the internal workspace gives the same bits as the caller's
        refill_nan(d_dx, nx), refill_nan(d_dw, nw);
        ratq_conv2d_bwd_cuda(&p, d_x, d_w, d_dy, d_dx, d_dw, NULL, NULL, g_stream);
        if (want_dx) down(g2[0], d_dx, nx), check_rerun(c->name, "dx (ws NULL)", g2[0], g1[0], nx);
        down(g2[1], d_dw, nw), check_rerun(c->name, "dw (ws NULL)", g2[1], g1[1], nw);
    }
    for (int i = 0; i < 3; i++) free(g1[i]), free(g2[i]);
    dfree(d_x), dfree(d_w), dfree(d_dy), dfree(d_dx), dfree(d_dw), dfree(d_db), dfree(d_ws);
    free(x), free(w), free(dy), free(dx), free(dw), free(db);
}

static void run_fc(const tcase *c) {
    const ratq_linear_params p = {c->n, c->ic, c->oc};
    const size_t nx = (size_t)p.n * p.in, nw = (size_t)p.out * p.in, ny = (size_t)p.n * p.out;
    float *x = frand(nx, 0.0, 6.0), *w = frand(nw, -0.1, 0.1), *dy = frand_grad(ny, 1e-3);
    float *dx = falloc(nx), *dw = falloc(nw), *db = falloc((size_t)p.out);
    ratq_linear_bwd_cpu(&p, x, w, dy, dx, dw, db);
    float *d_x = dup(x, nx), *d_w = dup(w, nw), *d_dy = dup(dy, ny);
    float *d_dx = dnan(nx), *d_dw = dnan(nw), *d_db = dnan((size_t)p.out);
    float *g1[3] = {falloc(nx), falloc(nw), falloc((size_t)p.out)};
    float *g2[3] = {falloc(nx), falloc(nw), falloc((size_t)p.out)};
    for (int run = 0; run < 2; run++) {
        float **g = run ? g2 : g1;
        refill_nan(d_dx, nx), refill_nan(d_dw, nw), refill_nan(d_db, (size_t)p.out);
        ratq_linear_bwd_cuda(&p, d_x, d_w, d_dy, d_dx, d_dw, d_db, g_stream);
        down(g[0], d_dx, nx), down(g[1], d_dw, nw), down(g[2], d_db, (size_t)p.out);
    }
    check_l2(c->name, "dx", g1[0], dx, nx, TOL_REL_L2), check_rerun(c->name, "dx", g2[0], g1[0], nx);
    check_l2(c->name, "dw", g1[1], dw, nw, TOL_REL_L2), check_rerun(c->name, "dw", g2[1], g1[1], nw);
    check_l2(c->name, "db", g1[2], db, (size_t)p.out, TOL_REL_L2);
    check_rerun(c->name, "db", g2[2], g1[2], (size_t)p.out);
    for (int i = 0; i < 3; i++) free(g1[i]), free(g2[i]);
    dfree(d_x), dfree(d_w), dfree(d_dy), dfree(d_dx), dfree(d_dw), dfree(d_db);
    free(x), free(w), free(dy), free(dx), free(dw), free(db);
}

static void run_gap(const tcase *c) {
    const ratq_pool_params p = {c->n, c->h, c->w, c->ic};
    const size_t nx = (size_t)p.n * p.h * p.w * p.c, ny = (size_t)p.n * p.c;
    float *dy = frand_grad(ny, 1e-2), *dx = falloc(nx), *g1 = falloc(nx), *g2 = falloc(nx);
    ratq_global_avgpool_bwd_cpu(&p, dy, dx);
    float *d_dy = dup(dy, ny), *d_dx = dnan(nx);
    ratq_global_avgpool_bwd_cuda(&p, d_dy, d_dx, g_stream);
    down(g1, d_dx, nx);
    refill_nan(d_dx, nx);
    ratq_global_avgpool_bwd_cuda(&p, d_dy, d_dx, g_stream);
    down(g2, d_dx, nx);
    check_exact(c->name, "dx", g1, dx, nx);
    check_rerun(c->name, "dx", g2, g1, nx);
    dfree(d_dy), dfree(d_dx);
    free(dy), free(dx), free(g1), free(g2);
}

static void run_xent(const tcase *c) {
    const ratq_xent_params p = {c->n, c->oc, 0.1f * (float)c->flags};
    const size_t nz = (size_t)p.n * p.classes;
    float *z = frand(nz, -8.0, 8.0), *dl = falloc(nz), *g1 = falloc(nz), *g2 = falloc(nz);
    int32_t *labels = (int32_t *)malloc(sizeof(int32_t) * p.n);
    for (int i = 0; i < p.n; i++) labels[i] = (int32_t)(ratq_test_rng(&g_st) % (uint64_t)p.classes);
    z[labels[0]] = 30.0f; // one confident row (p ~ 1 at the label)
    const double loss = ratq_softmax_xent_cpu(&p, z, labels, dl);
    float *d_z = dup(z, nz), *d_dl = dnan(nz);
    int32_t *d_labels = (int32_t *)dmalloc(sizeof(int32_t) * p.n);
    double *d_loss = (double *)dmalloc(sizeof(double));
    up(d_labels, labels, sizeof(int32_t) * p.n);
    double l1 = 0.0, l2 = 0.0, l3 = 0.0;
    ratq_softmax_xent_cuda(&p, d_z, d_labels, d_dl, d_loss, g_stream);
    down(g1, d_dl, nz);
    down_bytes(&l1, d_loss, sizeof(double));
    refill_nan(d_dl, nz);
    ratq_softmax_xent_cuda(&p, d_z, d_labels, d_dl, d_loss, g_stream);
    down(g2, d_dl, nz);
    down_bytes(&l2, d_loss, sizeof(double));
    ratq_softmax_xent_cuda(&p, d_z, d_labels, NULL, d_loss, g_stream); // loss only
    down_bytes(&l3, d_loss, sizeof(double));
    printf("    loss gpu %.17g cpu %.17g\n", l1, loss);
    CHECK_MSG(fabs(l1 - loss) <= 1e-12 * fabs(loss), "[%s] loss %.17g, cpu %.17g", c->name, l1, loss);
    CHECK_MSG(l2 == l1 && l3 == l1, "[%s] loss rerun %.17g / loss-only %.17g differ from %.17g", c->name, l2, l3, l1);
    check_close(c->name, "dlogits", g1, dl, nz, 1e-12, 1e-6);
    check_l2(c->name, "dlogits", g1, dl, nz, TOL_REL_L2);
    check_rerun(c->name, "dlogits", g2, g1, nz);
    dfree(d_z), dfree(d_dl), dfree(d_labels), dfree(d_loss);
    free(z), free(dl), free(g1), free(g2), free(labels);
}

// Several consecutive steps on the same state, GPU vs CPU; then the whole sequence rerun on the GPU.
static void run_sgd(const tcase *c) {
    const size_t n = ((size_t)1 << 20) + 3;
    const ratq_sgd_params sets[] = {
        {0.1f, 0.0f, 0.0f, 0.0f, 0, 0},   // plain
        {0.05f, 0.9f, 0.0f, 1e-4f, 0, 0}, // momentum + weight decay
        {0.05f, 0.9f, 0.0f, 4e-5f, 1, 0}, // Nesterov
        {0.02f, 0.8f, 0.1f, 0.0f, 0, 0},  // dampening
    };
    for (int s = 0; s < 4; s++) {
        float *p0 = frand(n, -1, 1), *pc = falloc(n), *bc = frand(n, -1, 1), *b0 = falloc(n);
        memcpy(pc, p0, sizeof(float) * n), memcpy(b0, bc, sizeof(float) * n);
        float *grads[3];
        for (int t = 0; t < 3; t++) grads[t] = frand(n, -0.1, 0.1);
        const int mom = sets[s].momentum != 0.0f;
        for (int t = 0; t < 3; t++) {
            ratq_sgd_params sp = sets[s];
            sp.step = t;
            ratq_sgd_step_cpu(&sp, n, pc, grads[t], mom ? bc : NULL);
        }
        float *gp[2] = {falloc(n), falloc(n)}, *gb[2] = {falloc(n), falloc(n)};
        float *d_p = dup(p0, n), *d_b = dup(b0, n), *d_g = dnan(n);
        for (int run = 0; run < 2; run++) {
            up(d_p, p0, sizeof(float) * n);
            up(d_b, b0, sizeof(float) * n);
            for (int t = 0; t < 3; t++) {
                ratq_sgd_params sp = sets[s];
                sp.step = t;
                CUDA_CHECK(cudaMemcpyAsync(d_g, grads[t], sizeof(float) * n, cudaMemcpyHostToDevice, g_stream));
                ratq_sgd_step_cuda(&sp, n, d_p, d_g, mom ? d_b : NULL, g_stream);
            }
            down(gp[run], d_p, n), down(gb[run], d_b, n);
        }
        char what[64];
        snprintf(what, sizeof what, "set %d param", s);
        check_close(c->name, what, gp[0], pc, n, TOL_OPT_ATOL, TOL_OPT_RTOL);
        check_rerun(c->name, what, gp[1], gp[0], n);
        snprintf(what, sizeof what, "set %d momentum", s);
        check_close(c->name, what, gb[0], bc, n, TOL_OPT_ATOL, TOL_OPT_RTOL);
        check_rerun(c->name, what, gb[1], gb[0], n);
        for (int t = 0; t < 3; t++) free(grads[t]);
        free(p0), free(pc), free(bc), free(b0), free(gp[0]), free(gp[1]), free(gb[0]), free(gb[1]);
        dfree(d_p), dfree(d_b), dfree(d_g);
    }
}

static void run_adamw(const tcase *c) {
    const size_t n = ((size_t)1 << 20) + 5;
    // The third set has a large lr * weight_decay, so that the decay factor has bits to lose.
    const ratq_adamw_params sets[] = {
        {1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 1},
        {3e-4f, 0.8f, 0.99f, 1e-6f, 0.0f, 1},
        {0.05f, 0.9f, 0.999f, 1e-8f, 0.37f, 1},
    };
    const int steps = 4;
    for (int s = 0; s < 3; s++) {
        float *p0 = frand(n, -1, 1), *pc = falloc(n), *mc = falloc(n), *vc = falloc(n);
        memcpy(pc, p0, sizeof(float) * n), memset(mc, 0, sizeof(float) * n), memset(vc, 0, sizeof(float) * n);
        float *grads[4];
        for (int t = 0; t < steps; t++) {
            grads[t] = frand(n, -0.1, 0.1);
            grads[t][0] = 0.0f; // v stays 0 at step 1: the denominator is eps alone
        }
        for (int t = 0; t < steps; t++) {
            ratq_adamw_params ap = sets[s];
            ap.step = t + 1;
            ratq_adamw_step_cpu(&ap, n, pc, grads[t], mc, vc);
        }
        float *gp[2] = {falloc(n), falloc(n)}, *gm[2] = {falloc(n), falloc(n)}, *gv[2] = {falloc(n), falloc(n)};
        float *d_p = dup(p0, n), *d_m = dnan(n), *d_v = dnan(n), *d_g = dnan(n);
        for (int run = 0; run < 2; run++) {
            up(d_p, p0, sizeof(float) * n);
            CUDA_CHECK(cudaMemsetAsync(d_m, 0, sizeof(float) * n, g_stream));
            CUDA_CHECK(cudaMemsetAsync(d_v, 0, sizeof(float) * n, g_stream));
            for (int t = 0; t < steps; t++) {
                ratq_adamw_params ap = sets[s];
                ap.step = t + 1;
                CUDA_CHECK(cudaMemcpyAsync(d_g, grads[t], sizeof(float) * n, cudaMemcpyHostToDevice, g_stream));
                ratq_adamw_step_cuda(&ap, n, d_p, d_g, d_m, d_v, g_stream);
            }
            down(gp[run], d_p, n), down(gm[run], d_m, n), down(gv[run], d_v, n);
        }
        char what[64];
        const char *names[3] = {"param", "m", "v"};
        float *cpu[3] = {pc, mc, vc}, **gpu[3] = {gp, gm, gv};
        for (int q = 0; q < 3; q++) {
            snprintf(what, sizeof what, "set %d %s", s, names[q]);
            check_close(c->name, what, gpu[q][0], cpu[q], n, TOL_OPT_ATOL, TOL_OPT_RTOL);
            check_rerun(c->name, what, gpu[q][1], gpu[q][0], n);
        }
        for (int t = 0; t < steps; t++) free(grads[t]);
        for (int r = 0; r < 2; r++) free(gp[r]), free(gm[r]), free(gv[r]);
        free(p0), free(pc), free(mc), free(vc);
        dfree(d_p), dfree(d_m), dfree(d_v), dfree(d_g);
    }
}

int main(void) {
    if (ratq_cuda_device_count() == 0) {
        printf("test_cuda_train_ops: no CUDA device, skipped\n");
        return 77;
    }
    const char *seed_env = getenv("RATQ_TEST_SEED");
    const uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 1;
    g_st = seed;
    printf("test_cuda_train_ops: seed %llu (set RATQ_TEST_SEED to change)\n", (unsigned long long)seed);
    CUDA_CHECK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    const char *only = getenv("RATQ_TEST_CASE");
    for (int i = 0; i < NCASES; i++) {
        const tcase *c = &CASES[i];
        if (only && !strstr(c->name, only)) continue;
        printf("  %s\n", c->name);
        const long before = ratq_test_failures;
        switch (c->kind) {
        case C_STE: run_ste(c); break;
        case C_SGEMM: run_sgemm(c); break;
        case C_CONV:
        case C_DW: run_conv_dw(c); break;
        case C_FC: run_fc(c); break;
        case C_GAP: run_gap(c); break;
        case C_XENT: run_xent(c); break;
        case C_SGD: run_sgd(c); break;
        case C_ADAMW: run_adamw(c); break;
        }
        printf("  %-40s %s\n", c->name, ratq_test_failures == before ? "ok" : "MISMATCH");
    }
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
    ratq_cuda_train_release();
    CUDA_CHECK(cudaStreamDestroy(g_stream));
    return ratq_test_finish("test_cuda_train_ops");
}
