// ops_cuda.h — CUDA twins of the CPU integer ops (kernels/cpu/int_ops.h): each takes its CPU twin's arguments in
// the same order, then a stream. The fused conv / depthwise / fc twins add the optional STE `mask` before the
// stream (on the CPU that mask is ratq_requantize_mask_cpu over the *_acc_s32_cpu accumulators); the add and the
// global average pool take `mask` exactly as their CPU twins do.
// All pointers are device pointers unless stated otherwise.
#ifndef RATQ_CUDA_OPS_CUDA_H
#define RATQ_CUDA_OPS_CUDA_H

#include <cuda_runtime.h>
#include <stdint.h>

#include "cpu/int_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

// Twin of ratq_requantize_s8_cpu: rq->rescale points to device memory ([per_channel ? channels : 1]).
void ratq_requantize_s8_cuda(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq, int8_t *out,
                             cudaStream_t stream);
// Twin of ratq_requantize_mask_cpu.
void ratq_requantize_mask_cuda(const int32_t *acc, int64_t count, int channels, const ratq_requant_s8 *rq,
                               uint8_t *mask, cudaStream_t stream);

// --- forward integer ops with the fused output stage (kernels/cuda/epilogue.cuh) ---
// Host structs (sh, rq, p) are host pointers; rq->rescale points to device memory. Every tensor pointer is a
// device pointer. `mask` (device, may be NULL = not stored): the STE mask of the output requantization, one uint8
// (0/1) per output element with the output's index, equal to ratq_requantize_mask_cpu of the op's accumulators.
// Outputs and masks are bit-identical to the CPU twins (exact integer accumulation; see conv_cuda.cu).
void ratq_conv_s8_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                       int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out,
                       uint8_t *mask, cudaStream_t stream);
void ratq_depthwise_s8_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                            const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask,
                            cudaStream_t stream);
void ratq_fc_s8_cuda(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                     int32_t filter_offset, const int32_t *bias, const ratq_requant_s8 *rq, int8_t *out,
                     uint8_t *mask, cudaStream_t stream);
// Residual add (p: host struct, copied by value). mask: STE mask of the output rescaler (act_min..act_max), as
// ratq_add_s8_cpu's.
void ratq_add_s8_cuda(int64_t count, const int8_t *a, const int8_t *b, const ratq_add_params_s8 *p, int8_t *out,
                      uint8_t *mask, cudaStream_t stream);
// Global average pool; like the CPU twin it uses rq->rescale[0] (per-tensor) whatever rq->per_channel says, and
// writes the same mask.
void ratq_global_avgpool_s8_cuda(int batch, int h, int w, int c, const int8_t *in, int32_t input_offset,
                                 const ratq_requant_s8 *rq, int8_t *out, uint8_t *mask, cudaStream_t stream);

// --- accumulators only (bias included), twins of the *_acc_s32_cpu ops (the unfused path, e.g. for benchmarks) ---
void ratq_conv_acc_s32_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                            int32_t filter_offset, const int32_t *bias, int32_t *acc, cudaStream_t stream);
void ratq_depthwise_acc_s32_cuda(const ratq_conv_shape *sh, const int8_t *in, int32_t input_offset, const int8_t *w,
                                 const int32_t *bias, int32_t *acc, cudaStream_t stream);
void ratq_fc_acc_s32_cuda(int batch, int depth, int out_c, const int8_t *in, int32_t input_offset, const int8_t *w,
                          int32_t filter_offset, const int32_t *bias, int32_t *acc, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
