// gemm_s8.cuh — the int8 tensor-core GEMM behind the 1x1 conv and the fully connected layer (included by
// conv_cuda.cu only):
//     C[M][N] = A[M][K] . B[N][K]^T   (+ bias, offsets), then the fused epilogue or an int32 store.
// A = activations (1x1 NHWC: row = pixel, K = in_c; FC: row = image, K = depth), B = weights [out_c][K]; both are
// K-contiguous, which is the "row.col" operand order of the MMA below.
//
// Tiling: block tile 128 (rows) x 64 (columns), K step 64 int8; 256 threads = 8 warps as 4 x 2, each warp a
// 32 x 32 tile = 2 x 4 mma.sync.m16n8k32 (s8 x s8 -> s32) per 32-deep K slice. Global -> register -> shared with
// one step of register prefetch (the next K step is in flight while the current one is multiplied). Each block
// reads its A tile exactly once per K step. Fused epilogue: every thread applies the functor to its 32
// accumulators and writes int8 y and the uint8 mask into a shared-memory tile, which the block then stores with
// 16-byte (or 8/4/2/1-byte, depending on N and alignment) row-contiguous writes. The index and vector-width rules
// (tile loads, fragment coordinates, stores, the launcher's choice of widths) are in gemm_s8_tile.cuh, checked on
// the host by tests/cpu/test_cuda_gemm_tile_host.cu.
//
// Exactness: see conv_cuda.cu. The MMA adds products |x*w| <= 2^14 in int32; with K <= GEMM_MAX_K every partial
// sum of a subset of them is below K * 2^14 < 2^31, so no accumulation order can overflow. Zero padding (rows
// >= M, columns >= N, k >= K) contributes 0. Row sums X (per pixel) and column sums W (per output channel) are
// dp4a against 0x01010101 over the same shared tiles, only when an offset is non-zero.
//
// Fragment layouts of mma.m16n8k32.row.col.s32.s8.s8.s32 (PTX ISA; lane = 4*g + t within the warp, g = lane/4,
// t = lane%4; "word" = 4 consecutive int8 along K):
//   A (16 x 32): a[i], i = 0..3: row (i%2)*8 + g, word (i/2)*4 + t
//   B (32 x 8):  b[i], i = 0..1: column g,         word i*4 + t
//   C (16 x 8):  c[i], i = 0..3: row (i/2)*8 + g,  column 2t + i%2
#ifndef RATQ_CUDA_GEMM_S8_CUH
#define RATQ_CUDA_GEMM_S8_CUH

#include <stdint.h>

#include "cuda/cuda_check.h"
#include "cuda/epilogue.cuh"
#include "cuda/gemm_s8_tile.cuh"

// D = A . B + C on one 16 x 8 x 32 tile (one warp, fragments as in the header comment).
__device__ __forceinline__ void gemm_mma_m16n8k32(int (&c)[4], const int (&a)[4], const int (&b)[2]) {
#if defined(__CUDA_ARCH__)
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// out_vec: bytes per store, FUSED: gemm_out_vec (16/8/4/2/1), !FUSED: gemm_acc_vec (2: int2 column pairs, or 1).
template <int VEC, bool OFFSETS, bool FUSED>
__global__ void __launch_bounds__(GEMM_THREADS, 2) // <= 128 registers: two blocks per SM
    gemm_s8_kernel(int64_t M, int N, int K, const int8_t *A, const int8_t *B, int32_t io, int32_t fo,
                   const int32_t *bias, ratq_epilogue_params ep, int out_vec, int8_t *out, uint8_t *mask,
                   int32_t *acc_out) {
    __shared__ __align__(16) int As[GEMM_BM * GEMM_LD];
    __shared__ __align__(16) int Bs[GEMM_BN * GEMM_LD];
    __shared__ int row_sum[GEMM_BM], col_sum[GEMM_BN];
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int g = lane / 4, t = lane % 4;
    const int wm = (warp / 2) * 32, wn = (warp % 2) * 32; // warp tile origin inside the block tile
    const unsigned n_tiles = (unsigned)((N + GEMM_BN - 1) / GEMM_BN);
    const int64_t m0 = (int64_t)(blockIdx.x / n_tiles) * GEMM_BM;
    const int n0 = (int)(blockIdx.x % n_tiles) * GEMM_BN;

    int acc[2][4][4];
#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
            for (int i = 0; i < 4; i++) acc[mi][ni][i] = 0;
    int my_sum = 0; // OFFSETS: threads 0..127 sum row tid of A, threads 128..191 column tid-128 of B

    gemm_tile_loader<VEC, GEMM_BM> la;
    gemm_tile_loader<VEC, GEMM_BN> lb;
    la.fetch(A, M, K, m0, 0, tid);
    lb.fetch(B, N, K, n0, 0, tid);
    for (int k0 = 0; k0 < K; k0 += 4 * GEMM_BKW) {
        la.store(As, tid);
        lb.store(Bs, tid);
        __syncthreads();
        if (k0 + 4 * GEMM_BKW < K) { // prefetch the next K step while this one is multiplied
            la.fetch(A, M, K, m0, k0 + 4 * GEMM_BKW, tid);
            lb.fetch(B, N, K, n0, k0 + 4 * GEMM_BKW, tid);
        }
        if (OFFSETS && tid < GEMM_BM + GEMM_BN) {
            const int *src = tid < GEMM_BM ? As + tid * GEMM_LD : Bs + (tid - GEMM_BM) * GEMM_LD;
#pragma unroll
            for (int kw = 0; kw < GEMM_BKW; kw++) my_sum = __dp4a(src[kw], 0x01010101, my_sum);
        }
#pragma unroll
        for (int ks = 0; ks < GEMM_BKW; ks += 8) { // two 32-deep slices
            int a[2][4], b[4][2];
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int i = 0; i < 4; i++)
                    a[mi][i] = As[(wm + mi * 16 + (i % 2) * 8 + g) * GEMM_LD + ks + (i / 2) * 4 + t];
#pragma unroll
            for (int ni = 0; ni < 4; ni++)
#pragma unroll
                for (int i = 0; i < 2; i++) b[ni][i] = Bs[(wn + ni * 8 + g) * GEMM_LD + ks + i * 4 + t];
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++) gemm_mma_m16n8k32(acc[mi][ni], a[mi], b[ni]);
        }
        __syncthreads();
    }
    if (OFFSETS) {
        if (tid < GEMM_BM) row_sum[tid] = my_sum;
        else if (tid < GEMM_BM + GEMM_BN) col_sum[tid - GEMM_BM] = my_sum;
        __syncthreads();
    }

    // Epilogue. This thread's columns: wn + ni*8 + 2t + j (j = 0, 1); rows: wm + mi*16 + h*8 + g (h = 0, 1);
    // accumulator acc[mi][ni][2h + j]. Column constants (bias + io*W + K*io*fo, rescaler) are loaded per column
    // in the outer loops so that few are live at once.
    if (FUSED) {
        __shared__ __align__(16) int8_t ys[GEMM_BM * GEMM_OUT_LD];
        __shared__ __align__(16) uint8_t ms[GEMM_BM * GEMM_OUT_LD];
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const int col = gemm_acc_col(tid, ni, j), n = n0 + col;
                if (n >= N) continue;
                int64_t col_const = bias ? bias[n] : 0;
                if (OFFSETS) col_const += (int64_t)io * col_sum[col] + (int64_t)K * io * fo;
                const ratq_rescale r = ratq_epilogue_rescale(&ep, n);
#pragma unroll
                for (int mi = 0; mi < 2; mi++)
#pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const int row = gemm_acc_row(tid, mi, h);
                        if (m0 + row >= M) continue;
                        const int64_t row_const = OFFSETS ? (int64_t)fo * row_sum[row] : 0;
                        const int32_t v = ratq_sat_i32(col_const + row_const + acc[mi][ni][2 * h + j]);
                        uint8_t mk;
                        ys[row * GEMM_OUT_LD + col] = ratq_epilogue_apply_r(&ep, v, r, &mk);
                        ms[row * GEMM_OUT_LD + col] = mk;
                    }
            }
        __syncthreads();
        // Row-contiguous copy of the valid part of the tile in chunks of out_vec bytes (gemm_s8_tile.cuh).
        gemm_copy_staged(tid, M, N, m0, n0, out_vec, ys, ms, out, mask);
    } else {
        // int32 accumulators straight from the fragments: a lane holds 2 adjacent columns of a row, 4 lanes
        // 8 columns = 32 contiguous bytes.
#pragma unroll
        for (int ni = 0; ni < 4; ni++) {
            const int col = gemm_acc_col(tid, ni, 0);
            if (n0 + col >= N) continue;
            int64_t col_const[2];
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const int n = n0 + col + j;
                col_const[j] = 0;
                if (n < N) {
                    col_const[j] = bias ? bias[n] : 0;
                    if (OFFSETS) col_const[j] += (int64_t)io * col_sum[col + j] + (int64_t)K * io * fo;
                }
            }
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int row = gemm_acc_row(tid, mi, h);
                    if (m0 + row >= M) continue;
                    const int64_t row_const = OFFSETS ? (int64_t)fo * row_sum[row] : 0;
                    int32_t v[2];
#pragma unroll
                    for (int j = 0; j < 2; j++) v[j] = ratq_sat_i32(col_const[j] + row_const + acc[mi][ni][2 * h + j]);
                    gemm_store_acc_pair(out_vec, acc_out, (m0 + row) * N + n0 + col, v[0], v[1], n0 + col + 1 < N);
                }
        }
    }
}

template <int VEC, bool OFFSETS>
static void gemm_launch_t(bool fused, unsigned blocks, int64_t M, int N, int K, const int8_t *A, const int8_t *B,
                          int32_t io, int32_t fo, const int32_t *bias, const ratq_epilogue_params &ep, int out_vec,
                          int8_t *out, uint8_t *mask, int32_t *acc_out, cudaStream_t stream) {
    if (fused)
        gemm_s8_kernel<VEC, OFFSETS, true><<<blocks, GEMM_THREADS, 0, stream>>>(M, N, K, A, B, io, fo, bias, ep,
                                                                                out_vec, out, mask, acc_out);
    else
        gemm_s8_kernel<VEC, OFFSETS, false><<<blocks, GEMM_THREADS, 0, stream>>>(M, N, K, A, B, io, fo, bias, ep,
                                                                                 out_vec, out, mask, acc_out);
    CUDA_CHECK_LAUNCH();
}

template <int VEC>
static void gemm_launch_v(bool offsets, bool fused, unsigned blocks, int64_t M, int N, int K, const int8_t *A,
                          const int8_t *B, int32_t io, int32_t fo, const int32_t *bias,
                          const ratq_epilogue_params &ep, int out_vec, int8_t *out, uint8_t *mask, int32_t *acc_out,
                          cudaStream_t stream) {
    if (offsets)
        gemm_launch_t<VEC, true>(fused, blocks, M, N, K, A, B, io, fo, bias, ep, out_vec, out, mask, acc_out, stream);
    else
        gemm_launch_t<VEC, false>(fused, blocks, M, N, K, A, B, io, fo, bias, ep, out_vec, out, mask, acc_out, stream);
}

// Host side: C = A . B^T for M x N outputs, depth K <= GEMM_MAX_K (callers check). fused: int8 out (+ mask)
// through ep; else int32 acc_out.
static void gemm_s8_launch(bool fused, int64_t M, int N, int K, const int8_t *A, const int8_t *B, int32_t io,
                           int32_t fo, const int32_t *bias, const ratq_epilogue_params &ep, int8_t *out,
                           uint8_t *mask, int32_t *acc_out, cudaStream_t stream) {
    if (M <= 0 || N <= 0) return;
    const int64_t blocks = ((M + GEMM_BM - 1) / GEMM_BM) * ((N + GEMM_BN - 1) / GEMM_BN);
    if (blocks > INT32_MAX) {
        fprintf(stderr, "ratq: %s:%d: GEMM of %lld x %d outputs exceeds the grid limit\n", __FILE__, __LINE__,
                (long long)M, N);
        exit(1);
    }
    const bool offsets = io != 0 || fo != 0;
    const int out_vec = fused ? gemm_out_vec(N, out, mask) : gemm_acc_vec(N, acc_out);
    const unsigned nb = (unsigned)blocks;
    const int in_vec = gemm_in_vec(K, A, B);
    if (in_vec == 16)
        gemm_launch_v<16>(offsets, fused, nb, M, N, K, A, B, io, fo, bias, ep, out_vec, out, mask, acc_out, stream);
    else if (in_vec == 4)
        gemm_launch_v<4>(offsets, fused, nb, M, N, K, A, B, io, fo, bias, ep, out_vec, out, mask, acc_out, stream);
    else
        gemm_launch_v<1>(offsets, fused, nb, M, N, K, A, B, io, fo, bias, ep, out_vec, out, mask, acc_out, stream);
}

#endif
