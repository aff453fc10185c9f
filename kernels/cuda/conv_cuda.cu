// conv_cuda.cu — integer conv and fully connected on the GPU, twins of ratq_conv_s8_cpu / ratq_fc_s8_cpu
// (and of their *_acc_s32_cpu accumulator-only forms). Layouts: kernels/cpu/int_ops.h (NHWC, OHWI weights).
//
// Paths:
//   * 1x1 conv (stride 1, no padding, groups 1) and FC: the int8 tensor-core GEMM of gemm_s8.cuh,
//     C[M][N] = A[M][K] . B[N][K]^T with A = input rows (1x1 NHWC: row r = pixel r, M = batch*h*w, K = in_c;
//     FC: M = batch, K = depth) and B = weights [out_c][K] (mma.sync m16n8k32 s8 -> s32, 128 x 64 block tiles).
//   * any other conv (the 3x3 stem, strided / padded / grouped / dilated convs): a direct kernel, one thread per
//     output element, the CPU loop order and padding rule (taps outside the input are skipped).
// Then the fused epilogue (epilogue.cuh) per element: int8 output and uint8 STE mask; or the int32 accumulator.
//
// Exactness (outputs are bit-identical to the CPU engine, which sums in int64 and saturates to int32):
//   GEMM: with x, w in [-128, 127] and offsets io = input_offset, fo = filter_offset,
//     sum_k (x_k + io)(w_k + fo) = D + fo*X + io*W + K*io*fo,   D = sum x_k w_k, X = sum x_k, W = sum w_k.
//   D is accumulated in int32 by the MMA from products |x w| <= 2^14: every partial sum, in any order, is bounded
//   by K * 2^14 < 2^31 for K <= 131071 (GEMM_MAX_K, checked on the host; larger K takes the direct path), so int32
//   never overflows. X and W (dp4a against 0x01010101, only when an offset is non-zero) are bounded by 128 K.
//   Zero padding of the K tail adds 0 to D, X and W; K in K*io*fo is the true K. The epilogue forms
//     acc = sat32(bias + D + fo*X + io*W + K*io*fo)   in int64,
//   which is the same integer the CPU computes term by term, so the saturated int32 is the same. For offsets
//   |io|, |fo| <= 2^15 (TFLite int8: io = -z_x in [-127, 128], fo = 0) every term is below 2^17 * 2^7 * 2^15 =
//   2^39 (K*io*fo < 2^47), far from int64 overflow.
//   Direct conv: int64 accumulation of (x + io)(w + fo) over exactly the CPU's taps, then sat32.
// The arithmetic after the accumulator is ratq_scale from kernels/math/rescale.h (built with -fmad=false).
#include <stdint.h>

#include "cuda/cuda_check.h"
#include "cuda/epilogue.cuh"
#include "cuda/gemm_s8.cuh"
#include "cuda/launch.cuh"
#include "cuda/ops_cuda.h"

// Direct conv: one thread per output element [n][oy][ox][oc]; the CPU's conv_acc loop (int_conv_s8.c).
template <bool FUSED>
__global__ void conv_direct_kernel(ratq_conv_shape sh, const int8_t *in, int32_t io, const int8_t *w, int32_t fo,
                                   const int32_t *bias, ratq_epilogue_params ep, int8_t *out, uint8_t *mask,
                                   int32_t *acc_out) {
    const int64_t total = (int64_t)sh.batch * sh.out_h * sh.out_w * sh.out_c;
    const int ic_per_group = sh.in_c / sh.groups, oc_per_group = sh.out_c / sh.groups;
    RATQ_GRID_STRIDE_LOOP(i, total) {
        const int oc = (int)(i % sh.out_c);
        int64_t t = i / sh.out_c;
        const int ox = (int)(t % sh.out_w);
        t /= sh.out_w;
        const int oy = (int)(t % sh.out_h);
        const int64_t n = t / sh.out_h;
        const int g = oc / oc_per_group;
        int64_t acc = bias ? bias[oc] : 0;
        for (int ky = 0; ky < sh.kernel_h; ky++) {
            const int iy = oy * sh.stride_h - sh.pad_top + ky * sh.dilation_h;
            if (iy < 0 || iy >= sh.in_h) continue;
            for (int kx = 0; kx < sh.kernel_w; kx++) {
                const int ix = ox * sh.stride_w - sh.pad_left + kx * sh.dilation_w;
                if (ix < 0 || ix >= sh.in_w) continue;
                const int8_t *xp = in + ((n * sh.in_h + iy) * sh.in_w + ix) * sh.in_c + (int64_t)g * ic_per_group;
                const int8_t *wp = w + (((int64_t)oc * sh.kernel_h + ky) * sh.kernel_w + kx) * ic_per_group;
                for (int ic = 0; ic < ic_per_group; ic++) acc += (int64_t)(xp[ic] + io) * (wp[ic] + fo);
            }
        }
        ratq_epilogue_store<FUSED>(ep, i, ratq_sat_i32(acc), oc, out, mask, acc_out);
    }
}

static void conv_direct_launch(bool fused, const ratq_conv_shape *sh, const int8_t *in, int32_t io, const int8_t *w,
                               int32_t fo, const int32_t *bias, const ratq_epilogue_params &ep, int8_t *out,
                               uint8_t *mask, int32_t *acc_out, cudaStream_t stream) {
    const int64_t total = (int64_t)sh->batch * sh->out_h * sh->out_w * sh->out_c;
    if (total <= 0) return;
    const unsigned grid = ratq_grid_for(total, RATQ_CUDA_BLOCK);
    if (fused)
        conv_direct_kernel<true><<<grid, RATQ_CUDA_BLOCK, 0, stream>>>(*sh, in, io, w, fo, bias, ep, out, mask, acc_out);
    else
        conv_direct_kernel<false><<<grid, RATQ_CUDA_BLOCK, 0, stream>>>(*sh, in, io, w, fo, bias, ep, out, mask,
                                                                       acc_out);
    CUDA_CHECK_LAUNCH();
}

// 1x1, stride 1, no padding, one group: output pixel r reads input pixel r, a plain GEMM over pixels.
static bool conv_is_pointwise(const ratq_conv_shape *sh) {
    return sh->kernel_h == 1 && sh->kernel_w == 1 && sh->stride_h == 1 && sh->stride_w == 1 && sh->pad_top == 0 &&
           sh->pad_left == 0 && sh->pad_bottom == 0 && sh->pad_right == 0 && sh->groups == 1 &&
           sh->out_h == sh->in_h && sh->out_w == sh->in_w && sh->in_c <= GEMM_MAX_K;
}

static void conv_any(bool fused, const ratq_conv_shape *sh, const int8_t *in, int32_t io, const int8_t *w, int32_t fo,
                     const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask, int32_t *acc_out,
                     cudaStream_t stream) {
    ratq_epilogue_params ep = {};
    if (fused) ep = ratq_epilogue_make(rq);
    if (conv_is_pointwise(sh))
        gemm_s8_launch(fused, (int64_t)sh->batch * sh->in_h * sh->in_w, sh->out_c, sh->in_c, in, w, io, fo, bias, ep,
                    out, mask, acc_out, stream);
    else
        conv_direct_launch(fused, sh, in, io, w, fo, bias, ep, out, mask, acc_out, stream);
}

// FC = GEMM with M = batch, K = depth; beyond GEMM_MAX_K the direct kernel on the same data seen as a 1x1 conv
// over a 1x1 image with in_c = depth (identical sums).
static void fc_any(bool fused, int batch, int depth, int out_c, const int8_t *in, int32_t io, const int8_t *w,
                   int32_t fo, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask,
                   int32_t *acc_out, cudaStream_t stream) {
    ratq_epilogue_params ep = {};
    if (fused) ep = ratq_epilogue_make(rq);
    if (depth <= GEMM_MAX_K) {
        gemm_s8_launch(fused, batch, out_c, depth, in, w, io, fo, bias, ep, out, mask, acc_out, stream);
        return;
    }
    ratq_conv_shape sh = {};
    sh.batch = batch, sh.in_h = sh.in_w = sh.out_h = sh.out_w = 1, sh.in_c = depth, sh.out_c = out_c;
    sh.kernel_h = sh.kernel_w = sh.stride_h = sh.stride_w = sh.dilation_h = sh.dilation_w = 1;
    sh.groups = sh.depth_multiplier = 1;
    conv_direct_launch(fused, &sh, in, io, w, fo, bias, ep, out, mask, acc_out, stream);
}

extern "C" void ratq_conv_s8_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                  int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out,
                                  uint8_t *mask, cudaStream_t stream) {
    conv_any(true, sh, in, input_offset, w, filter_offset, bias, rq, out, mask, nullptr, stream);
}

extern "C" void ratq_conv_acc_s32_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset,
                                       const int8_t *w, int32_t filter_offset, const int32_t *bias, int32_t *acc,
                                       cudaStream_t stream) {
    conv_any(false, sh, in, input_offset, w, filter_offset, bias, nullptr, nullptr, nullptr, acc, stream);
}

extern "C" void ratq_fc_s8_cuda(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset,
                                const int8_t *w, int32_t filter_offset, const int32_t *bias,
                                const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask, cudaStream_t stream) {
    fc_any(true, batch, depth, out_c, in, input_offset, w, filter_offset, bias, rq, out, mask, nullptr, stream);
}

extern "C" void ratq_fc_acc_s32_cuda(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset,
                                     const int8_t *w, int32_t filter_offset, const int32_t *bias, int32_t *acc,
                                     cudaStream_t stream) {
    fc_any(false, batch, depth, out_c, in, input_offset, w, filter_offset, bias, nullptr, nullptr, nullptr, acc,
           stream);
}
