// int_fast.h — the fast CPU integer engine: the same functions as int_ops.h (the reference loops, which stay the
// specification), computing the same integers bit for bit, with packed weights, register-blocked SIMD kernels and
// OpenMP threads. Layouts, formulas and saturation rules are those of int_ops.h.
//
// Kernels (int_fast.c drives; int_fast_c.c = portable C, int_fast_avx2.c = AVX2, int_fast_vnni.c = the AVX2 kernels
// with AVX512-VNNI's vpdpwssd for the multiply-add; chosen at run time):
//   CONV (any kernel, stride, dilation, groups; 1x1, the 3x3 stem) and FC: int8 GEMM
//       acc[m][n] = bias[n] + sum_k A[m][k] * B[n][k]
//     A = im2col of (x + input_offset) widened to int16 (taps outside the input are 0), B = w + filter_offset in
//     int16, k in (ky, kx, ic) order = OHWI, K padded to even with zeros. SIMD: vpmaddwd (or vpdpwssd) on int16
//     pairs: each product is formed in 32 bits and the pair sum |a0*b0 + a1*b1| <= 2 * 255 * 255 < 2^31 (vpmaddubsw
//     is not used: its int16 pair sum saturates), 6x16 register tile, 32-bit accumulation.
//   DEPTHWISE (depth_multiplier 1, up to 64 taps, any stride and dilation):
//       acc[c] = (bias[c] + input_offset * sum_t w[t][c]) + sum_t x_t[c] * w[t][c]
//     where a tap outside the input reads x = -input_offset (the input zero point), so its two terms cancel exactly;
//     taps are paired for vpmaddwd: (x_t0[c], x_t1[c]) . (w_t0[c], w_t1[c]), an odd last tap pairs with weight 0.
//   Output stage: ratq_requantize (math/rescale.h) per element (portable C), or its three rounding modes re-expressed
//     as 64-bit products and shifts on 8 lanes (int_fast_avx2.c states the identities; channels outside them, e.g.
//     left shifts, go through ratq_requantize). Checked against ratq_requantize in tests/cpu/test_int_fast.c.
//   ADD: the two input terms R((v + offset) * 2^left_shift * M) of int_ops.h tabulated for the 256 int8 values v, the
//     saturated sum through the output stage. GAP: int32 channel sums of x, plus input_offset * h * w in 64 bits.
// Exactness: the kernels accumulate in 32 bits (wrapping), so the driver requires every partial sum of the products
// to fit int32 in any order:
//   K * max|x + input_offset| * max|w + filter_offset| <= INT32_MAX   (GEMM; K = kernel_h * kernel_w * in_c / groups)
//   taps * 128 * (|input_offset| + 128) <= INT32_MAX                   (depthwise; also -input_offset an int8)
// with x + input_offset and w + filter_offset within int16; otherwise (adversarial shapes or offsets), and for a
// depth multiplier > 1, the entry points call the reference loops. A channel whose |bias| + that bound may leave
// int32 (e.g. a saturated INT32_MIN bias) accumulates without its bias and gets sat32(bias + sum) in 64 bits, as the
// reference does. Every output element is computed independently, so results do not depend on the threads.
#ifndef RATQ_CPU_INT_FAST_H
#define RATQ_CPU_INT_FAST_H

#include <stdint.h>

#include "int_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

// Which engine runs an integer model: the reference loops (int_ops.h) or this one.
typedef enum { RATQ_ENGINE_REF = 0, RATQ_ENGINE_FAST = 1 } ratq_engine;
// "ref" / "fast" <-> the enum. ratq_engine_from_name returns 0, or -1 for another string.
const char *ratq_engine_name(ratq_engine e);
int ratq_engine_from_name(const char *s, ratq_engine *e);

// The kernels the fast engine uses, chosen at run time: "avx512vnni" (AVX512-VNNI + AVX512VL), else "avx2", else "c".
const char *ratq_fast_isa(void);
// Tests and benchmarks: use the kernels named "c", "avx2" or "avx512vnni" (returns 0; -1 if this CPU or build lacks
// them), or NULL to go back to the run-time choice.
int ratq_fast_set_isa(const char *name);

// Weights packed once for repeated calls (the executor packs every op of a model per run).
typedef struct {
    int kind;            // RATQ_SHAPE_CONV (also FC) or RATQ_SHAPE_DEPTHWISE; -1 = not packed (use the reference)
    int groups;          // conv: groups; n = out_c / groups outputs and K = kernel_h * kernel_w * in_c / groups
    int n, k, kpairs;    // conv: per group; kpairs = ceil(K / 2). depthwise: n = channels, k = taps, kpairs = ceil(taps / 2)
    int32_t wmax;        // max |w + filter_offset| (conv) / max |w| (depthwise)
    int64_t *wsum;       // depthwise: sum_t w[t][c] per channel
    int16_t *w;          // conv: [groups][ceil(n/16)][kpairs][16][2]; depthwise: [kpairs][channels][2]
} ratq_fast_weights;

// Pack conv weights (OHWI, int_ops.h) / depthwise weights (1HWO) / FC weights ([out_c][depth]). Returns 0, or -1
// when out of memory (then p->kind = -1). A shape the fast kernels do not take gives kind = -1 and returns 0.
int ratq_fast_pack_conv(ratq_fast_weights *p, const ratq_conv_shape *sh, const int8_t *w, int32_t filter_offset);
int ratq_fast_pack_depthwise(ratq_fast_weights *p, const ratq_conv_shape *sh, const int8_t *w);
int ratq_fast_pack_fc(ratq_fast_weights *p, int depth, int out_c, const int8_t *w, int32_t filter_offset);
void ratq_fast_weights_free(ratq_fast_weights *p);

// Packed-weight ops. `w` and `filter_offset` are the unpacked weights the pack was made from (the reference
// fallback reads them). Same results as the int_ops.h function of the same name without _fast / _packed.
void ratq_conv_acc_s32_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                              int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias, int32_t *acc);
void ratq_conv_s8_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                         int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias,
                         const ratq_requant_s8 *rq, int8_t *out);
void ratq_depthwise_acc_s32_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                   const ratq_fast_weights *p, const int32_t *bias, int32_t *acc);
void ratq_depthwise_s8_packed(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                              const ratq_fast_weights *p, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out);
void ratq_fc_acc_s32_packed(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                            int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias, int32_t *acc);
void ratq_fc_s8_packed(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                       int32_t filter_offset, const ratq_fast_weights *p, const int32_t *bias,
                       const ratq_requant_s8 *rq, int8_t *out);

// One-shot ops (pack, run, free): drop-in twins of the int_ops.h functions.
void ratq_conv_acc_s32_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                            int32_t filter_offset, const int32_t *bias, int32_t *acc);
void ratq_conv_s8_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                       int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out);
void ratq_depthwise_acc_s32_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                 const int32_t *bias, int32_t *acc);
void ratq_depthwise_s8_fast(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                            const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out);
void ratq_fc_acc_s32_fast(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                          int32_t filter_offset, const int32_t *bias, int32_t *acc);
void ratq_fc_s8_fast(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                     int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out);
void ratq_requantize_s8_fast(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq, int8_t *out);
void ratq_add_s8_fast(int64_t count, const int8_t *a, const int8_t *b, const ratq_add_params_s8 *p, int8_t *out);
void ratq_global_avgpool_s8_fast(int batch, int h, int w, int c, const int8_t *in, int32_t input_offset,
                                 const ratq_requant_s8 *rq, int8_t *out);

#ifdef __cplusplus
}
#endif
#endif // RATQ_CPU_INT_FAST_H
