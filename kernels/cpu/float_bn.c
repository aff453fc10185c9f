// float_bn.c — batch norm over x[rows][c] (NHWC flattened), train and eval, forward and backward.
// Both versions use the same per-element formulas and the same per-channel summation order (rows in
// order, double accumulators); the fast version runs channel blocks of RATQ_CBLK in parallel.
#include <math.h>

#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

// ---- per-channel-range kernels shared by _ref (whole range, one call) and _cpu (one block per task) ----

static void bn_train_fwd_range(const ratq_bn_params *p, int c0, int c1, const float *x, const float *gamma,
                               const float *beta, float *y, float *running_mean, float *running_var, float *save_mean,
                               float *save_invstd) {
    const int C = p->c, R = p->rows;
    for (int c = c0; c < c1; c++) {
        double s = 0.0;
        for (int r = 0; r < R; r++) s += x[(size_t)r * C + c];
        const double mean = s / R;
        double ss = 0.0; // two-pass variance
        for (int r = 0; r < R; r++) {
            const double d = (double)x[(size_t)r * C + c] - mean;
            ss += d * d;
        }
        const double var = ss / R;
        const float meanf = (float)mean, invstd = (float)(1.0 / sqrt(var + (double)p->eps));
        save_mean[c] = meanf;
        save_invstd[c] = invstd;
        if (running_mean && running_var) {
            const double unbiased = R > 1 ? var * R / (R - 1) : var;
            running_mean[c] = (float)((1.0 - p->momentum) * running_mean[c] + (double)p->momentum * mean);
            running_var[c] = (float)((1.0 - p->momentum) * running_var[c] + (double)p->momentum * unbiased);
        }
        const float g = gamma[c], b = beta[c];
        for (int r = 0; r < R; r++) y[(size_t)r * C + c] = g * ((x[(size_t)r * C + c] - meanf) * invstd) + b;
    }
}

static void bn_bwd_range(const ratq_bn_params *p, int train, int c0, int c1, const float *x, const float *dy,
                         const float *gamma, const float *mean, const float *invstd_or_var, float *dx, float *dgamma,
                         float *dbeta) {
    const int C = p->c, R = p->rows;
    for (int c = c0; c < c1; c++) {
        const float m = mean[c];
        const float invstd = train ? invstd_or_var[c] : (float)(1.0 / sqrt((double)invstd_or_var[c] + p->eps));
        double sb = 0.0, sg = 0.0;
        for (int r = 0; r < R; r++) {
            const float d = dy[(size_t)r * C + c];
            sb += d;
            sg += (double)d * (double)((x[(size_t)r * C + c] - m) * invstd);
        }
        if (dgamma) dgamma[c] = (float)sg;
        if (dbeta) dbeta[c] = (float)sb;
        if (!dx) continue;
        if (train) { // dx = gamma*invstd/R * (R*dy - sum dy - xhat * sum dy*xhat)
            const double k = (double)gamma[c] * invstd / R;
            for (int r = 0; r < R; r++) {
                const size_t i = (size_t)r * C + c;
                const double xhat = (double)((x[i] - m) * invstd);
                dx[i] = (float)(k * ((double)R * dy[i] - sb - xhat * sg));
            }
        } else { // dx = dy * gamma * invstd
            const float k = gamma[c] * invstd;
            for (int r = 0; r < R; r++) dx[(size_t)r * C + c] = dy[(size_t)r * C + c] * k;
        }
    }
}

static void bn_eval_fwd_range(const ratq_bn_params *p, int c0, int c1, const float *x, const float *gamma,
                              const float *beta, const float *mean, const float *var, float *y) {
    const int C = p->c, R = p->rows;
    for (int c = c0; c < c1; c++) {
        const float m = mean[c], invstd = (float)(1.0 / sqrt((double)var[c] + p->eps)), g = gamma[c], b = beta[c];
        for (int r = 0; r < R; r++) y[(size_t)r * C + c] = g * ((x[(size_t)r * C + c] - m) * invstd) + b;
    }
}

#define NBLK(c) (((c) + RATQ_CBLK - 1) / RATQ_CBLK)
#define BLK_END(blk, c) ((blk) * RATQ_CBLK + RATQ_CBLK < (c) ? (blk) * RATQ_CBLK + RATQ_CBLK : (c))

// ---- train ----
void ratq_bn_train_fwd_ref(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta, float *y,
                           float *running_mean, float *running_var, float *save_mean, float *save_invstd) {
    bn_train_fwd_range(p, 0, p->c, x, gamma, beta, y, running_mean, running_var, save_mean, save_invstd);
}
void ratq_bn_train_fwd_cpu(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta, float *y,
                           float *running_mean, float *running_var, float *save_mean, float *save_invstd) {
    RATQ_OMP(parallel for schedule(static))
    for (int blk = 0; blk < NBLK(p->c); blk++)
        bn_train_fwd_range(p, blk * RATQ_CBLK, BLK_END(blk, p->c), x, gamma, beta, y, running_mean, running_var,
                           save_mean, save_invstd);
}
void ratq_bn_train_bwd_ref(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                           const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta) {
    bn_bwd_range(p, 1, 0, p->c, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}
void ratq_bn_train_bwd_cpu(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                           const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta) {
    RATQ_OMP(parallel for schedule(static))
    for (int blk = 0; blk < NBLK(p->c); blk++)
        bn_bwd_range(p, 1, blk * RATQ_CBLK, BLK_END(blk, p->c), x, dy, gamma, save_mean, save_invstd, dx, dgamma,
                     dbeta);
}

// ---- eval ----
void ratq_bn_eval_fwd_ref(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta,
                          const float *mean, const float *var, float *y) {
    bn_eval_fwd_range(p, 0, p->c, x, gamma, beta, mean, var, y);
}
void ratq_bn_eval_fwd_cpu(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta,
                          const float *mean, const float *var, float *y) {
    RATQ_OMP(parallel for schedule(static))
    for (int blk = 0; blk < NBLK(p->c); blk++)
        bn_eval_fwd_range(p, blk * RATQ_CBLK, BLK_END(blk, p->c), x, gamma, beta, mean, var, y);
}
void ratq_bn_eval_bwd_ref(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                          const float *mean, const float *var, float *dx, float *dgamma, float *dbeta) {
    bn_bwd_range(p, 0, 0, p->c, x, dy, gamma, mean, var, dx, dgamma, dbeta);
}
void ratq_bn_eval_bwd_cpu(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                          const float *mean, const float *var, float *dx, float *dgamma, float *dbeta) {
    RATQ_OMP(parallel for schedule(static))
    for (int blk = 0; blk < NBLK(p->c); blk++)
        bn_bwd_range(p, 0, blk * RATQ_CBLK, BLK_END(blk, p->c), x, dy, gamma, mean, var, dx, dgamma, dbeta);
}
