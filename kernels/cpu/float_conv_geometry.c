// float_conv_geometry.c — conv output size, TF SAME padding, params builders and validation.
#include <stdio.h>

#include "cpu/float_ops.h"

// ratq_conv_out_size and ratq_same_padding live in kernels/math/conv_geometry.h (shared with the int ops).

ratq_conv2d_params ratq_conv2d_params_same(int n, int h, int w, int ic, int oc, int k, int stride, int dilation,
                                           int groups) {
    ratq_conv2d_params p = {0};
    p.n = n, p.h = h, p.w = w, p.ic = ic, p.oc = oc;
    p.kh = p.kw = k;
    p.stride_h = p.stride_w = stride;
    p.dilation_h = p.dilation_w = dilation;
    p.groups = groups;
    ratq_same_padding(h, k, stride, dilation, &p.oh, &p.pad_top, &p.pad_bottom);
    ratq_same_padding(w, k, stride, dilation, &p.ow, &p.pad_left, &p.pad_right);
    return p;
}

ratq_conv2d_params ratq_conv2d_params_explicit(int n, int h, int w, int ic, int oc, int k, int stride, int dilation,
                                               int groups, int pad) {
    ratq_conv2d_params p = {0};
    p.n = n, p.h = h, p.w = w, p.ic = ic, p.oc = oc;
    p.kh = p.kw = k;
    p.stride_h = p.stride_w = stride;
    p.dilation_h = p.dilation_w = dilation;
    p.groups = groups;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
    p.oh = ratq_conv_out_size(h, k, stride, dilation, pad, pad);
    p.ow = ratq_conv_out_size(w, k, stride, dilation, pad, pad);
    return p;
}

#define CHECK(cond, field)                                                                                   \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "ratq: %s: conv params: %s: invalid (need %s)\n", what ? what : "conv", field, #cond); \
            return -1;                                                                                       \
        }                                                                                                    \
    } while (0)

int ratq_conv2d_params_check(const ratq_conv2d_params *p, const char *what) {
    CHECK(p->n > 0 && p->h > 0 && p->w > 0 && p->ic > 0 && p->oc > 0, "n/h/w/ic/oc");
    CHECK(p->kh > 0 && p->kw > 0, "kh/kw");
    CHECK(p->stride_h > 0 && p->stride_w > 0, "stride");
    CHECK(p->dilation_h > 0 && p->dilation_w > 0, "dilation");
    CHECK(p->groups > 0 && p->ic % p->groups == 0 && p->oc % p->groups == 0, "groups");
    CHECK(p->pad_top >= 0 && p->pad_bottom >= 0 && p->pad_left >= 0 && p->pad_right >= 0, "pad");
    CHECK(p->pad_top < p->dilation_h * (p->kh - 1) + 1 && p->pad_bottom < p->dilation_h * (p->kh - 1) + 1, "pad_top/pad_bottom");
    CHECK(p->pad_left < p->dilation_w * (p->kw - 1) + 1 && p->pad_right < p->dilation_w * (p->kw - 1) + 1, "pad_left/pad_right");
    CHECK(p->oh > 0 && p->oh == ratq_conv_out_size(p->h, p->kh, p->stride_h, p->dilation_h, p->pad_top, p->pad_bottom), "oh");
    CHECK(p->ow > 0 && p->ow == ratq_conv_out_size(p->w, p->kw, p->stride_w, p->dilation_w, p->pad_left, p->pad_right), "ow");
    return 0;
}

int ratq_dwconv2d_params_check(const ratq_conv2d_params *p, const char *what) {
    if (ratq_conv2d_params_check(p, what) != 0) return -1;
    CHECK(p->groups == p->ic && p->oc % p->ic == 0, "groups/oc (depthwise)");
    return 0;
}
