// int_ops.h — the CPU integer reference engine: plain loops, NHWC, int8 activations and weights,
// int32 bias, per-channel or per-tensor k-bit rescalers. This is the specification that the CUDA kernels,
// the exported C and the RTL must match bit for bit. Every requantization goes through
// kernels/math/rescale.h (ratq_requantize); nothing here rounds on its own.
//
// Layouts (TFLite):
//   activations          [batch][h][w][c]
//   conv weights         [out_c][kernel_h][kernel_w][in_c/groups]          (OHWI)
//   depthwise weights    [kernel_h][kernel_w][out_c], out_c = in_c*depth_multiplier,
//                        output channel oc = ic*depth_multiplier + j reads input channel ic   (1HWO)
//   fully connected      weights [out_c][depth], input [batch][depth], output [batch][out_c]
// Accumulation (exact; taps outside the input are skipped = padding with the input zero point):
//   acc = bias[oc] + sum (x + input_offset) * (w + filter_offset)      input_offset = -z_x
// computed in 64 bits and saturated to int32 (only reachable with adversarial shapes; TFLite wraps there).
#ifndef RATQ_CPU_INT_OPS_H
#define RATQ_CPU_INT_OPS_H

#include <stdint.h>

#include "math/add_s8.h"        // ratq_add_params_s8, ratq_add_acc_s8
#include "math/conv_geometry.h" // ratq_same_padding, ratq_conv_out_size
#include "math/rescale.h"

#ifdef __cplusplus
extern "C" { // also included from CUDA (.cu) translation units
#endif

// Output stage of a layer: y = clamp(R(acc * m[c] * 2^-s[c]) + output_offset, act_min, act_max).
typedef struct {
    const ratq_rescale *rescale; // [per_channel ? out_c : 1]
    int per_channel;             // 1: one rescaler per output channel, 0: one for the tensor
    int32_t output_offset;       // z_y
    int32_t act_min, act_max;    // clamp, within [-128, 127]
    ratq_rounding rounding;
} ratq_requant_s8;

// Geometry of a conv / depthwise conv / pool window. out_h = (in_h + pad_top + pad_bottom
// - dilation_h*(kernel_h-1) - 1) / stride_h + 1, likewise out_w (checked by ratq_conv_shape_check).
typedef struct {
    int batch, in_h, in_w, in_c; // input  [batch][in_h][in_w][in_c]
    int out_h, out_w, out_c;     // output [batch][out_h][out_w][out_c]
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int dilation_h, dilation_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int groups;           // conv only: in_c and out_c divisible by groups (1 = ordinary conv)
    int depth_multiplier; // depthwise only: out_c = in_c * depth_multiplier
} ratq_conv_shape;

typedef enum { RATQ_SHAPE_CONV = 0, RATQ_SHAPE_DEPTHWISE = 1, RATQ_SHAPE_POOL = 2 } ratq_shape_kind;

// NULL if the shape is consistent for that op, else a static string naming the offending field.
const char *ratq_conv_shape_check(const ratq_conv_shape *sh, ratq_shape_kind kind);


// --- accumulators only (bias included), [batch][out_h][out_w][out_c] / [batch][out_c] ---
void ratq_conv_acc_s32_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                           int32_t filter_offset, const int32_t *bias, int32_t *acc);
void ratq_depthwise_acc_s32_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                const int32_t *bias, int32_t *acc);
void ratq_fc_acc_s32_cpu(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                         int32_t filter_offset, const int32_t *bias, int32_t *acc);

// Output stage over an [count][channels] accumulator tensor (channel index = i % channels).
void ratq_requantize_s8_cpu(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq, int8_t *out);
// The STE mask of the same output stage: mask[i] = 1 where the clamp did not bind.
void ratq_requantize_mask_cpu(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq,
                              uint8_t *mask);

// --- fused ops: accumulate then requantize each output element ---
void ratq_conv_s8_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                      int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out);
void ratq_depthwise_s8_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                           const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out);
void ratq_fc_s8_cpu(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                    int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out);

// --- residual add, TFLite ADD semantics (int8): formula, ratq_add_params_s8 and ratq_add_params_from_scales in
// kernels/math/add_s8.h. y[i] = ratq_requantize(ratq_add_acc_s8(a[i], b[i], p), p->output, ...).
// mask (may be NULL = not stored): the STE mask of the output requantization, one uint8 (0/1) per element
// (ratq_requantize_ste_mask of ratq_add_acc_s8), as the CUDA twin.
void ratq_add_s8_cpu(int64_t count, const int8_t *a, const int8_t *b, const ratq_add_params_s8 *p, int8_t *out,
                     uint8_t *mask);

// --- average pool, TFLite AVERAGE_POOL_2D int8 semantics (input and output share scale and zero point) ---
//   n = number of window taps inside the input; avg = sum > 0 ? (sum + n/2)/n : (sum - n/2)/n
//   (C division truncates: round half away from zero); y = clamp(avg, act_min, act_max).
void ratq_avgpool_s8_cpu(const ratq_conv_shape *sh, const int8_t *in, int32_t act_min, int32_t act_max, int8_t *out);

// --- global average pool, TFLite MEAN over H,W (int8) ---
//   acc = sat32(sum_{h,w} (x + input_offset));  y = clamp(R(acc * M) + output_offset, act_min, act_max)
// with the rescaler M = ratq_gap_multiplier(S_x, S_y, H*W) in rq->rescale[0] (per-tensor, whatever
// rq->per_channel says). Output [batch][c]. mask (may be NULL): the STE mask of the output requantization,
// [batch][c], as the CUDA twin.
void ratq_global_avgpool_s8_cpu(int batch, int h, int w, int c, const int8_t *in, int32_t input_offset,
                                const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask);

// --- clamp (ReLU / ReLU6 through the quantized range), in place ---
void ratq_clamp_s8_cpu(int64_t count, int8_t *x, int32_t act_min, int32_t act_max);

#ifdef __cplusplus
}
#endif
#endif // RATQ_CPU_INT_OPS_H
