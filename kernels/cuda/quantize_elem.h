// quantize_elem.h — the per-channel weight quantization of the fake-quant network (host/quant/qnet.h, "weights",
// "biases", "Scale snapping") as the GPU kernel runs it (kernels/cuda/quantize_cuda.cu, one warp per channel):
// ratq_qnet_quantize's per-channel sequence (host/quant/fake.c) over the one definition of the grids
// (kernels/math/quant_grid.h) and the multipliers (kernels/math/rescale.h). RATQ_HD; double arithmetic only (+ - * /,
// fabs, round, frexp, ldexp, nextafter: exact or correctly rounded on both sides, nvcc -fmad=false), so the device
// results are the CPU's bit for bit (tests/cpu/test_quantize_elem.c runs these functions on the host against
// ratq_qnet_quantize; tests/gpu/test_rat_step_cuda.c the kernel).
//
// One output channel c of a CONV / DW / FC op, weights w_j (j < per_oc), bias b, input scale S_x, output scale S_y:
//   amax   = max_j |w_j| (in double; order-free), error if some |w_j| is not finite (> 3.4e38 or NaN)
//   S_w, (m, s), r = ratq_weight_channel_grid(amax, b, S_x, S_y, k, snap)  (quant_grid.h; error if out of range):
//            the bias-fit weight scale, the k-bit multiplier (snapped or not) and the STE ratio
//   q_j    = ratq_quantize_weight_s8(w_j, S_w);  wr_j = ratq_dequantize_weight_s8(q_j, S_w)
//   q_b    = ratq_quantize_bias_s32(b, S_x, S_w)                                               (error if not finite)
#ifndef RATQ_CUDA_QUANTIZE_ELEM_H
#define RATQ_CUDA_QUANTIZE_ELEM_H

#include <math.h>
#include <stdint.h>

#include "math/quant_grid.h"
#include "math/rescale.h"

// Error kinds of one channel (reported as host/quant/fake.c reports them).
enum { RATQ_QE_OK = 0, RATQ_QE_WEIGHT_NONFINITE = 1, RATQ_QE_RANGE = 2, RATQ_QE_BIAS_NONFINITE = 3 };

// |w| as double, and whether it is finite in the CPU's sense (a <= 3.4e38; NaN fails).
RATQ_HD double ratq_qe_abs(float w) { return fabs((double)w); }
RATQ_HD int ratq_qe_abs_ok(double a) { return a <= 3.4e38; }

// Per-channel quantization parameters from amax and the bias (see above). Returns RATQ_QE_OK or RATQ_QE_RANGE.
RATQ_HD int ratq_qe_channel(double amax, float b, double sx, double sy, int k, int snap, double *sw_out,
                            ratq_rescale *r, float *ratio) {
    return ratq_weight_channel_grid(amax, (double)b, sx, sy, k, snap, sw_out, r, ratio, NULL) == 0 ? RATQ_QE_OK
                                                                                                  : RATQ_QE_RANGE;
}

// One weight: q = ratq_quantize_weight_s8(w, S_w), *wr = its dequantized float.
RATQ_HD int8_t ratq_qe_weight(float w, double sw, float *wr) {
    const int8_t q = ratq_quantize_weight_s8((double)w, sw);
    *wr = ratq_dequantize_weight_s8(q, sw);
    return q;
}

// The bias. Returns RATQ_QE_OK or RATQ_QE_BIAS_NONFINITE.
RATQ_HD int ratq_qe_bias(float b, double sx, double sw, int32_t *bq) {
    return ratq_quantize_bias_s32((double)b, sx, sw, bq) == 0 ? RATQ_QE_OK : RATQ_QE_BIAS_NONFINITE;
}

// One output channel in the device table (built on the host by host/quant/qnet_cuda.c from the op list).
typedef struct {
    int64_t w_off;     // first master weight of the channel in params / wr (CONV/FC: o->w_off + c*per_oc; DW: + c)
    int64_t wq_off;    // first int8 weight in the device int8 weight buffer (same stride)
    int64_t b_off;     // the channel's master bias in params
    int32_t stride;    // distance between the channel's weights: 1 (CONV, FC) or oc (DW)
    int32_t per_oc;    // weights per channel
    int32_t slot;      // index in the per-channel arrays (bq, rs, ratio, scale)
    int32_t op, ch;    // op index and channel, for the error report
    double sx, sy;     // input / output activation scales (double of the float scales)
} ratq_qe_channel_desc;

// Error key of a failed channel: ordered like the CPU's loop (op, then channel), so the minimum over all failed
// channels is the error the CPU reports first. 0 = no error.
RATQ_HD uint64_t ratq_qe_error_key(int op, int ch, int kind) {
    return ((uint64_t)(uint32_t)op << 40) | ((uint64_t)(uint32_t)ch << 8) | (uint64_t)kind;
}
RATQ_HD void ratq_qe_error_decode(uint64_t key, int *op, int *ch, int *kind) {
    *op = (int)(key >> 40);
    *ch = (int)((key >> 8) & 0xffffffffu);
    *kind = (int)(key & 0xff);
}

// The whole channel on one thread (the host reference of the kernel, also its per-channel structure): returns
// RATQ_QE_OK or the error kind; on error nothing after the failing step is written (as the CPU's early return).
static inline int ratq_qe_channel_ref(const ratq_qe_channel_desc *d, const float *params, int k, int snap, int8_t *wq,
                                      float *wr, int32_t *bq, ratq_rescale *rs, float *ratio, double *scale) {
    double amax = 0;
    for (int j = 0; j < d->per_oc; j++) {
        const double a = ratq_qe_abs(params[d->w_off + (int64_t)j * d->stride]);
        if (!ratq_qe_abs_ok(a)) return RATQ_QE_WEIGHT_NONFINITE;
        if (a > amax) amax = a;
    }
    double sw;
    ratq_rescale r;
    float rt;
    if (ratq_qe_channel(amax, params[d->b_off], d->sx, d->sy, k, snap, &sw, &r, &rt) != RATQ_QE_OK) return RATQ_QE_RANGE;
    scale[d->slot] = sw;
    rs[d->slot] = r;
    ratio[d->slot] = rt;
    for (int j = 0; j < d->per_oc; j++) {
        const int64_t o = (int64_t)j * d->stride;
        wq[d->wq_off + o] = ratq_qe_weight(params[d->w_off + o], sw, &wr[d->w_off + o]);
    }
    return ratq_qe_bias(params[d->b_off], d->sx, sw, &bq[d->slot]);
}

#endif
