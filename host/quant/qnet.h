// host/quant/qnet.h — the quantizer and the fake-quant (Rescale-Aware Training) network.
//
// Data flow: float EfficientNet-Lite (models/efficientnet_lite.h) -> BN folding -> ratq_qnet (a flat list of
// integer ops with float "master" weights) -> calibration (activation ranges) -> quantization (int8 weights,
// int32 biases, k-bit rescalers) -> integer forward / STE backward / export (host/quant/to_qmodel.c).
//
// Quantization scheme (the seed's, also LiteRT's); the grids are kernels/math/quant_grid.h, the multipliers
// kernels/math/rescale.h and add_s8.h:
//   network input   u8 image -> q = u8 - 128, int8, scale 1/128, zero point -1: real (q + 1)/128 = (u8 - 127)/128,
//                   exactly the EfficientNet-Lite preprocessing (ratq_input_s8_from_u8).
//   weights         int8 symmetric per output channel: S_w[o] = max_j |W[o][j]| / 127 rounded to float, never
//                   below it (1 if the channel is all zero; ratq_weight_scale_s8), q_w = clamp(round(W / S_w),
//                   -127, 127) (round half away from zero; ratq_quantize_weight_s8).
//   biases          int32: q_b[o] = sat32(round(b[o] / (S_x * S_w[o]))) (ratq_quantize_bias_s32).
//   activations     int8 asymmetric per tensor (scale S, zero point z; ratq_activation_grid_s8); ReLU6 is the
//                   clamp range ratq_activation_range_s8(RELU6, S, z).
//   CONV/DW/FC      acc = q_b[o] + sum (q_x - z_x) q_w;  y = clamp(R(acc * m[o] 2^-s[o]) + z_y, lo, hi) with
//                   (m, s) = ratq_rescale_from_real(M[o] = ratq_conv_multiplier(S_x, S_w[o], S_y), k) (in double
//                   from the float32 scales).
//   ADD             TFLite ADD (ratq_add_params_from_scales, left shift 20, three k-bit rescalers).
//   GAP             TFLite MEAN: acc = sum_hw (q_x - z_x), M = ratq_gap_multiplier(S_x, S_y, H W), per tensor.
//   Scale snapping (option): S_w[o] is enlarged so that M[o] is exactly a k-bit m 2^-s: M0 = S_x S_w0 / S_y
//                   rounded UP to the k-bit grid (ratq_rescale_from_real_up, with its carry), S_w = M_k S_y / S_x
//                   >= S_w0 (ratq_weight_scale_snapped), so no weight clips and the weights absorb the rescale
//                   error (the k-bit ratio below becomes 1).
//
// Calibration (ratq_qnet_calibrate): the float folded network runs on the calibration images; each op output
// keeps the running min and max over all images (plain min/max observer, no percentile, no EMA). The range
// [min(mn, 0), max(mx, 0)] (ReLU6 outputs: [0, min(mx, 6)]) gives S = (hi - lo) / 255 (1/255 if hi == lo) and
// z = clamp(round(-128 - lo / S), -128, 127) (ratq_activation_grid_s8), so that real 0 is exactly representable
// (q = z). The ranges stay fixed afterwards (RAT re-derives weight scales and (m, s) every step, not the activation
// ranges).
//
// Fake-quant forward (ratq_qnet_forward): computes EXACTLY what the integer engine computes. CONV (groups 1)
// and FC accumulate in double with OpenBLAS dgemm over integer-valued operands (q_x - z_x) and q_w (im2col for
// windows; padding taps are 0 = the input zero point): every product and partial sum is an integer below 2^53
// (|acc| <= 255 * 127 * K, K <= 2^20 here), so the sum is exact in any order; then + bias and saturation to
// int32 as the engine (host/quant/acc.c). Depthwise and grouped convs, and everything when built without OpenBLAS,
// use the engine's own accumulators ratq_*_acc_s32_cpu. No float32 arithmetic is involved in the integer
// forward, so the float32 2^24 limit does not apply; tests/cpu/test_quant_exact.c checks it against the engine.
// Then ratq_requantize_s8_cpu / ratq_requantize_mask_cpu per element, ratq_add_s8_cpu, ratq_global_avgpool_s8_cpu
// (the last two write their STE masks themselves). It keeps every op's int8 output and STE mask for the backward.
//
// STE backward (ratq_qnet_backward), float32, gradients w.r.t. the dequantized values x_r = S (q - z):
//   CONV/DW/FC: the rounding of weights, activations and the rescale passes the gradient as identity, the clamp
//     only inside [lo, hi] (mask = ratq_requantize_ste_mask). Since y_r = S_y m 2^-s acc and
//     acc = sum x_r w_r / (S_x S_w) + b_r / (S_x S_w), with w_r = S_w q_w (dequantized weights):
//        g[o] = dy_r * mask * r[o],   r[o] = S_y * M_k[o] / (S_x * S_w[o])   (the k-bit rescale's ratio, ~1)
//        dx_r = conv^T(g, w_r),  dW[o] = sum g x_r (window),  db[o] = sum g
//     dW, db are the gradients of the master weights W, b (weight-rounding STE; no clip since S_w >= max|W|/127).
//     Scales and (m, s) are treated as constants (re-derived from the weights every step by ratq_qnet_quantize).
//   ADD: y_r ~ r_a a_r + r_b b_r, r_a = S_y Mo M1 2^20 / S_a (likewise b), da_r = dy_r mask r_a.
//   GAP: y_r ~ r * mean_hw(x_r), r = S_y M H W / S_x, dx_r = dy_r mask r / (H W).
//   ADD and GAP masks: 1 where the value before the output clamp lies in [lo, hi] (written by the engine's
//   ratq_add_s8_cpu / ratq_global_avgpool_s8_cpu through ratq_requantize_masked).
#ifndef RATQ_HOST_QUANT_NET_H
#define RATQ_HOST_QUANT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/float_ops.h"
#include "cpu/int_ops.h"
#include "math/quant_grid.h" // ratq_activation, the quantization grids
#include "models/efficientnet_lite.h"

typedef enum { RATQ_QN_CONV = 0, RATQ_QN_DWCONV, RATQ_QN_FC, RATQ_QN_ADD, RATQ_QN_GAP } ratq_qnop_kind;

const char *ratq_qnop_kind_name(ratq_qnop_kind k);

// int8 quantization of one tensor: real = scale * (q - zp); the op's output clamp is [lo, hi].
typedef struct {
    float scale;
    int32_t zp;
    int32_t lo, hi;
} ratq_qact;

typedef struct {
    ratq_qnop_kind kind;
    char name[64];         // effnet layer name of the conv / fc / add / gap
    int src, src2;         // producing ops (-1 = network input); src2: ADD skip input, else -2
    ratq_activation act;   // RELU6 (folded into the clamp) or NONE
    int h, w, c;           // input geometry per image (GAP/FC: h = w = 1 for FC)
    int oh, ow, oc;        // output geometry per image (GAP/FC: 1 x 1 x oc)
    ratq_conv2d_params fp; // CONV/DWCONV float geometry (n set per call)
    ratq_conv_shape sh;    // CONV/DWCONV integer geometry (batch set per call)
    int per_oc;            // weights per output channel: CONV kh*kw*ic, DW kh*kw, FC in
    size_t w_off, b_off;   // offsets of the master weights/biases in ratq_qnet.params (CONV/DW/FC)
    // quantized state (ratq_qnet_quantize), CONV/DW/FC:
    int8_t *wq;            // [oc*per_oc] same layout as the master weights
    int32_t *bq;           // [oc]
    double *w_scale;       // [oc] S_w
    ratq_rescale *rs;      // [oc] k-bit (m, s)
    float *ratio;          // [oc] r[o] (STE, see above)
    float *wr;             // [oc*per_oc] dequantized weights S_w q_w (backward)
    double *wd;            // [oc*per_oc] q_w as double (CONV/FC accumulation by dgemm, host/quant/acc.c)
    // ADD / GAP
    ratq_add_params_s8 addp; // ADD
    float ratio_a, ratio_b;  // ADD: r_a, r_b; GAP: r in ratio_a
    ratq_rescale gap_rs;     // GAP
    ratq_qact out;           // output quantization (calibration)
    double obs_min, obs_max; // calibration observer
} ratq_qnop;

typedef struct {
    int k;                  // rescaler bits 1..31
    ratq_rounding rounding; // RATQ_ROUND_SINGLE (default) or RATQ_ROUND_TFLITE
    int snap;               // 1 = scale snapping
} ratq_quant_options;

typedef struct {
    char arch[32];
    int resolution, in_c, num_classes;
    int n_ops;
    ratq_qnop *ops;     // [n_ops] topological order; ops[n_ops-1] is the FC (logits)
    ratq_qact in;      // network input: scale 1/128, zp -1
    ratq_quant_options opt;
    int quantized;     // ratq_qnet_quantize ran
    int calibrated;
    size_t n_params;
    float *params;     // [n_params] master weights (folded), trainable
    float *grads;      // [n_params]
    // buffers for `batch` images
    int batch, last_n;
    int8_t **q;        // [n_ops] int8 outputs [batch*oh*ow*oc]
    uint8_t **mask;    // [n_ops] STE masks
    int8_t *qin;       // [batch*res*res*in_c] the network input
    float **f;         // [n_ops] float activations (float forward) / gradients (backward)
    float *xr, *dx;    // scratch [batch * max op size]
    int32_t *acc;      // scratch
    float *ws;         // conv workspace
    size_t ws_floats;
} ratq_qnet;

// Build the op list from a float model: BN folded into the preceding conv (ratq_bn_fold_*), ReLU6 attached to
// its op, dropout / drop-connect dropped (inference identities). Returns 0, or -1 after one error line.
int ratq_qnet_from_effnet(ratq_qnet *q, const ratq_effnet *m);
void ratq_qnet_free(ratq_qnet *q);
int ratq_qnet_reserve(ratq_qnet *q, int batch);

// Float forward of the folded network on u8 images [n][res][res][in_c] ((u8-127)/128). Returns the logits
// [n][classes] (inside q->f), or NULL. observe = 1 updates each op's min/max observer.
const float *ratq_qnet_float_forward(ratq_qnet *q, const uint8_t *img, int n, int observe);
// Reset observers; after observing, turn them into activation quantization (see above).
void ratq_qnet_observe_reset(ratq_qnet *q);
int ratq_qnet_observe_finish(ratq_qnet *q);
// The first op whose observer saw no finite value (-1: none), which ratq_qnet_observe_finish would refuse.
int ratq_qnet_observe_first_bad(const ratq_qnet *q);

// Copy the activation quantization of src into dst (same op list, e.g. a teacher built from the same model).
// Returns 0, or -1 after an error line if the op lists differ.
int ratq_qnet_copy_calibration(ratq_qnet *dst, const ratq_qnet *src);

// Derive the integer parameters from the current master weights and the fixed activation quantization.
// Returns 0, or -1 after one error line (e.g. a multiplier out of range).
int ratq_qnet_quantize(ratq_qnet *q, const ratq_quant_options *opt);

// Integer (fake-quant) forward on u8 images; returns the int8 logits q->q[n_ops-1] [n][classes].
const int8_t *ratq_qnet_forward(ratq_qnet *q, const uint8_t *img, int n);
// Accumulators of a CONV/DW/FC op for n images (host/quant/acc.c): acc = bias + sum (x - z_x) q_w, int32 saturated.
void ratq_qnet_op_acc(const ratq_qnet *q, const ratq_qnop *o, const int8_t *x, int32_t zx, int n, int32_t *acc);

// Dequantized logits of the last forward into out [n][classes].
void ratq_qnet_logits(const ratq_qnet *q, float *out);
// STE backward of the last forward given dL/d(dequantized logits) [n][classes]; OVERWRITES q->grads.
int ratq_qnet_backward(ratq_qnet *q, const float *dlogits);

#endif
