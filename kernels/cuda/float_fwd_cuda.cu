// float_fwd_cuda.cu — float forward ops on the GPU (twins of kernels/cpu/float_ops.h forward ops; declared in
// kernels/cuda/train_ops_cuda.h), for the float distillation teacher of RAT: conv2d (bias filled, then GEMM with
// beta = 1, im2col per chunk of images for non-1x1 convs: the CPU's structure), depthwise, linear, residual add,
// ReLU6 and global average pool (one thread per output element over kernels/cuda/float_fwd_elem.h).
#include "cpu/float_conv_plan.h"
#include "cuda/cuda_check.h"
#include "cuda/float_fwd_elem.h"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

#define GRID(count) ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream

static __global__ void fill_bias_kernel(int64_t count, int oc, const float *b, float *y) {
    RATQ_GRID_STRIDE_LOOP(i, count) y[i] = b[i % oc];
}
static __global__ void im2col_kernel(ratq_conv2d_params p, const float *x, int n0, int g, int64_t count, float *col) {
    RATQ_GRID_STRIDE_LOOP(i, count) col[i] = ratq_im2col_elem(&p, x, n0, g, i);
}
static __global__ void dw_fwd_kernel(ratq_conv2d_params p, const float *x, const float *w, const float *b,
                                     int64_t count, float *y) {
    RATQ_GRID_STRIDE_LOOP(i, count) y[i] = ratq_ff_dw_elem(&p, x, w, b, i);
}
static __global__ void input_kernel(int64_t count, const uint8_t *img, float *x) {
    RATQ_GRID_STRIDE_LOOP(i, count) x[i] = ratq_ff_input(img[i]);
}
static __global__ void relu6_kernel(int64_t count, float *y) {
    RATQ_GRID_STRIDE_LOOP(i, count) y[i] = ratq_ff_relu6(y[i]);
}
static __global__ void add_kernel(int64_t count, const float *a, const float *b, float *y) {
    RATQ_GRID_STRIDE_LOOP(i, count) y[i] = a[i] + b[i];
}
static __global__ void gap_kernel(ratq_pool_params p, int64_t count, const float *x, float *y) {
    RATQ_GRID_STRIDE_LOOP(i, count) y[i] = ratq_ff_gap_elem(&p, x, i);
}

static void fill_bias(int64_t rows, int oc, const float *b, float *y, cudaStream_t stream) {
    const int64_t count = rows * oc;
    if (count <= 0) return;
    fill_bias_kernel<<<GRID(count)>>>(count, oc, b, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_conv2d_fwd_cuda(int math, const ratq_conv2d_params *p, const float *x, const float *w,
                                     const float *b, float *y, float *ws, cudaStream_t stream) {
    const int G = p->groups, icg = p->ic / G, ocg = p->oc / G, kk = p->kh * p->kw;
    const float beta = b ? 1.0f : 0.0f;
    if (b) fill_bias((int64_t)p->n * p->oh * p->ow, p->oc, b, y, stream);
    if (ratq_conv_is_pointwise(p)) {
        const int rows = p->n * p->h * p->w;
        for (int g = 0; g < G; g++)
            ratq_sgemm_math_cuda(math, 0, 1, rows, ocg, icg, 1.0f, x + (size_t)g * icg, p->ic, w + (size_t)g * ocg * icg,
                                 icg, beta, y + (size_t)g * ocg, p->oc, stream);
        return;
    }
    const int nbmax = ratq_im2col_images_per_chunk(p);
    for (int n0 = 0; n0 < p->n; n0 += nbmax) {
        const int nb = p->n - n0 < nbmax ? p->n - n0 : nbmax;
        const int rows = nb * p->oh * p->ow;
        const int64_t ncol = (int64_t)rows * kk * icg;
        for (int g = 0; g < G; g++) {
            im2col_kernel<<<GRID(ncol)>>>(*p, x, n0, g, ncol, ws);
            CUDA_CHECK_LAUNCH();
            ratq_sgemm_math_cuda(math, 0, 1, rows, ocg, kk * icg, 1.0f, ws, kk * icg, w + (size_t)g * ocg * kk * icg,
                                 kk * icg, beta, y + (size_t)n0 * p->oh * p->ow * p->oc + (size_t)g * ocg, p->oc, stream);
        }
    }
}

extern "C" void ratq_dwconv2d_fwd_cuda(const ratq_conv2d_params *p, const float *x, const float *w, const float *b,
                                       float *y, cudaStream_t stream) {
    const int64_t count = (int64_t)p->n * p->oh * p->ow * p->oc;
    if (count <= 0) return;
    dw_fwd_kernel<<<GRID(count)>>>(*p, x, w, b, count, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_linear_fwd_cuda(int math, const ratq_linear_params *p, const float *x, const float *w,
                                     const float *b, float *y, cudaStream_t stream) {
    if (b) fill_bias(p->n, p->out, b, y, stream);
    ratq_sgemm_math_cuda(math, 0, 1, p->n, p->out, p->in, 1.0f, x, p->in, w, p->in, b ? 1.0f : 0.0f, y, p->out,
                         stream);
}

extern "C" void ratq_float_input_cuda(int64_t count, const uint8_t *img, float *x, cudaStream_t stream) {
    if (count <= 0) return;
    input_kernel<<<GRID(count)>>>(count, img, x);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_relu6_inplace_cuda(int64_t count, float *y, cudaStream_t stream) {
    if (count <= 0) return;
    relu6_kernel<<<GRID(count)>>>(count, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_add_fwd_cuda(int64_t count, const float *a, const float *b, float *y, cudaStream_t stream) {
    if (count <= 0) return;
    add_kernel<<<GRID(count)>>>(count, a, b, y);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_global_avgpool_fwd_cuda(const ratq_pool_params *p, const float *x, float *y, cudaStream_t stream) {
    const int64_t count = (int64_t)p->n * p->c;
    if (count <= 0) return;
    gap_kernel<<<GRID(count)>>>(*p, count, x, y);
    CUDA_CHECK_LAUNCH();
}
