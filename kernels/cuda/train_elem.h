// train_elem.h — the per-element arithmetic of the CUDA training ops (kernels/cuda/train_ops_cuda.h), written
// once as RATQ_HD (__host__ __device__ static inline under nvcc, static inline in C) so that the kernels call it
// per thread and tests/cpu/test_cuda_ste_host.cu checks it on the HOST, without a GPU, against the CPU twins
// (host/quant/fake.c, kernels/cpu/float_*.c).
//
// Each function mirrors a CPU loop body: the same IEEE float / double operations in the same order, so on the
// host the results are bit-identical to the CPU twin, and on the device too for every function that uses only
// + - * / and sqrtf (nvcc: -fmad=false, and IEEE-rounded division and square root, the default without
// -use_fast_math; host: gcc -ffp-contract=off / x86-64 has no FMA without -mfma). Device exp() / log() (xent)
// may differ from glibc's by 1 ulp of a double.
//
// Layouts as kernels/cpu/float_ops.h: activations NHWC, conv weights OHWI, depthwise weights w[kh][kw][oc].
#ifndef RATQ_CUDA_TRAIN_ELEM_H
#define RATQ_CUDA_TRAIN_ELEM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/float_conv_plan.h" // ratq_tap_src, im2col chunking
#include "cpu/float_ops.h"
#include "math/rescale.h" // RATQ_HD

// ---------------------------------------------------------------------------------------------
// STE prologue of a CONV / DW / FC backward (host/quant/qnet.h):  g = dy * mask * r[o], written as the select
//   g = mask ? dy * ratio : +0.0f
// exactly as host/quant/fake.c (any nonzero mask byte passes): a clipped element's gradient is +0 even when dy
// is Inf or NaN (a product dy*0 would give NaN).
// ---------------------------------------------------------------------------------------------
RATQ_HD float ratq_ste_grad(float dy, uint8_t mask, float ratio) { return mask ? dy * ratio : 0.0f; }

// The prologue over an NHWC tensor of `count` elements, channel = index % channels (plain loop: the CPU
// reference of ratq_ste_grad_cuda; g may equal dy).
static inline void ratq_ste_grad_ref(int64_t count, int channels, const float *dy, const uint8_t *mask,
                                     const float *ratio, float *g) {
    for (int64_t i = 0; i < count; i++) g[i] = ratq_ste_grad(dy[i], mask[i], ratio[i % channels]);
}

// ---------------------------------------------------------------------------------------------
// Depthwise conv backward (twin of ratq_dwconv2d_bwd_cpu, kernels/cpu/float_dwconv.c), dm = oc / ic.
// dx element idx = ((n*H + iy)*W + ix)*IC + c:
//   dx = sum over taps (ky, kx) ascending whose output (oy, ox) exists, then o = c*dm .. c*dm + dm - 1, of
//        dy[n][oy][ox][o] * w[ky][kx][o]      (float accumulator from +0, the CPU order)
// ---------------------------------------------------------------------------------------------
RATQ_HD float ratq_dwconv2d_dx_elem(const ratq_conv2d_params *p, const float *w, const float *dy, int64_t idx) {
    const int dm = p->oc / p->ic;
    const int c = (int)(idx % p->ic);
    int64_t r = idx / p->ic;
    const int ix = (int)(r % p->w);
    r /= p->w;
    const int iy = (int)(r % p->h);
    const int n = (int)(r / p->h);
    float d = 0.0f;
    for (int ky = 0; ky < p->kh; ky++) {
        const int oy = ratq_tap_src(iy + p->pad_top - ky * p->dilation_h, p->stride_h, p->oh);
        if (oy < 0) continue;
        for (int kx = 0; kx < p->kw; kx++) {
            const int ox = ratq_tap_src(ix + p->pad_left - kx * p->dilation_w, p->stride_w, p->ow);
            if (ox < 0) continue;
            const float *dyp = dy + (((int64_t)n * p->oh + oy) * p->ow + ox) * p->oc;
            const float *wp = w + (int64_t)(ky * p->kw + kx) * p->oc;
            for (int o = c * dm; o < c * dm + dm; o++) d = d + dyp[o] * wp[o];
        }
    }
    return d;
}

// dw row partial for output channel o, output row (n, oy), tap (ky, kx) with iy = oy*sh - pt + ky*dh inside the
// input (the caller checks iy): float sum over ox ascending, taps with ix = ox*sw - pl + kx*dw inside, of
//   dy[n][oy][ox][o] * x[n][iy][ix][o / dm]
// exactly the per-row float partial of the CPU fast version; dw[ky][kx][o] = sum over rows of (double) these.
RATQ_HD float ratq_dwconv2d_dw_rowsum(const ratq_conv2d_params *p, const float *x, const float *dy, int o, int n,
                                      int oy, int iy, int kx) {
    const int dm = p->oc / p->ic;
    const float *xr = x + ((int64_t)n * p->h + iy) * p->w * p->ic + o / dm;
    const float *dyr = dy + ((int64_t)n * p->oh + oy) * p->ow * p->oc + o;
    float ra = 0.0f;
    for (int ox = 0; ox < p->ow; ox++) {
        const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
        if (ix < 0 || ix >= p->w) continue;
        ra = ra + dyr[(int64_t)ox * p->oc] * xr[(int64_t)ix * p->ic];
    }
    return ra;
}

// ---------------------------------------------------------------------------------------------
// conv2d im2col / col2im (twins of the static im2col / col2im of kernels/cpu/float_conv.c), group g, images
// n0 .. n0 + nb - 1, ICg = IC / groups, KK = KH*KW:
//   col[r][(ky*KW + kx)*ICg + i] = x[n0 + r / (OH*OW)][iy][ix][g*ICg + i]  (0 in the padding),
//   r = (n - n0)*OH*OW + oy*OW + ox;  element idx = r*KK*ICg + (ky*KW + kx)*ICg + i.
// ---------------------------------------------------------------------------------------------
RATQ_HD float ratq_im2col_elem(const ratq_conv2d_params *p, const float *x, int n0, int g, int64_t idx) {
    const int icg = p->ic / p->groups;
    const int64_t ncol = (int64_t)p->kh * p->kw * icg;
    const int64_t r = idx / ncol;
    const int j = (int)(idx % ncol), i = j % icg, tap = j / icg;
    const int ky = tap / p->kw, kx = tap % p->kw;
    const int ox = (int)(r % p->ow), oy = (int)(r / p->ow % p->oh);
    const int n = n0 + (int)(r / ((int64_t)p->oh * p->ow));
    const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
    const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
    if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) return 0.0f;
    return x[(((int64_t)n * p->h + iy) * p->w + ix) * p->ic + (int64_t)g * icg + i];
}

// The dx element that col2im gathers: local idx = ((nl*H + iy)*W + ix)*ICg + i (nl = n - n0) receives the sum,
// taps (ky, kx) ascending whose output exists, of col[(nl*OH + oy)*OW + ox][(ky*KW + kx)*ICg + i] (float from +0,
// the CPU order). The caller stores it at dx[n0 + nl][iy][ix][g*ICg + i].
RATQ_HD float ratq_col2im_elem(const ratq_conv2d_params *p, const float *col, int64_t idx) {
    const int icg = p->ic / p->groups, kk = p->kh * p->kw;
    const int i = (int)(idx % icg);
    int64_t r = idx / icg;
    const int ix = (int)(r % p->w);
    r /= p->w;
    const int iy = (int)(r % p->h);
    const int nl = (int)(r / p->h);
    float d = 0.0f;
    for (int ky = 0; ky < p->kh; ky++) {
        const int oy = ratq_tap_src(iy + p->pad_top - ky * p->dilation_h, p->stride_h, p->oh);
        if (oy < 0) continue;
        for (int kx = 0; kx < p->kw; kx++) {
            const int ox = ratq_tap_src(ix + p->pad_left - kx * p->dilation_w, p->stride_w, p->ow);
            if (ox < 0) continue;
            d = d + col[(((int64_t)nl * p->oh + oy) * p->ow + ox) * kk * icg + (int64_t)(ky * p->kw + kx) * icg + i];
        }
    }
    return d;
}

// ---------------------------------------------------------------------------------------------
// Row-major GEMM (ratq_sgemm_cpu's contract, kernels/cpu/float_ops.h) as a column-major (cuBLAS) call.
// A row-major [r][ld] matrix is the column-major [ld x r] matrix of its transpose, so row-major
// C[m][n] = op(A) op(B) is column-major C^T (n x m, ldc) = op(B)^T op(A)^T:
//   cublasSgemm(transa' = trans_b, transb' = trans_a, m' = n, n' = m, k, alpha, A' = b, lda' = ldb,
//               B' = a, ldb' = lda, beta, C' = c, ldc)
// (trans flags: 0 = CUBLAS_OP_N, 1 = CUBLAS_OP_T).
// ---------------------------------------------------------------------------------------------
typedef struct {
    int transa, transb;     // 0 = N, 1 = T (column-major operands A', B')
    int m, n, k;            // C' is m x n column-major, K = k
    const float *a; int lda; // A' (m x k after op)
    const float *b; int ldb; // B' (k x n after op)
    int ldc;
} ratq_colmajor_gemm;

RATQ_HD ratq_colmajor_gemm ratq_gemm_rowmajor_as_colmajor(int trans_a, int trans_b, int m, int n, int k,
                                                          const float *a, int lda, const float *b, int ldb, int ldc) {
    ratq_colmajor_gemm g;
    g.transa = trans_b ? 1 : 0;
    g.transb = trans_a ? 1 : 0;
    g.m = n;
    g.n = m;
    g.k = k;
    g.a = b;
    g.lda = ldb;
    g.b = a;
    g.ldb = lda;
    g.ldc = ldc;
    return g;
}

// ---------------------------------------------------------------------------------------------
// Global average pool backward (twin of ratq_global_avgpool_bwd_cpu):
//   dx[n][y][x][c] = dy[n][c] * inv,  inv = (float)(1 / (double)(H*W))
// ---------------------------------------------------------------------------------------------
RATQ_HD float ratq_gap_bwd_inv(const ratq_pool_params *p) { return (float)(1.0 / (double)((int64_t)p->h * p->w)); }
RATQ_HD float ratq_gap_bwd_elem(const ratq_pool_params *p, const float *dy, float inv, int64_t idx) {
    const int64_t c = idx % p->c, n = idx / ((int64_t)p->h * p->w * p->c);
    return dy[n * p->c + c] * inv;
}

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy with label smoothing (twin of xent_row, kernels/cpu/float_xent.c), per row i with
// lse = max + log(sum_k exp(z_k - max)) and sz = sum_k z_k (double):
//   dlogits[k] = (float)((exp(z_k - lse) - q_k) / N),  q_k = (1 - eps)*[k == label] + eps / K
//   row loss   = (1 - eps)*(lse - z_label) + eps*(lse - sz / K);   loss = (sum_i row loss, i ascending) / N
// ---------------------------------------------------------------------------------------------
RATQ_HD float ratq_xent_dlogit(float z, double lse, int is_label, double eps, int classes, int n) {
    const double pk = exp((double)z - lse);
    const double qk = (1.0 - eps) * (is_label ? 1.0 : 0.0) + eps / classes;
    return (float)((pk - qk) / n);
}
RATQ_HD double ratq_xent_row_loss(double lse, float z_label, double sz, double eps, int classes) {
    return (1.0 - eps) * (lse - z_label) + eps * (lse - sz / classes);
}

// ---------------------------------------------------------------------------------------------
// Optimizers (twins of sgd_elem / adamw_elem, kernels/cpu/float_optim.c; formulas in float_ops.h).
// SGD, PyTorch order: g = grad + wd*p; buf = step == 0 ? g : mom*buf + (1 - damp)*g; nesterov; p -= lr*g.
// ---------------------------------------------------------------------------------------------
RATQ_HD void ratq_sgd_elem(const ratq_sgd_params *p, float *param, float grad, float *buf) {
    float g = grad;
    if (p->weight_decay != 0.0f) g = g + p->weight_decay * *param;
    if (p->momentum != 0.0f) {
        const float b = p->step == 0 ? g : p->momentum * *buf + (1.0f - p->dampening) * g;
        *buf = b;
        g = p->nesterov ? g + p->momentum * b : b;
    }
    *param = *param - p->lr * g;
}

// AdamW constants for step t = max(step, 1), computed on the host exactly as adamw_prepare:
//   step_size = (float)(lr / (1 - beta1^t)), bc2_sqrt = (float)sqrt(1 - beta2^t)   (double), decay = 1 - lr*wd.
typedef struct {
    float step_size, bc2_sqrt, decay;
} ratq_adamw_consts;

static inline ratq_adamw_consts ratq_adamw_prepare(const ratq_adamw_params *p) {
    const double t = (double)(p->step < 1 ? 1 : p->step);
    ratq_adamw_consts k;
    k.step_size = (float)((double)p->lr / (1.0 - pow((double)p->beta1, t)));
    k.bc2_sqrt = (float)sqrt(1.0 - pow((double)p->beta2, t));
    const float lr_wd = p->lr * p->weight_decay; // rounded before the subtraction (no FMA), as the CPU
    k.decay = 1.0f - lr_wd;
    return k;
}

// p *= decay; m = b1*m + (1 - b1)*g; v = b2*v + (1 - b2)*(g*g); p -= step_size * (m / (sqrtf(v)/bc2_sqrt + eps)).
RATQ_HD void ratq_adamw_elem(const ratq_adamw_params *p, const ratq_adamw_consts *k, float *param, float g,
                             float *m, float *v) {
    *param = *param * k->decay;
    *m = p->beta1 * *m + (1.0f - p->beta1) * g;
    *v = p->beta2 * *v + (1.0f - p->beta2) * (g * g);
    const float denom = sqrtf(*v) / k->bc2_sqrt + p->eps;
    *param = *param - k->step_size * (*m / denom);
}

#endif
