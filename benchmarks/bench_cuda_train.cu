// bench_cuda_train.cu — the shipped CUDA training kernels (kernels/cuda/train_ops_cuda.h) on EfficientNet-Lite0
// shapes: the depthwise backward (dx + dw + db, ratq_dwconv2d_bwd_cuda) of every unique depthwise layer of
// Lite0 at 224x224, and the STE prologue (ratq_ste_grad_cuda) on the largest activation (112x112x96), batch BATCH.
// Bandwidth: "required bytes" = what the op must move at least (depthwise: read x and dy, write dx, plus the
// weights and dw/db; STE: read dy and mask, write g); achieved = required bytes / time, reported as a fraction of
// the device copy bandwidth measured in the same run (cudaMemcpy device-to-device, read + write bytes).
// Before timing, every layer is validated at batch 2 against the CPU twins (ratq_dwconv2d_bwd_cpu: relative L2
// <= 1e-5 for dx, dw, db; STE: bit-identical to ratq_ste_grad_ref), and a rerun must be bit-identical; a failure
// exits 1 without timing. L2 is flushed (a memset larger than L2) before every timed repeat; CUDA events.
// Timed on random data (zeros could hide work and run faster than real data).
// Without a GPU it prints "no GPU: not run" and exits 0. Output: a Markdown table on stdout, then one line
// "json: {...}" with the totals (read by scripts/gpu_check.sh).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/float_ops.h"
#include "cuda/cuda_check.h"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

#ifndef BATCH
#define BATCH 64 // -DBATCH=n for a quick run
#endif
#ifndef REPEATS
#define REPEATS 10
#endif

typedef struct {
    int hw, c, k, stride; // input spatial size (square), channels, kernel, stride
} dw_layer;

// Every unique depthwise layer of EfficientNet-Lite0 (input size, channels, kernel, stride).
static const dw_layer LAYERS[] = {
    {112, 32, 3, 1}, {112, 96, 3, 2}, {56, 144, 3, 1}, {56, 144, 5, 2}, {28, 240, 5, 1}, {28, 240, 3, 2},
    {14, 480, 3, 1}, {14, 672, 5, 1}, {14, 672, 5, 2}, {7, 1152, 5, 1}, {7, 1152, 3, 1},
};
#define NLAYERS ((int)(sizeof LAYERS / sizeof LAYERS[0]))

static uint64_t g_st = 42;
static float urand(void) {
    uint64_t z = (g_st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)((z >> 40) * 0x1.0p-24); // [0, 1)
}
static float *hrand(size_t n, float lo, float hi) {
    float *p = (float *)malloc(sizeof(float) * n);
    if (!p) exit(1);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * urand();
    return p;
}
static float *dup(const float *h, size_t n) {
    float *d;
    CUDA_CHECK(cudaMalloc((void **)&d, sizeof(float) * n));
    CUDA_CHECK(cudaMemcpy(d, h, sizeof(float) * n, cudaMemcpyHostToDevice));
    return d;
}
static float *down(const float *d, size_t n) {
    float *h = (float *)malloc(sizeof(float) * n);
    if (!h) exit(1);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(h, d, sizeof(float) * n, cudaMemcpyDeviceToHost));
    return h;
}

static void dfree(void *d) { CUDA_CHECK(cudaFree(d)); }

// n random floats in [lo, hi) into device buffer d.
static void drand(float *d, size_t n, float lo, float hi) {
    float *h = hrand(n, lo, hi);
    CUDA_CHECK(cudaMemcpy(d, h, sizeof(float) * n, cudaMemcpyHostToDevice));
    free(h);
}

#include "bench_cuda_timing.cuh" // time_ms (L2 flushed), copy_bandwidth

// Relative L2 of got vs ref (NaN -> infinity).
static double rel_l2(const float *got, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    const double r = den > 0 ? sqrt(num / den) : sqrt(num);
    return r == r ? r : INFINITY;
}

// Depthwise backward at batch 2 vs the CPU twin, plus a bit-identical rerun. Returns the number of failures.
static int validate_dw(const dw_layer *L) {
    const ratq_conv2d_params p = ratq_conv2d_params_same(2, L->hw, L->hw, L->c, L->c, L->k, L->stride, 1, L->c);
    const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
    const size_t nw = (size_t)p.kh * p.kw * p.oc, nb = (size_t)p.oc;
    float *x = hrand(nx, 0.0f, 6.0f), *w = hrand(nw, -0.5f, 0.5f), *dy = hrand(ny, -1e-3f, 1e-3f);
    float *dx = (float *)malloc(sizeof(float) * nx), *dw = (float *)malloc(sizeof(float) * nw);
    float *db = (float *)malloc(sizeof(float) * nb);
    if (!dx || !dw || !db || ratq_dwconv2d_bwd_cpu(&p, x, w, dy, dx, dw, db) != 0) exit(1);
    float *d_x = dup(x, nx), *d_w = dup(w, nw), *d_dy = dup(dy, ny), *d_dx, *d_dw, *d_db;
    CUDA_CHECK(cudaMalloc((void **)&d_dx, sizeof(float) * nx));
    CUDA_CHECK(cudaMalloc((void **)&d_dw, sizeof(float) * nw));
    CUDA_CHECK(cudaMalloc((void **)&d_db, sizeof(float) * nb));
    int bad = 0;
    float *first[3] = {NULL, NULL, NULL};
    for (int run = 0; run < 2; run++) {
        CUDA_CHECK(cudaMemset(d_dx, 0xFF, sizeof(float) * nx)); // NaN: unwritten elements fail
        CUDA_CHECK(cudaMemset(d_dw, 0xFF, sizeof(float) * nw));
        CUDA_CHECK(cudaMemset(d_db, 0xFF, sizeof(float) * nb));
        ratq_dwconv2d_bwd_cuda(&p, d_x, d_w, d_dy, d_dx, d_dw, d_db, 0);
        float *got[3] = {down(d_dx, nx), down(d_dw, nw), down(d_db, nb)};
        const float *ref[3] = {dx, dw, db};
        const size_t n[3] = {nx, nw, nb};
        const char *name[3] = {"dx", "dw", "db"};
        for (int t = 0; t < 3; t++) {
            if (run == 0) {
                const double r = rel_l2(got[t], ref[t], n[t]);
                if (!(r <= 1e-5)) {
                    fprintf(stderr, "bench_cuda_train: dw %dx%dx%d k%d s%d %s: relative L2 %.3g > 1e-5\n", L->hw,
                            L->hw, L->c, L->k, L->stride, name[t], r);
                    bad++;
                }
                first[t] = got[t];
            } else {
                if (memcmp(got[t], first[t], sizeof(float) * n[t]) != 0) {
                    fprintf(stderr, "bench_cuda_train: dw %dx%dx%d k%d s%d %s: rerun not bit-identical\n", L->hw,
                            L->hw, L->c, L->k, L->stride, name[t]);
                    bad++;
                }
                free(got[t]);
                free(first[t]);
            }
        }
    }
    dfree(d_x), dfree(d_w), dfree(d_dy);
    dfree(d_dx), dfree(d_dw), dfree(d_db);
    free(x), free(w), free(dy), free(dx), free(dw), free(db);
    return bad;
}

// STE prologue on `count` elements with `channels` channels: bit-identical to ratq_ste_grad_ref. Returns failures.
static int validate_ste(int64_t count, int channels) {
    float *dy = hrand((size_t)count, -1.0f, 1.0f), *ratio = hrand((size_t)channels, 0.8f, 1.2f);
    float *g = (float *)malloc(sizeof(float) * (size_t)count);
    uint8_t *mask = (uint8_t *)malloc((size_t)count);
    if (!g || !mask) exit(1);
    for (int64_t i = 0; i < count; i++) mask[i] = urand() < 0.1f ? 0 : 1;
    ratq_ste_grad_ref(count, channels, dy, mask, ratio, g);
    float *d_dy = dup(dy, (size_t)count), *d_ratio = dup(ratio, (size_t)channels), *d_g;
    uint8_t *d_mask;
    CUDA_CHECK(cudaMalloc((void **)&d_g, sizeof(float) * (size_t)count));
    CUDA_CHECK(cudaMalloc((void **)&d_mask, (size_t)count));
    CUDA_CHECK(cudaMemcpy(d_mask, mask, (size_t)count, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(d_g, 0xFF, sizeof(float) * (size_t)count));
    ratq_ste_grad_cuda(count, channels, d_dy, d_mask, d_ratio, d_g, 0);
    float *got = down(d_g, (size_t)count);
    const int bad = memcmp(got, g, sizeof(float) * (size_t)count) != 0;
    if (bad) fprintf(stderr, "bench_cuda_train: STE prologue differs from ratq_ste_grad_ref\n");
    dfree(d_dy), dfree(d_ratio), dfree(d_g), dfree(d_mask);
    free(dy), free(ratio), free(g), free(mask), free(got);
    return bad;
}

int main(void) {
    if (ratq_cuda_device_count() == 0) {
        printf("bench_cuda_train: no GPU: not run\n");
        return 0;
    }
    int bad = validate_ste((int64_t)2 * 112 * 112 * 96, 96);
    for (int li = 0; li < NLAYERS; li++) bad += validate_dw(&LAYERS[li]);
    if (bad) {
        fprintf(stderr, "bench_cuda_train: %d validation failures: not timed\n", bad);
        return 1;
    }
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    bench_flush_init(&prop);
    const double copy_bw = copy_bandwidth();
    printf("# bench_cuda_train: depthwise backward and STE prologue, EfficientNet-Lite0 shapes, batch %d\n\n", BATCH);
    printf("device: %s; copy bandwidth (cudaMemcpy D2D, read+write): %.1f GB/s; %d repeats, L2 flushed; "
           "validated at batch 2 against the CPU twins (and a bit-identical rerun)\n\n",
           prop.name, copy_bw * 1e-9, REPEATS);
    printf("| op | shape | ms | required GB/s | / copy BW |\n|---|---|---|---|---|\n");

    double ste_ms = 0, ste_frac = 0;
    // STE prologue on the largest Lite0 activation.
    {
        const int64_t count = (int64_t)BATCH * 112 * 112 * 96;
        const int channels = 96;
        float *d_dy, *d_ratio, *d_g;
        uint8_t *d_mask;
        CUDA_CHECK(cudaMalloc((void **)&d_dy, sizeof(float) * (size_t)count));
        CUDA_CHECK(cudaMalloc((void **)&d_g, sizeof(float) * (size_t)count));
        CUDA_CHECK(cudaMalloc((void **)&d_mask, (size_t)count));
        CUDA_CHECK(cudaMalloc((void **)&d_ratio, sizeof(float) * channels));
        drand(d_dy, (size_t)count, -1.0f, 1.0f);
        drand(d_ratio, channels, 0.5f, 2.0f);
        uint8_t *mask = (uint8_t *)malloc((size_t)count);
        if (!mask) exit(1);
        for (int64_t i = 0; i < count; i++) mask[i] = urand() < 0.9f; // about 10% clipped
        CUDA_CHECK(cudaMemcpy(d_mask, mask, (size_t)count, cudaMemcpyHostToDevice));
        free(mask);
        const double ms = time_ms([&] { ratq_ste_grad_cuda(count, channels, d_dy, d_mask, d_ratio, d_g, 0); });
        const double bytes = (double)count * (4 + 1 + 4), bw = bytes / (ms * 1e-3);
        printf("| STE prologue | %dx112x112x96 | %.3f | %.1f | %.0f%% |\n", BATCH, ms, bw * 1e-9, 100.0 * bw / copy_bw);
        ste_ms = ms, ste_frac = bw / copy_bw;
        dfree(d_dy), dfree(d_g), dfree(d_mask), dfree(d_ratio);
    }
    double sum_ms = 0, sum_bytes = 0;
    for (int li = 0; li < NLAYERS; li++) {
        const dw_layer *L = &LAYERS[li];
        const ratq_conv2d_params p = ratq_conv2d_params_same(BATCH, L->hw, L->hw, L->c, L->c, L->k, L->stride, 1, L->c);
        const size_t nx = (size_t)p.n * p.h * p.w * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
        const size_t nw = (size_t)p.kh * p.kw * p.oc;
        float *d_x, *d_w, *d_dy, *d_dx, *d_dw, *d_db;
        CUDA_CHECK(cudaMalloc((void **)&d_x, sizeof(float) * nx));
        CUDA_CHECK(cudaMalloc((void **)&d_dx, sizeof(float) * nx));
        CUDA_CHECK(cudaMalloc((void **)&d_dy, sizeof(float) * ny));
        CUDA_CHECK(cudaMalloc((void **)&d_w, sizeof(float) * nw));
        CUDA_CHECK(cudaMalloc((void **)&d_dw, sizeof(float) * nw));
        CUDA_CHECK(cudaMalloc((void **)&d_db, sizeof(float) * p.oc));
        drand(d_x, nx, 0.0f, 6.0f);
        drand(d_dy, ny, -1e-3f, 1e-3f);
        drand(d_w, nw, -0.5f, 0.5f);
        const double ms = time_ms([&] { ratq_dwconv2d_bwd_cuda(&p, d_x, d_w, d_dy, d_dx, d_dw, d_db, 0); });
        const double bytes = 4.0 * (2.0 * nx + ny + 2.0 * nw + p.oc), bw = bytes / (ms * 1e-3);
        printf("| dw bwd | %dx%dx%d k%d s%d | %.3f | %.1f | %.0f%% |\n", L->hw, L->hw, L->c, L->k, L->stride, ms,
               bw * 1e-9, 100.0 * bw / copy_bw);
        sum_ms += ms, sum_bytes += bytes;
        dfree(d_x), dfree(d_dx), dfree(d_dy);
        dfree(d_w), dfree(d_dw), dfree(d_db);
    }
    const double bw = sum_bytes / (sum_ms * 1e-3);
    printf("| dw bwd, all layers | | %.3f | %.1f | %.0f%% |\n", sum_ms, bw * 1e-9, 100.0 * bw / copy_bw);
    printf("\njson: {\"bench\": \"cuda_train\", \"device\": \"%s\", \"batch\": %d, \"copy_gbs\": %.1f, "
           "\"ste_ms\": %.4f, \"ste_frac_copy\": %.4f, \"dw_bwd_ms\": %.4f, \"dw_bwd_frac_copy\": %.4f}\n",
           prop.name, BATCH, copy_bw * 1e-9, ste_ms, ste_frac, sum_ms, bw / copy_bw);
    bench_flush_free();
    ratq_cuda_train_release();
    return 0;
}
