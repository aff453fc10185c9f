// float_dwconv.c — depthwise conv2d, NHWC activations, weights w[kh][kw][oc] (oc = ic*dm + j):
// plain-loop reference and the OpenMP direct-loop fast version.
#include <stdlib.h>
#include <string.h>

#include "cpu/float_conv_plan.h" // ratq_tap_src (shared with CUDA)
#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

// ---------------------------------------------------------------------------------------------
// Reference: plain loops, double accumulators, single thread, no allocation.
// ---------------------------------------------------------------------------------------------
int ratq_dwconv2d_fwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y) {
    const int dm = p->oc / p->ic;
    for (int n = 0; n < p->n; n++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++)
                for (int o = 0; o < p->oc; o++) {
                    double acc = b ? (double)b[o] : 0.0;
                    for (int ky = 0; ky < p->kh; ky++) {
                        const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                        if (iy < 0 || iy >= p->h) continue;
                        for (int kx = 0; kx < p->kw; kx++) {
                            const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                            if (ix < 0 || ix >= p->w) continue;
                            acc += (double)x[(((size_t)n * p->h + iy) * p->w + ix) * p->ic + o / dm] *
                                   (double)w[((size_t)ky * p->kw + kx) * p->oc + o];
                        }
                    }
                    y[(((size_t)n * p->oh + oy) * p->ow + ox) * p->oc + o] = (float)acc;
                }
    return 0;
}

int ratq_dwconv2d_bwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *db) {
    const int dm = p->oc / p->ic;
    if (db) {
        for (int o = 0; o < p->oc; o++) {
            double acc = 0.0;
            for (size_t r = 0; r < (size_t)p->n * p->oh * p->ow; r++) acc += dy[r * p->oc + o];
            db[o] = (float)acc;
        }
    }
    if (dw) {
        for (int ky = 0; ky < p->kh; ky++)
            for (int kx = 0; kx < p->kw; kx++)
                for (int o = 0; o < p->oc; o++) {
                    double acc = 0.0;
                    for (int n = 0; n < p->n; n++)
                        for (int oy = 0; oy < p->oh; oy++) {
                            const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                            if (iy < 0 || iy >= p->h) continue;
                            for (int ox = 0; ox < p->ow; ox++) {
                                const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                                if (ix < 0 || ix >= p->w) continue;
                                acc += (double)dy[(((size_t)n * p->oh + oy) * p->ow + ox) * p->oc + o] *
                                       (double)x[(((size_t)n * p->h + iy) * p->w + ix) * p->ic + o / dm];
                            }
                        }
                    dw[((size_t)ky * p->kw + kx) * p->oc + o] = (float)acc;
                }
    }
    if (dx) {
        // Gather (see conv2d): oy = (iy + pt - ky*dh) / sh when exact and in range.
        for (int n = 0; n < p->n; n++)
            for (int iy = 0; iy < p->h; iy++)
                for (int ix = 0; ix < p->w; ix++)
                    for (int c = 0; c < p->ic; c++) {
                        double acc = 0.0;
                        for (int ky = 0; ky < p->kh; ky++) {
                            const int ty = iy + p->pad_top - ky * p->dilation_h;
                            if (ty < 0 || ty % p->stride_h != 0 || ty / p->stride_h >= p->oh) continue;
                            const int oy = ty / p->stride_h;
                            for (int kx = 0; kx < p->kw; kx++) {
                                const int tx = ix + p->pad_left - kx * p->dilation_w;
                                if (tx < 0 || tx % p->stride_w != 0 || tx / p->stride_w >= p->ow) continue;
                                const int ox = tx / p->stride_w;
                                for (int o = c * dm; o < (c + 1) * dm; o++)
                                    acc += (double)dy[(((size_t)n * p->oh + oy) * p->ow + ox) * p->oc + o] *
                                           (double)w[((size_t)ky * p->kw + kx) * p->oc + o];
                            }
                        }
                        dx[(((size_t)n * p->h + iy) * p->w + ix) * p->ic + c] = (float)acc;
                    }
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Fast version: OpenMP over output rows (n, oy), channels innermost (contiguous in NHWC), float accumulators.
// ---------------------------------------------------------------------------------------------
int ratq_dwconv2d_fwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y) {
    const int dm = p->oc / p->ic, oc = p->oc;
    const size_t rows = (size_t)p->n * p->oh;
    RATQ_OMP(parallel for schedule(static))
    for (size_t r = 0; r < rows; r++) {
        const int n = (int)(r / p->oh), oy = (int)(r % p->oh);
        for (int ox = 0; ox < p->ow; ox++) {
            float *yp = y + (r * p->ow + ox) * oc;
            if (b) memcpy(yp, b, sizeof(float) * oc);
            else memset(yp, 0, sizeof(float) * oc);
            for (int ky = 0; ky < p->kh; ky++) {
                const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                if (iy < 0 || iy >= p->h) continue;
                for (int kx = 0; kx < p->kw; kx++) {
                    const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                    if (ix < 0 || ix >= p->w) continue;
                    const float *xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->ic;
                    const float *wp = w + ((size_t)ky * p->kw + kx) * oc;
                    if (dm == 1) {
                        for (int o = 0; o < oc; o++) yp[o] += xp[o] * wp[o];
                    } else {
                        for (int o = 0; o < oc; o++) yp[o] += xp[o / dm] * wp[o];
                    }
                }
            }
        }
    }
    return 0;
}

int ratq_dwconv2d_bwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *db) {
    const int dm = p->oc / p->ic, oc = p->oc, ic = p->ic, kk = p->kh * p->kw;
    if (db) ratq_colsum_cpu(p->n * p->oh * p->ow, oc, oc, dy, db);
    if (dw) {
        // Per-thread partial sums: each output row (n, oy) and tap is summed over ox in float (<= OW terms),
        // then added to the thread's double partial; threads own disjoint rows and are reduced in thread order.
        const int nt = ratq_omp_threads();
        const size_t per = (size_t)kk * oc;
        double *part = ratq_float_alloc((sizeof(double) * per + sizeof(float) * oc) * nt, "dwconv2d dw partial sums");
        if (!part) return -1;
        float *rowbuf = (float *)(part + per * nt); // [nt][oc]
        for (size_t j = 0; j < per * nt; j++) part[j] = 0.0; // also covers threads the runtime does not start
        const size_t rows = (size_t)p->n * p->oh;
        RATQ_OMP(parallel)
        {
            double *acc = part + per * ratq_omp_tid();
            float *ra = rowbuf + (size_t)oc * ratq_omp_tid();
            RATQ_OMP(for schedule(static))
            for (size_t r = 0; r < rows; r++) {
                const int n = (int)(r / p->oh), oy = (int)(r % p->oh);
                for (int ky = 0; ky < p->kh; ky++) {
                    const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    if (iy < 0 || iy >= p->h) continue;
                    for (int kx = 0; kx < p->kw; kx++) {
                        for (int o = 0; o < oc; o++) ra[o] = 0.0f;
                        for (int ox = 0; ox < p->ow; ox++) {
                            const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                            if (ix < 0 || ix >= p->w) continue;
                            const float *xp = x + (((size_t)n * p->h + iy) * p->w + ix) * ic;
                            const float *dyp = dy + (r * p->ow + ox) * oc;
                            if (dm == 1) {
                                for (int o = 0; o < oc; o++) ra[o] += dyp[o] * xp[o];
                            } else {
                                for (int o = 0; o < oc; o++) ra[o] += dyp[o] * xp[o / dm];
                            }
                        }
                        double *a = acc + (size_t)(ky * p->kw + kx) * oc;
                        for (int o = 0; o < oc; o++) a[o] += ra[o];
                    }
                }
            }
        }
        for (size_t j = 0; j < per; j++) {
            double s = 0.0;
            for (int t = 0; t < nt; t++) s += part[(size_t)t * per + j];
            dw[j] = (float)s;
        }
        free(part);
    }
    if (dx) {
        const size_t rows = (size_t)p->n * p->h;
        RATQ_OMP(parallel for schedule(static))
        for (size_t r = 0; r < rows; r++) {
            const int n = (int)(r / p->h), iy = (int)(r % p->h);
            for (int ix = 0; ix < p->w; ix++) {
                float *d = dx + (r * p->w + ix) * ic;
                for (int c = 0; c < ic; c++) d[c] = 0.0f;
                for (int ky = 0; ky < p->kh; ky++) {
                    const int oy = ratq_tap_src(iy + p->pad_top - ky * p->dilation_h, p->stride_h, p->oh);
                    if (oy < 0) continue;
                    for (int kx = 0; kx < p->kw; kx++) {
                        const int ox = ratq_tap_src(ix + p->pad_left - kx * p->dilation_w, p->stride_w, p->ow);
                        if (ox < 0) continue;
                        const float *dyp = dy + (((size_t)n * p->oh + oy) * p->ow + ox) * oc;
                        const float *wp = w + (size_t)(ky * p->kw + kx) * oc;
                        if (dm == 1) {
                            for (int c = 0; c < ic; c++) d[c] += dyp[c] * wp[c];
                        } else {
                            for (int o = 0; o < oc; o++) d[o / dm] += dyp[o] * wp[o];
                        }
                    }
                }
            }
        }
    }
    return 0;
}
