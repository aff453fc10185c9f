// add_pool_cuda.cu — residual add and global average pool with their output rescalers, twins of
// ratq_add_s8_cpu and ratq_global_avgpool_s8_cpu (kernels/cpu/int_ops.h for the formulas).
//   add: one thread per element; the value entering the output requantization is ratq_add_acc_s8
//        (kernels/math/add_s8.h, as the CPU twin), then the fused epilogue with the per-tensor output rescaler.
//   GAP: one thread per (image, channel), channel fastest (a warp reads 32 consecutive channels of a pixel);
//        acc = sum over h*w of (x + input_offset) in int64 (exact), saturated to int32, then the epilogue with
//        rq->rescale[0] (per-tensor, as the CPU twin).
#include <stdint.h>

#include "cuda/cuda_check.h"
#include "cuda/epilogue.cuh"
#include "cuda/launch.cuh"
#include "cuda/ops_cuda.h"

__global__ void add_s8_kernel(int64_t count, const int8_t *a, const int8_t *b, ratq_add_params_s8 p, int8_t *out,
                              uint8_t *mask) {
    const ratq_epilogue_params ep = ratq_add_epilogue(&p); // points at this thread's copy of p.output
    RATQ_GRID_STRIDE_LOOP(i, count) {
        uint8_t m;
        out[i] = ratq_epilogue_apply(&ep, ratq_add_acc_s8(a[i], b[i], &p), 0, &m);
        if (mask) mask[i] = m;
    }
}

__global__ void global_avgpool_s8_kernel(int batch, int hw, int c, const int8_t *in, int32_t io,
                                         ratq_epilogue_params ep, int8_t *out, uint8_t *mask) {
    RATQ_GRID_STRIDE_LOOP(i, (int64_t)batch * c) {
        const int64_t n = i / c;
        const int ch = (int)(i % c);
        const int8_t *x = in + n * hw * c + ch;
        int64_t acc = 0;
        for (int p = 0; p < hw; p++) acc += x[(int64_t)p * c] + io;
        uint8_t m;
        out[i] = ratq_epilogue_apply(&ep, ratq_sat_i32(acc), 0, &m);
        if (mask) mask[i] = m;
    }
}

extern "C" void ratq_add_s8_cuda(int64_t count, const int8_t *a, const int8_t *b, const ratq_add_params_s8 *p,
                                 int8_t *out, uint8_t *mask, cudaStream_t stream) {
    if (count <= 0) return;
    add_s8_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, a, b, *p, out, mask);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_global_avgpool_s8_cuda(int batch, int h, int w, int c, const int8_t *in, int32_t input_offset,
                                            const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask,
                                            cudaStream_t stream) {
    const int64_t count = (int64_t)batch * c;
    if (count <= 0) return;
    ratq_epilogue_params ep = ratq_epilogue_make(rq);
    ep.per_channel = 0; // the CPU twin always reads rescale[0]
    global_avgpool_s8_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(
        batch, h * w, c, in, input_offset, ep, out, mask);
    CUDA_CHECK_LAUNCH();
}
