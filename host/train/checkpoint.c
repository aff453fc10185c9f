// host/train/checkpoint.c — RAT checkpoints (layout in host/train/rat_train.h). Written to a temp file and renamed (common/io.h), so an
// interrupted write never leaves a partial checkpoint at the path. q->opt must hold the run's options before
// loading: k, rounding and snapping must match the file.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "train/rat_train.h"

#define CKPT_MAGIC "RATQCKP1"
#define CKPT_VERSION 2u

static int wr(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

int ratq_ckpt_save(const char *path, const ratq_qnet *q, int optimizer, const float *state1, const float *state2,
                   const ratq_ckpt_info *info) {
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path) != 0) return -1;
    FILE *f = af.f;
    uint32_t version = CKPT_VERSION, n_ops = (uint32_t)q->n_ops;
    uint64_t n_params = q->n_params;
    int32_t hdr[4] = {q->opt.k, (int32_t)q->opt.rounding, q->opt.snap, optimizer};
    const uint64_t n_state = optimizer == RATQ_OPT_ADAMW ? 2 : 1;
    int rc = wr(f, CKPT_MAGIC, 8) | wr(f, &version, 4) | wr(f, &n_ops, 4) | wr(f, &n_params, 8) |
             wr(f, &info->next_step, 8) | wr(f, &info->seed, 8) | wr(f, &info->global_batch, 8) | wr(f, hdr, sizeof hdr);
    for (int i = 0; i < q->n_ops && rc == 0; i++) {
        const ratq_qact *a = &q->ops[i].out;
        int32_t v[3] = {a->zp, a->lo, a->hi};
        rc = wr(f, &a->scale, 4) | wr(f, v, sizeof v);
    }
    if (rc == 0) rc = wr(f, q->params, q->n_params * sizeof(float)) | wr(f, state1, q->n_params * sizeof(float));
    if (rc == 0 && n_state == 2) rc = wr(f, state2, q->n_params * sizeof(float));
    uint64_t size = 8 + 4 + 4 + 8 + 8 + 8 + 8 + 16 + (uint64_t)q->n_ops * 16 + (1 + n_state) * (uint64_t)q->n_params * 4 + 8;
    if (rc == 0) rc = wr(f, &size, 8);
    if (rc != 0) {
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
    if (size < head + 8) field = "file_size: truncated header";
    else if (memcmp(buf, CKPT_MAGIC, 8)) field = "magic: not a ratq checkpoint";
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
        else if (fsize != size || size != head + (size_t)n_ops * 16 + (optimizer == RATQ_OPT_ADAMW ? 3 : 2) * n_params * 4 + 8)
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
    memcpy(q->params, p, q->n_params * sizeof(float));
    memcpy(state1, p + q->n_params * 4, q->n_params * sizeof(float));
    if (optimizer == RATQ_OPT_ADAMW) memcpy(state2, p + q->n_params * 8, q->n_params * sizeof(float));
    q->calibrated = 1;
    free(buf);
    return 0;
}
