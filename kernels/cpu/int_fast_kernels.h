// int_fast_kernels.h — the inner kernels of the fast integer engine (int_fast.h), one table per instruction set:
// int_fast_c.c (portable C), int_fast_avx2.c (AVX2) and int_fast_vnni.c (the same with AVX512-VNNI's vpdpwssd),
// the last two compiled for their instruction sets and chosen at run time. The driver
// int_fast.c packs, gathers, splits the work and calls these. Every kernel is exact under the bounds that the
// driver checks (int_fast.h): all int32 sums below never overflow.
#ifndef RATQ_CPU_INT_FAST_KERNELS_H
#define RATQ_CPU_INT_FAST_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "int_ops.h"

#define RATQ_FAST_NR 16 // GEMM output channels per packed block

typedef struct {
    const char *name;
    // C[m][n] = bias[n] + sum_{k < 2*kpairs} A[m][k] * B[n][k]   for m < M, n < N.
    //   A int16 [M][lda], B packed [ceil(N/16)][kpairs][16][2] (B[n][2kp + e] at ((n/16)*kpairs + kp)*32 + (n%16)*2
    //   + e, zero past N), bias [N] or NULL (= 0), C int32 [M][ldc].
    void (*gemm)(int M, int N, int kpairs, const int16_t *A, int lda, const int16_t *B, const int32_t *bias,
                 int32_t *C, int ldc);
    // Depthwise, one output pixel: acc[c] = bias2[c] + sum_{p < kpairs} x_{2p}[c] * W[p][c][0] + x_{2p+1}[c] * W[p][c][1]
    //   taps [2*kpairs] int8 row pointers (channel c at taps[t][c]), W int16 [kpairs][C][2], acc int32 [C].
    void (*depthwise)(int C, int kpairs, const int8_t *const *taps, const int16_t *W, const int32_t *bias2,
                      int32_t *acc);
    // dst[i] = src[i] + offset (int8 -> int16; the caller keeps the sum within int16), i < n: im2col's row copy.
    void (*widen)(const int8_t *src, int n, int32_t offset, int16_t *dst);
    // The output stage over [rows][n] accumulators: out[r][c] = ratq_requantize(acc[r][c], rescale of channel c, ...)
    // (math/rescale.h), with per-channel constants prepared once per op: plan_bytes(n) bytes (32-byte aligned),
    // filled by prepare(rq, n, plan).
    size_t (*plan_bytes)(int n);
    void (*prepare)(const ratq_requant_s8 *rq, int n, void *plan);
    void (*requant)(const void *plan, const int32_t *acc, int64_t rows, int n, const ratq_requant_s8 *rq, int8_t *out);
} ratq_fast_kernels;

extern const ratq_fast_kernels ratq_fast_kernels_c;
#ifdef RATQ_FAST_AVX2
extern const ratq_fast_kernels ratq_fast_kernels_avx2;
extern const ratq_fast_kernels ratq_fast_kernels_vnni;
#endif

#endif
