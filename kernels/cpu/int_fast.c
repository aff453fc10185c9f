// int_fast.c — the fast integer engine's driver (int_fast.h): run-time kernel choice, weight packing, the exactness
// bounds (else the reference loops of int_ops.h), im2col into int16, the split into OpenMP work items, ADD and GAP.
#include <stdlib.h>
#include <string.h>

#include "int_fast.h"
#include "int_fast_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

// ---- engine names, kernel choice -----------------------------------------------------------------------------

const char *ratq_engine_name(ratq_engine e) { return e == RATQ_ENGINE_REF ? "ref" : "fast"; }

int ratq_engine_from_name(const char *s, ratq_engine *e) {
    if (!strcmp(s, "ref")) *e = RATQ_ENGINE_REF;
    else if (!strcmp(s, "fast")) *e = RATQ_ENGINE_FAST;
    else return -1;
    return 0;
}

static const ratq_fast_kernels *forced; // ratq_fast_set_isa

static const ratq_fast_kernels *best(void) {
#ifdef RATQ_FAST_AVX2
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")) return &ratq_fast_kernels_vnni;
    if (__builtin_cpu_supports("avx2")) return &ratq_fast_kernels_avx2;
#endif
    return &ratq_fast_kernels_c;
}

int ratq_fast_set_isa(const char *name) {
    if (!name) {
        forced = NULL;
        return 0;
    }
    const ratq_fast_kernels *all[] = {
        &ratq_fast_kernels_c,
#ifdef RATQ_FAST_AVX2
        &ratq_fast_kernels_avx2,
        &ratq_fast_kernels_vnni,
#endif
    };
    const ratq_fast_kernels *b = best();
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i]->name, name)) continue;
        // available: the portable kernels, the best one, or AVX2 under AVX512-VNNI
        if (all[i] == &ratq_fast_kernels_c || all[i] == b || (b != &ratq_fast_kernels_c && !strcmp(name, "avx2"))) {
            forced = all[i];
            return 0;
        }
    }
    return -1;
}

static const ratq_fast_kernels *kernels(void) { return forced ? forced : best(); }

const char *ratq_fast_isa(void) { return kernels()->name; }

// Threads for a parallel loop of `items` work items: 1 inside another parallel region (the executor already splits
// over images) or for a single item.
static int threads_for(int64_t items) {
#ifdef _OPENMP
    if (omp_in_parallel() || items < 2) return 1;
    int t = omp_get_max_threads();
    return items < t ? (int)items : t;
#else
    (void)items;
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// ---- bounds ------------------------------------------------------------------------------------------------

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

// max |v + offset| over int8 v; 0 if some v + offset leaves int16.
static int64_t offset_range16(int32_t offset) {
    const int64_t lo = (int64_t)offset - 128, hi = (int64_t)offset + 127;
    if (lo < -32768 || hi > 32767) return 0;
    return abs64(lo) > abs64(hi) ? abs64(lo) : abs64(hi);
}

// Bound on |partial sums of the products| (double is exact here: the terms are < 2^53 or far above the limit).
// GEMM: K * max|x + input_offset| * max|w + filter_offset|; depthwise (the kernel also adds input_offset * wsum):
// taps * 128 * (|input_offset| + 128). 0 when the fast kernels cannot take the operands (then: the reference).
static double gemm_sum_bound(const ratq_fast_weights *p, int32_t input_offset) {
    const int64_t amax = offset_range16(input_offset);
    if (p->kind != RATQ_SHAPE_CONV || amax == 0) return 0;
    const double b = (double)p->k * (double)amax * (double)p->wmax;
    return b <= 2147483647.0 ? b + 1 : 0; // + 1: nonzero even for an all-zero product
}

static double depthwise_sum_bound(const ratq_fast_weights *p, int32_t input_offset) {
    if (p->kind != RATQ_SHAPE_DEPTHWISE || input_offset < -127 || input_offset > 128) return 0; // pad = -offset int8
    return (double)p->k * 128.0 * (double)(abs64(input_offset) + 128) + 1;
}

// The kernels add kbias[c] in int32. A channel whose |bias| + sum bound could leave int32 (e.g. a saturated
// INT32_MIN bias of a dead channel) gets kbias 0 and is listed in fix: its accumulator is then
// sat32(bias + sum) in 64 bits, as in the reference. Returns the number of such channels.
static int split_bias(const int32_t *bias, int n, double sum_bound, int32_t *kbias, int *fix) {
    int nfix = 0;
    for (int c = 0; c < n; c++) {
        const int64_t b = bias ? bias[c] : 0;
        const int safe = (double)abs64(b) + sum_bound <= 2147483647.0;
        kbias[c] = safe ? (int32_t)b : 0;
        if (!safe) fix[nfix++] = c;
    }
    return nfix;
}

// acc[r][fix[i]] = sat32(bias + acc) for rows r of a [rows][ld] accumulator block.
static void fix_bias(int32_t *acc, int64_t rows, int ld, const int32_t *bias, const int *fix, int nfix) {
    for (int64_t r = 0; r < rows; r++)
        for (int i = 0; i < nfix; i++) {
            int32_t *a = acc + r * ld + fix[i];
            *a = ratq_sat_i32((int64_t)bias[fix[i]] + *a);
        }
}

// The output stage's per-channel constants for one op (NULL when out of memory: the caller falls back).
static void *requant_plan(const ratq_fast_kernels *kr, const ratq_requant_s8 *rq, int n) {
    const size_t bytes = (kr->plan_bytes(n) + 63) / 64 * 64;
    void *plan = aligned_alloc(64, bytes ? bytes : 64);
    if (plan) kr->prepare(rq, n, plan);
    return plan;
}

// ---- packing -----------------------------------------------------------------------------------------------

void ratq_fast_weights_free(ratq_fast_weights *p) {
    free(p->w);
    free(p->wsum);
    memset(p, 0, sizeof *p);
    p->kind = -1;
}

static int pack_gemm(ratq_fast_weights *p, int groups, int n, int k, const int8_t *w, int32_t filter_offset) {
    memset(p, 0, sizeof *p);
    p->kind = -1;
    const int64_t wr = offset_range16(filter_offset);
    if (wr == 0 || k > (1 << 24)) return 0; // w + filter_offset outside int16, or a K no exactness bound admits
    const int nblocks = (n + RATQ_FAST_NR - 1) / RATQ_FAST_NR, kpairs = (k + 1) / 2;
    const size_t count = (size_t)groups * nblocks * kpairs * 2 * RATQ_FAST_NR;
    p->w = aligned_alloc(64, (count * sizeof(int16_t) + 63) / 64 * 64);
    if (!p->w) return -1;
    int32_t wmax = 0;
    for (int g = 0; g < groups; g++)
        for (int nb = 0; nb < nblocks; nb++) {
            int16_t *dst = p->w + ((size_t)g * nblocks + nb) * kpairs * 2 * RATQ_FAST_NR;
            for (int kp = 0; kp < kpairs; kp++)
                for (int j = 0; j < RATQ_FAST_NR; j++)
                    for (int e = 0; e < 2; e++) {
                        const int o = nb * RATQ_FAST_NR + j, kk = 2 * kp + e;
                        int32_t v = 0;
                        if (o < n && kk < k) {
                            v = w[((int64_t)g * n + o) * k + kk] + filter_offset;
                            if (abs64(v) > wmax) wmax = (int32_t)abs64(v);
                        }
                        dst[((size_t)kp * RATQ_FAST_NR + j) * 2 + e] = (int16_t)v;
                    }
        }
    p->kind = RATQ_SHAPE_CONV;
    p->groups = groups;
    p->n = n;
    p->k = k;
    p->kpairs = kpairs;
    p->wmax = wmax;
    return 0;
}

int ratq_fast_pack_conv(ratq_fast_weights *p, const ratq_conv_shape *sh, const int8_t *w, int32_t filter_offset) {
    const int64_t k = (int64_t)sh->kernel_h * sh->kernel_w * (sh->in_c / sh->groups);
    if (k > (1 << 24)) {
        memset(p, 0, sizeof *p);
        p->kind = -1;
        return 0;
    }
    return pack_gemm(p, sh->groups, sh->out_c / sh->groups, (int)k, w, filter_offset);
}

int ratq_fast_pack_fc(ratq_fast_weights *p, int depth, int out_c, const int8_t *w, int32_t filter_offset) {
    return pack_gemm(p, 1, out_c, depth, w, filter_offset);
}

enum { DW_MAX_TAPS = 64 };

int ratq_fast_pack_depthwise(ratq_fast_weights *p, const ratq_conv_shape *sh, const int8_t *w) {
    memset(p, 0, sizeof *p);
    p->kind = -1;
    const int C = sh->out_c;
    const int64_t taps = (int64_t)sh->kernel_h * sh->kernel_w;
    if (sh->depth_multiplier != 1 || taps > DW_MAX_TAPS) return 0;
    const int kpairs = (int)(taps + 1) / 2;
    p->w = aligned_alloc(64, ((size_t)kpairs * C * 2 * sizeof(int16_t) + 63) / 64 * 64);
    p->wsum = malloc((size_t)C * sizeof(int64_t));
    if (!p->w || !p->wsum) {
        ratq_fast_weights_free(p);
        return -1;
    }
    for (int c = 0; c < C; c++) {
        int64_t s = 0;
        for (int t = 0; t < 2 * kpairs; t++) {
            const int32_t v = t < taps ? w[(int64_t)t * C + c] : 0;
            p->w[((size_t)(t / 2) * C + c) * 2 + t % 2] = (int16_t)v;
            s += v;
        }
        p->wsum[c] = s;
    }
    p->kind = RATQ_SHAPE_DEPTHWISE;
    p->groups = 1;
    p->n = C;
    p->k = (int)taps;
    p->kpairs = kpairs;
    p->wmax = 128;
    return 0;
}

// ---- conv / FC: im2col + GEMM --------------------------------------------------------------------------------

// Rows [m0, m0 + rows) of the im2col matrix of group g: A[r][k] = x + input_offset at tap k = (ky, kx, ic), 0 for a
// tap outside the input and for the pad column k = K (K odd).
static void im2col(const ratq_fast_kernels *kr, const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset,
                   int g, int64_t m0, int rows, int lda, int16_t *A) {
    const int icg = sh->in_c / sh->groups;
    const int K = sh->kernel_h * sh->kernel_w * icg;
    for (int r = 0; r < rows; r++) {
        const int64_t m = m0 + r;
        const int ox = (int)(m % sh->out_w), oy = (int)(m / sh->out_w % sh->out_h);
        const int64_t n = m / ((int64_t)sh->out_w * sh->out_h);
        int16_t *dst = A + (int64_t)r * lda;
        for (int ky = 0; ky < sh->kernel_h; ky++) {
            const int iy = oy * sh->stride_h - sh->pad_top + ky * sh->dilation_h;
            for (int kx = 0; kx < sh->kernel_w; kx++, dst += icg) {
                const int ix = ox * sh->stride_w - sh->pad_left + kx * sh->dilation_w;
                if (iy < 0 || iy >= sh->in_h || ix < 0 || ix >= sh->in_w) {
                    memset(dst, 0, (size_t)icg * sizeof(int16_t));
                    continue;
                }
                const int8_t *src = in + ((n * sh->in_h + iy) * sh->in_w + ix) * sh->in_c + (int64_t)g * icg;
                kr->widen(src, icg, input_offset, dst);
            }
        }
        if (lda > K) dst[0] = 0;
    }
}

// acc (rq == NULL) or out (requantized) for every output pixel of sh; p packed for sh; sum_bound from
// gemm_sum_bound. Work items: chunks of mc output rows (pixels), each: im2col per group, GEMM, output stage.
static int conv_run(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const ratq_fast_weights *p,
                    double sum_bound, const int32_t *bias, const ratq_requant_s8 *rq, int32_t *acc, int8_t *out) {
    const ratq_fast_kernels *kr = kernels();
    const int G = p->groups, N = p->n, lda = 2 * p->kpairs, oc = sh->out_c;
    const int64_t M = (int64_t)sh->batch * sh->out_h * sh->out_w;
    int mc = (int)(65536 / (2 * (int64_t)lda)) / 6 * 6; // A chunk <= 64 KiB (L2), a multiple of the 6-row tile
    if (mc < 6) mc = 6;
    if (mc > 240) mc = 240;
    const int64_t chunks = (M + mc - 1) / mc;
    const int T = threads_for(chunks);
    const size_t a_bytes = (size_t)mc * lda * sizeof(int16_t), c_bytes = rq ? (size_t)mc * oc * sizeof(int32_t) : 0;
    char *scratch = malloc((a_bytes + c_bytes) * (size_t)T);
    int32_t *kbias = malloc((size_t)oc * sizeof(int32_t));
    int *fix = malloc((size_t)oc * sizeof(int));
    void *plan = rq ? requant_plan(kr, rq, oc) : NULL;
    if (!scratch || !kbias || !fix || (rq && !plan)) {
        free(scratch);
        free(kbias);
        free(fix);
        free(plan);
        return -1;
    }
    const int nfix = split_bias(bias, oc, sum_bound, kbias, fix);
    const int64_t wstride = (int64_t)((N + RATQ_FAST_NR - 1) / RATQ_FAST_NR) * p->kpairs * 2 * RATQ_FAST_NR;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(T) if (T > 1)
#endif
    for (int64_t ch = 0; ch < chunks; ch++) {
        char *mine = scratch + (a_bytes + c_bytes) * (size_t)thread_id();
        int16_t *A = (int16_t *)mine;
        const int64_t m0 = ch * mc;
        const int rows = (int)(M - m0 < mc ? M - m0 : mc);
        int32_t *C = rq ? (int32_t *)(mine + a_bytes) : acc + m0 * oc; // [rows][oc]
        for (int g = 0; g < G; g++) {
            im2col(kr, sh, in, input_offset, g, m0, rows, lda, A);
            kr->gemm(rows, N, p->kpairs, A, lda, p->w + g * wstride, kbias + (int64_t)g * N, C + (int64_t)g * N, oc);
        }
        if (nfix) fix_bias(C, rows, oc, bias, fix, nfix);
        if (rq) kr->requant(plan, C, rows, oc, rq, out + m0 * oc);
    }
    free(scratch);
    free(kbias);
    free(fix);
    free(plan);
    return 0;
}

void ratq_conv_acc_s32_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                              int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias, int32_t *acc) {
    const double bound = gemm_sum_bound(p, input_offset);
    if (!bound || conv_run(sh, in, input_offset, p, bound, bias, NULL, acc, NULL))
        ratq_conv_acc_s32_cpu(sh, in, input_offset, w, filter_offset, bias, acc);
}

void ratq_conv_s8_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                         int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias,
                         const ratq_requant_s8 *rq, int8_t *out) {
    const double bound = gemm_sum_bound(p, input_offset);
    if (!bound || conv_run(sh, in, input_offset, p, bound, bias, rq, NULL, out))
        ratq_conv_s8_cpu(sh, in, input_offset, w, filter_offset, bias, rq, out);
}

// FC = a 1x1 conv over a 1x1 image with depth channels, one image per GEMM row.
static ratq_conv_shape fc_shape(int batch, int depth, int out_c) {
    ratq_conv_shape sh = {batch, 1, 1, depth, 1, 1, out_c, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    return sh;
}

void ratq_fc_acc_s32_packed(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                            int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias, int32_t *acc) {
    const ratq_conv_shape sh = fc_shape(batch, depth, out_c);
    const double bound = gemm_sum_bound(p, input_offset);
    if (!bound || conv_run(&sh, in, input_offset, p, bound, bias, NULL, acc, NULL))
        ratq_fc_acc_s32_cpu(batch, depth, out_c, in, input_offset, w, filter_offset, bias, acc);
}

void ratq_fc_s8_packed(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                       int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias,
                       const ratq_requant_s8 *rq, int8_t *out) {
    const ratq_conv_shape sh = fc_shape(batch, depth, out_c);
    const double bound = gemm_sum_bound(p, input_offset);
    if (!bound || conv_run(&sh, in, input_offset, p, bound, bias, rq, NULL, out))
        ratq_fc_s8_cpu(batch, depth, out_c, in, input_offset, w, filter_offset, bias, rq, out);
}

// ---- depthwise -----------------------------------------------------------------------------------------------

// Work items: output rows (image, oy); per pixel the tap pointers (outside taps -> a row of the padding value
// -input_offset), the kernel's accumulators for the whole row, then the output stage for the row.
static int depthwise_run(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const ratq_fast_weights *p,
                         double sum_bound, const int32_t *bias, const ratq_requant_s8 *rq, int32_t *acc, int8_t *out) {
    const ratq_fast_kernels *kr = kernels();
    const int C = sh->out_c, kw = sh->kernel_w, taps = p->k;
    const int64_t rows = (int64_t)sh->batch * sh->out_h, row_len = (int64_t)sh->out_w * C;
    const int T = threads_for(rows);
    const size_t acc_bytes = rq ? (size_t)row_len * sizeof(int32_t) : 0;
    int32_t *bias2 = malloc((size_t)C * sizeof(int32_t));
    int *fix = malloc((size_t)C * sizeof(int));
    int8_t *pad = malloc((size_t)C);
    char *scratch = malloc(acc_bytes * (size_t)T + 1);
    void *plan = rq ? requant_plan(kr, rq, C) : NULL;
    if (!bias2 || !fix || !pad || !scratch || (rq && !plan)) {
        free(bias2);
        free(fix);
        free(pad);
        free(scratch);
        free(plan);
        return -1;
    }
    const int nfix = split_bias(bias, C, sum_bound, bias2, fix);
    for (int c = 0; c < C; c++) bias2[c] = (int32_t)(bias2[c] + (int64_t)input_offset * p->wsum[c]);
    memset(pad, -input_offset, (size_t)C); // depthwise_sum_bound: -input_offset is an int8
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(T) if (T > 1)
#endif
    for (int64_t row = 0; row < rows; row++) {
        const int64_t n = row / sh->out_h;
        const int oy = (int)(row % sh->out_h);
        int32_t *a = rq ? (int32_t *)(scratch + acc_bytes * (size_t)thread_id()) : acc + row * row_len;
        const int8_t *tp[DW_MAX_TAPS];
        for (int ox = 0; ox < sh->out_w; ox++) {
            for (int t = 0; t < 2 * p->kpairs; t++) {
                const int iy = oy * sh->stride_h - sh->pad_top + (t / kw) * sh->dilation_h;
                const int ix = ox * sh->stride_w - sh->pad_left + (t % kw) * sh->dilation_w;
                const int inside = t < taps && iy >= 0 && iy < sh->in_h && ix >= 0 && ix < sh->in_w;
                tp[t] = inside ? in + ((n * sh->in_h + iy) * sh->in_w + ix) * C : pad;
            }
            kr->depthwise(C, p->kpairs, tp, p->w, bias2, a + (int64_t)ox * C);
        }
        if (nfix) fix_bias(a, sh->out_w, C, bias, fix, nfix);
        if (rq) kr->requant(plan, a, sh->out_w, C, rq, out + row * row_len);
    }
    free(bias2);
    free(fix);
    free(pad);
    free(scratch);
    free(plan);
    return 0;
}

void ratq_depthwise_acc_s32_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                   const ratq_fast_weights *p, const int32_t *bias, int32_t *acc) {
    const double bound = depthwise_sum_bound(p, input_offset);
    if (!bound || depthwise_run(sh, in, input_offset, p, bound, bias, NULL, acc, NULL))
        ratq_depthwise_acc_s32_cpu(sh, in, input_offset, w, bias, acc);
}

void ratq_depthwise_s8_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                              const ratq_fast_weights *p, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out) {
    const double bound = depthwise_sum_bound(p, input_offset);
    if (!bound || depthwise_run(sh, in, input_offset, p, bound, bias, rq, NULL, out))
        ratq_depthwise_s8_cpu(sh, in, input_offset, w, bias, rq, out);
}

// ---- one-shot twins of int_ops.h ----------------------------------------------------------------------------

void ratq_conv_acc_s32_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                            int32_t filter_offset, const int32_t *bias, int32_t *acc) {
    ratq_fast_weights p;
    ratq_fast_pack_conv(&p, sh, w, filter_offset); // kind -1 on failure: the reference runs
    ratq_conv_acc_s32_packed(sh, in, input_offset, w, filter_offset, &p, bias, acc);
    ratq_fast_weights_free(&p);
}

void ratq_conv_s8_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                       int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out) {
    ratq_fast_weights p;
    ratq_fast_pack_conv(&p, sh, w, filter_offset);
    ratq_conv_s8_packed(sh, in, input_offset, w, filter_offset, &p, bias, rq, out);
    ratq_fast_weights_free(&p);
}

void ratq_depthwise_acc_s32_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                 const int32_t *bias, int32_t *acc) {
    ratq_fast_weights p;
    ratq_fast_pack_depthwise(&p, sh, w);
    ratq_depthwise_acc_s32_packed(sh, in, input_offset, w, &p, bias, acc);
    ratq_fast_weights_free(&p);
}

void ratq_depthwise_s8_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                            const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out) {
    ratq_fast_weights p;
    ratq_fast_pack_depthwise(&p, sh, w);
    ratq_depthwise_s8_packed(sh, in, input_offset, w, &p, bias, rq, out);
    ratq_fast_weights_free(&p);
}

void ratq_fc_acc_s32_fast(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                          int32_t filter_offset, const int32_t *bias, int32_t *acc) {
    ratq_fast_weights p;
    ratq_fast_pack_fc(&p, depth, out_c, w, filter_offset);
    ratq_fc_acc_s32_packed(batch, depth, out_c, in, input_offset, w, filter_offset, &p, bias, acc);
    ratq_fast_weights_free(&p);
}

void ratq_fc_s8_fast(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                     int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out) {
    ratq_fast_weights p;
    ratq_fast_pack_fc(&p, depth, out_c, w, filter_offset);
    ratq_fc_s8_packed(batch, depth, out_c, in, input_offset, w, filter_offset, &p, bias, rq, out);
    ratq_fast_weights_free(&p);
}

// ---- output stage, ADD, GAP ----------------------------------------------------------------------------------

enum { ROWS_PER_ITEM = 256 };

void ratq_requantize_s8_fast(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq, int8_t *out) {
    if (channels < 1 || count % channels) {
        ratq_requantize_s8_cpu(acc, count, channels, rq, out);
        return;
    }
    const ratq_fast_kernels *kr = kernels();
    void *plan = requant_plan(kr, rq, channels);
    if (!plan) {
        ratq_requantize_s8_cpu(acc, count, channels, rq, out);
        return;
    }
    const int64_t rows = count / channels, items = (rows + ROWS_PER_ITEM - 1) / ROWS_PER_ITEM;
    const int T = threads_for(items);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
#endif
    for (int64_t i = 0; i < items; i++) {
        const int64_t r0 = i * ROWS_PER_ITEM, nr = rows - r0 < ROWS_PER_ITEM ? rows - r0 : ROWS_PER_ITEM;
        kr->requant(plan, acc + r0 * channels, nr, channels, rq, out + r0 * channels);
    }
    free(plan);
}

// out = R_out(sat32(ta[a] + tb[b])) with ta[v] = R_1((v + input1_offset) * 2^left_shift), tb likewise: the same
// calls of math/rescale.h on the same operands as ratq_add_s8_cpu, the input terms looked up per int8 value; the
// sums (64-bit, saturated) then go through the kernels' output stage as [count / 8][8] with one rescaler.
void ratq_add_s8_fast(int64_t count, const int8_t *a, const int8_t *b, const ratq_add_params_s8 *p, int8_t *out) {
    int32_t ta[256], tb[256]; // add_s8.h's per-input terms, tabulated
    for (int v = -128; v < 128; v++) {
        ta[v + 128] = ratq_add_term_s8((int8_t)v, p->input1_offset, p->input1, p->left_shift, p->rounding);
        tb[v + 128] = ratq_add_term_s8((int8_t)v, p->input2_offset, p->input2, p->left_shift, p->rounding);
    }
    const ratq_fast_kernels *kr = kernels();
    const ratq_requant_s8 rq = {&p->output, 0, p->output_offset, p->act_min, p->act_max, p->rounding};
    enum { STEP = 4096, LANES = 8 };
    void *plan = requant_plan(kr, &rq, LANES);
    if (!plan) {
        ratq_add_s8_cpu(count, a, b, p, out, NULL);
        return;
    }
    const int64_t items = (count + STEP - 1) / STEP;
    const int T = threads_for(items);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
#endif
    for (int64_t it = 0; it < items; it++) {
        const int64_t i0 = it * STEP, n = count - i0 < STEP ? count - i0 : STEP, n8 = n / LANES * LANES;
        int32_t sum[STEP];
        for (int64_t i = 0; i < n; i++) sum[i] = ratq_sat_i32((int64_t)ta[a[i0 + i] + 128] + tb[b[i0 + i] + 128]);
        kr->requant(plan, sum, n8 / LANES, LANES, &rq, out + i0);
        for (int64_t i = n8; i < n; i++)
            out[i0 + i] = (int8_t)ratq_requantize(sum[i], p->output, p->output_offset, p->act_min, p->act_max, p->rounding);
    }
    free(plan);
}

// acc[c] = sat32(sum_i x_i[c] + input_offset * h * w): the int32 sums of x are exact for h * w < 2^24.
void ratq_global_avgpool_s8_fast(int batch, int h, int w, int c, const int8_t *in, int32_t input_offset,
                                 const ratq_requant_s8 *rq, int8_t *out) {
    const int64_t hw = (int64_t)h * w;
    int32_t *sum = hw < (1 << 24) ? malloc((size_t)c * sizeof(int32_t)) : NULL;
    if (!sum) {
        ratq_global_avgpool_s8_cpu(batch, h, w, c, in, input_offset, rq, out, NULL);
        return;
    }
    for (int n = 0; n < batch; n++) {
        memset(sum, 0, (size_t)c * sizeof(int32_t));
        const int8_t *x = in + (int64_t)n * hw * c;
        for (int64_t i = 0; i < hw; i++)
            for (int ch = 0; ch < c; ch++) sum[ch] += x[i * c + ch];
        for (int ch = 0; ch < c; ch++) {
            const int32_t acc = ratq_sat_i32((int64_t)sum[ch] + (int64_t)input_offset * hw);
            out[(int64_t)n * c + ch] = (int8_t)ratq_requantize(acc, rq->rescale[0], rq->output_offset, rq->act_min,
                                                               rq->act_max, rq->rounding);
        }
    }
    free(sum);
}
