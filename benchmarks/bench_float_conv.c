// bench_float_conv.c — fast (im2col + OpenBLAS / OpenMP) vs plain-loop reference conv2d and depthwise conv,
// forward and backward (dx + dw + db), on EfficientNet-Lite0 layer shapes at 224x224 input.
// Validates before timing: every fast output must be within (K+3) * 2^-24 * S of the reference, where
// S = the reference run on |inputs| (the sum of magnitudes) and K the number of terms summed (the float
// summation error bound; see tests/cpu/test_float_util.h). Prints a Markdown table; times are the best of
// 3 runs for the fast version, one run for the reference. GFLOP/s counts 2 flops per multiply-add
// (backward = dx + dw: twice the forward).
// usage: bench_float_conv [batch]   (default 4)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/float_ops.h"
#include "math/splitmix64.h"
#include "common/io.h"

static uint64_t st = 42;
static float urand(void) {
    const uint64_t z = ratq_splitmix64_next(&st);
    return (float)((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}
static float *alloc_rand(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) {
        fprintf(stderr, "bench_float_conv: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = urand();
    return p;
}
static float *abs_copy(const float *a, size_t n) {
    float *p = alloc_rand(n);
    for (size_t i = 0; i < n; i++) p[i] = fabsf(a[i]);
    return p;
}
static int validate(const char *what, const float *got, const float *ref, const float *S, size_t n, double K) {
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]), tol = (K + 3.0) / 16777216.0 * S[i] + 1e-30;
        if (!(d <= tol)) {
            fprintf(stderr, "bench_float_conv: %s validation failed at %zu: got %.9g want %.9g (|d| %.3g > %.3g)\n", what, i,
                    got[i], ref[i], d, tol);
            return 1;
        }
    }
    return 0;
}

typedef struct {
    const char *name;
    int h, ic, oc, k, stride, depthwise;
} layer;

int main(int argc, char **argv) {
    const int B = argc > 1 ? atoi(argv[1]) : 4;
    const layer layers[] = {
        {"stem conv 3x3 s2, 224x224x3 -> 32", 224, 3, 32, 3, 2, 0},
        {"dw 3x3 s1, 112x112x32", 112, 32, 32, 3, 1, 1},
        {"pw 1x1, 112x112x32 -> 16", 112, 32, 16, 1, 1, 0},
        {"pw expand 1x1, 56x56x24 -> 144", 56, 24, 144, 1, 1, 0},
        {"dw 5x5 s2, 56x56x144", 56, 144, 144, 5, 2, 1},
        {"pw project 1x1, 14x14x480 -> 80", 14, 480, 80, 1, 1, 0},
        {"head 1x1, 7x7x320 -> 1280", 7, 320, 1280, 1, 1, 0},
    };
    printf("batch %d\n\n| layer | fwd ref ms | fwd cpu ms | fwd GFLOP/s | bwd ref ms | bwd cpu ms | bwd GFLOP/s |\n"
           "|---|---|---|---|---|---|---|\n", B);
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const layer *L = &layers[li];
        ratq_conv2d_params p = ratq_conv2d_params_same(B, L->h, L->h, L->ic, L->oc, L->k, L->stride, 1, L->depthwise ? L->ic : 1);
        if (L->depthwise ? ratq_dwconv2d_params_check(&p, L->name) : ratq_conv2d_params_check(&p, L->name)) return 1;
        const int kk = p.kh * p.kw, icg = p.ic / p.groups, ocg = p.oc / p.groups;
        const size_t nx = (size_t)B * p.h * p.w * p.ic, ny = (size_t)B * p.oh * p.ow * p.oc;
        const size_t nw = L->depthwise ? (size_t)kk * p.oc : (size_t)p.oc * kk * icg;
        float *x = alloc_rand(nx), *w = alloc_rand(nw), *b = alloc_rand(p.oc), *dy = alloc_rand(ny);
        float *ax = abs_copy(x, nx), *aw = abs_copy(w, nw), *ab = abs_copy(b, p.oc), *ady = abs_copy(dy, ny);
        float *yr = alloc_rand(ny), *yf = alloc_rand(ny), *S = alloc_rand(ny);
        float *dxr = alloc_rand(nx), *dxf = alloc_rand(nx), *Sx = alloc_rand(nx);
        float *dwr = alloc_rand(nw), *dwf = alloc_rand(nw), *Sw = alloc_rand(nw);
        float *dbr = alloc_rand(p.oc), *dbf = alloc_rand(p.oc), *Sb = alloc_rand(p.oc);
        float *ws = L->depthwise ? NULL : alloc_rand(ratq_conv2d_workspace_floats(&p));
#define FWD(kind, X, W, Bi, Y) (L->depthwise ? ratq_dwconv2d_fwd_##kind(&p, X, W, Bi, Y) : ratq_conv2d_fwd_##kind(&p, X, W, Bi, Y, ws))
#define BWD(kind, X, W, DY, DX, DW, DB) \
    (L->depthwise ? ratq_dwconv2d_bwd_##kind(&p, X, W, DY, DX, DW, DB) : ratq_conv2d_bwd_##kind(&p, X, W, DY, DX, DW, DB, ws))
        double t0 = ratq_now();
        FWD(ref, x, w, b, yr);
        const double t_fwd_ref = ratq_now() - t0;
        t0 = ratq_now();
        BWD(ref, x, w, dy, dxr, dwr, dbr);
        const double t_bwd_ref = ratq_now() - t0;
        FWD(ref, ax, aw, ab, S);
        BWD(ref, ax, aw, ady, Sx, Sw, Sb);
        if (FWD(cpu, x, w, b, yf) || BWD(cpu, x, w, dy, dxf, dwf, dbf)) return 1;
        const double rows = (double)B * p.oh * p.ow;
        if (validate("fwd", yf, yr, S, ny, kk * icg + 1) || validate("dx", dxf, dxr, Sx, nx, ocg * kk) ||
            validate("dw", dwf, dwr, Sw, nw, rows) || validate("db", dbf, dbr, Sb, p.oc, rows))
            return 1;
        double t_fwd = 1e30, t_bwd = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            t0 = ratq_now();
            FWD(cpu, x, w, b, yf);
            double t1 = ratq_now();
            BWD(cpu, x, w, dy, dxf, dwf, dbf);
            double t2 = ratq_now();
            if (t1 - t0 < t_fwd) t_fwd = t1 - t0;
            if (t2 - t1 < t_bwd) t_bwd = t2 - t1;
        }
        const double flops = 2.0 * rows * p.oc * kk * icg;
        printf("| %s | %.1f | %.2f | %.2f | %.1f | %.2f | %.2f |\n", L->name, t_fwd_ref * 1e3, t_fwd * 1e3, flops / t_fwd / 1e9,
               t_bwd_ref * 1e3, t_bwd * 1e3, 2 * flops / t_bwd / 1e9);
        fflush(stdout);
        free(x), free(w), free(b), free(dy), free(ax), free(aw), free(ab), free(ady), free(yr), free(yf), free(S);
        free(dxr), free(dxf), free(Sx), free(dwr), free(dwf), free(Sw), free(dbr), free(dbf), free(Sb), free(ws);
    }
    return 0;
}
