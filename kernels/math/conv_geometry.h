// conv_geometry.h — convolution / pooling window geometry shared by the float and integer ops (CPU and CUDA).
#ifndef RATQ_MATH_CONV_GEOMETRY_H
#define RATQ_MATH_CONV_GEOMETRY_H

#include "math/rescale.h" // RATQ_HD

// Output size of a window op: (in + pad_before + pad_after - dilation*(k-1) - 1) / stride + 1, or 0 if empty.
RATQ_HD int ratq_conv_out_size(int in, int k, int stride, int dilation, int pad_before, int pad_after) {
    int span = in + pad_before + pad_after - dilation * (k - 1) - 1;
    if (span < 0 || stride <= 0) return 0;
    return span / stride + 1;
}

// TF "SAME" padding for one spatial dimension: out = ceil(in/stride), total = max((out-1)*stride +
// dilation*(k-1) + 1 - in, 0), before = total/2, after = total - before (the extra row/column at the end).
RATQ_HD void ratq_same_padding(int in, int k, int stride, int dilation, int *out, int *pad_before, int *pad_after) {
    int o = (in + stride - 1) / stride;
    int total = (o - 1) * stride + dilation * (k - 1) + 1 - in;
    if (total < 0) total = 0;
    *out = o;
    *pad_before = total / 2;
    *pad_after = total - total / 2;
}

#endif
