// conv_bwd_cuda.cu — grouped conv2d backward on the GPU, twin of ratq_conv2d_bwd_cpu (kernels/cpu/float_conv.c):
// the same GEMM calls (ratq_sgemm_cuda = cuBLAS) on the same operands, with im2col and col2im as one-thread-per-
// element kernels over the shared element functions of kernels/cuda/train_elem.h.
//   db[oc]                 = column sums of dy (deterministic, ratq_colsum_cuda)
//   1x1 / stride 1 / no pad, per group g (NHWC is already [rows][IC]):
//     dw_g[OCg][ICg]       = dy_g^T [OCg][rows] . x_g [rows][ICg]
//     dx_g[rows][ICg]      = dy_g [rows][OCg] . w_g [OCg][ICg]
//   otherwise, per chunk of images n0.. and group g:
//     col = im2col(x)      [rows][KK*ICg]
//     dw_g (+)= dy_g^T . col          (beta = 0 for the first chunk, 1 after)
//     col = dy_g . w_g                (dcol), then dx = col2im(dcol) (gather: no write races)
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

// Same chunking rule as the CPU (RATQ_IM2COL_CAP_FLOATS in float_conv.c): images whose columns fit 2^22 floats.
#define RATQ_IM2COL_CAP_FLOATS_CUDA ((size_t)1 << 22)

static int is_pointwise(const ratq_conv2d_params *p) {
    return p->kh == 1 && p->kw == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
           p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
}

static size_t col_per_image(const ratq_conv2d_params *p) {
    return (size_t)p->oh * p->ow * p->kh * p->kw * (p->ic / p->groups);
}

static int images_per_chunk(const ratq_conv2d_params *p) {
    size_t per = col_per_image(p), nb = RATQ_IM2COL_CAP_FLOATS_CUDA / (per ? per : 1);
    if (nb < 1) nb = 1;
    if (nb > (size_t)p->n) nb = (size_t)p->n;
    return (int)nb;
}

extern "C" size_t ratq_conv2d_workspace_floats_cuda(const ratq_conv2d_params *p) {
    if (is_pointwise(p)) return 0;
    return (size_t)images_per_chunk(p) * col_per_image(p);
}

static __global__ void im2col_kernel(ratq_conv2d_params p, const float *x, int n0, int g, int64_t count, float *col) {
    RATQ_GRID_STRIDE_LOOP(i, count) col[i] = ratq_im2col_elem(&p, x, n0, g, i);
}

// One thread per dx element of images n0 .. n0+nb-1, group g: local idx over [nb][H][W][ICg].
static __global__ void col2im_kernel(ratq_conv2d_params p, const float *col, int n0, int g, int64_t count, float *dx) {
    const int icg = p.ic / p.groups;
    RATQ_GRID_STRIDE_LOOP(i, count) {
        const int64_t pix = i / icg; // (nl*H + iy)*W + ix
        dx[((int64_t)n0 * p.h * p.w + pix) * p.ic + (int64_t)g * icg + i % icg] = ratq_col2im_elem(&p, col, i);
    }
}

extern "C" int ratq_conv2d_bwd_cuda(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy,
                                    float *dx, float *dw, float *db, float *ws, cudaStream_t stream) {
    const int G = p->groups, icg = p->ic / G, ocg = p->oc / G, kk = p->kh * p->kw;
    if (db) ratq_colsum_cuda(p->n * p->oh * p->ow, p->oc, p->oc, dy, db, stream);
    if (!dx && !dw) return 0;
    if (is_pointwise(p)) {
        const int rows = p->n * p->h * p->w;
        for (int g = 0; g < G; g++) {
            if (dw)
                ratq_sgemm_cuda(1, 0, ocg, icg, rows, 1.0f, dy + (size_t)g * ocg, p->oc, x + (size_t)g * icg, p->ic,
                                0.0f, dw + (size_t)g * ocg * icg, icg, stream);
            if (dx)
                ratq_sgemm_cuda(0, 0, rows, icg, ocg, 1.0f, dy + (size_t)g * ocg, p->oc, w + (size_t)g * ocg * icg, icg,
                                0.0f, dx + (size_t)g * icg, p->ic, stream);
        }
        return 0;
    }
    float *col = ws;
    if (!col) CUDA_CHECK(cudaMallocAsync((void **)&col, sizeof(float) * ratq_conv2d_workspace_floats_cuda(p), stream));
    const int nbmax = images_per_chunk(p);
    for (int n0 = 0; n0 < p->n; n0 += nbmax) {
        const int nb = p->n - n0 < nbmax ? p->n - n0 : nbmax;
        const int rows = nb * p->oh * p->ow;
        const int64_t ncol = (int64_t)rows * kk * icg, ndx = (int64_t)nb * p->h * p->w * icg;
        const float *dyc = dy + (size_t)n0 * p->oh * p->ow * p->oc;
        for (int g = 0; g < G; g++) {
            const float *wg = w + (size_t)g * ocg * kk * icg;
            if (dw) {
                im2col_kernel<<<ratq_grid_for(ncol, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(*p, x, n0, g, ncol,
                                                                                                   col);
                CUDA_CHECK_LAUNCH();
                ratq_sgemm_cuda(1, 0, ocg, kk * icg, rows, 1.0f, dyc + (size_t)g * ocg, p->oc, col, kk * icg,
                                n0 == 0 ? 0.0f : 1.0f, dw + (size_t)g * ocg * kk * icg, kk * icg, stream);
            }
            if (dx) {
                ratq_sgemm_cuda(0, 0, rows, kk * icg, ocg, 1.0f, dyc + (size_t)g * ocg, p->oc, wg, kk * icg, 0.0f, col,
                                kk * icg, stream);
                col2im_kernel<<<ratq_grid_for(ndx, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(*p, col, n0, g, ndx,
                                                                                                  dx);
                CUDA_CHECK_LAUNCH();
            }
        }
    }
    if (!ws) CUDA_CHECK(cudaFreeAsync(col, stream));
    return 0;
}
