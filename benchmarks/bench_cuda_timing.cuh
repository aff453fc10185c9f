// bench_cuda_timing.cuh — shared timing for the CUDA benchmarks: CUDA-event timing with the L2 flushed (a memset
// of twice the L2 size) before every timed repeat, and the device's copy bandwidth as the roofline reference.
// Include after defining REPEATS; call bench_flush_init() once (after choosing the device), bench_flush_free() at
// the end.
#ifndef RATQ_BENCH_CUDA_TIMING_CUH
#define RATQ_BENCH_CUDA_TIMING_CUH

#include "cuda/cuda_check.h"

static void *flush_buf;
static size_t flush_bytes;

static void bench_flush_init(const cudaDeviceProp *prop) {
    flush_bytes = (size_t)(prop->l2CacheSize > 0 ? prop->l2CacheSize : 64 << 20) * 2;
    CUDA_CHECK(cudaMalloc(&flush_buf, flush_bytes));
}
static void bench_flush_free(void) { CUDA_CHECK(cudaFree(flush_buf)); }

// Milliseconds per call of fn: mean over REPEATS timed calls (after one warm-up), L2 flushed before each.
template <typename F>
static double time_ms(F fn) {
    cudaEvent_t a, b;
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
    fn(); // warm-up
    double total = 0;
    for (int r = 0; r < REPEATS; r++) {
        CUDA_CHECK(cudaMemsetAsync(flush_buf, r & 0xFF, flush_bytes, 0));
        CUDA_CHECK(cudaEventRecord(a, 0));
        fn();
        CUDA_CHECK(cudaEventRecord(b, 0));
        CUDA_CHECK(cudaEventSynchronize(b));
        float ms;
        CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
        total += ms;
    }
    CUDA_CHECK(cudaEventDestroy(a));
    CUDA_CHECK(cudaEventDestroy(b));
    return total / REPEATS;
}

// Device copy bandwidth in bytes/s (read + write), 512 MiB device-to-device copies.
static double copy_bandwidth(void) {
    const size_t n = (size_t)512 << 20;
    void *src, *dst;
    CUDA_CHECK(cudaMalloc(&src, n));
    CUDA_CHECK(cudaMalloc(&dst, n));
    CUDA_CHECK(cudaMemset(src, 1, n));
    const double ms = time_ms([&] { CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, 0)); });
    CUDA_CHECK(cudaFree(src));
    CUDA_CHECK(cudaFree(dst));
    return 2.0 * (double)n / (ms * 1e-3);
}

#endif
