// fused_bwd_cuda.cu — the fused STE backward of the fake-quant network on the GPU (declared in
// kernels/cuda/qnet_cuda.h; the fusions and their exactness are stated in kernels/cuda/fused_elem.h).
// Deterministic: no floating-point atomics; every reduction writes double partial sums per (partition, column)
// whose count depends only on the shape, added in partition order by one final pass (kernels/cuda/det_reduce.cuh).
//
// Depthwise dw / db (the largest backward cost after the GEMMs): one thread per (channel, row lane) walks its
// output rows once, reading dy and the mask once per element, and keeps KH*KW float row sums (one per tap, each
// over ox ascending: the CPU's per-row partial, bit for bit) plus the db row sum, added in double per row.
// Kernel sizes 3x3 and 5x5 are compiled with the tap counts as constants (register arrays); other kernel sizes
// take one tap per grid row (the same arithmetic, dy read once per tap).
#include "cpu/float_conv_plan.h"
#include "cuda/cuda_check.h"
#include "cuda/det_reduce.cuh"
#include "cuda/fused_elem.h"
#include "cuda/launch.cuh"
#include "cuda/qnet_cuda.h"
#include "cuda/train_ops_cuda.h"

// out[j] (=|+=) (float) sum_{b < parts} part[b*stride + j], b ascending.
static __global__ void final_acc_kernel(int parts, int64_t count, int64_t stride, const double *part, float *out,
                                        int acc) {
    RATQ_GRID_STRIDE_LOOP(j, count) {
        double s = 0.0;
        for (int b = 0; b < parts; b++) s += part[(int64_t)b * stride + j];
        out[j] = acc ? out[j] + (float)s : (float)s;
    }
}

static void final_acc(int parts, int64_t count, int64_t stride, const double *part, float *out, int acc,
                      cudaStream_t stream) {
    final_acc_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(parts, count, stride, part,
                                                                                            out, acc);
    CUDA_CHECK_LAUNCH();
}

// ---- CONV / FC: STE in place + bias column sum ----------------------------------------------------------------
static int colsum_parts(int rows) { return ratq_det_parts(rows, 64); } // >= 64 rows per lane

static __global__ void ste_colsum_partial_kernel(int rows, int c, float *dy, const uint8_t *mask, const float *ratio,
                                                 int parts, double *part) {
    const int j = blockIdx.x * RATQ_DET_COLS + threadIdx.x;
    const int lane = blockIdx.y * RATQ_DET_LANES + threadIdx.y, nlanes = parts * RATQ_DET_LANES;
    double s = 0.0;
    if (j < c) {
        const float r = ratio[j];
        for (int64_t row = lane; row < rows; row += nlanes) {
            const int64_t e = row * c + j;
            const float g = ratq_ste_grad(dy[e], mask[e], r);
            dy[e] = g;
            s += g;
        }
    }
    s = ratq_det_block_sum(s);
    if (threadIdx.y == 0 && j < c) part[(int64_t)blockIdx.y * c + j] = s;
}

extern "C" size_t ratq_fused_ste_colsum_part_doubles(int rows, int c) { return (size_t)colsum_parts(rows) * c; }

extern "C" void ratq_fused_ste_colsum_cuda(int rows, int c, float *dy_g, const uint8_t *mask, const float *ratio,
                                           float *db, int acc, double *part, cudaStream_t stream) {
    if (rows <= 0 || c <= 0) return;
    const int parts = colsum_parts(rows);
    const dim3 block(RATQ_DET_COLS, RATQ_DET_LANES), grid((c + RATQ_DET_COLS - 1) / RATQ_DET_COLS, parts);
    ste_colsum_partial_kernel<<<grid, block, 0, stream>>>(rows, c, dy_g, mask, ratio, parts, part);
    CUDA_CHECK_LAUNCH();
    if (db) final_acc(parts, c, c, part, db, acc, stream);
}

// ---- depthwise -------------------------------------------------------------------------------------------------
static int dw_parts(const ratq_conv2d_params *p) { return ratq_det_parts((int64_t)p->n * p->oh, 1); }

extern "C" size_t ratq_fused_dw_part_doubles(const ratq_conv2d_params *p) {
    return (size_t)dw_parts(p) * (size_t)(p->kh * p->kw + 1) * p->oc;
}

// All taps per thread (KH, KW compile-time). part layout [parts][KH*KW + 1][oc]: taps, then db.
template <int KH, int KW>
static __global__ void dw_partial_taps_kernel(ratq_conv2d_params p, const int8_t *x, float sx, int32_t zx,
                                              const float *dy, const uint8_t *mask, const float *ratio, int parts,
                                              double *part) {
    const int o = blockIdx.x * RATQ_DET_COLS + threadIdx.x;
    const int lane = blockIdx.y * RATQ_DET_LANES + threadIdx.y, nlanes = parts * RATQ_DET_LANES;
    double s[KH * KW + 1];
#pragma unroll
    for (int t = 0; t <= KH * KW; t++) s[t] = 0.0;
    if (o < p.oc) {
        const float r = ratio[o];
        const int rows = p.n * p.oh;
        for (int row = lane; row < rows; row += nlanes)
            ratq_fe_dw_row_taps<KH, KW>(&p, x, sx, zx, dy, mask, r, o, row / p.oh, row % p.oh, s);
    }
#pragma unroll
    for (int t = 0; t <= KH * KW; t++) {
        const double b = ratq_det_block_sum(s[t]);
        if (threadIdx.y == 0 && o < p.oc) part[((int64_t)blockIdx.y * (KH * KW + 1) + t) * p.oc + o] = b;
    }
}

// Any kernel size: grid (channel blocks, KH*KW + 1, parts), one tap (or db, tap == KH*KW) per grid row.
static __global__ void dw_partial_any_kernel(ratq_conv2d_params p, const int8_t *x, float sx, int32_t zx,
                                             const float *dy, const uint8_t *mask, const float *ratio, int parts,
                                             double *part) {
    const int o = blockIdx.x * RATQ_DET_COLS + threadIdx.x;
    const int tap = blockIdx.y, kk = p.kh * p.kw;
    const int lane = blockIdx.z * RATQ_DET_LANES + threadIdx.y, nlanes = parts * RATQ_DET_LANES;
    double s = 0.0;
    if (o < p.oc) {
        const float r = ratio[o];
        const int rows = p.n * p.oh;
        for (int row = lane; row < rows; row += nlanes) {
            const int n = row / p.oh, oy = row % p.oh;
            if (tap == kk) {
                s += ratq_fe_db_row(&p, dy, mask, r, o, n, oy);
                continue;
            }
            const int ky = tap / p.kw, kx = tap % p.kw;
            const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
            if (iy < 0 || iy >= p.h) continue;
            s += (double)ratq_fe_dw_rowsum(&p, x, sx, zx, dy, mask, r, o, n, oy, iy, kx);
        }
    }
    s = ratq_det_block_sum(s);
    if (threadIdx.y == 0 && o < p.oc) part[((int64_t)blockIdx.z * (kk + 1) + tap) * p.oc + o] = s;
}

static __global__ void dw_dx_kernel(ratq_conv2d_params p, const float *w, const float *dy, const uint8_t *mask,
                                    const float *ratio, int64_t count, float *dx, int first) {
    RATQ_GRID_STRIDE_LOOP(i, count) dx[i] = ratq_fe_accum(dx[i], ratq_fe_dw_dx(&p, w, dy, mask, ratio, i), first);
}

extern "C" void ratq_fused_dw_bwd_cuda(const ratq_conv2d_params *p, const int8_t *x, float sx, int32_t zx,
                                       const float *w, const float *dy, const uint8_t *mask, const float *ratio,
                                       float *dx, int dx_first, float *dw, float *db, int acc, double *part,
                                       cudaStream_t stream) {
    const int kk = p->kh * p->kw;
    if (dw || db) {
        const int parts = dw_parts(p);
        const dim3 block(RATQ_DET_COLS, RATQ_DET_LANES);
        const unsigned cb = (unsigned)((p->oc + RATQ_DET_COLS - 1) / RATQ_DET_COLS);
        if (p->kh == 3 && p->kw == 3)
            dw_partial_taps_kernel<3, 3><<<dim3(cb, parts), block, 0, stream>>>(*p, x, sx, zx, dy, mask, ratio, parts,
                                                                               part);
        else if (p->kh == 5 && p->kw == 5)
            dw_partial_taps_kernel<5, 5><<<dim3(cb, parts), block, 0, stream>>>(*p, x, sx, zx, dy, mask, ratio, parts,
                                                                               part);
        else
            dw_partial_any_kernel<<<dim3(cb, kk + 1, parts), block, 0, stream>>>(*p, x, sx, zx, dy, mask, ratio, parts,
                                                                                part);
        CUDA_CHECK_LAUNCH();
        const int64_t stride = (int64_t)(kk + 1) * p->oc;
        if (dw) final_acc(parts, (int64_t)kk * p->oc, stride, part, dw, acc, stream);
        if (db) final_acc(parts, p->oc, stride, part + (int64_t)kk * p->oc, db, acc, stream);
    }
    if (dx) {
        const int64_t count = (int64_t)p->n * p->h * p->w * p->ic;
        dw_dx_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(*p, w, dy, mask, ratio,
                                                                                           count, dx, dx_first);
        CUDA_CHECK_LAUNCH();
    }
}

// ---- CONV / FC GEMMs -------------------------------------------------------------------------------------------
static __global__ void centered_kernel(int64_t count, const int8_t *x, int32_t zx, float *out) {
    RATQ_GRID_STRIDE_LOOP(i, count) out[i] = ratq_fe_centered(x[i], zx);
}

static __global__ void im2col_s8_kernel(ratq_conv2d_params p, const int8_t *x, int32_t zx, int n0, int g,
                                        int64_t count, float *col) {
    RATQ_GRID_STRIDE_LOOP(i, count) col[i] = ratq_fe_im2col_s8(&p, x, zx, n0, g, i);
}

// col2im into the producer's gradient (ratq_col2im_elem, then ratq_fe_accum).
static __global__ void col2im_acc_kernel(ratq_conv2d_params p, const float *col, int n0, int g, int64_t count,
                                         float *dx, int first) {
    const int icg = p.ic / p.groups;
    RATQ_GRID_STRIDE_LOOP(i, count) {
        const int64_t pix = i / icg;
        float *d = dx + ((int64_t)n0 * p.h * p.w + pix) * p.ic + (int64_t)g * icg + i % icg;
        *d = ratq_fe_accum(*d, ratq_col2im_elem(&p, col, i), first);
    }
}

static void centered(int64_t count, const int8_t *x, int32_t zx, float *out, cudaStream_t stream) {
    if (count <= 0) return;
    centered_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, x, zx, out);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_fused_conv_bwd_cuda(int math, const ratq_conv2d_params *p, const int8_t *x, float sx,
                                         int32_t zx, const float *w, const float *g, float *dx, int dx_first,
                                         float *dw, int acc, float *xc, float *ws, cudaStream_t stream) {
    const int G = p->groups, icg = p->ic / G, ocg = p->oc / G, kk = p->kh * p->kw;
    if (!dx && !dw) return;
    if (ratq_conv_is_pointwise(p)) {
        const int rows = p->n * p->h * p->w;
        if (dw) centered((int64_t)rows * p->ic, x, zx, xc, stream);
        for (int gi = 0; gi < G; gi++) {
            if (dw) // dw_g[OCg][ICg] = S_x g_g^T [OCg][rows] . (x - z)_g [rows][ICg]
                ratq_sgemm_math_cuda(math, 1, 0, ocg, icg, rows, sx, g + (size_t)gi * ocg, p->oc, xc + (size_t)gi * icg,
                                     p->ic, acc ? 1.0f : 0.0f, dw + (size_t)gi * ocg * icg, icg, stream);
            if (dx) // dx_g[rows][ICg] (+)= g_g [rows][OCg] . w_g [OCg][ICg]
                ratq_sgemm_math_cuda(math, 0, 0, rows, icg, ocg, 1.0f, g + (size_t)gi * ocg, p->oc,
                                     w + (size_t)gi * ocg * icg, icg, dx_first ? 0.0f : 1.0f, dx + (size_t)gi * icg,
                                     p->ic, stream);
        }
        return;
    }
    const int nbmax = ratq_im2col_images_per_chunk(p);
    for (int n0 = 0; n0 < p->n; n0 += nbmax) {
        const int nb = p->n - n0 < nbmax ? p->n - n0 : nbmax;
        const int rows = nb * p->oh * p->ow;
        const int64_t ncol = (int64_t)rows * kk * icg, ndx = (int64_t)nb * p->h * p->w * icg;
        const float *gc = g + (size_t)n0 * p->oh * p->ow * p->oc;
        for (int gi = 0; gi < G; gi++) {
            if (dw) {
                im2col_s8_kernel<<<ratq_grid_for(ncol, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(*p, x, zx, n0,
                                                                                                      gi, ncol, ws);
                CUDA_CHECK_LAUNCH();
                ratq_sgemm_math_cuda(math, 1, 0, ocg, kk * icg, rows, sx, gc + (size_t)gi * ocg, p->oc, ws, kk * icg,
                                     (n0 == 0 && !acc) ? 0.0f : 1.0f, dw + (size_t)gi * ocg * kk * icg, kk * icg,
                                     stream);
            }
            if (dx) {
                ratq_sgemm_math_cuda(math, 0, 0, rows, kk * icg, ocg, 1.0f, gc + (size_t)gi * ocg, p->oc,
                                     w + (size_t)gi * ocg * kk * icg, kk * icg, 0.0f, ws, kk * icg, stream);
                col2im_acc_kernel<<<ratq_grid_for(ndx, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(
                    *p, ws, n0, gi, ndx, dx, dx_first);
                CUDA_CHECK_LAUNCH();
            }
        }
    }
}

extern "C" void ratq_fused_fc_bwd_cuda(int math, int n, int in, int out, const int8_t *x, float sx, int32_t zx,
                                       const float *w, const float *g, float *dx, int dx_first, float *dw, int acc,
                                       float *xc, cudaStream_t stream) {
    if (dw) {
        centered((int64_t)n * in, x, zx, xc, stream);
        ratq_sgemm_math_cuda(math, 1, 0, out, in, n, sx, g, out, xc, in, acc ? 1.0f : 0.0f, dw, in, stream);
    }
    if (dx) ratq_sgemm_math_cuda(math, 0, 0, n, in, out, 1.0f, g, out, w, in, dx_first ? 0.0f : 1.0f, dx, in, stream);
}

// ---- ADD / GAP / helpers ----------------------------------------------------------------------------------------
static __global__ void add_bwd_first_kernel(int64_t count, const float *dy, const uint8_t *mask, float ra, float rb,
                                            float *da, int fa, float *db, int fb) {
    RATQ_GRID_STRIDE_LOOP(i, count) {
        const float g = ratq_qnet_add_ste(dy[i], mask[i]);
        if (da) da[i] = ratq_fe_accum(da[i], g * ra, fa);
        if (db) db[i] = ratq_fe_accum(db[i], g * rb, fb);
    }
}

static __global__ void gap_bwd_first_kernel(int64_t count, int hw, int c, const float *dy, const uint8_t *mask,
                                            float r, float *dx, int first) {
    RATQ_GRID_STRIDE_LOOP(i, count) {
        const int64_t ch = i % c, b = i / ((int64_t)hw * c);
        const int64_t j = b * c + ch;
        dx[i] = ratq_fe_accum(dx[i], ratq_ste_grad(dy[j], mask[j], r), first);
    }
}

static __global__ void div_kernel(int64_t count, float *x, float div) {
    RATQ_GRID_STRIDE_LOOP(i, count) x[i] = x[i] / div;
}

static __global__ void zero_kernel(int64_t count, float *x) {
    RATQ_GRID_STRIDE_LOOP(i, count) x[i] = 0.0f;
}

extern "C" void ratq_fused_add_bwd_cuda(int64_t count, const float *dy, const uint8_t *mask, float ratio_a,
                                        float ratio_b, float *da, int first_a, float *db, int first_b,
                                        cudaStream_t stream) {
    if (count <= 0 || (!da && !db)) return;
    add_bwd_first_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(
        count, dy, mask, ratio_a, ratio_b, da, first_a, db, first_b);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_fused_gap_bwd_cuda(int n, int hw, int c, const float *dy, const uint8_t *mask, float r,
                                        float *dx, int first, cudaStream_t stream) {
    const int64_t count = (int64_t)n * hw * c;
    if (count <= 0) return;
    gap_bwd_first_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, hw, c, dy, mask,
                                                                                                r, dx, first);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_div_cuda(int64_t count, float *x, float div, cudaStream_t stream) {
    if (count <= 0) return;
    div_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, x, div);
    CUDA_CHECK_LAUNCH();
}

extern "C" void ratq_zero_cuda(int64_t count, float *dst, cudaStream_t stream) {
    if (count <= 0) return;
    zero_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, dst);
    CUDA_CHECK_LAUNCH();
}

// Number of non-finite values of x (integer atomics: the count is exact and order-free).
static __global__ void count_nonfinite_kernel(int64_t count, const float *x, unsigned long long *out) {
    int bad = 0;
    RATQ_GRID_STRIDE_LOOP(i, count) bad += !isfinite(x[i]);
    if (bad) atomicAdd(out, (unsigned long long)bad); // rare: only a diverged run
}

extern "C" void ratq_count_nonfinite_cuda(int64_t count, const float *x, unsigned long long *out, cudaStream_t stream) {
    if (count <= 0) return;
    count_nonfinite_kernel<<<ratq_grid_for(count, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(count, x, out);
    CUDA_CHECK_LAUNCH();
}
