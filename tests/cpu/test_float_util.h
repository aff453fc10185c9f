// test_float_util.h — helpers shared by the float op tests (tests/cpu/test_float_*.c): seeded data,
// tolerance comparisons that print the first mismatches and the max difference, central differences.
#ifndef RATQ_TESTS_CPU_TEST_FLOAT_UTIL_H
#define RATQ_TESTS_CPU_TEST_FLOAT_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// xorshift64* test-data generator (deterministic, seeded per test).
static uint64_t tf_state = 0x2545F4914F6CDD1Dull;
static inline void tf_seed(uint64_t s) { tf_state = s ? s : 1; }
static inline double tf_u01(void) {
    tf_state ^= tf_state >> 12;
    tf_state ^= tf_state << 25;
    tf_state ^= tf_state >> 27;
    return (double)((tf_state * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}
// Uniform in [lo, hi).
static inline void tf_fill(float *a, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * tf_u01());
}
static inline float *tf_alloc(size_t n) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) {
        fprintf(stderr, "test: out of memory\n");
        exit(1);
    }
    return p;
}
static inline float *tf_rand(size_t n, double lo, double hi) {
    float *p = tf_alloc(n);
    tf_fill(p, n, lo, hi);
    return p;
}
static inline float *tf_abs_copy(const float *a, size_t n) {
    float *p = tf_alloc(n);
    for (size_t i = 0; i < n; i++) p[i] = fabsf(a[i]);
    return p;
}

// |got - ref| <= atol + rtol*|ref| for every element. Prints the first 5 mismatches and the max |d|.
// Returns the number of mismatches (0 = pass).
static inline int tf_close(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol) {
    int bad = 0;
    double maxd = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - (double)ref[i]);
        if (d > maxd || isnan(d)) maxd = isnan(d) ? INFINITY : d;
        if (!(d <= atol + rtol * fabs((double)ref[i]))) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: got %.9g want %.9g (|d| = %.3g)\n", what, i, got[i], ref[i], d);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "FAIL %s: %d of %zu mismatches, max |d| = %.3g (atol %.3g rtol %.3g)\n", what, bad, n, maxd, atol, rtol);
    return bad;
}

// Bound for a sum of K float products computed in any order (Higham's gamma_K, plus one final rounding):
//   |got - exact| <= (K + 2) * 2^-24 * S,  S = sum of |terms| (computed by running the reference on |inputs|).
// The reference is accumulated in double and rounded once, so |ref - exact| <= 2^-24 * S as well; we allow
// the sum of both. An indexing bug shifts a result by O(one term), far above this bound for the K used here.
static inline int tf_close_sum(const char *what, const float *got, const float *ref, const float *S, size_t n, double K) {
    int bad = 0;
    double maxd = 0.0;
    const double u = 1.0 / 16777216.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - (double)ref[i]);
        if (d > maxd || isnan(d)) maxd = isnan(d) ? INFINITY : d;
        const double tol = (K + 3.0) * u * fabs((double)S[i]) + 1e-30;
        if (!(d <= tol)) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: got %.9g want %.9g (|d| = %.3g > %.3g)\n", what, i, got[i], ref[i], d, tol);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "FAIL %s: %d of %zu outside the (K+3)*2^-24*S bound (K = %g), max |d| = %.3g\n", what, bad, n, K, maxd);
    return bad;
}

// Exact equality (bit patterns compared as floats; NaN never equal).
static inline int tf_equal(const char *what, const float *got, const float *ref, size_t n) {
    return tf_close(what, got, ref, n, 0.0, 0.0);
}

// sum_i r[i] * y[i] in double: the scalar loss whose gradient wrt y is r (used as dy).
static inline double tf_dot(const float *r, const float *y, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)r[i] * (double)y[i];
    return s;
}

// Central differences of a scalar loss f(ctx) wrt the float array v (checking every element, or every
// `stride`-th one): num = (f(v_j + h) - f(v_j - h)) / (v_j+ - v_j-) using the perturbations as actually
// stored in float. Compares with ana[j] under |num - ana| <= atol + rtol*|ana|; returns mismatches.
typedef double (*tf_loss_fn)(void *ctx);
static inline int tf_gradcheck(const char *what, tf_loss_fn f, void *ctx, float *v, const float *ana, size_t n, size_t stride,
                               float h, double atol, double rtol) {
    int bad = 0;
    double maxd = 0.0;
    for (size_t j = 0; j < n; j += stride) {
        const float orig = v[j];
        const float vp = orig + h, vm = orig - h;
        v[j] = vp;
        const double lp = f(ctx);
        v[j] = vm;
        const double lm = f(ctx);
        v[j] = orig;
        const double num = (lp - lm) / ((double)vp - (double)vm);
        const double d = fabs(num - (double)ana[j]);
        if (d > maxd || isnan(d)) maxd = isnan(d) ? INFINITY : d;
        if (!(d <= atol + rtol * fabs((double)ana[j]))) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: analytic %.9g numeric %.9g (|d| = %.3g)\n", what, j, ana[j], num, d);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "FAIL grad %s: %d mismatches, max |d| = %.3g (h %g atol %g rtol %g)\n", what, bad, maxd, h, atol, rtol);
    return bad;
}

#endif
