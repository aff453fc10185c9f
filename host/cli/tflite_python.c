// tflite_python.c — run scripts/tflite/ratq_tflite.py (tflite_python.h): fork + execvp, stdout through a pipe.
#define _POSIX_C_SOURCE 200809L
#include "cli/tflite_python.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/io.h"

#ifndef RATQ_TFLITE_SCRIPT
#define RATQ_TFLITE_SCRIPT "scripts/tflite/ratq_tflite.py"
#endif

int ratq_tflite_python(const char *cmd, const char *verb, const char *in, const char *out, char *out_text, size_t n) {
    const char *py = getenv("RATQ_PYTHON");
    const char *script = getenv("RATQ_TFLITE_SCRIPT");
    if (!py || !*py) py = "python3";
    if (!script || !*script) script = RATQ_TFLITE_SCRIPT;
    if (access(script, R_OK) != 0) {
        ratq_error("%s: %s: cannot read the converter script (%s); set RATQ_TFLITE_SCRIPT", cmd, script, strerror(errno));
        return 2;
    }
    int fd[2];
    if (pipe(fd) != 0) {
        ratq_error("%s: pipe: %s", cmd, strerror(errno));
        return 2;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        ratq_error("%s: fork: %s", cmd, strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return 2;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[1]);
        char *const argv[] = {(char *)py, (char *)script, (char *)verb, (char *)in, (char *)out, NULL};
        execvp(py, argv);
        fprintf(stderr, "ratq: %s: cannot run %s: %s (set RATQ_PYTHON to a Python 3 with the packages of "
                        "scripts/tflite/requirements.txt)\n", cmd, py, strerror(errno));
        _exit(2);
    }
    close(fd[1]);
    size_t got = 0;
    char sink[256];
    for (;;) {
        char *dst = out_text && got + 1 < n ? out_text + got : sink;
        size_t room = out_text && got + 1 < n ? n - 1 - got : sizeof sink;
        ssize_t r = read(fd[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != sink) got += (size_t)r;
    }
    close(fd[0]);
    if (out_text && n) out_text[got] = 0;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            ratq_error("%s: waitpid: %s", cmd, strerror(errno));
            return 2;
        }
    if (WIFEXITED(status)) return WEXITSTATUS(status) == 0 ? 0 : (WEXITSTATUS(status) == 1 ? 2 : WEXITSTATUS(status));
    ratq_error("%s: %s ended by signal %d", cmd, py, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 2;
}
