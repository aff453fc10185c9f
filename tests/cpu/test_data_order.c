// test_data_order.c — epoch orders: a shuffled epoch is a permutation of 0..n-1; the same (seed, epoch) gives the
// same order, another epoch or seed another order; ranks r = 0..W-1 take positions r, r+W, ... of the one
// permutation, so together they cover every index exactly once; batch counts follow ceil / floor (drop_last);
// the loader hands out exactly that order (batch by batch, every rank).
#include "cpu/test_data_util.h"

static int is_perm(const int64_t *v, int64_t n) {
    char *seen = calloc((size_t)n + 1, 1);
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) {
        if (v[i] < 0 || v[i] >= n || seen[v[i]]) ok = 0;
        else seen[v[i]] = 1;
    }
    free(seen);
    return ok;
}

int main(void) {
    const int64_t sizes[] = {1, 2, 7, 100, 1000, 50000};
    for (int s = 0; s < 6; s++) {
        int64_t n = sizes[s];
        int64_t *a = malloc(sizeof(int64_t) * n), *b = malloc(sizeof(int64_t) * n);
        for (uint64_t seed = 0; seed < 3; seed++) {
            CHECK(ratq_data_epoch_order(n, 1, seed, 0, 0, 1, a) == n, "count");
            CHECK(is_perm(a, n), "n %lld seed %llu epoch 0: not a permutation", (long long)n, (unsigned long long)seed);
            ratq_data_epoch_order(n, 1, seed, 0, 0, 1, b);
            CHECK(!memcmp(a, b, sizeof(int64_t) * n), "same seed/epoch, different order");
            if (n >= 100) {
                ratq_data_epoch_order(n, 1, seed, 1, 0, 1, b);
                CHECK(is_perm(b, n) && memcmp(a, b, sizeof(int64_t) * n), "epoch 1 equals epoch 0 (n %lld)", (long long)n);
                ratq_data_epoch_order(n, 1, seed + 100, 0, 0, 1, b);
                CHECK(memcmp(a, b, sizeof(int64_t) * n), "another seed gives the same order");
                int64_t fixed = 0;
                for (int64_t i = 0; i < n; i++) fixed += a[i] == i;
                CHECK(fixed < 10, "%lld fixed points: not shuffled", (long long)fixed);
            }
            // identity without shuffle
            ratq_data_epoch_order(n, 0, seed, 5, 0, 1, b);
            for (int64_t i = 0; i < n; i++) CHECK(b[i] == i, "unshuffled order[%lld] = %lld", (long long)i, (long long)b[i]);
        }
        // Ranks: W = 1..5 partition the permutation; rank r takes perm[r + k*W].
        for (int W = 1; W <= 5; W++) {
            int64_t total = 0;
            char *seen = calloc((size_t)n, 1);
            ratq_data_epoch_order(n, 1, 11, 2, 0, 1, a);
            for (int r = 0; r < W; r++) {
                int64_t m = ratq_data_rank_count(n, r, W);
                CHECK(m == (n - r + W - 1) / W || (n <= r && m == 0), "rank count");
                CHECK(ratq_data_epoch_order(n, 1, 11, 2, r, W, b) == m, "rank order count");
                for (int64_t k = 0; k < m; k++) {
                    CHECK(b[k] == a[r + k * W], "rank %d pos %lld", r, (long long)k);
                    CHECK(!seen[b[k]], "index %lld twice", (long long)b[k]);
                    seen[b[k]] = 1;
                }
                total += m;
            }
            CHECK(total == n, "ranks cover %lld of %lld", (long long)total, (long long)n);
            free(seen);
        }
        free(a);
        free(b);
    }
    // Loader: 1000 images of Fashion-MNIST t10k is too many to need; use all 10000, batch 64, W = 3.
    ratq_dataset *ds = ratq_data_open("/usr/share/datasets/fashion-mnist/t10k", NULL);
    if (!ds) {
        fprintf(stderr, "FAIL: Fashion-MNIST missing (apt-get install dataset-fashion-mnist)\n");
        return 1;
    }
    for (int drop = 0; drop < 2; drop++) {
        int64_t covered = 0;
        for (int r = 0; r < 3; r++) {
            ratq_loader_config cfg = ratq_loader_config_default();
            cfg.batch_size = 64;
            cfg.shuffle = 1;
            cfg.seed = 5;
            cfg.rank = r;
            cfg.world_size = 3;
            cfg.drop_last = drop;
            cfg.num_workers = 2;
            cfg.tf = ratq_transform_none(28);
            ratq_loader *ld = ratq_loader_create(ds, &cfg);
            if (!ld) return 1;
            int64_t m = ratq_data_rank_count(10000, r, 3);
            int64_t *want = malloc(sizeof(int64_t) * m);
            ratq_data_epoch_order(10000, 1, 5, 4, r, 3, want);
            CHECK(ratq_loader_num_samples(ld) == m, "samples");
            CHECK(ratq_loader_num_batches(ld) == (drop ? m / 64 : (m + 63) / 64), "batches %lld",
                  (long long)ratq_loader_num_batches(ld));
            for (int rep = 0; rep < 2; rep++) { // restart the same epoch mid-way: same result
                ratq_loader_start_epoch(ld, 4);
                ratq_batch b;
                int64_t pos = 0, nb = 0;
                int rc;
                while ((rc = ratq_loader_next(ld, &b)) == 1) {
                    CHECK(b.batch == nb, "batch number %lld, expected %lld", (long long)b.batch, (long long)nb);
                    CHECK(b.n == 64 || (!drop && nb == ratq_loader_num_batches(ld) - 1), "short batch in the middle");
                    for (int j = 0; j < b.n; j++) {
                        CHECK(b.index[j] == want[pos + j], "rank %d pos %lld", r, (long long)(pos + j));
                        CHECK(b.labels[j] == ratq_data_label(ds, b.index[j]), "label");
                    }
                    pos += b.n;
                    nb++;
                    if (rep == 0 && nb == 3) break; // abandon: start_epoch must reset cleanly
                }
                if (rep == 1) {
                    CHECK(rc == 0 && pos == (drop ? m / 64 * 64 : m), "rank %d got %lld images", r, (long long)pos);
                    covered += pos;
                }
            }
            free(want);
            ratq_loader_destroy(ld);
        }
        CHECK(drop || covered == 10000, "ranks covered %lld", (long long)covered);
    }
    ratq_data_close(ds);
    if (!g_fail) printf("ok: shuffles are seeded permutations, ranks partition them, the loader follows the order\n");
    return g_fail;
}
