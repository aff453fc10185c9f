// int_shape.c — conv/pool geometry checks (the formulas are in kernels/math/conv_geometry.h).
#include "int_ops.h"


const char *ratq_conv_shape_check(const ratq_conv_shape *sh, ratq_shape_kind kind) {
    if (sh->batch < 1) return "batch";
    if (sh->in_h < 1) return "in_h";
    if (sh->in_w < 1) return "in_w";
    if (sh->in_c < 1) return "in_c";
    if (sh->out_c < 1) return "out_c";
    if (sh->kernel_h < 1) return "kernel_h";
    if (sh->kernel_w < 1) return "kernel_w";
    if (sh->stride_h < 1) return "stride_h";
    if (sh->stride_w < 1) return "stride_w";
    if (sh->dilation_h < 1) return "dilation_h";
    if (sh->dilation_w < 1) return "dilation_w";
    if (sh->pad_top < 0) return "pad_top";
    if (sh->pad_left < 0) return "pad_left";
    if (sh->pad_bottom < 0) return "pad_bottom";
    if (sh->pad_right < 0) return "pad_right";
    if (sh->out_h != ratq_conv_out_size(sh->in_h, sh->kernel_h, sh->stride_h, sh->dilation_h, sh->pad_top, sh->pad_bottom))
        return "out_h";
    if (sh->out_w != ratq_conv_out_size(sh->in_w, sh->kernel_w, sh->stride_w, sh->dilation_w, sh->pad_left, sh->pad_right))
        return "out_w";
    if (kind == RATQ_SHAPE_CONV) {
        if (sh->groups < 1 || sh->in_c % sh->groups || sh->out_c % sh->groups) return "groups";
    } else if (kind == RATQ_SHAPE_DEPTHWISE) {
        if (sh->depth_multiplier < 1 || sh->out_c != sh->in_c * sh->depth_multiplier) return "depth_multiplier";
    } else if (sh->out_c != sh->in_c) {
        return "out_c";
    }
    return 0;
}
