// int_conv_s8.c — conv, depthwise conv and fully connected: exact int32 accumulation (plain loops),
// optionally followed by the requantization epilogue. Layouts and formulas: int_ops.h.
#include "int_ops.h"

// acc = bias + sum (x + input_offset)(w + filter_offset) for one conv output element.
static int32_t conv_acc(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                        int32_t filter_offset, const int32_t *bias, int n, int oy, int ox, int oc) {
    const int ic_per_group = sh->in_c / sh->groups;
    const int g = oc / (sh->out_c / sh->groups);
    int64_t acc = bias ? bias[oc] : 0;
    for (int ky = 0; ky < sh->kernel_h; ky++) {
        const int iy = oy * sh->stride_h - sh->pad_top + ky * sh->dilation_h;
        if (iy < 0 || iy >= sh->in_h) continue;
        for (int kx = 0; kx < sh->kernel_w; kx++) {
            const int ix = ox * sh->stride_w - sh->pad_left + kx * sh->dilation_w;
            if (ix < 0 || ix >= sh->in_w) continue;
            const int8_t *xp = in + (((int64_t)n * sh->in_h + iy) * sh->in_w + ix) * sh->in_c + g * ic_per_group;
            const int8_t *wp = w + (((int64_t)oc * sh->kernel_h + ky) * sh->kernel_w + kx) * ic_per_group;
            for (int ic = 0; ic < ic_per_group; ic++)
                acc += (int64_t)(xp[ic] + input_offset) * (wp[ic] + filter_offset);
        }
    }
    return ratq_sat_i32(acc);
}

static int32_t depthwise_acc(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                             const int32_t *bias, int n, int oy, int ox, int oc) {
    const int ic = oc / sh->depth_multiplier;
    int64_t acc = bias ? bias[oc] : 0;
    for (int ky = 0; ky < sh->kernel_h; ky++) {
        const int iy = oy * sh->stride_h - sh->pad_top + ky * sh->dilation_h;
        if (iy < 0 || iy >= sh->in_h) continue;
        for (int kx = 0; kx < sh->kernel_w; kx++) {
            const int ix = ox * sh->stride_w - sh->pad_left + kx * sh->dilation_w;
            if (ix < 0 || ix >= sh->in_w) continue;
            const int32_t x = in[(((int64_t)n * sh->in_h + iy) * sh->in_w + ix) * sh->in_c + ic];
            const int32_t wv = w[((int64_t)ky * sh->kernel_w + kx) * sh->out_c + oc];
            acc += (int64_t)(x + input_offset) * wv;
        }
    }
    return ratq_sat_i32(acc);
}

static int32_t fc_acc(int depth, const int8_t *x, int32_t input_offset, const int8_t *w, int32_t filter_offset,
                      int32_t bias) {
    int64_t acc = bias;
    for (int d = 0; d < depth; d++) acc += (int64_t)(x[d] + input_offset) * (w[d] + filter_offset);
    return ratq_sat_i32(acc);
}

static int8_t requant(int32_t acc, const ratq_requant_s8 *rq, int oc) {
    return (int8_t)ratq_requantize(acc, rq->rescale[rq->per_channel ? oc : 0], rq->output_offset, rq->act_min,
                                   rq->act_max, rq->rounding);
}

#define FOR_EACH_OUTPUT(sh)                                                                                           \
    for (int n = 0; n < (sh)->batch; n++)                                                                             \
        for (int oy = 0; oy < (sh)->out_h; oy++)                                                                      \
            for (int ox = 0; ox < (sh)->out_w; ox++)                                                                  \
                for (int oc = 0; oc < (sh)->out_c; oc++)
#define OUT_INDEX(sh) ((((int64_t)n * (sh)->out_h + oy) * (sh)->out_w + ox) * (sh)->out_c + oc)

void ratq_conv_acc_s32_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                           int32_t filter_offset, const int32_t *bias, int32_t *acc) {
    FOR_EACH_OUTPUT(sh) acc[OUT_INDEX(sh)] = conv_acc(sh, in, input_offset, w, filter_offset, bias, n, oy, ox, oc);
}

void ratq_conv_s8_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                      int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out) {
    FOR_EACH_OUTPUT(sh)
    out[OUT_INDEX(sh)] = requant(conv_acc(sh, in, input_offset, w, filter_offset, bias, n, oy, ox, oc), rq, oc);
}

void ratq_depthwise_acc_s32_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                const int32_t *bias, int32_t *acc) {
    FOR_EACH_OUTPUT(sh) acc[OUT_INDEX(sh)] = depthwise_acc(sh, in, input_offset, w, bias, n, oy, ox, oc);
}

void ratq_depthwise_s8_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                           const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out) {
    FOR_EACH_OUTPUT(sh) out[OUT_INDEX(sh)] = requant(depthwise_acc(sh, in, input_offset, w, bias, n, oy, ox, oc), rq, oc);
}

void ratq_fc_acc_s32_cpu(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                         int32_t filter_offset, const int32_t *bias, int32_t *acc) {
    for (int n = 0; n < batch; n++)
        for (int oc = 0; oc < out_c; oc++)
            acc[(int64_t)n * out_c + oc] = fc_acc(depth, in + (int64_t)n * depth, input_offset,
                                                  w + (int64_t)oc * depth, filter_offset, bias ? bias[oc] : 0);
}

void ratq_fc_s8_cpu(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                    int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out) {
    for (int n = 0; n < batch; n++)
        for (int oc = 0; oc < out_c; oc++)
            out[(int64_t)n * out_c + oc] = requant(fc_acc(depth, in + (int64_t)n * depth, input_offset,
                                                          w + (int64_t)oc * depth, filter_offset, bias ? bias[oc] : 0),
                                                   rq, oc);
}
