// host/qmodel/file.c — the .ratqm integer model file: writer (atomic) and validating reader.
//
// Format version 1. All integers little-endian two's complement, f64 = IEEE-754 binary64 little-endian.
//   header   magic "RATQM\0\0\0" (8 bytes), u32 version = 1, char arch[32] (NUL-terminated),
//            i32 in_h, in_w, in_c, num_classes, k, rounding (0 tflite, 1 single, 2 half_even),
//            f64 input_scale, i32 input_zero_point, i32 n_ops                                      (84 bytes)
//   n_ops x op
//            i32 kind (0 conv, 1 dwconv, 2 fc, 3 add, 4 gap, 5 avgpool), char name[64] (NUL-terminated),
//            i32 in, in2,
//            i32 in_h in_w in_c out_h out_w out_c kernel_h kernel_w stride_h stride_w dilation_h dilation_w
//                pad_top pad_left pad_bottom pad_right groups depth_multiplier                    (18 x i32)
//            i32 per_channel, i64 n_weights, i32 n_bias, i32 n_rescale,
//            f64 s_x, s_x2, s_y, i32 z_x, z_x2, z_y, act_min, act_max                            (212 bytes)
//            i8  weights[n_weights]            layout per kind (qmodel.h)
//            i32 bias[n_bias]
//            (i32 m, i32 s) rescale[n_rescale]
//            f64 s_w[n_rescale]                 conv / dwconv / fc only
//   end of file (nothing may follow).
// The declared counts must equal the ones the geometry implies; they are checked before any array is read,
// so a wrong count is reported as such and a short file as 'truncated'.
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "qmodel/internal.h"

// ---- writing ----------------------------------------------------------------------------------------------
static void put_u32(FILE *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    fwrite(b, 1, 4, f);
}
static void put_i32(FILE *f, int32_t v) { put_u32(f, (uint32_t)v); }
static void put_u64(FILE *f, uint64_t v) {
    put_u32(f, (uint32_t)v);
    put_u32(f, (uint32_t)(v >> 32));
}
static void put_f64(FILE *f, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(f, v);
}

static void shape_fields(const ratq_conv_shape *s, int v[18]) {
    const int t[18] = {s->in_h,       s->in_w,       s->in_c,       s->out_h,      s->out_w,    s->out_c,
                       s->kernel_h,   s->kernel_w,   s->stride_h,   s->stride_w,   s->dilation_h, s->dilation_w,
                       s->pad_top,    s->pad_left,   s->pad_bottom, s->pad_right,  s->groups,   s->depth_multiplier};
    memcpy(v, t, sizeof t);
}

static const char *const SHAPE_NAMES[18] = {"in_h",     "in_w",     "in_c",     "out_h",      "out_w",      "out_c",
                                            "kernel_h", "kernel_w", "stride_h", "stride_w",   "dilation_h", "dilation_w",
                                            "pad_top",  "pad_left", "pad_bottom", "pad_right", "groups", "depth_multiplier"};

static void set_shape_fields(ratq_conv_shape *s, const int v[18]) {
    s->batch = 1;
    s->in_h = v[0], s->in_w = v[1], s->in_c = v[2], s->out_h = v[3], s->out_w = v[4], s->out_c = v[5];
    s->kernel_h = v[6], s->kernel_w = v[7], s->stride_h = v[8], s->stride_w = v[9];
    s->dilation_h = v[10], s->dilation_w = v[11], s->pad_top = v[12], s->pad_left = v[13];
    s->pad_bottom = v[14], s->pad_right = v[15], s->groups = v[16], s->depth_multiplier = v[17];
}

int ratq_qmodel_save(const ratq_qmodel *m, const char *path) {
    if (ratq_qmodel_check(m, path)) return -1;
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    FILE *f = af.f;
    fwrite(RATQ_QMODEL_MAGIC, 1, 8, f);
    put_u32(f, RATQ_QMODEL_VERSION);
    char arch[32] = {0};
    snprintf(arch, sizeof arch, "%s", m->arch);
    fwrite(arch, 1, sizeof arch, f);
    put_i32(f, m->in_h), put_i32(f, m->in_w), put_i32(f, m->in_c), put_i32(f, m->num_classes);
    put_i32(f, m->k), put_i32(f, (int32_t)m->rounding);
    put_f64(f, m->input_scale);
    put_i32(f, m->input_zero_point);
    put_i32(f, m->n_ops);
    for (int i = 0; i < m->n_ops; i++) {
        const ratq_qop *op = &m->ops[i];
        put_i32(f, (int32_t)op->kind);
        char name[64] = {0};
        snprintf(name, sizeof name, "%s", op->name);
        fwrite(name, 1, sizeof name, f);
        put_i32(f, op->in), put_i32(f, op->in2);
        int v[18];
        shape_fields(&op->shape, v);
        for (int j = 0; j < 18; j++) put_i32(f, v[j]);
        put_i32(f, op->per_channel);
        put_u64(f, (uint64_t)op->n_weights);
        put_i32(f, op->n_bias), put_i32(f, op->n_rescale);
        put_f64(f, op->s_x), put_f64(f, op->s_x2), put_f64(f, op->s_y);
        put_i32(f, op->z_x), put_i32(f, op->z_x2), put_i32(f, op->z_y), put_i32(f, op->act_min), put_i32(f, op->act_max);
        if (op->n_weights) fwrite(op->weights, 1, (size_t)op->n_weights, f);
        for (int j = 0; j < op->n_bias; j++) put_i32(f, op->bias[j]);
        for (int j = 0; j < op->n_rescale; j++) put_i32(f, op->rescale[j].m), put_i32(f, op->rescale[j].s);
        if (op->s_w)
            for (int j = 0; j < op->n_rescale; j++) put_f64(f, op->s_w[j]);
    }
    return ratq_atomic_commit(&af);
}

// ---- reading ----------------------------------------------------------------------------------------------
typedef struct {
    const unsigned char *p;
    size_t n, pos;
    const char *path;
    int op, kind; // op index for error lines (-1 = header)
} reader;

static int need(reader *r, size_t bytes, const char *field) {
    if (r->n - r->pos >= bytes) return 0;
    ratq_qop_error(r->path, r->op, r->kind, field, "truncated (needs %zu bytes at offset %zu, file has %zu)", bytes,
                   r->pos, r->n);
    return -1;
}
static uint32_t rd_u32(reader *r) {
    const unsigned char *b = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static int get_i32(reader *r, const char *field, int32_t *v) {
    if (need(r, 4, field)) return -1;
    *v = (int32_t)rd_u32(r);
    return 0;
}
static int get_int(reader *r, const char *field, int *v) {
    int32_t t;
    if (get_i32(r, field, &t)) return -1;
    *v = t;
    return 0;
}
static int get_u64(reader *r, const char *field, uint64_t *v) {
    if (need(r, 8, field)) return -1;
    uint64_t lo = rd_u32(r);
    *v = lo | (uint64_t)rd_u32(r) << 32;
    return 0;
}
static int get_f64(reader *r, const char *field, double *d) {
    uint64_t v;
    if (get_u64(r, field, &v)) return -1;
    memcpy(d, &v, 8);
    return 0;
}
static int get_bytes(reader *r, const char *field, void *dst, size_t n) {
    if (need(r, n, field)) return -1;
    if (n) memcpy(dst, r->p + r->pos, n); // dst may be NULL when n = 0
    r->pos += n;
    return 0;
}

static int read_op(reader *r, ratq_qmodel *m, int idx) {
    ratq_qop op;
    memset(&op, 0, sizeof op);
    r->op = idx;
    r->kind = -1;
    int kind;
    if (get_int(r, "kind", &kind)) return -1;
    op.kind = (ratq_qop_kind)kind;
    r->kind = kind;
    if (kind < 0 || kind >= RATQ_QOP_KIND_COUNT) {
        ratq_qop_error(r->path, idx, kind, "kind", "unknown op kind %d", kind);
        return -1;
    }
    if (get_bytes(r, "name", op.name, sizeof op.name)) return -1;
    if (get_int(r, "in", &op.in) || get_int(r, "in2", &op.in2)) return -1;
    int v[18];
    for (int j = 0; j < 18; j++)
        if (get_int(r, SHAPE_NAMES[j], &v[j])) return -1;
    set_shape_fields(&op.shape, v);
    uint64_t nw;
    int32_t nb, nr;
    if (get_int(r, "per_channel", &op.per_channel) || get_u64(r, "n_weights", &nw) || get_i32(r, "n_bias", &nb) ||
        get_i32(r, "n_rescale", &nr))
        return -1;
    if (get_f64(r, "s_x", &op.s_x) || get_f64(r, "s_x2", &op.s_x2) || get_f64(r, "s_y", &op.s_y)) return -1;
    if (get_i32(r, "z_x", &op.z_x) || get_i32(r, "z_x2", &op.z_x2) || get_i32(r, "z_y", &op.z_y) ||
        get_i32(r, "act_min", &op.act_min) || get_i32(r, "act_max", &op.act_max))
        return -1;
    if (ratq_qop_check_fields(m, idx, &op, r->path)) return -1;
    if (nw != (uint64_t)op.n_weights) {
        ratq_qop_error(r->path, idx, kind, "n_weights", "%llu does not match the geometry (%lld)", (unsigned long long)nw,
                       (long long)op.n_weights);
        return -1;
    }
    if (nb != op.n_bias) {
        ratq_qop_error(r->path, idx, kind, "n_bias", "%d does not match the geometry (%d)", (int)nb, op.n_bias);
        return -1;
    }
    if (nr != op.n_rescale) {
        ratq_qop_error(r->path, idx, kind, "n_rescale", "%d does not match the op (%d)", (int)nr, op.n_rescale);
        return -1;
    }
    // All arrays must fit in what is left of the file before anything is allocated.
    const int has_sw = kind == RATQ_QOP_CONV || kind == RATQ_QOP_DWCONV || kind == RATQ_QOP_FC;
    if (need(r, (size_t)op.n_weights, "weights")) return -1;
    if (ratq_qmodel_reserve_op(m) || ratq_qop_alloc(&op)) {
        ratq_error("%s: op %d (%s): out of memory", r->path, idx, ratq_qop_kind_name(op.kind));
        return -1;
    }
    int bad = get_bytes(r, "weights", op.weights, (size_t)op.n_weights);
    for (int j = 0; !bad && j < op.n_bias; j++) bad = get_i32(r, "bias", &op.bias[j]);
    for (int j = 0; !bad && j < op.n_rescale; j++)
        bad = get_i32(r, "rescale", &op.rescale[j].m) || get_i32(r, "rescale", &op.rescale[j].s);
    for (int j = 0; !bad && has_sw && j < op.n_rescale; j++) bad = get_f64(r, "s_w", &op.s_w[j]);
    if (bad || ratq_qop_check_arrays(m, idx, &op, r->path)) {
        ratq_qop_release(&op);
        return -1;
    }
    m->ops[m->n_ops++] = op;
    return 0;
}

int ratq_qmodel_load(ratq_qmodel *m, const char *path) {
    memset(m, 0, sizeof *m);
    size_t size;
    char *buf = ratq_read_file(path, &size);
    if (!buf) return -1;
    reader r = {(const unsigned char *)buf, size, 0, path, -1, 0};
    char magic[8];
    int32_t n_ops = 0, rounding = 0;
    uint32_t version = 0;
    int bad = get_bytes(&r, "magic", magic, 8);
    if (!bad && memcmp(magic, RATQ_QMODEL_MAGIC, 8)) {
        ratq_error("%s: field 'magic': not a ratq integer model (expected \"RATQM\")", path);
        bad = 1;
    }
    if (!bad && need(&r, 4, "version")) bad = 1;
    if (!bad && (version = rd_u32(&r)) != RATQ_QMODEL_VERSION) {
        ratq_error("%s: field 'version': %u, this ratq reads version %u", path, version, RATQ_QMODEL_VERSION);
        bad = 1;
    }
    bad = bad || get_bytes(&r, "arch", m->arch, sizeof m->arch) || get_int(&r, "in_h", &m->in_h) ||
          get_int(&r, "in_w", &m->in_w) || get_int(&r, "in_c", &m->in_c) || get_int(&r, "num_classes", &m->num_classes) ||
          get_int(&r, "k", &m->k) || get_i32(&r, "rounding", &rounding) || get_f64(&r, "input_scale", &m->input_scale) ||
          get_i32(&r, "input_zero_point", &m->input_zero_point) || get_i32(&r, "n_ops", &n_ops);
    m->rounding = (ratq_rounding)rounding;
    if (!bad) bad = ratq_qmodel_check_header(m, path);
    if (!bad && n_ops < 1) { // a huge count fails as 'truncated' at the first missing op (ops grow as read)
        ratq_error("%s: field 'n_ops': %d, a model needs at least one op", path, (int)n_ops);
        bad = 1;
    }
    for (int i = 0; !bad && i < n_ops; i++) bad = read_op(&r, m, i);
    if (!bad) bad = ratq_qmodel_check(m, path);
    if (!bad && r.pos != size) {
        ratq_error("%s: field 'end': %zu trailing bytes after the last op", path, size - r.pos);
        bad = 1;
    }
    free(buf);
    if (bad) {
        ratq_qmodel_free(m);
        return -1;
    }
    return 0;
}
