// test_float_optim.c — SGD (momentum, Nesterov, dampening, weight decay) and AdamW against an independent
// double-precision statement of PyTorch's update rules, fast vs reference (bit-exact), behavioural
// checks (AdamW's first step is -lr*sign(g); both minimize a quadratic), and the warm-up + cosine schedule.
#include "cpu/float_ops.h"
#include "cpu/test_float_util.h"

enum { N = 1000, STEPS = 6 };

static int test_sgd(float momentum, float dampening, float wd, int nesterov) {
    ratq_sgd_params p = {.lr = 0.1f, .momentum = momentum, .dampening = dampening, .weight_decay = wd, .nesterov = nesterov};
    float *w1 = tf_rand(N, -1, 1), *w2 = tf_alloc(N), *b1 = tf_alloc(N), *b2 = tf_alloc(N), *g = tf_alloc(N);
    double *wd_ = malloc(sizeof(double) * N), *bd = malloc(sizeof(double) * N);
    memcpy(w2, w1, sizeof(float) * N);
    for (int i = 0; i < N; i++) wd_[i] = w1[i], b1[i] = b2[i] = NAN, bd[i] = 0; // buffers are set on step 0
    int bad = 0;
    for (int s = 0; s < STEPS; s++) {
        tf_fill(g, N, -1, 1);
        p.step = s;
        ratq_sgd_step_ref(&p, N, w1, g, momentum != 0.0f ? b1 : NULL);
        ratq_sgd_step_cpu(&p, N, w2, g, momentum != 0.0f ? b2 : NULL);
        for (int i = 0; i < N; i++) { // torch.optim.SGD, in double
            double gg = g[i] + (double)wd * wd_[i];
            if (momentum != 0.0f) {
                bd[i] = s == 0 ? gg : momentum * bd[i] + (1.0 - dampening) * gg;
                gg = nesterov ? gg + momentum * bd[i] : bd[i];
            }
            wd_[i] -= 0.1 * gg;
        }
    }
    float *we = tf_alloc(N);
    for (int i = 0; i < N; i++) we[i] = (float)wd_[i];
    char name[96];
    snprintf(name, sizeof name, "sgd m %g d %g wd %g nesterov %d", momentum, dampening, wd, nesterov);
    // Float vs double: a few roundings per step of values <= ~3 (momentum sums), 6 steps: ~20 ulps of 3.
    bad += tf_close(name, w1, we, N, 1e-5, 1e-5);
    bad += tf_equal("sgd cpu vs ref (param)", w2, w1, N);
    if (momentum != 0.0f) bad += tf_equal("sgd cpu vs ref (momentum buffer)", b2, b1, N);
    free(w1), free(w2), free(b1), free(b2), free(g), free(wd_), free(bd), free(we);
    return bad;
}

static int test_adamw(float wd) {
    ratq_adamw_params p = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = wd};
    float *w1 = tf_rand(N, -1, 1), *w2 = tf_alloc(N), *m1 = tf_alloc(N), *v1 = tf_alloc(N), *m2 = tf_alloc(N), *v2 = tf_alloc(N);
    float *g = tf_alloc(N), *w0 = tf_alloc(N);
    double *pd = malloc(sizeof(double) * N), *md = malloc(sizeof(double) * N), *vd = malloc(sizeof(double) * N);
    memcpy(w2, w1, sizeof(float) * N), memcpy(w0, w1, sizeof(float) * N);
    for (int i = 0; i < N; i++) pd[i] = w1[i], md[i] = vd[i] = 0, m1[i] = v1[i] = m2[i] = v2[i] = 0;
    int bad = 0;
    for (int t = 1; t <= STEPS; t++) {
        tf_fill(g, N, -1, 1);
        p.step = t;
        ratq_adamw_step_ref(&p, N, w1, g, m1, v1);
        ratq_adamw_step_cpu(&p, N, w2, g, m2, v2);
        const double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t);
        for (int i = 0; i < N; i++) { // torch.optim.AdamW, in double (with the float hyper-parameters)
            pd[i] *= 1.0 - (double)p.lr * wd;
            md[i] = (double)p.beta1 * md[i] + (1.0 - (double)p.beta1) * g[i];
            vd[i] = (double)p.beta2 * vd[i] + (1.0 - (double)p.beta2) * g[i] * g[i];
            pd[i] -= (double)p.lr / bc1 * md[i] / (sqrt(vd[i]) / sqrt(bc2) + (double)p.eps);
        }
        if (t == 1 && wd == 0.0f) { // first step: m/sqrt(v) after bias correction is g/|g|, so dw = -lr*sign(g)
            int b1 = 0;
            for (int i = 0; i < N; i++) {
                const double step = (double)w1[i] - w0[i], want = g[i] > 0 ? -1e-2 : 1e-2;
                if (fabs(g[i]) > 1e-3 && fabs(step - want) > 1e-6) b1++; // 1e-6: float rounding of w near 1
            }
            if (b1) {
                fprintf(stderr, "FAIL adamw first step != -lr*sign(g) in %d elements\n", b1);
                bad++;
            }
        }
    }
    float *we = tf_alloc(N);
    for (int i = 0; i < N; i++) we[i] = (float)pd[i];
    // The update is ~lr per step with relative float error ~1e-6 (sqrt, divisions): parameters of size <= 1
    // drift by << 1e-6 over 6 steps; atol 2e-6 rtol 1e-5. Elements with |g| ~ 0 are not ill-conditioned
    // because v accumulates over steps (same in both).
    char name[64];
    snprintf(name, sizeof name, "adamw wd %g vs double statement", wd);
    bad += tf_close(name, w1, we, N, 2e-6, 1e-5);
    bad += tf_equal("adamw cpu vs ref (param)", w2, w1, N);
    bad += tf_equal("adamw cpu vs ref (m)", m2, m1, N);
    bad += tf_equal("adamw cpu vs ref (v)", v2, v1, N);
    free(w1), free(w2), free(m1), free(v1), free(m2), free(v2), free(g), free(w0), free(pd), free(md), free(vd), free(we);
    return bad;
}

// Both optimizers must reduce f(w) = 0.5 * sum a_i w_i^2 (a_i in [0.5, 2]) by a large factor in 300 steps.
static int test_minimize(void) {
    float w[64], a[64], g[64], buf[64], m[64], v[64], w2[64];
    tf_fill(a, 64, 0.5, 2.0);
    tf_fill(w, 64, -1, 1);
    memcpy(w2, w, sizeof w);
    memset(m, 0, sizeof m), memset(v, 0, sizeof v);
    double f0 = 0;
    for (int i = 0; i < 64; i++) f0 += 0.5 * a[i] * w[i] * w[i];
    ratq_sgd_params sp = {.lr = 0.05f, .momentum = 0.9f, .nesterov = 1};
    ratq_adamw_params ap = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f};
    for (int s = 0; s < 300; s++) {
        for (int i = 0; i < 64; i++) g[i] = a[i] * w[i];
        sp.step = s;
        ratq_sgd_step_cpu(&sp, 64, w, g, buf);
        for (int i = 0; i < 64; i++) g[i] = a[i] * w2[i];
        ap.step = s + 1;
        ratq_adamw_step_cpu(&ap, 64, w2, g, m, v);
    }
    double f1 = 0, f2 = 0;
    for (int i = 0; i < 64; i++) f1 += 0.5 * a[i] * w[i] * w[i], f2 += 0.5 * a[i] * w2[i] * w2[i];
    if (!(f1 < 1e-6 * f0) || !(f2 < 1e-2 * f0)) {
        fprintf(stderr, "FAIL minimize quadratic: f0 %g, sgd-nesterov %g, adamw %g\n", f0, f1, f2);
        return 1;
    }
    return 0;
}

static int test_schedule(void) {
    int bad = 0;
    ratq_lr_schedule s = {.base_lr = 0.1, .final_lr = 0.001, .warmup_init_lr = 0.0, .warmup_steps = 10, .total_steps = 110};
#define EXPECT(step, want)                                                                                 \
    do {                                                                                                   \
        const double got = ratq_lr_at(&s, step);                                                          \
        if (!(fabs(got - (want)) <= 1e-15)) {                                                             \
            fprintf(stderr, "FAIL lr_at(%d) = %.17g want %.17g\n", (int)(step), got, (double)(want));      \
            bad++;                                                                                         \
        }                                                                                                  \
    } while (0)
    EXPECT(0, 0.01);                   // (0+1)/10 of base
    EXPECT(4, 0.05);
    EXPECT(9, 0.1);                    // end of warm-up reaches base
    EXPECT(10, 0.1);                   // cosine starts at base
    EXPECT(60, 0.5 * (0.1 + 0.001));   // half way: cos(pi/2) = 0
    EXPECT(110, 0.001);                // end
    EXPECT(1000, 0.001);               // stays at final_lr
    double prev = 1e9;
    for (int64_t t = 10; t <= 120; t++) { // non-increasing after warm-up
        const double lr = ratq_lr_at(&s, t);
        if (lr > prev) {
            fprintf(stderr, "FAIL lr schedule increases at step %lld\n", (long long)t);
            bad++;
            break;
        }
        prev = lr;
    }
    s.warmup_steps = 0; // pure cosine: PyTorch CosineAnnealingLR(T_max = total_steps, eta_min = final_lr)
    EXPECT(0, 0.1);
    EXPECT(55, 0.5 * (0.1 + 0.001));
    EXPECT(110, 0.001);
#undef EXPECT
    return bad;
}

int main(void) {
    tf_seed(20240608);
    int bad = 0;
    bad += test_sgd(0.0f, 0.0f, 0.0f, 0);
    bad += test_sgd(0.0f, 0.0f, 1e-2f, 0);
    bad += test_sgd(0.9f, 0.0f, 1e-4f, 0);
    bad += test_sgd(0.9f, 0.0f, 1e-4f, 1);
    bad += test_sgd(0.9f, 0.1f, 0.0f, 0);
    bad += test_adamw(0.0f);
    bad += test_adamw(1e-2f);
    bad += test_minimize();
    bad += test_schedule();
    if (bad) {
        fprintf(stderr, "test_float_optim: FAIL (%d)\n", bad);
        return 1;
    }
    printf("test_float_optim: OK\n");
    return 0;
}
