// test_dist.c — the collectives of host/dist/dist.h on however many ranks launched it (single, mpirun, or
// RATQ_RANK/RATQ_WORLD_SIZE over TCP): mean all-reduce equals the rank-ordered reference bit for bit on every
// rank, int64 sums are exact, broadcast copies root's bytes, barrier returns.
// Fault drill: `test_dist --steps N --die-rank R --die-step S` runs N all-reduce steps and rank R vanishes
// (SIGKILL) at step S: the other ranks must exit with status 3 (tcp) or be torn down by mpirun, never hang.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist/dist.h"
#include "test_util.h"

static float value(size_t i, int rank) { return (float)(((i * 2654435761u + (size_t)rank * 40503u) % 2001) - 1000) * 0.37f; }

int main(int argc, char **argv) {
    int steps = 0, die_rank = -1, die_step = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--die-rank")) die_rank = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--die-step")) die_step = atoi(argv[i + 1]);
    }
    ratq_dist *d = ratq_dist_init(NULL);
    if (!d) return 2;
    const int rank = ratq_dist_rank(d), world = ratq_dist_world(d);
    printf("rank %d of %d (%s)\n", rank, world, ratq_dist_backend_name(d));
    const size_t n = 100003; // not a multiple of anything convenient
    float *buf = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
        buf[i] = value(i, rank);
        float acc = value(i, 0);
        for (int r = 1; r < world; r++) acc += value(i, r);
        want[i] = acc / (float)world;
    }
    ratq_dist_allreduce_mean_f32(d, buf, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += memcmp(&buf[i], &want[i], sizeof(float)) != 0;
    CHECK_MSG(bad == 0, "rank %d: %zu of %zu means differ from the rank-ordered reference", rank, bad, n);

    int64_t counts[3] = {rank, 1, (int64_t)1 << 40};
    ratq_dist_allreduce_sum_i64(d, counts, 3);
    CHECK_EQ_I64(counts[0], (int64_t)world * (world - 1) / 2, "sum of ranks");
    CHECK_EQ_I64(counts[1], world, "sum of ones");
    CHECK_EQ_I64(counts[2], ((int64_t)1 << 40) * world, "sum of 2^40");

    char msg[32] = {0};
    int root = world - 1;
    if (rank == root) snprintf(msg, sizeof msg, "hello from %d", root);
    ratq_dist_broadcast(d, msg, sizeof msg, root);
    char expect[32] = {0};
    snprintf(expect, sizeof expect, "hello from %d", root);
    CHECK_MSG(!memcmp(msg, expect, sizeof msg), "rank %d: broadcast got '%s'", rank, msg);
    ratq_dist_barrier(d);

    for (int s = 0; s < steps; s++) {
        ratq_dist_set_step(d, s);
        if (rank == die_rank && s == die_step) {
            fprintf(stderr, "rank %d: dying at step %d\n", rank, s);
            raise(SIGKILL);
        }
        ratq_dist_allreduce_mean_f32(d, buf, n);
    }
    free(buf), free(want);
    ratq_dist_finalize(d);
    char name[32];
    snprintf(name, sizeof name, "test_dist[rank %d]", rank);
    return ratq_test_finish(name);
}
