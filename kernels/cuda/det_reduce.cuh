// det_reduce.cuh — deterministic column reductions for the training kernels (no floating-point atomics).
//
// Pattern: a block of RATQ_DET_COLS x RATQ_DET_LANES threads owns RATQ_DET_COLS consecutive columns; its
// RATQ_DET_LANES lanes each sum a fixed subset of the rows in double; lane sums are added in lane order
// (0, 1, ...) into one partial per (partition, column); ratq_det_final_kernel adds the partials of each column in
// partition order and rounds once to float. The partition count is a function of the shape only, so the result
// is the same on every device and every run.
#ifndef RATQ_CUDA_DET_REDUCE_CUH
#define RATQ_CUDA_DET_REDUCE_CUH

#include <stdint.h>

#define RATQ_DET_COLS 32  // columns per block (one warp: coalesced over NHWC channels)
#define RATQ_DET_LANES 8  // row lanes per block
#define RATQ_DET_MAX_PARTS 256

// Lane sums of a block -> one double per column, lanes added in order 0..RATQ_DET_LANES-1. Every thread of the
// block must call it (it synchronizes). Returns the block sum in threads with threadIdx.y == 0.
static __device__ double ratq_det_block_sum(double lane_sum) {
    __shared__ double sh[RATQ_DET_LANES][RATQ_DET_COLS];
    sh[threadIdx.y][threadIdx.x] = lane_sum;
    __syncthreads();
    double s = 0.0;
    if (threadIdx.y == 0)
        for (int l = 0; l < RATQ_DET_LANES; l++) s += sh[l][threadIdx.x];
    __syncthreads(); // sh may be reused by the caller's next call
    return s;
}

// out[j] = (float) sum_{b < parts} part[b*count + j], b ascending.
static __global__ void ratq_det_final_kernel(int parts, int64_t count, const double *part, float *out) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < count; j += (int64_t)gridDim.x * blockDim.x) {
        double s = 0.0;
        for (int b = 0; b < parts; b++) s += part[(int64_t)b * count + j];
        out[j] = (float)s;
    }
}

// Number of row partitions for `rows` rows when each lane should get at least `rows_per_lane` of them.
static inline int ratq_det_parts(int64_t rows, int64_t rows_per_lane) {
    const int64_t lanes = (rows + rows_per_lane - 1) / rows_per_lane;
    int64_t parts = (lanes + RATQ_DET_LANES - 1) / RATQ_DET_LANES;
    if (parts < 1) parts = 1;
    if (parts > RATQ_DET_MAX_PARTS) parts = RATQ_DET_MAX_PARTS;
    return (int)parts;
}

#endif
