// host/train/checkpoint.c — RAT checkpoints (layout in host/train/rat_train.h). Written to a temp file and renamed (common/io.h), so an
// interrupted write never leaves a partial checkpoint at the path. q->opt must hold the run's options before
// loading: k, rounding and snapping must match the file.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/io.h"
#include "train/rat_train.h"

#define CKPT_MAGIC "RATQCKP1"
#define CKPT_VERSION 2u
#define CKPT_CRC_TAG "CRC1"

// Writes that keep the zlib CRC-32 of every byte written so far.
typedef struct {
    FILE *f;
    uLong crc;
    int err;
} ckpt_writer;

static void wr(ckpt_writer *w, const void *p, size_t n) {
    if (w->err || fwrite(p, 1, n, w->f) != n) {
        w->err = 1;
        return;
    }
    w->crc = crc32_z(w->crc, p, n);
}

// First non-finite value of a[0..n), or -1.
static long long first_non_finite(const float *a, size_t n) {
    for (size_t i = 0; a && i < n; i++)
        if (!isfinite(a[i])) return (long long)i;
    return -1;
}

int ratq_ckpt_save(const char *path, const ratq_qnet *q, int optimizer, const float *state1, const float *state2,
                   const ratq_ckpt_info *info) {
    const uint64_t n_state = optimizer == RATQ_OPT_ADAMW ? 2 : 1;
    const float *arrays[3] = {q->params, state1, n_state == 2 ? state2 : NULL};
    const char *names[3] = {"params", "state1", "state2"};
    for (int a = 0; a < 3; a++) { // nothing non-finite is saved
        long long i = first_non_finite(arrays[a], q->n_params);
        if (i >= 0) {
            ratq_error("%s: %s: value %lld is not finite; the checkpoint is not written", path, names[a], i);
            return -1;
        }
    }
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path) != 0) return -1;
    ckpt_writer w = {af.f, crc32_z(0L, Z_NULL, 0), 0};
    uint32_t version = CKPT_VERSION, n_ops = (uint32_t)q->n_ops;
    uint64_t n_params = q->n_params;
    int32_t hdr[4] = {q->opt.k, (int32_t)q->opt.rounding, q->opt.snap, optimizer};
    wr(&w, CKPT_MAGIC, 8);
    wr(&w, &version, 4);
    wr(&w, &n_ops, 4);
    wr(&w, &n_params, 8);
    wr(&w, &info->next_step, 8);
    wr(&w, &info->seed, 8);
    wr(&w, &info->global_batch, 8);
    wr(&w, hdr, sizeof hdr);
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qact *a = &q->ops[i].out;
        int32_t v[3] = {a->zp, a->lo, a->hi};
        wr(&w, &a->scale, 4);
        wr(&w, v, sizeof v);
    }
    for (uint64_t a = 0; a < 1 + n_state; a++) wr(&w, arrays[a], q->n_params * sizeof(float));
    wr(&w, CKPT_CRC_TAG, 4);
    uint32_t crc = (uint32_t)w.crc;
    wr(&w, &crc, 4);
    uint64_t size = 8 + 4 + 4 + 8 + 8 + 8 + 8 + 16 + (uint64_t)q->n_ops * 16 + (1 + n_state) * (uint64_t)q->n_params * 4 + 8 + 8;
    wr(&w, &size, 8);
    if (w.err) {
        ratq_error("%s: write failed", path);
        ratq_atomic_abort(&af);
        return -1;
    }
    return ratq_atomic_commit(&af);
}

int ratq_ckpt_load(const char *path, ratq_qnet *q, int optimizer, float *state1, float *state2, ratq_ckpt_info *info) {
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        if (errno == ENOENT) return 1;
        ratq_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    fclose(probe);
    size_t size;
    char *buf = ratq_read_file(path, &size);
    if (!buf) return -1;
    size_t head = 8 + 4 + 4 + 8 + 8 + 8 + 16; // version 1; version 2 adds global_batch (8)
    const char *field = NULL;
    uint32_t version, n_ops;
    uint64_t n_params, fsize;
    int32_t hdr[4];
    int has_crc = 0;
    if (size < head + 8) field = "file_size: truncated header";
    else if (memcmp(buf, CKPT_MAGIC, 8)) field = "magic: not a ratq checkpoint";
    else if (size >= head + 16 && !memcmp(buf + size - 16, CKPT_CRC_TAG, 4)) { // written with a checksum
        uint32_t crc;
        memcpy(&crc, buf + size - 12, 4);
        has_crc = 1;
        if ((uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), (const Bytef *)buf, size - 12) != crc)
            field = "checksum: CRC-32 mismatch (the file is corrupted)";
    }
    if (!field) {
        memcpy(&version, buf + 8, 4);
        memcpy(&n_ops, buf + 12, 4);
        memcpy(&n_params, buf + 16, 8);
        memcpy(&info->next_step, buf + 24, 8);
        memcpy(&info->seed, buf + 32, 8);
        info->global_batch = 0;
        if (version == 2 && size >= head + 8 + 8) {
            memcpy(&info->global_batch, buf + 40, 8);
            head += 8;
        }
        memcpy(hdr, buf + head - 16, 16);
        memcpy(&fsize, buf + size - 8, 8);
        if (version != 1 && version != CKPT_VERSION) field = "version: unsupported";
        else if (version == 2 && head == 8 + 4 + 4 + 8 + 8 + 8 + 16) field = "file_size: truncated header";
        else if (n_ops != (uint32_t)q->n_ops) field = "n_ops: does not match the model";
        else if (n_params != q->n_params) field = "n_params: does not match the model";
        else if (hdr[3] != optimizer)
            field = "optimizer: differs from this run";
        else if (fsize != size || size != head + (size_t)n_ops * 16 + (optimizer == RATQ_OPT_ADAMW ? 3 : 2) * n_params * 4 +
                                              (has_crc ? 8 : 0) + 8)
            field = "file_size: truncated or trailing bytes";
        else if (hdr[0] != q->opt.k || hdr[1] != (int32_t)q->opt.rounding || hdr[2] != q->opt.snap)
            field = "options: rescale bits / rounding / snapping differ from this run";
        else if (info->next_step < 0)
            field = "next_step: negative";
        else if (info->global_batch < 0)
            field = "global_batch: negative";
    }
    if (field) {
        ratq_error("%s: %s", path, field);
        free(buf);
        return -1;
    }
    const char *p = buf + head;
    for (int i = 0; i < q->n_ops; i++, p += 16) {
        ratq_qact *a = &q->ops[i].out;
        int32_t v[3];
        memcpy(&a->scale, p, 4);
        memcpy(v, p + 4, 12);
        a->zp = v[0];
        a->lo = v[1];
        a->hi = v[2];
        if (!(a->scale > 0) || a->zp < -128 || a->zp > 127 || a->lo < -128 || a->hi > 127 || a->lo > a->hi) {
            ratq_error("%s: op %d: activation quantization out of range", path, i);
            free(buf);
            return -1;
        }
    }
    const int n_state = optimizer == RATQ_OPT_ADAMW ? 2 : 1;
    const char *names[3] = {"params", "state1", "state2"};
    for (int a = 0; a < 1 + n_state; a++) { // files written before the checksum: at least no NaN / Inf gets in
        float *dst = a == 0 ? q->params : a == 1 ? state1 : state2;
        memcpy(dst, p + (size_t)a * q->n_params * 4, q->n_params * sizeof(float));
        long long i = first_non_finite(dst, q->n_params);
        if (i >= 0) {
            ratq_error("%s: %s: value %lld is not finite", path, names[a], i);
            free(buf);
            return -1;
        }
    }
    q->calibrated = 1;
    free(buf);
    return 0;
}
