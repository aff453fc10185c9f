// ops_cuda.h — CUDA twins of the CPU ops (kernels/cpu/*.h): same arguments in the same order, plus a stream.
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

#ifdef __cplusplus
}
#endif
#endif
