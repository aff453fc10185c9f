// int_fast_epilogue.h — the output stage over [rows][n] accumulators, shared by the kernel tables of int_fast_c.c and
// int_fast_avx2.c (compiled once per instruction set). Each element goes through ratq_requantize (math/rescale.h),
// the one definition; the rounding mode and the per-channel choice are hoisted out of the loop so that the compiler
// inlines one mode's arithmetic.
#ifndef RATQ_CPU_INT_FAST_EPILOGUE_H
#define RATQ_CPU_INT_FAST_EPILOGUE_H

#include "int_ops.h"

#define RATQ_FAST_REQUANT_LOOP(MODE)                                                                                  \
    for (int64_t r = 0; r < rows; r++) {                                                                              \
        const int32_t *a = acc + r * n;                                                                               \
        int8_t *o = out + r * n;                                                                                      \
        if (rq->per_channel)                                                                                          \
            for (int c = 0; c < n; c++) o[c] = (int8_t)ratq_requantize(a[c], rs[c], zp, lo, hi, MODE);               \
        else                                                                                                          \
            for (int c = 0; c < n; c++) o[c] = (int8_t)ratq_requantize(a[c], rs[0], zp, lo, hi, MODE);               \
    }

static inline void ratq_fast_requant_rows(const int32_t *acc, int64_t rows, int n, const ratq_requant_s8 *rq,
                                          int8_t *out) {
    const ratq_rescale *rs = rq->rescale;
    const int32_t zp = rq->output_offset, lo = rq->act_min, hi = rq->act_max;
    switch (rq->rounding) {
    case RATQ_ROUND_TFLITE: RATQ_FAST_REQUANT_LOOP(RATQ_ROUND_TFLITE) break;
    case RATQ_ROUND_HALF_EVEN: RATQ_FAST_REQUANT_LOOP(RATQ_ROUND_HALF_EVEN) break;
    default: RATQ_FAST_REQUANT_LOOP(RATQ_ROUND_SINGLE) break;
    }
}

#endif
