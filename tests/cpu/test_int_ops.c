// test_int_ops.c — the CPU integer engine beyond the CMSIS-NN vectors: SAME padding, shape checks,
// fused == accumulate + requantize, cross-checks between ops (1x1 conv == FC, depthwise == grouped conv),
// average pool and global average pool against rational references, TFLite ADD exactness and accuracy.
#include <string.h>

#include "cpu/int_ops.h"
#include "test_util.h"

static void fill_s8(uint64_t *st, int8_t *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = (int8_t)ratq_test_range(st, -128, 127);
}

static void test_same_padding(void) {
    static const int cases[][7] = {
        // in, k, stride, dilation -> out, before, after
        {224, 3, 2, 1, 112, 0, 1}, {112, 3, 1, 1, 112, 1, 1}, {56, 5, 2, 1, 28, 1, 2},
        {7, 5, 1, 1, 7, 2, 2},     {7, 1, 2, 1, 4, 0, 0},     {10, 3, 1, 2, 10, 2, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int out, b, a;
        ratq_same_padding(cases[i][0], cases[i][1], cases[i][2], cases[i][3], &out, &b, &a);
        CHECK_MSG(out == cases[i][4] && b == cases[i][5] && a == cases[i][6], "SAME case %zu: %d %d %d", i, out, b, a);
    }
    ratq_conv_shape sh = {1, 8, 8, 4, 4, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1};
    CHECK_MSG(ratq_conv_shape_check(&sh, RATQ_SHAPE_CONV) == NULL, "valid shape rejected");
    sh.out_h = 5;
    CHECK_MSG(ratq_conv_shape_check(&sh, RATQ_SHAPE_CONV) && !strcmp(ratq_conv_shape_check(&sh, RATQ_SHAPE_CONV), "out_h"),
              "out_h not flagged");
    sh.out_h = 4, sh.groups = 3;
    CHECK_MSG(ratq_conv_shape_check(&sh, RATQ_SHAPE_CONV) != NULL, "bad groups accepted");
    sh.groups = 1, sh.depth_multiplier = 2;
    CHECK_MSG(ratq_conv_shape_check(&sh, RATQ_SHAPE_DEPTHWISE) != NULL, "bad depth multiplier accepted");
}

static ratq_conv_shape random_shape(uint64_t *st, int depthwise) {
    ratq_conv_shape sh;
    memset(&sh, 0, sizeof sh);
    sh.batch = (int)ratq_test_range(st, 1, 2);
    sh.in_h = (int)ratq_test_range(st, 3, 9), sh.in_w = (int)ratq_test_range(st, 3, 9);
    sh.kernel_h = (int)ratq_test_range(st, 1, 3), sh.kernel_w = (int)ratq_test_range(st, 1, 3);
    sh.stride_h = (int)ratq_test_range(st, 1, 2), sh.stride_w = (int)ratq_test_range(st, 1, 2);
    sh.dilation_h = (int)ratq_test_range(st, 1, 2), sh.dilation_w = 1;
    ratq_same_padding(sh.in_h, sh.kernel_h, sh.stride_h, sh.dilation_h, &sh.out_h, &sh.pad_top, &sh.pad_bottom);
    ratq_same_padding(sh.in_w, sh.kernel_w, sh.stride_w, sh.dilation_w, &sh.out_w, &sh.pad_left, &sh.pad_right);
    if (depthwise) {
        sh.in_c = (int)ratq_test_range(st, 1, 5), sh.depth_multiplier = (int)ratq_test_range(st, 1, 3);
        sh.out_c = sh.in_c * sh.depth_multiplier;
    } else {
        sh.groups = (int)ratq_test_range(st, 1, 3);
        sh.in_c = sh.groups * (int)ratq_test_range(st, 1, 4), sh.out_c = sh.groups * (int)ratq_test_range(st, 1, 4);
    }
    return sh;
}

static void random_rescales(uint64_t *st, ratq_rescale *rs, int n, int k) {
    for (int c = 0; c < n; c++) ratq_rescale_from_real(ldexp(1.0 + ratq_test_unit(st), -(int)ratq_test_range(st, 6, 12)), k, &rs[c]);
}

// Fused conv/depthwise/FC == accumulate + ratq_requantize_s8_cpu; the mask agrees with the clamp.
static void test_fused_equals_split(void) {
    uint64_t st = 11;
    for (int trial = 0; trial < 60; trial++) {
        int dw = trial % 2;
        ratq_conv_shape sh = random_shape(&st, dw);
        CHECK_MSG(ratq_conv_shape_check(&sh, dw ? RATQ_SHAPE_DEPTHWISE : RATQ_SHAPE_CONV) == NULL, "random shape invalid");
        int64_t n_in = (int64_t)sh.batch * sh.in_h * sh.in_w * sh.in_c;
        int64_t n_out = (int64_t)sh.batch * sh.out_h * sh.out_w * sh.out_c;
        int64_t n_w = dw ? (int64_t)sh.kernel_h * sh.kernel_w * sh.out_c
                         : (int64_t)sh.out_c * sh.kernel_h * sh.kernel_w * (sh.in_c / sh.groups);
        int8_t *in = malloc(n_in), *w = malloc(n_w), *o1 = malloc(n_out), *o2 = malloc(n_out);
        int32_t *bias = malloc(sizeof(int32_t) * sh.out_c), *acc = malloc(sizeof(int32_t) * n_out);
        uint8_t *mask = malloc(n_out);
        ratq_rescale *rs = malloc(sizeof(ratq_rescale) * sh.out_c);
        fill_s8(&st, in, n_in);
        fill_s8(&st, w, n_w);
        for (int c = 0; c < sh.out_c; c++) bias[c] = (int32_t)ratq_test_range(&st, -5000, 5000);
        random_rescales(&st, rs, sh.out_c, (int)ratq_test_range(&st, 1, 31));
        ratq_requant_s8 rq = {rs, 1, (int32_t)ratq_test_range(&st, -10, 10), -100, 120, (ratq_rounding)(trial % 3)};
        int32_t in_off = (int32_t)ratq_test_range(&st, -128, 127);
        if (dw) {
            ratq_depthwise_s8_cpu(&sh, in, in_off, w, bias, &rq, o1);
            ratq_depthwise_acc_s32_cpu(&sh, in, in_off, w, bias, acc);
        } else {
            ratq_conv_s8_cpu(&sh, in, in_off, w, 0, bias, &rq, o1);
            ratq_conv_acc_s32_cpu(&sh, in, in_off, w, 0, bias, acc);
        }
        ratq_requantize_s8_cpu(acc, n_out, sh.out_c, &rq, o2);
        ratq_requantize_mask_cpu(acc, n_out, sh.out_c, &rq, mask);
        for (int64_t i = 0; i < n_out; i++) {
            CHECK_EQ_I64(o1[i], o2[i], "fused vs split trial %d i %lld", trial, (long long)i);
            int64_t y = (int64_t)ratq_scale(acc[i], rs[i % sh.out_c], rq.rounding) + rq.output_offset;
            CHECK_EQ_I64(mask[i], y >= rq.act_min && y <= rq.act_max, "mask trial %d i %lld", trial, (long long)i);
        }
        free(in), free(w), free(o1), free(o2), free(bias), free(acc), free(mask), free(rs);
    }
}

// Two independent code paths must agree: 1x1 stride-1 conv == FC over pixels; depthwise (multiplier 1)
// == grouped conv with groups = channels (weights [kh][kw][c] -> [c][kh][kw][1]).
static void test_cross_checks(void) {
    uint64_t st = 12;
    enum { B = 2, H = 5, W = 4, C = 6, O = 7 };
    int8_t in[B * H * W * C], w[O * C], o_conv[B * H * W * O], o_fc[B * H * W * O];
    int32_t bias[O];
    ratq_rescale rs[O];
    fill_s8(&st, in, sizeof in);
    fill_s8(&st, w, sizeof w);
    for (int c = 0; c < O; c++) bias[c] = (int32_t)ratq_test_range(&st, -3000, 3000);
    random_rescales(&st, rs, O, 4);
    ratq_requant_s8 rq = {rs, 1, 3, -128, 127, RATQ_ROUND_SINGLE};
    ratq_conv_shape sh = {B, H, W, C, H, W, O, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0};
    ratq_conv_s8_cpu(&sh, in, 17, w, -3, bias, &rq, o_conv);
    ratq_fc_s8_cpu(B * H * W, C, O, in, 17, w, -3, bias, &rq, o_fc);
    for (int i = 0; i < B * H * W * O; i++) CHECK_EQ_I64(o_conv[i], o_fc[i], "1x1 conv vs fc at %d", i);

    enum { K = 3 };
    int8_t wd[K * K * C], wg[C * K * K], o_dw[B * H * W * C], o_gc[B * H * W * C];
    fill_s8(&st, wd, sizeof wd);
    for (int c = 0; c < C; c++)
        for (int t = 0; t < K * K; t++) wg[c * K * K + t] = wd[t * C + c];
    ratq_conv_shape sd = {B, H, W, C, H, W, C, K, K, 1, 1, 1, 1, 1, 1, 1, 1, C, 1};
    ratq_rescale rs6[C];
    random_rescales(&st, rs6, C, 8);
    ratq_requant_s8 rq6 = {rs6, 1, -2, -128, 127, RATQ_ROUND_TFLITE};
    ratq_depthwise_s8_cpu(&sd, in, 5, wd, bias, &rq6, o_dw);
    ratq_conv_s8_cpu(&sd, in, 5, wg, 0, bias, &rq6, o_gc);
    for (int i = 0; i < B * H * W * C; i++) CHECK_EQ_I64(o_dw[i], o_gc[i], "depthwise vs grouped conv at %d", i);
}

// round(n/d) half away from zero, written with floating-point-free rational arithmetic.
static int64_t round_half_away(int64_t n, int64_t d) {
    int64_t a = (2 * (n < 0 ? -n : n) + d) / (2 * d);
    return n < 0 ? -a : a;
}

static void test_pools(void) {
    uint64_t st = 13;
    for (int trial = 0; trial < 30; trial++) {
        ratq_conv_shape sh = random_shape(&st, 1);
        sh.depth_multiplier = 1, sh.out_c = sh.in_c, sh.dilation_h = sh.dilation_w = 1;
        ratq_same_padding(sh.in_h, sh.kernel_h, sh.stride_h, 1, &sh.out_h, &sh.pad_top, &sh.pad_bottom);
        CHECK_MSG(ratq_conv_shape_check(&sh, RATQ_SHAPE_POOL) == NULL, "pool shape");
        int64_t n_in = (int64_t)sh.batch * sh.in_h * sh.in_w * sh.in_c, n_out = (int64_t)sh.batch * sh.out_h * sh.out_w * sh.out_c;
        int8_t *in = malloc(n_in), *out = malloc(n_out);
        fill_s8(&st, in, n_in);
        ratq_avgpool_s8_cpu(&sh, in, -100, 100, out);
        for (int n = 0; n < sh.batch; n++)
            for (int oy = 0; oy < sh.out_h; oy++)
                for (int ox = 0; ox < sh.out_w; ox++)
                    for (int c = 0; c < sh.out_c; c++) {
                        int64_t sum = 0, cnt = 0;
                        for (int iy = oy * sh.stride_h - sh.pad_top; iy < oy * sh.stride_h - sh.pad_top + sh.kernel_h; iy++)
                            for (int ix = ox * sh.stride_w - sh.pad_left; ix < ox * sh.stride_w - sh.pad_left + sh.kernel_w; ix++)
                                if (iy >= 0 && iy < sh.in_h && ix >= 0 && ix < sh.in_w)
                                    sum += in[((n * sh.in_h + iy) * sh.in_w + ix) * sh.in_c + c], cnt++;
                        int64_t want = round_half_away(sum, cnt);
                        want = want < -100 ? -100 : want > 100 ? 100 : want;
                        CHECK_EQ_I64(out[((n * sh.out_h + oy) * sh.out_w + ox) * sh.out_c + c], want, "avgpool");
                    }
        free(in), free(out);
    }
    // Global average pool with S_x = S_y over 4x4: M = 1/16 exactly, y = R(sum(x - z_x)/16) + z_y; the STE mask is
    // 1 where that value lies in the clamp (narrowed to [-20, 20] so that it binds; full range with a NULL mask).
    enum { B = 2, H = 4, W = 4, C = 5 };
    int8_t in[B * H * W * C], out[B * C];
    uint8_t mask[B * C];
    fill_s8(&st, in, sizeof in);
    ratq_rescale r;
    ratq_rescale_from_real(1.0 / 16, 4, &r);
    long clamped = 0;
    for (int mode = 0; mode < 3; mode++)
        for (int narrow = 0; narrow < 2; narrow++) {
            const int32_t lo = narrow ? -20 : -128, hi = narrow ? 20 : 127;
            ratq_requant_s8 rq = {&r, 0, 7, lo, hi, (ratq_rounding)mode};
            memset(mask, 0x5A, sizeof mask);
            ratq_global_avgpool_s8_cpu(B, H, W, C, in, 9, &rq, out, narrow ? mask : NULL);
            for (int n = 0; n < B; n++)
                for (int c = 0; c < C; c++) {
                    int64_t sum = 0;
                    for (int i = 0; i < H * W; i++) sum += in[(n * H * W + i) * C + c] + 9;
                    int64_t fl = sum >= 0 ? sum / 16 : -((-sum + 15) / 16), rem = sum - fl * 16, want;
                    if (mode == RATQ_ROUND_SINGLE) want = fl + (rem >= 8);
                    else if (mode == RATQ_ROUND_HALF_EVEN) want = fl + (rem > 8 || (rem == 8 && (fl & 1)));
                    else want = round_half_away(sum, 16);
                    want += 7;
                    const int inside = want >= lo && want <= hi;
                    want = want < lo ? lo : want > hi ? hi : want;
                    CHECK_EQ_I64(out[n * C + c], want, "global avgpool mode %d n %d c %d", mode, n, c);
                    if (narrow) CHECK_EQ_I64(mask[n * C + c], inside, "global avgpool mask mode %d n %d c %d", mode, n, c);
                    else CHECK_EQ_I64(mask[n * C + c], 0x5A, "NULL mask written, mode %d", mode);
                    clamped += narrow && !inside;
                }
        }
    CHECK_MSG(clamped > 0 && clamped < 3 * B * C, "global avgpool: %ld of %d masks 0", clamped, 3 * B * C);
}

static void test_add(void) {
    uint64_t st = 14;
    // Equal scales: TFLite ADD is exact: y = (a - z_a) + (b - z_b) + z_y, clamped (any k, any rounding); the STE
    // mask is 1 exactly where the unclamped sum lies in [act_min, act_max].
    long clamped = 0;
    for (int k = 1; k <= 31; k += 5) {
        ratq_add_params_s8 p;
        CHECK_MSG(ratq_add_params_from_scales(0.05, 3, 0.05, -7, 0.05, 2, k, RATQ_ROUND_SINGLE, &p) == 0, "params");
        if (k > 20) p.act_min = -100, p.act_max = 90;
        for (int i = 0; i < 2000; i++) {
            int8_t a = (int8_t)ratq_test_range(&st, -128, 127), b = (int8_t)ratq_test_range(&st, -128, 127), y;
            uint8_t m = 0x5A;
            ratq_add_s8_cpu(1, &a, &b, &p, &y, &m);
            int64_t want = (a - 3) + (b + 7) + 2;
            const int inside = want >= p.act_min && want <= p.act_max;
            CHECK_EQ_I64(y, want < p.act_min ? p.act_min : want > p.act_max ? p.act_max : want,
                         "exact add k=%d a=%d b=%d", k, a, b);
            CHECK_EQ_I64(m, inside, "exact add mask k=%d a=%d b=%d", k, a, b);
            clamped += !inside;
        }
    }
    CHECK_MSG(clamped > 0, "add: the clamp never bound");
    // Random scales, 31-bit rescalers: within 1 of the real-valued result round(S_a(a-z_a)/S_y + S_b(b-z_b)/S_y) + z_y
    // (three roundings of which the last dominates; the first two are 2^-20-fine).
    for (int t = 0; t < 50; t++) {
        double sa = 0.01 + 0.1 * ratq_test_unit(&st), sb = 0.01 + 0.1 * ratq_test_unit(&st), sy = 0.02 + 0.1 * ratq_test_unit(&st);
        int32_t za = (int32_t)ratq_test_range(&st, -20, 20), zb = (int32_t)ratq_test_range(&st, -20, 20), zy = (int32_t)ratq_test_range(&st, -20, 20);
        ratq_add_params_s8 p;
        CHECK_MSG(ratq_add_params_from_scales(sa, za, sb, zb, sy, zy, 31, (ratq_rounding)(t % 3), &p) == 0, "params");
        for (int i = 0; i < 200; i++) {
            int8_t a = (int8_t)ratq_test_range(&st, -128, 127), b = (int8_t)ratq_test_range(&st, -128, 127), y;
            ratq_add_s8_cpu(1, &a, &b, &p, &y, NULL);
            double real = (sa * (a - za) + sb * (b - zb)) / sy + zy;
            real = real < -128 ? -128 : real > 127 ? 127 : real;
            CHECK_MSG(fabs(y - real) <= 1.0, "add: got %d, real %.4f", y, real);
        }
    }
    ratq_add_params_s8 p;
    CHECK_MSG(ratq_add_params_from_scales(0.0, 0, 0.1, 0, 0.1, 0, 8, RATQ_ROUND_SINGLE, &p) == -1, "zero scale accepted");
    CHECK_MSG(ratq_add_params_from_scales(NAN, 0, 0.1, 0, 0.1, 0, 8, RATQ_ROUND_SINGLE, &p) == -1, "NaN scale accepted");
}

int main(void) {
    test_same_padding();
    test_fused_equals_split();
    test_cross_checks();
    test_pools();
    test_add();
    return ratq_test_finish("test_int_ops");
}
