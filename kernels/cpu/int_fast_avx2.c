// int_fast_avx2.c — AVX2 kernels of the fast integer engine (int_fast_kernels.h); built with -mavx2 on x86 only and
// called only when the CPU reports AVX2 (int_fast.c). Products via vpmaddwd on int16 pairs: each product is formed
// in 32 bits and the pair sum a0*b0 + a1*b1 is exact in int32 for every operand the driver passes (|a|, |b| <= 2^15,
// not both -2^15; the driver's bound also caps the pair sum); accumulation by vpaddd, exact under the driver's bound.
#include "int_fast_kernels.h"

#ifdef __AVX2__
#include <immintrin.h>
#include <string.h>

#include "int_fast_epilogue.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// One MR x 16 tile of C: MR rows of A against one packed 16-column block of B.
ALWAYS_INLINE void gemm_tile(const int mr, int kpairs, const int16_t *A, int lda, const int16_t *B,
                             const int32_t *bias16, int32_t *C, int ldc, int nc) {
    __m256i acc[6][2];
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)bias16);
    const __m256i b1 = _mm256_loadu_si256((const __m256i *)(bias16 + 8));
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) acc[r][0] = b0, acc[r][1] = b1;
    for (int kp = 0; kp < kpairs; kp++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(B + (int64_t)kp * 32));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(B + (int64_t)kp * 32 + 16));
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            int32_t pair; // A[r][2kp], A[r][2kp + 1] as one 32-bit lane, broadcast
            memcpy(&pair, A + (int64_t)r * lda + 2 * kp, sizeof pair);
            const __m256i a = _mm256_set1_epi32(pair);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, w0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, w1));
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        int32_t *c = C + (int64_t)r * ldc;
        if (nc == 16) {
            _mm256_storeu_si256((__m256i *)c, acc[r][0]);
            _mm256_storeu_si256((__m256i *)(c + 8), acc[r][1]);
        } else {
            int32_t tmp[16];
            _mm256_storeu_si256((__m256i *)tmp, acc[r][0]);
            _mm256_storeu_si256((__m256i *)(tmp + 8), acc[r][1]);
            memcpy(c, tmp, (size_t)nc * sizeof(int32_t));
        }
    }
}

static void gemm_avx2(int M, int N, int kpairs, const int16_t *A, int lda, const int16_t *B, const int32_t *bias,
                      int32_t *C, int ldc) {
    for (int n0 = 0; n0 < N; n0 += RATQ_FAST_NR) {
        const int nc = N - n0 < RATQ_FAST_NR ? N - n0 : RATQ_FAST_NR;
        int32_t bias16[RATQ_FAST_NR] = {0};
        if (bias) memcpy(bias16, bias + n0, (size_t)nc * sizeof(int32_t));
        const int16_t *Bn = B + (int64_t)(n0 / RATQ_FAST_NR) * kpairs * 2 * RATQ_FAST_NR;
        int m = 0;
        for (; m + 6 <= M; m += 6) gemm_tile(6, kpairs, A + (int64_t)m * lda, lda, Bn, bias16, C + (int64_t)m * ldc + n0, ldc, nc);
        const int16_t *a = A + (int64_t)m * lda;
        int32_t *c = C + (int64_t)m * ldc + n0;
        switch (M - m) {
        case 5: gemm_tile(5, kpairs, a, lda, Bn, bias16, c, ldc, nc); break;
        case 4: gemm_tile(4, kpairs, a, lda, Bn, bias16, c, ldc, nc); break;
        case 3: gemm_tile(3, kpairs, a, lda, Bn, bias16, c, ldc, nc); break;
        case 2: gemm_tile(2, kpairs, a, lda, Bn, bias16, c, ldc, nc); break;
        case 1: gemm_tile(1, kpairs, a, lda, Bn, bias16, c, ldc, nc); break;
        default: break;
        }
    }
}

// 16 channels per step: bytes of taps 2p and 2p+1 interleaved (vpunpck{l,h}bw) and sign-extended give the int16
// pairs (x_2p[c], x_2p+1[c]); vpmaddwd against W[p][c][0..1] adds both taps' products into lane c.
static void depthwise_avx2(int C, int kpairs, const int8_t *const *taps, const int16_t *W, const int32_t *bias2,
                           int32_t *acc) {
    int c = 0;
    for (; c + 16 <= C; c += 16) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(bias2 + c));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(bias2 + c + 8));
        for (int p = 0; p < kpairs; p++) {
            const __m128i x0 = _mm_loadu_si128((const __m128i *)(taps[2 * p] + c));
            const __m128i x1 = _mm_loadu_si128((const __m128i *)(taps[2 * p + 1] + c));
            const int16_t *w = W + ((int64_t)p * C + c) * 2;
            const __m256i lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1));
            const __m256i hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(x0, x1));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(lo, _mm256_loadu_si256((const __m256i *)w)));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(hi, _mm256_loadu_si256((const __m256i *)(w + 16))));
        }
        _mm256_storeu_si256((__m256i *)(acc + c), a0);
        _mm256_storeu_si256((__m256i *)(acc + c + 8), a1);
    }
    for (; c < C; c++) {
        int32_t s = bias2[c];
        for (int p = 0; p < kpairs; p++) {
            const int16_t *w = W + ((int64_t)p * C + c) * 2;
            s += taps[2 * p][c] * w[0] + taps[2 * p + 1][c] * w[1];
        }
        acc[c] = s;
    }
}

const ratq_fast_kernels ratq_fast_kernels_avx2 = {"avx2", gemm_avx2, depthwise_avx2, ratq_fast_requant_rows};
#else
typedef int ratq_fast_avx2_unavailable; // not built for AVX2 (no -mavx2 on this target)
#endif
