// fuzz_util.h — shared by the libFuzzer harnesses tests/fuzz/fuzz_*.c. Every ratq loader reads a path, so a
// harness writes its input into a per-process folder under $TMPDIR (scripts/fuzz.sh points TMPDIR at a folder it
// removes afterwards) and then calls the loader and the code that consumes what it loaded. Error lines of
// rejected inputs go to stderr (scripts/fuzz.sh runs libFuzzer with -close_fd_mask=2; sanitizer reports still
// reach the log). Built two ways (tests/fuzz.cmake): with RATQ_FUZZ=ON (clang, libFuzzer, ASan + UBSan), and in
// every build with replay.c as main, which runs the committed corpus as the CTest fuzz_replay_<loader>.
#ifndef RATQ_FUZZ_UTIL_H
#define RATQ_FUZZ_UTIL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/efficientnet_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// This process's folder "<TMPDIR>/ratq_fuzz_<pid>", made on first use.
static inline const char *fuzz_dir(void) {
    static char dir[1024];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%.900s/ratq_fuzz_%ld", t && *t ? t : "/tmp", (long)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

// "<fuzz_dir>/<rel>" (parent folders of rel created; rel is a short literal).
static inline const char *fuzz_path(const char *rel) {
    static char path[2048];
    const char *dir = fuzz_dir();
    snprintf(path, sizeof path, "%s/%.900s", dir, rel);
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(path, 0700);
            *p = '/';
        }
    return path;
}

// Remove path and everything under it (used on the harness's own folder only).
static inline void fuzz_remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                size_t n = strlen(path) + strlen(e->d_name) + 2;
                char *sub = malloc(n);
                if (!sub) break;
                snprintf(sub, n, "%s/%s", path, e->d_name);
                fuzz_remove_tree(sub);
                free(sub);
            }
        closedir(d);
    }
    remove(path);
}

// Remove this process's folder (replay.c calls it at the end).
static inline void fuzz_cleanup(void) { fuzz_remove_tree(fuzz_dir()); }

// Write size bytes to fuzz_path(rel); returns the path (static buffer), or NULL.
static inline const char *fuzz_write(const char *rel, const uint8_t *data, size_t size) {
    const char *path = fuzz_path(rel);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size) return NULL;
    return path;
}

// The smallest network the checkpoint harness trains on: the tiny architecture cut to one MBConv stage
// (8 -> 8 channels, stride 1, so it has a residual ADD), head 16, 4 classes, 8 x 8 input.
static inline int fuzz_mini_effnet(ratq_effnet *m) {
    ratq_effnet_config cfg;
    if (ratq_effnet_config_from_name("tiny", 4, 8, &cfg) != 0) return -1;
    cfg.stem_ch = 8;
    cfg.head_ch = 16;
    cfg.n_stages = 1;
    cfg.stages[0] = (ratq_mbconv_stage){1, 3, 1, 1, 8, 8};
    return ratq_effnet_build(m, &cfg);
}

#endif
