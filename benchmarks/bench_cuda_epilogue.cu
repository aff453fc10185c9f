// bench_cuda_epilogue.cu — the fused fake-quant epilogue vs the unfused pipeline on the 1x1 (pointwise) layers of
// EfficientNet-Lite0 at 224x224, batch 128 (k = 4 per-channel rescalers, single rounding, STE mask stored).
//   fused:        ratq_conv_s8_cuda            (int8 GEMM + epilogue: int8 output + uint8 mask)
//   fused, no mask: the same with mask = NULL   (inference form)
//   unfused:      ratq_conv_acc_s32_cuda (int32 accumulators to memory) + ratq_requantize_s8_cuda +
//                 ratq_requantize_mask_cuda    (the separate fake-quant kernels, kernels/cuda/requant_cuda.cu)
// Bandwidth: "required bytes" = input + weights + output + mask (what the fused kernel must move at least);
// achieved = required bytes / time, reported as a fraction of the device's copy bandwidth measured in the same
// run (cudaMemcpy device-to-device, counted as read + write bytes). Target: fused >= 70% of copy bandwidth.
// Before timing, every layer is validated against the CPU twins on images 0 and batch-1 (outputs and masks
// identical for both the fused and the unfused path); a mismatch exits 1 without timing.
// L2 is flushed (a memset larger than L2) before every timed repeat; repeats are timed with CUDA events.
// Without a GPU it prints "no GPU: not run" and exits 0. Output: a Markdown table on stdout, then one line
// "json: {...}" with the totals (read by scripts/gpu_check.sh).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_check.h"
#include "cuda/ops_cuda.h"

#ifndef BATCH
#define BATCH 128 // -DBATCH=n for a quick run
#endif
#ifndef REPEATS
#define REPEATS 10
#endif
#define RESCALE_BITS 4

typedef struct {
    int hw, in_c, out_c, count; // spatial size (square), channels, number of such layers in Lite0
} layer;

// Every 1x1 conv of EfficientNet-Lite0 (expand and project of each MBConv block, and the head), unique shapes.
static const layer LAYERS[] = {
    {112, 32, 16, 1},  {112, 16, 96, 1},  {56, 96, 24, 1},   {56, 24, 144, 2},  {56, 144, 24, 1},
    {28, 144, 40, 1},  {28, 40, 240, 2},  {28, 240, 40, 1},  {14, 240, 80, 1},  {14, 80, 480, 3},
    {14, 480, 80, 2},  {14, 480, 112, 1}, {14, 112, 672, 3}, {14, 672, 112, 2}, {7, 672, 192, 1},
    {7, 192, 1152, 4}, {7, 1152, 192, 3}, {7, 1152, 320, 1}, {7, 320, 1280, 1},
};
#define NLAYERS ((int)(sizeof LAYERS / sizeof LAYERS[0]))

static uint64_t rng(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#include "bench_cuda_timing.cuh" // time_ms (L2 flushed), copy_bandwidth

// Compare image `img` of the GPU results with the CPU twins. Returns the number of mismatches.
static long validate(const ratq_conv_shape *full, int img, const int8_t *x, const int8_t *w, int32_t io,
                     const int32_t *bias, const ratq_requant_s8 *rq, const int8_t *d_y, const uint8_t *d_m,
                     const int8_t *d_y2, const uint8_t *d_m2) {
    ratq_conv_shape sh = *full;
    sh.batch = 1;
    const int64_t n_in = (int64_t)sh.in_h * sh.in_w * sh.in_c, n_out = (int64_t)sh.out_h * sh.out_w * sh.out_c;
    const int8_t *xi = x + img * n_in;
    int8_t *y = (int8_t *)malloc((size_t)n_out), *yg = (int8_t *)malloc((size_t)n_out);
    uint8_t *m = (uint8_t *)malloc((size_t)n_out), *mg = (uint8_t *)malloc((size_t)n_out);
    int32_t *acc = (int32_t *)malloc(sizeof(int32_t) * (size_t)n_out);
    ratq_conv_s8_cpu(&sh, xi, io, w, 0, bias, rq, y);
    ratq_conv_acc_s32_cpu(&sh, xi, io, w, 0, bias, acc);
    ratq_requantize_mask_cpu(acc, n_out, sh.out_c, rq, m);
    long bad = 0;
    const int8_t *ys[2] = {d_y, d_y2};
    const uint8_t *ms[2] = {d_m, d_m2};
    for (int path = 0; path < 2; path++) {
        CUDA_CHECK(cudaMemcpy(yg, ys[path] + img * n_out, (size_t)n_out, cudaMemcpyDeviceToHost));
        CUDA_CHECK(cudaMemcpy(mg, ms[path] + img * n_out, (size_t)n_out, cudaMemcpyDeviceToHost));
        for (int64_t i = 0; i < n_out; i++)
            if (y[i] != yg[i] || m[i] != mg[i]) {
                if (bad++ < 5)
                    fprintf(stderr, "bench_cuda_epilogue: %s path, image %d, i=%lld: cpu %d/%d gpu %d/%d\n",
                            path ? "unfused" : "fused", img, (long long)i, y[i], m[i], yg[i], mg[i]);
            }
    }
    free(y), free(yg), free(m), free(mg), free(acc);
    return bad;
}

int main(void) {
    if (ratq_cuda_device_count() == 0) {
        printf("bench_cuda_epilogue: no GPU: not run\n");
        return 0;
    }
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    bench_flush_init(&prop);
    const double copy_bw = copy_bandwidth();
    printf("# bench_cuda_epilogue: fused fake-quant epilogue, EfficientNet-Lite0 1x1 layers, batch %d, k=%d\n\n",
           BATCH, RESCALE_BITS);
    printf("device: %s; copy bandwidth (cudaMemcpy D2D, read+write): %.1f GB/s; %d repeats, L2 flushed\n\n",
           prop.name, copy_bw * 1e-9, REPEATS);
    printf("| layer (HxW, in->out) | count | fused ms | fused no-mask ms | unfused ms | unfused/fused | "
           "fused GB/s | fused / copy BW |\n");
    printf("|---|---|---|---|---|---|---|---|\n");

    uint64_t st = 42;
    double sum_bytes = 0, sum_fused = 0, sum_nomask = 0, sum_unfused = 0;
    for (int li = 0; li < NLAYERS; li++) {
        const layer L = LAYERS[li];
        ratq_conv_shape sh;
        memset(&sh, 0, sizeof sh);
        sh.batch = BATCH, sh.in_h = sh.in_w = sh.out_h = sh.out_w = L.hw, sh.in_c = L.in_c, sh.out_c = L.out_c;
        sh.kernel_h = sh.kernel_w = sh.stride_h = sh.stride_w = sh.dilation_h = sh.dilation_w = 1;
        sh.groups = sh.depth_multiplier = 1;
        const int64_t pixels = (int64_t)BATCH * L.hw * L.hw;
        const int64_t n_in = pixels * L.in_c, n_out = pixels * L.out_c, n_w = (int64_t)L.out_c * L.in_c;
        int8_t *x = (int8_t *)malloc((size_t)n_in), *w = (int8_t *)malloc((size_t)n_w);
        int32_t *bias = (int32_t *)malloc(sizeof(int32_t) * (size_t)L.out_c);
        ratq_rescale *rs = (ratq_rescale *)malloc(sizeof(ratq_rescale) * (size_t)L.out_c);
        for (int64_t i = 0; i < n_in; i++) x[i] = (int8_t)(rng(&st) & 0xFF);
        for (int64_t i = 0; i < n_w; i++) w[i] = (int8_t)(rng(&st) & 0xFF);
        // Accumulator std ~ sqrt(K) * 74^2 for uniform int8; M maps it to ~30 output steps (some outputs clamp).
        for (int c = 0; c < L.out_c; c++) {
            bias[c] = (int32_t)(rng(&st) % 20001) - 10000;
            const double M = 30.0 / (sqrt((double)L.in_c) * 5476.0) * (0.5 + (double)(rng(&st) % 1000) / 666.0);
            if (ratq_rescale_from_real(M, RESCALE_BITS, &rs[c])) {
                fprintf(stderr, "bench_cuda_epilogue: rescale out of range\n");
                return 1;
            }
        }
        const int32_t io = 3;
        int8_t *d_x, *d_w, *d_y, *d_y2;
        uint8_t *d_m, *d_m2;
        int32_t *d_bias, *d_acc;
        ratq_rescale *d_rs;
        CUDA_CHECK(cudaMalloc(&d_x, (size_t)n_in));
        CUDA_CHECK(cudaMalloc(&d_w, (size_t)n_w));
        CUDA_CHECK(cudaMalloc(&d_y, (size_t)n_out));
        CUDA_CHECK(cudaMalloc(&d_y2, (size_t)n_out));
        CUDA_CHECK(cudaMalloc(&d_m, (size_t)n_out));
        CUDA_CHECK(cudaMalloc(&d_m2, (size_t)n_out));
        CUDA_CHECK(cudaMalloc(&d_bias, sizeof(int32_t) * (size_t)L.out_c));
        CUDA_CHECK(cudaMalloc(&d_acc, sizeof(int32_t) * (size_t)n_out));
        CUDA_CHECK(cudaMalloc(&d_rs, sizeof(ratq_rescale) * (size_t)L.out_c));
        CUDA_CHECK(cudaMemcpy(d_x, x, (size_t)n_in, cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(d_w, w, (size_t)n_w, cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(d_bias, bias, sizeof(int32_t) * (size_t)L.out_c, cudaMemcpyHostToDevice));
        CUDA_CHECK(cudaMemcpy(d_rs, rs, sizeof(ratq_rescale) * (size_t)L.out_c, cudaMemcpyHostToDevice));
        const ratq_requant_s8 rq = {rs, 1, -5, -128, 127, RATQ_ROUND_SINGLE};
        ratq_requant_s8 rq_d = rq;
        rq_d.rescale = d_rs;

        auto fused = [&] { ratq_conv_s8_cuda(&sh, d_x, io, d_w, 0, d_bias, &rq_d, d_y, d_m, 0); };
        auto nomask = [&] { ratq_conv_s8_cuda(&sh, d_x, io, d_w, 0, d_bias, &rq_d, d_y, NULL, 0); };
        auto unfused = [&] {
            ratq_conv_acc_s32_cuda(&sh, d_x, io, d_w, 0, d_bias, d_acc, 0);
            ratq_requantize_s8_cuda(d_acc, n_out, L.out_c, &rq_d, d_y2, 0);
            ratq_requantize_mask_cuda(d_acc, n_out, L.out_c, &rq_d, d_m2, 0);
        };
        // Validate first (both paths, first and last image).
        fused();
        unfused();
        CUDA_CHECK(cudaDeviceSynchronize());
        long bad = validate(&sh, 0, x, w, io, bias, &rq, d_y, d_m, d_y2, d_m2) +
                   validate(&sh, BATCH - 1, x, w, io, bias, &rq, d_y, d_m, d_y2, d_m2);
        if (bad) {
            fprintf(stderr, "bench_cuda_epilogue: layer %dx%d %d->%d: %ld mismatches with the CPU twin, not timed\n",
                    L.hw, L.hw, L.in_c, L.out_c, bad);
            return 1;
        }
        const double t_fused = time_ms(fused), t_nomask = time_ms(nomask), t_unfused = time_ms(unfused);
        const double bytes = (double)n_in + (double)n_w + 2.0 * (double)n_out;
        const double bw = bytes / (t_fused * 1e-3);
        printf("| %dx%d, %d->%d | %d | %.3f | %.3f | %.3f | %.2f | %.0f | %.0f%% |\n", L.hw, L.hw, L.in_c, L.out_c,
               L.count, t_fused, t_nomask, t_unfused, t_unfused / t_fused, bw * 1e-9, 100.0 * bw / copy_bw);
        sum_bytes += L.count * bytes;
        sum_fused += L.count * t_fused;
        sum_nomask += L.count * t_nomask;
        sum_unfused += L.count * t_unfused;
        CUDA_CHECK(cudaFree(d_x));
        CUDA_CHECK(cudaFree(d_w));
        CUDA_CHECK(cudaFree(d_y));
        CUDA_CHECK(cudaFree(d_y2));
        CUDA_CHECK(cudaFree(d_m));
        CUDA_CHECK(cudaFree(d_m2));
        CUDA_CHECK(cudaFree(d_bias));
        CUDA_CHECK(cudaFree(d_acc));
        CUDA_CHECK(cudaFree(d_rs));
        free(x), free(w), free(bias), free(rs);
    }
    const double bw = sum_bytes / (sum_fused * 1e-3);
    printf("| **all 1x1 layers (x count)** | | %.3f | %.3f | %.3f | %.2f | %.0f | %.0f%% |\n\n", sum_fused, sum_nomask,
           sum_unfused, sum_unfused / sum_fused, bw * 1e-9, 100.0 * bw / copy_bw);
    printf("target fused >= 70%% of copy bandwidth over the 1x1 layers: %s (%.0f%%)\n",
           bw >= 0.7 * copy_bw ? "MET" : "NOT MET", 100.0 * bw / copy_bw);
    printf("\njson: {\"bench\": \"cuda_epilogue\", \"device\": \"%s\", \"batch\": %d, \"copy_gbs\": %.1f, "
           "\"fused_ms\": %.4f, \"fused_nomask_ms\": %.4f, \"unfused_ms\": %.4f, \"fused_gbs\": %.1f, "
           "\"fused_frac_copy\": %.4f}\n",
           prop.name, BATCH, copy_bw * 1e-9, sum_fused, sum_nomask, sum_unfused, bw * 1e-9, bw / copy_bw);
    bench_flush_free();
    return 0;
}
