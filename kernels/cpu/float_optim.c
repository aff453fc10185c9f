// float_optim.c — SGD (momentum / Nesterov / weight decay) and AdamW with PyTorch semantics, and the
// warm-up + cosine learning-rate schedule. _cpu and _ref share the per-element arithmetic (bit-identical).
#include <math.h>

#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

// One SGD element (formulas in float_ops.h). PyTorch order: g = grad + wd*p; buf; nesterov; p -= lr*g.
static inline void sgd_elem(const ratq_sgd_params *p, float *param, float grad, float *buf) {
    float g = grad;
    if (p->weight_decay != 0.0f) g = g + p->weight_decay * *param;
    if (p->momentum != 0.0f) {
        float b = p->step == 0 ? g : p->momentum * *buf + (1.0f - p->dampening) * g;
        *buf = b;
        g = p->nesterov ? g + p->momentum * b : b;
    }
    *param = *param - p->lr * g;
}

void ratq_sgd_step_ref(const ratq_sgd_params *p, size_t n, float *param, const float *grad, float *momentum_buf) {
    float dummy = 0.0f;
    for (size_t i = 0; i < n; i++) sgd_elem(p, &param[i], grad[i], momentum_buf ? &momentum_buf[i] : &dummy);
}
void ratq_sgd_step_cpu(const ratq_sgd_params *p, size_t n, float *param, const float *grad, float *momentum_buf) {
    if (p->momentum != 0.0f) {
        RATQ_OMP(parallel for schedule(static))
        for (size_t i = 0; i < n; i++) sgd_elem(p, &param[i], grad[i], &momentum_buf[i]);
    } else {
        RATQ_OMP(parallel for schedule(static))
        for (size_t i = 0; i < n; i++) {
            float dummy = 0.0f;
            sgd_elem(p, &param[i], grad[i], &dummy);
        }
    }
}

// AdamW constants for step t: step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t) (double, then float).
typedef struct {
    float step_size, bc2_sqrt, decay;
} adamw_consts;

static adamw_consts adamw_prepare(const ratq_adamw_params *p) {
    const double t = (double)(p->step < 1 ? 1 : p->step);
    adamw_consts k;
    k.step_size = (float)((double)p->lr / (1.0 - pow((double)p->beta1, t)));
    k.bc2_sqrt = (float)sqrt(1.0 - pow((double)p->beta2, t));
    k.decay = 1.0f - p->lr * p->weight_decay;
    return k;
}

static inline void adamw_elem(const ratq_adamw_params *p, const adamw_consts *k, float *param, float g, float *m,
                              float *v) {
    *param = *param * k->decay;
    *m = p->beta1 * *m + (1.0f - p->beta1) * g;
    *v = p->beta2 * *v + (1.0f - p->beta2) * (g * g);
    const float denom = sqrtf(*v) / k->bc2_sqrt + p->eps;
    *param = *param - k->step_size * (*m / denom);
}

void ratq_adamw_step_ref(const ratq_adamw_params *p, size_t n, float *param, const float *grad, float *m, float *v) {
    const adamw_consts k = adamw_prepare(p);
    for (size_t i = 0; i < n; i++) adamw_elem(p, &k, &param[i], grad[i], &m[i], &v[i]);
}
void ratq_adamw_step_cpu(const ratq_adamw_params *p, size_t n, float *param, const float *grad, float *m, float *v) {
    const adamw_consts k = adamw_prepare(p);
    RATQ_OMP(parallel for schedule(static))
    for (size_t i = 0; i < n; i++) adamw_elem(p, &k, &param[i], grad[i], &m[i], &v[i]);
}

double ratq_lr_at(const ratq_lr_schedule *s, int64_t step) {
    if (step < 0) step = 0;
    if (step < s->warmup_steps)
        return s->warmup_init_lr + (s->base_lr - s->warmup_init_lr) * (double)(step + 1) / (double)s->warmup_steps;
    int64_t span = s->total_steps - s->warmup_steps;
    if (span < 1) span = 1;
    double t = (double)(step - s->warmup_steps) / (double)span;
    if (t > 1.0) t = 1.0;
    const double pi = 3.14159265358979323846;
    return s->final_lr + 0.5 * (s->base_lr - s->final_lr) * (1.0 + cos(pi * t));
}
