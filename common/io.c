// io.c — file helpers: one-line errors, whole-file reads, atomic (temp + rename) writes.
#define _XOPEN_SOURCE 700
#include "common/io.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char error_context[256];

void ratq_error_context(const char *fmt, ...) {
    error_context[0] = 0;
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_context, sizeof error_context, fmt, ap);
    va_end(ap);
}

void ratq_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ratq: ", stderr);
    if (error_context[0]) fprintf(stderr, "%s: ", error_context);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
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

static int remove_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)type, (void)ftw;
    return remove(p);
}

void ratq_clean_stale_temps(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (slash == path) snprintf(dir, sizeof dir, "/");
    else if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else snprintf(dir, sizeof dir, ".");
    const size_t blen = strlen(base);
    DIR *d = blen ? opendir(dir) : NULL;
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (strncmp(n, base, blen) || strncmp(n + blen, ".tmp.", 5)) continue;
        const char *digits = n + blen + 5;
        char *end;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (!*digits || *end || errno || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; // its writer may still run: keep it
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, n);
        nftw(full, remove_entry, 16, FTW_DEPTH | FTW_PHYS); // a file, or a folder (export-c) with its contents
    }
    closedir(d);
}

int ratq_atomic_open(ratq_atomic_file *af, const char *path) {
    if (strlen(path) >= sizeof af->path) {
        ratq_error("%s: path too long", path);
        return -1;
    }
    ratq_clean_stale_temps(path);
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
