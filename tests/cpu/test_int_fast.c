// test_int_fast.c — the fast integer engine (kernels/cpu/int_fast.h) equals the reference loops (int_ops.h) bit for
// bit, with each kernel set the CPU has (portable C, AVX2, AVX512-VNNI):
//   random shapes: odd channel counts, GEMM row/column tails, 1x1 / 3x3 / 5x5 / 7x7 and rectangular kernels, stride
//   1-3, dilation, groups, depthwise 3x3 and 5x5 stride 1 and 2, depth multiplier 2 (reference path), every k 1..31,
//   all three roundings, per-channel and per-tensor rescalers, input offsets over [-127, 128], filter offsets;
//   accumulators and requantized outputs; FC; ADD; global average pool; the output stage;
//   extreme operands: -128 x -128 and +127 x -128 runs (a 16-bit pair sum would saturate), offsets that make
//   x + offset = 255, biases at INT32_MIN / INT32_MAX (the reference saturates), and operands outside the exactness
//   bound (the fast entry points fall back to the reference).
#include <string.h>

#include "cpu/int_fast.h"
#include "test_util.h"

static const char *const RATQ_TEST_ISAS[3] = {"c", "avx2", "avx512vnni"}; // each one this CPU has

static void fill_s8(uint64_t *st, int8_t *x, int64_t n, int lo, int hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (int8_t)ratq_test_range(st, lo, hi);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) exit(1);
    return p;
}

static ratq_rounding random_rounding(uint64_t *st) { return (ratq_rounding)ratq_test_range(st, 0, 2); }

// Rescalers around 2^-e at k bits (some channels zero, some M >= 1 for small accumulators).
static void random_rescales(uint64_t *st, ratq_rescale *rs, int n, int k) {
    for (int c = 0; c < n; c++) {
        const double M = ldexp(1.0 + ratq_test_unit(st), -(int)ratq_test_range(st, -2, 16));
        if (ratq_test_range(st, 0, 30) == 0) rs[c] = (ratq_rescale){0, 0};
        else if (ratq_rescale_from_real(M, k, &rs[c])) rs[c] = (ratq_rescale){0, 0};
    }
}

static int32_t random_bias(uint64_t *st) {
    switch (ratq_test_range(st, 0, 9)) {
    case 0: return INT32_MIN;
    case 1: return INT32_MAX;
    case 2: return (int32_t)ratq_test_range(st, INT32_MAX - 100000, INT32_MAX);
    case 3: return (int32_t)ratq_test_range(st, INT32_MIN, INT32_MIN + 100000);
    default: return (int32_t)ratq_test_range(st, -(1 << 22), 1 << 22);
    }
}

static long count_diff_i32(const int32_t *a, const int32_t *b, int64_t n, int64_t *first) {
    long d = 0;
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i] && d++ == 0) *first = i;
    return d;
}

static long count_diff_i8(const int8_t *a, const int8_t *b, int64_t n, int64_t *first) {
    long d = 0;
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i] && d++ == 0) *first = i;
    return d;
}

static int32_t random_offset(uint64_t *st) {
    return ratq_test_range(st, 0, 5) == 0 ? (int32_t)ratq_test_range(st, -300, 300) : (int32_t)ratq_test_range(st, -127, 128);
}

// One conv or depthwise case: fast == ref for the accumulators and for the requantized outputs.
static void check_conv_case(uint64_t *st, const ratq_conv_shape *sh, int depthwise, const int8_t *in, const int8_t *w,
                            int32_t in_off, int32_t w_off, const int32_t *bias, const char *tag) {
    const ratq_shape_kind kind = depthwise ? RATQ_SHAPE_DEPTHWISE : RATQ_SHAPE_CONV;
    CHECK_MSG(ratq_conv_shape_check(sh, kind) == NULL, "%s: shape invalid: %s", tag, ratq_conv_shape_check(sh, kind));
    const int64_t n_out = (int64_t)sh->batch * sh->out_h * sh->out_w * sh->out_c;
    int32_t *a_ref = xmalloc(sizeof(int32_t) * n_out), *a_fast = xmalloc(sizeof(int32_t) * n_out);
    int8_t *o_ref = xmalloc(n_out), *o_fast = xmalloc(n_out);
    ratq_rescale *rs = xmalloc(sizeof(ratq_rescale) * sh->out_c);
    const int k = (int)ratq_test_range(st, 1, 31);
    random_rescales(st, rs, sh->out_c, k);
    int32_t lo = (int32_t)ratq_test_range(st, -128, 0), hi = (int32_t)ratq_test_range(st, lo, 127);
    ratq_requant_s8 rq = {rs, (int)ratq_test_range(st, 0, 1), (int32_t)ratq_test_range(st, -128, 127), lo, hi,
                          random_rounding(st)};
    if (depthwise) {
        ratq_depthwise_acc_s32_cpu(sh, in, in_off, w, bias, a_ref);
        ratq_depthwise_acc_s32_fast(sh, in, in_off, w, bias, a_fast);
        ratq_depthwise_s8_cpu(sh, in, in_off, w, bias, &rq, o_ref);
        ratq_depthwise_s8_fast(sh, in, in_off, w, bias, &rq, o_fast);
    } else {
        ratq_conv_acc_s32_cpu(sh, in, in_off, w, w_off, bias, a_ref);
        ratq_conv_acc_s32_fast(sh, in, in_off, w, w_off, bias, a_fast);
        ratq_conv_s8_cpu(sh, in, in_off, w, w_off, bias, &rq, o_ref);
        ratq_conv_s8_fast(sh, in, in_off, w, w_off, bias, &rq, o_fast);
    }
    int64_t f = 0;
    long d = count_diff_i32(a_ref, a_fast, n_out, &f);
    CHECK_MSG(d == 0, "%s: %ld of %lld accumulators differ, first %lld: ref %d fast %d", tag, d, (long long)n_out,
              (long long)f, a_ref[f], a_fast[f]);
    d = count_diff_i8(o_ref, o_fast, n_out, &f);
    CHECK_MSG(d == 0, "%s (k %d, rounding %d): %ld of %lld outputs differ, first %lld: ref %d fast %d", tag, k,
              (int)rq.rounding, d, (long long)n_out, (long long)f, o_ref[f], o_fast[f]);
    free(a_ref), free(a_fast), free(o_ref), free(o_fast), free(rs);
}

static void random_geometry(uint64_t *st, ratq_conv_shape *sh, int kh, int kw, int stride, int dil, int same) {
    sh->kernel_h = kh, sh->kernel_w = kw;
    sh->stride_h = stride, sh->stride_w = ratq_test_range(st, 0, 3) ? stride : (int)ratq_test_range(st, 1, 3);
    sh->dilation_h = dil, sh->dilation_w = dil;
    const int need_h = (kh - 1) * dil + 1, need_w = (kw - 1) * dil + 1;
    sh->in_h = need_h + (int)ratq_test_range(st, 0, 9), sh->in_w = need_w + (int)ratq_test_range(st, 0, 9);
    if (same) {
        ratq_same_padding(sh->in_h, kh, sh->stride_h, dil, &sh->out_h, &sh->pad_top, &sh->pad_bottom);
        ratq_same_padding(sh->in_w, kw, sh->stride_w, dil, &sh->out_w, &sh->pad_left, &sh->pad_right);
    } else { // VALID, or asymmetric explicit padding
        sh->pad_top = (int)ratq_test_range(st, 0, kh - 1), sh->pad_bottom = (int)ratq_test_range(st, 0, kh - 1);
        sh->pad_left = (int)ratq_test_range(st, 0, kw - 1), sh->pad_right = (int)ratq_test_range(st, 0, kw - 1);
        sh->out_h = ratq_conv_out_size(sh->in_h, kh, sh->stride_h, dil, sh->pad_top, sh->pad_bottom);
        sh->out_w = ratq_conv_out_size(sh->in_w, kw, sh->stride_w, dil, sh->pad_left, sh->pad_right);
    }
}

static void test_conv_random(int trials, uint64_t seed) {
    uint64_t st = seed;
    static const int ks[][2] = {{1, 1}, {1, 1}, {3, 3}, {3, 3}, {5, 5}, {7, 7}, {1, 3}, {3, 1}, {2, 2}};
    for (int t = 0; t < trials; t++) {
        ratq_conv_shape sh;
        memset(&sh, 0, sizeof sh);
        const int *kk = ks[ratq_test_range(&st, 0, 8)];
        random_geometry(&st, &sh, kk[0], kk[1], (int)ratq_test_range(&st, 1, 2), ratq_test_range(&st, 0, 4) ? 1 : 2,
                        (int)ratq_test_range(&st, 0, 2) != 0);
        sh.batch = (int)ratq_test_range(&st, 1, 3);
        sh.groups = ratq_test_range(&st, 0, 3) ? 1 : (int)ratq_test_range(&st, 2, 4);
        sh.in_c = sh.groups * (int)ratq_test_range(&st, 1, t % 5 == 0 ? 70 : 19);
        sh.out_c = sh.groups * (int)ratq_test_range(&st, 1, t % 3 == 0 ? 50 : 35);
        sh.depth_multiplier = 1;
        const int64_t n_in = (int64_t)sh.batch * sh.in_h * sh.in_w * sh.in_c;
        const int64_t n_w = (int64_t)sh.out_c * sh.kernel_h * sh.kernel_w * (sh.in_c / sh.groups);
        int8_t *in = xmalloc(n_in), *w = xmalloc(n_w);
        int32_t *bias = xmalloc(sizeof(int32_t) * sh.out_c);
        fill_s8(&st, in, n_in, -128, 127);
        fill_s8(&st, w, n_w, -128, 127);
        for (int c = 0; c < sh.out_c; c++) bias[c] = random_bias(&st);
        const int32_t w_off = ratq_test_range(&st, 0, 4) ? 0 : (int32_t)ratq_test_range(&st, -127, 128);
        char tag[160];
        snprintf(tag, sizeof tag, "conv trial %d (%dx%dx%d -> %dx%dx%d, k%dx%d s%d d%d g%d)", t, sh.in_h, sh.in_w,
                 sh.in_c, sh.out_h, sh.out_w, sh.out_c, sh.kernel_h, sh.kernel_w, sh.stride_h, sh.dilation_h, sh.groups);
        check_conv_case(&st, &sh, 0, in, w, random_offset(&st), w_off, ratq_test_range(&st, 0, 5) ? bias : NULL, tag);
        free(in), free(w), free(bias);
    }
}

static void test_depthwise_random(int trials, uint64_t seed) {
    uint64_t st = seed;
    for (int t = 0; t < trials; t++) {
        ratq_conv_shape sh;
        memset(&sh, 0, sizeof sh);
        const int k = t % 4 == 3 ? (int)ratq_test_range(&st, 1, 8) : (t % 2 ? 5 : 3);
        const int kw = t % 7 == 6 ? (int)ratq_test_range(&st, 1, 8) : k;
        random_geometry(&st, &sh, k, kw, (int)ratq_test_range(&st, 1, 2), ratq_test_range(&st, 0, 5) ? 1 : 2,
                        (int)ratq_test_range(&st, 0, 3) != 0);
        sh.batch = (int)ratq_test_range(&st, 1, 3);
        sh.groups = 1;
        sh.in_c = (int)ratq_test_range(&st, 1, t % 3 == 0 ? 100 : 40);
        sh.depth_multiplier = ratq_test_range(&st, 0, 7) ? 1 : 2;
        sh.out_c = sh.in_c * sh.depth_multiplier;
        const int64_t n_in = (int64_t)sh.batch * sh.in_h * sh.in_w * sh.in_c;
        const int64_t n_w = (int64_t)sh.kernel_h * sh.kernel_w * sh.out_c;
        int8_t *in = xmalloc(n_in), *w = xmalloc(n_w);
        int32_t *bias = xmalloc(sizeof(int32_t) * sh.out_c);
        fill_s8(&st, in, n_in, -128, 127);
        fill_s8(&st, w, n_w, -128, 127);
        for (int c = 0; c < sh.out_c; c++) bias[c] = random_bias(&st);
        char tag[160];
        snprintf(tag, sizeof tag, "depthwise trial %d (%dx%dx%d -> %dx%dx%d, k%dx%d s%d d%d m%d)", t, sh.in_h, sh.in_w,
                 sh.in_c, sh.out_h, sh.out_w, sh.out_c, sh.kernel_h, sh.kernel_w, sh.stride_h, sh.dilation_h,
                 sh.depth_multiplier);
        check_conv_case(&st, &sh, 1, in, w, random_offset(&st), 0, ratq_test_range(&st, 0, 5) ? bias : NULL, tag);
        free(in), free(w), free(bias);
    }
}

// The shapes of EfficientNet-Lite0 at a reduced resolution: the 3x3 stride-2 stem on 3 channels, depthwise 3x3 and
// 5x5 at strides 1 and 2 on multiples of 16 channels, 1x1 expand/project convs with the network's channel counts.
static void test_lite0_shapes(void) {
    uint64_t st = 77;
    struct { int dw, in_hw, in_c, out_c, k, stride; } cases[] = {
        {0, 33, 3, 32, 3, 2},   {1, 16, 32, 32, 3, 1},   {0, 16, 32, 16, 1, 1},  {0, 16, 16, 96, 1, 1},
        {1, 16, 96, 96, 3, 2},  {1, 8, 144, 144, 5, 2},  {1, 7, 240, 240, 5, 1}, {0, 7, 240, 40, 1, 1},
        {1, 7, 672, 672, 5, 1}, {1, 7, 1152, 1152, 3, 1}, {0, 7, 320, 1280, 1, 1}, {0, 4, 1152, 192, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ratq_conv_shape sh;
        memset(&sh, 0, sizeof sh);
        sh.batch = 2, sh.in_h = sh.in_w = cases[i].in_hw, sh.in_c = cases[i].in_c, sh.out_c = cases[i].out_c;
        sh.kernel_h = sh.kernel_w = cases[i].k, sh.stride_h = sh.stride_w = cases[i].stride;
        sh.dilation_h = sh.dilation_w = 1, sh.groups = 1, sh.depth_multiplier = 1;
        ratq_same_padding(sh.in_h, sh.kernel_h, sh.stride_h, 1, &sh.out_h, &sh.pad_top, &sh.pad_bottom);
        ratq_same_padding(sh.in_w, sh.kernel_w, sh.stride_w, 1, &sh.out_w, &sh.pad_left, &sh.pad_right);
        const int64_t n_in = (int64_t)sh.batch * sh.in_h * sh.in_w * sh.in_c;
        const int64_t n_w = (int64_t)sh.out_c * sh.kernel_h * sh.kernel_w * (cases[i].dw ? 1 : sh.in_c);
        int8_t *in = xmalloc(n_in), *w = xmalloc(n_w);
        int32_t *bias = xmalloc(sizeof(int32_t) * sh.out_c);
        fill_s8(&st, in, n_in, -128, 127);
        fill_s8(&st, w, n_w, -127, 127);
        for (int c = 0; c < sh.out_c; c++) bias[c] = random_bias(&st);
        for (int r = 0; r < 3; r++) { // the network's input offsets: 1 (stem), 128 (after ReLU6), a project output's
            char tag[96];
            snprintf(tag, sizeof tag, "lite0 shape %zu (%s k%d s%d, %d -> %d), offset case %d", i,
                     cases[i].dw ? "dw" : "conv", sh.kernel_h, sh.stride_h, sh.in_c, sh.out_c, r);
            check_conv_case(&st, &sh, cases[i].dw, in, w, r == 0 ? 1 : r == 1 ? 128 : -17, 0, bias, tag);
        }
        free(in), free(w), free(bias);
    }
}

static void test_fc_random(int trials, uint64_t seed) {
    uint64_t st = seed;
    for (int t = 0; t < trials; t++) {
        const int batch = (int)ratq_test_range(&st, 1, 13), depth = (int)ratq_test_range(&st, 1, t % 4 ? 300 : 1300);
        const int out_c = (int)ratq_test_range(&st, 1, 70);
        int8_t *in = xmalloc((size_t)batch * depth), *w = xmalloc((size_t)out_c * depth);
        int8_t *o_ref = xmalloc((size_t)batch * out_c), *o_fast = xmalloc((size_t)batch * out_c);
        int32_t *bias = xmalloc(sizeof(int32_t) * out_c), *a_ref = xmalloc(sizeof(int32_t) * batch * out_c),
                *a_fast = xmalloc(sizeof(int32_t) * batch * out_c);
        ratq_rescale *rs = xmalloc(sizeof(ratq_rescale) * out_c);
        fill_s8(&st, in, (int64_t)batch * depth, -128, 127);
        fill_s8(&st, w, (int64_t)out_c * depth, -128, 127);
        for (int c = 0; c < out_c; c++) bias[c] = random_bias(&st);
        random_rescales(&st, rs, out_c, (int)ratq_test_range(&st, 1, 31));
        const int32_t in_off = random_offset(&st), w_off = ratq_test_range(&st, 0, 3) ? 0 : (int32_t)ratq_test_range(&st, -20, 20);
        ratq_requant_s8 rq = {rs, (int)ratq_test_range(&st, 0, 1), (int32_t)ratq_test_range(&st, -128, 127), -128, 127,
                              random_rounding(&st)};
        ratq_fc_acc_s32_cpu(batch, depth, out_c, in, in_off, w, w_off, bias, a_ref);
        ratq_fc_acc_s32_fast(batch, depth, out_c, in, in_off, w, w_off, bias, a_fast);
        ratq_fc_s8_cpu(batch, depth, out_c, in, in_off, w, w_off, bias, &rq, o_ref);
        ratq_fc_s8_fast(batch, depth, out_c, in, in_off, w, w_off, bias, &rq, o_fast);
        int64_t f = 0;
        long d = count_diff_i32(a_ref, a_fast, (int64_t)batch * out_c, &f);
        CHECK_MSG(d == 0, "fc trial %d (%d x %d -> %d): %ld accumulators differ, first %lld: ref %d fast %d", t, batch,
                  depth, out_c, d, (long long)f, a_ref[f], a_fast[f]);
        d = count_diff_i8(o_ref, o_fast, (int64_t)batch * out_c, &f);
        CHECK_MSG(d == 0, "fc trial %d: %ld outputs differ", t, d);
        free(in), free(w), free(o_ref), free(o_fast), free(bias), free(a_ref), free(a_fast), free(rs);
    }
}

static void test_add_gap_requant(int trials, uint64_t seed) {
    uint64_t st = seed;
    for (int t = 0; t < trials; t++) {
        const int64_t count = ratq_test_range(&st, 1, 70000);
        int8_t *a = xmalloc(count), *b = xmalloc(count), *o_ref = xmalloc(count), *o_fast = xmalloc(count);
        fill_s8(&st, a, count, -128, 127);
        fill_s8(&st, b, count, -128, 127);
        ratq_add_params_s8 p;
        const int k = (int)ratq_test_range(&st, 1, 31);
        const ratq_rounding rnd = random_rounding(&st);
        CHECK_MSG(ratq_add_params_from_scales(0.01 + ratq_test_unit(&st), (int32_t)ratq_test_range(&st, -128, 127),
                                              0.01 + ratq_test_unit(&st), (int32_t)ratq_test_range(&st, -128, 127),
                                              0.01 + 2 * ratq_test_unit(&st), (int32_t)ratq_test_range(&st, -128, 127),
                                              k, rnd, &p) == 0, "add params");
        if (t % 5 == 0) p.act_min = (int32_t)ratq_test_range(&st, -128, 0), p.act_max = (int32_t)ratq_test_range(&st, 0, 127);
        ratq_add_s8_cpu(count, a, b, &p, o_ref, NULL);
        ratq_add_s8_fast(count, a, b, &p, o_fast);
        int64_t f = 0;
        long d = count_diff_i8(o_ref, o_fast, count, &f);
        CHECK_MSG(d == 0, "add trial %d (k %d, rounding %d): %ld of %lld differ", t, k, (int)rnd, d, (long long)count);
        free(a), free(b), free(o_ref), free(o_fast);

        // global average pool
        const int batch = (int)ratq_test_range(&st, 1, 3), h = (int)ratq_test_range(&st, 1, 12),
                  w = (int)ratq_test_range(&st, 1, 12), c = (int)ratq_test_range(&st, 1, 90);
        const int64_t n_in = (int64_t)batch * h * w * c;
        int8_t *x = xmalloc(n_in), *g_ref = xmalloc((size_t)batch * c), *g_fast = xmalloc((size_t)batch * c);
        fill_s8(&st, x, n_in, t % 7 == 0 ? -128 : -128, t % 7 == 0 ? -128 : 127);
        ratq_rescale rs;
        ratq_rescale_from_real(1.0 / (h * w) * (0.5 + ratq_test_unit(&st)), k, &rs);
        ratq_requant_s8 rq = {&rs, 0, (int32_t)ratq_test_range(&st, -128, 127), -128, 127, rnd};
        const int32_t off = (int32_t)ratq_test_range(&st, -127, 128);
        ratq_global_avgpool_s8_cpu(batch, h, w, c, x, off, &rq, g_ref, NULL);
        ratq_global_avgpool_s8_fast(batch, h, w, c, x, off, &rq, g_fast);
        d = count_diff_i8(g_ref, g_fast, (int64_t)batch * c, &f);
        CHECK_MSG(d == 0, "gap trial %d (%dx%dx%d): %ld differ", t, h, w, c, d);
        free(x), free(g_ref), free(g_fast);

        // output stage over random accumulators (the whole int32 range, with the extremes)
        const int ch = (int)ratq_test_range(&st, 1, 40);
        const int64_t cnt = ch * ratq_test_range(&st, 1, 200);
        int32_t *acc = xmalloc(sizeof(int32_t) * cnt);
        int8_t *r_ref = xmalloc(cnt), *r_fast = xmalloc(cnt);
        ratq_rescale *rss = xmalloc(sizeof(ratq_rescale) * ch);
        random_rescales(&st, rss, ch, k);
        for (int64_t i = 0; i < cnt; i++) {
            const int64_t mode = ratq_test_range(&st, 0, 3);
            acc[i] = mode == 0 ? (int32_t)(ratq_test_rng(&st) & 0xffffffffu)
                     : mode == 1 ? (ratq_test_range(&st, 0, 1) ? INT32_MIN : INT32_MAX)
                                 : (int32_t)ratq_test_range(&st, -70000, 70000);
        }
        ratq_requant_s8 rq2 = {rss, (int)ratq_test_range(&st, 0, 1), (int32_t)ratq_test_range(&st, -128, 127), -128, 127, rnd};
        ratq_requantize_s8_cpu(acc, cnt, ch, &rq2, r_ref);
        ratq_requantize_s8_fast(acc, cnt, ch, &rq2, r_fast);
        d = count_diff_i8(r_ref, r_fast, cnt, &f);
        CHECK_MSG(d == 0, "requantize trial %d: %ld of %lld differ", t, d, (long long)cnt);
        free(acc), free(r_ref), free(r_fast), free(rss);
    }
}

// The output stage alone, aimed at the vector epilogue's cases: rescalers from 2^-45 to 2^9 (right shifts up to
// k + 31, left shifts, m = 0), powers of two (many exact ties), accumulators over the whole int32 range and at
// half-way points, per-channel and per-tensor, channel tails, zero points and clamps anywhere in int8.
static void test_requant_edges(int trials, uint64_t seed) {
    uint64_t st = seed;
    long ties = 0;
    for (int t = 0; t < trials; t++) {
        const int n = (int)ratq_test_range(&st, 1, 45), rows = (int)ratq_test_range(&st, 1, 40), k = (int)ratq_test_range(&st, 1, 31);
        ratq_rescale *rs = xmalloc(sizeof(ratq_rescale) * n);
        int32_t *acc = xmalloc(sizeof(int32_t) * n * rows);
        int8_t *o_ref = xmalloc((size_t)n * rows), *o_fast = xmalloc((size_t)n * rows);
        for (int c = 0; c < n; c++) {
            const int e = (int)ratq_test_range(&st, -9, 45);
            const double M = ratq_test_range(&st, 0, 3) ? ldexp(1.0 + ratq_test_unit(&st), -e) : ldexp(1.0, -e);
            if (ratq_rescale_from_real(M, k, &rs[c]) || ratq_test_range(&st, 0, 40) == 0) rs[c] = (ratq_rescale){0, 0};
        }
        for (int i = 0; i < n * rows; i++) {
            const ratq_rescale r = rs[i % n];
            switch (ratq_test_range(&st, 0, 4)) {
            case 0: acc[i] = (int32_t)(ratq_test_rng(&st) & 0xffffffffu); break;
            case 1: acc[i] = ratq_test_range(&st, 0, 1) ? INT32_MIN + (int32_t)ratq_test_range(&st, 0, 3) : INT32_MAX - (int32_t)ratq_test_range(&st, 0, 3); break;
            case 2: acc[i] = (int32_t)ratq_test_range(&st, -3000, 3000); break;
            default: { // acc * m at (or one off) a half-way point of 2^s, when that fits
                const int d = r.s - ratq_bitlen_u32((uint32_t)r.m) + 1;
                const int64_t j = ratq_test_range(&st, -200, 200), half = r.m && d >= 1 && d < 20 ? (int64_t)1 << (d - 1) : 0;
                const int64_t v = half ? (2 * j + 1) * half * ((int64_t)1 << (ratq_bitlen_u32((uint32_t)r.m) - 1)) / r.m : j;
                acc[i] = (int32_t)ratq_clamp_i64(v + ratq_test_range(&st, -1, 1), INT32_MIN, INT32_MAX);
                ties += half != 0;
            }
            }
        }
        const int32_t lo = (int32_t)ratq_test_range(&st, -128, 127), hi = (int32_t)ratq_test_range(&st, lo, 127);
        ratq_requant_s8 rq = {rs, (int)ratq_test_range(&st, 0, 3) != 0, (int32_t)ratq_test_range(&st, -128, 127), lo, hi,
                              random_rounding(&st)};
        ratq_requantize_s8_cpu(acc, (int64_t)n * rows, n, &rq, o_ref);
        ratq_requantize_s8_fast(acc, (int64_t)n * rows, n, &rq, o_fast);
        int64_t f = 0;
        const long d = count_diff_i8(o_ref, o_fast, (int64_t)n * rows, &f);
        CHECK_MSG(d == 0, "requant edge trial %d (k %d, rounding %d, channel %d m %d s %d, acc %d): %ld differ, first ref %d fast %d",
                  t, k, (int)rq.rounding, (int)(f % n), rs[rq.per_channel ? f % n : 0].m, rs[rq.per_channel ? f % n : 0].s,
                  acc[f], d, o_ref[f], o_fast[f]);
        free(rs), free(acc), free(o_ref), free(o_fast);
    }
    CHECK_MSG(ties > 1000, "only %ld accumulators aimed at half-way points", ties);
}

// Extreme operands: every product -128 * -128 = 2^14 (a vpmaddubsw-style int16 pair sum 2^15 would saturate),
// +127 * -128, and x + offset = 255 against w = -128; the accumulators also equal their closed form.
static void test_extremes(void) {
    struct { int8_t x, w; int32_t off; } cases[] = {{-128, -128, 0}, {127, -128, 0}, {127, -128, 128}, {-128, -128, -127},
                                                   {-128, 127, 0}, {127, 127, 128}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        // conv 1x1 with K = 1152 (the widest Lite0 reduction), 3x3 with 64 channels, depthwise 5x5, FC 1280
        ratq_conv_shape sh = {1, 5, 5, 1152, 5, 5, 19, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
        const int64_t n_in = 5 * 5 * 1152, n_w = 19 * 1280;
        int8_t *in = xmalloc(n_in), *w = xmalloc(n_w);
        memset(in, cases[i].x, n_in);
        memset(w, cases[i].w, n_w);
        int32_t acc[5 * 5 * 1152];
        ratq_conv_acc_s32_fast(&sh, in, cases[i].off, w, 0, NULL, acc);
        const int64_t want = (int64_t)1152 * (cases[i].x + cases[i].off) * cases[i].w;
        long bad = 0;
        for (int j = 0; j < 5 * 5 * 19; j++) bad += acc[j] != want;
        CHECK_MSG(bad == 0, "extreme 1x1 case %zu: %ld accumulators != %lld (first %d)", i, bad, (long long)want, acc[0]);
        ratq_conv_shape s3 = {1, 6, 6, 64, 6, 6, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        uint64_t st = 5;
        check_conv_case(&st, &s3, 0, in, w, cases[i].off, 0, NULL, "extreme 3x3");
        ratq_conv_shape dw = {1, 9, 9, 48, 5, 5, 48, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 1, 1};
        check_conv_case(&st, &dw, 1, in, w, cases[i].off, 0, NULL, "extreme depthwise 5x5 s2");
        ratq_conv_shape full = dw;
        full.stride_h = full.stride_w = 1, full.out_h = full.out_w = 9;
        int32_t dacc[9 * 9 * 48];
        ratq_depthwise_acc_s32_fast(&full, in, cases[i].off, w, NULL, dacc);
        const int64_t dwant = (int64_t)25 * (cases[i].x + cases[i].off) * cases[i].w; // the centre pixel
        CHECK_EQ_I64(dacc[(4 * 9 + 4) * 48 + 47], dwant, "extreme depthwise case %zu centre", i);
        int32_t facc[19];
        ratq_fc_acc_s32_fast(1, 1280, 19, in, cases[i].off, w, 0, NULL, facc);
        CHECK_EQ_I64(facc[18], (int64_t)1280 * (cases[i].x + cases[i].off) * cases[i].w, "extreme fc case %zu", i);
        free(in), free(w);
    }
    // Operands outside the exactness bound: large offsets push max|x + offset| * max|w + filter_offset| * K past
    // int32; the fast entry points must give the reference's saturated accumulators.
    ratq_conv_shape sh = {1, 3, 3, 3000, 3, 3, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    int8_t *in = xmalloc(9 * 3000), *w = xmalloc(5 * 3000);
    memset(in, 127, 9 * 3000);
    memset(w, 127, 5 * 3000);
    uint64_t st = 9;
    check_conv_case(&st, &sh, 0, in, w, 30000, 20000, NULL, "beyond the bound");
    int32_t bias[5] = {INT32_MAX, INT32_MIN, 0, -5, 5};
    check_conv_case(&st, &sh, 0, in, w, 128, 0, bias, "saturating biases");
    free(in), free(w);
}

int main(void) {
    for (int pass = 0; pass < 3; pass++) {
        if (ratq_fast_set_isa(RATQ_TEST_ISAS[pass])) continue; // not on this CPU
        printf("kernels: %s\n", ratq_fast_isa());
        const long before = ratq_test_failures;
        test_conv_random(260, 1 + pass);
        test_depthwise_random(260, 100 + pass);
        test_lite0_shapes();
        test_fc_random(120, 200 + pass);
        test_add_gap_requant(60, 300 + pass);
        test_requant_edges(3000, 400 + pass);
        test_extremes();
        CHECK_MSG(ratq_test_failures == before, "%s kernels differ from the reference", ratq_fast_isa());
    }
    CHECK_MSG(ratq_fast_set_isa("c") == 0 && ratq_fast_set_isa("no-such-isa") != 0, "ratq_fast_set_isa");
    ratq_fast_set_isa(NULL);
    return ratq_test_finish("test_int_fast");
}
