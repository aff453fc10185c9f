// float_conv.c — grouped conv2d, NHWC activations, OHWI weights: plain-loop reference and the
// im2col + GEMM fast version (1x1 / stride 1 / no padding skips im2col: NHWC is already [N*H*W][IC]).
#include <stdlib.h>
#include <string.h>

#include "cpu/float_conv_plan.h" // im2col chunking, tap gather (shared with CUDA)
#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

// ---------------------------------------------------------------------------------------------
// Reference: plain loops, double accumulators, single thread.
// ---------------------------------------------------------------------------------------------
int ratq_conv2d_fwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y,
                        float *ws) {
    (void)ws;
    const int icg = p->ic / p->groups, ocg = p->oc / p->groups;
    for (int n = 0; n < p->n; n++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++)
                for (int o = 0; o < p->oc; o++) {
                    const int g = o / ocg;
                    double acc = b ? (double)b[o] : 0.0;
                    for (int ky = 0; ky < p->kh; ky++) {
                        const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                        if (iy < 0 || iy >= p->h) continue;
                        for (int kx = 0; kx < p->kw; kx++) {
                            const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                            if (ix < 0 || ix >= p->w) continue;
                            const float *xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->ic + (size_t)g * icg;
                            const float *wp = w + (((size_t)o * p->kh + ky) * p->kw + kx) * icg;
                            for (int i = 0; i < icg; i++) acc += (double)xp[i] * (double)wp[i];
                        }
                    }
                    y[(((size_t)n * p->oh + oy) * p->ow + ox) * p->oc + o] = (float)acc;
                }
    return 0;
}

int ratq_conv2d_bwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                        float *dw, float *db, float *ws) {
    (void)ws;
    const int icg = p->ic / p->groups, ocg = p->oc / p->groups;
    if (db) {
        for (int o = 0; o < p->oc; o++) {
            double acc = 0.0;
            for (size_t r = 0; r < (size_t)p->n * p->oh * p->ow; r++) acc += dy[r * p->oc + o];
            db[o] = (float)acc;
        }
    }
    if (dw) {
        for (int o = 0; o < p->oc; o++)
            for (int ky = 0; ky < p->kh; ky++)
                for (int kx = 0; kx < p->kw; kx++)
                    for (int i = 0; i < icg; i++) {
                        const int c = (o / ocg) * icg + i;
                        double acc = 0.0;
                        for (int n = 0; n < p->n; n++)
                            for (int oy = 0; oy < p->oh; oy++) {
                                const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                                if (iy < 0 || iy >= p->h) continue;
                                for (int ox = 0; ox < p->ow; ox++) {
                                    const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                                    if (ix < 0 || ix >= p->w) continue;
                                    acc += (double)dy[(((size_t)n * p->oh + oy) * p->ow + ox) * p->oc + o] *
                                           (double)x[(((size_t)n * p->h + iy) * p->w + ix) * p->ic + c];
                                }
                            }
                        dw[(((size_t)o * p->kh + ky) * p->kw + kx) * icg + i] = (float)acc;
                    }
    }
    if (dx) {
        // Gather: x[n][iy][ix][c] was read by output (oy, ox) through tap (ky, kx) iff
        // iy = oy*sh - pt + ky*dh, i.e. oy = (iy + pt - ky*dh) / sh when that division is exact.
        for (int n = 0; n < p->n; n++)
            for (int iy = 0; iy < p->h; iy++)
                for (int ix = 0; ix < p->w; ix++)
                    for (int c = 0; c < p->ic; c++) {
                        const int g = c / icg, i = c % icg;
                        double acc = 0.0;
                        for (int ky = 0; ky < p->kh; ky++) {
                            const int ty = iy + p->pad_top - ky * p->dilation_h;
                            if (ty < 0 || ty % p->stride_h != 0 || ty / p->stride_h >= p->oh) continue;
                            const int oy = ty / p->stride_h;
                            for (int kx = 0; kx < p->kw; kx++) {
                                const int tx = ix + p->pad_left - kx * p->dilation_w;
                                if (tx < 0 || tx % p->stride_w != 0 || tx / p->stride_w >= p->ow) continue;
                                const int ox = tx / p->stride_w;
                                for (int o = g * ocg; o < (g + 1) * ocg; o++)
                                    acc += (double)dy[(((size_t)n * p->oh + oy) * p->ow + ox) * p->oc + o] *
                                           (double)w[(((size_t)o * p->kh + ky) * p->kw + kx) * icg + i];
                            }
                        }
                        dx[(((size_t)n * p->h + iy) * p->w + ix) * p->ic + c] = (float)acc;
                    }
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Fast version.
// ---------------------------------------------------------------------------------------------
size_t ratq_conv2d_workspace_floats(const ratq_conv2d_params *p) {
    if (ratq_conv_is_pointwise(p)) return 0;
    return (size_t)ratq_im2col_images_per_chunk(p) * ratq_im2col_per_image(p);
}

// col[(n - n0)*OH*OW + oy*OW + ox][(ky*KW + kx)*ICg + i] = x[n][iy][ix][g*ICg + i] (0 in the padding)
static void im2col(const ratq_conv2d_params *p, const float *x, int n0, int nb, int g, float *col) {
    const int icg = p->ic / p->groups, kk = p->kh * p->kw;
    const size_t rows = (size_t)nb * p->oh * p->ow;
    RATQ_OMP(parallel for schedule(static))
    for (size_t r = 0; r < rows; r++) {
        const int n = n0 + (int)(r / ((size_t)p->oh * p->ow));
        const int oy = (int)(r / p->ow % p->oh), ox = (int)(r % p->ow);
        float *cr = col + r * kk * icg;
        for (int ky = 0; ky < p->kh; ky++) {
            const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            for (int kx = 0; kx < p->kw; kx++) {
                const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                float *dst = cr + (ky * p->kw + kx) * icg;
                if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
                    memset(dst, 0, sizeof(float) * icg);
                } else {
                    memcpy(dst, x + (((size_t)n * p->h + iy) * p->w + ix) * p->ic + (size_t)g * icg,
                           sizeof(float) * icg);
                }
            }
        }
    }
}

// dx[n][iy][ix][g*ICg + i] = sum of the col entries that im2col copied from it (gather: no write races).
static void col2im(const ratq_conv2d_params *p, const float *col, int n0, int nb, int g, float *dx) {
    const int icg = p->ic / p->groups, kk = p->kh * p->kw;
    const size_t rows = (size_t)nb * p->h;
    RATQ_OMP(parallel for schedule(static))
    for (size_t r = 0; r < rows; r++) {
        const int nl = (int)(r / p->h), iy = (int)(r % p->h);
        for (int ix = 0; ix < p->w; ix++) {
            float *d = dx + (((size_t)(n0 + nl) * p->h + iy) * p->w + ix) * p->ic + (size_t)g * icg;
            for (int i = 0; i < icg; i++) d[i] = 0.0f;
            for (int ky = 0; ky < p->kh; ky++) {
                const int oy = ratq_tap_src(iy + p->pad_top - ky * p->dilation_h, p->stride_h, p->oh);
                if (oy < 0) continue;
                for (int kx = 0; kx < p->kw; kx++) {
                    const int ox = ratq_tap_src(ix + p->pad_left - kx * p->dilation_w, p->stride_w, p->ow);
                    if (ox < 0) continue;
                    const float *s = col + (((size_t)nl * p->oh + oy) * p->ow + ox) * kk * icg + (ky * p->kw + kx) * icg;
                    for (int i = 0; i < icg; i++) d[i] += s[i];
                }
            }
        }
    }
}

// y[r][o] = b[o] for every output row (so the GEMMs can run with beta = 1).
static void fill_bias(size_t rows, int oc, const float *b, float *y) {
    RATQ_OMP(parallel for schedule(static))
    for (size_t r = 0; r < rows; r++) memcpy(y + r * oc, b, sizeof(float) * oc);
}

int ratq_conv2d_fwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y,
                        float *ws) {
    const int G = p->groups, icg = p->ic / G, ocg = p->oc / G, kk = p->kh * p->kw;
    const float beta = b ? 1.0f : 0.0f;
    if (b) fill_bias((size_t)p->n * p->oh * p->ow, p->oc, b, y);
    if (ratq_conv_is_pointwise(p)) {
        const int rows = p->n * p->h * p->w;
        for (int g = 0; g < G; g++)
            ratq_sgemm_cpu(0, 1, rows, ocg, icg, 1.0f, x + (size_t)g * icg, p->ic, w + (size_t)g * ocg * icg, icg,
                           beta, y + (size_t)g * ocg, p->oc);
        return 0;
    }
    float *col = ws;
    if (!col && !(col = ratq_float_alloc(sizeof(float) * ratq_conv2d_workspace_floats(p), "conv2d im2col"))) return -1;
    const int nbmax = ratq_im2col_images_per_chunk(p);
    for (int n0 = 0; n0 < p->n; n0 += nbmax) {
        const int nb = p->n - n0 < nbmax ? p->n - n0 : nbmax;
        const int rows = nb * p->oh * p->ow;
        for (int g = 0; g < G; g++) {
            im2col(p, x, n0, nb, g, col);
            ratq_sgemm_cpu(0, 1, rows, ocg, kk * icg, 1.0f, col, kk * icg, w + (size_t)g * ocg * kk * icg, kk * icg,
                           beta, y + (size_t)n0 * p->oh * p->ow * p->oc + (size_t)g * ocg, p->oc);
        }
    }
    if (!ws) free(col);
    return 0;
}

int ratq_conv2d_bwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                        float *dw, float *db, float *ws) {
    const int G = p->groups, icg = p->ic / G, ocg = p->oc / G, kk = p->kh * p->kw;
    if (db) ratq_colsum_cpu(p->n * p->oh * p->ow, p->oc, p->oc, dy, db);
    if (!dx && !dw) return 0;
    if (ratq_conv_is_pointwise(p)) {
        const int rows = p->n * p->h * p->w;
        for (int g = 0; g < G; g++) {
            if (dw) // dw_g[OCg][ICg] = dy_g^T [OCg][rows] . x_g [rows][ICg]
                ratq_sgemm_cpu(1, 0, ocg, icg, rows, 1.0f, dy + (size_t)g * ocg, p->oc, x + (size_t)g * icg, p->ic,
                               0.0f, dw + (size_t)g * ocg * icg, icg);
            if (dx) // dx_g[rows][ICg] = dy_g [rows][OCg] . w_g [OCg][ICg]
                ratq_sgemm_cpu(0, 0, rows, icg, ocg, 1.0f, dy + (size_t)g * ocg, p->oc, w + (size_t)g * ocg * icg, icg,
                               0.0f, dx + (size_t)g * icg, p->ic);
        }
        return 0;
    }
    float *col = ws;
    if (!col && !(col = ratq_float_alloc(sizeof(float) * ratq_conv2d_workspace_floats(p), "conv2d im2col"))) return -1;
    const int nbmax = ratq_im2col_images_per_chunk(p);
    for (int n0 = 0; n0 < p->n; n0 += nbmax) {
        const int nb = p->n - n0 < nbmax ? p->n - n0 : nbmax;
        const int rows = nb * p->oh * p->ow;
        const float *dyc = dy + (size_t)n0 * p->oh * p->ow * p->oc;
        for (int g = 0; g < G; g++) {
            const float *wg = w + (size_t)g * ocg * kk * icg;
            if (dw) { // dw_g[OCg][KK*ICg] (+)= dy_g^T . col
                im2col(p, x, n0, nb, g, col);
                ratq_sgemm_cpu(1, 0, ocg, kk * icg, rows, 1.0f, dyc + (size_t)g * ocg, p->oc, col, kk * icg,
                               n0 == 0 ? 0.0f : 1.0f, dw + (size_t)g * ocg * kk * icg, kk * icg);
            }
            if (dx) { // dcol[rows][KK*ICg] = dy_g . w_g, then gathered back into dx
                ratq_sgemm_cpu(0, 0, rows, kk * icg, ocg, 1.0f, dyc + (size_t)g * ocg, p->oc, wg, kk * icg, 0.0f, col,
                               kk * icg);
                col2im(p, col, n0, nb, g, dx);
            }
        }
    }
    if (!ws) free(col);
    return 0;
}
