// float_conv_plan.h — conv geometry helpers shared by the CPU float ops (float_conv.c, float_dwconv.c) and their
// CUDA twins (kernels/cuda/conv_bwd_cuda.cu, train_elem.h), written once as RATQ_HD (host + device under nvcc), so
// both sides gather the same taps and cut the batch into the same im2col chunks.
#ifndef RATQ_CPU_FLOAT_CONV_PLAN_H
#define RATQ_CPU_FLOAT_CONV_PLAN_H

#include <stddef.h>

#include "cpu/float_ops.h"
#include "math/rescale.h" // RATQ_HD

// Backward gather: input coordinate i (already offset: t = i + pad_before - k*dilation) was read by output
// o = t / stride iff t >= 0, t % stride == 0 and o < out. Returns o or -1. Strides 1 and 2 avoid a division.
RATQ_HD int ratq_tap_src(int t, int stride, int out) {
    if (t < 0) return -1;
    const int o = stride == 1 ? t : (stride == 2 ? t >> 1 : t / stride);
    return (o * stride == t && o < out) ? o : -1;
}

// Scratch cap for im2col: the batch is processed in chunks of images whose columns fit in this many floats.
#define RATQ_IM2COL_CAP_FLOATS ((size_t)1 << 22)

// 1x1, stride 1, no padding: the input is its own column matrix (no im2col).
RATQ_HD int ratq_conv_is_pointwise(const ratq_conv2d_params *p) {
    return p->kh == 1 && p->kw == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
           p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
}

// im2col floats of one image: oh*ow rows of kh*kw*(ic/groups) columns.
RATQ_HD size_t ratq_im2col_per_image(const ratq_conv2d_params *p) {
    return (size_t)p->oh * p->ow * p->kh * p->kw * (p->ic / p->groups);
}

// Images per im2col chunk: as many as fit RATQ_IM2COL_CAP_FLOATS, at least 1, at most the batch.
RATQ_HD int ratq_im2col_images_per_chunk(const ratq_conv2d_params *p) {
    size_t per = ratq_im2col_per_image(p), nb = RATQ_IM2COL_CAP_FLOATS / (per ? per : 1);
    if (nb < 1) nb = 1;
    if (nb > (size_t)p->n) nb = (size_t)p->n;
    return (int)nb;
}

#endif
