// test_requant_cuda.cu — the CUDA output stage (kernels/cuda/requant_cuda.cu) against the CPU engine:
// int8 outputs and STE masks identical, every rounding mode, k in {31, 8, 4, 2, 1}, per-channel and
// per-tensor rescalers. Exit 77 (skipped) when there is no CUDA device.
#include <stdio.h>
#include <stdlib.h>

#include "cuda/cuda_check.h"
#include "cuda/ops_cuda.h"
#include "math/splitmix64.h"

static uint64_t rng(uint64_t *s) { return ratq_splitmix64_next(s); }

int main(void) {
    if (ratq_cuda_device_count() == 0) {
        printf("test_requant_cuda: no CUDA device, skipped\n");
        return 77;
    }
    const int64_t count = 1 << 20;
    const int channels = 96;
    uint64_t st = 7;
    int32_t *acc = (int32_t *)malloc(sizeof(int32_t) * count);
    int8_t *cpu = (int8_t *)malloc(count), *gpu = (int8_t *)malloc(count);
    uint8_t *mcpu = (uint8_t *)malloc(count), *mgpu = (uint8_t *)malloc(count);
    ratq_rescale rs[96];
    for (int64_t i = 0; i < count; i++) acc[i] = (int32_t)(rng(&st) % 2000001) - 1000000;
    acc[0] = INT32_MAX, acc[1] = INT32_MIN, acc[2] = 0;
    int32_t *d_acc;
    int8_t *d_out;
    uint8_t *d_mask;
    ratq_rescale *d_rs;
    CUDA_CHECK(cudaMalloc(&d_acc, sizeof(int32_t) * count));
    CUDA_CHECK(cudaMalloc(&d_out, count));
    CUDA_CHECK(cudaMalloc(&d_mask, count));
    CUDA_CHECK(cudaMalloc(&d_rs, sizeof rs));
    CUDA_CHECK(cudaMemcpy(d_acc, acc, sizeof(int32_t) * count, cudaMemcpyHostToDevice));
    static const int ks[] = {31, 8, 4, 2, 1};
    long bad = 0, cases = 0;
    for (int ki = 0; ki < 5; ki++)
        for (int mode = 0; mode < 3; mode++)
            for (int per_channel = 0; per_channel < 2; per_channel++) {
                for (int c = 0; c < channels; c++)
                    ratq_rescale_from_real(ldexp(1.0 + (double)(rng(&st) % 1000) / 1000.0, -8 - (int)(rng(&st) % 6)),
                                           ks[ki], &rs[c]);
                CUDA_CHECK(cudaMemcpy(d_rs, rs, sizeof rs, cudaMemcpyHostToDevice));
                ratq_requant_s8 rq_cpu = {rs, per_channel, -3, -100, 127, (ratq_rounding)mode};
                ratq_requant_s8 rq_gpu = rq_cpu;
                rq_gpu.rescale = d_rs;
                ratq_requantize_s8_cpu(acc, count, channels, &rq_cpu, cpu);
                ratq_requantize_mask_cpu(acc, count, channels, &rq_cpu, mcpu);
                ratq_requantize_s8_cuda(d_acc, count, channels, &rq_gpu, d_out, 0);
                ratq_requantize_mask_cuda(d_acc, count, channels, &rq_gpu, d_mask, 0);
                CUDA_CHECK(cudaMemcpy(gpu, d_out, count, cudaMemcpyDeviceToHost));
                CUDA_CHECK(cudaMemcpy(mgpu, d_mask, count, cudaMemcpyDeviceToHost));
                cases++;
                for (int64_t i = 0; i < count; i++)
                    if (cpu[i] != gpu[i] || mcpu[i] != mgpu[i]) {
                        if (bad++ < 10)
                            fprintf(stderr, "k=%d mode=%d pc=%d i=%lld: cpu %d/%d gpu %d/%d\n", ks[ki], mode,
                                    per_channel, (long long)i, cpu[i], mcpu[i], gpu[i], mgpu[i]);
                    }
            }
    CUDA_CHECK(cudaFree(d_acc));
    CUDA_CHECK(cudaFree(d_out));
    CUDA_CHECK(cudaFree(d_mask));
    CUDA_CHECK(cudaFree(d_rs));
    free(acc), free(cpu), free(gpu), free(mcpu), free(mgpu);
    printf("test_requant_cuda: %ld configurations x %lld elements, %ld mismatches\n", cases, (long long)count, bad);
    return bad ? 1 : 0;
}
