// host/dist/internal.h — the communicator behind dist.h: a point-to-point transport (TCP sockets or MPI) under
// collectives written once (dist.c), and a watchdog that turns a stalled collective into a clean exit.
#ifndef RATQ_HOST_DIST_INTERNAL_H
#define RATQ_HOST_DIST_INTERNAL_H

#include <pthread.h>

#include "dist/dist.h"

struct ratq_dist {
    ratq_dist_backend backend;
    int rank, world, local_rank;
    double timeout_s;
    volatile int64_t step;
    // tcp: rank 0 holds one socket per peer (fds[r], r >= 1); other ranks hold fds[0] to rank 0.
    int *fds;
    // watchdog: while a collective runs, `deadline` > 0 and `what` names it.
    pthread_t watchdog;
    pthread_mutex_t mu;
    int watchdog_started, stop;
    double deadline;
    const char *what;
    void (*on_fault)(void *); // ratq_dist_on_fault
    void *on_fault_arg;
};

// Blocking transport between this rank and `peer`; 0 on success, -1 after one error line (peer gone).
int ratq_dist_send(ratq_dist *d, int peer, const void *buf, size_t bytes);
int ratq_dist_recv(ratq_dist *d, int peer, void *buf, size_t bytes);

// Backends: fill rank/world/local_rank and connect. 0 or -1 after one error line.
int ratq_dist_tcp_init(ratq_dist *d);
void ratq_dist_tcp_finalize(ratq_dist *d);
int ratq_dist_tcp_send(ratq_dist *d, int peer, const void *buf, size_t bytes);
int ratq_dist_tcp_recv(ratq_dist *d, int peer, void *buf, size_t bytes);
int ratq_dist_mpi_launched(void); // 1 if an MPI launcher (mpirun, srun --mpi) started this process
int ratq_dist_mpi_init(ratq_dist *d);
void ratq_dist_mpi_finalize(ratq_dist *d);
int ratq_dist_mpi_send(ratq_dist *d, int peer, const void *buf, size_t bytes);
int ratq_dist_mpi_recv(ratq_dist *d, int peer, void *buf, size_t bytes);

// Exit now (status 3) with one line naming this rank, the step and what failed. Never returns.
void ratq_dist_fatal(ratq_dist *d, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

#endif
