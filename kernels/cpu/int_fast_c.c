// int_fast_c.c — portable C kernels of the fast integer engine (int_fast_kernels.h): the packed layouts of the AVX2
// kernels, plain loops over them (the compiler may vectorize). Exact int32 sums under the driver's bounds.
#include <string.h>

#include "int_fast_epilogue.h"
#include "int_fast_kernels.h"

static void gemm_c(int M, int N, int kpairs, const int16_t *A, int lda, const int16_t *B, const int32_t *bias,
                   int32_t *C, int ldc) {
    for (int n0 = 0; n0 < N; n0 += RATQ_FAST_NR) {
        const int nc = N - n0 < RATQ_FAST_NR ? N - n0 : RATQ_FAST_NR;
        const int16_t *Bn = B + (int64_t)(n0 / RATQ_FAST_NR) * kpairs * 2 * RATQ_FAST_NR;
        for (int m = 0; m < M; m++) {
            const int16_t *a = A + (int64_t)m * lda;
            int32_t s[RATQ_FAST_NR];
            for (int j = 0; j < RATQ_FAST_NR; j++) s[j] = bias && j < nc ? bias[n0 + j] : 0;
            for (int kp = 0; kp < kpairs; kp++) {
                const int32_t a0 = a[2 * kp], a1 = a[2 * kp + 1];
                const int16_t *b = Bn + (int64_t)kp * 2 * RATQ_FAST_NR;
                for (int j = 0; j < RATQ_FAST_NR; j++) s[j] += a0 * b[2 * j] + a1 * b[2 * j + 1];
            }
            memcpy(C + (int64_t)m * ldc + n0, s, (size_t)nc * sizeof(int32_t));
        }
    }
}

static void depthwise_c(int C, int kpairs, const int8_t *const *taps, const int16_t *W, const int32_t *bias2,
                        int32_t *acc) {
    memcpy(acc, bias2, (size_t)C * sizeof(int32_t));
    for (int p = 0; p < kpairs; p++) {
        const int8_t *x0 = taps[2 * p], *x1 = taps[2 * p + 1];
        const int16_t *w = W + (int64_t)p * C * 2;
        for (int c = 0; c < C; c++) acc[c] += x0[c] * w[2 * c] + x1[c] * w[2 * c + 1];
    }
}

static void widen_c(const int8_t *src, int n, int32_t offset, int16_t *dst) {
    for (int i = 0; i < n; i++) dst[i] = (int16_t)(src[i] + offset);
}

static size_t plan_bytes_c(int n) {
    (void)n;
    return 0;
}

static void prepare_c(const ratq_requant_s8 *rq, int n, void *plan) { (void)rq, (void)n, (void)plan; }

static void requant_c(const void *plan, const int32_t *acc, int64_t rows, int n, const ratq_requant_s8 *rq, int8_t *out) {
    (void)plan;
    ratq_fast_requant_rows(acc, rows, n, rq, out);
}

const ratq_fast_kernels ratq_fast_kernels_c = {"c", gemm_c, depthwise_c, widen_c, plan_bytes_c, prepare_c, requant_c};
