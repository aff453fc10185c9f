// host/quant/acc.c — exact int32 accumulators of the fake-quant forward (host/quant/qnet.h "Fake-quant forward").
//   CONV (groups 1), FC: acc[r][o] = bias[o] + sum_k X[r][k] * W[o][k] by cblas_dgemm in chunks of CHUNK output
//   rows, X = im2col of (q_x - z_x) (taps outside the input are 0, i.e. the input zero point), W = q_w; all
//   values are integers and |partial sums| <= 255 * 127 * K < 2^53, so double arithmetic is exact in any
//   summation order; the result is saturated to int32 like the engine (ratq_sat_i32).
//   DWCONV, grouped CONV, or no OpenBLAS / out of memory: the fast engine's accumulators (kernels/cpu/int_fast.h,
//   bit-identical to the reference loops of int_ops.h).
#include <stdlib.h>

#include "cpu/int_fast.h"
#include "quant/qnet.h"

#ifdef RATQ_HAVE_OPENBLAS
#include <cblas.h>
#endif

enum { CHUNK = 2048 };

#ifdef RATQ_HAVE_OPENBLAS
// rows [r0, r0 + rows) of the im2col matrix of image batch x ([rows][K], K = kh*kw*ic, tap order ky, kx, ic =
// the OHWI weight order)
static void im2col(const ratq_conv_shape *sh, const int8_t *x, int32_t zx, int64_t r0, int rows, double *out) {
    const int K = sh->kernel_h * sh->kernel_w * sh->in_c;
    for (int r = 0; r < rows; r++) {
        int64_t idx = r0 + r;
        const int ox = (int)(idx % sh->out_w), oy = (int)(idx / sh->out_w % sh->out_h);
        const int64_t n = idx / ((int64_t)sh->out_w * sh->out_h);
        double *dst = out + (size_t)r * K;
        for (int ky = 0; ky < sh->kernel_h; ky++) {
            const int iy = oy * sh->stride_h - sh->pad_top + ky * sh->dilation_h;
            for (int kx = 0; kx < sh->kernel_w; kx++, dst += sh->in_c) {
                const int ix = ox * sh->stride_w - sh->pad_left + kx * sh->dilation_w;
                if (iy < 0 || iy >= sh->in_h || ix < 0 || ix >= sh->in_w) {
                    for (int c = 0; c < sh->in_c; c++) dst[c] = 0.0;
                    continue;
                }
                const int8_t *xp = x + ((n * sh->in_h + iy) * sh->in_w + ix) * sh->in_c;
                for (int c = 0; c < sh->in_c; c++) dst[c] = (double)(xp[c] - zx);
            }
        }
    }
}

static int dgemm_acc(const ratq_conv_shape *sh, int64_t total_rows, int K, int oc, const int8_t *x, int32_t zx,
                     const double *w, const int32_t *bias, int32_t *acc) {
    double *a = malloc((size_t)CHUNK * K * sizeof(double)), *c = malloc((size_t)CHUNK * oc * sizeof(double));
    if (!a || !c) {
        free(a);
        free(c);
        return -1;
    }
    for (int64_t r0 = 0; r0 < total_rows; r0 += CHUNK) {
        int rows = (int)(total_rows - r0 < CHUNK ? total_rows - r0 : CHUNK);
        if (sh)
            im2col(sh, x, zx, r0, rows, a);
        else
            for (size_t i = 0; i < (size_t)rows * K; i++) a[i] = (double)(x[(size_t)r0 * K + i] - zx);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, oc, K, 1.0, a, K, w, K, 0.0, c, oc);
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < oc; o++) {
                double v = c[(size_t)r * oc + o] + (double)bias[o];
                acc[(size_t)(r0 + r) * oc + o] = v >= 2147483647.0 ? INT32_MAX : (v <= -2147483648.0 ? INT32_MIN : (int32_t)v);
            }
    }
    free(a);
    free(c);
    return 0;
}
#endif

void ratq_qnet_op_acc(const ratq_qnet *q, const ratq_qnop *o, const int8_t *x, int32_t zx, int n, int32_t *acc) {
    (void)q;
    ratq_conv_shape sh = o->sh;
    sh.batch = n;
#ifdef RATQ_HAVE_OPENBLAS
    if (o->kind == RATQ_QN_FC && dgemm_acc(NULL, n, o->per_oc, o->oc, x, zx, o->wd, o->bq, acc) == 0) return;
    if (o->kind == RATQ_QN_CONV && sh.groups == 1 &&
        dgemm_acc(&sh, (int64_t)n * sh.out_h * sh.out_w, o->per_oc, o->oc, x, zx, o->wd, o->bq, acc) == 0)
        return;
#endif
    if (o->kind == RATQ_QN_FC)
        ratq_fc_acc_s32_fast(n, o->per_oc, o->oc, x, -zx, o->wq, 0, o->bq, acc);
    else if (o->kind == RATQ_QN_CONV)
        ratq_conv_acc_s32_fast(&sh, x, -zx, o->wq, 0, o->bq, acc);
    else
        ratq_depthwise_acc_s32_fast(&sh, x, -zx, o->wq, o->bq, acc);
}
