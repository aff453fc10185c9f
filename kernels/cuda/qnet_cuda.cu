// qnet_cuda.cu — the glue kernels of the fake-quant network on the GPU (kernels/cuda/qnet_cuda.h): one thread per
// element (grid-stride), each thread writes only its own element (no atomics, no races), the per-element
// arithmetic from qnet_cuda.h / train_elem.h.
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/qnet_cuda.h"

static __global__ void input_s8_kernel(int64_t count, const uint8_t *img, int8_t *q) {
    RATQ_GRID_STRIDE_LOOP(i, count) q[i] = ratq_input_s8_from_u8(img[i]);
}

static __global__ void dequant_kernel(int64_t count, const int8_t *x, float scale, int32_t zp, float *out) {
    RATQ_GRID_STRIDE_LOOP(i, count) out[i] = ratq_dequantize_s8(x[i], scale, zp);
}

static __global__ void accumulate_kernel(int64_t count, float *dst, const float *src) {
    RATQ_GRID_STRIDE_LOOP(i, count) dst[i] += src[i];
}

static __global__ void add_bwd_kernel(int64_t count, const float *dy, const uint8_t *mask, float ra, float rb, float *da,
                                      float *db) {
    RATQ_GRID_STRIDE_LOOP(i, count) {
        const float g = ratq_qnet_add_ste(dy[i], mask[i]);
        if (da) da[i] += g * ra;
        if (db) db[i] += g * rb;
    }
}

// One thread per dx element [n][hw][c]: reads its (image, channel) upstream gradient.
static __global__ void gap_bwd_kernel(int64_t count, int hw, int c, const float *dy, const uint8_t *mask, float r,
                                      float *dx) {
    RATQ_GRID_STRIDE_LOOP(i, count) {
        const int64_t ch = i % c, b = i / ((int64_t)hw * c);
        const int64_t j = b * c + ch;
        dx[i] += ratq_ste_grad(dy[j], mask[j], r);
    }
}

extern "C" void ratq_qnet_input_s8_cuda(int64_t count, const uint8_t *img, int8_t *q, cudaStream_t stream) {
    if (count <= 0) return;
    input_s8_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, img, q);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_qnet_dequant_cuda(int64_t count, const int8_t *x, float scale, int32_t zp, float *out,
                                       cudaStream_t stream) {
    if (count <= 0) return;
    dequant_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, x, scale, zp, out);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_accumulate_cuda(int64_t count, float *dst, const float *src, cudaStream_t stream) {
    if (count <= 0) return;
    accumulate_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, dst, src);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_qnet_add_bwd_cuda(int64_t count, const float *dy, const uint8_t *mask, float ratio_a,
                                       float ratio_b, float *da, float *db, cudaStream_t stream) {
    if (count <= 0 || (!da && !db)) return;
    add_bwd_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, dy, mask, ratio_a,
                                                                                          ratio_b, da, db);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_qnet_gap_bwd_cuda(int n, int hw, int c, const float *dy, const uint8_t *mask, float r, float *dx,
                                       cudaStream_t stream) {
    const int64_t count = (int64_t)n * hw * c;
    if (count <= 0) return;
    gap_bwd_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, hw, c, dy, mask, r,
                                                                                          dx);
    CUDA_CHECK_LAUNCH();
}
