// depthwise_cuda.cu — depthwise conv (any kernel size, stride, dilation, padding, depth multiplier; used for
// 3x3 and 5x5, stride 1 and 2, SAME), twin of ratq_depthwise_s8_cpu / ratq_depthwise_acc_s32_cpu.
// Layouts: input [batch][in_h][in_w][in_c], weights [kernel_h][kernel_w][out_c], output [batch][out_h][out_w][out_c],
// out channel oc reads input channel oc / depth_multiplier.
//
// One thread per output element with the channel fastest: a warp reads 32 consecutive channels of one input pixel
// and 32 consecutive weights per tap (coalesced), and writes 32 consecutive outputs.
//
// Exactness: acc = bias + sum over the taps inside the input of (x + io) * w, the CPU's sum (taps outside are
// skipped = padding with the input zero point). Each term is bounded by (128 + |io|) * 128; the host picks int32
// accumulation when taps * that bound < 2^31 (every real kernel: 25 taps * 255 * 128 < 2^20), else int64, so
// the partial sums never wrap; the bias is added in int64 and the total saturated to int32 as on the CPU.
#include <stdint.h>

#include "cuda/cuda_check.h"
#include "cuda/epilogue.cuh"
#include "cuda/launch.cuh"
#include "cuda/ops_cuda.h"

template <typename ACC, bool FUSED>
__global__ void depthwise_kernel(ratq_conv_shape sh, const int8_t *in, int32_t io, const int8_t *w,
                                 const int32_t *bias, ratq_epilogue_params ep, int8_t *out, uint8_t *mask,
                                 int32_t *acc_out) {
    const int64_t total = (int64_t)sh.batch * sh.out_h * sh.out_w * sh.out_c;
    RATQ_GRID_STRIDE_LOOP(i, total) {
        const int oc = (int)(i % sh.out_c);
        int64_t t = i / sh.out_c;
        const int ox = (int)(t % sh.out_w);
        t /= sh.out_w;
        const int oy = (int)(t % sh.out_h);
        const int64_t n = t / sh.out_h;
        const int ic = oc / sh.depth_multiplier;
        ACC sum = 0;
        for (int ky = 0; ky < sh.kernel_h; ky++) {
            const int iy = oy * sh.stride_h - sh.pad_top + ky * sh.dilation_h;
            if (iy < 0 || iy >= sh.in_h) continue;
            for (int kx = 0; kx < sh.kernel_w; kx++) {
                const int ix = ox * sh.stride_w - sh.pad_left + kx * sh.dilation_w;
                if (ix < 0 || ix >= sh.in_w) continue;
                const ACC x = in[((n * sh.in_h + iy) * sh.in_w + ix) * sh.in_c + ic];
                const ACC wv = w[((int64_t)ky * sh.kernel_w + kx) * sh.out_c + oc];
                sum += (x + io) * wv;
            }
        }
        const int64_t acc = (bias ? (int64_t)bias[oc] : 0) + (int64_t)sum;
        ratq_epilogue_store<FUSED>(ep, i, ratq_sat_i32(acc), oc, out, mask, acc_out);
    }
}

template <typename ACC>
static void depthwise_launch_t(bool fused, unsigned grid, const ratq_conv_shape *sh, const int8_t *in, int32_t io,
                               const int8_t *w, const int32_t *bias, const ratq_epilogue_params &ep, int8_t *out,
                               uint8_t *mask, int32_t *acc_out, cudaStream_t stream) {
    if (fused)
        depthwise_kernel<ACC, true><<<grid, RATQ_CUDA_BLOCK, 0, stream>>>(*sh, in, io, w, bias, ep, out, mask, acc_out);
    else
        depthwise_kernel<ACC, false><<<grid, RATQ_CUDA_BLOCK, 0, stream>>>(*sh, in, io, w, bias, ep, out, mask,
                                                                          acc_out);
    CUDA_CHECK_LAUNCH();
}

static void depthwise_any(bool fused, const ratq_conv_shape *sh, const int8_t *in, int32_t io, const int8_t *w,
                          const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask,
                          int32_t *acc_out, cudaStream_t stream) {
    const int64_t total = (int64_t)sh->batch * sh->out_h * sh->out_w * sh->out_c;
    if (total <= 0) return;
    ratq_epilogue_params ep = {};
    if (fused) ep = ratq_epilogue_make(rq);
    const unsigned grid = ratq_grid_for(total, RATQ_CUDA_BLOCK);
    // Bound of |sum| (exactness argument above): taps * (128 + |io|) * 128.
    const int64_t io_abs = io < 0 ? -(int64_t)io : (int64_t)io;
    const int64_t bound = (int64_t)sh->kernel_h * sh->kernel_w * (128 + io_abs) * 128;
    if (bound < INT32_MAX)
        depthwise_launch_t<int32_t>(fused, grid, sh, in, io, w, bias, ep, out, mask, acc_out, stream);
    else
        depthwise_launch_t<int64_t>(fused, grid, sh, in, io, w, bias, ep, out, mask, acc_out, stream);
}

extern "C" void ratq_depthwise_s8_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset,
                                       const int8_t *w, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out,
                                       uint8_t *mask, cudaStream_t stream) {
    depthwise_any(true, sh, in, input_offset, w, bias, rq, out, mask, nullptr, stream);
}

extern "C" void ratq_depthwise_acc_s32_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset,
                                            const int8_t *w, const int32_t *bias, int32_t *acc, cudaStream_t stream) {
    depthwise_any(false, sh, in, input_offset, w, bias, nullptr, nullptr, nullptr, acc, stream);
}
