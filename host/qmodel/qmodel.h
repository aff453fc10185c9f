// qmodel.h — the integer model: a list of int8 ops that run on the CPU integer engine (kernels/cpu/int_ops.h),
// its file format (.ratqm), its loader, and the executor.
//
// Quantization scheme (issue 4):
//   weights      int8 symmetric, range -127..127 (never -128), per output channel (per_channel = 1) or per tensor;
//                filter_offset is always 0.
//   activations  int8 asymmetric per tensor: real = S * (q - z), q in -128..127.
//   bias         int32 with scale S_x * S_w[c] (BN already folded into the conv by the producer).
//   ReLU6        no op of its own: the producing op's clamp [act_min, act_max]
//                (ratq_activation_range_s8(RATQ_ACT_RELU6, S_y, z_y, ...) in kernels/math/quant_grid.h).
//   ADD          TFLite ADD int8 (ratq_add_s8_cpu, left_shift 20), GAP = TFLite MEAN over H,W
//                (ratq_global_avgpool_s8_cpu), AVGPOOL = TFLite AVERAGE_POOL_2D (same scale/zero point in and out).
//   rescalers    k-bit (m, s) from ratq_rescale_from_real at the model's k, one rounding mode for the whole model.
//
// Network input (the EfficientNet-Lite preprocessing x = (u8 - 127) / 128, models/efficientnet_lite.h):
//   the recommended input quantization is S_in = 1/128, z_in = -1, i.e. q = u8 - 128 in [-128, 127] and
//   real = (q - z_in) * S_in = (u8 - 127) / 128 EXACTLY for every u8 0..255 (no clamp ever binds; the naive
//   choice z = 0, q = u8 - 127 would need q = 128 for u8 = 255, which overflows int8).
//   ratq_qmodel_input_from_u8 applies the general rule (ratq_quantize_input_s8, kernels/math/quant_grid.h)
//       q = clamp(round_half_away((u8 - 127) / 128 / S_in) + z_in, -128, 127)   (computed in double)
//   which for (1/128, -1) is exactly u8 - 128. Padding of the first conv is the input zero point (= real 0).
//
// Real multipliers (how (m, s) is re-derived from the stored real scales, ratq_qmodel_with_bits / append):
//   CONV, DWCONV, FC   M[c] = s_x * s_w[c] / s_y          ratq_conv_multiplier (kernels/math/rescale.h)
//   GAP                M    = s_x / (s_y * in_h * in_w)   ratq_gap_multiplier
//   ADD                ratq_add_params_from_scales(s_x, z_x, s_x2, z_x2, s_y, z_y, k, rounding):
//                      rescale[0] = input1, rescale[1] = input2, rescale[2] = output
//   AVGPOOL            no rescaler
// A producer (the fake-quant trainer) that wants the integer model to equal its fake-quant forward bit for bit
// passes the exact (m, s) it trained with in ratq_qop.rescale; NULL lets append derive them by the rules above.
//
// Graph: op i reads the output of op `in` (-1 = the network input, [in_h][in_w][in_c]) and, for ADD, op `in2`;
// both must be < i. The input geometry of an op (shape.in_h/in_w/in_c) equals its producer's output geometry
// and its (s_x, z_x) equal the producer's (s_y, z_y) exactly (network input: input_scale, input_zero_point).
// The logits are the output of the LAST op, 1 x 1 x num_classes per image.
#ifndef RATQ_HOST_QMODEL_H
#define RATQ_HOST_QMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/int_fast.h" // ratq_engine
#include "cpu/int_ops.h"  // ratq_conv_shape, ratq_requant_s8, ratq_add_params_s8, math/rescale.h

#define RATQ_QMODEL_MAGIC "RATQM\0\0\0" // 8 bytes
#define RATQ_QMODEL_VERSION 1u
#define RATQ_QMODEL_INPUT_SCALE (1.0 / 128.0) // recommended, see above
#define RATQ_QMODEL_INPUT_ZERO_POINT (-1)
#define RATQ_QMODEL_MAX_DIM 65536 // any h, w, c, kernel, stride, dilation, pad above this is rejected
// What the fields imply together, per image (checked by ratq_qmodel_check, so at load and before export; the
// executor only runs checked models): int8 activations = the input + every op's output <= 64 MiB (lite4 at 300:
// ~15 MiB), and work = multiply-accumulates of CONV/DWCONV/FC plus window taps of AVGPOOL/GAP and ADD elements
// <= 2^36 (lite0: ~0.4 G). A few header bytes (an 8192 x 8192 input) cannot make a model that needs gigabytes.
#define RATQ_QMODEL_MAX_ACT_BYTES ((int64_t)1 << 26)
#define RATQ_QMODEL_MAX_WORK ((int64_t)1 << 36)

typedef enum {
    RATQ_QOP_CONV = 0,    // conv2d (groups >= 1): weights OHWI [out_c][kernel_h][kernel_w][in_c/groups], bias [out_c]
    RATQ_QOP_DWCONV = 1,  // depthwise: weights [kernel_h][kernel_w][out_c], out_c = in_c*depth_multiplier, bias [out_c]
    RATQ_QOP_FC = 2,      // fully connected over the flattened input: depth = in_h*in_w*in_c,
                          // weights [out_c][depth], bias [out_c]; output 1 x 1 x out_c
    RATQ_QOP_ADD = 3,     // residual add of `in` and `in2` (same geometry), output same geometry
    RATQ_QOP_GAP = 4,     // global average pool (TFLite MEAN over H,W): output 1 x 1 x in_c
    RATQ_QOP_AVGPOOL = 5, // average pool window (TFLite AVERAGE_POOL_2D): s_y = s_x, z_y = z_x
    RATQ_QOP_KIND_COUNT
} ratq_qop_kind;

// One op. In a model every array is owned by the model (one allocation per op); when passed to
// ratq_qmodel_append the arrays are the caller's and are copied.
typedef struct {
    ratq_qop_kind kind;
    char name[64];          // e.g. the float layer name "_blocks.3._project_conv" (NUL-terminated)
    int in, in2;            // producing op (-1 = network input); in2: ADD only, else -2
    ratq_conv_shape shape;  // per-image geometry, batch = 1. Every kind sets in_h/in_w/in_c and out_h/out_w/out_c;
                            // CONV/DWCONV/AVGPOOL also the window (kernel, stride, dilation, pads), CONV groups,
                            // DWCONV depth_multiplier (other kinds: kernel/stride/dilation = 1, pads 0, groups = 1,
                            // depth_multiplier = 1; append fills these, and out_h/out_w (1, or in_h/in_w for ADD)
                            // and out_c (= in_c for ADD/GAP; FC keeps the caller's out_c) for FC/ADD/GAP).
    int per_channel;        // CONV/DWCONV/FC: 1 = one weight scale and rescaler per output channel, 0 = per tensor
    int8_t *weights;        // [n_weights], layout per kind above, values -127..127; NULL for ADD/GAP/AVGPOOL
    int32_t *bias;          // [n_bias] (n_bias = out_c for CONV/DWCONV/FC, else 0 and NULL)
    ratq_rescale *rescale;  // [n_rescale]: CONV/DWCONV/FC per_channel ? out_c : 1; ADD 3; GAP 1; AVGPOOL 0
    double *s_w;            // [n_rescale] real weight scales (CONV/DWCONV/FC), else NULL
    double s_x, s_x2, s_y;  // real scales: input (ADD: first input), second input (ADD only, else 0), output
    int32_t z_x, z_x2, z_y; // zero points, -128..127 (z_x2 ADD only, else 0)
    int32_t act_min, act_max; // output clamp, -128 <= act_min <= act_max <= 127 (ReLU6 lives here)
    // derived by append/load, not stored in the file:
    int64_t n_weights;
    int n_bias, n_rescale;
} ratq_qop;

typedef struct {
    char arch[32];           // e.g. "lite0", "tiny" (informational)
    int in_h, in_w, in_c;    // network input geometry per image (NHWC)
    int num_classes;         // = out_c of the last op
    int k;                   // rescaler bits, 1..31: every m is 0 or in [2^(k-1), 2^k)
    ratq_rounding rounding;  // one mode for every requantization (single by default, tflite for LiteRT)
    double input_scale;      // S_in > 0
    int32_t input_zero_point; // z_in, -128..127
    int n_ops, cap_ops;
    ratq_qop *ops;           // [n_ops]
} ratq_qmodel;

// ---- building --------------------------------------------------------------------------------------------
// Start an empty model. Returns 0, or -1 after one error line (bad k / rounding / geometry / scale).
int ratq_qmodel_init(ratq_qmodel *m, const char *arch, int in_h, int in_w, int in_c, int num_classes, int k,
                     ratq_rounding rounding, double input_scale, int32_t input_zero_point);
// Append a deep copy of *op (its arrays are the caller's). If op->rescale is NULL the rescalers are derived
// from the real scales at m->k (rules above); otherwise they are copied and must be valid for m->k.
// n_weights/n_bias/n_rescale are computed from the kind and geometry (the caller's values are ignored).
// Every field is validated as at load. Returns the new op's index, or -1 after one error line naming the field.
int ratq_qmodel_append(ratq_qmodel *m, const ratq_qop *op);
// Whole-model checks beyond the per-op ones (at least one op, last op's output = 1 x 1 x num_classes).
// `what` names the model in the error line (a file name, or "model"). Returns 0 or -1 after one error line.
int ratq_qmodel_check(const ratq_qmodel *m, const char *what);
void ratq_qmodel_free(ratq_qmodel *m);
// Deep copy (dst must not be initialised). Returns 0 or -1 (out of memory).
int ratq_qmodel_copy(ratq_qmodel *dst, const ratq_qmodel *src);
// Post-training k sweep primitive: set m->k and m->rounding and re-derive every (m, s) from the stored real
// scales by the rules above (biases, weights, zero points and clamps unchanged). Returns 0 or -1 after an
// error line (k out of 1..31, or a multiplier not representable).
int ratq_qmodel_with_bits(ratq_qmodel *m, int k, ratq_rounding rounding);

// ---- file ------------------------------------------------------------------------------------------------
// Atomic write (PATH.tmp.<pid>, then rename). Returns 0 or -1 after one error line.
int ratq_qmodel_save(const ratq_qmodel *m, const char *path);
// Read and validate every field. Errors are one line naming the file, the op and the field, e.g.
//   "ratq: m.ratqm: op 12 (conv): field 'bias': truncated"; returns 0, or -1 with *m zeroed.
int ratq_qmodel_load(ratq_qmodel *m, const char *path);

// ---- running ---------------------------------------------------------------------------------------------
// Int8 output elements of op i per image (out_h*out_w*out_c).
int64_t ratq_qop_out_count(const ratq_qop *op);
// The engine's output stage of a CONV/DWCONV/FC/GAP op (points into op->rescale) with the model's rounding.
void ratq_qop_requant(const ratq_qmodel *m, const ratq_qop *op, ratq_requant_s8 *rq);
// The engine's ADD parameters of an ADD op (left_shift 20, offsets -z, clamp, the model's rounding).
void ratq_qop_add_params(const ratq_qmodel *m, const ratq_qop *op, ratq_add_params_s8 *p);
// Run `batch` images input[batch][in_h][in_w][in_c] (int8, see ratq_qmodel_input_from_u8) through a CPU integer
// engine, op by op: RATQ_ENGINE_REF = the reference loops of kernels/cpu/int_ops.h, RATQ_ENGINE_FAST = the fast
// engine of kernels/cpu/int_fast.h (bit-identical results; weights packed once per call). act_out: NULL, or [n_ops]
// pointers where a non-NULL act_out[i] receives op i's output [batch][out_h][out_w][out_c] (it is used as that op's
// buffer). Other activations are freed after their last consumer (peak memory = the live set). With OpenMP the
// batch is split into chunks (reference: one per thread; fast: one per image); every op is per image, so the result
// does not depend on the split. logits_q [batch][num_classes] (int8, may be NULL), logits [batch][num_classes] =
// s_y * (q - z_y) of the last op (float, may be NULL). Returns 0, or -1 after an error line (out of memory, batch < 1).
int ratq_qmodel_run_engine(const ratq_qmodel *m, ratq_engine engine, const int8_t *input, int batch, int8_t **act_out,
                           int8_t *logits_q, float *logits);
// The same with the default engine (fast).
int ratq_qmodel_run(const ratq_qmodel *m, const int8_t *input, int batch, int8_t **act_out, int8_t *logits_q,
                    float *logits);
// u8 pixels (HWC, RGB) -> int8 network input by the rule at the top of this file, for `count` values.
void ratq_qmodel_input_from_u8(const ratq_qmodel *m, const uint8_t *src, int64_t count, int8_t *dst);
// The same rule as a 256-entry table: table[u8] = q (the exported C uses it).
void ratq_qmodel_input_table(const ratq_qmodel *m, int8_t table[256]);
// Index of the largest logit, the lowest index on ties.
int ratq_qmodel_argmax(const int8_t *logits, int n);

const char *ratq_qop_kind_name(ratq_qop_kind kind); // "conv", "dwconv", "fc", "add", "gap", "avgpool"
const char *ratq_qmodel_rounding_name(ratq_rounding r); // "tflite", "single", "half_even"
// Parse "tflite" / "single" / "half_even". Returns 0 or -1.
int ratq_qmodel_rounding_from_name(const char *s, ratq_rounding *r);

// ---- export ----------------------------------------------------------------------------------------------
// Write a standalone C source tree into DIR (built in DIR.tmp.<pid>, then renamed; DIR must not exist):
// model_data.c, model.h, model.c, main.c, Makefile, and the engine (int_ops.h, int_*.c, math/rescale.h,
// math/conv_geometry.h) embedded in ratq at build time. Returns 0 or -1 after one error line.
int ratq_export_c(const ratq_qmodel *m, const char *dir);

#endif
