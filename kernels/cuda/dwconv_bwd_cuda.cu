// dwconv_bwd_cuda.cu — depthwise conv2d backward on the GPU, twin of ratq_dwconv2d_bwd_cpu
// (kernels/cpu/float_dwconv.c), deterministic (no floating-point atomics):
//   db[o]         = column sums of dy over all N*OH*OW rows (ratq_colsum_cuda)
//   dw[ky][kx][o] = sum over output rows (n, oy) with iy inside the input, in double, of the float row sum
//                   ratq_dwconv2d_dw_rowsum (sum over ox of dy * x, the CPU's per-row partial, bit-identical).
//                   Kernel 1: block = 32 channels x 8 row lanes, grid = (channel blocks, taps, row partitions);
//                   lane sums (double) are added in lane order into part[partition][tap][o]. Kernel 2 adds the
//                   partitions in order and rounds once to float (kernels/cuda/det_reduce.cuh).
//   dx            = one thread per element: ratq_dwconv2d_dx_elem (gather, the CPU's order: bit-identical).
#include "cuda/cuda_check.h"
#include "cuda/det_reduce.cuh"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

static __global__ void dw_dx_kernel(ratq_conv2d_params p, const float *w, const float *dy, int64_t count, float *dx) {
    RATQ_GRID_STRIDE_LOOP(i, count) dx[i] = ratq_dwconv2d_dx_elem(&p, w, dy, i);
}

// grid (ceil(OC / COLS), KH*KW, parts); lane l = blockIdx.z*LANES + threadIdx.y takes rows r = l, l + parts*LANES,
// ... of the N*OH output rows (r = n*OH + oy).
static __global__ void dw_dw_partial_kernel(ratq_conv2d_params p, const float *x, const float *dy, int parts,
                                            double *part) {
    const int o = blockIdx.x * RATQ_DET_COLS + threadIdx.x;
    const int tap = blockIdx.y, ky = tap / p.kw, kx = tap % p.kw;
    const int lane = blockIdx.z * RATQ_DET_LANES + threadIdx.y, nlanes = parts * RATQ_DET_LANES;
    const int rows = p.n * p.oh;
    double s = 0.0;
    if (o < p.oc)
        for (int r = lane; r < rows; r += nlanes) {
            const int n = r / p.oh, oy = r % p.oh;
            const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
            if (iy < 0 || iy >= p.h) continue;
            s += (double)ratq_dwconv2d_dw_rowsum(&p, x, dy, o, n, oy, iy, kx);
        }
    s = ratq_det_block_sum(s);
    if (threadIdx.y == 0 && o < p.oc) part[((int64_t)blockIdx.z * p.kh * p.kw + tap) * p.oc + o] = s;
}

extern "C" int ratq_dwconv2d_bwd_cuda(const ratq_conv2d_params *p, const float *x, const float *w, const float *dy,
                                      float *dx, float *dw, float *db, cudaStream_t stream) {
    if (db) ratq_colsum_cuda(p->n * p->oh * p->ow, p->oc, p->oc, dy, db, stream);
    if (dw) {
        const int kk = p->kh * p->kw;
        const int parts = ratq_det_parts((int64_t)p->n * p->oh, 1); // about one output row per lane
        const int64_t count = (int64_t)kk * p->oc;
        double *part = NULL;
        CUDA_CHECK(cudaMallocAsync((void **)&part, sizeof(double) * (size_t)parts * count, stream));
        const dim3 block(RATQ_DET_COLS, RATQ_DET_LANES), grid((p->oc + RATQ_DET_COLS - 1) / RATQ_DET_COLS, kk, parts);
        dw_dw_partial_kernel<<<grid, block, 0, stream>>>(*p, x, dy, parts, part);
        CUDA_CHECK_LAUNCH();
        ratq_det_final_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(parts, count, part,
                                                                                                     dw);
        CUDA_CHECK_LAUNCH();
        CUDA_CHECK(cudaFreeAsync(part, stream));
    }
    if (dx) {
        const int64_t count = (int64_t)p->n * p->h * p->w * p->ic;
        dw_dx_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(*p, w, dy, count, dx);
        CUDA_CHECK_LAUNCH();
    }
    return 0;
}
