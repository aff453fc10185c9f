// test_data_stream.c — the RAT input stream (host/data/stream.h) and the JPEG folder-tree listing (host/data/source.c),
// label cpu.
//   stream   a raw shard of 53 random 11x9x3 images (labels 0..9), batches of 4, 3 epochs (steps across epoch
//            boundaries), augmented (RandomResizedCrop 8 + flip) and not: every batch's images, labels and indices
//            are EQUAL to the reference computed directly (ratq_data_epoch_order(n, 1, seed, e) sliced per
//            host/train/rat_train.h, ratq_data_read + ratq_transform_apply(seed, e, index)), for 0 / 1 / 3 workers,
//            ring depths 2 / 3 / 5, world 1 and both ranks of world 2, a `limit`, with the consumer holding two batches
//            at a time (as the GPU loop does), a start in the middle (resume) and a restart while workers run; the
//            slot memory comes only from the configured allocator (depth x 3 blocks, all freed); a dataset smaller
//            than a global batch, a bad config and holding every slot fail with an error line; a corrupt JPEG makes
//            ratq_stream_next return -1 at its step.
//   listing  a JPEG tree with class folders b, a, .hidden (ignored), files 2.jpg, 10.JPEG, x.png (ignored), a folder
//            d.jpg (ignored), a symlink l.jpeg to a file (kept): count, class labels (sorted folders), file order
//            (strcmp: "10.JPEG" < "2.jpg" < "l.jpeg") and ratq_data_describe paths.
#define _DEFAULT_SOURCE // mkdtemp, symlink
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data.h"
#include "data/stream.h"
#include "test_util.h"

static char g_dir[256];

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// A shard file (host/data/data.h format): raw (enc 0) images [n][h][w][c], or jpeg (enc 1) with the given blobs.
static void write_shard(const char *path, int enc, uint64_t n, int h, int w, int c, const uint8_t *data,
                        const int64_t *offsets, uint64_t data_size, const int64_t *labels, int classes) {
    const uint64_t lab_off = 128, idx_off = enc ? lab_off + 8 * n : 0;
    const uint64_t data_off = enc ? idx_off + 8 * (n + 1) : lab_off + 8 * n, size = data_off + data_size;
    uint8_t *f = calloc(1, size);
    memcpy(f, "RATQIMG1", 8);
    put_u32(f + 8, 1);
    put_u32(f + 12, (uint32_t)enc);
    put_u64(f + 16, n);
    put_u32(f + 24, (uint32_t)h);
    put_u32(f + 28, (uint32_t)w);
    put_u32(f + 32, (uint32_t)c);
    put_u32(f + 36, (uint32_t)classes);
    put_u64(f + 40, lab_off);
    put_u64(f + 48, idx_off);
    put_u64(f + 56, data_off);
    put_u64(f + 64, data_size);
    put_u64(f + 72, size);
    for (uint64_t i = 0; i < n; i++) put_u64(f + lab_off + 8 * i, (uint64_t)labels[i]);
    for (uint64_t i = 0; enc && i <= n; i++) put_u64(f + idx_off + 8 * i, (uint64_t)offsets[i]);
    memcpy(f + data_off, data, data_size);
    FILE *fp = fopen(path, "wb");
    CHECK_MSG(fp && fwrite(f, 1, size, fp) == size, "write %s", path);
    if (fp) fclose(fp);
    free(f);
}

// Counting allocator: the ring must come from it entirely.
static long g_allocs, g_frees;
static void *count_alloc(size_t b) {
    g_allocs++;
    return malloc(b);
}
static void count_free(void *p) {
    g_frees++;
    free(p);
}

// The batch of step t straight from the definition (host/data/stream.h "Order").
static void reference(const ratq_dataset *ds, const ratq_stream_config *c, int64_t n, int64_t t, uint8_t *img,
                      int32_t *lab, int64_t *idx, size_t per) {
    const int64_t G = (int64_t)c->batch * c->world, nb = n / G, e = t / nb, b = t % nb;
    int64_t *order = malloc(sizeof *order * (size_t)n);
    ratq_data_epoch_order(n, 1, c->seed, e, 0, 1, order);
    ratq_image im = {0}, scratch = {0};
    for (int j = 0; j < c->batch; j++) {
        idx[j] = order[b * G + (int64_t)c->rank * c->batch + j];
        lab[j] = (int32_t)ratq_data_label(ds, idx[j]);
        CHECK_MSG(ratq_data_read(ds, idx[j], &im) == 0 &&
                      ratq_transform_apply(&c->tf, &im, c->seed, e, idx[j], img + (size_t)j * per, &scratch) == 0,
                  "reference image %lld", (long long)idx[j]);
    }
    ratq_image_free(&im);
    ratq_image_free(&scratch);
    free(order);
}

static long g_batches_checked;

static void check_batch(const ratq_dataset *ds, const ratq_stream_config *c, int64_t n, const ratq_stream_batch *b,
                        int64_t want_step, const char *what) {
    const size_t per = (size_t)b->h * b->w * b->c;
    uint8_t *img = malloc(per * (size_t)c->batch);
    int32_t lab[64];
    int64_t idx[64];
    reference(ds, c, n, want_step, img, lab, idx, per);
    const int64_t nb = n / ((int64_t)c->batch * c->world);
    CHECK_MSG(b->step == want_step && b->epoch == want_step / nb && b->n == c->batch, "%s: step %lld (want %lld)",
              what, (long long)b->step, (long long)want_step);
    CHECK_MSG(memcmp(b->images, img, per * (size_t)c->batch) == 0, "%s: step %lld: images differ", what,
              (long long)want_step);
    CHECK_MSG(memcmp(b->labels, lab, sizeof(int32_t) * (size_t)c->batch) == 0 &&
                  memcmp(b->index, idx, sizeof(int64_t) * (size_t)c->batch) == 0,
              "%s: step %lld: labels / indices differ", what, (long long)want_step);
    g_batches_checked++;
    free(img);
}

// Run steps [first, end) through a stream, holding `hold` batches at a time.
static void run_stream(const ratq_dataset *ds, const ratq_stream_config *c, int64_t first, int64_t end, int hold,
                       const char *what) {
    ratq_stream *s = ratq_stream_create(ds, c);
    CHECK_MSG(s != NULL, "%s: create", what);
    if (!s) return;
    const int64_t n = ratq_stream_images(s);
    CHECK_MSG(ratq_stream_start(s, first, end) == 0, "%s: start", what);
    ratq_stream_batch held[4];
    int nh = 0;
    int64_t t = first;
    for (;;) {
        ratq_stream_batch b;
        const int r = ratq_stream_next(s, &b);
        CHECK_MSG(r >= 0, "%s: next at step %lld", what, (long long)t);
        if (r <= 0) break;
        check_batch(ds, c, n, &b, t++, what);
        held[nh++] = b;
        if (nh == hold) { // release the oldest
            ratq_stream_release(s, &held[0]);
            memmove(held, held + 1, sizeof held[0] * (size_t)(nh - 1));
            nh--;
        }
    }
    CHECK_MSG(t == end, "%s: %lld steps delivered, want %lld", what, (long long)(t - first), (long long)(end - first));
    for (int i = 0; i < nh; i++) ratq_stream_release(s, &held[i]);
    ratq_stream_destroy(s);
}

static void test_stream(void) {
    const int N = 53, H = 11, W = 9, C = 3;
    uint8_t *px = malloc((size_t)N * H * W * C);
    int64_t lab[53];
    uint64_t st = 12;
    for (int i = 0; i < N * H * W * C; i++) px[i] = (uint8_t)ratq_test_rng(&st);
    for (int i = 0; i < N; i++) lab[i] = i % 10;
    char path[512];
    snprintf(path, sizeof path, "%s/raw.rqshard", g_dir);
    write_shard(path, 0, N, H, W, C, px, NULL, (uint64_t)N * H * W * C, lab, 10);
    ratq_dataset *ds = ratq_data_open(path, NULL);
    CHECK_MSG(ds != NULL, "open %s", path);
    if (!ds) return;
    ratq_stream_config c = ratq_stream_config_default();
    c.batch = 4;
    c.seed = 77;
    for (int aug = 0; aug < 2; aug++) {
        c.tf = aug ? ratq_transform_train(8) : ratq_transform_none(0);
        c.world = 1, c.rank = 0;
        const int64_t nb = N / 4, total = 3 * nb; // 3 epochs
        const int workers[] = {0, 1, 3}, depths[] = {2, 3, 5};
        for (int wi = 0; wi < 3; wi++)
            for (int di = 0; di < 3; di++) {
                c.num_workers = workers[wi];
                c.depth = depths[di];
                char what[96];
                snprintf(what, sizeof what, "aug %d, %d workers, depth %d", aug, c.num_workers, c.depth);
                run_stream(ds, &c, 0, total, c.depth >= 3 ? 2 : 1, what);
            }
        c.num_workers = 3, c.depth = 3;
        run_stream(ds, &c, 7, total, 2, "resume at step 7");
        c.world = 2; // both ranks of 2: global batch 8
        for (c.rank = 0; c.rank < 2; c.rank++) run_stream(ds, &c, 0, 3 * (N / 8), 2, "world 2");
        c.world = 1, c.rank = 0, c.limit = 20; // the first 20 images: 5 steps per epoch
        run_stream(ds, &c, 0, 10, 1, "limit 20");
        c.limit = 0;
    }
    // restart while the workers are busy; custom allocator; every slot held
    c.tf = ratq_transform_train(8);
    c.num_workers = 2, c.depth = 3, c.alloc = count_alloc, c.free = count_free;
    g_allocs = g_frees = 0;
    ratq_stream *s = ratq_stream_create(ds, &c);
    CHECK_MSG(s && g_allocs == 3 * 3, "ring from the allocator: %ld blocks (want 9)", g_allocs);
    if (s) {
        ratq_stream_batch b, b2, b3;
        CHECK_MSG(ratq_stream_start(s, 0, 100) == 0 && ratq_stream_next(s, &b) == 1, "first batch");
        ratq_stream_release(s, &b);
        CHECK_MSG(ratq_stream_start(s, 20, 30) == 0 && ratq_stream_next(s, &b) == 1, "restart");
        check_batch(ds, &c, N, &b, 20, "restart at 20");
        CHECK_MSG(ratq_stream_next(s, &b2) == 1 && ratq_stream_next(s, &b3) == 1, "hold 3");
        ratq_stream_batch b4;
        fprintf(stderr, "(expected error line follows)\n");
        CHECK_MSG(ratq_stream_next(s, &b4) == -1, "a 4th batch with every slot held must fail, not hang");
        CHECK_MSG(ratq_stream_start(s, 0, 5) == -1, "start while holding must fail");
        ratq_stream_release(s, &b), ratq_stream_release(s, &b2), ratq_stream_release(s, &b3);
        ratq_stream_destroy(s);
    }
    CHECK_MSG(g_frees == g_allocs, "ring freed: %ld of %ld blocks", g_frees, g_allocs);
    c.alloc = NULL, c.free = NULL;
    // errors
    fprintf(stderr, "(expected error lines follow)\n");
    c.batch = 54;
    CHECK_MSG(ratq_stream_create(ds, &c) == NULL, "fewer images than one global batch must fail");
    c.batch = 4, c.depth = 1;
    CHECK_MSG(ratq_stream_create(ds, &c) == NULL, "depth 1 must fail");
    c.depth = 3, c.rank = 2, c.world = 2;
    CHECK_MSG(ratq_stream_create(ds, &c) == NULL, "rank >= world must fail");
    ratq_data_close(ds);
    // a corrupt JPEG at index 5 (every other image valid only as far as its bytes go: all garbage here)
    uint8_t junk[64 * 8];
    int64_t off[9];
    for (int i = 0; i < (int)sizeof junk; i++) junk[i] = (uint8_t)(i * 7);
    for (int i = 0; i <= 8; i++) off[i] = 64 * i;
    snprintf(path, sizeof path, "%s/bad.rqshard", g_dir);
    write_shard(path, 1, 8, 0, 0, 3, junk, off, sizeof junk, lab, 10);
    ds = ratq_data_open(path, NULL);
    CHECK_MSG(ds != NULL, "open %s", path);
    if (ds) {
        ratq_stream_config cj = ratq_stream_config_default();
        cj.batch = 2;
        cj.tf = ratq_transform_train(8);
        ratq_stream *sj = ratq_stream_create(ds, &cj);
        ratq_stream_batch b;
        CHECK_MSG(sj && ratq_stream_start(sj, 0, 4) == 0 && ratq_stream_next(sj, &b) == -1, "a corrupt JPEG must fail");
        ratq_stream_destroy(sj);
        ratq_data_close(ds);
    }
    free(px);
}

static void touch(const char *dir, const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    CHECK_MSG(f != NULL, "create %s", p);
    if (f) fclose(f);
}

static void test_listing(void) {
    char root[512], a[600], b[600], h[600], d[700], l[700], target[700];
    snprintf(root, sizeof root, "%s/tree", g_dir);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    snprintf(h, sizeof h, "%s/.hidden", root);
    CHECK_MSG(mkdir(root, 0755) == 0 && mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0 && mkdir(h, 0755) == 0, "mkdir");
    touch(b, "2.jpg"), touch(b, "10.JPEG"), touch(b, "x.png"), touch(h, "z.jpg"), touch(a, "only.jpeg");
    snprintf(d, sizeof d, "%s/d.jpg", b);
    CHECK_MSG(mkdir(d, 0755) == 0, "mkdir %s", d);
    snprintf(target, sizeof target, "%s/2.jpg", b);
    snprintf(l, sizeof l, "%s/l.jpeg", b);
    CHECK_MSG(symlink(target, l) == 0, "symlink %s", l);
    ratq_dataset *ds = ratq_data_open(root, NULL);
    CHECK_MSG(ds != NULL, "open tree");
    if (!ds) return;
    const ratq_data_info info = ratq_data_get_info(ds);
    CHECK_EQ_I64(info.count, 4, "files");
    CHECK_EQ_I64(info.num_classes, 2, "classes");
    const char *want[4] = {"a/only.jpeg", "b/10.JPEG", "b/2.jpg", "b/l.jpeg"};
    const int64_t labels[4] = {0, 1, 1, 1};
    for (int i = 0; i < 4 && i < info.count; i++) {
        char buf[4200], full[700];
        snprintf(full, sizeof full, "%s/%s", root, want[i]);
        ratq_data_describe(ds, i, buf, sizeof buf);
        CHECK_MSG(!strcmp(buf, full), "file %d: %s, want %s", i, buf, full);
        CHECK_EQ_I64(ratq_data_label(ds, i), labels[i], "label of file %d", i);
    }
    ratq_data_close(ds);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/ratq_stream_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_stream();
    test_listing();
    printf("test_data_stream: %ld batches compared with the reference\n", g_batches_checked);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", g_dir);
    return ratq_test_finish("test_data_stream");
}
