// test_cuda_gemm_tile_host.cu — the index and vector-width logic of the int8 GEMM kernel (kernels/cuda/
// gemm_s8_tile.cuh) run on the HOST for every thread of a block (label cpu: compiled by nvcc, launches no kernel,
// needs no GPU). The kernel calls exactly these functions; what stays device-only is the MMA and the arithmetic,
// which tests/gpu/test_cuda_int_ops.cu checks against the CPU engine.
//   widths      gemm_in_vec / gemm_out_vec / gemm_acc_vec over N or K = 1..200 and every pointer alignment
//               0..31 (NULL mask too): the width divides N (K), the pointers are aligned to it, and no wider
//               legal width was passed over.
//   loads       gemm_tile_loader<VEC, ROWS>::fetch + store for all 256 threads, VEC 16 / 4 / 1 wherever legal, odd
//               and round K, row tails: every shared word equals the operand's bytes (0 past K and past the last
//               row), the padding words are untouched, and a read past an operand row or past the buffer (a
//               guard of 0x7F bytes follows it) would show as a wrong word.
//   fragments   gemm_acc_row / gemm_acc_col over all threads x (mi, ni, h, j) cover the 128 x 64 tile once each.
//   fused store the kernel's epilogue replayed per block: staged tile written through the fragment coordinates
//               (guards n < N, row < M), then gemm_copy_staged for every thread, with the launcher's out_vec, for
//               M and N around every tile and width boundary and out / mask offsets 0..16 (and a NULL mask): every
//               output and mask byte is the expected one and no byte outside [0, M*N) is touched. N % 4 == 2
//               with aligned buffers (out_vec 2, e.g. the 10-class FC) is among them.
//   int32 store the unfused epilogue's lane pairs through gemm_store_acc_pair with the launcher's acc_vec (N odd
//               and even, acc_out 8-byte aligned or not): every accumulator written, nothing outside.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/gemm_s8_tile.cuh"
#include "test_util.h"

static const int WIDTHS[] = {16, 8, 4, 2, 1};

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "test_cuda_gemm_tile_host: out of memory\n");
        exit(1);
    }
    return p;
}

// ---- widths -----------------------------------------------------------------------------------------------------
static void check_widths(void) {
    char *base = (char *)xmalloc(64);
    char *b16 = (char *)(((uintptr_t)base + 15) & ~(uintptr_t)15); // 16-byte aligned origin
    for (int N = 1; N <= 200; N++)
        for (int oo = 0; oo < 32; oo++)
            for (int mo = -1; mo < 32; mo++) { // mo = -1: NULL mask
                const void *out = b16 + oo, *mask = mo < 0 ? NULL : b16 + mo;
                const int v = gemm_out_vec(N, out, mask);
                int widest = 1;
                for (int i = 0; i < 4; i++)
                    if (N % WIDTHS[i] == 0 && gemm_aligned(out, WIDTHS[i]) && gemm_aligned(mask, WIDTHS[i])) {
                        widest = WIDTHS[i];
                        break;
                    }
                CHECK_MSG(v == widest && N % v == 0 && gemm_aligned(out, v) && gemm_aligned(mask, v),
                          "gemm_out_vec(N=%d, out+%d, mask+%d) = %d, widest legal %d", N, oo, mo, v, widest);
                const int a = gemm_acc_vec(N, out);
                CHECK_MSG(a == ((N % 2 == 0 && oo % 8 == 0) ? 2 : 1), "gemm_acc_vec(N=%d, acc+%d) = %d", N, oo, a);
                const int iv = gemm_in_vec(N, out, mask ? mask : out); // N as K
                const bool ok16 = N % 16 == 0 && oo % 16 == 0 && (mo < 0 ? oo : mo) % 16 == 0;
                const bool ok4 = N % 4 == 0 && oo % 4 == 0 && (mo < 0 ? oo : mo) % 4 == 0;
                CHECK_MSG(iv == (ok16 ? 16 : ok4 ? 4 : 1), "gemm_in_vec(K=%d, A+%d, B+%d) = %d", N, oo, mo, iv);
            }
    free(base);
}

// ---- operand tile loads -----------------------------------------------------------------------------------------
template <int VEC, int ROWS>
static void check_loader(uint64_t *st, int64_t rows, int K, int align_off) {
    const int64_t n = rows * (int64_t)K;
    int8_t *buf = (int8_t *)xmalloc((size_t)n + 64);
    int8_t *base = (int8_t *)((((uintptr_t)buf + 15) & ~(uintptr_t)15) + align_off);
    memset(buf, 0x7F, (size_t)n + 64); // guard bytes after the operand stay 0x7F
    for (int64_t i = 0; i < n; i++) base[i] = (int8_t)ratq_test_range(st, -128, 126); // never 0x7F
    int *smem = (int *)xmalloc(sizeof(int) * ROWS * GEMM_LD);
    long bad = 0;
    for (int64_t r0 = 0; r0 < rows; r0 += ROWS)
        for (int k0 = 0; k0 < K; k0 += 4 * GEMM_BKW) {
            for (int i = 0; i < ROWS * GEMM_LD; i++) smem[i] = (int)0xA5A5A5A5;
            for (int tid = 0; tid < GEMM_THREADS; tid++) {
                gemm_tile_loader<VEC, ROWS> ld;
                ld.fetch(base, rows, K, r0, k0, tid);
                ld.store(smem, tid);
            }
            for (int r = 0; r < ROWS; r++)
                for (int w = 0; w < GEMM_LD; w++) {
                    uint32_t want = 0xA5A5A5A5u; // padding words: untouched
                    if (w < GEMM_BKW) {
                        want = 0;
                        for (int b = 0; b < 4; b++) {
                            const int k = k0 + 4 * w + b;
                            if (r0 + r < rows && k < K) want |= (uint32_t)(uint8_t)base[(r0 + r) * K + k] << (8 * b);
                        }
                    }
                    if ((uint32_t)smem[r * GEMM_LD + w] != want && bad++ < 3)
                        fprintf(stderr, "  loader VEC=%d ROWS=%d rows=%lld K=%d r0=%lld k0=%d: word [%d][%d] = %08x, "
                                "want %08x\n", VEC, ROWS, (long long)rows, K, (long long)r0, k0, r, w,
                                (unsigned)smem[r * GEMM_LD + w], want);
                }
        }
    CHECK_MSG(bad == 0, "loader VEC=%d ROWS=%d rows=%lld K=%d +%d: %ld wrong shared words", VEC, ROWS,
              (long long)rows, K, align_off, bad);
    free(smem);
    free(buf);
}

static void check_loads(uint64_t *st) {
    static const int KS[] = {1, 3, 4, 12, 16, 27, 32, 48, 64, 80, 100, 144, 1152};
    static const int64_t ROWSN[] = {1, 7, 64, 100, 128, 200, 257};
    for (int ki = 0; ki < (int)(sizeof KS / sizeof KS[0]); ki++)
        for (int ri = 0; ri < (int)(sizeof ROWSN / sizeof ROWSN[0]); ri++) {
            const int K = KS[ki];
            const int64_t rows = ROWSN[ri];
            for (int off = 0; off < 16; off += (K % 4 == 0 ? 4 : 1)) {
                check_loader<1, GEMM_BM>(st, rows, K, off);
                check_loader<1, GEMM_BN>(st, rows, K, off);
                if (K % 4 == 0 && off % 4 == 0) {
                    check_loader<4, GEMM_BM>(st, rows, K, off);
                    check_loader<4, GEMM_BN>(st, rows, K, off);
                }
                if (K % 16 == 0 && off == 0) {
                    check_loader<16, GEMM_BM>(st, rows, K, off);
                    check_loader<16, GEMM_BN>(st, rows, K, off);
                }
            }
        }
}

// ---- accumulator fragments --------------------------------------------------------------------------------------
static void check_fragments(void) {
    static int hits[GEMM_BM][GEMM_BN];
    memset(hits, 0, sizeof hits);
    for (int tid = 0; tid < GEMM_THREADS; tid++)
        for (int mi = 0; mi < 2; mi++)
            for (int ni = 0; ni < 4; ni++)
                for (int h = 0; h < 2; h++)
                    for (int j = 0; j < 2; j++) {
                        const int r = gemm_acc_row(tid, mi, h), c = gemm_acc_col(tid, ni, j);
                        CHECK_MSG(r >= 0 && r < GEMM_BM && c >= 0 && c < GEMM_BN, "fragment (%d,%d) outside", r, c);
                        if (r >= 0 && r < GEMM_BM && c >= 0 && c < GEMM_BN) hits[r][c]++;
                        // the pair j = 0, 1 of a lane: adjacent columns, first one even (int2 stores)
                        if (j == 1) CHECK_MSG(c == gemm_acc_col(tid, ni, 0) + 1 && c % 2 == 1, "pair columns");
                    }
    long bad = 0;
    for (int r = 0; r < GEMM_BM; r++)
        for (int c = 0; c < GEMM_BN; c++) bad += hits[r][c] != 1;
    CHECK_MSG(bad == 0, "fragment coordinates: %ld of %d tile elements not covered exactly once", bad,
              GEMM_BM * GEMM_BN);
}

// ---- stores -----------------------------------------------------------------------------------------------------
// Expected values: never 0xFF (the poison of outputs and staging), distinct for output and mask.
static uint8_t want_y(int64_t r, int c) { return (uint8_t)((r * 131 + c * 17 + 5) % 255); }
static uint8_t want_m(int64_t r, int c) { return (uint8_t)((r * 7 + c * 29 + 3) % 255); }

// The fused epilogue of one launch, replayed on the host; out at offset oo, mask at mo (-1: NULL).
static void check_fused(int64_t M, int N, int oo, int mo) {
    const int64_t n = M * N, guard = 64;
    uint8_t *ob = (uint8_t *)xmalloc((size_t)(n + 2 * guard)), *mb = (uint8_t *)xmalloc((size_t)(n + 2 * guard));
    memset(ob, 0xFF, (size_t)(n + 2 * guard));
    memset(mb, 0xFF, (size_t)(n + 2 * guard));
    // 16-byte aligned origin inside the guard, then the offset
    int8_t *out = (int8_t *)((((uintptr_t)ob + 15) & ~(uintptr_t)15) + 16 + oo);
    uint8_t *mask = mo < 0 ? NULL : (uint8_t *)((((uintptr_t)mb + 15) & ~(uintptr_t)15) + 16 + mo);
    const int out_vec = gemm_out_vec(N, out, mask);
    int8_t *ys = (int8_t *)xmalloc(GEMM_BM * GEMM_OUT_LD + 16);
    uint8_t *ms = (uint8_t *)xmalloc(GEMM_BM * GEMM_OUT_LD + 16);
    const int n_tiles = (N + GEMM_BN - 1) / GEMM_BN;
    const int64_t blocks = (M + GEMM_BM - 1) / GEMM_BM * n_tiles;
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t m0 = blk / n_tiles * GEMM_BM;
        const int n0 = (int)(blk % n_tiles) * GEMM_BN;
        memset(ys, 0xFF, GEMM_BM * GEMM_OUT_LD);
        memset(ms, 0xFF, GEMM_BM * GEMM_OUT_LD);
        for (int tid = 0; tid < GEMM_THREADS; tid++) // staging, with the kernel's guards
            for (int ni = 0; ni < 4; ni++)
                for (int j = 0; j < 2; j++) {
                    const int col = gemm_acc_col(tid, ni, j);
                    if (n0 + col >= N) continue;
                    for (int mi = 0; mi < 2; mi++)
                        for (int h = 0; h < 2; h++) {
                            const int row = gemm_acc_row(tid, mi, h);
                            if (m0 + row >= M) continue;
                            ys[row * GEMM_OUT_LD + col] = (int8_t)want_y(m0 + row, n0 + col);
                            ms[row * GEMM_OUT_LD + col] = want_m(m0 + row, n0 + col);
                        }
                }
        for (int tid = 0; tid < GEMM_THREADS; tid++) gemm_copy_staged(tid, M, N, m0, n0, out_vec, ys, ms, out, mask);
    }
    long bad_y = 0, bad_m = 0, outside = 0;
    for (int64_t i = 0; i < n; i++) {
        const int64_t r = i / N;
        const int c = (int)(i % N);
        bad_y += (uint8_t)out[i] != want_y(r, c);
        if (mask) bad_m += mask[i] != want_m(r, c);
    }
    for (uint8_t *p = ob; p < ob + n + 2 * guard; p++)
        if (p < (uint8_t *)out || p >= (uint8_t *)out + n) outside += *p != 0xFF;
    for (uint8_t *p = mb; mask && p < mb + n + 2 * guard; p++)
        if (p < mask || p >= mask + n) outside += *p != 0xFF;
    if (!mask)
        for (int64_t i = 0; i < n + 2 * guard; i++) outside += mb[i] != 0xFF;
    CHECK_MSG(bad_y == 0 && bad_m == 0 && outside == 0,
              "fused store M=%lld N=%d out+%d mask%+d (out_vec %d): %ld outputs, %ld mask bytes wrong, %ld bytes "
              "outside written", (long long)M, N, oo, mo, out_vec, bad_y, bad_m, outside);
    free(ys), free(ms), free(ob), free(mb);
}

// The unfused (int32) epilogue of one launch replayed on the host; acc_out at element offset eo.
static void check_acc(int64_t M, int N, int eo) {
    const int64_t n = M * N, guard = 16;
    int32_t *buf = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(n + 2 * guard + 4));
    int32_t *acc = (int32_t *)((((uintptr_t)buf + 15) & ~(uintptr_t)15)) + guard + eo;
    int32_t *lo = buf, *hi = buf + n + 2 * guard + 4;
    for (int32_t *p = lo; p < hi; p++) *p = INT32_MIN;
    const int acc_vec = gemm_acc_vec(N, acc);
    const int n_tiles = (N + GEMM_BN - 1) / GEMM_BN;
    const int64_t blocks = (M + GEMM_BM - 1) / GEMM_BM * n_tiles;
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t m0 = blk / n_tiles * GEMM_BM;
        const int n0 = (int)(blk % n_tiles) * GEMM_BN;
        for (int tid = 0; tid < GEMM_THREADS; tid++)
            for (int ni = 0; ni < 4; ni++) {
                const int col = gemm_acc_col(tid, ni, 0);
                if (n0 + col >= N) continue;
                for (int mi = 0; mi < 2; mi++)
                    for (int h = 0; h < 2; h++) {
                        const int row = gemm_acc_row(tid, mi, h);
                        if (m0 + row >= M) continue;
                        const int64_t r = m0 + row;
                        const int c = n0 + col;
                        gemm_store_acc_pair(acc_vec, acc, r * N + c, (int32_t)(r * 1000 + c),
                                            (int32_t)(r * 1000 + c + 1), c + 1 < N);
                    }
            }
    }
    long bad = 0, outside = 0;
    for (int64_t i = 0; i < n; i++) bad += acc[i] != (int32_t)(i / N * 1000 + i % N);
    for (int32_t *p = lo; p < hi; p++)
        if (p < acc || p >= acc + n) outside += *p != INT32_MIN;
    CHECK_MSG(bad == 0 && outside == 0, "int32 store M=%lld N=%d acc+%d (acc_vec %d): %ld wrong, %ld outside",
              (long long)M, N, eo, acc_vec, bad, outside);
    free(buf);
}

static void check_stores(void) {
    static const int64_t MS[] = {1, 5, 127, 128, 129, 300};
    static const int NS[] = {1, 2, 3, 4, 6, 8, 10, 12, 16, 18, 24, 30, 32, 40, 62, 63, 64, 65, 66, 80, 96, 100, 130,
                             144, 1000, 1001};
    for (int mi = 0; mi < (int)(sizeof MS / sizeof MS[0]); mi++)
        for (int ni = 0; ni < (int)(sizeof NS / sizeof NS[0]); ni++) {
            const int64_t M = MS[mi];
            const int N = NS[ni];
            for (int oo = 0; oo <= 16; oo++) {
                check_fused(M, N, oo, oo);  // out and mask equally aligned (the usual case)
                check_fused(M, N, oo, -1);  // inference form: no mask
                check_fused(M, N, oo, (oo + 2) % 17); // mask less / more aligned than out
            }
            for (int eo = 0; eo < 4; eo++) check_acc(M, N, eo);
        }
    // The case of the out_vec = 2 bug: N % 4 == 2, both buffers aligned (the tiny network's 10-class FC).
    char *b = (char *)xmalloc(64);
    char *a16 = (char *)(((uintptr_t)b + 15) & ~(uintptr_t)15);
    CHECK_EQ_I64(gemm_out_vec(10, a16, a16 + 32), 2, "FC 64->10, aligned: out_vec");
    CHECK_EQ_I64(gemm_out_vec(18, a16, NULL), 2, "1x1 conv to 18 channels, no mask: out_vec");
    free(b);
}

int main(void) {
    uint64_t st = 11;
    check_widths();
    check_fragments();
    check_loads(&st);
    check_stores();
    return ratq_test_finish("test_cuda_gemm_tile_host");
}
