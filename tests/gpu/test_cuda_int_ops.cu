// test_cuda_int_ops.cu — every forward CUDA integer op (kernels/cuda/ops_cuda.h) against its CPU twin
// (kernels/cpu/int_ops.h) on random int8 inputs: int8 outputs, uint8 STE masks and int32 accumulators must be
// IDENTICAL. Table-driven over ops and shapes (EfficientNet-Lite0 1x1 layers, the 3x3 stride-2 stem 224->112,
// depthwise 3x3 / 5x5 stride 1 / 2 SAME, FC 1280->1000, residual add, global average pool, plus odd shapes
// that take the byte-load / unaligned / offset / direct-conv paths), k in {31, 8, 4, 1}, all three rounding
// modes, per-tensor and per-channel rescalers. Reference masks: ratq_requantize_mask_cpu over the CPU
// accumulators (for the add: over ratq_add_acc_s8, whose outputs are also checked against ratq_add_s8_cpu).
// Rescalers are derived from the CPU accumulators so outputs span the int8 range and the clamp binds on some
// elements; the test fails if no mask is 0 or none is 1 (it could not catch a wrong mask then).
// Exit 77 (skipped) without a CUDA device. Seed: RATQ_TEST_SEED (default 1), printed; RATQ_TEST_CASE=<substring>
// runs only the matching cases.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_check.h"
#include "cuda/epilogue.cuh"
#include "cuda/ops_cuda.h"
#include "test_util.h"

typedef enum { OP_CONV, OP_DW, OP_FC, OP_ADD, OP_GAP } op_kind;

typedef struct {
    const char *name;
    op_kind op;
    int batch, h, w, in_c, out_c; // input [batch][h][w][in_c] (FC: depth = in_c; ADD: count = batch*h*w*in_c)
    int kernel, stride, same;     // same = 1: TF SAME padding, 0: no padding
    int groups, dilation, dm;     // conv groups, dilation, depthwise multiplier
    int input_offset, filter_offset;
    int extreme_bias;  // bias[0] = INT32_MAX, bias[1] = INT32_MIN (int32 saturation path)
    int misalign;      // device pointers offset by 1 byte (no vector loads / stores)
} op_case;

static const op_case CASES[] = {
    // EfficientNet-Lite0 1x1 (pointwise) layers: implicit GEMM, word loads, vector stores.
    {"pw 56x56x24->144", OP_CONV, 2, 56, 56, 24, 144, 1, 1, 0, 1, 1, 1, 5, 0, 0, 0},
    {"pw 28x28x144->40", OP_CONV, 2, 28, 28, 144, 40, 1, 1, 0, 1, 1, 1, -3, 0, 0, 0},
    {"pw 14x14x80->480", OP_CONV, 2, 14, 14, 80, 480, 1, 1, 0, 1, 1, 1, 128, 0, 0, 0},
    {"pw 7x7x320->1280", OP_CONV, 2, 7, 7, 320, 1280, 1, 1, 0, 1, 1, 1, -127, 0, 0, 0},
    {"pw 7x7x1152->192 io=0", OP_CONV, 1, 7, 7, 1152, 192, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0},
    // Odd pointwise: K, N not multiples of 4 (byte loads), filter offset, saturating bias, unaligned pointers.
    {"pw 7x5x27->37 fo", OP_CONV, 3, 7, 5, 27, 37, 1, 1, 0, 1, 1, 1, 7, -2, 1, 0},
    {"pw 9x9x32->64 unaligned", OP_CONV, 2, 9, 9, 32, 64, 1, 1, 0, 1, 1, 1, 11, 3, 0, 1},
    // Stem: full 3x3 conv, in_c = 3, stride 2, SAME, 224 -> 112 (direct kernel).
    {"stem 224x224x3->112x112x32", OP_CONV, 1, 224, 224, 3, 32, 3, 2, 1, 1, 1, 1, 1, 0, 0, 0},
    // Direct conv generality: grouped, dilated, padded, filter offset; 1x1 stride 2 (not a GEMM).
    {"conv 3x3 g2 d2 fo", OP_CONV, 2, 11, 9, 8, 12, 3, 1, 1, 2, 2, 1, -5, 4, 1, 0},
    {"conv 1x1 s2", OP_CONV, 2, 13, 13, 16, 24, 1, 2, 0, 1, 1, 1, 2, 0, 0, 0},
    // Depthwise 3x3 / 5x5, stride 1 / 2, SAME.
    {"dw3 s1 28x28x144", OP_DW, 2, 28, 28, 144, 144, 3, 1, 1, 1, 1, 1, 9, 0, 0, 0},
    {"dw3 s2 56x56x144", OP_DW, 1, 56, 56, 144, 144, 3, 2, 1, 1, 1, 1, -1, 0, 0, 0},
    {"dw5 s1 14x14x480", OP_DW, 2, 14, 14, 480, 480, 5, 1, 1, 1, 1, 1, 128, 0, 0, 0},
    {"dw5 s2 28x28x240", OP_DW, 2, 28, 28, 240, 240, 5, 2, 1, 1, 1, 1, -128, 0, 1, 0},
    {"dw3 s2 odd 15x13x6 dm2 d2", OP_DW, 2, 15, 13, 6, 12, 3, 2, 1, 1, 2, 2, 4, 0, 0, 1},
    // Fully connected (classifier 1280 -> 1000) and an odd one with a filter offset.
    {"fc 1280->1000", OP_FC, 4, 1, 1, 1280, 1000, 1, 1, 0, 1, 1, 1, 3, 0, 0, 0},
    {"fc 37->10 fo", OP_FC, 5, 1, 1, 37, 10, 1, 1, 0, 1, 1, 1, -9, 6, 1, 1},
    // Residual add and global average pool.
    {"add 2x28x28x40", OP_ADD, 2, 28, 28, 40, 40, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0},
    {"add odd 1003 unaligned", OP_ADD, 1, 1, 17, 59, 59, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1},
    {"gap 7x7x1280", OP_GAP, 4, 7, 7, 1280, 1280, 1, 1, 0, 1, 1, 1, 6, 0, 0, 0},
    {"gap 5x3x19", OP_GAP, 3, 5, 3, 19, 19, 1, 1, 0, 1, 1, 1, -100, 0, 0, 1},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))
static const int KS[] = {31, 8, 4, 1};

static long mask_zeros, mask_ones;

// Device buffer of n bytes, returned offset by `off` bytes (the allocation is kept in *base for cudaFree).
static void *dev_alloc(size_t n, int off, void **base) {
    CUDA_CHECK(cudaMalloc(base, n + 16));
    return (char *)*base + off;
}

// Compare two byte / int32 buffers; print the first mismatches; count them as check failures.
static void compare_bytes(const char *what, const op_case *c, int k, int mode, const void *want, const void *got,
                          int64_t n, int is_signed) {
    int64_t bad = 0, first = -1;
    const uint8_t *a = (const uint8_t *)want, *b = (const uint8_t *)got;
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i]) {
            if (bad < 5)
                fprintf(stderr, "  %s [%s] k=%d mode=%d i=%lld: cpu %d gpu %d\n", what, c->name, k, mode, (long long)i,
                        is_signed ? (int)(int8_t)a[i] : a[i], is_signed ? (int)(int8_t)b[i] : b[i]);
            if (first < 0) first = i;
            bad++;
        }
    CHECK_MSG(bad == 0, "%s [%s] k=%d mode=%d: %lld of %lld differ (first at %lld)", what, c->name, k, mode,
              (long long)bad, (long long)n, (long long)first);
}

static void compare_i32(const char *what, const op_case *c, const int32_t *want, const int32_t *got, int64_t n) {
    int64_t bad = 0;
    int64_t maxd = 0;
    for (int64_t i = 0; i < n; i++)
        if (want[i] != got[i]) {
            if (bad < 5)
                fprintf(stderr, "  %s [%s] i=%lld: cpu %d gpu %d\n", what, c->name, (long long)i, want[i], got[i]);
            const int64_t d = llabs((int64_t)want[i] - got[i]);
            maxd = d > maxd ? d : maxd;
            bad++;
        }
    CHECK_MSG(bad == 0, "%s [%s]: %lld of %lld accumulators differ, max |diff| %lld", what, c->name, (long long)bad,
              (long long)n, (long long)maxd);
}

static void fill_s8(uint64_t *st, int8_t *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = (int8_t)ratq_test_range(st, -128, 127);
}

// Per-channel rescalers so that |acc| max of each channel maps to 40..160 output steps (some outputs clamp).
static void derive_rescales(uint64_t *st, const int32_t *acc, int64_t count, int channels, int k, ratq_rescale *rs) {
    double *mx = (double *)calloc((size_t)channels, sizeof(double));
    for (int64_t i = 0; i < count; i++) {
        const double a = fabs((double)acc[i]);
        const int c = (int)(i % channels);
        mx[c] = a > mx[c] ? a : mx[c];
    }
    for (int c = 0; c < channels; c++) {
        const double target = 40.0 + 120.0 * ratq_test_unit(st);
        const double M = target / (mx[c] > 1.0 ? mx[c] : 1.0);
        if (ratq_rescale_from_real(M, k, &rs[c])) rs[c].m = 0, rs[c].s = 0;
    }
    free(mx);
}

static void count_mask(const uint8_t *m, int64_t n) {
    for (int64_t i = 0; i < n; i++) m[i] ? mask_ones++ : mask_zeros++;
}

static void run_case(const op_case *c, uint64_t *st) {
    const int off = c->misalign ? 1 : 0;
    ratq_conv_shape sh;
    memset(&sh, 0, sizeof sh);
    sh.batch = c->batch, sh.in_h = c->h, sh.in_w = c->w, sh.in_c = c->in_c, sh.out_c = c->out_c;
    sh.kernel_h = sh.kernel_w = c->kernel, sh.stride_h = sh.stride_w = c->stride;
    sh.dilation_h = sh.dilation_w = c->dilation, sh.groups = c->groups, sh.depth_multiplier = c->dm;
    if (c->same) {
        ratq_same_padding(c->h, c->kernel, c->stride, c->dilation, &sh.out_h, &sh.pad_top, &sh.pad_bottom);
        ratq_same_padding(c->w, c->kernel, c->stride, c->dilation, &sh.out_w, &sh.pad_left, &sh.pad_right);
    } else {
        sh.out_h = ratq_conv_out_size(c->h, c->kernel, c->stride, c->dilation, 0, 0);
        sh.out_w = ratq_conv_out_size(c->w, c->kernel, c->stride, c->dilation, 0, 0);
    }
    if (c->op == OP_CONV || c->op == OP_DW) {
        const char *bad = ratq_conv_shape_check(&sh, c->op == OP_CONV ? RATQ_SHAPE_CONV : RATQ_SHAPE_DEPTHWISE);
        CHECK_MSG(bad == NULL, "[%s] inconsistent test shape: %s", c->name, bad ? bad : "");
        if (bad) return;
    }
    const int64_t n_in = (int64_t)c->batch * c->h * c->w * c->in_c;
    int64_t n_w = 0, n_out = 0;
    int channels = c->out_c; // output channel = i % channels
    switch (c->op) {
    case OP_CONV: n_w = (int64_t)c->out_c * c->kernel * c->kernel * (c->in_c / c->groups); break;
    case OP_DW: n_w = (int64_t)c->kernel * c->kernel * c->out_c; break;
    case OP_FC: n_w = (int64_t)c->out_c * c->in_c; break;
    default: break;
    }
    if (c->op == OP_CONV || c->op == OP_DW) n_out = (int64_t)c->batch * sh.out_h * sh.out_w * c->out_c;
    else if (c->op == OP_FC || c->op == OP_GAP) n_out = (int64_t)c->batch * c->out_c;
    else n_out = n_in;

    int8_t *x = (int8_t *)malloc((size_t)n_in), *x2 = (int8_t *)malloc((size_t)n_in);
    int8_t *w = (int8_t *)malloc((size_t)(n_w > 0 ? n_w : 1));
    int32_t *bias = (int32_t *)malloc(sizeof(int32_t) * (size_t)c->out_c);
    int32_t *acc = (int32_t *)malloc(sizeof(int32_t) * (size_t)n_out), *acc_gpu = (int32_t *)malloc(sizeof(int32_t) * (size_t)n_out);
    int8_t *y_cpu = (int8_t *)malloc((size_t)n_out), *y_gpu = (int8_t *)malloc((size_t)n_out);
    uint8_t *m_cpu = (uint8_t *)malloc((size_t)n_out), *m_gpu = (uint8_t *)malloc((size_t)n_out);
    ratq_rescale *rs = (ratq_rescale *)calloc((size_t)c->out_c, sizeof(ratq_rescale));
    fill_s8(st, x, n_in);
    fill_s8(st, x2, n_in);
    fill_s8(st, w, n_w);
    for (int i = 0; i < c->out_c; i++) bias[i] = (int32_t)ratq_test_range(st, -40000, 40000);
    if (c->extreme_bias && c->out_c >= 2) bias[0] = INT32_MAX, bias[1] = INT32_MIN;

    void *b_x, *b_x2, *b_w, *b_bias, *b_acc, *b_y, *b_m, *b_rs;
    int8_t *d_x = (int8_t *)dev_alloc((size_t)n_in, off, &b_x), *d_x2 = (int8_t *)dev_alloc((size_t)n_in, off, &b_x2);
    int8_t *d_w = (int8_t *)dev_alloc((size_t)(n_w > 0 ? n_w : 1), off, &b_w);
    int32_t *d_bias = (int32_t *)dev_alloc(sizeof(int32_t) * (size_t)c->out_c, 0, &b_bias);
    int32_t *d_acc = (int32_t *)dev_alloc(sizeof(int32_t) * (size_t)n_out, 0, &b_acc);
    int8_t *d_y = (int8_t *)dev_alloc((size_t)n_out, off, &b_y);
    uint8_t *d_m = (uint8_t *)dev_alloc((size_t)n_out, off, &b_m);
    ratq_rescale *d_rs = (ratq_rescale *)dev_alloc(sizeof(ratq_rescale) * (size_t)c->out_c, 0, &b_rs);
    CUDA_CHECK(cudaMemcpy(d_x, x, (size_t)n_in, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(d_x2, x2, (size_t)n_in, cudaMemcpyHostToDevice));
    if (n_w) CUDA_CHECK(cudaMemcpy(d_w, w, (size_t)n_w, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(d_bias, bias, sizeof(int32_t) * (size_t)c->out_c, cudaMemcpyHostToDevice));

    const int32_t io = c->input_offset, fo = c->filter_offset;
    // CPU accumulators (the requantization input) and, for conv / dw / fc, the GPU accumulator twin.
    switch (c->op) {
    case OP_CONV:
        ratq_conv_acc_s32_cpu(&sh, x, io, w, fo, bias, acc);
        ratq_conv_acc_s32_cuda(&sh, d_x, io, d_w, fo, d_bias, d_acc, 0);
        break;
    case OP_DW:
        ratq_depthwise_acc_s32_cpu(&sh, x, io, w, bias, acc);
        ratq_depthwise_acc_s32_cuda(&sh, d_x, io, d_w, d_bias, d_acc, 0);
        break;
    case OP_FC:
        ratq_fc_acc_s32_cpu(c->batch, c->in_c, c->out_c, x, io, w, fo, bias, acc);
        ratq_fc_acc_s32_cuda(c->batch, c->in_c, c->out_c, d_x, io, d_w, fo, d_bias, d_acc, 0);
        break;
    case OP_GAP: // the definition in int_ops.h: acc = sum over h, w of (x + input_offset), saturated
        for (int64_t i = 0; i < n_out; i++) {
            const int64_t n = i / c->in_c, ch = i % c->in_c;
            int64_t s = 0;
            for (int p = 0; p < c->h * c->w; p++) s += x[(n * c->h * c->w + p) * c->in_c + ch] + io;
            acc[i] = ratq_sat_i32(s);
        }
        break;
    case OP_ADD: break; // per (k, mode): the add's accumulator depends on its input rescalers
    }
    if (c->op == OP_CONV || c->op == OP_DW || c->op == OP_FC) {
        CUDA_CHECK(cudaMemcpy(acc_gpu, d_acc, sizeof(int32_t) * (size_t)n_out, cudaMemcpyDeviceToHost));
        compare_i32("acc", c, acc, acc_gpu, n_out);
    }

    for (int ki = 0; ki < 4; ki++)
        for (int mode = 0; mode < 3; mode++) {
            const int k = KS[ki];
            const int per_channel = (c->op == OP_ADD || c->op == OP_GAP) ? 0 : (ki + mode) % 2;
            const int32_t zp = (int32_t)ratq_test_range(st, -20, 20);
            int32_t lo = -128, hi = 127;
            if (mode == 1) lo = zp; // relu-like
            if (mode == 2) lo = -100, hi = 90;
            ratq_add_params_s8 ap;
            if (c->op == OP_ADD) {
                const int rc = ratq_add_params_from_scales(ldexp(1.0 + ratq_test_unit(st), -7), (int32_t)ratq_test_range(st, -10, 10),
                                                           ldexp(1.0 + ratq_test_unit(st), -6), (int32_t)ratq_test_range(st, -10, 10),
                                                           ldexp(1.0 + ratq_test_unit(st), -6), zp, k, (ratq_rounding)mode, &ap);
                CHECK_MSG(rc == 0, "[%s] ratq_add_params_from_scales failed", c->name);
                ap.act_min = lo, ap.act_max = hi;
                for (int64_t i = 0; i < n_in; i++) acc[i] = ratq_add_acc_s8(x[i], x2[i], &ap);
                rs[0] = ap.output;
            } else if (c->op == OP_GAP) {
                derive_rescales(st, acc, n_out, 1, k, rs);
            } else if (per_channel) {
                derive_rescales(st, acc, n_out, channels, k, rs);
            } else {
                derive_rescales(st, acc, n_out, 1, k, rs);
            }
            CUDA_CHECK(cudaMemcpy(d_rs, rs, sizeof(ratq_rescale) * (size_t)c->out_c, cudaMemcpyHostToDevice));
            const ratq_requant_s8 rq = {rs, per_channel, zp, lo, hi, (ratq_rounding)mode};
            ratq_requant_s8 rq_d = rq;
            rq_d.rescale = d_rs;
            CUDA_CHECK(cudaMemset(d_y, 0x5A, (size_t)n_out));
            CUDA_CHECK(cudaMemset(d_m, 0x5A, (size_t)n_out));
            switch (c->op) {
            case OP_CONV:
                ratq_conv_s8_cpu(&sh, x, io, w, fo, bias, &rq, y_cpu);
                ratq_conv_s8_cuda(&sh, d_x, io, d_w, fo, d_bias, &rq_d, d_y, d_m, 0);
                break;
            case OP_DW:
                ratq_depthwise_s8_cpu(&sh, x, io, w, bias, &rq, y_cpu);
                ratq_depthwise_s8_cuda(&sh, d_x, io, d_w, d_bias, &rq_d, d_y, d_m, 0);
                break;
            case OP_FC:
                ratq_fc_s8_cpu(c->batch, c->in_c, c->out_c, x, io, w, fo, bias, &rq, y_cpu);
                ratq_fc_s8_cuda(c->batch, c->in_c, c->out_c, d_x, io, d_w, fo, d_bias, &rq_d, d_y, d_m, 0);
                break;
            case OP_ADD:
                ratq_add_s8_cpu(n_in, x, x2, &ap, y_cpu, NULL);
                ratq_add_s8_cuda(n_in, d_x, d_x2, &ap, d_y, d_m, 0);
                break;
            case OP_GAP:
                ratq_global_avgpool_s8_cpu(c->batch, c->h, c->w, c->in_c, x, io, &rq, y_cpu, NULL);
                ratq_global_avgpool_s8_cuda(c->batch, c->h, c->w, c->in_c, d_x, io, &rq_d, d_y, d_m, 0);
                break;
            }
            CUDA_CHECK(cudaDeviceSynchronize());
            ratq_requantize_mask_cpu(acc, n_out, (c->op == OP_ADD || c->op == OP_GAP) ? 1 : channels, &rq, m_cpu);
            CUDA_CHECK(cudaMemcpy(y_gpu, d_y, (size_t)n_out, cudaMemcpyDeviceToHost));
            CUDA_CHECK(cudaMemcpy(m_gpu, d_m, (size_t)n_out, cudaMemcpyDeviceToHost));
            compare_bytes("out", c, k, mode, y_cpu, y_gpu, n_out, 1);
            compare_bytes("mask", c, k, mode, m_cpu, m_gpu, n_out, 0);
            count_mask(m_cpu, n_out);
            // Inference form: a NULL mask must leave the output unchanged.
            if (ki == 0 && mode == 0 && c->op == OP_CONV) {
                ratq_conv_s8_cuda(&sh, d_x, io, d_w, fo, d_bias, &rq_d, d_y, NULL, 0);
                CUDA_CHECK(cudaMemcpy(y_gpu, d_y, (size_t)n_out, cudaMemcpyDeviceToHost));
                compare_bytes("out (no mask)", c, k, mode, y_cpu, y_gpu, n_out, 1);
            }
        }
    void *bufs[] = {b_x, b_x2, b_w, b_bias, b_acc, b_y, b_m, b_rs};
    for (int i = 0; i < 8; i++) CUDA_CHECK(cudaFree(bufs[i]));
    free(x), free(x2), free(w), free(bias), free(acc), free(acc_gpu), free(y_cpu), free(y_gpu), free(m_cpu),
        free(m_gpu), free(rs);
}

int main(void) {
    if (ratq_cuda_device_count() == 0) {
        printf("test_cuda_int_ops: no CUDA device, skipped\n");
        return 77;
    }
    const char *seed_env = getenv("RATQ_TEST_SEED");
    uint64_t st = seed_env ? strtoull(seed_env, NULL, 10) : 1;
    printf("test_cuda_int_ops: seed %llu (set RATQ_TEST_SEED to change)\n", (unsigned long long)st);
    const char *only = getenv("RATQ_TEST_CASE"); // optional: run only the cases whose name contains this
    for (int i = 0; i < NCASES; i++) {
        if (only && !strstr(CASES[i].name, only)) continue;
        const long before = ratq_test_failures;
        run_case(&CASES[i], &st);
        printf("  %-32s %s\n", CASES[i].name, ratq_test_failures == before ? "ok" : "MISMATCH");
    }
    // A test whose masks were all 1 (or all 0) could not detect a wrong mask.
    CHECK_MSG(mask_zeros > 0 && mask_ones > 0, "mask coverage: %ld zeros, %ld ones", mask_zeros, mask_ones);
    printf("test_cuda_int_ops: masks %ld zeros, %ld ones\n", mask_zeros, mask_ones);
    return ratq_test_finish("test_cuda_int_ops");
}
