// gemm_bwd_cuda.cu — the GEMM and column-sum building blocks of the CUDA backward ops, and the linear (FC)
// backward: twins of ratq_sgemm_cpu, ratq_colsum_cpu and ratq_linear_bwd_cpu (kernels/cpu/float_linear.c).
//
// cuBLAS: one handle per device, made on first use, math mode CUBLAS_DEFAULT_MATH (FP32 arithmetic, no TF32
// tensor cores), atomics mode left at its default CUBLAS_ATOMICS_NOT_ALLOWED. A mutex serializes
// cublasSetStream + cublasSgemm so that threads driving different streams do not race on the handle; the
// cuBLAS documentation guarantees bit-wise identical results for identical calls on the same architecture and
// SM count when a handle is not used by several streams at once (each call runs on one stream; set
// CUBLAS_WORKSPACE_CONFIG=:4096:8 if you interleave streams on one device and need reproducibility).
#include <cublas_v2.h>

#include <mutex>

#include "cuda/cuda_check.h"
#include "cuda/det_reduce.cuh"
#include "cuda/launch.cuh"
#include "cuda/train_elem.h"
#include "cuda/train_ops_cuda.h"

#define RATQ_MAX_DEVICES 64

static std::mutex g_blas_mutex;
static cublasHandle_t g_blas[RATQ_MAX_DEVICES];

// The handle of the current device (created on first use). Call with g_blas_mutex held.
static cublasHandle_t blas_handle(void) {
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    if (dev < 0 || dev >= RATQ_MAX_DEVICES) {
        fprintf(stderr, "ratq: %s:%d: CUDA device %d >= RATQ_MAX_DEVICES (%d)\n", __FILE__, __LINE__, dev,
                RATQ_MAX_DEVICES);
        exit(1);
    }
    if (!g_blas[dev]) {
        CUBLAS_CHECK(cublasCreate(&g_blas[dev]));
        CUBLAS_CHECK(cublasSetMathMode(g_blas[dev], CUBLAS_DEFAULT_MATH));
        CUBLAS_CHECK(cublasSetAtomicsMode(g_blas[dev], CUBLAS_ATOMICS_NOT_ALLOWED));
    }
    return g_blas[dev];
}

extern "C" void ratq_cuda_train_release(void) {
    std::lock_guard<std::mutex> lock(g_blas_mutex);
    int cur = 0;
    CUDA_CHECK(cudaGetDevice(&cur));
    for (int d = 0; d < RATQ_MAX_DEVICES; d++) {
        if (!g_blas[d]) continue;
        CUDA_CHECK(cudaSetDevice(d));
        CUBLAS_CHECK(cublasDestroy(g_blas[d]));
        g_blas[d] = NULL;
    }
    CUDA_CHECK(cudaSetDevice(cur));
}

extern "C" void ratq_sgemm_cuda(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                                const float *b, int ldb, float beta, float *c, int ldc, cudaStream_t stream) {
    if (m <= 0 || n <= 0) return; // nothing to write (as the CPU loops)
    const ratq_colmajor_gemm g = ratq_gemm_rowmajor_as_colmajor(trans_a, trans_b, m, n, k, a, lda, b, ldb, ldc);
    std::lock_guard<std::mutex> lock(g_blas_mutex);
    cublasHandle_t h = blas_handle();
    CUBLAS_CHECK(cublasSetStream(h, stream));
    CUBLAS_CHECK(cublasSgemm(h, g.transa ? CUBLAS_OP_T : CUBLAS_OP_N, g.transb ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n,
                             g.k, &alpha, g.a, g.lda, g.b, g.ldb, &beta, c, g.ldc));
}

extern "C" void ratq_sgemm_math_cuda(int math, int trans_a, int trans_b, int m, int n, int k, float alpha,
                                     const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc,
                                     cudaStream_t stream) {
    if (math == RATQ_GEMM_FP32) {
        ratq_sgemm_cuda(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
        return;
    }
    if (m <= 0 || n <= 0) return;
    const ratq_colmajor_gemm g = ratq_gemm_rowmajor_as_colmajor(trans_a, trans_b, m, n, k, a, lda, b, ldb, ldc);
    const cublasComputeType_t ct = math == RATQ_GEMM_BF16 ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F_FAST_TF32;
    std::lock_guard<std::mutex> lock(g_blas_mutex);
    cublasHandle_t h = blas_handle();
    CUBLAS_CHECK(cublasSetStream(h, stream));
    CUBLAS_CHECK(cublasGemmEx(h, g.transa ? CUBLAS_OP_T : CUBLAS_OP_N, g.transb ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n,
                              g.k, &alpha, g.a, CUDA_R_32F, g.lda, g.b, CUDA_R_32F, g.ldb, &beta, c, CUDA_R_32F, g.ldc,
                              ct, CUBLAS_GEMM_DEFAULT));
}

// Partial column sums: block (RATQ_DET_COLS, RATQ_DET_LANES), grid (ceil(c / COLS), parts). Lane
// l = blockIdx.y*LANES + threadIdx.y sums rows l, l + parts*LANES, ... of column j in double.
static __global__ void colsum_partial_kernel(int rows, int c, int ld, const float *x, int parts, double *part) {
    const int j = blockIdx.x * RATQ_DET_COLS + threadIdx.x;
    const int lane = blockIdx.y * RATQ_DET_LANES + threadIdx.y, nlanes = parts * RATQ_DET_LANES;
    double s = 0.0;
    if (j < c)
        for (int r = lane; r < rows; r += nlanes) s += x[(int64_t)r * ld + j];
    s = ratq_det_block_sum(s);
    if (threadIdx.y == 0 && j < c) part[(int64_t)blockIdx.y * c + j] = s;
}

extern "C" void ratq_colsum_cuda(int rows, int c, int ld, const float *x, float *out, cudaStream_t stream) {
    if (c <= 0) return;
    const int parts = ratq_det_parts(rows, 64); // >= 64 rows per lane
    double *part = NULL;
    CUDA_CHECK(cudaMallocAsync((void **)&part, sizeof(double) * parts * (size_t)c, stream));
    const dim3 block(RATQ_DET_COLS, RATQ_DET_LANES), grid((c + RATQ_DET_COLS - 1) / RATQ_DET_COLS, parts);
    colsum_partial_kernel<<<grid, block, 0, stream>>>(rows, c, ld, x, parts, part);
    CUDA_CHECK_LAUNCH();
    ratq_det_final_kernel<<<ratq_grid_for(c, RATQ_CUDA_BLOCK), RATQ_CUDA_BLOCK, 0, stream>>>(parts, c, part, out);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cudaFreeAsync(part, stream));
}

// Same GEMMs as ratq_linear_bwd_cpu:
//   dx[n][in]   = dy[n][out] . w[out][in]
//   dw[out][in] = dy^T[out][n] . x[n][in]
//   db[out]     = sum_n dy[n][out]
extern "C" void ratq_linear_bwd_cuda(const ratq_linear_params *p, const float *x, const float *w, const float *dy,
                                     float *dx, float *dw, float *db, cudaStream_t stream) {
    if (dx) ratq_sgemm_cuda(0, 0, p->n, p->in, p->out, 1.0f, dy, p->out, w, p->in, 0.0f, dx, p->in, stream);
    if (dw) ratq_sgemm_cuda(1, 0, p->out, p->in, p->n, 1.0f, dy, p->out, x, p->in, 0.0f, dw, p->in, stream);
    if (db) ratq_colsum_cuda(p->n, p->out, p->out, dy, db, stream);
}
