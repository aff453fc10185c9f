// float_elementwise.c — ReLU6, residual add, gradient accumulate, global average pool.
#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

// y = min(max(x, 0), 6)
static inline float relu6(float x) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); }
// dx = dy where 0 < x < 6 (open interval: 0 at both kinks, as PyTorch hardtanh_backward)
static inline float relu6_grad(float x, float dy) { return (x > 0.0f && x < 6.0f) ? dy : 0.0f; }

void ratq_relu6_fwd_ref(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = relu6(x[i]);
}
void ratq_relu6_fwd_cpu(size_t n, const float *x, float *y) {
    RATQ_OMP(parallel for schedule(static))
    for (size_t i = 0; i < n; i++) y[i] = relu6(x[i]);
}
void ratq_relu6_bwd_ref(size_t n, const float *x, const float *dy, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] = relu6_grad(x[i], dy[i]);
}
void ratq_relu6_bwd_cpu(size_t n, const float *x, const float *dy, float *dx) {
    RATQ_OMP(parallel for schedule(static))
    for (size_t i = 0; i < n; i++) dx[i] = relu6_grad(x[i], dy[i]);
}

void ratq_add_fwd_ref(size_t n, const float *a, const float *b, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
void ratq_add_fwd_cpu(size_t n, const float *a, const float *b, float *y) {
    RATQ_OMP(parallel for schedule(static))
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
void ratq_accumulate_ref(size_t n, float *dst, const float *src) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}
void ratq_accumulate_cpu(size_t n, float *dst, const float *src) {
    RATQ_OMP(parallel for schedule(static))
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

// ---- global average pool: y[n][c] = (1/(H*W)) * sum_{h,w} x[n][h][w][c], double accumulator ----
void ratq_global_avgpool_fwd_ref(const ratq_pool_params *p, const float *x, float *y) {
    const size_t hw = (size_t)p->h * p->w;
    for (int n = 0; n < p->n; n++)
        for (int c = 0; c < p->c; c++) {
            double acc = 0.0;
            for (size_t s = 0; s < hw; s++) acc += x[((size_t)n * hw + s) * p->c + c];
            y[(size_t)n * p->c + c] = (float)(acc / (double)hw);
        }
}
void ratq_global_avgpool_fwd_cpu(const ratq_pool_params *p, const float *x, float *y) {
    const size_t hw = (size_t)p->h * p->w;
    const int nblk = (p->c + RATQ_CBLK - 1) / RATQ_CBLK;
    RATQ_OMP(parallel for schedule(static))
    for (int t = 0; t < p->n * nblk; t++) { // task = (sample, channel block); same summation order as _ref
        const int n = t / nblk, c0 = (t % nblk) * RATQ_CBLK;
        const int cb = p->c - c0 < RATQ_CBLK ? p->c - c0 : RATQ_CBLK;
        double acc[RATQ_CBLK] = {0};
        for (size_t s = 0; s < hw; s++) {
            const float *xp = x + ((size_t)n * hw + s) * p->c + c0;
            for (int j = 0; j < cb; j++) acc[j] += xp[j];
        }
        for (int j = 0; j < cb; j++) y[(size_t)n * p->c + c0 + j] = (float)(acc[j] / (double)hw);
    }
}
void ratq_global_avgpool_bwd_ref(const ratq_pool_params *p, const float *dy, float *dx) {
    const size_t hw = (size_t)p->h * p->w;
    const float inv = (float)(1.0 / (double)hw);
    for (int n = 0; n < p->n; n++)
        for (size_t s = 0; s < hw; s++)
            for (int c = 0; c < p->c; c++) dx[((size_t)n * hw + s) * p->c + c] = dy[(size_t)n * p->c + c] * inv;
}
void ratq_global_avgpool_bwd_cpu(const ratq_pool_params *p, const float *dy, float *dx) {
    const size_t hw = (size_t)p->h * p->w;
    const float inv = (float)(1.0 / (double)hw);
    RATQ_OMP(parallel for schedule(static))
    for (size_t r = 0; r < (size_t)p->n * hw; r++) {
        const float *d = dy + (r / hw) * p->c;
        for (int c = 0; c < p->c; c++) dx[r * p->c + c] = d[c] * inv;
    }
}
