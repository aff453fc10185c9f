// loss_cuda.cu — the RAT loss of one micro-batch on the GPU (kernels/cuda/loss_cuda.h, formulas in
// kernels/cpu/float_loss_elem.h):
//   kernel 1, one block of LOSS_BLOCK threads per row: maxima and the sums over k in double through a fixed
//     shared-memory tree; dL/dz per element (ratq_xent_dlogit, ratq_le_dz); the row's CE and KL sums; the row's
//     int8 argmax against its label (thread 0, the CPU's scan);
//   kernel 2, one thread: adds the rows in order and accumulates into the step result (ratq_le_loss / chunks).
#include "cuda/cuda_check.h"
#include "cuda/loss_cuda.h"
#include "math/quant_grid.h"  // ratq_dequantize_s8
#include "cuda/train_elem.h"  // ratq_xent_dlogit, ratq_xent_row_loss

#define LOSS_BLOCK 256 // a power of two

typedef struct {
    double *ce, *kl; // [n]
    int *correct;    // [n]
} loss_ws;

static loss_ws carve(void *ws, int n) {
    loss_ws w;
    w.ce = (double *)ws;
    w.kl = w.ce + n;
    w.correct = (int *)(w.kl + n);
    return w;
}

extern "C" size_t ratq_rat_loss_ws_bytes(int n) { return (size_t)n * (2 * sizeof(double) + sizeof(int)); }

// Fixed tree over LOSS_BLOCK values (sum or max); every thread returns the result.
static __device__ double tree(double v, double *sh, bool is_max) {
    const int tid = threadIdx.x;
    sh[tid] = v;
    __syncthreads();
    for (int s = LOSS_BLOCK / 2; s > 0; s >>= 1) {
        if (tid < s) sh[tid] = is_max ? (sh[tid + s] > sh[tid] ? sh[tid + s] : sh[tid]) : sh[tid] + sh[tid + s];
        __syncthreads();
    }
    const double r = sh[0];
    __syncthreads(); // sh is reused by the next call
    return r;
}

static __device__ float teacher_logit(const ratq_rat_loss_params &p, const float *t_f, const int8_t *t_q, int64_t i) {
    return t_f ? t_f[i] : ratq_dequantize_s8(t_q[i], p.t_scale, p.t_zp);
}

static __global__ void loss_row_kernel(ratq_rat_loss_params p, const int8_t *s_q, const float *t_f, const int8_t *t_q,
                                       const int32_t *labels, float *dz, loss_ws w) {
    __shared__ double sh[LOSS_BLOCK];
    const int K = p.classes, tid = threadIdx.x, r = blockIdx.x;
    const int64_t row = (int64_t)r * K;
    const bool distill = p.alpha > 0;
    double mx = ratq_dequantize_s8(s_q[row], p.s_scale, p.s_zp), mt = 0.0;
    for (int k = tid; k < K; k += LOSS_BLOCK) {
        const double z = ratq_dequantize_s8(s_q[row + k], p.s_scale, p.s_zp);
        mx = z > mx ? z : mx;
    }
    mx = tree(mx, sh, true);
    if (distill) {
        mt = teacher_logit(p, t_f, t_q, row);
        for (int k = tid; k < K; k += LOSS_BLOCK) {
            const double t = teacher_logit(p, t_f, t_q, row + k);
            mt = t > mt ? t : mt;
        }
        mt = tree(mt, sh, true);
    }
    double se = 0.0, sz = 0.0, ss = 0.0, st = 0.0;
    for (int k = tid; k < K; k += LOSS_BLOCK) {
        const float z = ratq_dequantize_s8(s_q[row + k], p.s_scale, p.s_zp);
        se += exp((double)z - mx);
        sz += z;
        if (distill) {
            ss += ratq_le_softmax_term(z, mx, p.temperature);
            st += ratq_le_softmax_term(teacher_logit(p, t_f, t_q, row + k), mt, p.temperature);
        }
    }
    se = tree(se, sh, false);
    sz = tree(sz, sh, false);
    if (distill) {
        ss = tree(ss, sh, false);
        st = tree(st, sh, false);
    }
    const double lse = mx + log(se), eps = p.label_smoothing;
    const int label = labels[r];
    double kl = 0.0;
    for (int k = tid; k < K; k += LOSS_BLOCK) {
        const float z = ratq_dequantize_s8(s_q[row + k], p.s_scale, p.s_zp);
        const float dce = ratq_xent_dlogit(z, lse, k == label, eps, K, p.n);
        double ps = 0.0, pt = 0.0;
        if (distill) {
            ps = ratq_le_softmax_term(z, mx, p.temperature) / ss;
            pt = ratq_le_softmax_term(teacher_logit(p, t_f, t_q, row + k), mt, p.temperature) / st;
            kl += ratq_le_kl_term(ps, pt);
        }
        dz[row + k] = ratq_le_dz(dce, p.alpha, p.temperature, ps, pt, p.n);
    }
    if (distill) kl = tree(kl, sh, false);
    if (tid == 0) {
        const float zl = ratq_dequantize_s8(s_q[row + label], p.s_scale, p.s_zp);
        w.ce[r] = ratq_xent_row_loss(lse, zl, sz, eps, K);
        w.kl[r] = kl;
        w.correct[r] = ratq_le_argmax_s8(s_q + row, K) == label;
    }
}

static __global__ void loss_sum_kernel(ratq_rat_loss_params p, loss_ws w, ratq_step_result *res) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double ce = 0.0, kl = 0.0;
    long long c = 0;
    for (int r = 0; r < p.n; r++) {
        ce += w.ce[r];
        kl += w.kl[r];
        c += w.correct[r];
    }
    res->loss += ratq_le_loss(ce, kl, p.alpha, p.temperature, p.n) / p.chunks;
    res->correct += c;
}

extern "C" void ratq_rat_loss_cuda(const ratq_rat_loss_params *p, const int8_t *s_q, const float *t_f,
                                   const int8_t *t_q, const int32_t *labels, float *dz, ratq_step_result *res,
                                   void *ws, cudaStream_t stream) {
    if (p->n <= 0) return;
    const loss_ws w = carve(ws, p->n);
    loss_row_kernel<<<p->n, LOSS_BLOCK, 0, stream>>>(*p, s_q, t_f, t_q, labels, dz, w);
    CUDA_CHECK_LAUNCH();
    loss_sum_kernel<<<1, 32, 0, stream>>>(*p, w, res);
    CUDA_CHECK_LAUNCH();
}
