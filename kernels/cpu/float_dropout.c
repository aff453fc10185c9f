// float_dropout.c — counter-based RNG, dropout and drop-connect (stochastic depth), forward and backward.
// The mask is a pure function of (seed, stream, step, index), so the backward regenerates it.
#include "cpu/float_internal.h"
#include "cpu/float_ops.h"
#include "math/splitmix64.h"

float ratq_rng_u01(uint64_t seed, uint64_t stream, uint64_t step, uint64_t index) {
    const uint64_t h = ratq_splitmix64(
        ratq_splitmix64(ratq_splitmix64(ratq_splitmix64(seed ^ RATQ_SPLITMIX64_GAMMA) ^ stream) ^ step) ^ index);
    return (float)(h >> 40) * (1.0f / 16777216.0f); // 24 bits: exact in float, in [0, 1)
}

// Per-element factor: keep ? 1/(1-p) : 0, with p >= 1 -> 0 (everything dropped) and p <= 0 -> 1.
static inline float keep_scale(const ratq_dropout_params *p, uint64_t index) {
    if (p->drop_prob <= 0.0f) return 1.0f;
    if (p->drop_prob >= 1.0f) return 0.0f;
    const float u = ratq_rng_u01(p->seed, p->stream, p->step, index);
    return u >= p->drop_prob ? 1.0f / (1.0f - p->drop_prob) : 0.0f;
}

// Dropout forward and backward apply the same mask-and-scale to x and dy respectively.
void ratq_dropout_fwd_ref(const ratq_dropout_params *p, size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * keep_scale(p, i);
}
void ratq_dropout_fwd_cpu(const ratq_dropout_params *p, size_t n, const float *x, float *y) {
    RATQ_OMP(parallel for schedule(static))
    for (size_t i = 0; i < n; i++) y[i] = x[i] * keep_scale(p, i);
}
void ratq_dropout_bwd_ref(const ratq_dropout_params *p, size_t n, const float *dy, float *dx) {
    ratq_dropout_fwd_ref(p, n, dy, dx);
}
void ratq_dropout_bwd_cpu(const ratq_dropout_params *p, size_t n, const float *dy, float *dx) {
    ratq_dropout_fwd_cpu(p, n, dy, dx);
}

void ratq_drop_connect_fwd_ref(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *x,
                               float *y) {
    for (int s = 0; s < n_samples; s++) {
        const float k = keep_scale(p, (uint64_t)s);
        for (size_t i = 0; i < per_sample; i++) y[(size_t)s * per_sample + i] = x[(size_t)s * per_sample + i] * k;
    }
}
void ratq_drop_connect_fwd_cpu(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *x,
                               float *y) {
    RATQ_OMP(parallel for schedule(static))
    for (int s = 0; s < n_samples; s++) {
        const float k = keep_scale(p, (uint64_t)s);
        for (size_t i = 0; i < per_sample; i++) y[(size_t)s * per_sample + i] = x[(size_t)s * per_sample + i] * k;
    }
}
void ratq_drop_connect_bwd_ref(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *dy,
                               float *dx) {
    ratq_drop_connect_fwd_ref(p, n_samples, per_sample, dy, dx);
}
void ratq_drop_connect_bwd_cpu(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *dy,
                               float *dx) {
    ratq_drop_connect_fwd_cpu(p, n_samples, per_sample, dy, dx);
}
