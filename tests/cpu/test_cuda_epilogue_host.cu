// test_cuda_epilogue_host.cu — the CUDA epilogue functor (kernels/cuda/epilogue.cuh) run on the HOST (label cpu:
// compiled by nvcc, launches no kernel, needs no GPU). Checks, over every rounding mode, k = 1..31, per-tensor and
// per-channel rescalers and edge accumulators (INT32_MIN/MAX, 0, +-1, exact rounding ties), that
//   ratq_epilogue_apply(acc, c) == ratq_requantize(acc, rescale[c], ...)   and its mask == ratq_requantize_ste_mask,
// and that the add's pre-output value ratq_add_acc_s8 followed by the functor reproduces ratq_add_s8_cpu (output
// and STE mask) for all 256 x 256 input pairs.
#include <stdint.h>
#include <string.h>

#include "cpu/int_ops.h"
#include "cuda/epilogue.cuh"
#include "test_util.h"

#define CHANNELS 16

// An accumulator: mostly random magnitudes of every size, sometimes an edge value or an exact tie of r.
static int32_t pick_acc(uint64_t *st, ratq_rescale r) {
    switch (ratq_test_rng(st) % 8) {
    case 0: {
        static const int32_t edge[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX};
        return edge[ratq_test_rng(st) % 7];
    }
    case 1: { // acc*m/2^s = q + 1/2 exactly when acc*m = (2q+1)*2^(s-1) (if s >= 1 and m divides it)
        if (r.s >= 1 && r.s <= 40 && r.m > 0) {
            const int64_t q = ratq_test_range(st, -200, 200);
            const int64_t num = (2 * q + 1) * ((int64_t)1 << (r.s - 1));
            if (num % r.m == 0 && num / r.m >= INT32_MIN && num / r.m <= INT32_MAX) return (int32_t)(num / r.m);
        }
        return (int32_t)ratq_test_range(st, -1000, 1000);
    }
    default: {
        const int bits = (int)(ratq_test_rng(st) % 32);
        return (int32_t)ratq_test_range(st, -((int64_t)1 << bits), ((int64_t)1 << bits) - 1);
    }
    }
}

static void check_functor(uint64_t *st) {
    ratq_rescale rs[CHANNELS];
    for (int k = RATQ_K_MIN; k <= RATQ_K_MAX; k++)
        for (int mode = 0; mode < 3; mode++)
            for (int per_channel = 0; per_channel < 2; per_channel++)
                for (int rep = 0; rep < 4; rep++) {
                    // Multipliers from 2^-30 to 2^6: left shifts, large right shifts, zero multipliers.
                    for (int c = 0; c < CHANNELS; c++)
                        ratq_rescale_from_real(ldexp(0.5 + ratq_test_unit(st), (int)ratq_test_range(st, -30, 6)), k,
                                               &rs[c]);
                    if (rep == 3) rs[0].m = 0, rs[0].s = 0; // zero multiplier
                    const int32_t zp = (int32_t)ratq_test_range(st, -128, 127);
                    const int32_t lo = (int32_t)ratq_test_range(st, -128, 0), hi = (int32_t)ratq_test_range(st, lo, 127);
                    const ratq_requant_s8 rq = {rs, per_channel, zp, lo, hi, (ratq_rounding)mode};
                    const ratq_epilogue_params ep = ratq_epilogue_make(&rq);
                    for (int i = 0; i < 400; i++) {
                        const int c = (int)(ratq_test_rng(st) % CHANNELS);
                        const ratq_rescale r = rs[per_channel ? c : 0];
                        const int32_t acc = pick_acc(st, r);
                        uint8_t mask = 2;
                        const int8_t y = ratq_epilogue_apply(&ep, acc, c, &mask);
                        CHECK_EQ_I64(y, ratq_requantize(acc, r, zp, lo, hi, (ratq_rounding)mode),
                                     "y: k=%d mode=%d pc=%d acc=%d m=%d s=%d", k, mode, per_channel, acc, r.m, r.s);
                        CHECK_EQ_I64(mask, ratq_requantize_ste_mask(acc, r, zp, lo, hi, (ratq_rounding)mode),
                                     "mask: k=%d mode=%d pc=%d acc=%d m=%d s=%d", k, mode, per_channel, acc, r.m, r.s);
                    }
                }
}

// The add: functor(ratq_add_acc_s8(a, b)) == ratq_add_s8_cpu (output and mask) for every (a, b) pair.
static void check_add(uint64_t *st) {
    static int8_t a[65536], b[65536], y_cpu[65536];
    static uint8_t m_cpu[65536];
    for (int i = 0; i < 65536; i++) a[i] = (int8_t)(i & 255), b[i] = (int8_t)(i >> 8);
    static const int ks[] = {31, 8, 4, 1};
    long clamped = 0;
    for (int ki = 0; ki < 4; ki++)
        for (int mode = 0; mode < 3; mode++) {
            ratq_add_params_s8 p;
            const double sa = ldexp(1.0 + ratq_test_unit(st), -7), sb = ldexp(1.0 + ratq_test_unit(st), -6);
            const double sy = ldexp(1.0 + ratq_test_unit(st), -6);
            const int rc = ratq_add_params_from_scales(sa, (int32_t)ratq_test_range(st, -20, 20), sb,
                                                       (int32_t)ratq_test_range(st, -20, 20), sy,
                                                       (int32_t)ratq_test_range(st, -20, 20), ks[ki],
                                                       (ratq_rounding)mode, &p);
            CHECK_EQ_I64(rc, 0, "ratq_add_params_from_scales k=%d", ks[ki]);
            p.act_min = -110, p.act_max = 100; // make the clamp bind on both sides
            ratq_add_s8_cpu(65536, a, b, &p, y_cpu, m_cpu);
            const ratq_epilogue_params ep = ratq_add_epilogue(&p);
            for (int i = 0; i < 65536; i++) {
                const int32_t acc = ratq_add_acc_s8(a[i], b[i], &p);
                uint8_t mask;
                const int8_t y = ratq_epilogue_apply(&ep, acc, 0, &mask);
                CHECK_EQ_I64(y, y_cpu[i], "add k=%d mode=%d a=%d b=%d", ks[ki], mode, a[i], b[i]);
                CHECK_EQ_I64(mask, m_cpu[i], "add CPU mask k=%d mode=%d a=%d b=%d", ks[ki], mode, a[i], b[i]);
                CHECK_EQ_I64(mask, ratq_requantize_ste_mask(acc, p.output, p.output_offset, p.act_min, p.act_max,
                                                            p.rounding),
                             "add mask k=%d mode=%d a=%d b=%d", ks[ki], mode, a[i], b[i]);
                clamped += !mask;
            }
        }
    // The check above is only meaningful if the clamp bound somewhere (masks of both values occurred).
    CHECK_MSG(clamped > 0 && clamped < 12L * 65536, "add: %ld of %ld outputs clamped", clamped, 12L * 65536);
}

int main(void) {
    uint64_t st = 20261127;
    check_functor(&st);
    check_add(&st);
    return ratq_test_finish("test_cuda_epilogue_host");
}
