// test_util.h — minimal test harness: a failed check prints file:line and the values, the test's exit code is
// the verdict (0 = all checks passed). Deterministic RNG (splitmix64) so failures reproduce.
#ifndef RATQ_TEST_UTIL_H
#define RATQ_TEST_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "math/splitmix64.h"

static long ratq_test_failures = 0, ratq_test_checks = 0;

// Print at most 20 failures in detail; count all of them.
#define CHECK_MSG(cond, ...)                                                                                          \
    do {                                                                                                              \
        ratq_test_checks++;                                                                                           \
        if (!(cond)) {                                                                                                \
            if (ratq_test_failures++ < 20) {                                                                          \
                fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                              \
                fprintf(stderr, __VA_ARGS__);                                                                         \
                fputc('\n', stderr);                                                                                  \
            }                                                                                                         \
        }                                                                                                             \
    } while (0)

#define CHECK_EQ_I64(a, b, ...)                                                                                       \
    do {                                                                                                              \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                                                 \
        CHECK_MSG(a_ == b_, __VA_ARGS__);                                                                             \
        if (a_ != b_ && ratq_test_failures <= 20)                                                                     \
            fprintf(stderr, "    got %" PRId64 ", want %" PRId64 "\n", a_, b_);                                       \
    } while (0)

// Exit code of a test: 0 when every check passed (and at least one ran).
static inline int ratq_test_finish(const char *name) {
    if (ratq_test_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %ld checks, %ld failed\n", name, ratq_test_checks, ratq_test_failures);
    return ratq_test_failures ? 1 : 0;
}

static inline uint64_t ratq_test_rng(uint64_t *state) { return ratq_splitmix64_next(state); }
// Uniform integer in [lo, hi].
static inline int64_t ratq_test_range(uint64_t *st, int64_t lo, int64_t hi) {
    return lo + (int64_t)(ratq_test_rng(st) % (uint64_t)(hi - lo + 1));
}
// Uniform double in [0, 1).
static inline double ratq_test_unit(uint64_t *st) { return (double)(ratq_test_rng(st) >> 11) * 0x1.0p-53; }

// n floats (exit(1) when out of memory: a test cannot go on), and n floats uniform in [lo, hi) from *st.
static inline float *ratq_test_falloc(size_t n) {
    float *p = (float *)malloc(sizeof(float) * (n ? n : 1));
    if (!p) {
        fprintf(stderr, "test: out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}
static inline float *ratq_test_frand(uint64_t *st, size_t n, double lo, double hi) {
    float *p = ratq_test_falloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * ratq_test_unit(st));
    return p;
}

#endif
