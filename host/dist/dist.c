// dist.c — backend selection, the watchdog, and the collectives (gather to rank 0, reduce in rank order,
// broadcast), written once over the point-to-point transport of host/dist/tcp.c / host/dist/mpi.c.
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dist/internal.h"
#include "common/io.h"

static void exit3(int sig) {
    (void)sig;
    _exit(3);
}

static void vfatal(ratq_dist *d, const char *fmt, va_list ap) __attribute__((noreturn, format(printf, 2, 0)));
static void vfatal(ratq_dist *d, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "ratq: rank %d of %d: step %lld: %s\n", d->rank, d->world, (long long)d->step, msg);
    fflush(stderr);
    if (d->on_fault) { // e.g. ncclCommAbort; SIGALRM cuts a hanging hook off, still with status 3
        signal(SIGALRM, exit3);
        alarm(10);
        d->on_fault(d->on_fault_arg);
    }
    _exit(3);
}

void ratq_dist_fatal(ratq_dist *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfatal(d, fmt, ap);
}

void ratq_dist_abort(ratq_dist *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfatal(d, fmt, ap);
}

static void *watchdog_main(void *arg) {
    ratq_dist *d = arg;
    for (;;) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&d->mu);
        int stop = d->stop;
        double deadline = d->deadline;
        const char *what = d->what;
        pthread_mutex_unlock(&d->mu);
        if (stop) return NULL;
        if (deadline > 0 && ratq_now() > deadline)
            ratq_dist_fatal(d, "%s stalled for more than %.0f s (a rank died or hangs); resume from the last "
                               "checkpoint", what, d->timeout_s);
    }
}

static void arm(ratq_dist *d, const char *what) {
    if (!d->watchdog_started) return;
    pthread_mutex_lock(&d->mu);
    d->what = what;
    d->deadline = ratq_now() + d->timeout_s;
    pthread_mutex_unlock(&d->mu);
}

static void disarm(ratq_dist *d) {
    if (!d->watchdog_started) return;
    pthread_mutex_lock(&d->mu);
    d->deadline = 0;
    pthread_mutex_unlock(&d->mu);
}

static int env_set(const char *name) { return getenv(name) && *getenv(name); }

double ratq_dist_timeout(const ratq_dist *d) { return d->timeout_s; }
void ratq_dist_guard_begin(ratq_dist *d, const char *what) { arm(d, what); }
void ratq_dist_guard_end(ratq_dist *d) { disarm(d); }
void ratq_dist_on_fault(ratq_dist *d, void (*fn)(void *), void *arg) {
    pthread_mutex_lock(&d->mu);
    d->on_fault = fn;
    d->on_fault_arg = arg;
    pthread_mutex_unlock(&d->mu);
}

ratq_dist *ratq_dist_init(const ratq_dist_options *opt) {
    ratq_dist *d = calloc(1, sizeof *d);
    d->world = 1;
    d->timeout_s = opt && opt->timeout_s > 0 ? opt->timeout_s : 0;
    if (d->timeout_s <= 0) d->timeout_s = env_set("RATQ_DIST_TIMEOUT") ? atof(getenv("RATQ_DIST_TIMEOUT")) : 300.0;
    if (!(d->timeout_s > 0)) d->timeout_s = 300.0;
    ratq_dist_backend b = opt ? opt->backend : RATQ_DIST_AUTO;
    if (b == RATQ_DIST_AUTO) {
        if (ratq_dist_mpi_launched()) b = RATQ_DIST_MPI; // fails clearly if built without MPI
        else if (env_set("RATQ_WORLD_SIZE") || env_set("WORLD_SIZE") || env_set("SLURM_NTASKS")) b = RATQ_DIST_TCP;
        else b = RATQ_DIST_SINGLE;
    }
    d->backend = b;
    pthread_mutex_init(&d->mu, NULL);
    int rc = 0;
    if (b == RATQ_DIST_MPI) rc = ratq_dist_mpi_init(d);
    else if (b == RATQ_DIST_TCP) rc = ratq_dist_tcp_init(d);
    if (rc) {
        free(d->fds);
        free(d);
        return NULL;
    }
    if (d->world > 1 && pthread_create(&d->watchdog, NULL, watchdog_main, d) == 0) d->watchdog_started = 1;
    return d;
}

void ratq_dist_finalize(ratq_dist *d) {
    if (!d) return;
    if (d->watchdog_started) {
        pthread_mutex_lock(&d->mu);
        d->stop = 1;
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->watchdog, NULL);
    }
    if (d->backend == RATQ_DIST_MPI) ratq_dist_mpi_finalize(d);
    if (d->backend == RATQ_DIST_TCP) ratq_dist_tcp_finalize(d);
    pthread_mutex_destroy(&d->mu);
    free(d->fds);
    free(d);
}

int ratq_dist_rank(const ratq_dist *d) { return d->rank; }
int ratq_dist_world(const ratq_dist *d) { return d->world; }
int ratq_dist_local_rank(const ratq_dist *d) { return d->local_rank; }
const char *ratq_dist_backend_name(const ratq_dist *d) {
    return d->backend == RATQ_DIST_MPI ? "mpi" : d->backend == RATQ_DIST_TCP ? "tcp" : "single";
}
void ratq_dist_set_step(ratq_dist *d, int64_t step) { d->step = step; }

int ratq_dist_send(ratq_dist *d, int peer, const void *buf, size_t bytes) {
    return d->backend == RATQ_DIST_MPI ? ratq_dist_mpi_send(d, peer, buf, bytes) : ratq_dist_tcp_send(d, peer, buf, bytes);
}
int ratq_dist_recv(ratq_dist *d, int peer, void *buf, size_t bytes) {
    return d->backend == RATQ_DIST_MPI ? ratq_dist_mpi_recv(d, peer, buf, bytes) : ratq_dist_tcp_recv(d, peer, buf, bytes);
}

// Star broadcast through rank 0 (the TCP transport connects every rank to rank 0 only): a root other than 0
// first hands its bytes to rank 0, which sends them to every other rank. Deterministic, fine for a few ranks.
static void bcast_star(ratq_dist *d, void *buf, size_t bytes, int root, const char *what) {
    if (root != 0) {
        if (d->rank == root && ratq_dist_send(d, 0, buf, bytes)) ratq_dist_fatal(d, "%s: rank 0 is gone", what);
        if (d->rank == 0 && ratq_dist_recv(d, root, buf, bytes)) ratq_dist_fatal(d, "%s: rank %d is gone", what, root);
    }
    if (d->rank == 0) {
        for (int r = 1; r < d->world; r++)
            if (r != root && ratq_dist_send(d, r, buf, bytes)) ratq_dist_fatal(d, "%s: rank %d is gone", what, r);
    } else if (d->rank != root && ratq_dist_recv(d, 0, buf, bytes)) {
        ratq_dist_fatal(d, "%s: rank 0 is gone", what);
    }
}

// Gather every rank's buffer at rank 0, fold it in rank order with `combine`, apply `finish` (may be NULL)
// at rank 0, then broadcast: every rank ends with identical bits.
static int reduce_star(ratq_dist *d, void *buf, size_t elem, size_t count, const char *what,
                       void (*combine)(void *acc, const void *x, size_t n), void (*finish)(void *acc, size_t n, int world)) {
    if (d->world == 1) return 0;
    arm(d, what);
    const size_t bytes = elem * count;
    if (d->rank == 0) {
        void *tmp = malloc(bytes ? bytes : 1);
        for (int r = 1; r < d->world; r++) {
            if (ratq_dist_recv(d, r, tmp, bytes)) ratq_dist_fatal(d, "%s: rank %d is gone", what, r);
            combine(buf, tmp, count);
        }
        free(tmp);
        if (finish) finish(buf, count, d->world);
    } else if (ratq_dist_send(d, 0, buf, bytes)) {
        ratq_dist_fatal(d, "%s: rank 0 is gone", what);
    }
    bcast_star(d, buf, bytes, 0, what);
    disarm(d);
    return 0;
}

static void add_f32(void *acc, const void *x, size_t n) {
    float *a = acc;
    const float *b = x;
    for (size_t i = 0; i < n; i++) a[i] += b[i];
}
static void div_f32(void *acc, size_t n, int world) {
    float *a = acc;
    for (size_t i = 0; i < n; i++) a[i] /= (float)world;
}
static void add_i64(void *acc, const void *x, size_t n) {
    int64_t *a = acc;
    const int64_t *b = x;
    for (size_t i = 0; i < n; i++) a[i] += b[i];
}

// mean = (((b0 + b1) + b2) + ...) / W, computed once at rank 0.
int ratq_dist_allreduce_mean_f32(ratq_dist *d, float *buf, size_t count) {
    return reduce_star(d, buf, sizeof(float), count, "allreduce(mean)", add_f32, div_f32);
}

int ratq_dist_allreduce_sum_i64(ratq_dist *d, int64_t *buf, size_t count) {
    return reduce_star(d, buf, sizeof(int64_t), count, "allreduce(sum)", add_i64, NULL);
}

int ratq_dist_broadcast(ratq_dist *d, void *buf, size_t bytes, int root) {
    if (d->world == 1) return 0;
    arm(d, "broadcast");
    bcast_star(d, buf, bytes, root, "broadcast");
    disarm(d);
    return 0;
}

int ratq_dist_barrier(ratq_dist *d) {
    int64_t token = 1;
    return ratq_dist_allreduce_sum_i64(d, &token, 1);
}

int ratq_dist_barrier_wait(ratq_dist *d, double timeout_s) {
    const double saved = d->timeout_s;
    d->timeout_s = timeout_s > 0 ? timeout_s : 1e9; // ~32 years: no deadline
    int rc = ratq_dist_barrier(d);
    d->timeout_s = saved;
    return rc;
}
