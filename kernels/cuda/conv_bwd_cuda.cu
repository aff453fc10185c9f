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
#include "cpu/float_conv_plan.h" // the CPU chunking rule (same chunks, same GEMM calls)
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

extern "C" size_t ratq_conv2d_workspace_floats_cuda(const ratq_conv2d_params *p) {
    if (ratq_conv_is_pointwise(p)) return 0;
    return (size_t)ratq_im2col_images_per_chunk(p) * ratq_im2col_per_image(p);
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
    if (ratq_conv_is_pointwise(p)) {
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
    const int nbmax = ratq_im2col_images_per_chunk(p);
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
