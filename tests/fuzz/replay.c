// replay.c — main() for a fuzz harness outside libFuzzer: runs LLVMFuzzerTestOneInput on every file of the
// folders (or files) given, so the committed corpus and its regression inputs run as an ordinary CTest in every
// build (and under ASan/UBSan in CI's sanitizer build). Exit 0 when every input ran; a crash or sanitizer
// report is the failure.
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "fuzz_util.h"

static int run_file(const char *path) {
    size_t size;
    char *buf = ratq_read_file(path, &size);
    if (!buf) return -1;
    fprintf(stderr, "replay %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput((const uint8_t *)buf, size);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    long ran = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            if (run_file(argv[i]) != 0) return 1;
            ran++;
            continue;
        }
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                names = realloc(names, (n + 1) * sizeof *names);
                names[n++] = strdup(e->d_name);
            }
        closedir(d);
        qsort(names, n, sizeof *names, cmp);
        for (size_t j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[j]);
            if (run_file(path) != 0) return 1;
            ran++;
            free(names[j]);
        }
        free(names);
    }
    fuzz_cleanup();
    printf("replay: %ld inputs ran\n", ran);
    return ran ? 0 : 1;
}
