// requant_cuda.cu — the output stage on the GPU: one thread per element, the shared arithmetic
// (kernels/math/rescale.h) called per element exactly as the CPU engine does.
#include "cuda/cuda_check.h"
#include "cuda/ops_cuda.h"

// rq is passed by value; rq.rescale is a device pointer.
__global__ void requantize_s8_kernel(const int32_t *acc, int64_t count, int channels, ratq_requant_s8 rq, int8_t *out) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count; i += (int64_t)gridDim.x * blockDim.x) {
        const ratq_rescale r = rq.rescale[rq.per_channel ? (int)(i % channels) : 0];
        out[i] = (int8_t)ratq_requantize(acc[i], r, rq.output_offset, rq.act_min, rq.act_max, rq.rounding);
    }
}

__global__ void requantize_mask_kernel(const int32_t *acc, int64_t count, int channels, ratq_requant_s8 rq,
                                       uint8_t *mask) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count; i += (int64_t)gridDim.x * blockDim.x) {
        const ratq_rescale r = rq.rescale[rq.per_channel ? (int)(i % channels) : 0];
        mask[i] = (uint8_t)ratq_requantize_ste_mask(acc[i], r, rq.output_offset, rq.act_min, rq.act_max, rq.rounding);
    }
}

static unsigned grid_for(int64_t count, int block) {
    int64_t g = (count + block - 1) / block;
    return (unsigned)(g < 65535 * 16 ? (g > 0 ? g : 1) : 65535 * 16);
}

extern "C" void ratq_requantize_s8_cuda(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq,
                                        int8_t *out, cudaStream_t stream) {
    requantize_s8_kernel<<<grid_for(count, 256), 256, 0, stream>>>(acc, count, channels, *rq, out);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_requantize_mask_cuda(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq,
                                          uint8_t *mask, cudaStream_t stream) {
    requantize_mask_kernel<<<grid_for(count, 256), 256, 0, stream>>>(acc, count, channels, *rq, mask);
    CUDA_CHECK_LAUNCH();
}
