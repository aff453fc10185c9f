// qmodel.c — the integer model: building (append with validation), the checks shared with the loader,
// rescaler derivation from the real scales (and the k sweep), copy, free. Formulas: qmodel.h.
#include "qmodel/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"

static const char *const KIND_NAMES[RATQ_QOP_KIND_COUNT] = {"conv", "dwconv", "fc", "add", "gap", "avgpool"};

const char *ratq_qop_kind_name(ratq_qop_kind kind) {
    return (int)kind >= 0 && kind < RATQ_QOP_KIND_COUNT ? KIND_NAMES[kind] : "?";
}

const char *ratq_qmodel_rounding_name(ratq_rounding r) {
    return r == RATQ_ROUND_TFLITE ? "tflite" : r == RATQ_ROUND_SINGLE ? "single" : r == RATQ_ROUND_HALF_EVEN ? "half_even" : "?";
}

int ratq_qmodel_rounding_from_name(const char *s, ratq_rounding *r) {
    if (!strcmp(s, "tflite")) *r = RATQ_ROUND_TFLITE;
    else if (!strcmp(s, "single")) *r = RATQ_ROUND_SINGLE;
    else if (!strcmp(s, "half_even")) *r = RATQ_ROUND_HALF_EVEN;
    else return -1;
    return 0;
}

void ratq_qop_error(const char *what, int idx, int kind, const char *field, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (idx < 0) ratq_error("%s: field '%s': %s", what, field, msg);
    else ratq_error("%s: op %d (%s): field '%s': %s", what, idx, ratq_qop_kind_name((ratq_qop_kind)kind), field, msg);
}

static int scale_ok(double s) { return isfinite(s) && s > 0; }
static int zp_ok(int32_t z) { return z >= -128 && z <= 127; }
static int dim_ok(int d, int lo) { return d >= lo && d <= RATQ_QMODEL_MAX_DIM; }

int ratq_qmodel_check_header(const ratq_qmodel *m, const char *what) {
#define HFAIL(field, ...) do { ratq_qop_error(what, -1, 0, field, __VA_ARGS__); return -1; } while (0)
    if (memchr(m->arch, 0, sizeof m->arch) == NULL) HFAIL("arch", "not NUL-terminated");
    if (!dim_ok(m->in_h, 1)) HFAIL("in_h", "%d outside 1..%d", m->in_h, RATQ_QMODEL_MAX_DIM);
    if (!dim_ok(m->in_w, 1)) HFAIL("in_w", "%d outside 1..%d", m->in_w, RATQ_QMODEL_MAX_DIM);
    if (!dim_ok(m->in_c, 1)) HFAIL("in_c", "%d outside 1..%d", m->in_c, RATQ_QMODEL_MAX_DIM);
    if (!dim_ok(m->num_classes, 1)) HFAIL("num_classes", "%d outside 1..%d", m->num_classes, RATQ_QMODEL_MAX_DIM);
    if (m->k < RATQ_K_MIN || m->k > RATQ_K_MAX) HFAIL("k", "%d outside %d..%d", m->k, RATQ_K_MIN, RATQ_K_MAX);
    if ((int)m->rounding < 0 || (int)m->rounding > 2) HFAIL("rounding", "unknown rounding mode %d", (int)m->rounding);
    if (!scale_ok(m->input_scale)) HFAIL("input_scale", "%g is not a finite positive scale", m->input_scale);
    if (!zp_ok(m->input_zero_point)) HFAIL("input_zero_point", "%d outside -128..127", (int)m->input_zero_point);
    return 0;
#undef HFAIL
}

// Checked product of non-negative counts; -1 if it exceeds 2^40 (no sane model comes near it).
static int64_t count_mul(int64_t a, int64_t b) {
    const int64_t lim = (int64_t)1 << 40;
    if (a < 0 || b < 0) return -1;
    if (a != 0 && b > lim / a) return -1;
    return a * b > lim ? -1 : a * b;
}

#define FAIL(field, ...) do { ratq_qop_error(what, idx, (int)op->kind, field, __VA_ARGS__); return -1; } while (0)

// Fields of the window geometry that must equal a canonical value for kinds without a window.
static int check_no_window(const ratq_qop *op, int idx, const char *what) {
    const ratq_conv_shape *s = &op->shape;
    const struct { const char *name; int v, want; } f[] = {
        {"kernel_h", s->kernel_h, 1}, {"kernel_w", s->kernel_w, 1}, {"stride_h", s->stride_h, 1},
        {"stride_w", s->stride_w, 1}, {"dilation_h", s->dilation_h, 1}, {"dilation_w", s->dilation_w, 1},
        {"pad_top", s->pad_top, 0}, {"pad_left", s->pad_left, 0}, {"pad_bottom", s->pad_bottom, 0},
        {"pad_right", s->pad_right, 0}, {"groups", s->groups, 1}, {"depth_multiplier", s->depth_multiplier, 1},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v != f[i].want) FAIL(f[i].name, "%d, must be %d for a %s op", f[i].v, f[i].want, ratq_qop_kind_name(op->kind));
    return 0;
}

// The producer of input `in` of op idx: geometry, scale, zero point.
static void producer(const ratq_qmodel *m, int in, int *h, int *w, int *c, double *s, int32_t *z) {
    if (in < 0) {
        *h = m->in_h, *w = m->in_w, *c = m->in_c, *s = m->input_scale, *z = m->input_zero_point;
    } else {
        const ratq_qop *p = &m->ops[in];
        *h = p->shape.out_h, *w = p->shape.out_w, *c = p->shape.out_c, *s = p->s_y, *z = p->z_y;
    }
}

static int check_input(const ratq_qmodel *m, int idx, const ratq_qop *op, const char *what, int which) {
    const int in = which == 1 ? op->in : op->in2;
    const char *fin = which == 1 ? "in" : "in2";
    if (in < -1 || in >= idx) FAIL(fin, "%d, must be -1 (network input) or an earlier op 0..%d", in, idx - 1);
    int h, w, c;
    double s;
    int32_t z;
    producer(m, in, &h, &w, &c, &s, &z);
    if (op->shape.in_h != h) FAIL("in_h", "%d does not match the output height %d of its input %d", op->shape.in_h, h, in);
    if (op->shape.in_w != w) FAIL("in_w", "%d does not match the output width %d of its input %d", op->shape.in_w, w, in);
    if (op->shape.in_c != c) FAIL("in_c", "%d does not match the output channels %d of its input %d", op->shape.in_c, c, in);
    const double sx = which == 1 ? op->s_x : op->s_x2;
    const int32_t zx = which == 1 ? op->z_x : op->z_x2;
    if (sx != s) FAIL(which == 1 ? "s_x" : "s_x2", "%.9g does not match the output scale %.9g of its input %d", sx, s, in);
    if (zx != z) FAIL(which == 1 ? "z_x" : "z_x2", "%d does not match the output zero point %d of its input %d", (int)zx, (int)z, in);
    return 0;
}

int ratq_qop_check_fields(const ratq_qmodel *m, int idx, ratq_qop *op, const char *what) {
    if ((int)op->kind < 0 || op->kind >= RATQ_QOP_KIND_COUNT) FAIL("kind", "unknown op kind %d", (int)op->kind);
    if (memchr(op->name, 0, sizeof op->name) == NULL) FAIL("name", "not NUL-terminated");
    ratq_conv_shape *sh = &op->shape;
    if (sh->batch != 1) FAIL("batch", "%d, must be 1 (geometry is per image)", sh->batch);
    const struct { const char *name; int v; } dims[] = {
        {"in_h", sh->in_h}, {"in_w", sh->in_w}, {"in_c", sh->in_c}, {"out_h", sh->out_h}, {"out_w", sh->out_w},
        {"out_c", sh->out_c}, {"kernel_h", sh->kernel_h}, {"kernel_w", sh->kernel_w}, {"stride_h", sh->stride_h},
        {"stride_w", sh->stride_w}, {"dilation_h", sh->dilation_h}, {"dilation_w", sh->dilation_w},
        {"pad_top", sh->pad_top}, {"pad_left", sh->pad_left}, {"pad_bottom", sh->pad_bottom},
        {"pad_right", sh->pad_right}, {"groups", sh->groups}, {"depth_multiplier", sh->depth_multiplier},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (!dim_ok(dims[i].v, 0)) FAIL(dims[i].name, "%d outside 0..%d", dims[i].v, RATQ_QMODEL_MAX_DIM);
    if (check_input(m, idx, op, what, 1)) return -1;
    const int is_add = op->kind == RATQ_QOP_ADD;
    if (is_add) {
        if (check_input(m, idx, op, what, 2)) return -1;
    } else {
        if (op->in2 != -2) FAIL("in2", "%d, must be -2 for a %s op", op->in2, ratq_qop_kind_name(op->kind));
        if (op->s_x2 != 0) FAIL("s_x2", "%g, must be 0 for a %s op", op->s_x2, ratq_qop_kind_name(op->kind));
        if (op->z_x2 != 0) FAIL("z_x2", "%d, must be 0 for a %s op", (int)op->z_x2, ratq_qop_kind_name(op->kind));
    }
    const int has_w = op->kind == RATQ_QOP_CONV || op->kind == RATQ_QOP_DWCONV || op->kind == RATQ_QOP_FC;
    if (has_w ? (op->per_channel != 0 && op->per_channel != 1) : op->per_channel != 0)
        FAIL("per_channel", "%d, must be %s", op->per_channel, has_w ? "0 or 1" : "0 for this op");
    if (!scale_ok(op->s_x)) FAIL("s_x", "%g is not a finite positive scale", op->s_x);
    if (is_add && !scale_ok(op->s_x2)) FAIL("s_x2", "%g is not a finite positive scale", op->s_x2);
    if (!scale_ok(op->s_y)) FAIL("s_y", "%g is not a finite positive scale", op->s_y);
    if (!zp_ok(op->z_y)) FAIL("z_y", "%d outside -128..127", (int)op->z_y);
    if (op->act_min < -128 || op->act_min > 127) FAIL("act_min", "%d outside -128..127", (int)op->act_min);
    if (op->act_max < op->act_min || op->act_max > 127)
        FAIL("act_max", "%d outside act_min..127 (act_min %d)", (int)op->act_max, (int)op->act_min);

    // Geometry per kind, then the array sizes.
    int64_t nw = 0;
    int nb = 0, nr = 0;
    const char *bad;
    switch (op->kind) {
    case RATQ_QOP_CONV:
        if ((bad = ratq_conv_shape_check(sh, RATQ_SHAPE_CONV))) FAIL(bad, "inconsistent conv geometry");
        if (sh->depth_multiplier != 1) FAIL("depth_multiplier", "%d, must be 1 for a conv op", sh->depth_multiplier);
        nw = count_mul(count_mul(count_mul(sh->out_c, sh->kernel_h), sh->kernel_w), sh->in_c / sh->groups);
        break;
    case RATQ_QOP_DWCONV:
        if ((bad = ratq_conv_shape_check(sh, RATQ_SHAPE_DEPTHWISE))) FAIL(bad, "inconsistent depthwise geometry");
        if (sh->groups != 1) FAIL("groups", "%d, must be 1 for a dwconv op", sh->groups);
        nw = count_mul(count_mul(sh->kernel_h, sh->kernel_w), sh->out_c);
        break;
    case RATQ_QOP_AVGPOOL:
        if ((bad = ratq_conv_shape_check(sh, RATQ_SHAPE_POOL))) FAIL(bad, "inconsistent pool geometry");
        if (sh->groups != 1) FAIL("groups", "%d, must be 1 for an avgpool op", sh->groups);
        if (sh->depth_multiplier != 1) FAIL("depth_multiplier", "%d, must be 1 for an avgpool op", sh->depth_multiplier);
        if (sh->dilation_h != 1) FAIL("dilation_h", "%d, must be 1 for an avgpool op", sh->dilation_h);
        if (sh->dilation_w != 1) FAIL("dilation_w", "%d, must be 1 for an avgpool op", sh->dilation_w);
        // pads < kernel: every window overlaps the input (the engine divides by the taps inside).
        if (sh->pad_top >= sh->kernel_h) FAIL("pad_top", "%d, must be < kernel_h %d", sh->pad_top, sh->kernel_h);
        if (sh->pad_bottom >= sh->kernel_h) FAIL("pad_bottom", "%d, must be < kernel_h %d", sh->pad_bottom, sh->kernel_h);
        if (sh->pad_left >= sh->kernel_w) FAIL("pad_left", "%d, must be < kernel_w %d", sh->pad_left, sh->kernel_w);
        if (sh->pad_right >= sh->kernel_w) FAIL("pad_right", "%d, must be < kernel_w %d", sh->pad_right, sh->kernel_w);
        if (op->s_y != op->s_x) FAIL("s_y", "%.9g, must equal s_x %.9g for an avgpool op", op->s_y, op->s_x);
        if (op->z_y != op->z_x) FAIL("z_y", "%d, must equal z_x %d for an avgpool op", (int)op->z_y, (int)op->z_x);
        break;
    case RATQ_QOP_FC:
    case RATQ_QOP_ADD:
    case RATQ_QOP_GAP:
        if (check_no_window(op, idx, what)) return -1;
        if (op->kind == RATQ_QOP_FC) {
            if (sh->out_h != 1) FAIL("out_h", "%d, must be 1 for an fc op", sh->out_h);
            if (sh->out_w != 1) FAIL("out_w", "%d, must be 1 for an fc op", sh->out_w);
            if (sh->out_c < 1) FAIL("out_c", "%d, must be >= 1", sh->out_c);
            nw = count_mul(count_mul(count_mul(sh->out_c, sh->in_h), sh->in_w), sh->in_c);
        } else if (op->kind == RATQ_QOP_ADD) {
            if (sh->out_h != sh->in_h) FAIL("out_h", "%d, must equal in_h %d for an add op", sh->out_h, sh->in_h);
            if (sh->out_w != sh->in_w) FAIL("out_w", "%d, must equal in_w %d for an add op", sh->out_w, sh->in_w);
            if (sh->out_c != sh->in_c) FAIL("out_c", "%d, must equal in_c %d for an add op", sh->out_c, sh->in_c);
        } else {
            if (sh->out_h != 1) FAIL("out_h", "%d, must be 1 for a gap op", sh->out_h);
            if (sh->out_w != 1) FAIL("out_w", "%d, must be 1 for a gap op", sh->out_w);
            if (sh->out_c != sh->in_c) FAIL("out_c", "%d, must equal in_c %d for a gap op", sh->out_c, sh->in_c);
            if ((int64_t)sh->in_h * sh->in_w > (1 << 23)) FAIL("in_h", "window %d x %d too large", sh->in_h, sh->in_w);
        }
        break;
    default: break;
    }
    if (nw < 0) FAIL("n_weights", "weight count too large");
    if (has_w) {
        nb = sh->out_c;
        nr = op->per_channel ? sh->out_c : 1;
    } else if (is_add) {
        nr = 3;
    } else if (op->kind == RATQ_QOP_GAP) {
        nr = 1;
    }
    op->n_weights = nw;
    op->n_bias = nb;
    op->n_rescale = nr;
    return 0;
}

int ratq_qop_check_arrays(const ratq_qmodel *m, int idx, const ratq_qop *op, const char *what) {
    for (int64_t i = 0; i < op->n_weights; i++)
        if (op->weights[i] < -127) FAIL("weights", "element %lld is %d, outside -127..127", (long long)i, op->weights[i]);
    const int64_t lo = (int64_t)1 << (m->k - 1), hi = (int64_t)1 << m->k;
    for (int i = 0; i < op->n_rescale; i++) {
        const ratq_rescale r = op->rescale[i];
        if (r.m == 0 && r.s == 0) continue;
        if (r.m < lo || r.m >= hi)
            FAIL("rescale", "element %d: m = %d outside [2^%d, 2^%d) (or 0 with s = 0)", i, (int)r.m, m->k - 1, m->k);
        if (r.s < m->k - 31 || r.s > m->k + 31)
            FAIL("rescale", "element %d: s = %d outside %d..%d", i, (int)r.s, m->k - 31, m->k + 31);
    }
    if (op->s_w)
        for (int i = 0; i < op->n_rescale; i++)
            if (!scale_ok(op->s_w[i])) FAIL("s_w", "element %d is %g, not a finite positive scale", i, op->s_w[i]);
    return 0;
}
#undef FAIL

int ratq_qop_derive_rescale(const ratq_qop *op, int k, ratq_rounding rounding, ratq_rescale *out) {
    switch (op->kind) {
    case RATQ_QOP_CONV:
    case RATQ_QOP_DWCONV:
    case RATQ_QOP_FC:
        for (int c = 0; c < op->n_rescale; c++)
            if (ratq_rescale_from_real(ratq_conv_multiplier(op->s_x, op->s_w[c], op->s_y), k, &out[c])) return -1;
        return 0;
    case RATQ_QOP_GAP:
        return ratq_rescale_from_real(
            ratq_gap_multiplier(op->s_x, op->s_y, (int64_t)op->shape.in_h * op->shape.in_w), k, &out[0]);
    case RATQ_QOP_ADD: {
        ratq_add_params_s8 p;
        if (ratq_add_params_from_scales(op->s_x, op->z_x, op->s_x2, op->z_x2, op->s_y, op->z_y, k, rounding, &p))
            return -1;
        out[0] = p.input1;
        out[1] = p.input2;
        out[2] = p.output;
        return 0;
    }
    default: return 0;
    }
}

int ratq_qop_alloc(ratq_qop *op) {
    const int has_sw = op->kind == RATQ_QOP_CONV || op->kind == RATQ_QOP_DWCONV || op->kind == RATQ_QOP_FC;
    // Layout of the block: s_w (double) | rescale | bias | weights, each part naturally aligned.
    const size_t n_sw = has_sw ? (size_t)op->n_rescale : 0;
    const size_t bytes = n_sw * sizeof(double) + (size_t)op->n_rescale * sizeof(ratq_rescale) +
                         (size_t)op->n_bias * sizeof(int32_t) + (size_t)op->n_weights;
    op->weights = NULL, op->bias = NULL, op->rescale = NULL, op->s_w = NULL;
    if (bytes == 0) return 0;
    char *block = calloc(1, bytes);
    if (!block) return -1;
    char *p = block;
    if (n_sw) op->s_w = (double *)p, p += n_sw * sizeof(double);
    if (op->n_rescale) op->rescale = (ratq_rescale *)p, p += (size_t)op->n_rescale * sizeof(ratq_rescale);
    if (op->n_bias) op->bias = (int32_t *)p, p += (size_t)op->n_bias * sizeof(int32_t);
    if (op->n_weights) op->weights = (int8_t *)p;
    return 0;
}

// The block starts at the first non-NULL of s_w, rescale, bias, weights (the order ratq_qop_alloc carves).
static void *op_block(const ratq_qop *op) {
    if (op->s_w) return op->s_w;
    if (op->rescale) return op->rescale;
    if (op->bias) return op->bias;
    return op->weights;
}

void ratq_qop_release(ratq_qop *op) {
    free(op_block(op));
    op->weights = NULL, op->bias = NULL, op->rescale = NULL, op->s_w = NULL;
}

int ratq_qmodel_init(ratq_qmodel *m, const char *arch, int in_h, int in_w, int in_c, int num_classes, int k,
                     ratq_rounding rounding, double input_scale, int32_t input_zero_point) {
    memset(m, 0, sizeof *m);
    snprintf(m->arch, sizeof m->arch, "%s", arch ? arch : "");
    m->in_h = in_h, m->in_w = in_w, m->in_c = in_c, m->num_classes = num_classes;
    m->k = k, m->rounding = rounding, m->input_scale = input_scale, m->input_zero_point = input_zero_point;
    if (ratq_qmodel_check_header(m, "model")) {
        memset(m, 0, sizeof *m);
        return -1;
    }
    return 0;
}

int ratq_qmodel_reserve_op(ratq_qmodel *m) {
    if (m->n_ops < m->cap_ops) return 0;
    const int cap = m->cap_ops ? 2 * m->cap_ops : 16;
    ratq_qop *ops = realloc(m->ops, (size_t)cap * sizeof *ops);
    if (!ops) return -1;
    m->ops = ops;
    m->cap_ops = cap;
    return 0;
}

int ratq_qmodel_append(ratq_qmodel *m, const ratq_qop *src) {
    const int idx = m->n_ops;
    ratq_qop op = *src;
    op.shape.batch = 1;
    if (op.kind == RATQ_QOP_FC || op.kind == RATQ_QOP_ADD || op.kind == RATQ_QOP_GAP) {
        ratq_conv_shape *s = &op.shape;
        s->kernel_h = s->kernel_w = s->stride_h = s->stride_w = s->dilation_h = s->dilation_w = 1;
        s->pad_top = s->pad_left = s->pad_bottom = s->pad_right = 0;
        s->groups = s->depth_multiplier = 1;
        s->out_h = s->out_w = 1;
        if (op.kind == RATQ_QOP_ADD) s->out_h = s->in_h, s->out_w = s->in_w, s->out_c = s->in_c;
        if (op.kind == RATQ_QOP_GAP) s->out_c = s->in_c;
    }
    if (op.kind != RATQ_QOP_ADD) op.in2 = -2;
    if (ratq_qop_check_fields(m, idx, &op, "model")) return -1;
    const int has_w = op.kind == RATQ_QOP_CONV || op.kind == RATQ_QOP_DWCONV || op.kind == RATQ_QOP_FC;
    if (has_w && (!src->weights || !src->bias || !src->s_w)) {
        ratq_qop_error("model", idx, (int)op.kind, !src->weights ? "weights" : !src->bias ? "bias" : "s_w", "missing (NULL)");
        return -1;
    }
    if (ratq_qmodel_reserve_op(m) || ratq_qop_alloc(&op)) {
        ratq_error("model: op %d: out of memory", idx);
        return -1;
    }
    if (op.n_weights) memcpy(op.weights, src->weights, (size_t)op.n_weights);
    if (op.n_bias) memcpy(op.bias, src->bias, (size_t)op.n_bias * sizeof(int32_t));
    if (op.s_w) memcpy(op.s_w, src->s_w, (size_t)op.n_rescale * sizeof(double));
    if (op.n_rescale) {
        if (src->rescale) {
            memcpy(op.rescale, src->rescale, (size_t)op.n_rescale * sizeof(ratq_rescale));
        } else if (op.s_w && ratq_qop_check_arrays(m, idx, &op, "model")) { // scales first: derivation needs them
            ratq_qop_release(&op);
            return -1;
        } else if (ratq_qop_derive_rescale(&op, m->k, m->rounding, op.rescale)) {
            ratq_qop_error("model", idx, (int)op.kind, "rescale", "a real multiplier is not representable at k = %d", m->k);
            ratq_qop_release(&op);
            return -1;
        }
    }
    if (ratq_qop_check_arrays(m, idx, &op, "model")) {
        ratq_qop_release(&op);
        return -1;
    }
    m->ops[idx] = op;
    m->n_ops = idx + 1;
    return idx;
}

int ratq_qmodel_check(const ratq_qmodel *m, const char *what) {
    if (m->n_ops < 1) {
        ratq_error("%s: field 'n_ops': %d, a model needs at least one op", what, m->n_ops);
        return -1;
    }
    // Per-image cost (RATQ_QMODEL_MAX_ACT_BYTES / _WORK). Activations: each term < 2^48 (dims <= 2^16), checked
    // after every op, so the int64 sum cannot overflow; work is summed in double (a bound, no exactness needed).
    int64_t act = (int64_t)m->in_h * m->in_w * m->in_c;
    double work = 0;
    if (act > RATQ_QMODEL_MAX_ACT_BYTES) {
        ratq_error("%s: field 'in_h': the input %d x %d x %d holds %lld bytes per image, over the %lld MiB limit", what,
                   m->in_h, m->in_w, m->in_c, (long long)act, (long long)(RATQ_QMODEL_MAX_ACT_BYTES >> 20));
        return -1;
    }
    for (int i = 0; i < m->n_ops; i++) {
        const ratq_qop *op = &m->ops[i];
        const ratq_conv_shape *sh = &op->shape;
        const int64_t out = ratq_qop_out_count(op);
        act += out;
        switch (op->kind) {
        case RATQ_QOP_CONV: work += (double)op->n_weights * sh->out_h * sh->out_w; break;
        case RATQ_QOP_DWCONV:
        case RATQ_QOP_AVGPOOL: work += (double)out * sh->kernel_h * sh->kernel_w; break;
        case RATQ_QOP_FC: work += (double)op->n_weights; break;
        case RATQ_QOP_GAP: work += (double)sh->in_h * sh->in_w * sh->in_c; break;
        default: work += (double)out; break;
        }
        if (act > RATQ_QMODEL_MAX_ACT_BYTES) {
            ratq_qop_error(what, i, (int)op->kind, "out_h",
                           "the input and op outputs up to here hold %lld bytes per image, over the %lld MiB limit "
                           "(input %d x %d x %d)",
                           (long long)act, (long long)(RATQ_QMODEL_MAX_ACT_BYTES >> 20), m->in_h, m->in_w, m->in_c);
            return -1;
        }
        if (work > (double)RATQ_QMODEL_MAX_WORK) {
            ratq_qop_error(what, i, (int)op->kind, "shape",
                           "the ops up to here need %.3g multiply-accumulates per image, over the limit 2^36", work);
            return -1;
        }
    }
    const ratq_qop *last = &m->ops[m->n_ops - 1];
    if (last->shape.out_h != 1 || last->shape.out_w != 1 || last->shape.out_c != m->num_classes) {
        ratq_qop_error(what, m->n_ops - 1, (int)last->kind, "out_c",
                       "the last op's output %d x %d x %d is not 1 x 1 x num_classes (%d)", last->shape.out_h,
                       last->shape.out_w, last->shape.out_c, m->num_classes);
        return -1;
    }
    return 0;
}

void ratq_qmodel_free(ratq_qmodel *m) {
    for (int i = 0; i < m->n_ops; i++) ratq_qop_release(&m->ops[i]);
    free(m->ops);
    memset(m, 0, sizeof *m);
}

int ratq_qmodel_copy(ratq_qmodel *dst, const ratq_qmodel *src) {
    *dst = *src;
    dst->ops = NULL;
    dst->n_ops = dst->cap_ops = 0;
    for (int i = 0; i < src->n_ops; i++) {
        ratq_qop op = src->ops[i];
        if (ratq_qmodel_reserve_op(dst) || ratq_qop_alloc(&op)) {
            ratq_qmodel_free(dst);
            ratq_error("model copy: out of memory");
            return -1;
        }
        const ratq_qop *s = &src->ops[i];
        if (op.n_weights) memcpy(op.weights, s->weights, (size_t)op.n_weights);
        if (op.n_bias) memcpy(op.bias, s->bias, (size_t)op.n_bias * sizeof(int32_t));
        if (op.n_rescale) memcpy(op.rescale, s->rescale, (size_t)op.n_rescale * sizeof(ratq_rescale));
        if (op.s_w) memcpy(op.s_w, s->s_w, (size_t)op.n_rescale * sizeof(double));
        dst->ops[dst->n_ops++] = op;
    }
    return 0;
}

int ratq_qmodel_with_bits(ratq_qmodel *m, int k, ratq_rounding rounding) {
    if (k < RATQ_K_MIN || k > RATQ_K_MAX) {
        ratq_error("model: field 'k': %d outside %d..%d", k, RATQ_K_MIN, RATQ_K_MAX);
        return -1;
    }
    // Derive everything into one scratch array first so a failure leaves the model unchanged.
    size_t total = 0;
    for (int i = 0; i < m->n_ops; i++) total += (size_t)m->ops[i].n_rescale;
    ratq_rescale *tmp = malloc((total ? total : 1) * sizeof *tmp);
    if (!tmp) {
        ratq_error("model: out of memory");
        return -1;
    }
    size_t at = 0;
    for (int i = 0; i < m->n_ops; i++) {
        const ratq_qop *op = &m->ops[i];
        if (ratq_qop_derive_rescale(op, k, rounding, tmp + at)) {
            ratq_qop_error("model", i, (int)op->kind, "rescale", "a real multiplier is not representable at k = %d", k);
            free(tmp);
            return -1;
        }
        at += (size_t)op->n_rescale;
    }
    at = 0;
    for (int i = 0; i < m->n_ops; i++) {
        ratq_qop *op = &m->ops[i];
        if (op->n_rescale) memcpy(op->rescale, tmp + at, (size_t)op->n_rescale * sizeof *tmp);
        at += (size_t)op->n_rescale;
    }
    free(tmp);
    m->k = k;
    m->rounding = rounding;
    return 0;
}
