// optim_cuda.cu — SGD (momentum / dampening / Nesterov / weight decay) and AdamW steps on the GPU, twins of
// ratq_sgd_step_cpu / ratq_adamw_step_cpu (kernels/cpu/float_optim.c): one thread per element running the shared
// element functions ratq_sgd_elem / ratq_adamw_elem (kernels/cuda/train_elem.h), whose operation order is the
// CPU's; the AdamW bias-correction constants are computed once on the host by ratq_adamw_prepare, as the CPU.
// Expected bit-identical to the CPU (only + - * / and IEEE sqrtf, no FMA with -fmad=false).
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

// momentum_buf may be NULL when p.momentum == 0 (the buffer is then neither read nor written).
static __global__ void sgd_kernel(ratq_sgd_params p, int64_t n, float *param, const float *grad, float *buf) {
    RATQ_GRID_STRIDE_LOOP(i, n) {
        float dummy = 0.0f;
        ratq_sgd_elem(&p, &param[i], grad[i], buf ? &buf[i] : &dummy);
    }
}

static __global__ void adamw_kernel(ratq_adamw_params p, ratq_adamw_consts k, int64_t n, float *param,
                                    const float *grad, float *m, float *v) {
    RATQ_GRID_STRIDE_LOOP(i, n) ratq_adamw_elem(&p, &k, &param[i], grad[i], &m[i], &v[i]);
}

extern "C" void ratq_sgd_step_cuda(const ratq_sgd_params *p, size_t n, float *param, const float *grad,
                                   float *momentum_buf, cudaStream_t stream) {
    if (n == 0) return;
    sgd_kernel<<<ratq_grid_for((int64_t)n, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(
        *p, (int64_t)n, param, grad, p->momentum != 0.0f ? momentum_buf : NULL);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_adamw_step_cuda(const ratq_adamw_params *p, size_t n, float *param, const float *grad, float *m,
                                     float *v, cudaStream_t stream) {
    if (n == 0) return;
    const ratq_adamw_consts k = ratq_adamw_prepare(p);
    adamw_kernel<<<ratq_grid_for((int64_t)n, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(*p, k, (int64_t)n, param,
                                                                                             grad, m, v);
    CUDA_CHECK_LAUNCH();
}
