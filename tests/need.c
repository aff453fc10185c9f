// need.c — test launcher: `ratq_test_need PATH... -- COMMAND ARG...` checks every PATH with ratq_test_need
// (tests/test_util.h: missing = skip with exit 77, or a failure under RATQ_REQUIRE_SHARED=1), then runs COMMAND
// in its place (execvp), so its exit code is the test's verdict.
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "test_util.h"

int main(int argc, char **argv) {
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) ratq_test_need(argv[i]);
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: ratq_test_need PATH... -- COMMAND [ARG...]\n");
        return 2;
    }
    execvp(argv[i + 1], argv + i + 1);
    fprintf(stderr, "FAIL: cannot run %s\n", argv[i + 1]);
    return 1;
}
