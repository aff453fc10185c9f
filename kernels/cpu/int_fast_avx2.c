// int_fast_avx2.c — AVX2 kernels of the fast integer engine (int_fast_kernels.h); built with -mavx2 on x86 only and
// called only when the CPU reports AVX2 (int_fast.c). Products via vpmaddwd on int16 pairs: each product is formed
// in 32 bits and the pair sum a0*b0 + a1*b1 is exact in int32 for every operand the driver passes (|a|, |b| <= 2^15,
// not both -2^15; the driver's bound also caps the pair sum); accumulation by vpaddd, exact under the driver's bound.
// int_fast_vnni.c compiles this file again with RATQ_FAST_VNNI: the multiply-add is then one vpdpwssd (AVX512-VNNI
// on 256-bit vectors): the same two 32-bit products added to the accumulator, modulo 2^32 like vpaddd.
#include "int_fast_kernels.h"

#if defined(__AVX2__) && (!defined(RATQ_FAST_VNNI) || (defined(__AVX512VNNI__) && defined(__AVX512VL__)))
#include <immintrin.h>
#include <string.h>


#define ALWAYS_INLINE static inline __attribute__((always_inline))
#ifdef RATQ_FAST_VNNI
#define MADD(acc, a, b) _mm256_dpwssd_epi32(acc, a, b) // acc + a0*b0 + a1*b1 per 32-bit lane
#define KERNELS ratq_fast_kernels_vnni
#define ISA_NAME "avx512vnni"
#else
#define MADD(acc, a, b) _mm256_add_epi32(acc, _mm256_madd_epi16(a, b))
#define KERNELS ratq_fast_kernels_avx2
#define ISA_NAME "avx2"
#endif

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
            acc[r][0] = MADD(acc[r][0], a, w0);
            acc[r][1] = MADD(acc[r][1], a, w1);
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
            a0 = MADD(a0, lo, _mm256_loadu_si256((const __m256i *)w));
            a1 = MADD(a1, hi, _mm256_loadu_si256((const __m256i *)(w + 16)));
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
// shifts (the others, and the last n % 8 channels, go through ratq_requantize itself; m = 0 gives q = 0 in every
// mode, as in rescale.h):
//   single    (s >= 1): q = (p + 2^(s-1)) >> s,                 p = acc * m
//   half_even (s >= 1): q = (p + 2^(s-1) - 1 + bit_s(p)) >> s   (floor; +1 above the half, and at the half when
//                                                                 floor(p / 2^s) is odd)
//     with acc first clamped to [-A, A], A = ceil(2^(s+10) / m) (no clamp when A > INT32_MAX): beyond A,
//     |q| >= 2^10 > |lo - zp|, |hi - zp| before and after the clamp (q is monotone in acc), and inside it
//     |q| <= 2^10 + M + 1 < 2^31, so q's low 32 bits are q.
//   tflite    (t = bitlen(m) - s <= 0, e = -t):
//             h = (acc * m31 + 2^30) >> 31                      (= srdhm: the nudge 1 - 2^30 with truncation is
//                                                                 the same floor), m31 = m * 2^(31 - bitlen(m))
//             q = (h >> e) + ((h & (2^e - 1)) > (2^e - 1) / 2 + (h < 0))   (= rounding_divide_by_pot)
//   y = clamp(q, lo - zp, hi - zp) + zp   (= clamp(sat32(q) + zp, lo, hi) for |zp| <= 255, -128 <= lo, hi <= 127)
// 64-bit arithmetic shift by a lane count (AVX2 has only the logical one): x >> s = ((x + 2^63) >>> s) - 2^(63-s).
// tests/cpu/test_int_fast.c checks this against ratq_requantize over the whole int32 range, every k and mode.
enum { LANES = 8 };

typedef struct {
    int ok;                // every lane in the vector domain above
    __m256i m;             // int32 [8]: m (single, half_even) or m31 (tflite)
    __m256i add_e, add_o;  // int64 [4] even / odd lanes: 2^(s-1) (- 1 for half_even) + 2^63
    __m256i sh_e, sh_o;    // int64 [4]: s
    __m256i off;           // int32 [8]: low 32 bits of 2^(63-s)
    __m256i amin, amax;    // int32 [8]: the accumulator clamp [-A, A]
    __m256i e, mask, thr;  // tflite, int32 [8]: e, 2^e - 1, (2^e - 1) >> 1
    __m256i lo, hi, zp;    // int32 [8]: lo - zp, hi - zp, zp
} block_consts;

static void block_setup(const ratq_requant_s8 *rq, int c0, block_consts *b) {
    int32_t m[LANES], e[LANES], mask[LANES], thr[LANES], off[LANES], amin[LANES], amax[LANES];
    int64_t add[LANES], sh[LANES];
    const int32_t zp = rq->output_offset;
    b->ok = zp >= -255 && zp <= 255 && rq->act_min >= -128 && rq->act_max <= 127; // int8 out: exact packs
    for (int j = 0; j < LANES && b->ok; j++) {
        const ratq_rescale r = rq->rescale[rq->per_channel ? c0 + j : 0];
        const int k = ratq_bitlen_u32((uint32_t)r.m);
        if (rq->rounding == RATQ_ROUND_TFLITE) {
            b->ok = r.m == 0 || (k - r.s <= 0 && k - r.s >= -31); // m = 0: m31 = 0, e = 0 give q = 0
            m[j] = b->ok && r.m ? (int32_t)((uint32_t)r.m << (31 - k)) : 0;
            e[j] = b->ok && r.m ? r.s - k : 0;
            mask[j] = (int32_t)(((int64_t)1 << e[j]) - 1);
            thr[j] = mask[j] >> 1;
            add[j] = sh[j] = off[j] = 0;
            amin[j] = INT32_MIN, amax[j] = INT32_MAX;
        } else {
            b->ok = r.m == 0 || (r.s >= 1 && r.s <= 62); // m = 0 (the zero multiplier): s = 1 gives q = 0
            const int s = b->ok && r.m ? r.s : 1;
            m[j] = r.m;
            sh[j] = s;
            add[j] = (int64_t)((((uint64_t)1 << (s - 1)) - (rq->rounding == RATQ_ROUND_HALF_EVEN)) | ((uint64_t)1 << 63));
            off[j] = (int32_t)(uint32_t)((uint64_t)1 << (63 - s));
            // A = ceil(2^(s+10) / m) > 2^(s+10-k): certainly above INT32_MAX when s + 10 - k >= 31
            const uint64_t A = !b->ok || !r.m || s + 10 - k >= 31 ? (uint64_t)1 << 32
                                                          : (((uint64_t)1 << (s + 10)) + (uint64_t)r.m - 1) / (uint64_t)r.m;
            amax[j] = A > INT32_MAX ? INT32_MAX : (int32_t)A;
            amin[j] = A > INT32_MAX ? INT32_MIN : -(int32_t)A;
            e[j] = mask[j] = thr[j] = 0;
        }
    }
    if (!b->ok) return;
#define LOAD32(a) _mm256_loadu_si256((const __m256i *)(a))
#define EVEN(a) _mm256_set_epi64x(a[6], a[4], a[2], a[0])
#define ODD(a) _mm256_set_epi64x(a[7], a[5], a[3], a[1])
    b->m = LOAD32(m), b->off = LOAD32(off), b->amin = LOAD32(amin), b->amax = LOAD32(amax);
    b->e = LOAD32(e), b->mask = LOAD32(mask), b->thr = LOAD32(thr);
    b->add_e = EVEN(add), b->add_o = ODD(add), b->sh_e = EVEN(sh), b->sh_o = ODD(sh);
#undef LOAD32
#undef EVEN
#undef ODD
    b->lo = _mm256_set1_epi32(rq->act_min - zp), b->hi = _mm256_set1_epi32(rq->act_max - zp);
    b->zp = _mm256_set1_epi32(zp);
}

// single / half_even on 4 lanes: p int64; returns floor(q) + 2^(63-s) (q's low dword after subtracting off).
ALWAYS_INLINE __m256i shift_round4(__m256i p, __m256i add, __m256i sh, int half_even) {
    __m256i u = _mm256_add_epi64(p, add);
    if (half_even) u = _mm256_add_epi64(u, _mm256_and_si256(_mm256_srlv_epi64(p, sh), _mm256_set1_epi64x(1)));
    return _mm256_srlv_epi64(u, sh);
}

ALWAYS_INLINE __m256i requant8(__m256i a, const block_consts *b, ratq_rounding mode) {
    __m256i q;
    if (mode == RATQ_ROUND_TFLITE) {
        const __m256i half = _mm256_set1_epi64x((int64_t)1 << 30);
        const __m256i p_e = _mm256_mul_epi32(a, b->m), p_o = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b->m, 32));
        const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(_mm256_add_epi64(p_e, half), 31),
                                             _mm256_slli_epi64(_mm256_add_epi64(p_o, half), 1), 0xAA);
        const __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), h);
        const __m256i inc = _mm256_cmpgt_epi32(_mm256_and_si256(h, b->mask), _mm256_sub_epi32(b->thr, neg));
        q = _mm256_sub_epi32(_mm256_srav_epi32(h, b->e), inc);
    } else {
        a = _mm256_min_epi32(_mm256_max_epi32(a, b->amin), b->amax);
        const __m256i p_e = _mm256_mul_epi32(a, b->m), p_o = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b->m, 32));
        const int he = mode == RATQ_ROUND_HALF_EVEN;
        const __m256i r = _mm256_blend_epi32(shift_round4(p_e, b->add_e, b->sh_e, he),
                                             _mm256_slli_epi64(shift_round4(p_o, b->add_o, b->sh_o, he), 32), 0xAA);
        q = _mm256_sub_epi32(r, b->off);
    }
    q = _mm256_min_epi32(_mm256_max_epi32(q, b->lo), b->hi);
    return _mm256_add_epi32(q, b->zp);
}

static size_t plan_bytes_avx2(int n) { return (size_t)(n / LANES) * sizeof(block_consts); }

static void prepare_avx2(const ratq_requant_s8 *rq, int n, void *plan) {
    block_consts *b = plan;
    for (int i = 0; i < n / LANES; i++) block_setup(rq, i * LANES, &b[i]);
}

static void requant_scalar(const int32_t *acc, int64_t r0, int64_t r1, int n, int c0, int c1, const ratq_requant_s8 *rq,
                           int8_t *out) {
    for (int64_t r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++)
            out[r * n + c] = (int8_t)ratq_requantize(acc[r * n + c], rq->rescale[rq->per_channel ? c : 0],
                                                     rq->output_offset, rq->act_min, rq->act_max, rq->rounding);
}

// Tiles of ROWS rows x all channel blocks (the tile stays in L1 across its blocks).
enum { ROWS = 16 };

ALWAYS_INLINE void requant_mode(const block_consts *plan, const int32_t *acc, int64_t rows, int n,
                                const ratq_requant_s8 *rq, int8_t *out, ratq_rounding mode) {
    for (int64_t r0 = 0; r0 < rows; r0 += ROWS) {
        const int64_t r1 = rows - r0 < ROWS ? rows : r0 + ROWS;
        for (int i = 0; i < n / LANES; i++) {
            const block_consts *b = &plan[i];
            const int c0 = i * LANES;
            if (!b->ok) {
                requant_scalar(acc, r0, r1, n, c0, c0 + LANES, rq, out);
                continue;
            }
            for (int64_t r = r0; r < r1; r++) {
                const __m256i y = requant8(_mm256_loadu_si256((const __m256i *)(acc + r * n + c0)), b, mode);
                const __m128i y16 = _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
                _mm_storel_epi64((__m128i *)(out + r * n + c0), _mm_packs_epi16(y16, y16)); // y in [lo, hi]: exact
            }
        }
    }
    requant_scalar(acc, 0, rows, n, n / LANES * LANES, n, rq, out);
}

static void requant_avx2(const void *plan, const int32_t *acc, int64_t rows, int n, const ratq_requant_s8 *rq,
                         int8_t *out) {
    switch (rq->rounding) {
    case RATQ_ROUND_TFLITE: requant_mode(plan, acc, rows, n, rq, out, RATQ_ROUND_TFLITE); break;
    case RATQ_ROUND_HALF_EVEN: requant_mode(plan, acc, rows, n, rq, out, RATQ_ROUND_HALF_EVEN); break;
    default: requant_mode(plan, acc, rows, n, rq, out, RATQ_ROUND_SINGLE); break;
    }
}

const ratq_fast_kernels KERNELS = {ISA_NAME, gemm_avx2, depthwise_avx2, widen_avx2, plan_bytes_avx2, prepare_avx2,
                                   requant_avx2};
#else
typedef int ratq_fast_x86_unavailable; // not built for this instruction set (not an x86 target)
#endif
