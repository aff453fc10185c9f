// test_model_common.h — helpers shared by the model tests: tolerance comparison with a report, env paths.
#ifndef RATQ_TEST_MODEL_COMMON_H
#define RATQ_TEST_MODEL_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

// Compare n floats: pass iff |got - ref| <= atol + rtol * |ref| for every element (NaN fails).
// Prints the first mismatches and the max abs / max relative difference. Returns 1 if all pass.
static inline int tm_close(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol,
                    int verbose) {
    size_t bad = 0;
    double max_abs = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= atol + rtol * fabs((double)ref[i]))) {
            if (bad < 5)
                fprintf(stderr, "  %s[%zu]: got %.9g, reference %.9g, |d| %.3g > %.3g\n", what, i, got[i], ref[i], d,
                        atol + rtol * fabs((double)ref[i]));
            bad++;
        }
        if (d > max_abs || d != d) max_abs = d;
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
    }
    if (bad || verbose)
        fprintf(bad ? stderr : stdout, "%s %s: %zu values, %zu mismatches, max |d| %.3g (max |ref| %.3g)\n",
                bad ? "FAIL" : "ok  ", what, n, bad, max_abs, max_ref);
    return bad == 0;
}

static inline double tm_max_abs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(x[i]) > m) m = fabs(x[i]);
    return m;
}

// Path from an environment variable, or exit(1) with a message (a test must never pass vacuously).
static inline const char *tm_env(const char *var, const char *hint) {
    const char *v = getenv(var);
    if (!v || !*v) {
        fprintf(stderr, "FAIL: environment variable %s is not set (%s)\n", var, hint);
        exit(1);
    }
    return v;
}

#endif
