// test_dist_env.c — host/dist launch variables and fault handling for work outside dist's collectives (label cpu;
// the ranks are forked processes on 127.0.0.1):
//   torchrun    RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT alone start 2 TCP ranks with those ranks and
//               local ranks; a sum all-reduce over them is exact.
//   agent store with TORCHELASTIC_USE_AGENT_STORE=True the port MASTER_PORT is taken (by this test, as torchrun's agent
//               would) and the ranks meet on MASTER_PORT + 1.
//   precedence  RATQ_* over torchrun over SLURM, per setting (world 1, in process).
//   bad         RANK >= WORLD_SIZE: ratq_dist_init fails with an error line.
//   guard       rank 1 of 2 stalls inside ratq_dist_guard_begin("fake NCCL wait") with RATQ_DIST_TIMEOUT=1: it exits
//               with status 3 within the deadline (not a hang), its one line names rank, step and the operation, its
//               fault hook (ratq_dist_on_fault, where NCCL is aborted) ran; rank 0, waiting in a collective, exits 3
//               naming the step (the lost rank, or its own stalled collective: both deadlines are 1 s).
//   abort       ratq_dist_abort: status 3, "rank 0 of 1: step 9: <message>", fault hook ran.
#define _DEFAULT_SOURCE // setenv, unsetenv, mkdtemp
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dist/dist.h"
#include "test_util.h"

static const char *VARS[] = {"RATQ_RANK", "RATQ_WORLD_SIZE", "RATQ_LOCAL_RANK", "RATQ_MASTER_ADDR", "RATQ_MASTER_PORT",
                             "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID",
                             "SLURM_NTASKS", "SLURM_LOCALID", "TORCHELASTIC_USE_AGENT_STORE", "OMPI_COMM_WORLD_SIZE",
                             "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS", "RATQ_DIST_TIMEOUT"};

static void clear_env(void) {
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++) unsetenv(VARS[i]);
}

static char g_dir[256];

static void hook(void *arg) {
    fprintf(stderr, "fault hook ran (%s)\n", (const char *)arg);
    fflush(stderr);
}

// Child body of the 2-rank scenarios: 0 = ok.
static int child_torchrun(int rank, int want_local) {
    ratq_dist *d = ratq_dist_init(NULL);
    if (!d) return 10;
    int bad = strcmp(ratq_dist_backend_name(d), "tcp") != 0 || ratq_dist_rank(d) != rank ||
              ratq_dist_world(d) != 2 || ratq_dist_local_rank(d) != want_local;
    int64_t v = rank + 1;
    ratq_dist_allreduce_sum_i64(d, &v, 1);
    bad |= v != 3;
    ratq_dist_barrier(d);
    ratq_dist_finalize(d);
    return bad ? 11 : 0;
}

// Fork `world` children running body(rank); stderr of child r goes to <dir>/<tag>.<r>. Returns the exit statuses.
static void run_ranks(const char *tag, int world, void (*setup)(int rank), int (*body)(int rank), int *status,
                      double *seconds) {
    pid_t pid[4];
    const double t0 = (double)time(NULL);
    for (int r = 0; r < world; r++) {
        pid[r] = fork();
        if (pid[r] == 0) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s.%d", g_dir, tag, r);
            if (!freopen(path, "w", stderr)) _exit(20);
            clear_env();
            setup(r);
            _exit(body(r));
        }
    }
    for (int r = 0; r < world; r++) {
        int st = 0;
        waitpid(pid[r], &st, 0);
        status[r] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    *seconds = (double)time(NULL) - t0;
}

static char *slurp(const char *tag, int r) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%d", g_dir, tag, r);
    FILE *f = fopen(path, "rb");
    static char buf[8192];
    buf[0] = 0;
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

static int g_port;
static void setup_torchrun(int r) {
    char v[32];
    snprintf(v, sizeof v, "%d", r);
    setenv("RANK", v, 1);
    setenv("LOCAL_RANK", v, 1);
    setenv("WORLD_SIZE", "2", 1);
    setenv("MASTER_ADDR", "127.0.0.1", 1);
    snprintf(v, sizeof v, "%d", g_port);
    setenv("MASTER_PORT", v, 1);
}
static void setup_agent(int r) {
    setup_torchrun(r);
    setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
}
static int body_torchrun(int r) { return child_torchrun(r, r); }

static void setup_guard(int r) {
    char v[32];
    snprintf(v, sizeof v, "%d", r);
    setenv("RATQ_RANK", v, 1);
    setenv("RATQ_WORLD_SIZE", "2", 1);
    setenv("RATQ_MASTER_ADDR", "127.0.0.1", 1);
    snprintf(v, sizeof v, "%d", g_port);
    setenv("RATQ_MASTER_PORT", v, 1);
    setenv("RATQ_DIST_TIMEOUT", "1", 1);
}
static int body_guard(int r) {
    ratq_dist *d = ratq_dist_init(NULL);
    if (!d) return 10;
    ratq_dist_set_step(d, 5);
    ratq_dist_on_fault(d, hook, r == 1 ? "rank 1" : "rank 0");
    if (r == 1) {
        ratq_dist_guard_begin(d, "fake NCCL wait");
        sleep(20); // the watchdog must end this after ~1 s
        return 12;
    }
    ratq_dist_barrier(d); // rank 1 never arrives: rank 0 must notice its death
    return 13;
}

static void test_env(void) {
    int st[2];
    double secs;
    g_port = 29631;
    run_ranks("torchrun", 2, setup_torchrun, body_torchrun, st, &secs);
    CHECK_MSG(st[0] == 0 && st[1] == 0, "torchrun variables: exit %d / %d (%s%s)", st[0], st[1], slurp("torchrun", 0),
              slurp("torchrun", 1));
    // agent store: hold MASTER_PORT like torchrun's agent does
    g_port = 29632;
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_MSG(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 4) == 0, "agent port");
    run_ranks("agent", 2, setup_agent, body_torchrun, st, &secs);
    CHECK_MSG(st[0] == 0 && st[1] == 0, "agent store: exit %d / %d (%s%s)", st[0], st[1], slurp("agent", 0),
              slurp("agent", 1));
    close(lfd);
    // precedence, world 1 in this process
    clear_env();
    setenv("WORLD_SIZE", "1", 1), setenv("RANK", "0", 1), setenv("LOCAL_RANK", "3", 1), setenv("SLURM_LOCALID", "7", 1);
    ratq_dist *d = ratq_dist_init(NULL);
    CHECK_MSG(d && !strcmp(ratq_dist_backend_name(d), "tcp") && ratq_dist_local_rank(d) == 3, "LOCAL_RANK over SLURM");
    ratq_dist_finalize(d);
    setenv("RATQ_LOCAL_RANK", "5", 1);
    d = ratq_dist_init(NULL);
    CHECK_MSG(d && ratq_dist_local_rank(d) == 5, "RATQ_LOCAL_RANK over LOCAL_RANK");
    ratq_dist_finalize(d);
    clear_env();
    setenv("SLURM_NTASKS", "1", 1), setenv("SLURM_PROCID", "0", 1), setenv("SLURM_LOCALID", "7", 1);
    d = ratq_dist_init(NULL);
    CHECK_MSG(d && ratq_dist_local_rank(d) == 7 && ratq_dist_world(d) == 1, "SLURM alone");
    ratq_dist_finalize(d);
    clear_env();
    setenv("WORLD_SIZE", "2", 1), setenv("RANK", "2", 1);
    fprintf(stderr, "(expected error line follows)\n");
    d = ratq_dist_init(NULL);
    CHECK_MSG(d == NULL, "RANK >= WORLD_SIZE must fail");
    if (d) ratq_dist_finalize(d);
    clear_env();
}

static void test_guard(void) {
    int st[2];
    double secs;
    g_port = 29633;
    run_ranks("guard", 2, setup_guard, body_guard, st, &secs);
    const char *e1 = slurp("guard", 1);
    CHECK_MSG(st[1] == 3, "stalled rank: exit %d, want 3 (%s)", st[1], e1);
    CHECK_MSG(strstr(e1, "rank 1 of 2: step 5: fake NCCL wait stalled for more than 1 s") != NULL,
              "stalled rank's line: %s", e1);
    CHECK_MSG(strstr(e1, "fault hook ran (rank 1)") != NULL, "stalled rank's fault hook: %s", e1);
    const char *e0 = slurp("guard", 0);
    CHECK_MSG(st[0] == 3 && strstr(e0, "rank 0 of 2: step 5:") &&
                  (strstr(e0, "rank 1 is gone") || strstr(e0, "stalled for more than 1 s")),
              "waiting rank: exit %d: %s", st[0], e0);
    CHECK_MSG(secs <= 10, "the fault exits took %.0f s (deadline 1 s)", secs);
    // abort, one rank
    pid_t pid = fork();
    if (pid == 0) {
        char path[512];
        snprintf(path, sizeof path, "%s/abort.0", g_dir);
        if (!freopen(path, "w", stderr)) _exit(20);
        clear_env();
        ratq_dist *d = ratq_dist_init(NULL);
        if (!d) _exit(10);
        ratq_dist_set_step(d, 9);
        ratq_dist_on_fault(d, hook, "abort");
        ratq_dist_abort(d, "boom %d", 7);
    }
    int s = 0;
    waitpid(pid, &s, 0);
    const char *e = slurp("abort", 0);
    CHECK_MSG(WIFEXITED(s) && WEXITSTATUS(s) == 3, "abort: status %d", s);
    CHECK_MSG(strstr(e, "ratq: rank 0 of 1: step 9: boom 7") && strstr(e, "fault hook ran (abort)"), "abort: %s", e);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/ratq_dist_env_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_env();
    test_guard();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", g_dir);
    return ratq_test_finish("test_dist_env");
}
