// float_fwd_elem.h — per-element arithmetic of the float forward ops on the GPU (kernels/cuda/float_fwd_cuda.cu),
// used by the float (distillation) teacher of RAT on the GPU (host/quant/qnet_float_cuda.c). Written once as
// RATQ_HD; tests/cpu/test_cuda_fused_host.cu runs each on the HOST against its CPU twin (kernels/cpu/float_*.c),
// bit for bit: same float / double operations in the same order. The conv and linear GEMMs are cuBLAS (the CPU's
// fill-bias-then-GEMM with beta = 1 structure; another summation order: tolerance).
#ifndef RATQ_CUDA_FLOAT_FWD_ELEM_H
#define RATQ_CUDA_FLOAT_FWD_ELEM_H

#include <stdint.h>

#include "cpu/float_ops.h"
#include "math/rescale.h" // RATQ_HD

// Network input of the folded float network (host/quant/qnet.c): (u8 - 127) / 128, exact.
RATQ_HD float ratq_ff_input(uint8_t u) { return (float)(u - 127) / 128.0f; }

// y = min(max(x, 0), 6) (kernels/cpu/float_elementwise.c; NaN passes through).
RATQ_HD float ratq_ff_relu6(float x) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); }

// Depthwise forward element idx = ((n*OH + oy)*OW + ox)*OC + o, the fast CPU version's order
// (ratq_dwconv2d_fwd_cpu): y = b[o] (or 0), then for ky, kx ascending with the tap inside: y += x * w (float).
RATQ_HD float ratq_ff_dw_elem(const ratq_conv2d_params *p, const float *x, const float *w, const float *b,
                              int64_t idx) {
    const int dm = p->oc / p->ic;
    const int o = (int)(idx % p->oc);
    int64_t r = idx / p->oc;
    const int ox = (int)(r % p->ow);
    r /= p->ow;
    const int oy = (int)(r % p->oh);
    const int n = (int)(r / p->oh);
    float y = b ? b[o] : 0.0f;
    for (int ky = 0; ky < p->kh; ky++) {
        const int iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= p->h) continue;
        for (int kx = 0; kx < p->kw; kx++) {
            const int ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (ix < 0 || ix >= p->w) continue;
            y += x[(((int64_t)n * p->h + iy) * p->w + ix) * p->ic + o / dm] * w[(int64_t)(ky * p->kw + kx) * p->oc + o];
        }
    }
    return y;
}

// Global average pool element (n, c) = idx: double sum over the h*w pixels in order, / (double)(h*w), to float
// (ratq_global_avgpool_fwd_cpu).
RATQ_HD float ratq_ff_gap_elem(const ratq_pool_params *p, const float *x, int64_t idx) {
    const int64_t hw = (int64_t)p->h * p->w, c = idx % p->c, n = idx / p->c;
    double acc = 0.0;
    for (int64_t s = 0; s < hw; s++) acc += x[(n * hw + s) * p->c + c];
    return (float)(acc / (double)hw);
}

#endif
