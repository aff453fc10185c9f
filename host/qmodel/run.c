// host/qmodel/run.c — the executor: runs an integer model op by op on the CPU integer engine (kernels/cpu/int_ops.h
// only; nothing here computes an activation itself), plus the u8 -> int8 input rule and image reading.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "math/quant_grid.h"
#include "qmodel/internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int64_t ratq_qop_out_count(const ratq_qop *op) {
    return (int64_t)op->shape.out_h * op->shape.out_w * op->shape.out_c;
}

void ratq_qop_requant(const ratq_qmodel *m, const ratq_qop *op, ratq_requant_s8 *rq) {
    rq->rescale = op->rescale;
    rq->per_channel = op->per_channel;
    rq->output_offset = op->z_y;
    rq->act_min = op->act_min;
    rq->act_max = op->act_max;
    rq->rounding = m->rounding;
}

void ratq_qop_add_params(const ratq_qmodel *m, const ratq_qop *op, ratq_add_params_s8 *p) {
    p->input1_offset = -op->z_x;
    p->input2_offset = -op->z_x2;
    p->left_shift = 20; // TFLite int8 ADD
    p->input1 = op->rescale[0];
    p->input2 = op->rescale[1];
    p->output = op->rescale[2];
    p->output_offset = op->z_y;
    p->act_min = op->act_min;
    p->act_max = op->act_max;
    p->rounding = m->rounding;
}

// Run images [first, first + batch) of the caller's batch. An op's output lives in the caller's capture buffer
// (act_out[i] + first * count) or in its own allocation, freed right after its last consumer, so the peak memory
// is the live set of activations, not the whole network. logits_q: [batch][num_classes] for these images.
static int run_images(const ratq_qmodel *m, const int8_t *input, int batch, int8_t *const *act_out, int64_t first,
                      int8_t *logits_q) {
    const int n_ops = m->n_ops;
    int8_t **buf = calloc((size_t)n_ops, sizeof *buf);
    int *last_use = malloc((size_t)n_ops * sizeof *last_use);
    char *owned = calloc((size_t)n_ops, 1);
    int rc = buf && last_use && owned ? 0 : -1;
    for (int i = 0; !rc && i < n_ops; i++) last_use[i] = i == n_ops - 1 ? n_ops : i; // the last op: until the copy
    for (int i = 0; !rc && i < n_ops; i++) {
        const ratq_qop *op = &m->ops[i];
        if (op->in >= 0 && last_use[op->in] < i) last_use[op->in] = i;
        if (op->kind == RATQ_QOP_ADD && op->in2 >= 0 && last_use[op->in2] < i) last_use[op->in2] = i;
    }
    for (int i = 0; !rc && i < n_ops; i++) {
        const ratq_qop *op = &m->ops[i];
        const int64_t count = ratq_qop_out_count(op);
        if (act_out && act_out[i]) {
            buf[i] = act_out[i] + first * count;
        } else if ((buf[i] = malloc((size_t)(count * batch))) != NULL) {
            owned[i] = 1;
        } else {
            ratq_error("qmodel run: op %d: out of memory (%lld bytes)", i, (long long)(count * batch));
            rc = -1;
            break;
        }
        const int8_t *x = op->in < 0 ? input : buf[op->in];
        int8_t *y = buf[i];
        ratq_conv_shape sh = op->shape;
        sh.batch = batch;
        ratq_requant_s8 rq;
        ratq_qop_requant(m, op, &rq);
        switch (op->kind) {
        case RATQ_QOP_CONV: ratq_conv_s8_cpu(&sh, x, -op->z_x, op->weights, 0, op->bias, &rq, y); break;
        case RATQ_QOP_DWCONV: ratq_depthwise_s8_cpu(&sh, x, -op->z_x, op->weights, op->bias, &rq, y); break;
        case RATQ_QOP_FC:
            ratq_fc_s8_cpu(batch, sh.in_h * sh.in_w * sh.in_c, sh.out_c, x, -op->z_x, op->weights, 0, op->bias, &rq, y);
            break;
        case RATQ_QOP_ADD: {
            ratq_add_params_s8 p;
            ratq_qop_add_params(m, op, &p);
            const int8_t *x2 = op->in2 < 0 ? input : buf[op->in2];
            ratq_add_s8_cpu(count * batch, x, x2, &p, y, NULL);
            break;
        }
        case RATQ_QOP_GAP:
            ratq_global_avgpool_s8_cpu(batch, sh.in_h, sh.in_w, sh.in_c, x, -op->z_x, &rq, y, NULL);
            break;
        case RATQ_QOP_AVGPOOL: ratq_avgpool_s8_cpu(&sh, x, op->act_min, op->act_max, y); break;
        default: break; // unreachable: kinds are validated at append / load
        }
        for (int j = 0; j <= i; j++) // free what no later op reads
            if (owned[j] && buf[j] && last_use[j] <= i) {
                free(buf[j]);
                buf[j] = NULL;
            }
    }
    if (!rc) memcpy(logits_q, buf[n_ops - 1], (size_t)batch * (size_t)m->num_classes);
    for (int i = 0; buf && owned && i < n_ops; i++)
        if (owned[i]) free(buf[i]);
    if (!buf || !last_use || !owned) ratq_error("qmodel run: out of memory");
    free(buf);
    free(last_use);
    free(owned);
    return rc;
}

int ratq_qmodel_run(const ratq_qmodel *m, const int8_t *input, int batch, int8_t **act_out, int8_t *logits_q,
                    float *logits) {
    if (batch < 1 || m->n_ops < 1) {
        ratq_error("qmodel run: batch %d / %d ops: nothing to run", batch, m->n_ops);
        return -1;
    }
    const int64_t n = (int64_t)batch * m->num_classes;
    int8_t *lq = logits_q ? logits_q : malloc((size_t)n);
    if (!lq) {
        ratq_error("qmodel run: out of memory");
        return -1;
    }
    // Images are independent: chunks of the batch run in parallel (OpenMP), each chunk op by op. The result does
    // not depend on the split (every op is per image).
    int chunks = 1;
#ifdef _OPENMP
    chunks = omp_get_max_threads();
#endif
    if (chunks > batch) chunks = batch;
    const int64_t in_count = (int64_t)m->in_h * m->in_w * m->in_c;
    int failed = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(| : failed)
#endif
    for (int c = 0; c < chunks; c++) {
        const int lo = (int)((int64_t)batch * c / chunks), hi = (int)((int64_t)batch * (c + 1) / chunks);
        if (hi > lo)
            failed |= run_images(m, input + lo * in_count, hi - lo, act_out, lo, lq + (int64_t)lo * m->num_classes) != 0;
    }
    if (!failed && logits) {
        const ratq_qop *last = &m->ops[m->n_ops - 1];
        for (int64_t i = 0; i < n; i++) logits[i] = (float)(last->s_y * (lq[i] - last->z_y));
    }
    if (!logits_q) free(lq);
    return failed ? -1 : 0;
}

// q = clamp(round_half_away((u8 - 127) / 128 / S_in) + z_in, -128, 127), in double (qmodel.h).
void ratq_qmodel_input_table(const ratq_qmodel *m, int8_t table[256]) {
    for (int u = 0; u < 256; u++) table[u] = ratq_quantize_input_s8((uint8_t)u, m->input_scale, m->input_zero_point);
}

void ratq_qmodel_input_from_u8(const ratq_qmodel *m, const uint8_t *src, int64_t count, int8_t *dst) {
    int8_t table[256];
    ratq_qmodel_input_table(m, table);
    for (int64_t i = 0; i < count; i++) dst[i] = table[src[i]];
}

int ratq_qmodel_argmax(const int8_t *logits, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    return best;
}

// PPM header token: skips whitespace and '#' comments; returns the number or -1.
static long ppm_number(const unsigned char *p, size_t n, size_t *pos) {
    for (;;) {
        while (*pos < n && (p[*pos] == ' ' || p[*pos] == '\t' || p[*pos] == '\n' || p[*pos] == '\r')) (*pos)++;
        if (*pos < n && p[*pos] == '#') {
            while (*pos < n && p[*pos] != '\n') (*pos)++;
            continue;
        }
        break;
    }
    long v = 0;
    size_t start = *pos;
    while (*pos < n && p[*pos] >= '0' && p[*pos] <= '9' && v < 1000000) v = v * 10 + (p[(*pos)++] - '0');
    return *pos == start ? -1 : v;
}

int ratq_qmodel_read_image(const char *path, int h, int w, int c, uint8_t *out) {
    size_t size;
    char *buf = ratq_read_file(path, &size);
    if (!buf) return -1;
    const unsigned char *p = (const unsigned char *)buf;
    const size_t want = (size_t)h * w * c;
    int rc = 0;
    if (size >= 2 && p[0] == 'P' && p[1] == '6') {
        size_t pos = 2;
        const long pw = ppm_number(p, size, &pos), ph = ppm_number(p, size, &pos), maxv = ppm_number(p, size, &pos);
        if (pw < 0 || ph < 0 || maxv < 0 || pos >= size) {
            ratq_error("%s: field 'ppm header': malformed", path);
            rc = -1;
        } else if (maxv != 255) {
            ratq_error("%s: field 'maxval': %ld, only 255 is supported", path, maxv);
            rc = -1;
        } else if (pw != w || ph != h || c != 3) {
            ratq_error("%s: field 'size': %ld x %ld x 3, the model needs %d x %d x %d", path, pw, ph, w, h, c);
            rc = -1;
        } else if (size - pos - 1 != want) { // one whitespace byte after maxval
            ratq_error("%s: field 'pixels': %zu bytes, expected %zu", path, size - pos - 1, want);
            rc = -1;
        } else {
            memcpy(out, p + pos + 1, want);
        }
    } else if (size != want) {
        ratq_error("%s: field 'size': %zu bytes, a raw %d x %d x %d u8 image has %zu", path, size, h, w, c, want);
        rc = -1;
    } else {
        memcpy(out, p, want);
    }
    free(buf);
    return rc;
}
