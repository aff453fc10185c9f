// host/data/source.c — ratq_data_open: shards, .npz files, JPEG folder trees and IDX files behind one index space.
// A dataset is a list of parts, each a run of images of one storage form (raw pixels, JPEG bytes in memory, or
// JPEG files on disk); global index i lives in the part with start <= i < start + count.
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE // d_type (DT_REG, DT_DIR) of readdir
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/internal.h"
#include "common/io.h"

typedef enum { PART_RAW, PART_JPEG, PART_FILES } part_form;

typedef struct {
    char *path;            // file the part came from (root folder for PART_FILES)
    part_form form;
    int64_t start, count;  // global index range [start, start + count)
    int64_t *labels;       // [count], malloc'd
    int h, w, c;           // PART_RAW geometry
    const uint8_t *pixels; // PART_RAW: [count, h, w, c]
    const int64_t *offsets; // PART_JPEG: [count + 1] byte offsets into jpeg (malloc'd copy in offsets_owned)
    const uint8_t *jpeg;   // PART_JPEG: JPEG bytes
    char *names;           // PART_FILES: the folder's file names, NUL-terminated, one after another (path = the folder)
    uint32_t *name_off;    // PART_FILES: [count] offset of file k's name in names (sorted by strcmp)
    int64_t label;         // PART_FILES: the one label of every file of the folder (labels is NULL)
    data_map map;          // mapped file (shards, npz)
    data_npy npy_pix;      // npz members holding pixels / jpeg bytes (owned when inflated)
    int64_t *offsets_owned;
    void *pixels_owned;    // IDX: inflated pixels
} data_part;

struct ratq_dataset {
    char *path;
    ratq_data_kind kind;
    data_part *parts; // [nparts]
    int nparts;
    int64_t count;
    int num_classes;
    int channels;
    int h, w; // common stored size or 0
    int64_t min_label, max_label;
};

// ---- small helpers ----------------------------------------------------------------------------------------
static char *join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s) return NULL;
    memcpy(s, a, la);
    size_t k = la;
    if (la && a[la - 1] != '/') s[k++] = '/';
    memcpy(s + k, b, lb + 1);
    return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with_ci(const char *s, const char *suf) {
    size_t ls = strlen(s), lf = strlen(suf);
    return ls >= lf && strcasecmp(s + ls - lf, suf) == 0;
}

// List the entries of dir (not "." / ".."), sorted; keep(name, full) decides. Returns count or -1.
static int64_t list_dir(const char *dir, int (*keep)(const char *full), char ***out) {
    DIR *d = opendir(dir);
    if (!d) {
        ratq_error("%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    char **v = NULL;
    int64_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; // ".", "..", hidden files
        char *full = join(dir, e->d_name);
        if (!full) break;
        if (!keep(full)) {
            free(full);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                free(full);
                break;
            }
            v = nv;
        }
        v[n++] = full;
    }
    closedir(d);
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, int64_t n) {
    for (int64_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int keep_shard(const char *f) { return ends_with_ci(f, RATQ_SHARD_EXT) && !is_dir(f); }
static int keep_npz(const char *f) { return ends_with_ci(f, ".npz") && !is_dir(f); }
static int keep_dir(const char *f) { return is_dir(f); }

// The JPEG files of one class folder (names ending in .jpg / .jpeg, any case, not starting with '.', not folders),
// sorted by strcmp, as a name arena: *names holds them NUL-terminated, (*off)[k] is where name k starts. The file
// type comes from readdir's d_type; only symlinks and file systems without d_type cost a stat (an ImageNet-size tree
// lists without 1.28M stat calls). Returns the count, or -1 after an error line.
static int64_t list_jpeg_names(const char *dir, char **names, uint32_t **off) {
    *names = NULL;
    *off = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        ratq_error("%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    char *arena = NULL;
    size_t used = 0, cap = 0;
    size_t *pos = NULL; // arena offsets before sorting
    int64_t n = 0, ncap = 0;
    int oom = 0;
    struct dirent *e;
    while (!oom && (e = readdir(d))) {
        const char *nm = e->d_name;
        if (nm[0] == '.' || !(ends_with_ci(nm, ".jpg") || ends_with_ci(nm, ".jpeg"))) continue;
        if (e->d_type == DT_DIR) continue;
        if (e->d_type != DT_REG) { // symlink, unknown: keep unless it is (or points to) a folder
            char *full = join(dir, nm);
            const int dir_like = full && is_dir(full);
            free(full);
            if (dir_like) continue;
        }
        const size_t len = strlen(nm) + 1;
        if (used + len > cap) {
            size_t nc = cap ? 2 * cap : 1 << 16;
            while (nc < used + len) nc *= 2;
            char *na = realloc(arena, nc);
            if (!na) {
                oom = 1;
                break;
            }
            arena = na, cap = nc;
        }
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 256;
            size_t *np = realloc(pos, (size_t)ncap * sizeof *np);
            if (!np) {
                oom = 1;
                break;
            }
            pos = np;
        }
        memcpy(arena + used, nm, len);
        pos[n++] = used;
        used += len;
    }
    closedir(d);
    char **ptr = oom ? NULL : malloc((size_t)(n ? n : 1) * sizeof *ptr);
    uint32_t *o = oom ? NULL : malloc((size_t)(n ? n : 1) * sizeof *o);
    if (oom || !ptr || !o || used > UINT32_MAX) {
        ratq_error("%s: out of memory listing %lld files", dir, (long long)n);
        free(arena), free(pos), free(ptr), free(o);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) ptr[i] = arena + pos[i];
    if (n) qsort(ptr, (size_t)n, sizeof *ptr, cmp_str);
    for (int64_t i = 0; i < n; i++) o[i] = (uint32_t)(ptr[i] - arena);
    free(pos);
    free(ptr);
    *names = arena;
    *off = o;
    return n;
}

// Full path of file k of a PART_FILES part into buf.
static const char *part_file(const data_part *p, int64_t k, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", p->path, p->names + p->name_off[k]);
    return buf;
}

static int64_t part_label(const data_part *p, int64_t k) { return p->labels ? p->labels[k] : p->label; }

static data_part *new_part(ratq_dataset *ds, const char *path) {
    data_part *np = realloc(ds->parts, (size_t)(ds->nparts + 1) * sizeof *np);
    if (!np) return NULL;
    ds->parts = np;
    data_part *p = &np[ds->nparts++];
    memset(p, 0, sizeof *p);
    p->path = strdup(path);
    p->start = ds->count;
    return p->path ? p : NULL;
}

static void free_part(data_part *p) {
    free(p->path);
    free(p->labels);
    free(p->offsets_owned);
    free(p->pixels_owned);
    data_npy_free(&p->npy_pix);
    free(p->names);
    free(p->name_off);
    data_map_close(&p->map);
}

void ratq_data_close(ratq_dataset *ds) {
    if (!ds) return;
    for (int i = 0; i < ds->nparts; i++) free_part(&ds->parts[i]);
    free(ds->parts);
    free(ds->path);
    free(ds);
}

// Check labels[0..n) >= 0 (and < num_classes if > 0). Returns 0 or -1 with an error naming the first bad one.
static int check_labels(const char *path, const char *field, const int64_t *lab, int64_t n, int64_t num_classes) {
    for (int64_t i = 0; i < n; i++)
        if (lab[i] < 0 || (num_classes > 0 && lab[i] >= num_classes)) {
            ratq_error("%s: %s: label[%lld] = %lld outside [0, %lld)", path, field, (long long)i, (long long)lab[i],
                       (long long)(num_classes > 0 ? num_classes : INT64_MAX));
            return -1;
        }
    return 0;
}

static int64_t *copy_i64(const uint8_t *src, int64_t n) { // little-endian bytes -> int64 array
    int64_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (v && n) memcpy(v, src, (size_t)n * sizeof *v); // host is little-endian (x86-64 / aarch64)
    return v;
}

// JPEG offset table: off[0] = 0, non-decreasing, off[n] = total. Returns 0 or -1.
static int check_offsets(const char *path, const char *field, const int64_t *off, int64_t n, uint64_t total) {
    if (off[0] != 0) {
        ratq_error("%s: %s: offsets[0] = %lld, expected 0", path, field, (long long)off[0]);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        if (off[i + 1] < off[i]) {
            ratq_error("%s: %s: offsets decrease at %lld", path, field, (long long)i + 1);
            return -1;
        }
    if ((uint64_t)off[n] != total) {
        ratq_error("%s: %s: offsets[%lld] = %lld, but the JPEG data holds %llu bytes", path, field, (long long)n,
                   (long long)off[n], (unsigned long long)total);
        return -1;
    }
    return 0;
}

// ---- shard ------------------------------------------------------------------------------------------------
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static int open_shard(ratq_dataset *ds, const char *path) {
    data_part *p = new_part(ds, path);
    if (!p) return -1;
    if (data_map_open(&p->map, path) != 0) return -1;
    const uint8_t *m = p->map.data;
    uint64_t fs = p->map.size;
    if (fs < RATQ_SHARD_HEADER_BYTES) {
        ratq_error("%s: header: file has %llu bytes, shorter than the %d-byte header", path,
                   (unsigned long long)fs, RATQ_SHARD_HEADER_BYTES);
        return -1;
    }
    if (memcmp(m, RATQ_SHARD_MAGIC, 8) != 0) {
        ratq_error("%s: magic: not a ratq shard (expected \"%s\")", path, RATQ_SHARD_MAGIC);
        return -1;
    }
    uint32_t version = le32(m + 8), enc = le32(m + 12), h = le32(m + 24), w = le32(m + 28), c = le32(m + 32);
    uint32_t ncls = le32(m + 36);
    uint64_t n = le64(m + 16), lab_off = le64(m + 40), idx_off = le64(m + 48), data_off = le64(m + 56);
    uint64_t data_size = le64(m + 64), file_size = le64(m + 72);
    if (version != RATQ_SHARD_VERSION) {
        ratq_error("%s: version: %u, this ratq reads version %u", path, version, RATQ_SHARD_VERSION);
        return -1;
    }
    if (enc != RATQ_SHARD_RAW && enc != RATQ_SHARD_JPEG) {
        ratq_error("%s: encoding: %u (0 = raw, 1 = jpeg)", path, enc);
        return -1;
    }
    if (file_size != fs) {
        ratq_error("%s: file_size: header says %llu bytes, file has %llu (truncated or appended?)", path,
                   (unsigned long long)file_size, (unsigned long long)fs);
        return -1;
    }
    if (n == 0 || n > ((uint64_t)1 << 40)) {
        ratq_error("%s: count: %llu images", path, (unsigned long long)n);
        return -1;
    }
    if (c != 1 && c != 3) {
        ratq_error("%s: channels: %u (must be 1 or 3)", path, c);
        return -1;
    }
    if (ncls == 0 || ncls > (1u << 24)) {
        ratq_error("%s: num_classes: %u", path, ncls);
        return -1;
    }
    if (h > 65535 || w > 65535 || (enc == RATQ_SHARD_RAW && (h == 0 || w == 0)) || ((h == 0) != (w == 0))) {
        ratq_error("%s: height/width: %ux%u invalid for encoding %u", path, h, w, enc);
        return -1;
    }
    for (int k = 80; k < RATQ_SHARD_HEADER_BYTES; k++)
        if (m[k]) {
            ratq_error("%s: reserved: byte %d is not zero", path, k);
            return -1;
        }
    // sections: [lab_off, +8n), [idx_off, +8(n+1)) for jpeg, [data_off, +data_size); inside the file, after the
    // header, 8-aligned, non-overlapping.
    uint64_t lo[3] = {lab_off, enc == RATQ_SHARD_JPEG ? idx_off : 0, data_off};
    uint64_t len[3] = {8 * n, enc == RATQ_SHARD_JPEG ? 8 * (n + 1) : 0, data_size};
    const char *names[3] = {"labels_off", "index_off", "data_off"};
    if (enc == RATQ_SHARD_RAW && idx_off != 0) {
        ratq_error("%s: index_off: must be 0 for raw encoding", path);
        return -1;
    }
    if (enc == RATQ_SHARD_RAW && data_size != n * h * w * c) {
        ratq_error("%s: data_size: %llu, expected count*height*width*channels = %llu", path,
                   (unsigned long long)data_size, (unsigned long long)(n * h * w * c));
        return -1;
    }
    for (int k = 0; k < 3; k++) {
        if (k == 1 && enc == RATQ_SHARD_RAW) continue;
        if (lo[k] < RATQ_SHARD_HEADER_BYTES || lo[k] > fs || len[k] > fs - lo[k] || (k < 2 && lo[k] % 8)) {
            ratq_error("%s: %s: section [%llu, +%llu) not 8-aligned inside the file after the header", path, names[k],
                       (unsigned long long)lo[k], (unsigned long long)len[k]);
            return -1;
        }
        for (int j = 0; j < k; j++) {
            if (j == 1 && enc == RATQ_SHARD_RAW) continue;
            if (lo[k] < lo[j] + len[j] && lo[j] < lo[k] + len[k]) {
                ratq_error("%s: %s: section overlaps %s", path, names[k], names[j]);
                return -1;
            }
        }
    }
    p->count = (int64_t)n;
    p->labels = copy_i64(m + lab_off, (int64_t)n);
    if (!p->labels) return -1;
    if (check_labels(path, "labels", p->labels, (int64_t)n, ncls) != 0) return -1;
    if (enc == RATQ_SHARD_RAW) {
        p->form = PART_RAW;
        p->h = (int)h, p->w = (int)w, p->c = (int)c;
        p->pixels = m + data_off;
    } else {
        p->form = PART_JPEG;
        p->h = (int)h, p->w = (int)w, p->c = (int)c;
        p->offsets = p->offsets_owned = copy_i64(m + idx_off, (int64_t)n + 1);
        if (!p->offsets_owned) return -1;
        if (check_offsets(path, "index", p->offsets, (int64_t)n, data_size) != 0) return -1;
        p->jpeg = m + data_off;
    }
    if (ds->num_classes < (int)ncls) ds->num_classes = (int)ncls;
    return 0;
}

// ---- npz --------------------------------------------------------------------------------------------------
static int npz_labels(data_part *p, const char *path, int64_t n_expected) {
    data_npy lab;
    int r = data_npz_load(&p->map, path, "labels", &lab);
    if (r == 0) ratq_error("%s: labels: member labels.npy missing", path);
    if (r != 1) return -1;
    int ok = lab.ndim == 1 && lab.shape[0] == n_expected &&
             (!strcmp(lab.dtype, "<i8") || !strcmp(lab.dtype, "<i4") || !strcmp(lab.dtype, "|u1"));
    if (!ok) {
        ratq_error("%s: labels: dtype %s ndim %d length %lld, expected int [%lld]", path, lab.dtype, lab.ndim,
                   (long long)(lab.ndim ? lab.shape[0] : -1), (long long)n_expected);
        data_npy_free(&lab);
        return -1;
    }
    p->labels = malloc((size_t)(n_expected ? n_expected : 1) * sizeof(int64_t));
    if (!p->labels) {
        data_npy_free(&lab);
        return -1;
    }
    for (int64_t i = 0; i < n_expected; i++) {
        if (lab.dtype[2] == '8') {
            memcpy(&p->labels[i], lab.data + 8 * i, 8);
        } else if (lab.dtype[2] == '4') {
            int32_t v;
            memcpy(&v, lab.data + 4 * i, 4);
            p->labels[i] = v;
        } else {
            p->labels[i] = lab.data[i];
        }
    }
    data_npy_free(&lab);
    return check_labels(path, "labels", p->labels, n_expected, 0);
}

static int open_npz(ratq_dataset *ds, const char *path) {
    data_part *p = new_part(ds, path);
    if (!p) return -1;
    if (data_map_open(&p->map, path) != 0) return -1;
    data_npy *a = &p->npy_pix;
    int r = data_npz_load(&p->map, path, "images", a);
    if (r < 0) return -1;
    if (r == 1) {
        int ok = !strcmp(a->dtype, "|u1") && (a->ndim == 3 || (a->ndim == 4 && (a->shape[3] == 1 || a->shape[3] == 3)));
        if (!ok || a->shape[0] == 0 || a->shape[1] == 0 || a->shape[2] == 0) {
            ratq_error("%s: images: dtype %s ndim %d, expected uint8 [N,H,W] or [N,H,W,1|3] with N,H,W > 0", path,
                       a->dtype, a->ndim);
            return -1;
        }
        p->form = PART_RAW;
        p->count = a->shape[0];
        p->h = (int)a->shape[1], p->w = (int)a->shape[2], p->c = a->ndim == 4 ? (int)a->shape[3] : 1;
        p->pixels = a->data;
        return npz_labels(p, path, p->count);
    }
    r = data_npz_load(&p->map, path, "jpeg_bytes", a);
    if (r == 0) ratq_error("%s: images: neither images.npy nor jpeg_bytes.npy + offsets.npy in the archive", path);
    if (r != 1) return -1;
    if (strcmp(a->dtype, "|u1") || a->ndim != 1) {
        ratq_error("%s: jpeg_bytes: dtype %s ndim %d, expected uint8 [bytes]", path, a->dtype, a->ndim);
        return -1;
    }
    data_npy off;
    r = data_npz_load(&p->map, path, "offsets", &off);
    if (r == 0) ratq_error("%s: offsets: member offsets.npy missing", path);
    if (r != 1) return -1;
    if (strcmp(off.dtype, "<i8") || off.ndim != 1 || off.shape[0] < 2) {
        ratq_error("%s: offsets: dtype %s ndim %d, expected int64 [N+1] with N >= 1", path, off.dtype, off.ndim);
        data_npy_free(&off);
        return -1;
    }
    p->form = PART_JPEG;
    p->count = off.shape[0] - 1;
    p->c = 3;
    p->offsets = p->offsets_owned = copy_i64(off.data, off.shape[0]);
    data_npy_free(&off);
    if (!p->offsets_owned) return -1;
    if (check_offsets(path, "offsets", p->offsets, p->count, a->nbytes) != 0) return -1;
    p->jpeg = a->data;
    return npz_labels(p, path, p->count);
}

// ---- IDX (MNIST / Fashion-MNIST, gzipped) -----------------------------------------------------------------
// Big-endian header: magic 0x00000803 (uint8 images, 3 dims) N, rows, cols; labels 0x00000801, N.
static uint8_t *read_gz(const char *path, size_t *size) {
    gzFile g = gzopen(path, "rb");
    if (!g) {
        ratq_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        int got = gzread(g, buf + n, (unsigned)want);
        if (got < 0) {
            int e;
            ratq_error("%s: gzip: %s", path, gzerror(g, &e));
            free(buf);
            gzclose(g);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    gzclose(g);
    if (!buf) ratq_error("%s: out of memory", path);
    *size = n;
    return buf;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int open_idx(ratq_dataset *ds, const char *images_path, const char *labels_path) {
    data_part *p = new_part(ds, images_path);
    if (!p) return -1;
    size_t ni, nl;
    uint8_t *im = read_gz(images_path, &ni);
    if (!im) return -1;
    p->pixels_owned = im;
    if (ni < 16 || be32(im) != 0x00000803u) {
        ratq_error("%s: magic: not an IDX uint8 3-D images file (expected 0x00000803)", images_path);
        return -1;
    }
    uint64_t n = be32(im + 4), h = be32(im + 8), w = be32(im + 12);
    if (n == 0 || h == 0 || w == 0 || h > 65535 || w > 65535 || ni != 16 + n * h * w) {
        ratq_error("%s: dims: %llu x %llu x %llu does not match the %zu data bytes", images_path,
                   (unsigned long long)n, (unsigned long long)h, (unsigned long long)w, ni - 16);
        return -1;
    }
    uint8_t *lb = read_gz(labels_path, &nl);
    if (!lb) return -1;
    if (nl < 8 || be32(lb) != 0x00000801u || be32(lb + 4) != n || nl != 8 + n) {
        ratq_error("%s: magic/count: not an IDX labels file for %llu images", labels_path, (unsigned long long)n);
        free(lb);
        return -1;
    }
    p->labels = malloc(n * sizeof(int64_t));
    if (!p->labels) {
        free(lb);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) p->labels[i] = lb[8 + i];
    free(lb);
    p->form = PART_RAW;
    p->count = (int64_t)n;
    p->h = (int)h, p->w = (int)w, p->c = 1;
    p->pixels = im + 16;
    return 0;
}

// ---- JPEG folder tree -------------------------------------------------------------------------------------
static int open_jpeg_tree(ratq_dataset *ds, const char *root, const char *classes_file) {
    char **dirs;
    int64_t nd = list_dir(root, keep_dir, &dirs);
    if (nd < 0) return -1;
    char **cls = NULL; // class names in label order
    int64_t ncls = 0;
    if (classes_file) {
        size_t sz;
        char *txt = ratq_read_file(classes_file, &sz);
        if (!txt) {
            free_list(dirs, nd);
            return -1;
        }
        for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
            char *sp = line + strcspn(line, " \t\r");
            *sp = 0;
            if (!*line) continue;
            char **nc = realloc(cls, (size_t)(ncls + 1) * sizeof *nc);
            if (!nc) break;
            cls = nc;
            cls[ncls++] = strdup(line);
        }
        free(txt);
        if (ncls == 0) {
            ratq_error("%s: classes: no class names", classes_file);
            free_list(dirs, nd);
            return -1;
        }
    }
    int rc = -1;
    for (int64_t d = 0; d < nd; d++) {
        const char *name = strrchr(dirs[d], '/') ? strrchr(dirs[d], '/') + 1 : dirs[d];
        int64_t label = d;
        if (cls) {
            label = -1;
            for (int64_t k = 0; k < ncls; k++)
                if (!strcmp(cls[k], name)) label = k;
            if (label < 0) {
                ratq_error("%s: classes: folder %s is not listed in %s", root, name, classes_file);
                goto done;
            }
        }
        char *names;
        uint32_t *off;
        int64_t nf = list_jpeg_names(dirs[d], &names, &off);
        if (nf < 0) goto done;
        if (nf == 0) {
            free(names), free(off);
            continue;
        }
        data_part *p = new_part(ds, dirs[d]);
        if (!p) {
            free(names), free(off);
            goto done;
        }
        p->form = PART_FILES;
        p->names = names;
        p->name_off = off;
        p->count = nf;
        p->c = 3;
        p->label = label;
        ds->count += nf;
    }
    ds->num_classes = (int)(cls ? ncls : nd);
    rc = 0;
done:
    free_list(dirs, nd);
    if (cls) free_list(cls, ncls);
    if (rc == 0 && ds->count == 0) {
        ratq_error("%s: no JPEG files in <root>/<class>/*.jpg|*.jpeg", root);
        rc = -1;
    }
    return rc;
}

// ---- open -------------------------------------------------------------------------------------------------
static int file_has_magic(const char *path, const char *magic, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[16] = {0};
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    return got == n && memcmp(buf, magic, n) == 0;
}

// "<dir>/<split>-images-idx3-ubyte.gz" or "<dir>/<split>" -> images and labels paths (malloc'd), or 0.
static int idx_paths(const char *path, char **images, char **labels) {
    const char *suffix = "-images-idx3-ubyte.gz";
    size_t lp = strlen(path), ls = strlen(suffix);
    char *prefix;
    if (lp > ls && !strcmp(path + lp - ls, suffix)) {
        prefix = strndup(path, lp - ls);
    } else {
        prefix = strdup(path);
    }
    if (!prefix) return 0;
    size_t n = strlen(prefix) + 32;
    *images = malloc(n);
    *labels = malloc(n);
    if (!*images || !*labels) {
        free(prefix);
        return 0;
    }
    snprintf(*images, n, "%s-images-idx3-ubyte.gz", prefix);
    snprintf(*labels, n, "%s-labels-idx1-ubyte.gz", prefix);
    free(prefix);
    struct stat st;
    return stat(*images, &st) == 0 && S_ISREG(st.st_mode);
}

static int open_any(ratq_dataset *ds, const char *path, const ratq_data_options *opts) {
    char *ip = NULL, *lp = NULL;
    int is_idx = idx_paths(path, &ip, &lp);
    if (is_idx) {
        ds->kind = RATQ_DATA_IDX;
        int r = open_idx(ds, ip, lp);
        free(ip);
        free(lp);
        if (r == 0) ds->count = ds->parts[0].count;
        return r;
    }
    free(ip);
    free(lp);
    struct stat st;
    if (stat(path, &st) != 0) {
        ratq_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode)) {
        int r;
        if (st.st_size == 0) {
            ratq_error("%s: file: empty", path);
            return -1;
        }
        if (file_has_magic(path, RATQ_SHARD_MAGIC, 8)) {
            ds->kind = RATQ_DATA_SHARD;
            r = open_shard(ds, path);
        } else if (file_has_magic(path, "PK", 2)) {
            ds->kind = RATQ_DATA_NPZ;
            r = open_npz(ds, path);
        } else {
            ratq_error("%s: magic: neither a ratq shard (\"%s\") nor an .npz (zip)", path, RATQ_SHARD_MAGIC);
            return -1;
        }
        if (r == 0) ds->count = ds->parts[0].count;
        return r;
    }
    if (!S_ISDIR(st.st_mode)) {
        ratq_error("%s: not a file or folder", path);
        return -1;
    }
    char **files;
    int64_t nf = list_dir(path, keep_shard, &files);
    if (nf < 0) return -1;
    int (*opener)(ratq_dataset *, const char *) = open_shard;
    ds->kind = RATQ_DATA_SHARD;
    if (nf == 0) {
        free(files);
        nf = list_dir(path, keep_npz, &files);
        if (nf < 0) return -1;
        opener = open_npz;
        ds->kind = RATQ_DATA_NPZ;
    }
    if (nf == 0) {
        free(files);
        ds->kind = RATQ_DATA_JPEG_DIR;
        return open_jpeg_tree(ds, path, opts ? opts->classes_file : NULL);
    }
    int rc = 0;
    for (int64_t i = 0; i < nf && rc == 0; i++) {
        rc = opener(ds, files[i]);
        if (rc == 0) ds->count += ds->parts[ds->nparts - 1].count;
    }
    free_list(files, nf);
    return rc;
}

ratq_dataset *ratq_data_open(const char *path, const ratq_data_options *opts) {
    ratq_dataset *ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->path = strdup(path))) {
        ratq_error("%s: out of memory", path);
        free(ds);
        return NULL;
    }
    if (open_any(ds, path, opts) != 0) {
        ratq_data_close(ds);
        return NULL;
    }
    // Common properties over parts.
    ds->channels = ds->parts[0].c;
    ds->h = ds->parts[0].h;
    ds->w = ds->parts[0].w;
    ds->min_label = INT64_MAX;
    ds->max_label = INT64_MIN;
    for (int i = 0; i < ds->nparts; i++) {
        data_part *p = &ds->parts[i];
        if (p->c != ds->channels) {
            ratq_error("%s: channels: %d, but %s has %d", p->path, p->c, ds->parts[0].path, ds->channels);
            ratq_data_close(ds);
            return NULL;
        }
        if (p->h != ds->h || p->w != ds->w) ds->h = ds->w = 0;
        for (int64_t k = 0; k < (p->labels ? p->count : 1); k++) {
            if (part_label(p, k) < ds->min_label) ds->min_label = part_label(p, k);
            if (part_label(p, k) > ds->max_label) ds->max_label = part_label(p, k);
        }
    }
    if (ds->kind == RATQ_DATA_NPZ || ds->kind == RATQ_DATA_IDX) ds->num_classes = (int)(ds->max_label + 1);
    if (ds->max_label >= ds->num_classes) { // shards of one dataset with different num_classes are fine
        ds->num_classes = (int)(ds->max_label + 1);
    }
    return ds;
}

ratq_data_info ratq_data_get_info(const ratq_dataset *ds) {
    ratq_data_info in = {ds->kind, ds->count,     ds->num_classes, ds->h,   ds->w,
                         ds->channels, ds->min_label, ds->max_label, ds->path};
    return in;
}

int64_t ratq_data_count(const ratq_dataset *ds) { return ds->count; }

static const data_part *find_part(const ratq_dataset *ds, int64_t i, int64_t *local) {
    int lo = 0, hi = ds->nparts - 1;
    while (lo < hi) { // last part with start <= i
        int mid = (lo + hi + 1) / 2;
        if (ds->parts[mid].start <= i) lo = mid;
        else hi = mid - 1;
    }
    *local = i - ds->parts[lo].start;
    return &ds->parts[lo];
}

int64_t ratq_data_label(const ratq_dataset *ds, int64_t i) {
    int64_t k;
    const data_part *p = find_part(ds, i, &k);
    return part_label(p, k);
}

const char *ratq_data_path(const ratq_dataset *ds) { return ds->path; }

const char *ratq_data_describe(const ratq_dataset *ds, int64_t i, char *buf, size_t cap) {
    int64_t k;
    const data_part *p = find_part(ds, i, &k);
    if (p->form == PART_FILES) part_file(p, k, buf, cap);
    else snprintf(buf, cap, "%s[%lld]", p->path, (long long)k);
    return buf;
}

int ratq_data_read(const ratq_dataset *ds, int64_t i, ratq_image *img) {
    char what[4200];
    if (i < 0 || i >= ds->count) {
        ratq_error("%s: index: %lld outside [0, %lld)", ds->path, (long long)i, (long long)ds->count);
        return -1;
    }
    int64_t k;
    const data_part *p = find_part(ds, i, &k);
    if (p->form == PART_RAW) {
        size_t bytes = (size_t)p->h * p->w * p->c;
        if (data_image_reserve(img, bytes) != 0) return -1;
        memcpy(img->data, p->pixels + (size_t)k * bytes, bytes);
        img->h = p->h, img->w = p->w, img->c = p->c;
        return 0;
    }
    if (p->form == PART_JPEG) {
        ratq_data_describe(ds, i, what, sizeof what);
        int r = data_jpeg_decode(p->jpeg + p->offsets[k], (size_t)(p->offsets[k + 1] - p->offsets[k]), img, what);
        if (r == 0 && p->h && (img->h != p->h || img->w != p->w)) {
            ratq_error("%s: height/width: decoded %dx%d, header says %dx%d", what, img->h, img->w, p->h, p->w);
            return -1;
        }
        if (r == 0 && p->c == 1) { // 1-channel shard of grayscale JPEGs: TJPF_RGB replicated the gray value
            for (size_t q = 0; q < (size_t)img->h * img->w; q++) img->data[q] = img->data[3 * q];
            img->c = 1;
        }
        return r;
    }
    // PART_FILES: read the file, decode.
    size_t sz;
    part_file(p, k, what, sizeof what);
    char *buf = ratq_read_file(what, &sz);
    if (!buf) return -1;
    int r = data_jpeg_decode((const uint8_t *)buf, sz, img, what);
    free(buf);
    return r;
}
