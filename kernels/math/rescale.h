// rescale.h — the one definition of ratq's integer requantization arithmetic.
//
// Shared by the CPU engine, the CUDA kernels, the exporter, the generated C and the tests.
// Plain C11 that also compiles as CUDA (__host__ __device__). No intrinsics, no __CUDA_ARCH__
// branches; the project builds with -ffp-contract=off (C) and -fmad=false (CUDA).
//
// A real multiplier M = S_x*S_w/S_y (> 0) is represented as
//     M ~= m * 2^-s,   2^(k-1) <= m < 2^k    ("k-bit rescaler"; k = 1 is a pure shift, m = 1)
// with k = 1..31 and the shift s in [k-31, k+31] (s < 0 means a left shift, needed when M >= 1).
// m = 0, s = 0 is the zero multiplier (M = 0, or M so small that every int32 accumulator rounds to 0).
//
// A requantized output is  y = clamp(R(acc * m * 2^-s) + z_y, lo, hi)  where R is one of the
// rounding modes below. All intermediates are 64-bit; nothing here overflows for any int32 acc.
#ifndef RATQ_MATH_RESCALE_H
#define RATQ_MATH_RESCALE_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define RATQ_HD __host__ __device__ static inline
#else
#define RATQ_HD static inline
#endif

// Right shifts of negative integers below must be arithmetic (true for gcc, clang and nvcc).
#ifdef __cplusplus
static_assert((-1 >> 1) == -1, "ratq needs arithmetic right shift");
#else
_Static_assert((-1 >> 1) == -1, "ratq needs arithmetic right shift");
#endif

#define RATQ_K_MIN 1
#define RATQ_K_MAX 31

typedef struct {
    int32_t m; // multiplicand, 2^(k-1) <= m < 2^k (or 0)
    int32_t s; // right shift, k-31 <= s <= k+31 (negative = left shift)
} ratq_rescale;

typedef enum {
    RATQ_ROUND_TFLITE = 0,    // TFLite / CMSIS-NN double rounding (LiteRT compatible)
    RATQ_ROUND_SINGLE = 1,    // one rounding, ties toward +inf (hardware default for k-bit m)
    RATQ_ROUND_HALF_EVEN = 2, // one rounding, ties to even
} ratq_rounding;

RATQ_HD int64_t ratq_clamp_i64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : (x > hi ? hi : x); }
RATQ_HD int32_t ratq_sat_i32(int64_t x) { return (int32_t)ratq_clamp_i64(x, INT32_MIN, INT32_MAX); }

// Number of significant bits of x (0 for x = 0). Binary search over 16, 8, 4, 2, 1 bits, no intrinsics.
RATQ_HD int ratq_bitlen_u32(uint32_t x) {
    int n = 0;
    if (x >> 16) { n += 16; x >>= 16; }
    if (x >> 8) { n += 8; x >>= 8; }
    if (x >> 4) { n += 4; x >>= 4; }
    if (x >> 2) { n += 2; x >>= 2; }
    if (x >> 1) { n += 1; x >>= 1; }
    return n + (int)x;
}

// ---------------------------------------------------------------------------------------------
// Real multiplier -> (m, s) for k bits.
//   M = f * 2^e (frexp, f in [0.5, 1)),  m = round(f * 2^k)  (round half away from zero = half up),
//   s = k - e;  carry: if m == 2^k then m = 2^(k-1), s = s - 1.
//   If the rounded value m*2^-s < 2^-32 (i.e. k - s < -31) the result is (0, 0): |acc*M| < 1/2 for
//   every int32 acc, so every rounding mode gives 0. This is TFLite's QuantizeMultiplier rule
//   (`shift < -31` after the carry), and for k = 31 the result equals QuantizeMultiplier exactly:
//   m = quantized_multiplier, s = 31 - shift.
// Returns 0 on success; -1 (with *out = (0, 0)) if k is outside 1..31 or M is negative, NaN, infinite
// or rounds (at k bits) to 2^31 or more.
RATQ_HD int ratq_rescale_from_real(double M, int k, ratq_rescale *out) {
    out->m = 0;
    out->s = 0;
    if (k < RATQ_K_MIN || k > RATQ_K_MAX) return -1;
    if (!(M >= 0.0) || !(M < 2147483648.0)) return -1; // also rejects NaN
    if (M == 0.0) return 0;
    int e;
    double f = frexp(M, &e);
    int64_t m = (int64_t)round(ldexp(f, k)); // exact: f*2^k has <= 53 significant bits
    int s = k - e;
    if (m == ((int64_t)1 << k)) { m >>= 1; s -= 1; }
    if (k - s > 31) return -1; // M rounded up to 2^31: not representable
    if (k - s < -31) return 0;
    out->m = (int32_t)m;
    out->s = s;
    return 0;
}

// Real multiplier -> (m, s) rounded UP to the k-bit grid (the scale snapping of host/quant/fake.c):
//   the smallest m * 2^-s >= M with 2^(k-1) <= m < 2^k, i.e. with M = f * 2^e (frexp, f in [0.5, 1)):
//   m = ceil(f * 2^k), s = k - e;  carry: if m == 2^k then m = 2^(k-1), s = s - 1.
//   Computed as ratq_rescale_from_real, then m += 1 (with the same carry) if that rounded down. No tie rule:
//   a value already on the grid is kept, anything above it goes to the next grid value.
//   M < 2^-32 gives the zero multiplier (0, 0), as ratq_rescale_from_real: it is not >= M, but acc * M
//   rounds to 0 for every int32 acc under both.
// Returns 0 on success; -1 (with *out = (0, 0)) for the inputs ratq_rescale_from_real rejects, and when the
// carry reaches 2^31 (M > (2^k - 1) * 2^(31-k): the next grid value is 2^31, not representable).
RATQ_HD int ratq_rescale_from_real_up(double M, int k, ratq_rescale *out) {
    if (ratq_rescale_from_real(M, k, out) != 0) return -1;
    if (out->m == 0) return 0;
    if (ldexp((double)out->m, -out->s) >= M) return 0; // on the grid or rounded up already (exact compare)
    int64_t m = (int64_t)out->m + 1;
    int s = out->s;
    if (m == ((int64_t)1 << k)) { m >>= 1; s -= 1; }
    out->m = 0;
    out->s = 0;
    if (k - s > 31) return -1;
    out->m = (int32_t)m;
    out->s = s;
    return 0;
}

// The real value m * 2^-s (exact in double).
RATQ_HD double ratq_rescale_to_real(ratq_rescale r) { return ldexp((double)r.m, -r.s); }

// A TFLite (quantized_multiplier, shift) pair, M = qm * 2^(shift-31), as a rescale (exact).
RATQ_HD ratq_rescale ratq_rescale_from_tflite(int32_t quantized_multiplier, int32_t shift) {
    ratq_rescale r;
    r.m = quantized_multiplier;
    r.s = quantized_multiplier == 0 ? 0 : 31 - shift;
    return r;
}

// ---------------------------------------------------------------------------------------------
// The real multipliers of the layers, each computed here only (in double, left to right). The ADD's three
// multipliers: ratq_add_params_from_scales (kernels/math/add_s8.h).
//   CONV / DWCONV / FC output channel:      M = S_x * S_w / S_y
//   GAP (TFLite MEAN over hw = h*w taps):   M = S_x / (S_y * hw)
RATQ_HD double ratq_conv_multiplier(double s_x, double s_w, double s_y) { return s_x * s_w / s_y; }
RATQ_HD double ratq_gap_multiplier(double s_x, double s_y, int64_t hw) { return s_x / (s_y * (double)hw); }

// ---------------------------------------------------------------------------------------------
// Rounding modes. Each returns R(acc * m * 2^-s) saturated to int32.

// single: p = acc*m (64-bit, |p| < 2^62)
//   s >= 1: y = (p + 2^(s-1)) >> s            one rounding, ties toward +inf (-2.5 -> -2, 2.5 -> 3)
//   s <= 0: y = sat32(p * 2^-s)               exact, saturated
RATQ_HD int32_t ratq_scale_single(int32_t acc, ratq_rescale r) {
    int64_t p = (int64_t)acc * r.m;
    if (r.s >= 1) return ratq_sat_i32((p + ((int64_t)1 << (r.s - 1))) >> r.s);
    return ratq_sat_i32(ratq_clamp_i64(p, INT32_MIN, INT32_MAX) * ((int64_t)1 << -r.s));
}

// half_even: as single, but an exact tie rounds to the even neighbour (-2.5 -> -2, 2.5 -> 2, 3.5 -> 4).
RATQ_HD int32_t ratq_scale_half_even(int32_t acc, ratq_rescale r) {
    int64_t p = (int64_t)acc * r.m;
    if (r.s <= 0) return ratq_scale_single(acc, r);
    int64_t q = p >> r.s;                     // floor
    int64_t rem = p - q * ((int64_t)1 << r.s); // in [0, 2^s)
    int64_t half = (int64_t)1 << (r.s - 1);
    q += (rem > half) || (rem == half && (q & 1));
    return ratq_sat_i32(q);
}

// TFLite's SaturatingRoundingDoublingHighMul: round(a*b / 2^31), ties toward +inf (the nudge 1 - 2^30 on
// negative products, with truncating division, rounds a negative tie toward zero; CMSIS-NN's
// (a*b + 2^30) >> 31 is the same function). The overflow case a = b = INT32_MIN saturates to INT32_MAX.
RATQ_HD int32_t ratq_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); // C division truncates toward zero
}

// TFLite's RoundingDivideByPOT: round(x / 2^e), e in 0..31, ties away from zero.
RATQ_HD int32_t ratq_rounding_divide_by_pot(int32_t x, int e) {
    int64_t mask = ((int64_t)1 << e) - 1;
    int64_t rem = (int64_t)x & mask;
    int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int32_t)(((int64_t)x >> e) + (rem > threshold ? 1 : 0));
}

// tflite: the multiplier in Q31, M31 = m * 2^(31-k) in [2^30, 2^31) with k = bitlen(m), and
// TFLite's shift t = k - s (left shift max(t,0), right shift max(-t,0), both <= 31):
//   x = sat32(acc * 2^max(t,0)); h = srdhm(x, M31); y = rounding_divide_by_pot(h, max(-t,0))
// Two roundings: the high multiply ties toward +inf, the divide ties away from zero. For (m, s) from
// ratq_rescale_from_tflite this is
// exactly TFLite's MultiplyByQuantizedMultiplier (which leaves the left-shift overflow undefined;
// here it saturates).
RATQ_HD int32_t ratq_scale_tflite(int32_t acc, ratq_rescale r) {
    if (r.m == 0) return 0;
    int k = ratq_bitlen_u32((uint32_t)r.m);
    int32_t m31 = (int32_t)((uint32_t)r.m << (31 - k));
    int t = k - r.s;
    int32_t x = ratq_sat_i32((int64_t)acc * ((int64_t)1 << (t > 0 ? t : 0)));
    return ratq_rounding_divide_by_pot(ratq_srdhm(x, m31), t < 0 ? -t : 0);
}

RATQ_HD int32_t ratq_scale(int32_t acc, ratq_rescale r, ratq_rounding mode) {
    switch (mode) {
    case RATQ_ROUND_TFLITE: return ratq_scale_tflite(acc, r);
    case RATQ_ROUND_HALF_EVEN: return ratq_scale_half_even(acc, r);
    default: return ratq_scale_single(acc, r);
    }
}

// Full requantization: y = clamp(R(acc * m * 2^-s) + zp, lo, hi).
RATQ_HD int32_t ratq_requantize(int32_t acc, ratq_rescale r, int32_t zp, int32_t lo, int32_t hi,
                                ratq_rounding mode) {
    return (int32_t)ratq_clamp_i64((int64_t)ratq_scale(acc, r, mode) + zp, lo, hi);
}

// STE mask of the requantization: 1 where the clamp did not bind (the gradient passes), else 0.
// Inside [lo, hi] the rounding passes the gradient as identity (straight-through estimator).
RATQ_HD int ratq_requantize_ste_mask(int32_t acc, ratq_rescale r, int32_t zp, int32_t lo, int32_t hi,
                                     ratq_rounding mode) {
    int64_t y = (int64_t)ratq_scale(acc, r, mode) + zp;
    return y >= lo && y <= hi;
}

// Both at once from one evaluation of the scale: returns ratq_requantize(...), *mask = ratq_requantize_ste_mask(...).
// The output stage of the ops that keep a mask (CPU ADD and GAP, the CUDA epilogue, kernels/cuda/epilogue.cuh).
RATQ_HD int32_t ratq_requantize_masked(int32_t acc, ratq_rescale r, int32_t zp, int32_t lo, int32_t hi,
                                       ratq_rounding mode, uint8_t *mask) {
    const int64_t t = (int64_t)ratq_scale(acc, r, mode) + zp;
    *mask = (uint8_t)(t >= lo && t <= hi);
    return (int32_t)ratq_clamp_i64(t, lo, hi);
}

// ---------------------------------------------------------------------------------------------
// Float twin of `single`: the same requantization with one float32 multiply, for an engine whose output stage
// multiplies in float32 (M stored as a float, e.g. a float-only DSP or GPU epilogue). ratq itself never takes
// this path: training, the CPU engine, CUDA and the RTL all requantize in integers (ratq_requantize). It is kept
// as the proof of when such an engine is exact (tests/cpu/test_rescale.c; benchmarks/bench_requant.c checks it):
//   t = acc * M (M = m*2^-s as float);  y = floor(t) + (t - floor(t) >= 1/2)
// Tie rule: half toward +inf, as `single`. Exactness domain: acc is an integer, k <= 24 and
// |acc| * m <= 2^24, so M and t are exact floats; floor and the fraction t - floor(t) are then exact
// and y equals ratq_scale_single bit for bit wherever that does not saturate (|y| < 2^31); the clamped
// ratq_requantize_single_f32 equals ratq_requantize over the whole domain. (The naive floorf(t + 0.5f) is NOT exact there:
// t = 0.5 - 2^-25 gives 1.) Outside the domain the product rounds and y may differ by one.
RATQ_HD float ratq_rescale_to_f32(ratq_rescale r) { return ldexpf((float)r.m, -r.s); }

RATQ_HD float ratq_scale_single_f32(float acc, float M) {
    float t = acc * M;
    float fl = floorf(t);
    return fl + (t - fl >= 0.5f ? 1.0f : 0.0f);
}

RATQ_HD float ratq_requantize_single_f32(float acc, float M, float zp, float lo, float hi) {
    float y = ratq_scale_single_f32(acc, M) + zp;
    return y < lo ? lo : (y > hi ? hi : y);
}

#endif // RATQ_MATH_RESCALE_H
