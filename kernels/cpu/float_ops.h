// float_ops.h — float32 CPU ops for training EfficientNet-Lite in C: forward and backward.
//
// Every op exists twice with the same signature:
//   ratq_<op>_fwd_ref / ratq_<op>_bwd_ref : plain loops, single thread, the specification
//                                          (dot products and reductions accumulate in double);
//   ratq_<op>_fwd_cpu / ratq_<op>_bwd_cpu : the fast version (OpenBLAS GEMMs when RATQ_HAVE_OPENBLAS,
//                                          else a plain blocked GEMM; OpenMP threads). Tested against _ref.
//
// Layouts (row-major, C order, float32 unless stated):
//   activations      x[n][h][w][c]                         (NHWC)
//   conv weights     w[oc][kh][kw][ic/groups]              (OHWI, as TFLite CONV_2D and the integer engine)
//                    group g uses input channels [g*IC/G, (g+1)*IC/G) and output channels [g*OC/G, (g+1)*OC/G)
//   depthwise        w[kh][kw][oc], oc = ic*depth_multiplier + j   (TFLite DEPTHWISE_CONV_2D 1HWO)
//   linear weights   w[out][in];  linear input x[n][in], output y[n][out]
//   per-channel vectors (bias, gamma, beta, mean, var): [C]
//   logits [n][classes], labels int32 [n]
//
// Backward semantics: every gradient output is OVERWRITTEN (never accumulated), and every gradient output
// pointer may be NULL to skip that gradient (e.g. dx of the first layer, dw of a frozen layer).
// To sum gradients (residual branches) use ratq_add_fwd_* or ratq_accumulate_cpu explicitly.
// Aliasing: elementwise ops (relu6, add, dropout, drop-connect, bn eval) allow y == x (in place) and
// dx == dy; nothing else may alias.
//
// Validated-once rule: the _fwd/_bwd functions trust their params (check them once with
// ratq_conv2d_params_check at model build time). Functions that allocate return int (0 ok, -1 out of
// memory, with a one-line message on stderr); the rest return void.
#ifndef RATQ_KERNELS_CPU_FLOAT_OPS_H
#define RATQ_KERNELS_CPU_FLOAT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "math/conv_geometry.h"

#ifdef __cplusplus
extern "C" {
#endif

// =============================================================================================
// GEMM (row-major):  C[m][n] = alpha * sum_k op(A)[m][k] * op(B)[k][n] + beta * C[m][n]
//   op(A) = A (A is [m][lda], lda >= k) or A^T (trans_a != 0: A is [k][lda], lda >= m);
//   op(B) = B (B is [k][ldb], ldb >= n) or B^T (trans_b != 0: B is [n][ldb], ldb >= k).
//   beta == 0 overwrites C (C is not read, so it may hold NaN).
// _cpu: cblas_sgemm when RATQ_HAVE_OPENBLAS (must not be called from inside an OpenMP parallel region),
// else an OpenMP row-parallel plain loop. _ref: triple loop, double accumulator.
// =============================================================================================
void ratq_sgemm_cpu(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc);
void ratq_sgemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc);

// =============================================================================================
// Convolution geometry (shared by conv2d and depthwise conv)
// =============================================================================================
typedef struct {
    int n, h, w, ic;      // input  x[n][h][w][ic]
    int oc;               // output channels
    int oh, ow;           // output y[n][oh][ow][oc]; must equal ratq_conv_out_size(...) (checked by _check)
    int kh, kw;           // kernel size
    int stride_h, stride_w;
    int dilation_h, dilation_w;
    int pad_top, pad_left, pad_bottom, pad_right; // explicit zero padding
    int groups;           // conv2d: IC % groups == 0 and OC % groups == 0.
                          // depthwise: groups == ic and oc == ic * depth_multiplier.
} ratq_conv2d_params;

// ratq_conv_out_size(in, k, stride, dilation, pad_before, pad_after) and
// ratq_same_padding(in, k, stride, dilation, &out, &pad_before, &pad_after) (TF "SAME": the extra row/col goes
// bottom/right) come from kernels/math/conv_geometry.h, shared with the integer ops.

// Fill a params struct with SAME padding (same stride/dilation on both axes, square kernel k).
// For depthwise pass groups = ic and oc = ic * depth_multiplier.
ratq_conv2d_params ratq_conv2d_params_same(int n, int h, int w, int ic, int oc, int k, int stride, int dilation,
                                           int groups);

// Fill a params struct with explicit symmetric padding `pad` on all four sides (PyTorch Conv2d padding=pad).
ratq_conv2d_params ratq_conv2d_params_explicit(int n, int h, int w, int ic, int oc, int k, int stride, int dilation,
                                               int groups, int pad);

// Validate a params struct: positive sizes, groups divide IC and OC, oh/ow consistent with the formula,
// pads >= 0 and each pad < dilated kernel extent. Returns 0 if valid, else -1 and prints one line naming
// `what` (a layer name for the message) and the offending field.
int ratq_conv2d_params_check(const ratq_conv2d_params *p, const char *what);

// Extra check for depthwise use: groups == ic and oc % ic == 0. Returns 0 / -1 (+ one-line message).
int ratq_dwconv2d_params_check(const ratq_conv2d_params *p, const char *what);

// =============================================================================================
// conv2d (grouped), OHWI weights:
//   y[n][oy][ox][o] = b[o] + sum_{ky,kx,i<ICg} x[n][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw][g*ICg + i]
//                                              * w[o][ky][kx][i]          (g = o / OCg, zero outside)
// b may be NULL (no bias). 1x1/stride-1/no-pad convs are one GEMM [N*H*W, ICg] x [ICg, OCg] per group;
// others use im2col (chunks of images) + GEMM. ws: scratch of ratq_conv2d_workspace_floats(p) floats,
// or NULL to allocate internally. Returns 0, or -1 if an internal allocation failed.
// Backward (given the forward input x and dy[n][oh][ow][oc]), all overwritten, each may be NULL:
//   dx[n][h][w][ic] = sum over (o, ky, kx) that read x[...] of dy * w
//   dw[oc][kh][kw][ic/groups] = sum_{n,oy,ox} dy * x(window)
//   db[oc] = sum_{n,oy,ox} dy
// =============================================================================================
size_t ratq_conv2d_workspace_floats(const ratq_conv2d_params *p);
int ratq_conv2d_fwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y,
                        float *ws);
int ratq_conv2d_bwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                        float *dw, float *db, float *ws);
int ratq_conv2d_fwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y,
                        float *ws);
int ratq_conv2d_bwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                        float *dw, float *db, float *ws);

// =============================================================================================
// Depthwise conv2d (p->groups == p->ic, depth multiplier dm = p->oc / p->ic), weights w[kh][kw][oc]:
//   y[n][oy][ox][o] = b[o] + sum_{ky,kx} x[n][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw][o / dm] * w[ky][kx][o]
// Backward as for conv2d: dx[n][h][w][ic], dw[kh][kw][oc], db[oc], overwritten, each may be NULL.
// _cpu: direct loops, OpenMP over (n, oy) rows; dw/db reduced via per-thread partial sums (allocated:
// returns -1 if that allocation fails). _ref never allocates (always returns 0).
// =============================================================================================
int ratq_dwconv2d_fwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y);
int ratq_dwconv2d_bwd_cpu(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *db);
int ratq_dwconv2d_fwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *b, float *y);
int ratq_dwconv2d_bwd_ref(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy, float *dx,
                          float *dw, float *db);

// =============================================================================================
// Batch norm over x[rows][c] (rows = N*H*W for NHWC activations, or N for [N][C]).
//   eval : y = gamma * (x - mean) / sqrt(var + eps) + beta        (running statistics)
//   train: mean_c = (1/R) sum_r x, var_c = (1/R) sum_r (x - mean_c)^2 (biased, two-pass, double accum.)
//          invstd_c = 1 / sqrt(var_c + eps); y = gamma * (x - mean_c) * invstd_c + beta
//          running update (PyTorch, skipped if running_mean/running_var are NULL):
//            running_mean = (1 - momentum) * running_mean + momentum * mean_c
//            running_var  = (1 - momentum) * running_var  + momentum * var_c * R / (R - 1)   (unbiased; R > 1)
//          save_mean[c], save_invstd[c] (required) are what the train backward needs.
//   PyTorch momentum 0.1 <=> TF/Keras momentum 0.9. EfficientNet-Lite: eps = 1e-3.
// Train backward (exact, xhat = (x - mean) * invstd, sums over rows):
//   dbeta = sum dy;  dgamma = sum dy * xhat;  dx = gamma * invstd / R * (R*dy - dbeta - xhat*dgamma)
// Eval backward (running statistics are constants):
//   dbeta = sum dy;  dgamma = sum dy * xhat;  dx = dy * gamma * invstd     (invstd from running var)
// All gradients overwritten, each may be NULL. y may alias x (forward), dx may alias dy (backward).
// =============================================================================================
typedef struct {
    int rows;       // N*H*W
    int c;          // channels
    float eps;      // added to the variance (1e-3 for EfficientNet-Lite)
    float momentum; // PyTorch convention: weight of the new batch statistic (0.01 for TF momentum 0.99)
} ratq_bn_params;

void ratq_bn_train_fwd_cpu(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta, float *y,
                           float *running_mean, float *running_var, float *save_mean, float *save_invstd);
void ratq_bn_train_fwd_ref(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta, float *y,
                           float *running_mean, float *running_var, float *save_mean, float *save_invstd);
void ratq_bn_train_bwd_cpu(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                           const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
void ratq_bn_train_bwd_ref(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                           const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
void ratq_bn_eval_fwd_cpu(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta,
                          const float *mean, const float *var, float *y);
void ratq_bn_eval_fwd_ref(const ratq_bn_params *p, const float *x, const float *gamma, const float *beta,
                          const float *mean, const float *var, float *y);
void ratq_bn_eval_bwd_cpu(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                          const float *mean, const float *var, float *dx, float *dgamma, float *dbeta);
void ratq_bn_eval_bwd_ref(const ratq_bn_params *p, const float *x, const float *dy, const float *gamma,
                          const float *mean, const float *var, float *dx, float *dgamma, float *dbeta);

// BN folding (the "BN folding" step of the data flow), computed in double, rounded once to float:
//   s_o = gamma[o] / sqrt(var[o] + eps);  w'[o][...] = w[o][...] * s_o;  b'[o] = beta[o] + (b[o] - mean[o]) * s_o
// so that conv(x, w', b') == bn_eval(conv(x, w, b)). b may be NULL (no conv bias: b = 0).
// _ohwi: conv2d / linear weights, output channel outermost: w[oc][per_oc] (per_oc = kh*kw*ic/groups or in).
// _hwo : depthwise weights, output channel innermost: w[per_oc][oc] (per_oc = kh*kw).
// w_out may equal w and b_out may equal b (in place); b_out is required.
void ratq_bn_fold_ohwi(int oc, int per_oc, const float *w, const float *b, const float *gamma, const float *beta,
                       const float *mean, const float *var, float eps, float *w_out, float *b_out);
void ratq_bn_fold_hwo(int oc, int per_oc, const float *w, const float *b, const float *gamma, const float *beta,
                      const float *mean, const float *var, float eps, float *w_out, float *b_out);

// =============================================================================================
// Elementwise ops over n floats.
//   relu6 : y = min(max(x, 0), 6);  dx = dy if 0 < x < 6 else 0 (PyTorch hardtanh: 0 at x == 0 and x == 6).
//           The mask is the same whether `x` is the pre-activation or the output y, so bwd may be
//           given y (lets the forward run in place).
//   add   : y = a + b (residual add; its backward is da = db = dy, nothing to compute).
//   accumulate : dst += src (sum gradients of a tensor used twice).
// =============================================================================================
void ratq_relu6_fwd_cpu(size_t n, const float *x, float *y);
void ratq_relu6_fwd_ref(size_t n, const float *x, float *y);
void ratq_relu6_bwd_cpu(size_t n, const float *x, const float *dy, float *dx);
void ratq_relu6_bwd_ref(size_t n, const float *x, const float *dy, float *dx);
void ratq_add_fwd_cpu(size_t n, const float *a, const float *b, float *y);
void ratq_add_fwd_ref(size_t n, const float *a, const float *b, float *y);
void ratq_accumulate_cpu(size_t n, float *dst, const float *src);
void ratq_accumulate_ref(size_t n, float *dst, const float *src);

// =============================================================================================
// Global average pool: x[n][h][w][c] -> y[n][c] = (1/(h*w)) * sum_{h,w} x (double accumulator).
// Backward: dx[n][h][w][c] = dy[n][c] / (h*w)  (overwritten).
// =============================================================================================
typedef struct {
    int n, h, w, c;
} ratq_pool_params;

void ratq_global_avgpool_fwd_cpu(const ratq_pool_params *p, const float *x, float *y);
void ratq_global_avgpool_fwd_ref(const ratq_pool_params *p, const float *x, float *y);
void ratq_global_avgpool_bwd_cpu(const ratq_pool_params *p, const float *dy, float *dx);
void ratq_global_avgpool_bwd_ref(const ratq_pool_params *p, const float *dy, float *dx);

// =============================================================================================
// Counter-based RNG (stateless, so the backward regenerates the forward's mask and no mask is stored):
//   u = ratq_rng_u01(seed, stream, step, index) in [0, 1), a multiple of 2^-24:
//   h = sm(sm(sm(sm(seed ^ 0x9E3779B97F4A7C15) ^ stream) ^ step) ^ index);  u = (h >> 40) * 2^-24
//   with sm = ratq_splitmix64 (kernels/math/splitmix64.h: mix13(z + 0x9E3779B97F4A7C15)). Deterministic given
//   (seed, stream, step, index) on every platform. stream = layer id, step = training step.
// Dropout (per element, index = element position): keep iff u >= drop_prob; y = keep ? x / (1 - drop_prob) : 0.
// Drop-connect / stochastic depth (per sample, index = sample n, the mask covers all per_sample elements of
//   sample n): same rule; this equals the EfficientNet reference binary = floor(keep_prob + u'), keep_prob =
//   1 - drop_prob. Training mode only: in eval mode the caller skips the op (identity).
// drop_prob == 0 is the identity; drop_prob >= 1 zeroes everything (no division by zero).
// Backward regenerates the mask from the same params: dx = keep ? dy / (1 - drop_prob) : 0.
// =============================================================================================
typedef struct {
    float drop_prob;  // probability of dropping an element (dropout) or a sample's branch (drop-connect)
    uint64_t seed;    // run seed
    uint64_t stream;  // layer id: different layers get independent masks
    uint64_t step;    // training step: a new mask every step
} ratq_dropout_params;

float ratq_rng_u01(uint64_t seed, uint64_t stream, uint64_t step, uint64_t index);

void ratq_dropout_fwd_cpu(const ratq_dropout_params *p, size_t n, const float *x, float *y);
void ratq_dropout_fwd_ref(const ratq_dropout_params *p, size_t n, const float *x, float *y);
void ratq_dropout_bwd_cpu(const ratq_dropout_params *p, size_t n, const float *dy, float *dx);
void ratq_dropout_bwd_ref(const ratq_dropout_params *p, size_t n, const float *dy, float *dx);
// x, y: [n_samples][per_sample]
void ratq_drop_connect_fwd_cpu(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *x,
                               float *y);
void ratq_drop_connect_fwd_ref(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *x,
                               float *y);
void ratq_drop_connect_bwd_cpu(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *dy,
                               float *dx);
void ratq_drop_connect_bwd_ref(const ratq_dropout_params *p, int n_samples, size_t per_sample, const float *dy,
                               float *dx);

// =============================================================================================
// Linear (fully connected): y[n][out] = b[out] + sum_i x[n][i] * w[out][i]   (b may be NULL)
// Backward (overwritten, each may be NULL): dx[n][in] = dy . w;  dw[out][in] = dy^T . x;  db[out] = sum_n dy
// =============================================================================================
typedef struct {
    int n;    // batch
    int in;   // input features
    int out;  // output features
} ratq_linear_params;

void ratq_linear_fwd_cpu(const ratq_linear_params *p, const float *x, const float *w, const float *b, float *y);
void ratq_linear_fwd_ref(const ratq_linear_params *p, const float *x, const float *w, const float *b, float *y);
void ratq_linear_bwd_cpu(const ratq_linear_params *p, const float *x, const float *w, const float *dy, float *dx,
                         float *dw, float *db);
void ratq_linear_bwd_ref(const ratq_linear_params *p, const float *x, const float *w, const float *dy, float *dx,
                         float *dw, float *db);

// =============================================================================================
// Softmax cross-entropy with label smoothing (PyTorch CrossEntropyLoss(label_smoothing=eps), mean reduction):
//   p = softmax(logits[i]) (max-subtracted, double);  q_k = (1 - eps) * [k == label_i] + eps / K
//   loss = (1/N) sum_i sum_k -q_k log p_k = (1/N) sum_i [(1 - eps) * nll_i + eps * mean_k(-log p_k)]
//   dlogits[i][k] = (p_k - q_k) / N    (overwritten; may be NULL to only compute the loss)
// Labels must be in [0, classes) (validated by the data loader). Returns the mean loss.
// =============================================================================================
typedef struct {
    int n;                 // batch
    int classes;           // K
    float label_smoothing; // eps in [0, 1)
} ratq_xent_params;

double ratq_softmax_xent_cpu(const ratq_xent_params *p, const float *logits, const int32_t *labels, float *dlogits);
double ratq_softmax_xent_ref(const ratq_xent_params *p, const float *logits, const int32_t *labels, float *dlogits);

// =============================================================================================
// Optimizers over flat float arrays (one call per parameter tensor; a tensor excluded from weight decay is
// simply called with weight_decay = 0). The _cpu versions are OpenMP loops with the same per-element
// arithmetic as _ref, so they match bit for bit.
// SGD (PyTorch torch.optim.SGD):
//   g = grad + weight_decay * param
//   if momentum != 0: buf = (step == 0) ? g : momentum * buf + (1 - dampening) * g
//                     g = nesterov ? g + momentum * buf : buf
//   param -= lr * g                          (momentum_buf [n], unused and may be NULL if momentum == 0)
// AdamW (PyTorch torch.optim.AdamW), t = step (1 for the first update):
//   param *= 1 - lr * weight_decay           (decoupled weight decay)
//   m = beta1 * m + (1 - beta1) * grad;  v = beta2 * v + (1 - beta2) * grad^2
//   param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//   m, v: [n], zero-initialized before the first step. (PyTorch updates m as m + (1-beta1)*(g - m) via lerp:
//   the same value up to float rounding.)
// =============================================================================================
typedef struct {
    float lr;
    float momentum;     // 0 = plain SGD
    float dampening;    // PyTorch default 0
    float weight_decay; // L2 added to the gradient
    int nesterov;       // 0 / 1 (requires momentum > 0 and dampening == 0, as in PyTorch)
    int64_t step;       // 0 for the first update (initializes the momentum buffer with g)
} ratq_sgd_params;

typedef struct {
    float lr;
    float beta1, beta2; // PyTorch defaults 0.9, 0.999
    float eps;          // PyTorch default 1e-8
    float weight_decay; // decoupled; PyTorch default 1e-2
    int64_t step;       // t >= 1: number of updates including this one (bias correction)
} ratq_adamw_params;

void ratq_sgd_step_cpu(const ratq_sgd_params *p, size_t n, float *param, const float *grad, float *momentum_buf);
void ratq_sgd_step_ref(const ratq_sgd_params *p, size_t n, float *param, const float *grad, float *momentum_buf);
void ratq_adamw_step_cpu(const ratq_adamw_params *p, size_t n, float *param, const float *grad, float *m, float *v);
void ratq_adamw_step_ref(const ratq_adamw_params *p, size_t n, float *param, const float *grad, float *m, float *v);

// =============================================================================================
// Learning-rate schedule: linear warm-up then cosine decay, as a function of the 0-based step.
//   step < warmup_steps : lr = warmup_init_lr + (base_lr - warmup_init_lr) * (step + 1) / warmup_steps
//                         (reaches base_lr at step = warmup_steps - 1)
//   otherwise           : t = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1)
//                         lr = final_lr + 0.5 * (base_lr - final_lr) * (1 + cos(pi * t))
// warmup_steps = 0 gives pure cosine (PyTorch CosineAnnealingLR with T_max = total_steps, eta_min = final_lr).
// Steps past total_steps stay at final_lr. Computed in double.
// =============================================================================================
typedef struct {
    double base_lr;
    double final_lr;       // eta_min
    double warmup_init_lr; // lr before the first warm-up step (usually 0)
    int64_t warmup_steps;
    int64_t total_steps;   // including the warm-up steps
} ratq_lr_schedule;

double ratq_lr_at(const ratq_lr_schedule *s, int64_t step);

#ifdef __cplusplus
}
#endif

#endif
