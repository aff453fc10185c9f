// test_quant_grid.c — the quantization grids (kernels/math/quant_grid.h) against exact references: weight scales
// are max|W| / 127 rounded to float (or one ulp above) and never clip; weight and bias rounding with exact ties of both
// signs (half away from zero), the -127 floor and int32 saturation; activation grids (real 0 exactly on the grid,
// the range covered); activation clamp ranges; the network input on both grids, for every u8.
#include <float.h>

#include "math/quant_grid.h"
#include "test_util.h"

// round(n / d) for d > 0, ties away from zero, in integers.
static int64_t div_half_away(int64_t n, int64_t d) {
    return n >= 0 ? (2 * n + d) / (2 * d) : -((-2 * n + d) / (2 * d));
}

static void test_weights(void) {
    uint64_t st = 1;
    CHECK_MSG(ratq_weight_scale_s8(0.0) == 1.0, "all-zero channel: scale 1");
    for (int i = 0; i < 200000; i++) {
        // a dense sweep of one octave, then log-uniform magnitudes
        const double amax = i < 1000 ? (double)(float)(127.0 * ldexp(1.0 + i / 1000.0, -7))
                                     : ldexp(1.0 + ratq_test_unit(&st), (int)ratq_test_range(&st, -30, 20));
        const double s = ratq_weight_scale_s8(amax);
        const double f = (double)(float)(amax / 127.0);
        CHECK_MSG(s == f || s == nextafter(f, 1e300), "scale %a of amax %a is not float(amax/127) or one ulp above", s,
                  amax);
        CHECK_MSG(amax / s < 127.5, "amax %a clips: scale %a", amax, s);
        CHECK_EQ_I64(ratq_quantize_weight_s8(amax, s), 127, "amax %a -> 127", amax);
        CHECK_EQ_I64(ratq_quantize_weight_s8(-amax, s), -127, "-amax %a -> -127", amax);
    }
    // Rounding on a power-of-two scale (every w / s exact): q = round(j / 4), ties away from zero, clamp -127..127.
    const double s = ldexp(1.0, -9);
    for (int64_t j = -4 * 140; j <= 4 * 140; j++) {
        int64_t want = div_half_away(j, 4);
        want = want < -127 ? -127 : want > 127 ? 127 : want;
        const int8_t q = ratq_quantize_weight_s8(ldexp((double)j, -11), s);
        CHECK_EQ_I64(q, want, "weight %lld/4 on scale 2^-9", (long long)j);
        CHECK_MSG(ratq_dequantize_weight_s8(q, s) == (float)ldexp((double)want, -9), "dequantized weight %d", q);
    }
    CHECK_EQ_I64(ratq_quantize_weight_s8(2.5, 1.0), 3, "tie 2.5");
    CHECK_EQ_I64(ratq_quantize_weight_s8(-2.5, 1.0), -3, "tie -2.5");
    CHECK_EQ_I64(ratq_quantize_weight_s8(-1e30, 1.0), -127, "never -128");
    // Snapped scale: the multiplier of the snapped weight scale is the k-bit value itself.
    for (int i = 0; i < 10000; i++) {
        const double sx = ldexp(1.0 + ratq_test_unit(&st), -7), sy = ldexp(1.0 + ratq_test_unit(&st), -5);
        const double sw0 = ldexp(1.0 + ratq_test_unit(&st), -9);
        ratq_rescale r;
        CHECK_EQ_I64(ratq_rescale_from_real_up(ratq_conv_multiplier(sx, sw0, sy), 4, &r), 0, "snap %d", i);
        const double sw = ratq_weight_scale_snapped(r, sx, sy);
        CHECK_MSG(sw == ratq_rescale_to_real(r) * sy / sx, "snapped scale formula");
        // Never below the unsnapped scale beyond the double roundings of the two formulas (4 ulp).
        CHECK_MSG(sw >= sw0 * (1.0 - 4 * DBL_EPSILON), "snapped scale %a below %a", sw, sw0);
    }
}

static void test_biases(void) {
    uint64_t st = 2;
    // S_x * S_w = 2^-10: b / (S_x S_w) = j / 2 exactly; ties away from zero.
    const double sx = ldexp(1.0, -4), sw = ldexp(1.0, -6);
    for (int64_t j = -5000; j <= 5000; j++) {
        int32_t q = 0x5A5A5A5A;
        CHECK_EQ_I64(ratq_quantize_bias_s32(ldexp((double)j, -11), sx, sw, &q), 0, "bias %lld", (long long)j);
        CHECK_EQ_I64(q, div_half_away(j, 2), "bias %lld/2", (long long)j);
    }
    // Saturation at the int32 ends (the exact ends stay exact).
    static const double vals[] = {2147483647.0, 2147483647.4, 2147483647.5, 1e12, -2147483648.0, -2147483648.5, -1e12};
    static const int64_t want[] = {INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MIN, INT32_MIN, INT32_MIN};
    for (int i = 0; i < 7; i++) {
        int32_t q = 0;
        CHECK_EQ_I64(ratq_quantize_bias_s32(vals[i], 1.0, 1.0, &q), 0, "bias %a", vals[i]);
        CHECK_EQ_I64(q, want[i], "bias %a saturates", vals[i]);
    }
    // Random: within 1/2 of the real quotient (when not saturated).
    for (int i = 0; i < 100000; i++) {
        const double b = (ratq_test_unit(&st) - 0.5) * 10, x = ldexp(1.0 + ratq_test_unit(&st), -8),
                     w = ldexp(1.0 + ratq_test_unit(&st), -8);
        int32_t q = 0;
        CHECK_EQ_I64(ratq_quantize_bias_s32(b, x, w, &q), 0, "bias %a", b);
        CHECK_MSG(fabs(q - b / (x * w)) <= 0.5, "bias %a: q %d, real %a", b, q, b / (x * w));
    }
    // Not finite: -1, *q untouched.
    int32_t q = 77;
    CHECK_EQ_I64(ratq_quantize_bias_s32(INFINITY, 1.0, 1.0, &q), -1, "inf bias");
    CHECK_EQ_I64(ratq_quantize_bias_s32(NAN, 1.0, 1.0, &q), -1, "NaN bias");
    CHECK_EQ_I64(ratq_quantize_bias_s32(1.0, 1e-200, 1e-200, &q), -1, "overflowing quotient");
    CHECK_EQ_I64(q, 77, "rejected bias wrote *q");
}

static void test_activations(void) {
    uint64_t st = 3;
    for (int i = 0; i < 100000; i++) {
        double lo = -ratq_test_unit(&st) * ldexp(1.0, (int)ratq_test_range(&st, -6, 6)),
               hi = ratq_test_unit(&st) * ldexp(1.0, (int)ratq_test_range(&st, -6, 6));
        if (i % 10 == 0) lo = 0; // ReLU-like ranges
        float s;
        int32_t z;
        ratq_activation_grid_s8(lo, hi, &s, &z);
        CHECK_MSG(s == (hi > lo ? (float)((hi - lo) / 255.0) : 1.0f / 255.0f), "scale of [%a, %a]", lo, hi);
        CHECK_MSG(z >= -128 && z <= 127, "zero point %d", z);
        CHECK_EQ_I64(ratq_dequantize_s8((int8_t)z, s, z) == 0.0f, 1, "real 0 is q = z");
        // The grid covers the range to within one step at each end.
        CHECK_MSG(s * (double)(-128 - z) <= lo + s && s * (double)(127 - z) >= hi - s,
                  "[%a, %a] not covered (S %a, z %d)", lo, hi, (double)s, z);
        if (lo == 0) CHECK_EQ_I64(z, -128, "ReLU range: z = -128");
    }
    float s;
    int32_t z;
    // [-127.5, 127.5] * 2^-7: S = 2^-7 exactly, z = round(-128 + 127.5) = round(-0.5), a tie: away from zero.
    ratq_activation_grid_s8(-127.5 / 128, 127.5 / 128, &s, &z);
    CHECK_MSG(s == 0.0078125f && z == -1, "[-127.5, 127.5]/128: S %a z %d", (double)s, z);
    ratq_activation_grid_s8(0.0, 0.0, &s, &z);
    CHECK_MSG(s == 1.0f / 255.0f && z == -128, "empty range: S %a z %d", (double)s, z);
    ratq_activation_grid_s8(-6.0, 0.0, &s, &z);
    CHECK_MSG(z == 127, "[-6, 0]: z %d", z);
    // Dequantization: exact on a power-of-two scale.
    for (int q = -128; q <= 127; q++)
        CHECK_MSG(ratq_dequantize_s8((int8_t)q, 0.125f, -3) == 0.125f * (float)(q + 3), "dequantize %d", q);
    // Clamp ranges (TFLite CalculateActivationRangeQuantized).
    int32_t lo, hi;
    ratq_activation_range_s8(RATQ_ACT_RELU6, 6.0f / 255.0f, -128, &lo, &hi);
    CHECK_MSG(lo == -128 && hi == 127, "relu6 full range: [%d, %d]", lo, hi);
    ratq_activation_range_s8(RATQ_ACT_RELU6, 0.05f, -10, &lo, &hi);
    CHECK_MSG(lo == -10 && hi == 110, "relu6: [%d, %d], want [-10, 110]", lo, hi);
    ratq_activation_range_s8(RATQ_ACT_RELU, 0.05f, -10, &lo, &hi);
    CHECK_MSG(lo == -10 && hi == 127, "relu: [%d, %d]", lo, hi);
    ratq_activation_range_s8(RATQ_ACT_NONE, 0.05f, -10, &lo, &hi);
    CHECK_MSG(lo == -128 && hi == 127, "none: [%d, %d]", lo, hi);
}

static void test_input(void) {
    for (int u = 0; u < 256; u++) {
        // The fake-quant grid (1/128, -1): q = u - 128, real (q + 1) / 128 = (u - 127) / 128 exactly.
        const int8_t q = ratq_input_s8_from_u8((uint8_t)u);
        CHECK_EQ_I64(q, u - 128, "input u=%d", u);
        CHECK_EQ_I64(ratq_quantize_input_s8((uint8_t)u, 1.0 / 128, -1), q, "general rule on (1/128, -1), u=%d", u);
        CHECK_MSG(ratq_dequantize_s8(q, 1.0f / 128, -1) == (float)(u - 127) / 128, "input real u=%d", u);
        // A coarser grid (1/64, 3): q = clamp(round((u - 127) / 2) + 3), ties away from zero.
        int64_t want = div_half_away(u - 127, 2) + 3;
        want = want > 127 ? 127 : want;
        CHECK_EQ_I64(ratq_quantize_input_s8((uint8_t)u, 1.0 / 64, 3), want, "grid (1/64, 3), u=%d", u);
        // A finer one that clamps at both ends (1/256, 0): q = clamp(2 (u - 127), -128, 127).
        want = 2 * (u - 127);
        want = want < -128 ? -128 : want > 127 ? 127 : want;
        CHECK_EQ_I64(ratq_quantize_input_s8((uint8_t)u, 1.0 / 256, 0), want, "grid (1/256, 0), u=%d", u);
    }
}

int main(void) {
    test_weights();
    test_biases();
    test_activations();
    test_input();
    return ratq_test_finish("test_quant_grid");
}
