// io.c — file helpers: one-line errors, whole-file reads, atomic (temp + rename) writes.
#define _POSIX_C_SOURCE 200809L
#include "common/io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ratq_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr); // one whole line even when worker threads report at once
    fputs("ratq: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

char *ratq_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ratq_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = (n + 65536 + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                ratq_error("%s: out of memory reading file", path);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        ratq_error("%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    if (size) *size = n;
    return buf;
}

int ratq_atomic_open(ratq_atomic_file *af, const char *path) {
    if (strlen(path) >= sizeof af->path) {
        ratq_error("%s: path too long", path);
        return -1;
    }
    strcpy(af->path, path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        ratq_error("%s: cannot create: %s", af->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int ratq_atomic_commit(ratq_atomic_file *af) {
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    bad |= fclose(af->f) != 0;
    af->f = NULL;
    if (bad || rename(af->tmp, af->path) != 0) {
        ratq_error("%s: write failed: %s", af->path, strerror(errno));
        remove(af->tmp);
        return -1;
    }
    return 0;
}

void ratq_atomic_abort(ratq_atomic_file *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    remove(af->tmp);
}

double ratq_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
