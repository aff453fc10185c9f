// test_util.h — minimal test harness: a failed check prints file:line and the values, the test's exit code is
// the verdict (0 = all checks passed). Deterministic RNG (splitmix64) so failures reproduce.
#ifndef RATQ_TEST_UTIL_H
#define RATQ_TEST_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

// Inputs a user may not have: ../shared (RATQ_SHARED_DATA, RATQ_PDK: data sets, CMSIS-NN vectors, Liberty files)
// and the converted Lite0 weights (scripts/test.sh fetches them). ratq_test_need(path) returns when path exists;
// otherwise the test is SKIPPED: one line "SKIP: ..." and exit 77 (CTest SKIP_RETURN_CODE), or, when the
// environment has RATQ_REQUIRE_SHARED=1 (.ci/run), it FAILS: one line "FAIL: ..." and exit 1. This is the only
// place the rule lives: CMake tests declare what they need (ratq_cpu_test / ratq_add_test NEEDS in
// tests/CMakeLists.txt) and run through tests/need.c, which calls it before starting the test.
#define RATQ_TEST_SKIP 77
static inline void ratq_test_need(const char *path) {
    FILE *f = fopen(path, "r"); // also opens directories (Linux)
    if (f) {
        fclose(f);
        return;
    }
    const char *req = getenv("RATQ_REQUIRE_SHARED");
    if (req && !strcmp(req, "1")) {
        fprintf(stderr, "FAIL: %s is missing (RATQ_REQUIRE_SHARED=1: ../shared data and weights must be present)\n",
                path);
        exit(1);
    }
    printf("SKIP: %s is missing (../shared data, PDK or weights from scripts/test.sh)\n", path);
    exit(RATQ_TEST_SKIP);
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
