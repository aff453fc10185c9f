// epilogue.cuh — the fused output stage of the CUDA integer kernels (CUTLASS-style epilogue functor).
//
// Params are built on the host from the op's ratq_requant_s8 (rescale points to DEVICE memory when the
// functor runs in a kernel, to host memory when it is called from host code, e.g. the unit test). Applied per
// output element after the main loop:
//     t    = R(acc * m[c] * 2^-s[c]) + output_offset          (ratq_scale, kernels/math/rescale.h; 64-bit)
//     y    = clamp(t, act_min, act_max)                         == ratq_requantize(acc, ...)
//     mask = act_min <= t <= act_max                            == ratq_requantize_ste_mask(acc, ...)
// i.e. ratq_requantize_masked (rescale.h), which evaluates the scale once and derives both results from it
// (tests/cpu/test_cuda_epilogue_host.cu checks it against ratq_requantize / ratq_requantize_ste_mask over every
// rounding mode, k in 1..31 and edge accumulators).
//
// STE mask layout: one uint8 (0 or 1) per output element, same index as the int8 output ([...][out_c], NHWC).
// Chosen over bit packing because each output is written by exactly one thread with no read-modify-write of
// shared words (any tiling, any out_c, no atomics, no pre-zeroing), and the layout is the one of the CPU twin
// ratq_requantize_mask_cpu, so tests compare the buffers directly. A NULL mask pointer skips the store.
//
// Also here: the add's output stage as Params (the value entering it is ratq_add_acc_s8, kernels/math/add_s8.h).
#ifndef RATQ_CUDA_EPILOGUE_CUH
#define RATQ_CUDA_EPILOGUE_CUH

#include <stdint.h>

#include "cpu/int_ops.h" // ratq_requant_s8, ratq_add_params_s8 (math/add_s8.h)
#include "math/rescale.h"

// The functor's parameters (by value into a kernel). Same fields as ratq_requant_s8.
typedef struct {
    const ratq_rescale *rescale; // [per_channel ? out_c : 1]; device memory in a kernel
    int per_channel;             // 1: rescale[c], 0: rescale[0]
    int32_t output_offset;       // z_y
    int32_t act_min, act_max;    // clamp, within [-128, 127]
    ratq_rounding rounding;
} ratq_epilogue_params;

// Host side: the Params of an op's output stage (rq->rescale must already be the pointer the code will read).
RATQ_HD ratq_epilogue_params ratq_epilogue_make(const ratq_requant_s8 *rq) {
    ratq_epilogue_params p;
    p.rescale = rq->rescale;
    p.per_channel = rq->per_channel;
    p.output_offset = rq->output_offset;
    p.act_min = rq->act_min;
    p.act_max = rq->act_max;
    p.rounding = rq->rounding;
    return p;
}

// The rescaler of output channel c.
RATQ_HD ratq_rescale ratq_epilogue_rescale(const ratq_epilogue_params *p, int c) {
    return p->rescale[p->per_channel ? c : 0];
}

// y = clamp(R(acc * r) + zp, lo, hi) and *mask = (lo <= R(acc * r) + zp <= hi), r given (already loaded).
RATQ_HD int8_t ratq_epilogue_apply_r(const ratq_epilogue_params *p, int32_t acc, ratq_rescale r, uint8_t *mask) {
    return (int8_t)ratq_requantize_masked(acc, r, p->output_offset, p->act_min, p->act_max, p->rounding, mask);
}

// The same for output channel c.
RATQ_HD int8_t ratq_epilogue_apply(const ratq_epilogue_params *p, int32_t acc, int c, uint8_t *mask) {
    return ratq_epilogue_apply_r(p, acc, ratq_epilogue_rescale(p, c), mask);
}

// The output stage of the add as epilogue Params (per-tensor rescaler p->output, read from the host struct
// itself, so the Params must not outlive *p; kernels copy p by value and build it on the device).
RATQ_HD ratq_epilogue_params ratq_add_epilogue(const ratq_add_params_s8 *p) {
    ratq_epilogue_params e;
    e.rescale = &p->output;
    e.per_channel = 0;
    e.output_offset = p->output_offset;
    e.act_min = p->act_min;
    e.act_max = p->act_max;
    e.rounding = p->rounding;
    return e;
}

#ifdef __CUDACC__
// Store of one output element i of channel c by a per-element kernel: FUSED -> int8 y (+ mask if non-NULL)
// through the functor; otherwise the int32 accumulator itself (the unfused path).
template <bool FUSED>
__device__ __forceinline__ void ratq_epilogue_store(const ratq_epilogue_params &ep, int64_t i, int32_t acc, int c,
                                                    int8_t *out, uint8_t *mask, int32_t *acc_out) {
    if (FUSED) {
        uint8_t m;
        out[i] = ratq_epilogue_apply(&ep, acc, c, &m);
        if (mask) mask[i] = m;
    } else {
        acc_out[i] = acc;
    }
}
#endif

#endif
