// float_gemm.c — row-major SGEMM: OpenBLAS when available, else an OpenMP plain loop; plus the reference.
#include <stdio.h>
#include <stdlib.h>

#include "cpu/float_internal.h"
#include "cpu/float_ops.h"

#ifdef RATQ_HAVE_OPENBLAS
#include <cblas.h>
#endif

void *ratq_float_alloc(size_t bytes, const char *what) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) fprintf(stderr, "ratq: %s: out of memory (%zu bytes)\n", what, bytes);
    return p;
}

void ratq_colsum_cpu(int rows, int c, int ld, const float *x, float *out) {
    int nblk = (c + RATQ_CBLK - 1) / RATQ_CBLK;
    RATQ_OMP(parallel for schedule(static))
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * RATQ_CBLK, cb = c - c0 < RATQ_CBLK ? c - c0 : RATQ_CBLK;
        double acc[RATQ_CBLK] = {0};
        for (int r = 0; r < rows; r++) {
            const float *xr = x + (size_t)r * ld + c0;
            for (int j = 0; j < cb; j++) acc[j] += xr[j];
        }
        for (int j = 0; j < cb; j++) out[c0 + j] = (float)acc[j];
    }
}

// Element (i, p) of op(A) and (p, j) of op(B).
#define OPA(i, p) (trans_a ? a[(size_t)(p) * lda + (i)] : a[(size_t)(i) * lda + (p)])
#define OPB(p, j) (trans_b ? b[(size_t)(j) * ldb + (p)] : b[(size_t)(p) * ldb + (j)])

void ratq_sgemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) acc += (double)OPA(i, p) * (double)OPB(p, j);
            float r = alpha * (float)acc;
            c[(size_t)i * ldc + j] = beta == 0.0f ? r : r + beta * c[(size_t)i * ldc + j];
        }
    }
}

void ratq_sgemm_cpu(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
#ifdef RATQ_HAVE_OPENBLAS
    if (k > 0) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                    alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
    // Plain fallback: rows of C in parallel; C row = beta*C row, then rank-1 updates over p (B row access
    // contiguous when B is not transposed) or dot products (B transposed).
    RATQ_OMP(parallel for schedule(static))
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (trans_b) {
            for (int j = 0; j < n; j++) {
                const float *bj = b + (size_t)j * ldb;
                float acc = 0.0f;
                for (int p = 0; p < k; p++) acc += OPA(i, p) * bj[p];
                ci[j] = beta == 0.0f ? alpha * acc : alpha * acc + beta * ci[j];
            }
        } else {
            for (int j = 0; j < n; j++) ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
            for (int p = 0; p < k; p++) {
                float s = alpha * OPA(i, p);
                const float *bp = b + (size_t)p * ldb;
                for (int j = 0; j < n; j++) ci[j] += s * bp[j];
            }
        }
    }
}
