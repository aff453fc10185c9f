// test_quant_ste.c — the STE backward (ratq_qnet_backward) equals its closed form (host/quant/qnet.h):
//   FC:   g[n][o] = dz[n][o] * mask[n][o] * r[o];  dW[o][i] = sum_n g x_r[n][i];  db[o] = sum_n g
//   GAP:  gradient into its input = (sum_o g[n][o] w_r[o][c]) * mask_gap * r_gap / (H W), then the head conv's
//         g = that * mask_head * r_head[c]
//   stem: dW[o][ky][kx][i] = sum_{n,oy,ox} g[n][oy][ox][o] * x_r[n][iy][ix][i] (taps outside the input: 0),
//         and g = 0 wherever the clamp bound (mask recomputed from the engine's accumulator and
//         ratq_requantize_ste_mask).
// Tiny network, random weights, 4 random images, k = 4 and k = 2, single and tflite rounding. Reference sums in
// double; tolerance |d| <= 1e-6 + 1e-4 |ref| (float32 accumulation of <= 4*16*16 terms in the float ops).
#include <math.h>
#include <string.h>

#include "test_quant_common.h"

static double maxrel = 0;

static void close_check(const char *what, size_t i, double got, double ref) {
    double d = fabs(got - ref), tol = 1e-6 + 1e-4 * fabs(ref);
    if (fabs(ref) > 1e-3 && d / fabs(ref) > maxrel) maxrel = d / fabs(ref);
    CHECK_MSG(d <= tol, "%s[%zu]: got %.9g, closed form %.9g", what, i, got, ref);
}

static void run(ratq_qnet *q, const uint8_t *img, int n, const ratq_quant_options *opt, uint64_t seed) {
    CHECK_MSG(ratq_qnet_quantize(q, opt) == 0, "quantize");
    CHECK_MSG(ratq_qnet_forward(q, img, n) != NULL, "forward");
    const int K = q->num_classes, L = q->n_ops;
    float *dz = malloc((size_t)n * K * sizeof(float));
    uint64_t st = seed;
    for (int i = 0; i < n * K; i++) dz[i] = (float)(ratq_test_unit(&st) - 0.5);
    CHECK_MSG(ratq_qnet_backward(q, dz) == 0, "backward");
    // FC
    const ratq_qnop *fc = &q->ops[L - 1], *gap = &q->ops[fc->src], *head = &q->ops[gap->src];
    CHECK_MSG(gap->kind == RATQ_QN_GAP && head->kind == RATQ_QN_CONV, "network layout");
    const int C = fc->per_oc;
    double *g = calloc((size_t)n * K, sizeof(double)), *dg = calloc((size_t)n * C, sizeof(double));
    for (int b = 0; b < n; b++)
        for (int o = 0; o < K; o++) {
            size_t j = (size_t)b * K + o;
            g[j] = q->mask[L - 1][j] ? (double)dz[j] * fc->ratio[o] : 0.0;
        }
    for (int o = 0; o < K; o++) {
        double db = 0;
        for (int b = 0; b < n; b++) db += g[b * K + o];
        close_check("fc db", (size_t)o, q->grads[fc->b_off + o], db);
        for (int i = 0; i < C; i++) {
            double dw = 0;
            for (int b = 0; b < n; b++)
                dw += g[b * K + o] * gap->out.scale * (double)(q->q[fc->src][b * C + i] - gap->out.zp);
            close_check("fc dW", (size_t)o * C + i, q->grads[fc->w_off + (size_t)o * C + i], dw);
        }
    }
    // GAP -> head conv: the head conv's g (left in q->f by the backward)
    const int hw = gap->h * gap->w;
    for (int b = 0; b < n; b++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int o = 0; o < K; o++) s += g[b * K + o] * fc->wr[(size_t)o * C + c];
            dg[b * C + c] = q->mask[fc->src][b * C + c] ? s * gap->ratio_a / hw : 0.0;
        }
    for (int b = 0; b < n; b++)
        for (int p = 0; p < hw; p++)
            for (int c = 0; c < C; c++) {
                size_t j = ((size_t)b * hw + p) * C + c;
                double ref = q->mask[gap->src][j] ? dg[b * C + c] * head->ratio[c] : 0.0;
                close_check("head g", j, q->f[gap->src][j], ref);
            }
    // stem conv weight gradient from its g, and the mask from the engine's accumulator
    const ratq_qnop *stem = &q->ops[0];
    ratq_conv_shape sh = stem->sh;
    sh.batch = n;
    size_t cnt = (size_t)n * stem->oh * stem->ow * stem->oc;
    int32_t *acc = malloc(cnt * sizeof(int32_t));
    ratq_conv_acc_s32_cpu(&sh, q->qin, -q->in.zp, stem->wq, 0, stem->bq, acc);
    long masked = 0;
    for (size_t j = 0; j < cnt; j++) {
        int c = (int)(j % (size_t)stem->oc);
        int mk = ratq_requantize_ste_mask(acc[j], stem->rs[c], stem->out.zp, stem->out.lo, stem->out.hi, opt->rounding);
        CHECK_EQ_I64(q->mask[0][j], mk, "stem mask[%zu]", j);
        if (!mk) {
            masked++;
            CHECK_MSG(q->f[0][j] == 0.0f, "stem g[%zu] = %g where the clamp bound", j, q->f[0][j]);
        }
    }
    CHECK_MSG(masked > 0 && masked < (long)cnt, "stem: %ld of %zu masked (want some of each)", masked, cnt);
    const ratq_conv2d_params *p = &stem->fp;
    for (int o = 0; o < stem->oc; o++)
        for (int ky = 0; ky < p->kh; ky++)
            for (int kx = 0; kx < p->kw; kx++)
                for (int i = 0; i < p->ic; i++) {
                    double s = 0;
                    for (int b = 0; b < n; b++)
                        for (int oy = 0; oy < p->oh; oy++)
                            for (int ox = 0; ox < p->ow; ox++) {
                                int iy = oy * p->stride_h - p->pad_top + ky, ix = ox * p->stride_w - p->pad_left + kx;
                                if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                                double xr = q->in.scale * (double)(q->qin[(((size_t)b * p->h + iy) * p->w + ix) * p->ic + i] - q->in.zp);
                                s += q->f[0][(((size_t)b * p->oh + oy) * p->ow + ox) * p->oc + o] * xr;
                            }
                    size_t wi = (((size_t)o * p->kh + ky) * p->kw + kx) * p->ic + i;
                    close_check("stem dW", wi, q->grads[stem->w_off + wi], s);
                }
    free(acc);
    free(g);
    free(dg);
    free(dz);
}

int main(void) {
    ratq_effnet_config cfg;
    ratq_effnet m;
    CHECK_MSG(ratq_effnet_config_from_name("tiny", 0, 0, &cfg) == 0 && ratq_effnet_build(&m, &cfg) == 0, "build");
    if (ratq_test_failures) return 1;
    tq_random_model(&m, 999);
    ratq_qnet q;
    CHECK_MSG(ratq_qnet_from_effnet(&q, &m) == 0, "from_effnet");
    if (ratq_test_failures) return 1;
    const int n = 4, ncal = 8;
    size_t per = 32 * 32 * 3;
    uint8_t *img = malloc(per * (n + ncal));
    uint64_t st = 31337;
    for (size_t i = 0; i < per * (n + ncal); i++) img[i] = (uint8_t)ratq_test_range(&st, 0, 255);
    ratq_qnet_observe_reset(&q);
    CHECK_MSG(ratq_qnet_float_forward(&q, img + per * n, ncal, 1) != NULL, "calibration");
    CHECK_MSG(ratq_qnet_observe_finish(&q) == 0, "calibration");
    const ratq_quant_options opts[3] = {{4, RATQ_ROUND_SINGLE, 0}, {2, RATQ_ROUND_TFLITE, 0}, {3, RATQ_ROUND_SINGLE, 1}};
    for (int i = 0; i < 3 && !ratq_test_failures; i++) run(&q, img, n, &opts[i], 100 + i);
    printf("max relative difference to the closed form (|ref| > 1e-3): %.3g\n", maxrel);
    free(img);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_quant_ste");
}
