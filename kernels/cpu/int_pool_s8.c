// int_pool_s8.c — average pool (TFLite AVERAGE_POOL_2D), global average pool (TFLite MEAN over H,W), clamp.
#include "int_ops.h"

void ratq_avgpool_s8_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t act_min, int32_t act_max, int8_t *out) {
    for (int n = 0; n < sh->batch; n++)
        for (int oy = 0; oy < sh->out_h; oy++)
            for (int ox = 0; ox < sh->out_w; ox++)
                for (int c = 0; c < sh->out_c; c++) {
                    int32_t sum = 0, taps = 0;
                    for (int ky = 0; ky < sh->kernel_h; ky++) {
                        const int iy = oy * sh->stride_h - sh->pad_top + ky * sh->dilation_h;
                        if (iy < 0 || iy >= sh->in_h) continue;
                        for (int kx = 0; kx < sh->kernel_w; kx++) {
                            const int ix = ox * sh->stride_w - sh->pad_left + kx * sh->dilation_w;
                            if (ix < 0 || ix >= sh->in_w) continue;
                            sum += in[(((int64_t)n * sh->in_h + iy) * sh->in_w + ix) * sh->in_c + c];
                            taps++;
                        }
                    }
                    // taps >= 1: the shape check guarantees every window overlaps the input.
                    const int32_t avg = sum > 0 ? (sum + taps / 2) / taps : (sum - taps / 2) / taps;
                    out[(((int64_t)n * sh->out_h + oy) * sh->out_w + ox) * sh->out_c + c] =
                        (int8_t)ratq_clamp_i64(avg, act_min, act_max);
                }
}

void ratq_global_avgpool_s8_cpu(int batch, int h, int w, int c, const int8_t *in, int32_t input_offset,
                                const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask) {
    for (int n = 0; n < batch; n++)
        for (int ch = 0; ch < c; ch++) {
            int64_t acc = 0;
            for (int i = 0; i < h * w; i++) acc += in[((int64_t)n * h * w + i) * c + ch] + input_offset;
            uint8_t m;
            out[(int64_t)n * c + ch] = (int8_t)ratq_requantize_masked(ratq_sat_i32(acc), rq->rescale[0],
                                                                      rq->output_offset, rq->act_min, rq->act_max,
                                                                      rq->rounding, &m);
            if (mask) mask[(int64_t)n * c + ch] = m;
        }
}

void ratq_clamp_s8_cpu(int64_t count, int8_t *x, int32_t act_min, int32_t act_max) {
    for (int64_t i = 0; i < count; i++) x[i] = (int8_t)ratq_clamp_i64(x[i], act_min, act_max);
}
