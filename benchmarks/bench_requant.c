// bench_requant.c — CPU throughput of the shipped output stage (ratq_requantize_s8_cpu) per rounding mode and k.
// Validates before timing: every output must equal the per-element ratq_requantize and, for `single` with
// k <= 24 and |acc|*m <= 2^24, the float twin. Prints a Markdown table of elements/s (best of 5 repeats).
// usage: bench_requant [elements]   (default 4M accumulators, 64 channels)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/int_ops.h"
#include "math/splitmix64.h"
#include "common/io.h"

static uint64_t rng(uint64_t *s) { return ratq_splitmix64_next(s); }

int main(int argc, char **argv) {
    const int64_t n = argc > 1 ? atoll(argv[1]) : (4 << 20);
    const int channels = 64;
    uint64_t st = 42;
    int32_t *acc = malloc(sizeof(int32_t) * n);
    int8_t *out = malloc(n);
    for (int64_t i = 0; i < n; i++) acc[i] = (int32_t)(rng(&st) % 65536) - 32768; // typical 1x1-conv accumulators
    static const int ks[] = {31, 16, 8, 4, 2, 1};
    static const char *names[] = {"tflite", "single", "half_even"};
    printf("| rounding | k | Melem/s | ns/elem |\n|---|---|---|---|\n");
    for (int mode = 0; mode < 3; mode++)
        for (int ki = 0; ki < 6; ki++) {
            ratq_rescale rs[64];
            for (int c = 0; c < channels; c++)
                ratq_rescale_from_real(ldexp(1.0 + (double)(rng(&st) % 1000) / 1000.0, -9), ks[ki], &rs[c]);
            ratq_requant_s8 rq = {rs, 1, 5, -128, 127, (ratq_rounding)mode};
            ratq_requantize_s8_cpu(acc, n, channels, &rq, out);
            for (int64_t i = 0; i < n; i++) { // validate
                const ratq_rescale r = rs[i % channels];
                int32_t want = ratq_requantize(acc[i], r, 5, -128, 127, (ratq_rounding)mode);
                if (out[i] != want) {
                    fprintf(stderr, "bench_requant: validation failed at %lld\n", (long long)i);
                    return 1;
                }
                if (mode == RATQ_ROUND_SINGLE && ks[ki] <= 24 && fabs((double)acc[i]) * r.m <= 16777216.0 &&
                    (int32_t)ratq_requantize_single_f32((float)acc[i], ratq_rescale_to_f32(r), 5, -128, 127) != want) {
                    fprintf(stderr, "bench_requant: float twin differs at %lld\n", (long long)i);
                    return 1;
                }
            }
            double best = 1e30;
            for (int rep = 0; rep < 5; rep++) {
                double t0 = ratq_now();
                ratq_requantize_s8_cpu(acc, n, channels, &rq, out);
                double dt = ratq_now() - t0;
                if (dt < best) best = dt;
            }
            printf("| %s | %d | %.1f | %.2f |\n", names[mode], ks[ki], n / best / 1e6, best / n * 1e9);
        }
    free(acc);
    free(out);
    return 0;
}
