// test_nccl.c — the real NCCL path on however many GPU ranks launched it (one rank in the GPU check; mpirun or
// RATQ_RANK/RATQ_WORLD_SIZE for more): the device all-reduce mean equals the host all-reduce of dist.h
// within float rounding (NCCL's reduction order is its own: |d| <= 4 ulp-scale 1e-6 relative), and with one
// rank it is the identity bit for bit. Exit 77 (skipped) without a CUDA device.
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dist/dist.h"
#include "dist/nccl.h"

int main(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        printf("test_nccl: no CUDA device, skipped\n");
        return 77;
    }
    ratq_dist *d = ratq_dist_init(NULL);
    if (!d) return 2;
    ratq_nccl *c = ratq_nccl_init(d);
    if (!c) return 1;
    const size_t count = 1 << 20;
    const int rank = ratq_dist_rank(d), world = ratq_dist_world(d);
    float *h = malloc(sizeof(float) * count), *ref = malloc(sizeof(float) * count), *dev;
    for (size_t i = 0; i < count; i++) h[i] = ref[i] = (float)((i * 7919 + (size_t)rank * 104729) % 10007) * 1e-3f - 5.0f;
    if (cudaMalloc((void **)&dev, sizeof(float) * count) != cudaSuccess ||
        cudaMemcpy(dev, h, sizeof(float) * count, cudaMemcpyHostToDevice) != cudaSuccess) {
        fprintf(stderr, "test_nccl: CUDA setup failed\n");
        return 1;
    }
    ratq_dist_allreduce_mean_f32(d, ref, count);
    ratq_nccl_allreduce_mean_f32(c, dev, count, NULL);
    if (cudaMemcpy(h, dev, sizeof(float) * count, cudaMemcpyDeviceToHost) != cudaSuccess) return 1;
    size_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        float tol = world == 1 ? 0.0f : 1e-6f * (fabsf(ref[i]) + 5.0f);
        if (fabsf(h[i] - ref[i]) > tol && bad++ < 5) fprintf(stderr, "i=%zu nccl %g host %g\n", i, h[i], ref[i]);
    }
    cudaFree(dev);
    ratq_nccl_finalize(c);
    ratq_dist_finalize(d);
    free(h), free(ref);
    printf("test_nccl: rank %d of %d, %zu elements, %zu mismatches\n", rank, world, count, bad);
    return bad ? 1 : 0;
}
