// test_rescale.c — the shared arithmetic (kernels/math/rescale.h) against independent references:
// exact rational arithmetic in __int128 for every rounding mode, all k = 1..31 and every shift in
// [k-31, k+31]; the (m, s) derivation's error bound, nearest-ness, monotonicity, carry case and TFLite
// equality at k = 31; its round-up variant (scale snapping) against its definition, with the carry; the layer
// multipliers; the float twin across its exactness domain; the STE mask and the masked requantization.
#include "math/rescale.h"
#include "test_util.h"

typedef __int128 i128;

static i128 floor_div(i128 a, i128 b) { // b > 0
    i128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
static i128 p2(int e) { return (i128)1 << e; }
static int64_t sat32(i128 x) { return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int64_t)x; }

// v = acc*m*2^-s as num/den, den > 0.
static void exact(int32_t acc, ratq_rescale r, i128 *num, i128 *den) {
    *num = (i128)acc * r.m * (r.s < 0 ? p2(-r.s) : 1);
    *den = r.s > 0 ? p2(r.s) : 1;
}
static int64_t ref_single(int32_t acc, ratq_rescale r) { // floor(v + 1/2)
    i128 n, d;
    exact(acc, r, &n, &d);
    return sat32(floor_div(2 * n + d, 2 * d));
}
static int64_t ref_half_even(int32_t acc, ratq_rescale r) {
    i128 n, d;
    exact(acc, r, &n, &d);
    i128 q = floor_div(n, d), rem2 = 2 * (n - q * d);
    if (rem2 > d || (rem2 == d && (q % 2 != 0))) q++;
    return sat32(q);
}
static i128 half_away(i128 n, i128 d) { // round(n/d), ties away from zero
    i128 a = floor_div(2 * (n < 0 ? -n : n) + d, 2 * d);
    return n < 0 ? -a : a;
}
static int64_t ref_tflite(int32_t acc, ratq_rescale r) {
    if (r.m == 0) return 0;
    int k = 0;
    while (((int64_t)1 << k) <= r.m) k++;
    i128 m31 = (i128)r.m * p2(31 - k);
    int t = k - r.s;
    i128 x = sat32((i128)acc * p2(t > 0 ? t : 0));
    i128 h = floor_div(2 * x * m31 + p2(31), p2(32)); // high multiply: floor(v + 1/2), ties toward +inf
    return sat32(half_away(h, p2(t < 0 ? -t : 0)));
}

// TFLite's QuantizeMultiplier (tensorflow/lite/kernels/internal/quantization_util.cc), ported verbatim.
static void tflite_quantize_multiplier(double double_multiplier, int32_t *quantized_multiplier, int *shift) {
    if (double_multiplier == 0.) {
        *quantized_multiplier = 0;
        *shift = 0;
        return;
    }
    const double q = frexp(double_multiplier, shift);
    int64_t q_fixed = (int64_t)round(q * (1LL << 31));
    if (q_fixed == (1LL << 31)) {
        q_fixed /= 2;
        ++*shift;
    }
    if (*shift < -31) {
        *shift = 0;
        q_fixed = 0;
    }
    *quantized_multiplier = (int32_t)q_fixed;
}

static void test_rounding_modes(void) {
    uint64_t st = 1;
    static const int32_t edge[] = {0, 1, -1, 2, -2, 3, -3, 1000, -1000, 65535, -65536, INT32_MAX, INT32_MIN, -INT32_MAX,
                                   (1 << 30), -(1 << 30)};
    for (int k = 1; k <= 31; k++)
        for (int s = k - 31; s <= k + 31; s++) {
            int32_t ms[6] = {(int32_t)(1u << (k - 1)), (int32_t)((1u << k) - 1), 0, 0, 0, 0};
            for (int i = 2; i < 6; i++) ms[i] = (int32_t)ratq_test_range(&st, (int64_t)1 << (k - 1), ((int64_t)1 << k) - 1);
            for (int mi = 0; mi < 6; mi++) {
                ratq_rescale r = {ms[mi], s};
                int32_t accs[64];
                int n = 0;
                for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) accs[n++] = edge[i];
                // Exact ties of both signs: m = o*2^t (o odd), acc = j*2^(s-1-t) with j odd gives v = o*j/2.
                int t = 0;
                while (!((ms[mi] >> t) & 1)) t++;
                int e = s - 1 - t;
                for (int64_t j = 1; e >= 0 && e <= 30 && j <= 7; j += 2)
                    if (j << e <= INT32_MAX) {
                        accs[n++] = (int32_t)(j << e);
                        accs[n++] = (int32_t)-(j << e);
                    }
                while (n < 64) accs[n++] = (int32_t)ratq_test_range(&st, INT32_MIN, INT32_MAX);
                for (int a = 0; a < n; a++) {
                    int32_t acc = accs[a];
                    CHECK_EQ_I64(ratq_scale_single(acc, r), ref_single(acc, r), "single acc=%d m=%d s=%d", acc, r.m, s);
                    CHECK_EQ_I64(ratq_scale_half_even(acc, r), ref_half_even(acc, r), "half_even acc=%d m=%d s=%d",
                                 acc, r.m, s);
                    CHECK_EQ_I64(ratq_scale_tflite(acc, r), ref_tflite(acc, r), "tflite acc=%d m=%d s=%d", acc, r.m, s);
                }
            }
        }
    // Spelled-out tie rules on v = +-2.5 (m = 5, s = 1 => v = acc*2.5): single -> +inf, half_even -> even,
    // tflite -> away from zero.
    ratq_rescale r = {5, 1};
    CHECK_EQ_I64(ratq_scale_single(1, r), 3, "single 2.5");
    CHECK_EQ_I64(ratq_scale_single(-1, r), -2, "single -2.5");
    CHECK_EQ_I64(ratq_scale_half_even(1, r), 2, "half_even 2.5");
    CHECK_EQ_I64(ratq_scale_half_even(-1, r), -2, "half_even -2.5");
    ratq_rescale r3 = {7, 1}; // 3.5
    CHECK_EQ_I64(ratq_scale_half_even(1, r3), 4, "half_even 3.5");
    CHECK_EQ_I64(ratq_scale_tflite(1, (ratq_rescale){5, 1}), 3, "tflite 2.5");
    // m = 5, s = 1 is k = 3, t = 2: the whole rounding happens in the high multiply (ties toward +inf).
    CHECK_EQ_I64(ratq_scale_tflite(-1, (ratq_rescale){5, 1}), -2, "tflite -2.5 in the high multiply");
    // M = 2^30 * 2^-32 (TFLite shift -1): exact high multiply, then the divide by 2 ties away from zero.
    CHECK_EQ_I64(ratq_scale_tflite(-10, ratq_rescale_from_tflite(1 << 30, -1)), -3, "tflite -2.5 in the divide");
    CHECK_EQ_I64(ratq_scale_tflite(10, ratq_rescale_from_tflite(1 << 30, -1)), 3, "tflite 2.5 in the divide");
    // The high multiply alone (t = 0, no divide): a negative tie -0.5 rounds toward +inf, to 0.
    CHECK_EQ_I64(ratq_srdhm(-1, 1 << 30), 0, "srdhm -0.5");
    CHECK_EQ_I64(ratq_srdhm(1, 1 << 30), 1, "srdhm 0.5");
    CHECK_EQ_I64(ratq_srdhm(-3, 1 << 30), -1, "srdhm -1.5");
    // Zero multiplier and the requantize clamp.
    CHECK_EQ_I64(ratq_scale_tflite(12345, (ratq_rescale){0, 0}), 0, "zero multiplier");
    CHECK_EQ_I64(ratq_requantize(INT32_MAX, (ratq_rescale){1, -30}, 5, -128, 127, RATQ_ROUND_SINGLE), 127, "clamp hi");
    CHECK_EQ_I64(ratq_requantize(INT32_MIN, (ratq_rescale){1, -30}, 5, -128, 127, RATQ_ROUND_TFLITE), -128, "clamp lo");
    CHECK_EQ_I64(ratq_requantize(-1, (ratq_rescale){5, 1}, 10, -128, 127, RATQ_ROUND_SINGLE), 8, "zp add");
}

static void test_derivation(void) {
    uint64_t st = 2;
    // Edge multipliers: zero, powers of two, just below/above them, tiny values around the 2^-32 cutoff.
    double edge[64];
    int n = 0;
    edge[n++] = 0.0;
    for (int e = -34; e <= 30; e += 4) {
        edge[n++] = ldexp(1.0, e);
        edge[n++] = nextafter(ldexp(1.0, e), 0.0);
        edge[n++] = nextafter(ldexp(1.0, e), 1e300);
    }
    edge[n++] = nextafter(2147483648.0, 0.0);
    for (int i = 0; i < 20000 + n; i++) {
        // Log-uniform in [2^-40, 2^31) plus uniform in [0, 1) (typical requantization multipliers).
        double M = i < n ? edge[i] : (i % 2 ? ldexp(1.0 + ratq_test_unit(&st), (int)ratq_test_range(&st, -40, 30))
                                            : ratq_test_unit(&st));
        int32_t qm;
        int sh;
        tflite_quantize_multiplier(M, &qm, &sh);
        ratq_rescale r;
        if (qm != 0 && sh > 31) { // rounds to 2^31: out of ratq's range (TFLite would return shift 32)
            CHECK_MSG(ratq_rescale_from_real(M, 31, &r) == -1, "M=%a accepted", M);
        } else {
            CHECK_MSG(ratq_rescale_from_real(M, 31, &r) == 0, "M=%a", M);
            CHECK_EQ_I64(r.m, qm, "k=31 m vs TFLite, M=%a", M);
            if (qm) CHECK_EQ_I64(r.s, 31 - sh, "k=31 s vs TFLite, M=%a", M);
        }
        for (int k = 1; k <= 31; k++) {
            // Accepted iff M rounds (at k bits) below 2^31, i.e. M < (2^k - 1/2) * 2^(31-k).
            int rc = ratq_rescale_from_real(M, k, &r);
            CHECK_EQ_I64(rc, M < ldexp(ldexp(1.0, k) - 0.5, 31 - k) ? 0 : -1, "k=%d M=%a", k, M);
            if (rc) continue;
            if (r.m == 0) {
                CHECK_MSG(r.s == 0 && M < ldexp(1.0, -32), "zero result for M=%a k=%d", M, k);
                continue;
            }
            CHECK_MSG(r.m >= (1LL << (k - 1)) && r.m < (1LL << k), "m=%d out of k=%d range", r.m, k);
            CHECK_MSG(r.s >= k - 31 && r.s <= k + 31, "s=%d out of range for k=%d", r.s, k);
            double got = ratq_rescale_to_real(r);
            CHECK_MSG(fabs(got - M) <= ldexp(M, -k), "relative error > 2^-k: M=%a k=%d got=%a", M, k, got);
            // Nearest: no other k-bit value at the same exponent is strictly closer.
            if (r.m > (1LL << (k - 1)))
                CHECK_MSG(fabs(ldexp(r.m - 1, -r.s) - M) >= fabs(got - M), "not nearest (m-1) M=%a k=%d", M, k);
            if (r.m < (1LL << k) - 1)
                CHECK_MSG(fabs(ldexp(r.m + 1, -r.s) - M) >= fabs(got - M), "not nearest (m+1) M=%a k=%d", M, k);
        }
    }
    // Monotone in M, for every k: sweep an increasing sequence across several octaves.
    for (int k = 1; k <= 31; k++) {
        double prev = -1.0, M = ldexp(1.0, -33);
        while (M < 1e3) {
            ratq_rescale r;
            ratq_rescale_from_real(M, k, &r);
            double v = ratq_rescale_to_real(r);
            CHECK_MSG(v >= prev, "not monotone at M=%a k=%d", M, k);
            prev = v;
            M *= 1.0 + 0.37 * ratq_test_unit(&st) * ldexp(1.0, -(int)ratq_test_range(&st, 0, k));
        }
    }
    // Carry: M = (2^k - 1/2) * 2^-10 rounds up to 2^k -> m = 2^(k-1), s = 9.
    for (int k = 1; k <= 31; k++) {
        ratq_rescale r;
        ratq_rescale_from_real(ldexp(ldexp(1.0, k) - 0.5, -10), k, &r);
        CHECK_EQ_I64(r.m, 1LL << (k - 1), "carry m k=%d", k);
        CHECK_EQ_I64(r.s, 9, "carry s k=%d", k);
    }
    // k = 1 is a pure shift; M >= 1 gives a negative (left) shift.
    ratq_rescale r;
    ratq_rescale_from_real(5.0, 1, &r);
    CHECK_MSG(r.m == 1 && r.s == -2, "k=1 M=5 -> (%d,%d), want (1,-2)", r.m, r.s);
    ratq_rescale_from_real(ldexp(1.0, -32), 31, &r); // smallest kept value
    CHECK_MSG(r.m == 1 << 30 && r.s == 62, "M=2^-32 -> (%d,%d)", r.m, r.s);
    // Invalid input.
    CHECK_MSG(ratq_rescale_from_real(-1.0, 8, &r) == -1, "negative M");
    CHECK_MSG(ratq_rescale_from_real(NAN, 8, &r) == -1, "NaN M");
    CHECK_MSG(ratq_rescale_from_real(INFINITY, 8, &r) == -1, "inf M");
    CHECK_MSG(ratq_rescale_from_real(2147483648.0, 8, &r) == -1, "M = 2^31");
    CHECK_MSG(ratq_rescale_from_real(0.5, 0, &r) == -1, "k = 0");
    CHECK_MSG(ratq_rescale_from_real(0.5, 32, &r) == -1, "k = 32");
    // TFLite pair conversion is exact.
    ratq_rescale t = ratq_rescale_from_tflite(1572008639, -9);
    CHECK_MSG(ratq_rescale_to_real(t) == ldexp(1572008639.0, -40), "from_tflite");
}

// Round-up variant against its definition, for M >= 2^-32: the smallest m * 2^-s >= M with 2^(k-1) <= m < 2^k,
// found without frexp: s such that 2^(k-1) <= M * 2^s < 2^k, m = ceil(M * 2^s) (exact: a power-of-two scaling),
// then the carry. Returns -1 when that value is 2^31 or more.
static int ref_round_up(double M, int k, ratq_rescale *r) {
    r->m = 0, r->s = 0;
    int s = k + 40;
    while (ldexp(M, s) >= ldexp(1.0, k)) s--;
    double c = ceil(ldexp(M, s));
    if (c == ldexp(1.0, k)) c = ldexp(1.0, k - 1), s--;
    if (ldexp(c, -s) >= 2147483648.0) return -1;
    r->m = (int32_t)c, r->s = s;
    return 0;
}

static void test_round_up(void) {
    uint64_t st = 5;
    long on_grid = 0, carried = 0;
    for (int i = 0; i < 20000; i++) {
        const int k = 1 + i % 31;
        double M;
        switch (i % 4) {
        case 0: M = ldexp(1.0 + ratq_test_unit(&st), (int)ratq_test_range(&st, -34, 30)); break;
        case 1: { // exactly on the grid, or one ulp either side of a grid value
            const int64_t m = ratq_test_range(&st, (int64_t)1 << (k - 1), ((int64_t)1 << k) - 1);
            M = ldexp((double)m, -(int)ratq_test_range(&st, k - 30, k + 30));
            const int side = (int)ratq_test_range(&st, -1, 1);
            if (side) M = nextafter(M, side > 0 ? 1e300 : 0.0);
            break;
        }
        case 2: // just above the largest k-bit mantissa: the carry
            M = nextafter(ldexp(ldexp(1.0, k) - 1.0, -(int)ratq_test_range(&st, k - 30, k + 30)), 1e300);
            break;
        default: M = ratq_test_unit(&st); break;
        }
        ratq_rescale got, want, n;
        const int rc = ratq_rescale_from_real_up(M, k, &got);
        ratq_rescale_from_real(M, k, &n);
        if (M < ldexp(1.0, -32)) { // below the cutoff: the nearest rounding's zero, or 2^-32 if it rounds up to it
            CHECK_MSG(rc == 0 && got.m == n.m && got.s == n.s && (!n.m || ratq_rescale_to_real(n) == ldexp(1.0, -32)),
                      "round up below the cutoff: M=%a k=%d", M, k);
            continue;
        }
        const int rc_ref = ref_round_up(M, k, &want);
        CHECK_EQ_I64(rc, rc_ref, "round up rc: M=%a k=%d", M, k);
        CHECK_MSG(got.m == want.m && got.s == want.s, "round up M=%a k=%d: (%d,%d), want (%d,%d)", M, k, got.m, got.s,
                  want.m, want.s);
        if (rc || !got.m) continue;
        // The definition, once more: >= M, and the grid value below it is < M.
        const double v = ratq_rescale_to_real(got);
        const double below = got.m > (1 << (k - 1)) ? ldexp(got.m - 1.0, -got.s) : ldexp(ldexp(1.0, k) - 1, -got.s - 1);
        CHECK_MSG(v >= M && below < M, "not the smallest grid value >= M: M=%a k=%d", M, k);
        // It equals the nearest rounding when that did not round down.
        if (ratq_rescale_to_real(n) >= M)
            CHECK_MSG(n.m == got.m && n.s == got.s, "M=%a k=%d differs from nearest", M, k);
        on_grid += v == M;
        carried += got.m == (1 << (k - 1)) && ratq_rescale_to_real(n) < M;
    }
    CHECK_MSG(on_grid > 100 && carried > 100, "round up: %ld on the grid, %ld carried", on_grid, carried);
    // The carry, spelled out: M one ulp above (2^k - 1) * 2^-10 -> m = 2^(k-1), s = 9 (k = 31 included, where
    // m + 1 = 2^31 does not fit an int32).
    for (int k = 1; k <= 31; k++) {
        ratq_rescale r;
        CHECK_EQ_I64(ratq_rescale_from_real_up(nextafter(ldexp(ldexp(1.0, k) - 1.0, -10), 1e300), k, &r), 0, "k=%d", k);
        CHECK_MSG(r.m == 1LL << (k - 1) && r.s == 9, "carry k=%d: (%d,%d)", k, r.m, r.s);
        // Just above the largest representable value (2^k - 1) 2^(31-k): the next grid value is 2^31.
        const double top = ldexp(ldexp(1.0, k) - 1.0, 31 - k);
        CHECK_EQ_I64(ratq_rescale_from_real_up(top, k, &r), 0, "top k=%d", k);
        CHECK_EQ_I64(ratq_rescale_from_real_up(nextafter(top, 1e300), k, &r), -1, "above top k=%d", k);
        CHECK_MSG(r.m == 0 && r.s == 0, "rejected result not zeroed, k=%d", k);
    }
    ratq_rescale r;
    CHECK_EQ_I64(ratq_rescale_from_real_up(ldexp(1.0, -33), 8, &r), 0, "below cutoff");
    CHECK_MSG(r.m == 0 && r.s == 0, "below cutoff: (%d,%d)", r.m, r.s);
    CHECK_EQ_I64(ratq_rescale_from_real_up(NAN, 8, &r), -1, "NaN");
    CHECK_EQ_I64(ratq_rescale_from_real_up(-0.5, 8, &r), -1, "negative");
    CHECK_EQ_I64(ratq_rescale_from_real_up(0.5, 0, &r), -1, "k = 0");
    // k = 4, s = 5: 0.26 * 32 = 8.32 rounds to the nearest 8 (below M), so up gives 9; 0.25 is on the grid.
    CHECK_MSG(ratq_rescale_from_real_up(0.26, 4, &r) == 0 && r.m == 9 && r.s == 5, "0.26 k=4: (%d,%d)", r.m, r.s);
    CHECK_MSG(ratq_rescale_from_real_up(0.25, 4, &r) == 0 && r.m == 8 && r.s == 5, "0.25 k=4: (%d,%d)", r.m, r.s);
}

// The layer multipliers: the formulas of host/qmodel/qmodel.h, in double, left to right.
static void test_multipliers(void) {
    CHECK_MSG(ratq_conv_multiplier(0.5, 0.25, 2.0) == 0.0625, "conv multiplier");
    CHECK_MSG(ratq_gap_multiplier(0.5, 0.5, 49) == 1.0 / 49.0, "gap multiplier 7x7");
    // Left to right: (s_x * s_w) / s_y, not s_x * (s_w / s_y).
    const double sx = 0.1, sw = 0.3, sy = 0.7;
    CHECK_MSG(ratq_conv_multiplier(sx, sw, sy) == (sx * sw) / sy, "conv multiplier order");
    CHECK_MSG(ratq_gap_multiplier(sx, sy, 3 * 5) == sx / (sy * 15.0), "gap multiplier order");
}

static void test_float_twin(void) {
    uint64_t st = 3;
    for (int k = 1; k <= 24; k++)
        for (int s = k - 31; s <= k + 31; s++)
            for (int trial = 0; trial < 40; trial++) {
                ratq_rescale r = {(int32_t)ratq_test_range(&st, 1LL << (k - 1), (1LL << k) - 1), s};
                if (trial == 0) r.m = (int32_t)((1LL << k) - 1);
                int64_t amax = (1LL << 24) / r.m; // domain: |acc| * m <= 2^24
                int32_t acc = (int32_t)(trial < 2 ? (trial ? -amax : amax) : ratq_test_range(&st, -amax, amax));
                float M = ratq_rescale_to_f32(r);
                CHECK_MSG(ldexp(r.m, -s) == (double)M, "M not exact k=%d s=%d", k, s);
                if (fabs(ldexp((double)acc * r.m, -s)) < 2147483647.0) // no int32 saturation
                    CHECK_EQ_I64((int64_t)ratq_scale_single_f32((float)acc, M), ratq_scale_single(acc, r),
                                 "float twin acc=%d m=%d s=%d", acc, r.m, s);
                CHECK_EQ_I64((int64_t)ratq_requantize_single_f32((float)acc, M, 3.0f, -128.0f, 127.0f),
                             ratq_requantize(acc, r, 3, -128, 127, RATQ_ROUND_SINGLE), "twin requantize acc=%d", acc);
            }
    // The case where floorf(t + 0.5f) would be wrong: t = 0.5 - 2^-25 (acc = 2^24 - 1, m = 1, s = 25).
    ratq_rescale r = {1, 25};
    CHECK_EQ_I64((int64_t)ratq_scale_single_f32((float)((1 << 24) - 1), ratq_rescale_to_f32(r)), 0, "t = 0.5 - 2^-25");
    CHECK_EQ_I64(ratq_scale_single((1 << 24) - 1, r), 0, "t = 0.5 - 2^-25 integer");
    // Exact ties of both signs.
    CHECK_EQ_I64((int64_t)ratq_scale_single_f32(-5.0f, 0.5f), -2, "twin -2.5");
    CHECK_EQ_I64((int64_t)ratq_scale_single_f32(5.0f, 0.5f), 3, "twin 2.5");
}

static void test_mask_and_ranges(void) {
    uint64_t st = 4;
    for (int i = 0; i < 100000; i++) {
        int32_t acc = (int32_t)ratq_test_range(&st, -300000, 300000);
        ratq_rescale r;
        ratq_rescale_from_real(ldexp(1.0 + ratq_test_unit(&st), -(int)ratq_test_range(&st, 8, 14)), 4, &r);
        int32_t zp = (int32_t)ratq_test_range(&st, -20, 20), lo = (int32_t)ratq_test_range(&st, -128, 0), hi = 127;
        ratq_rounding mode = (ratq_rounding)(i % 3);
        int64_t y = (int64_t)ratq_scale(acc, r, mode) + zp;
        CHECK_EQ_I64(ratq_requantize_ste_mask(acc, r, zp, lo, hi, mode), y >= lo && y <= hi, "mask acc=%d", acc);
        CHECK_EQ_I64(ratq_requantize(acc, r, zp, lo, hi, mode), y < lo ? lo : y > hi ? hi : y, "clamp acc=%d", acc);
        uint8_t mask = 0x5A;
        CHECK_EQ_I64(ratq_requantize_masked(acc, r, zp, lo, hi, mode, &mask), y < lo ? lo : y > hi ? hi : y,
                     "masked acc=%d", acc);
        CHECK_EQ_I64(mask, y >= lo && y <= hi, "masked: mask acc=%d", acc);
    }
    for (uint32_t x = 0; x < 70000; x++) {
        int want = 0;
        while (want < 32 && (x >> want)) want++;
        CHECK_EQ_I64(ratq_bitlen_u32(x), want, "bitlen %u", x);
    }
    CHECK_EQ_I64(ratq_bitlen_u32(0xFFFFFFFFu), 32, "bitlen max");
}

int main(void) {
    test_rounding_modes();
    test_derivation();
    test_round_up();
    test_multipliers();
    test_float_twin();
    test_mask_and_ranges();
    return ratq_test_finish("test_rescale");
}
