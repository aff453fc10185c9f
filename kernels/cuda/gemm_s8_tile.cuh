// gemm_s8_tile.cuh — the index and vector-width rules of the int8 GEMM (gemm_s8.cuh) as __host__ __device__
// functions: the kernel calls them per thread, and tests/cpu/test_cuda_gemm_tile_host.cu runs the same functions
// on the HOST for every thread of a block (no GPU): each tile element must be loaded, computed and stored exactly
// once, nothing outside the tile written, for every M, N, K and pointer alignment the launcher can meet.
//
// Block tile GEMM_BM x GEMM_BN outputs, K step GEMM_BKW words (4 int8 each), GEMM_THREADS threads = 8 warps as
// 4 (rows) x 2 (columns), each warp 32 x 32 outputs = 2 (mi) x 4 (ni) m16n8k32 tiles.
//
// Vector widths (bytes per global access), chosen on the host once per launch:
//   operand loads, VEC    16 if K % 16 == 0 and A, B 16-byte aligned (int4 of 4 words); 4 if K % 4 == 0 and
//                         4-byte aligned (one word); else 1 (byte loads). Row r of an operand starts at r*K, a
//                         chunk at word (c % CPR) * WPC, so both conditions make every load VEC-aligned, and
//                         k < K then implies k + VEC - 1 < K (no read past a row).
//   fused stores, out_vec the largest v in {16, 8, 4, 2} with N % v == 0 and out, mask v-byte aligned (NULL mask:
//                         aligned), else 1. Chunks start at (m0 + row)*N + n0 + off with n0 % 64 == 0 and
//                         off % v == 0, so every store is v-aligned; the valid columns of a tile, N - n0 or 64,
//                         are a multiple of v.
//   int32 stores, acc_vec 2 (an int2 of a lane's column pair 2t, 2t+1) if N is even and acc_out 8-byte aligned,
//                         else 1 (int32 each, the second only if its column exists). N even makes the pair's
//                         first column even, so the int2 is 8-byte aligned and its second column < N.
#ifndef RATQ_CUDA_GEMM_S8_TILE_CUH
#define RATQ_CUDA_GEMM_S8_TILE_CUH

#include <cuda_runtime.h> // int4 / int2 and make_int2 (host and device)
#include <stdint.h>

#include "math/rescale.h" // RATQ_HD

#define GEMM_BM 128                // rows (pixels) per block tile
#define GEMM_BN 64                 // columns (output channels) per block tile
#define GEMM_BKW 16                // K step in 32-bit words = 64 int8 (two m16n8k32 slices)
#define GEMM_LD (GEMM_BKW + 4)     // shared operand row stride in words: fragment loads hit 32 distinct banks
#define GEMM_THREADS 256           // 8 warps: 4 along rows x 2 along columns, warp tile 32 x 32
#define GEMM_OUT_LD (GEMM_BN + 16) // staged output row stride in bytes (16-byte aligned rows)
#define GEMM_MAX_K 131071          // K * 2^14 < 2^31: the int32 accumulation cannot overflow

// Loop unrolling in the device pass only (the host compiler does not know the pragma).
#ifdef __CUDA_ARCH__
#define GEMM_UNROLL _Pragma("unroll")
#else
#define GEMM_UNROLL
#endif

RATQ_HD bool gemm_aligned(const void *p, uintptr_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

// ---- vector widths (host side, once per launch) -------------------------------------------------------------
RATQ_HD int gemm_in_vec(int K, const void *A, const void *B) {
    if (K % 16 == 0 && gemm_aligned(A, 16) && gemm_aligned(B, 16)) return 16;
    if (K % 4 == 0 && gemm_aligned(A, 4) && gemm_aligned(B, 4)) return 4;
    return 1;
}

RATQ_HD int gemm_out_vec(int N, const void *out, const void *mask) {
    for (int v = 16; v > 1; v /= 2)
        if (N % v == 0 && gemm_aligned(out, v) && gemm_aligned(mask, v)) return v;
    return 1;
}

RATQ_HD int gemm_acc_vec(int N, const void *acc_out) { return N % 2 == 0 && gemm_aligned(acc_out, 8) ? 2 : 1; }

// ---- operand tile loads ---------------------------------------------------------------------------------------
// A ROWS x GEMM_BKW-word tile in chunks of WPC words (VEC = 16: 4 words, else 1); chunk c is row c / CPR, words
// (c % CPR) * WPC ..., so consecutive threads read consecutive bytes of a row. Thread tid takes chunks
// tid + p * GEMM_THREADS, p < gemm_load_per_thread.
RATQ_HD constexpr int gemm_load_wpc(int vec) { return vec == 16 ? 4 : 1; }
RATQ_HD constexpr int gemm_load_cpr(int vec) { return GEMM_BKW / gemm_load_wpc(vec); }
RATQ_HD constexpr int gemm_load_per_thread(int vec, int rows) { return rows * gemm_load_cpr(vec) / GEMM_THREADS; }

// Packed int8x4 word of base[row][k..k+3] (leading dimension K), byte b in bits 8b..8b+7 (little-endian, the
// MMA / dp4a operand layout); bytes at k+b >= K and rows >= rows read as 0. Byte loads (any K, any alignment).
RATQ_HD int gemm_load_word_bytes(const int8_t *base, int64_t rows, int K, int64_t row, int k) {
    if (row >= rows || k >= K) return 0;
    const int8_t *p = base + row * K + k;
    uint32_t word = 0;
    for (int b = 0; b < 4; b++)
        if (k + b < K) word |= (uint32_t)(uint8_t)p[b] << (8 * b);
    return (int)word;
}

// Global -> registers (fetch) -> shared (store) copy of a ROWS x GEMM_BKW-word tile of a K-contiguous operand,
// rows r0.., K offset k0 (a multiple of 4 * GEMM_BKW); out-of-range rows and k read as 0. smem is [ROWS][GEMM_LD].
template <int VEC, int ROWS>
struct gemm_tile_loader {
    static constexpr int WPC = gemm_load_wpc(VEC);
    static constexpr int CPR = gemm_load_cpr(VEC);
    static constexpr int PER_THREAD = gemm_load_per_thread(VEC, ROWS);
    static_assert(VEC == 16 || VEC == 4 || VEC == 1, "VEC is 16, 4 or 1 bytes");
    static_assert(ROWS * CPR % GEMM_THREADS == 0, "tile must divide among the threads");
    int w[PER_THREAD][WPC];

    __host__ __device__ __forceinline__ void fetch(const int8_t *base, int64_t rows, int K, int64_t r0, int k0,
                                                   int tid) {
GEMM_UNROLL
        for (int p = 0; p < PER_THREAD; p++) {
            const int c = tid + p * GEMM_THREADS;
            const int64_t row = r0 + c / CPR;
            const int k = k0 + (c % CPR) * WPC * 4;
            if constexpr (VEC == 16) {
                int4 v = make_int4(0, 0, 0, 0);
                if (row < rows && k < K) v = *(const int4 *)(base + row * K + k); // k + 15 < K as K % 16 == 0
                w[p][0] = v.x, w[p][1] = v.y, w[p][2] = v.z, w[p][3] = v.w;
            } else if constexpr (VEC == 4) {
                w[p][0] = (row < rows && k < K) ? *(const int *)(base + row * K + k) : 0; // k + 3 < K
            } else {
                w[p][0] = gemm_load_word_bytes(base, rows, K, row, k);
            }
        }
    }

    __host__ __device__ __forceinline__ void store(int *smem, int tid) const {
GEMM_UNROLL
        for (int p = 0; p < PER_THREAD; p++) {
            const int c = tid + p * GEMM_THREADS;
            int *dst = smem + (c / CPR) * GEMM_LD + (c % CPR) * WPC;
            if constexpr (WPC == 4)
                *(int4 *)dst = make_int4(w[p][0], w[p][1], w[p][2], w[p][3]);
            else
                dst[0] = w[p][0];
        }
    }
};

// ---- accumulator fragments ------------------------------------------------------------------------------------
// Thread tid (warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4) holds acc[mi][ni][2h + j] =
// C[row][col] of the block tile with (mma.m16n8k32 C fragment: row (i/2)*8 + g, column 2t + i%2)
//   row = wm + mi*16 + h*8 + g,   col = wn + ni*8 + 2t + j,   wm = (warp / 2) * 32, wn = (warp % 2) * 32.
RATQ_HD int gemm_acc_row(int tid, int mi, int h) { return ((tid / 32) / 2) * 32 + mi * 16 + h * 8 + (tid % 32) / 4; }
RATQ_HD int gemm_acc_col(int tid, int ni, int j) { return ((tid / 32) % 2) * 32 + ni * 8 + 2 * (tid % 4) + j; }

// ---- stores ---------------------------------------------------------------------------------------------------
// One chunk of out_vec bytes of the staged int8 tile ys (and mask tile ms) to out[dst] (and mask[dst], if any).
RATQ_HD void gemm_store_chunk(int out_vec, const int8_t *ys, const uint8_t *ms, int src, int8_t *out, uint8_t *mask,
                              int64_t dst) {
    switch (out_vec) {
    case 16:
        *(int4 *)(out + dst) = *(const int4 *)(ys + src);
        if (mask) *(int4 *)(mask + dst) = *(const int4 *)(ms + src);
        break;
    case 8:
        *(int2 *)(out + dst) = *(const int2 *)(ys + src);
        if (mask) *(int2 *)(mask + dst) = *(const int2 *)(ms + src);
        break;
    case 4:
        *(int *)(out + dst) = *(const int *)(ys + src);
        if (mask) *(int *)(mask + dst) = *(const int *)(ms + src);
        break;
    case 2:
        *(int16_t *)(out + dst) = *(const int16_t *)(ys + src);
        if (mask) *(int16_t *)(mask + dst) = *(const int16_t *)(ms + src);
        break;
    default:
        out[dst] = ys[src];
        if (mask) mask[dst] = ms[src];
    }
}

// Thread tid's share of the row-contiguous copy of the staged block tile (rows m0.., columns n0..; ys / ms are
// [GEMM_BM][GEMM_OUT_LD]) to out / mask [M][N]: chunks of out_vec bytes, consecutive threads take consecutive
// chunks of a row. Only the valid part (rows < M, columns < N) is written.
RATQ_HD void gemm_copy_staged(int tid, int64_t M, int N, int64_t m0, int n0, int out_vec, const int8_t *ys,
                              const uint8_t *ms, int8_t *out, uint8_t *mask) {
    const int rows = (int)(M - m0 < GEMM_BM ? M - m0 : GEMM_BM);
    const int cols = N - n0 < GEMM_BN ? N - n0 : GEMM_BN;
    const int cpr = cols / out_vec;
    for (int c = tid; c < rows * cpr; c += GEMM_THREADS) {
        const int row = c / cpr, off = (c % cpr) * out_vec;
        gemm_store_chunk(out_vec, ys, ms, row * GEMM_OUT_LD + off, out, mask, (m0 + row) * N + n0 + off);
    }
}

// A lane's pair of int32 accumulators, columns col and col + 1 of row dst's row, to acc_out[dst], acc_out[dst + 1]
// (the second only if second_valid); acc_vec 2: one int2 store (then col + 1 < N always).
RATQ_HD void gemm_store_acc_pair(int acc_vec, int32_t *acc_out, int64_t dst, int32_t v0, int32_t v1,
                                 bool second_valid) {
    if (acc_vec == 2) {
        *(int2 *)(acc_out + dst) = make_int2(v0, v1);
    } else {
        acc_out[dst] = v0;
        if (second_valid) acc_out[dst + 1] = v1;
    }
}

#endif
