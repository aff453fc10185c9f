// host/train/rat_log.c — the JSON-lines step log of the RAT loop (host/train/internal.h).
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io.h"
#include "train/internal.h"

// Bytes of the log at path to keep for a resume at step `start`: the complete lines {"step":T,...} with T < start,
// up to the first line that is later, broken or unterminated. -1 after an error line.
static long long keep_bytes(const char *path, int64_t start) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ratq_error("%s: cannot read the log to resume it: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    long long keep = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        long long step;
        if (line[len - 1] != '\n' || sscanf(line, "{\"step\":%lld,", &step) != 1 || step < 0 || step >= start) break;
        keep += len;
    }
    const int err = ferror(f);
    free(line);
    fclose(f);
    if (err) {
        ratq_error("%s: read error while resuming the log", path);
        return -1;
    }
    return keep;
}

int ratq_train_log_open(ratq_train_log *l, const char *path, int64_t start) {
    l->f = NULL;
    if (strlen(path) >= sizeof l->path) {
        ratq_error("%s: path too long", path);
        return -1;
    }
    strcpy(l->path, path);
    struct stat st;
    const int regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (start > 0 && regular) {
        long long keep = keep_bytes(path, start);
        if (keep < 0) return -1;
        if (keep < (long long)st.st_size && truncate(path, (off_t)keep) != 0) {
            ratq_error("%s: cannot cut the log back to step %lld: %s", path, (long long)start, strerror(errno));
            return -1;
        }
    }
    if (!(l->f = fopen(path, start > 0 ? "a" : "w"))) {
        ratq_error("%s: cannot open the log for writing: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int ratq_train_log_step(ratq_train_log *l, int64_t step, int64_t epoch, double loss, double acc, double lr) {
    if (fprintf(l->f, "{\"step\":%lld,\"epoch\":%lld,\"loss\":%.9g,\"acc\":%.6f,\"lr\":%.9g}\n", (long long)step,
                (long long)epoch, loss, acc, lr) < 0 ||
        fflush(l->f) != 0) {
        ratq_error("%s: write failed at step %lld: %s", l->path, (long long)step, strerror(errno));
        return -1;
    }
    return 0;
}

int ratq_train_log_close(ratq_train_log *l) {
    if (!l->f) return 0;
    const int bad = ferror(l->f);
    const int rc = fclose(l->f);
    l->f = NULL;
    if (bad || rc != 0) {
        ratq_error("%s: write failed: %s", l->path, strerror(errno));
        return -1;
    }
    return 0;
}
