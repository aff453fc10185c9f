// quantize_cuda.cu — the per-step weight quantization of Rescale-Aware Training on the GPU (declared in
// kernels/cuda/qnet_cuda.h): one warp per output channel runs the shared element functions of
// kernels/cuda/quantize_elem.h (the CPU's ratq_qnet_quantize expressions): the lanes read the channel's master
// weights, reduce max |w| (order-free, exact), every lane derives the same (S_w, m, s, ratio) from it, the lanes
// write the int8 weights and the dequantized float weights, lane 0 the bias, scale, rescaler and ratio.
// A failing channel (non-finite weight or bias, multiplier out of range) records ratq_qe_error_key with
// atomicMin (an integer: the CPU's first error in op / channel order, whatever the scheduling) and is not written
// further; the caller reads the status after the step (host/quant/qnet_cuda.c names op and channel).
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/qnet_cuda.h"
#include "cuda/quantize_elem.h"

#define QE_WARPS 8 // channels per block

static __global__ void quantize_kernel(int64_t n_ch, const ratq_qe_channel_desc *desc, const float *params, int k,
                                       int snap, int8_t *wq, float *wr, int32_t *bq, ratq_rescale *rs, float *ratio,
                                       double *scale, unsigned long long *status) {
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    const int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
    const int64_t nwarps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t c = warp; c < n_ch; c += nwarps) {
        const ratq_qe_channel_desc d = desc[c];
        double amax = 0.0;
        int bad = 0;
        for (int j = lane; j < d.per_oc; j += 32) {
            const double a = ratq_qe_abs(params[d.w_off + (int64_t)j * d.stride]);
            if (!ratq_qe_abs_ok(a)) bad = 1;
            else if (a > amax) amax = a;
        }
        bad = __any_sync(full, bad);
        for (int off = 16; off > 0; off >>= 1) {
            const double o = __shfl_xor_sync(full, amax, off);
            amax = o > amax ? o : amax;
        }
        if (bad) {
            if (lane == 0) atomicMin(status, (unsigned long long)ratq_qe_error_key(d.op, d.ch, RATQ_QE_WEIGHT_NONFINITE));
            continue;
        }
        double sw;
        ratq_rescale r;
        float rt;
        if (ratq_qe_channel(amax, params[d.b_off], d.sx, d.sy, k, snap, &sw, &r, &rt) != RATQ_QE_OK) { // same on every lane
            if (lane == 0) atomicMin(status, (unsigned long long)ratq_qe_error_key(d.op, d.ch, RATQ_QE_RANGE));
            continue;
        }
        for (int j = lane; j < d.per_oc; j += 32) {
            const int64_t o = (int64_t)j * d.stride;
            wq[d.wq_off + o] = ratq_qe_weight(params[d.w_off + o], sw, &wr[d.w_off + o]);
        }
        if (lane == 0) {
            scale[d.slot] = sw;
            rs[d.slot] = r;
            ratio[d.slot] = rt;
            if (ratq_qe_bias(params[d.b_off], d.sx, sw, &bq[d.slot]) != RATQ_QE_OK)
                atomicMin(status, (unsigned long long)ratq_qe_error_key(d.op, d.ch, RATQ_QE_BIAS_NONFINITE));
        }
    }
}

extern "C" void ratq_quantize_weights_cuda(int64_t n_ch, const ratq_qe_channel_desc *desc, const float *params, int k,
                                           int snap, int8_t *wq, float *wr, int32_t *bq, ratq_rescale *rs,
                                           float *ratio, double *scale, unsigned long long *status,
                                           cudaStream_t stream) {
    if (n_ch <= 0) return;
    const int block = 32 * QE_WARPS;
    quantize_kernel<<<ratq_grid_for(n_ch * 32, block), block, 0, stream>>>(n_ch, desc, params, k, snap, wq, wr, bq, rs,
                                                                           ratio, scale, status);
    CUDA_CHECK_LAUNCH();
}
