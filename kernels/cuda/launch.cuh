// launch.cuh — launch-geometry helpers shared by the grid-stride kernels in kernels/cuda/.
#ifndef RATQ_CUDA_LAUNCH_CUH
#define RATQ_CUDA_LAUNCH_CUH

#include <stdint.h>

#define RATQ_CUDA_BLOCK 256

// Blocks for a grid-stride loop over `count` elements with `block` threads: ceil(count/block), at least 1,
// at most 2^20 (each thread then loops).
static inline unsigned ratq_grid_for(int64_t count, int block) {
    const int64_t g = (count + block - 1) / block;
    return (unsigned)(g < ((int64_t)1 << 20) ? (g > 0 ? g : 1) : ((int64_t)1 << 20));
}

// First index and stride of a 1-D grid-stride loop (64-bit: tensors may exceed 2^31 elements).
#define RATQ_GRID_STRIDE_LOOP(i, count)                                                                              \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (count); i += (int64_t)gridDim.x * blockDim.x)

#endif
