// test_qmodel_common.h — a small random integer model for the qmodel tests, built through the public API
// (ratq_qmodel_append with real scales; rescalers derived at the model's k):
//   op 0 conv    3x3 s2 SAME, 3 -> 8, per channel, ReLU6       input 12x12x3 -> 6x6x8
//   op 1 dwconv  3x3 s1 SAME, 8 -> 8, per channel, ReLU6                      -> 6x6x8
//   op 2 conv    1x1, 8 -> 8, groups 2, per channel, no activation             -> 6x6x8
//   op 3 add     op 2 + op 0                                                    -> 6x6x8
//   op 4 avgpool 2x2 s2                                                         -> 3x3x8
//   op 5 conv    1x1, 8 -> 16, per TENSOR weight scale, ReLU6                  -> 3x3x16
//   op 6 gap                                                                    -> 1x1x16
//   op 7 fc      16 -> 10 classes, per channel                                 -> 1x1x10
// Scales are drawn so that typical accumulators land well inside the int8 output range (some clamping still
// happens, which the tests want): M ~ 40 / (sqrt(fan_in) * 4000), ReLU6 outputs with S_y ~ 6/255.
#ifndef RATQ_TEST_QMODEL_COMMON_H
#define RATQ_TEST_QMODEL_COMMON_H

#include <math.h>
#include <string.h>

#include "math/quant_grid.h" // ratq_activation_range_s8
#include "models/efficientnet_lite.h"
#include "qmodel/qmodel.h"
#include "test_util.h"

#define TQ_IN 12
#define TQ_CLASSES 10

static inline double tq_uniform(uint64_t *st, double lo, double hi) { return lo + (hi - lo) * ratq_test_unit(st); }

// Append a CONV / DWCONV / FC op with random weights, biases and scales. Returns the op index or -1.
static inline int tq_weighted(ratq_qmodel *m, uint64_t *st, ratq_qop_kind kind, const char *name, int in,
                       const ratq_conv_shape *shape, int per_channel, int relu6) {
    ratq_qop op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    snprintf(op.name, sizeof op.name, "%s", name);
    op.in = in;
    op.in2 = -2;
    op.shape = *shape;
    op.per_channel = per_channel;
    const ratq_qop *p = in >= 0 ? &m->ops[in] : NULL;
    op.s_x = p ? p->s_y : m->input_scale;
    op.z_x = p ? p->z_y : m->input_zero_point;
    const ratq_conv_shape *s = shape;
    int64_t nw, fan_in;
    if (kind == RATQ_QOP_CONV) fan_in = (int64_t)s->kernel_h * s->kernel_w * (s->in_c / s->groups), nw = fan_in * s->out_c;
    else if (kind == RATQ_QOP_DWCONV) fan_in = (int64_t)s->kernel_h * s->kernel_w, nw = fan_in * s->out_c;
    else fan_in = (int64_t)s->in_h * s->in_w * s->in_c, nw = fan_in * s->out_c;
    const int nr = per_channel ? s->out_c : 1;
    int8_t *w = malloc((size_t)nw);
    int32_t *b = malloc(sizeof(int32_t) * (size_t)s->out_c);
    double *sw = malloc(sizeof(double) * (size_t)nr);
    for (int64_t i = 0; i < nw; i++) w[i] = (int8_t)ratq_test_range(st, -127, 127);
    for (int c = 0; c < s->out_c; c++) b[c] = (int32_t)ratq_test_range(st, -3000, 3000);
    // Output scale first (ReLU6 outputs span about 6/255 per step, like a calibrated model; others a fixed range so
    // scales do not compound through the network), then weight scales from the target multipliers.
    op.s_y = relu6 ? 6.0 / 255.0 * tq_uniform(st, 0.9, 1.1) : tq_uniform(st, 0.05, 0.2);
    const double M = 40.0 / (sqrt((double)fan_in) * 4000.0);
    for (int c = 0; c < nr; c++) sw[c] = M * tq_uniform(st, 0.7, 1.4) * op.s_y / op.s_x;
    op.z_y = relu6 ? -128 : (int32_t)ratq_test_range(st, -20, 20);
    ratq_activation_range_s8(relu6 ? RATQ_ACT_RELU6 : RATQ_ACT_NONE, (float)op.s_y, op.z_y, &op.act_min, &op.act_max);
    op.weights = w, op.bias = b, op.s_w = sw, op.rescale = NULL;
    const int idx = ratq_qmodel_append(m, &op);
    free(w), free(b), free(sw);
    return idx;
}

static inline ratq_conv_shape tq_conv_shape(int in_h, int in_w, int in_c, int out_c, int k, int stride, int groups, int dw) {
    ratq_conv_shape s;
    memset(&s, 0, sizeof s);
    s.batch = 1, s.in_h = in_h, s.in_w = in_w, s.in_c = in_c, s.out_c = out_c;
    s.kernel_h = s.kernel_w = k, s.stride_h = s.stride_w = stride, s.dilation_h = s.dilation_w = 1;
    ratq_same_padding(in_h, k, stride, 1, &s.out_h, &s.pad_top, &s.pad_bottom);
    ratq_same_padding(in_w, k, stride, 1, &s.out_w, &s.pad_left, &s.pad_right);
    s.groups = dw ? 1 : groups;
    s.depth_multiplier = dw ? out_c / in_c : 1;
    return s;
}

// Build the test model (above). Returns 0, or -1 if any append failed (an error line was printed).
static inline int tq_build(ratq_qmodel *m, uint64_t seed, int k, ratq_rounding rounding) {
    uint64_t st = seed;
    if (ratq_qmodel_init(m, "qtest", TQ_IN, TQ_IN, 3, TQ_CLASSES, k, rounding, RATQ_QMODEL_INPUT_SCALE,
                         RATQ_QMODEL_INPUT_ZERO_POINT))
        return -1;
    ratq_conv_shape s;
    s = tq_conv_shape(TQ_IN, TQ_IN, 3, 8, 3, 2, 1, 0);
    if (tq_weighted(m, &st, RATQ_QOP_CONV, "stem", -1, &s, 1, 1) != 0) return -1;
    s = tq_conv_shape(6, 6, 8, 8, 3, 1, 1, 1);
    if (tq_weighted(m, &st, RATQ_QOP_DWCONV, "dw", 0, &s, 1, 1) != 1) return -1;
    s = tq_conv_shape(6, 6, 8, 8, 1, 1, 2, 0);
    if (tq_weighted(m, &st, RATQ_QOP_CONV, "project", 1, &s, 1, 0) != 2) return -1;
    ratq_qop add;
    memset(&add, 0, sizeof add);
    add.kind = RATQ_QOP_ADD;
    snprintf(add.name, sizeof add.name, "residual");
    add.in = 2, add.in2 = 0;
    add.shape.in_h = 6, add.shape.in_w = 6, add.shape.in_c = 8;
    add.s_x = m->ops[2].s_y, add.z_x = m->ops[2].z_y, add.s_x2 = m->ops[0].s_y, add.z_x2 = m->ops[0].z_y;
    add.s_y = (add.s_x > add.s_x2 ? add.s_x : add.s_x2) * tq_uniform(&st, 1.1, 1.6);
    add.z_y = (int32_t)ratq_test_range(&st, -10, 10);
    add.act_min = -128, add.act_max = 127;
    if (ratq_qmodel_append(m, &add) != 3) return -1;
    ratq_qop pool;
    memset(&pool, 0, sizeof pool);
    pool.kind = RATQ_QOP_AVGPOOL;
    snprintf(pool.name, sizeof pool.name, "pool");
    pool.in = 3, pool.in2 = -2;
    pool.shape = tq_conv_shape(6, 6, 8, 8, 2, 2, 1, 0);
    pool.s_x = pool.s_y = m->ops[3].s_y, pool.z_x = pool.z_y = m->ops[3].z_y;
    pool.act_min = -100, pool.act_max = 120; // a clamp that binds sometimes
    if (ratq_qmodel_append(m, &pool) != 4) return -1;
    s = tq_conv_shape(3, 3, 8, 16, 1, 1, 1, 0);
    if (tq_weighted(m, &st, RATQ_QOP_CONV, "head", 4, &s, 0, 1) != 5) return -1;
    ratq_qop gap;
    memset(&gap, 0, sizeof gap);
    gap.kind = RATQ_QOP_GAP;
    snprintf(gap.name, sizeof gap.name, "gap");
    gap.in = 5, gap.in2 = -2;
    gap.shape.in_h = 3, gap.shape.in_w = 3, gap.shape.in_c = 16;
    gap.s_x = m->ops[5].s_y, gap.z_x = m->ops[5].z_y;
    gap.s_y = gap.s_x * tq_uniform(&st, 0.5, 0.9), gap.z_y = (int32_t)ratq_test_range(&st, -30, 0);
    gap.act_min = -128, gap.act_max = 127;
    if (ratq_qmodel_append(m, &gap) != 6) return -1;
    memset(&s, 0, sizeof s);
    s.batch = 1, s.in_h = 1, s.in_w = 1, s.in_c = 16, s.out_h = 1, s.out_w = 1, s.out_c = TQ_CLASSES;
    if (tq_weighted(m, &st, RATQ_QOP_FC, "classifier", 6, &s, 1, 0) != 7) return -1;
    return ratq_qmodel_check(m, "qtest");
}

// An integer model with the graph of an EfficientNet-Lite config (models/efficientnet_lite.h layer list) and
// random parameters: CONV/DWCONV + BN (+ RELU6) -> one conv/dwconv op (BN folded, ReLU6 as the clamp), ADD -> add,
// GAP -> gap, FC -> fc; DROP_CONNECT / DROPOUT are identities at inference. Returns 0 or -1.
static inline int tq_build_effnet(ratq_qmodel *m, const char *arch, uint64_t seed, int k, ratq_rounding rounding) {
    ratq_effnet_config cfg;
    ratq_effnet net;
    if (ratq_effnet_config_from_name(arch, 0, 0, &cfg) || ratq_effnet_build(&net, &cfg)) return -1;
    int rc = ratq_qmodel_init(m, cfg.arch, cfg.resolution, cfg.resolution, 3, cfg.num_classes, k, rounding,
                              RATQ_QMODEL_INPUT_SCALE, RATQ_QMODEL_INPUT_ZERO_POINT);
    int *op_of = malloc(sizeof(int) * (size_t)net.n_layers); // layer -> op producing its output (-2 = not yet)
    uint64_t st = seed;
    for (int l = 0; !rc && l < net.n_layers; l++) op_of[l] = -2;
    for (int l = 0; !rc && l < net.n_layers; l++) {
        const ratq_layer *L = &net.layers[l];
        if (op_of[l] != -2) continue; // BN / RELU6 folded into their conv
        const int in = L->in < 0 ? -1 : op_of[L->in];
        int idx = -1;
        if (L->kind == RATQ_LAYER_CONV || L->kind == RATQ_LAYER_DWCONV) {
            const ratq_conv2d_params *c = &L->conv;
            ratq_conv_shape s;
            memset(&s, 0, sizeof s);
            s.batch = 1, s.in_h = c->h, s.in_w = c->w, s.in_c = c->ic, s.out_h = c->oh, s.out_w = c->ow, s.out_c = c->oc;
            s.kernel_h = c->kh, s.kernel_w = c->kw, s.stride_h = c->stride_h, s.stride_w = c->stride_w;
            s.dilation_h = c->dilation_h, s.dilation_w = c->dilation_w;
            s.pad_top = c->pad_top, s.pad_left = c->pad_left, s.pad_bottom = c->pad_bottom, s.pad_right = c->pad_right;
            const int dw = L->kind == RATQ_LAYER_DWCONV;
            s.groups = dw ? 1 : c->groups;
            s.depth_multiplier = dw ? c->oc / c->ic : 1;
            const int bn = l + 1 < net.n_layers && net.layers[l + 1].kind == RATQ_LAYER_BN && net.layers[l + 1].in == l;
            const int relu = bn && l + 2 < net.n_layers && net.layers[l + 2].kind == RATQ_LAYER_RELU6 &&
                             net.layers[l + 2].in == l + 1;
            idx = tq_weighted(m, &st, dw ? RATQ_QOP_DWCONV : RATQ_QOP_CONV, L->name, in, &s, 1, relu);
            if (bn) op_of[l + 1] = idx;
            if (relu) op_of[l + 2] = idx;
        } else if (L->kind == RATQ_LAYER_DROP_CONNECT || L->kind == RATQ_LAYER_DROPOUT) {
            idx = in;
        } else if (L->kind == RATQ_LAYER_ADD) {
            ratq_qop a;
            memset(&a, 0, sizeof a);
            a.kind = RATQ_QOP_ADD;
            snprintf(a.name, sizeof a.name, "%s", L->name);
            a.in = in, a.in2 = L->in2 < 0 ? -1 : op_of[L->in2];
            a.shape.in_h = L->h, a.shape.in_w = L->w, a.shape.in_c = L->c;
            a.s_x = m->ops[a.in].s_y, a.z_x = m->ops[a.in].z_y, a.s_x2 = m->ops[a.in2].s_y, a.z_x2 = m->ops[a.in2].z_y;
            a.s_y = (a.s_x > a.s_x2 ? a.s_x : a.s_x2) * tq_uniform(&st, 1.1, 1.6);
            a.z_y = (int32_t)ratq_test_range(&st, -10, 10);
            a.act_min = -128, a.act_max = 127;
            idx = ratq_qmodel_append(m, &a);
        } else if (L->kind == RATQ_LAYER_GAP) {
            ratq_qop g;
            memset(&g, 0, sizeof g);
            g.kind = RATQ_QOP_GAP;
            snprintf(g.name, sizeof g.name, "%s", L->name);
            g.in = in, g.in2 = -2;
            g.shape.in_h = L->h, g.shape.in_w = L->w, g.shape.in_c = L->c;
            g.s_x = m->ops[in].s_y, g.z_x = m->ops[in].z_y;
            g.s_y = g.s_x * tq_uniform(&st, 0.5, 0.9), g.z_y = (int32_t)ratq_test_range(&st, -30, 0);
            g.act_min = -128, g.act_max = 127;
            idx = ratq_qmodel_append(m, &g);
        } else if (L->kind == RATQ_LAYER_FC) {
            ratq_conv_shape s;
            memset(&s, 0, sizeof s);
            s.batch = 1, s.in_h = 1, s.in_w = 1, s.in_c = L->c, s.out_h = 1, s.out_w = 1, s.out_c = L->oc;
            idx = tq_weighted(m, &st, RATQ_QOP_FC, L->name, in, &s, 1, 0);
        } else {
            fprintf(stderr, "tq_build_effnet: unexpected layer %d (%s)\n", l, ratq_layer_kind_name(L->kind));
            rc = -1;
        }
        if (idx < (L->kind == RATQ_LAYER_DROP_CONNECT || L->kind == RATQ_LAYER_DROPOUT ? -1 : 0)) rc = -1;
        op_of[l] = idx;
    }
    free(op_of);
    ratq_effnet_free(&net);
    return rc ? -1 : ratq_qmodel_check(m, arch);
}

static inline void tq_random_u8(uint64_t *st, uint8_t *px, int64_t n) {
    for (int64_t i = 0; i < n; i++) px[i] = (uint8_t)ratq_test_range(st, 0, 255);
}

#endif
