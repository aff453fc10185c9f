// ste_bwd_cuda.cu — the STE prologue of a CONV / DW / FC backward on the GPU (host/quant/qnet.h, the loop in
// host/quant/fake.c): g[i] = mask[i] ? dy[i] * ratio[i % channels] : 0, one thread per element through the shared
// element function ratq_ste_grad (kernels/cuda/train_elem.h, checked on the host by test_cuda_ste_host).
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

static __global__ void ste_grad_kernel(int64_t count, int channels, const float *dy, const uint8_t *mask,
                                       const float *ratio, float *g) {
    RATQ_GRID_STRIDE_LOOP(i, count) g[i] = ratq_ste_grad(dy[i], mask[i], ratio[i % channels]);
}

extern "C" void ratq_ste_grad_cuda(int64_t count, int channels, const float *dy, const uint8_t *mask,
                                   const float *ratio, float *g, cudaStream_t stream) {
    if (count <= 0) return;
    ste_grad_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, channels, dy, mask,
                                                                                           ratio, g);
    CUDA_CHECK_LAUNCH();
}
