// pool_bwd_cuda.cu — global average pool backward on the GPU, twin of ratq_global_avgpool_bwd_cpu:
// dx[n][y][x][c] = dy[n][c] * (float)(1 / (double)(H*W)), one thread per dx element (kernels/cuda/train_elem.h).
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

static __global__ void gap_bwd_kernel(ratq_pool_params p, const float *dy, float inv, int64_t count, float *dx) {
    RATQ_GRID_STRIDE_LOOP(i, count) dx[i] = ratq_gap_bwd_elem(&p, dy, inv, i);
}

extern "C" void ratq_global_avgpool_bwd_cuda(const ratq_pool_params *p, const float *dy, float *dx,
                                             cudaStream_t stream) {
    const int64_t count = (int64_t)p->n * p->h * p->w * p->c;
    if (count <= 0) return;
    gap_bwd_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(*p, dy, ratq_gap_bwd_inv(p),
                                                                                          count, dx);
    CUDA_CHECK_LAUNCH();
}
