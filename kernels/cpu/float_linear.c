// float_linear.c — fully connected layer y = x w^T + b, forward and backward (GEMMs in the fast version).
#include <string.h>

#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

void ratq_linear_fwd_ref(const ratq_linear_params *p, const float *x, const float *w, const float *b, float *y) {
    for (int n = 0; n < p->n; n++)
        for (int o = 0; o < p->out; o++) {
            double acc = b ? (double)b[o] : 0.0;
            for (int i = 0; i < p->in; i++) acc += (double)x[(size_t)n * p->in + i] * (double)w[(size_t)o * p->in + i];
            y[(size_t)n * p->out + o] = (float)acc;
        }
}

void ratq_linear_bwd_ref(const ratq_linear_params *p, const float *x, const float *w, const float *dy, float *dx,
                         float *dw, float *db) {
    if (dx) // dx[n][i] = sum_o dy[n][o] w[o][i]
        for (int n = 0; n < p->n; n++)
            for (int i = 0; i < p->in; i++) {
                double acc = 0.0;
                for (int o = 0; o < p->out; o++)
                    acc += (double)dy[(size_t)n * p->out + o] * (double)w[(size_t)o * p->in + i];
                dx[(size_t)n * p->in + i] = (float)acc;
            }
    if (dw) // dw[o][i] = sum_n dy[n][o] x[n][i]
        for (int o = 0; o < p->out; o++)
            for (int i = 0; i < p->in; i++) {
                double acc = 0.0;
                for (int n = 0; n < p->n; n++)
                    acc += (double)dy[(size_t)n * p->out + o] * (double)x[(size_t)n * p->in + i];
                dw[(size_t)o * p->in + i] = (float)acc;
            }
    if (db)
        for (int o = 0; o < p->out; o++) {
            double acc = 0.0;
            for (int n = 0; n < p->n; n++) acc += dy[(size_t)n * p->out + o];
            db[o] = (float)acc;
        }
}

void ratq_linear_fwd_cpu(const ratq_linear_params *p, const float *x, const float *w, const float *b, float *y) {
    if (b)
        for (int n = 0; n < p->n; n++) memcpy(y + (size_t)n * p->out, b, sizeof(float) * p->out);
    ratq_sgemm_cpu(0, 1, p->n, p->out, p->in, 1.0f, x, p->in, w, p->in, b ? 1.0f : 0.0f, y, p->out);
}

void ratq_linear_bwd_cpu(const ratq_linear_params *p, const float *x, const float *w, const float *dy, float *dx,
                         float *dw, float *db) {
    if (dx) ratq_sgemm_cpu(0, 0, p->n, p->in, p->out, 1.0f, dy, p->out, w, p->in, 0.0f, dx, p->in);
    if (dw) ratq_sgemm_cpu(1, 0, p->out, p->in, p->n, 1.0f, dy, p->out, x, p->in, 0.0f, dw, p->in);
    if (db) ratq_colsum_cpu(p->n, p->out, p->out, dy, db);
}
