// int_fast_avx2.c — AVX2 kernels of the fast integer engine (int_fast_kernels.h); built with -mavx2 on x86 only and
// called only when the CPU reports AVX2 (int_fast.c). Products via vpmaddwd on int16 pairs: each product is formed
// in 32 bits and the pair sum a0*b0 + a1*b1 is exact in int32 for every operand the driver passes (|a|, |b| <= 2^15,
// not both -2^15; the driver's bound also caps the pair sum); accumulation by vpaddd, exact under the driver's bound.
#include "int_fast_kernels.h"

#ifdef __AVX2__
#include <immintrin.h>
#include <string.h>


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

static void widen_avx2(const int8_t *src, int n, int32_t offset, int16_t *dst) {
    const __m256i off = _mm256_set1_epi16((int16_t)offset);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm256_add_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src + i))), off));
    for (; i < n; i++) dst[i] = (int16_t)(src[i] + offset);
}

// ---- output stage ------------------------------------------------------------------------------------------
// 8 channels x all rows at a time, for the channels where math/rescale.h's arithmetic is one 64-bit product and
// shifts (the others, and the last n % 8 channels, go through ratq_requantize itself):
//   single    (s >= 1): q = (p + 2^(s-1)) >> s,                 p = acc * m
//   half_even (s >= 1): q = (p + 2^(s-1) - 1 + bit_s(p)) >> s   (floor; +1 above the half, and at the half when
//                                                                 floor(p / 2^s) is odd)
//   tflite    (m > 0, t = bitlen(m) - s <= 0, e = -t):
//             h = (acc * m31 + 2^30) >> 31                      (= srdhm: the nudge 1 - 2^30 with truncation is
//                                                                 the same floor), m31 = m * 2^(31 - bitlen(m))
//             q = (h >> e) + ((h & (2^e - 1)) > (2^e - 1) / 2 + (h < 0))   (= rounding_divide_by_pot)
//   y = clamp(q, lo - zp, hi - zp) + zp   (= clamp(sat32(q) + zp, lo, hi) for |zp| <= 2^16, -128 <= lo, hi <= 127)
// 64-bit arithmetic shift by a lane count (AVX2 has only the logical one): x >> s = ((x + 2^63) >>> s) - 2^(63-s).
// tests/cpu/test_int_fast.c checks this against ratq_requantize over the whole int32 range, every k and mode.
enum { LANES = 8 };

typedef struct {
    int ok;                    // every lane in the vector domain above
    __m256i m;                 // int32 [8]: m (single, half_even) or m31 (tflite)
    __m256i add_e, add_o;      // int64 [4] even / odd lanes: 2^(s-1) (- 1 for half_even) + 2^63
    __m256i sh_e, sh_o;        // int64 [4]: s
    __m256i lo_e, lo_o, hi_e, hi_o; // int64 [4]: lo - zp + 2^(63-s), hi - zp + 2^(63-s) (the clamp before the unbias)
    __m256i sub_e, sub_o;      // int64 [4]: 2^(63-s) - zp
    __m256i e, mask, thr;      // tflite, int32 [8]: e, 2^e - 1, (2^e - 1) >> 1
} block_consts;

static void block_setup(const ratq_requant_s8 *rq, int c0, block_consts *b) {
    int32_t m[LANES], e[LANES], mask[LANES], thr[LANES];
    int64_t add[LANES], sh[LANES], lo[LANES], hi[LANES], sub[LANES];
    const int64_t zp = rq->output_offset;
    b->ok = zp >= -65536 && zp <= 65536 && rq->act_min >= -128 && rq->act_max <= 127; // int8 out: exact packs
    for (int j = 0; j < LANES && b->ok; j++) {
        const ratq_rescale r = rq->rescale[rq->per_channel ? c0 + j : 0];
        if (rq->rounding == RATQ_ROUND_TFLITE) {
            const int k = ratq_bitlen_u32((uint32_t)r.m);
            b->ok = r.m > 0 && k - r.s <= 0 && k - r.s >= -31;
            m[j] = b->ok ? (int32_t)((uint32_t)r.m << (31 - k)) : 0;
            e[j] = r.s - k;
            mask[j] = (int32_t)(((int64_t)1 << (e[j] & 31)) - 1);
            thr[j] = mask[j] >> 1;
            lo[j] = rq->act_min - zp, hi[j] = rq->act_max - zp; // 32-bit clamp
            add[j] = sh[j] = sub[j] = 0;
        } else {
            b->ok = r.m > 0 && r.s >= 1 && r.s <= 62;
            const int s = b->ok ? r.s : 1;
            const int64_t off = (int64_t)((uint64_t)1 << (63 - s));
            m[j] = r.m;
            sh[j] = s;
            add[j] = (int64_t)((((uint64_t)1 << (s - 1)) - (rq->rounding == RATQ_ROUND_HALF_EVEN)) | ((uint64_t)1 << 63));
            lo[j] = rq->act_min - zp + off, hi[j] = rq->act_max - zp + off;
            sub[j] = off - zp;
            e[j] = mask[j] = thr[j] = 0;
        }
    }
    if (!b->ok) return;
#define EVEN(a) _mm256_set_epi64x(a[6], a[4], a[2], a[0])
#define ODD(a) _mm256_set_epi64x(a[7], a[5], a[3], a[1])
    b->m = _mm256_loadu_si256((const __m256i *)m);
    b->add_e = EVEN(add), b->add_o = ODD(add), b->sh_e = EVEN(sh), b->sh_o = ODD(sh);
    b->lo_e = EVEN(lo), b->lo_o = ODD(lo), b->hi_e = EVEN(hi), b->hi_o = ODD(hi);
    b->sub_e = EVEN(sub), b->sub_o = ODD(sub);
#undef EVEN
#undef ODD
    int32_t lo32[LANES], hi32[LANES];
    for (int j = 0; j < LANES; j++) lo32[j] = (int32_t)lo[j], hi32[j] = (int32_t)hi[j];
    b->e = _mm256_loadu_si256((const __m256i *)e);
    b->mask = _mm256_loadu_si256((const __m256i *)mask);
    b->thr = _mm256_loadu_si256((const __m256i *)thr);
    if (rq->rounding == RATQ_ROUND_TFLITE) { // the 32-bit clamp bounds ride in lo_e / hi_e
        b->lo_e = _mm256_loadu_si256((const __m256i *)lo32);
        b->hi_e = _mm256_loadu_si256((const __m256i *)hi32);
    }
}

// single / half_even on 4 lanes: p int64, returns y (low dword of each qword).
ALWAYS_INLINE __m256i shift_round4(__m256i p, __m256i add, __m256i sh, __m256i lo, __m256i hi, __m256i sub, int half_even) {
    __m256i u = _mm256_add_epi64(p, add);
    if (half_even) u = _mm256_add_epi64(u, _mm256_and_si256(_mm256_srlv_epi64(p, sh), _mm256_set1_epi64x(1)));
    __m256i r = _mm256_srlv_epi64(u, sh); // floor(q) + 2^(63-s), < 2^63
    r = _mm256_blendv_epi8(r, lo, _mm256_cmpgt_epi64(lo, r));
    r = _mm256_blendv_epi8(r, hi, _mm256_cmpgt_epi64(r, hi));
    return _mm256_sub_epi64(r, sub);
}

ALWAYS_INLINE __m256i requant8(__m256i a, const block_consts *b, ratq_rounding mode, __m256i zp) {
    const __m256i a_o = _mm256_srli_epi64(a, 32), m_o = _mm256_srli_epi64(b->m, 32);
    const __m256i p_e = _mm256_mul_epi32(a, b->m), p_o = _mm256_mul_epi32(a_o, m_o);
    if (mode == RATQ_ROUND_TFLITE) {
        const __m256i half = _mm256_set1_epi64x((int64_t)1 << 30);
        const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(_mm256_add_epi64(p_e, half), 31),
                                             _mm256_slli_epi64(_mm256_add_epi64(p_o, half), 1), 0xAA);
        const __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), h);
        const __m256i inc = _mm256_cmpgt_epi32(_mm256_and_si256(h, b->mask), _mm256_sub_epi32(b->thr, neg));
        __m256i q = _mm256_sub_epi32(_mm256_srav_epi32(h, b->e), inc);
        q = _mm256_min_epi32(_mm256_max_epi32(q, b->lo_e), b->hi_e);
        return _mm256_add_epi32(q, zp);
    }
    const int he = mode == RATQ_ROUND_HALF_EVEN;
    const __m256i y_e = shift_round4(p_e, b->add_e, b->sh_e, b->lo_e, b->hi_e, b->sub_e, he);
    const __m256i y_o = shift_round4(p_o, b->add_o, b->sh_o, b->lo_o, b->hi_o, b->sub_o, he);
    return _mm256_blend_epi32(y_e, _mm256_slli_epi64(y_o, 32), 0xAA);
}

ALWAYS_INLINE void requant_block(const int32_t *acc, int64_t rows, int n, const block_consts *b, ratq_rounding mode,
                                 int32_t zp32, int8_t *out) {
    const __m256i zp = _mm256_set1_epi32(mode == RATQ_ROUND_TFLITE ? zp32 : 0);
    for (int64_t r = 0; r < rows; r++) {
        const __m256i y = requant8(_mm256_loadu_si256((const __m256i *)(acc + r * n)), b, mode, zp);
        const __m128i y16 = _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
        _mm_storel_epi64((__m128i *)(out + r * n), _mm_packs_epi16(y16, y16)); // y in [lo, hi]: exact packs
    }
}

static void requant_avx2(const int32_t *acc, int64_t rows, int n, const ratq_requant_s8 *rq, int8_t *out) {
    int c0 = 0;
    for (; c0 + LANES <= n; c0 += LANES) {
        block_consts b;
        block_setup(rq, c0, &b);
        if (!b.ok) {
            for (int64_t r = 0; r < rows; r++)
                for (int j = 0; j < LANES; j++) {
                    const int c = c0 + j;
                    out[r * n + c] = (int8_t)ratq_requantize(acc[r * n + c], rq->rescale[rq->per_channel ? c : 0],
                                                             rq->output_offset, rq->act_min, rq->act_max, rq->rounding);
                }
            continue;
        }
        switch (rq->rounding) {
        case RATQ_ROUND_TFLITE: requant_block(acc + c0, rows, n, &b, RATQ_ROUND_TFLITE, rq->output_offset, out + c0); break;
        case RATQ_ROUND_HALF_EVEN: requant_block(acc + c0, rows, n, &b, RATQ_ROUND_HALF_EVEN, 0, out + c0); break;
        default: requant_block(acc + c0, rows, n, &b, RATQ_ROUND_SINGLE, 0, out + c0); break;
        }
    }
    for (int64_t r = 0; c0 < n && r < rows; r++)
        for (int c = c0; c < n; c++)
            out[r * n + c] = (int8_t)ratq_requantize(acc[r * n + c], rq->rescale[rq->per_channel ? c : 0],
                                                     rq->output_offset, rq->act_min, rq->act_max, rq->rounding);
}

const ratq_fast_kernels ratq_fast_kernels_avx2 = {"avx2", gemm_avx2, depthwise_avx2, widen_avx2, requant_avx2};
#else
typedef int ratq_fast_avx2_unavailable; // not built for AVX2 (no -mavx2 on this target)
#endif
