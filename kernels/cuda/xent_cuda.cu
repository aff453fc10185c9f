// xent_cuda.cu — softmax cross-entropy with label smoothing on the GPU, twin of ratq_softmax_xent_cpu
// (kernels/cpu/float_xent.c; formulas in float_ops.h and kernels/cuda/train_elem.h). Deterministic:
//   kernel 1, one block of XENT_BLOCK threads per row i: max_k z_k (exact in any order); se = sum exp(z_k - max)
//     and sz = sum z_k in double, each thread over k = tid, tid + XENT_BLOCK, ..., then a fixed shared-memory
//     tree; lse = max + log(se); dlogits[i][k] = ratq_xent_dlogit(...); row_loss[i] = ratq_xent_row_loss(...).
//   kernel 2, one thread: loss = (sum_i row_loss[i], i ascending) / N  (the order of ratq_softmax_xent_ref).
// The sums se, sz use another order than the CPU's sequential loop and device exp / log may differ from glibc
// by 1 ulp: the loss agrees to ~1e-15 relative, dlogits to the last float bit in rare cases.
#include "cuda/cuda_check.h"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

#define XENT_BLOCK 256 // a power of two (tree reduction)

static __global__ void xent_row_kernel(ratq_xent_params p, const float *logits, const int32_t *labels,
                                       float *dlogits, double *row_loss) {
    __shared__ double sa[XENT_BLOCK], sb[XENT_BLOCK];
    const int K = p.classes, tid = threadIdx.x;
    const float *z = logits + (int64_t)blockIdx.x * K;
    double mx = z[0];
    for (int k = tid; k < K; k += XENT_BLOCK) mx = z[k] > mx ? (double)z[k] : mx;
    sa[tid] = mx;
    __syncthreads();
    for (int s = XENT_BLOCK / 2; s > 0; s >>= 1) {
        if (tid < s) sa[tid] = sa[tid + s] > sa[tid] ? sa[tid + s] : sa[tid];
        __syncthreads();
    }
    mx = sa[0];
    __syncthreads(); // everyone has read sa[0] before it is reused
    double se = 0.0, sz = 0.0;
    for (int k = tid; k < K; k += XENT_BLOCK) {
        se += exp((double)z[k] - mx);
        sz += z[k];
    }
    sa[tid] = se;
    sb[tid] = sz;
    __syncthreads();
    for (int s = XENT_BLOCK / 2; s > 0; s >>= 1) {
        if (tid < s) {
            sa[tid] += sa[tid + s];
            sb[tid] += sb[tid + s];
        }
        __syncthreads();
    }
    const double lse = mx + log(sa[0]);
    const int label = labels[blockIdx.x];
    const double eps = p.label_smoothing;
    if (dlogits) {
        float *dl = dlogits + (int64_t)blockIdx.x * K;
        for (int k = tid; k < K; k += XENT_BLOCK) dl[k] = ratq_xent_dlogit(z[k], lse, k == label, eps, K, p.n);
    }
    if (tid == 0) row_loss[blockIdx.x] = ratq_xent_row_loss(lse, z[label], sb[0], eps, K);
}

static __global__ void xent_mean_kernel(int n, const double *row_loss, double *loss) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += row_loss[i];
    *loss = s / n;
}

extern "C" void ratq_softmax_xent_cuda(const ratq_xent_params *p, const float *logits, const int32_t *labels,
                                       float *dlogits, double *loss, cudaStream_t stream) {
    if (p->n <= 0 || (!dlogits && !loss)) return;
    double *row_loss = NULL;
    CUDA_CHECK(cudaMallocAsync((void **)&row_loss, sizeof(double) * (size_t)p->n, stream));
    xent_row_kernel<<<p->n, XENT_BLOCK, 0, stream>>>(*p, logits, labels, dlogits, row_loss);
    CUDA_CHECK_LAUNCH();
    if (loss) {
        xent_mean_kernel<<<1, 32, 0, stream>>>(p->n, row_loss, loss);
        CUDA_CHECK_LAUNCH();
    }
    CUDA_CHECK(cudaFreeAsync(row_loss, stream));
}
