// int_requant_s8.c — the output stage over a tensor of int32 accumulators (channel = i % channels).
#include "int_ops.h"

static ratq_rescale channel_rescale(const ratq_requant_s8 *rq, int c) { return rq->rescale[rq->per_channel ? c : 0]; }

void ratq_requantize_s8_cpu(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq, int8_t *out) {
    for (int64_t i = 0; i < count; i++)
        out[i] = (int8_t)ratq_requantize(acc[i], channel_rescale(rq, (int)(i % channels)), rq->output_offset,
                                         rq->act_min, rq->act_max, rq->rounding);
}

void ratq_requantize_mask_cpu(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq,
                              uint8_t *mask) {
    for (int64_t i = 0; i < count; i++)
        mask[i] = (uint8_t)ratq_requantize_ste_mask(acc[i], channel_rescale(rq, (int)(i % channels)),
                                                    rq->output_offset, rq->act_min, rq->act_max, rq->rounding);
}
