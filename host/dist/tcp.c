// host/dist/tcp.c — launcher-agnostic rendezvous and transport over TCP: rank 0 listens on the master address and
// port and every other rank connects (retrying until the deadline) and sends its rank. Rank / world / local rank /
// address / port come from the RATQ_*, torchrun or SLURM variables (host/dist/dist.h "tcp"). Reads and writes
// poll with the collective deadline, so a dead peer is an error.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dist/internal.h"
#include "common/io.h"

// The first of the variables a, b, c that is set and not empty (NULL if none).
static const char *env_first(const char *a, const char *b, const char *c) {
    const char *names[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        const char *v = names[i] ? getenv(names[i]) : NULL;
        if (v && *v) return v;
    }
    return NULL;
}

static int env_int(const char *a, const char *b, const char *c, int dflt, int *ok) {
    const char *v = env_first(a, b, c);
    if (!v) return dflt;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 1 << 20) *ok = 0;
    return (int)x;
}

static int connect_to(const char *host, const char *port, double deadline) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = -1;
    while (fd < 0 && ratq_now() < deadline) {
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
            if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
                close(fd);
                fd = -1;
            }
        }
        if (fd < 0) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int listen_on(const char *host, const char *port) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        int one = 1;
        if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd >= 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 256) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

// Wait until fd is readable/writable or the deadline passes. 0 ready, -1 timeout/error.
static int wait_fd(int fd, short events, double deadline) {
    for (;;) {
        double left = deadline - ratq_now();
        if (left <= 0) return -1;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left > 1.0 ? 1000 : (int)(left * 1000) + 1);
        if (r > 0) return (p.revents & (POLLERR | POLLNVAL)) ? -1 : 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static int send_all(int fd, const void *buf, size_t bytes, double timeout_s) {
    const char *p = buf;
    double deadline = ratq_now() + timeout_s;
    while (bytes) {
        if (wait_fd(fd, POLLOUT, deadline)) return -1;
        ssize_t n = send(fd, p, bytes, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        bytes -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, void *buf, size_t bytes, double timeout_s) {
    char *p = buf;
    double deadline = ratq_now() + timeout_s;
    while (bytes) {
        if (wait_fd(fd, POLLIN, deadline)) return -1;
        ssize_t n = recv(fd, p, bytes, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1; // 0 = the peer closed: it died
        p += n;
        bytes -= (size_t)n;
    }
    return 0;
}

// Rank 0 talks to peer r over fds[r]; every other rank talks only to rank 0, over fds[0]. A closed socket fails
// at once ("rank r is gone"); a silent peer is left to the collective's watchdog (dist.c, "stalled for more
// than T s"), so the socket deadline is 1 s later than the watchdog's.
int ratq_dist_tcp_send(ratq_dist *d, int peer, const void *buf, size_t bytes) {
    return send_all(d->fds[d->rank == 0 ? peer : 0], buf, bytes, d->timeout_s + 1.0);
}
int ratq_dist_tcp_recv(ratq_dist *d, int peer, void *buf, size_t bytes) {
    return recv_all(d->fds[d->rank == 0 ? peer : 0], buf, bytes, d->timeout_s + 1.0);
}

int ratq_dist_tcp_init(ratq_dist *d) {
    int ok = 1;
    d->rank = env_int("RATQ_RANK", "RANK", "SLURM_PROCID", 0, &ok);
    d->world = env_int("RATQ_WORLD_SIZE", "WORLD_SIZE", "SLURM_NTASKS", 1, &ok);
    d->local_rank = env_int("RATQ_LOCAL_RANK", "LOCAL_RANK", "SLURM_LOCALID", d->rank, &ok);
    const char *host = env_first("RATQ_MASTER_ADDR", "MASTER_ADDR", NULL), *port = getenv("RATQ_MASTER_PORT");
    char port_buf[16];
    if (!port || !*port) { // torchrun: MASTER_PORT, or the port after it when torchrun's agent store holds it
        port = getenv("MASTER_PORT");
        const char *agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
        long p = port && *port ? strtol(port, NULL, 10) : 0;
        if (p > 0 && p < 65535 && agent && (!strcmp(agent, "True") || !strcmp(agent, "true") || !strcmp(agent, "1"))) {
            snprintf(port_buf, sizeof port_buf, "%ld", p + 1);
            port = port_buf;
        }
    }
    if (!ok || d->world < 1 || d->rank >= d->world) {
        ratq_error("distributed (tcp): RATQ_RANK/RATQ_WORLD_SIZE (or RANK/WORLD_SIZE, SLURM_PROCID/SLURM_NTASKS) are "
                   "not a valid rank < world size");
        return -1;
    }
    if (d->world == 1) return 0;
    if (!host || !*host || !port || !*port) {
        ratq_error("distributed (tcp): set RATQ_MASTER_ADDR and RATQ_MASTER_PORT (or MASTER_ADDR / MASTER_PORT): rank "
                   "0's address and a free port");
        return -1;
    }
    d->fds = malloc(sizeof(int) * (size_t)d->world);
    for (int r = 0; r < d->world; r++) d->fds[r] = -1;
    double deadline = ratq_now() + d->timeout_s;
    int one = 1;
    if (d->rank == 0) {
        int lfd = listen_on(host, port);
        if (lfd < 0) {
            ratq_error("distributed (tcp): rank 0 cannot listen on %s:%s: %s", host, port, strerror(errno));
            return -1;
        }
        for (int got = 1; got < d->world;) {
            if (wait_fd(lfd, POLLIN, deadline)) {
                ratq_error("distributed (tcp): rank 0: only %d of %d ranks connected within %.0f s", got, d->world,
                           d->timeout_s);
                close(lfd);
                return -1;
            }
            int fd = accept(lfd, NULL, NULL);
            int32_t hello[2];
            if (fd < 0) continue;
            hello[0] = hello[1] = -1;
            int bad = recv_all(fd, hello, sizeof hello, d->timeout_s) || hello[0] < 1 || hello[0] >= d->world ||
                      hello[1] != d->world || d->fds[hello[0]] >= 0;
            if (bad) {
                ratq_error("distributed (tcp): rank 0: bad hello from a peer (rank %d, world %d; expected world %d)",
                           hello[0], hello[1], d->world);
                close(fd);
                close(lfd);
                return -1;
            }
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            d->fds[hello[0]] = fd;
            got++;
        }
        close(lfd);
    } else {
        int fd = connect_to(host, port, deadline);
        if (fd < 0) {
            ratq_error("distributed (tcp): rank %d cannot reach rank 0 at %s:%s within %.0f s", d->rank, host, port,
                       d->timeout_s);
            return -1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        d->fds[0] = fd;
        int32_t hello[2] = {d->rank, d->world};
        if (ratq_dist_tcp_send(d, 0, hello, sizeof hello)) {
            ratq_error("distributed (tcp): rank %d: handshake with rank 0 failed", d->rank);
            return -1;
        }
    }
    return 0;
}

void ratq_dist_tcp_finalize(ratq_dist *d) {
    for (int r = 0; d->fds && r < d->world; r++)
        if (d->fds[r] >= 0) close(d->fds[r]);
}
