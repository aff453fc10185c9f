// test_float_gemm.c — ratq_sgemm_cpu vs ratq_sgemm_ref for all transpose combinations, alpha/beta,
// padded leading dimensions and beta == 0 not reading C. Built twice by tests/float_ops.cmake:
// test_float_gemm (OpenBLAS when available) and test_float_gemm_plain (the no-OpenBLAS fallback loop).
#include "cpu/float_ops.h"
#include "cpu/test_float_util.h"

static int one_case(int ta, int tb, int m, int n, int k, float alpha, float beta, int pad) {
    const int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    const size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb, nc = (size_t)m * ldc;
    float *a = tf_rand(na, -1, 1), *b = tf_rand(nb, -1, 1), *c0 = tf_rand(nc, -1, 1);
    float *aa = tf_abs_copy(a, na), *ab = tf_abs_copy(b, nb), *ac = tf_abs_copy(c0, nc);
    float *cr = tf_alloc(nc), *cf = tf_alloc(nc);
    memcpy(cr, c0, sizeof(float) * nc), memcpy(cf, c0, sizeof(float) * nc);
    if (beta == 0.0f) // beta == 0 must not read C: poison the fast version's C with NaN
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) cf[(size_t)i * ldc + j] = NAN;
    ratq_sgemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cr, ldc);
    ratq_sgemm_cpu(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cf, ldc);
    // S = |alpha| * sum_p |a||b| + |beta| * |c|, the sum of magnitudes; bound (K+3) * 2^-24 * S with K = k + 2
    // (k products, the alpha scaling and the beta term).
    ratq_sgemm_ref(ta, tb, m, n, k, fabsf(alpha), aa, lda, ab, ldb, fabsf(beta), ac, ldc);
    int bad = 0;
    for (int i = 0; i < m; i++) { // compare the m x n block only; the padding columns must be untouched
        char name[96];
        snprintf(name, sizeof name, "sgemm ta %d tb %d m %d n %d k %d alpha %g beta %g row %d", ta, tb, m, n, k, alpha, beta, i);
        bad += tf_close_sum(name, cf + (size_t)i * ldc, cr + (size_t)i * ldc, ac + (size_t)i * ldc, n, k + 2);
        if (bad) break;
        for (int j = n; j < ldc; j++)
            if (cf[(size_t)i * ldc + j] != c0[(size_t)i * ldc + j]) {
                fprintf(stderr, "FAIL sgemm wrote padding column C[%d][%d]\n", i, j);
                bad++;
            }
    }
    free(a), free(b), free(c0), free(aa), free(ab), free(ac), free(cr), free(cf);
    return bad;
}

int main(void) {
    tf_seed(20240604);
    int bad = 0;
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            bad += one_case(ta, tb, 37, 29, 53, 1.0f, 0.0f, 0);
            bad += one_case(ta, tb, 64, 48, 300, 1.0f, 1.0f, 3);
            bad += one_case(ta, tb, 5, 70, 9, 2.0f, 0.5f, 1);
            bad += one_case(ta, tb, 1, 1, 1, -1.0f, 0.0f, 0);
            bad += one_case(ta, tb, 200, 3, 27, 1.0f, 0.0f, 2);
        }
    if (bad) {
        fprintf(stderr, "test_float_gemm: FAIL (%d)\n", bad);
        return 1;
    }
#ifdef RATQ_HAVE_OPENBLAS
    printf("test_float_gemm: OK (OpenBLAS)\n");
#else
    printf("test_float_gemm: OK (plain loop)\n");
#endif
    return 0;
}
