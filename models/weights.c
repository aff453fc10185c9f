// weights.c — read/validate/write .ratqw weight files (format in weights.h).
#include "models/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"

static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd_u64(const unsigned char *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }
static void wr_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void wr_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

void ratq_weights_free(ratq_weights_file *wf) {
    free(wf->tensors);
    free(wf->buf);
    memset(wf, 0, sizeof *wf);
}

int ratq_weights_read(const char *path, ratq_weights_file *wf) {
    memset(wf, 0, sizeof *wf);
    snprintf(wf->path, sizeof wf->path, "%s", path);
    if (!host_is_little_endian()) {
        ratq_error("%s: weight files need a little-endian host", path);
        return -1;
    }
    size_t size = 0;
    char *raw = ratq_read_file(path, &size);
    if (!raw) return -1;
    // ratq_read_file's buffer comes from malloc (aligned for any type), so float data at 64-byte offsets is aligned.
    const unsigned char *b = (const unsigned char *)raw;
    wf->buf = raw;
    if (size < RATQW_HEADER_BYTES) {
        ratq_error("%s: header: file is %zu bytes, shorter than the %d-byte header (truncated?)", path, size,
                   RATQW_HEADER_BYTES);
        goto fail;
    }
    if (memcmp(b, RATQW_MAGIC, 8) != 0) {
        ratq_error("%s: magic: not a ratq weight file (expected \"RATQW\"; convert PyTorch weights with "
                   "scripts/get_weights.py)",
                   path);
        goto fail;
    }
    uint32_t version = rd_u32(b + 8), n = rd_u32(b + 12);
    if (version != RATQW_VERSION) {
        ratq_error("%s: version: %u, this ratq reads version %u", path, version, RATQW_VERSION);
        goto fail;
    }
    if (n < 1 || n > RATQW_MAX_TENSORS) {
        ratq_error("%s: n_tensors: %u not in 1..%u", path, n, RATQW_MAX_TENSORS);
        goto fail;
    }
    memcpy(wf->arch, b + 16, 32);
    wf->arch[32] = 0;
    if (!wf->arch[0] || memchr(b + 16, 0, 32) == NULL) {
        ratq_error("%s: arch: empty or not NUL-terminated", path);
        goto fail;
    }
    uint32_t ncls = rd_u32(b + 48), res = rd_u32(b + 52);
    uint64_t fsize = rd_u64(b + 56);
    if (ncls < 1 || ncls > (1u << 24)) {
        ratq_error("%s: num_classes: %u out of range", path, ncls);
        goto fail;
    }
    if (res < 1 || res > 8192) {
        ratq_error("%s: resolution: %u out of range", path, res);
        goto fail;
    }
    if (fsize != size) {
        ratq_error("%s: file_size: header says %llu bytes, the file has %zu (truncated or appended to)", path,
                   (unsigned long long)fsize, size);
        goto fail;
    }
    wf->num_classes = (int)ncls;
    wf->resolution = (int)res;
    uint64_t table_end = RATQW_HEADER_BYTES + (uint64_t)RATQW_ENTRY_BYTES * n;
    if (table_end > size) {
        ratq_error("%s: tensor table: %u entries need %llu bytes, file has %zu", path, n,
                   (unsigned long long)table_end, size);
        goto fail;
    }
    wf->tensors = calloc(n, sizeof *wf->tensors);
    if (!wf->tensors) {
        ratq_error("%s: out of memory", path);
        goto fail;
    }
    wf->n_tensors = (int)n;
    uint64_t prev_end = table_end;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = b + RATQW_HEADER_BYTES + (size_t)RATQW_ENTRY_BYTES * i;
        ratq_weights_tensor *t = &wf->tensors[i];
        if (memchr(e, 0, RATQW_NAME_BYTES) == NULL || e[0] == 0) {
            ratq_error("%s: tensor %u: name: empty or not NUL-terminated", path, i);
            goto fail;
        }
        memcpy(t->name, e, RATQW_NAME_BYTES);
        uint32_t dtype = rd_u32(e + 88), ndim = rd_u32(e + 92);
        if (dtype != RATQW_DTYPE_F32) {
            ratq_error("%s: tensor %s: dtype: %u, only 1 (float32) is supported", path, t->name, dtype);
            goto fail;
        }
        if (ndim < 1 || ndim > 4) {
            ratq_error("%s: tensor %s: ndim: %u not in 1..4", path, t->name, ndim);
            goto fail;
        }
        t->ndim = (int)ndim;
        uint64_t count = 1;
        for (int d = 0; d < 4; d++) {
            uint32_t s = rd_u32(e + 96 + 4 * d);
            if (s < 1 || s > (1u << 28) || (d >= (int)ndim && s != 1)) {
                ratq_error("%s: tensor %s: shape[%d]: %u invalid", path, t->name, d, s);
                goto fail;
            }
            t->shape[d] = (int)s;
            count *= s;
        }
        uint64_t off = rd_u64(e + 112), cnt = rd_u64(e + 120);
        if (cnt != count) {
            ratq_error("%s: tensor %s: count: %llu, shape gives %llu", path, t->name, (unsigned long long)cnt,
                       (unsigned long long)count);
            goto fail;
        }
        if (off % RATQW_ALIGN != 0 || off < prev_end || off > size || count * 4 > size - off) {
            ratq_error("%s: tensor %s: offset: %llu (+%llu bytes) not 64-aligned, overlapping or past the end "
                       "(file %zu bytes; truncated?)",
                       path, t->name, (unsigned long long)off, (unsigned long long)(count * 4), size);
            goto fail;
        }
        prev_end = off + count * 4;
        t->count = (size_t)count;
        t->data = (const float *)(raw + off);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(wf->tensors[j].name, t->name)) {
                ratq_error("%s: tensor %s: name: appears twice", path, t->name);
                goto fail;
            }
    }
    return 0;
fail:
    ratq_weights_free(wf);
    return -1;
}

const ratq_weights_tensor *ratq_weights_find(const ratq_weights_file *wf, const char *name) {
    for (int i = 0; i < wf->n_tensors; i++)
        if (!strcmp(wf->tensors[i].name, name)) return &wf->tensors[i];
    return NULL;
}

static uint64_t align_up(uint64_t x) { return (x + RATQW_ALIGN - 1) / RATQW_ALIGN * RATQW_ALIGN; }

int ratq_weights_write(const char *path, const char *arch, int num_classes, int resolution, int n_tensors,
                       const ratq_weights_tensor *tensors) {
    if (!host_is_little_endian()) {
        ratq_error("%s: weight files need a little-endian host", path);
        return -1;
    }
    if (strlen(arch) >= 32 || n_tensors < 1) {
        ratq_error("%s: arch/n_tensors: invalid (arch '%s', %d tensors)", path, arch, n_tensors);
        return -1;
    }
    size_t table_bytes = RATQW_HEADER_BYTES + (size_t)RATQW_ENTRY_BYTES * n_tensors;
    unsigned char *head = calloc(1, table_bytes);
    if (!head) {
        ratq_error("%s: out of memory", path);
        return -1;
    }
    uint64_t off = align_up(table_bytes), end = table_bytes;
    for (int i = 0; i < n_tensors; i++) {
        const ratq_weights_tensor *t = &tensors[i];
        unsigned char *e = head + RATQW_HEADER_BYTES + (size_t)RATQW_ENTRY_BYTES * i;
        size_t len = strlen(t->name);
        if (len == 0 || len >= RATQW_NAME_BYTES || t->ndim < 1 || t->ndim > 4) {
            ratq_error("%s: tensor %d: name/ndim: invalid ('%s', ndim %d)", path, i, t->name, t->ndim);
            free(head);
            return -1;
        }
        for (uint64_t j = 0; j < t->count; j++)
            if (!isfinite(t->data[j])) { // nothing non-finite is saved (e.g. a diverged training)
                ratq_error("%s: tensor '%s': element %llu is %g, not finite; nothing written", path, t->name,
                           (unsigned long long)j, (double)t->data[j]);
                free(head);
                return -1;
            }
        memcpy(e, t->name, len);
        wr_u32(e + 88, RATQW_DTYPE_F32);
        wr_u32(e + 92, (uint32_t)t->ndim);
        for (int d = 0; d < 4; d++) wr_u32(e + 96 + 4 * d, d < t->ndim ? (uint32_t)t->shape[d] : 1u);
        wr_u64(e + 112, off);
        wr_u64(e + 120, t->count);
        end = off + t->count * 4;
        off = align_up(end);
    }
    memcpy(head, RATQW_MAGIC, 8);
    wr_u32(head + 8, RATQW_VERSION);
    wr_u32(head + 12, (uint32_t)n_tensors);
    memcpy(head + 16, arch, strlen(arch));
    wr_u32(head + 48, (uint32_t)num_classes);
    wr_u32(head + 52, (uint32_t)resolution);
    wr_u64(head + 56, end);

    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path) != 0) {
        free(head);
        return -1;
    }
    static const unsigned char zeros[RATQW_ALIGN] = {0};
    uint64_t pos = fwrite(head, 1, table_bytes, af.f);
    free(head);
    for (int i = 0; i < n_tensors; i++) {
        uint64_t want = align_up(pos);
        fwrite(zeros, 1, (size_t)(want - pos), af.f);
        pos = want + fwrite(tensors[i].data, 4, tensors[i].count, af.f) * 4;
    }
    if (pos != end) {
        ratq_error("%s: write failed", path);
        ratq_atomic_abort(&af);
        return -1;
    }
    return ratq_atomic_commit(&af);
}
