// loss_cuda.h — the RAT loss of one micro-batch on the GPU (formulas: kernels/cpu/float_loss_elem.h): softmax
// cross-entropy with label smoothing on the dequantized int8 student logits, the distillation term against float
// or int8 teacher logits, dL/dlogits, and the accumulation of loss and correct count into a device
// ratq_step_result. No allocation, no host synchronization: ws is device scratch of ratq_rat_loss_ws_bytes(n).
// Deterministic (fixed-order block trees, the rows added in order by one thread).
#ifndef RATQ_CUDA_LOSS_CUDA_H
#define RATQ_CUDA_LOSS_CUDA_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/float_loss_elem.h"

// Per-step scalars, the only device-to-host transfer of a step (one copy into pinned memory).
typedef struct {
    double loss;               // sum over micro-batches of (micro-batch loss) / chunks
    long long correct;         // rows whose argmax equals the label
    unsigned long long status; // ~0 = fine; else the first quantization error key (kernels/cuda/quantize_elem.h)
    unsigned long long nonfinite; // master weights that are not finite after the update
} ratq_step_result;

typedef struct {
    int n, classes;        // rows, K
    float label_smoothing; // eps
    float alpha, temperature; // a (0 = no teacher), T
    int chunks;            // micro-batches per step: the loss is added as loss / chunks
    float s_scale;         // student logits: z = s_scale (q - s_zp)
    int32_t s_zp;
    float t_scale;         // int8 teacher logits (t_q): t = t_scale (q - t_zp)
    int32_t t_zp;
} ratq_rat_loss_params;

#ifdef __cplusplus
extern "C" {
#endif

size_t ratq_rat_loss_ws_bytes(int n);
// s_q: int8 student logits [n][K]; t_f (float) or t_q (int8) teacher logits, or both NULL when alpha == 0;
// labels int32 [n]; dz: dL/dlogits [n][K] (overwritten); res: loss and correct ADDED (zero it at the step start).
void ratq_rat_loss_cuda(const ratq_rat_loss_params *p, const int8_t *s_q, const float *t_f, const int8_t *t_q,
                        const int32_t *labels, float *dz, ratq_step_result *res, void *ws, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
