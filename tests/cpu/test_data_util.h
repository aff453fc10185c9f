// test_data_util.h — helpers for the data tests: shared-data paths, temp folders, a shard writer that follows
// the format in host/data/data.h (independently of scripts/pack_dataset.py, which needs Python).
#ifndef RATQ_TEST_DATA_UTIL_H
#define RATQ_TEST_DATA_UTIL_H

#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data.h"

static int g_fail = 0;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            g_fail = 1;                                                    \
        }                                                                  \
    } while (0)

// $RATQ_SHARED_DATA/rel, or exit(1) loudly when the variable is missing (tests must not pass vacuously).
static inline const char *shared_path(const char *rel) {
    static char buf[8][4096];
    static int k = 0;
    const char *root = getenv("RATQ_SHARED_DATA");
    if (!root) {
        fprintf(stderr, "FAIL: RATQ_SHARED_DATA is not set (run through ctest)\n");
        exit(1);
    }
    char *b = buf[k++ % 8];
    snprintf(b, 4096, "%s/%s", root, rel);
    return b;
}

// A fresh temp folder (mkdtemp); removed by rm_tree at the end.
static inline char *make_tmpdir(void) {
    const char *t = getenv("TMPDIR");
    static char dir[2048];
    snprintf(dir, sizeof dir, "%s/ratq_data_test_XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return dir;
}

static inline void rm_tree(const char *dir) {
    char cmd[4200];
    if (strstr(dir, "ratq_data_test_")) { // only ever our own mkdtemp folder
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
    }
}

static inline void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// Build a shard image in memory (malloc'd, *size bytes). raw: data = n*h*w*c pixels; jpeg: data = JPEG bytes with
// offsets[n+1]. Layout: header, labels at 128, [offsets], data, as pack_dataset.py writes it.
static inline uint8_t *build_shard(size_t *size, uint32_t enc, uint64_t n, uint32_t h, uint32_t w, uint32_t c,
                            uint32_t ncls, const int64_t *labels, const int64_t *offsets, const uint8_t *data,
                            uint64_t data_size) {
    uint64_t lab = 128, idx = enc ? lab + 8 * n : 0, dat = enc ? idx + 8 * (n + 1) : lab + 8 * n;
    uint64_t total = dat + data_size;
    uint8_t *m = calloc(1, total);
    memcpy(m, RATQ_SHARD_MAGIC, 8);
    put32(m + 8, RATQ_SHARD_VERSION);
    put32(m + 12, enc);
    put64(m + 16, n);
    put32(m + 24, h);
    put32(m + 28, w);
    put32(m + 32, c);
    put32(m + 36, ncls);
    put64(m + 40, lab);
    put64(m + 48, idx);
    put64(m + 56, dat);
    put64(m + 64, data_size);
    put64(m + 72, total);
    for (uint64_t i = 0; i < n; i++) put64(m + lab + 8 * i, (uint64_t)labels[i]);
    if (enc)
        for (uint64_t i = 0; i <= n; i++) put64(m + idx + 8 * i, (uint64_t)offsets[i]);
    memcpy(m + dat, data, data_size);
    *size = total;
    return m;
}

static inline int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

#endif
