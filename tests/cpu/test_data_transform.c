// test_data_transform.c — transforms against Pillow and their determinism.
//  1. Golden: tests/golden/data_transform.npz (scripts/make_data_golden.py, Pillow BILINEAR + torchvision
//     Resize/CenterCrop rules) must equal ratq's eval transform / resize / gray conversion exactly (uint8, no
//     tolerance: the resampler is a re-implementation of Pillow's fixed-point arithmetic).
//  2. Eval is deterministic: twice the same bytes, and the loader gives identical batches with 0, 1 and 3 workers.
//  3. "As stored" is a copy and rejects other sizes; train with scale = ratio = (1, 1) is a plain resize (maybe
//     mirrored), the same (seed, epoch, index) gives the same crop, other epochs give other crops; flips ~ 1/2.
#include "cpu/test_data_util.h"
#include "data/internal.h"

static data_npy golden(const char *name) {
    static data_map m;
    static char path[4200];
    if (!m.data) {
        const char *t = getenv("RATQ_TEST_DIR");
        snprintf(path, sizeof path, "%s/golden/data_transform.npz", t ? t : "tests");
        if (data_map_open(&m, path) != 0) exit(1);
    }
    data_npy a;
    if (data_npz_load(&m, path, name, &a) != 1) {
        fprintf(stderr, "FAIL: golden member %s missing\n", name);
        exit(1);
    }
    return a;
}

// Compare n bytes exactly; print the first mismatches and the max difference.
static void compare(const char *what, const uint8_t *got, const uint8_t *want, size_t n) {
    size_t bad = 0;
    int maxd = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            int d = abs((int)got[i] - (int)want[i]);
            if (bad < 5) fprintf(stderr, "  %s: byte %zu: ratq %d Pillow %d\n", what, i, got[i], want[i]);
            if (d > maxd) maxd = d;
            bad++;
        }
    CHECK(bad == 0, "%s: %zu of %zu bytes differ from Pillow, max |diff| %d", what, bad, n, maxd);
}

static void golden_cases(void) {
    ratq_dataset *cifar = ratq_data_open(shared_path("cifar10/test.npz"), NULL);
    ratq_dataset *inet = ratq_data_open(shared_path("imagenet_sample/val_part0.npz"), NULL);
    if (!cifar || !inet) exit(1);
    ratq_image img = {0}, scratch = {0};
    uint8_t *out = malloc(1 << 20);
    struct {
        const char *name;
        int out, resize, ch;
    } cc[] = {{"cifar_eval24", 24, 28, 0}, {"cifar_eval48", 48, 56, 0}, {"cifar_eval24_gray", 24, 28, 1}};
    for (int k = 0; k < 3; k++) {
        data_npy g = golden(cc[k].name);
        size_t per = g.nbytes / 4;
        ratq_transform tf = ratq_transform_eval(cc[k].out);
        tf.resize_to = cc[k].resize;
        tf.out_channels = cc[k].ch;
        for (int i = 0; i < 4; i++) {
            ratq_data_read(cifar, i, &img);
            CHECK(ratq_transform_apply(&tf, &img, 0, 0, i, out, &scratch) == 0, "apply");
            char what[64];
            snprintf(what, sizeof what, "%s[%d]", cc[k].name, i);
            compare(what, out, g.data + per * i, per);
        }
        data_npy_free(&g);
    }
    // Rectangular 200 x 150 window: shorter side 150 -> 64, longer -> 85, crop top 14 (half-even), left 4.
    data_npy g = golden("inet_rect_eval56");
    ratq_image sub = {0};
    data_image_reserve(&sub, 200 * 150 * 3);
    sub.h = 200, sub.w = 150, sub.c = 3;
    ratq_transform tf = ratq_transform_eval(56);
    tf.resize_to = 64;
    for (int i = 0; i < 2; i++) {
        ratq_data_read(inet, i, &img);
        for (int y = 0; y < 200; y++) memcpy(sub.data + y * 450, img.data + ((10 + y) * 224) * 3, 450);
        CHECK(ratq_transform_apply(&tf, &sub, 0, 0, i, out, &scratch) == 0, "apply rect");
        compare(i ? "inet_rect_eval56[1]" : "inet_rect_eval56[0]", out, g.data + 56 * 56 * 3 * i, 56 * 56 * 3);
    }
    data_npy_free(&g);
    ratq_image_free(&sub);
    // Plain resizes: full 224x224 -> 37x53; a 101x77 window read through the row stride -> 60x45.
    g = golden("inet_resize_37x53");
    ratq_data_read(inet, 2, &img);
    CHECK(ratq_resize_bilinear(img.data, 224, 224, 3, 224 * 3, out, 37, 53, &scratch) == 0, "resize");
    compare("inet_resize_37x53", out, g.data, g.nbytes);
    data_npy_free(&g);
    g = golden("inet_resize_60x45");
    ratq_data_read(inet, 3, &img);
    CHECK(ratq_resize_bilinear(img.data, 101, 77, 3, 224 * 3, out, 60, 45, &scratch) == 0, "resize window");
    compare("inet_resize_60x45", out, g.data, g.nbytes);
    data_npy_free(&g);
    free(out);
    ratq_image_free(&img);
    ratq_image_free(&scratch);
    ratq_data_close(cifar);
    ratq_data_close(inet);
}

// All batches of one epoch, concatenated (images then labels then indices).
static uint8_t *epoch_bytes(const ratq_dataset *ds, ratq_loader_config cfg, int64_t epoch, size_t *n) {
    ratq_loader *ld = ratq_loader_create(ds, &cfg);
    if (!ld) exit(1);
    size_t cap = 1 << 20, len = 0;
    uint8_t *v = malloc(cap);
    ratq_batch b;
    ratq_loader_start_epoch(ld, epoch);
    int r;
    while ((r = ratq_loader_next(ld, &b)) == 1) {
        size_t add = (size_t)b.n * b.h * b.w * b.c + 16 * (size_t)b.n;
        while (len + add > cap) v = realloc(v, cap *= 2);
        memcpy(v + len, b.images, (size_t)b.n * b.h * b.w * b.c);
        len += (size_t)b.n * b.h * b.w * b.c;
        memcpy(v + len, b.labels, 8 * (size_t)b.n);
        memcpy(v + len + 8 * (size_t)b.n, b.index, 8 * (size_t)b.n);
        len += 16 * (size_t)b.n;
    }
    CHECK(r == 0, "epoch ended with %d", r);
    ratq_loader_destroy(ld);
    *n = len;
    return v;
}

static void determinism(void) {
    ratq_dataset *ds = ratq_data_open(shared_path("cifar10/test_jpeg.npz"), NULL);
    if (!ds) exit(1);
    ratq_loader_config cfg = ratq_loader_config_default();
    cfg.batch_size = 50;
    cfg.tf = ratq_transform_eval(24);
    size_t n0, n1, n3;
    cfg.num_workers = 0;
    uint8_t *a = epoch_bytes(ds, cfg, 0, &n0);
    cfg.num_workers = 1;
    uint8_t *b = epoch_bytes(ds, cfg, 0, &n1);
    cfg.num_workers = 3;
    cfg.prefetch = 5;
    uint8_t *c = epoch_bytes(ds, cfg, 7, &n3);
    CHECK(n0 == n1 && n0 == n3 && n0 == 10000 * (24 * 24 * 3 + 16), "sizes %zu %zu %zu", n0, n1, n3);
    CHECK(n0 == n1 && !memcmp(a, b, n0), "eval epoch differs between 0 and 1 workers");
    CHECK(n0 == n3 && !memcmp(a, c, n0), "eval epoch differs between 0 and 3 workers / epochs 0 and 7");
    free(a), free(b), free(c);
    // Train transform with shuffling: identical with 0 and 3 workers and another batch size.
    cfg.tf = ratq_transform_train(24);
    cfg.shuffle = 1;
    cfg.seed = 42;
    cfg.num_workers = 0;
    a = epoch_bytes(ds, cfg, 3, &n0);
    cfg.num_workers = 3;
    b = epoch_bytes(ds, cfg, 3, &n1);
    CHECK(n0 == n1 && !memcmp(a, b, n0), "train epoch differs between 0 and 3 workers");
    free(a), free(b);
    ratq_data_close(ds);
}

static void train_and_none(void) {
    ratq_dataset *ds = ratq_data_open(shared_path("imagenet_sample/val_part1.npz"), NULL);
    if (!ds) exit(1);
    ratq_image img = {0}, scratch = {0};
    enum { S = 64 };
    uint8_t full[S * S * 3], mirror[S * S * 3], o1[S * S * 3], o2[S * S * 3];
    static uint8_t stored[224 * 224 * 3];
    // NONE copies; NONE with the wrong size fails.
    ratq_transform none = ratq_transform_none(224);
    ratq_data_read(ds, 5, &img);
    CHECK(ratq_transform_apply(&none, &img, 0, 0, 5, stored, &scratch) == 0 && !memcmp(stored, img.data, sizeof stored),
          "none is not a copy");
    ratq_transform none32 = ratq_transform_none(32);
    ratq_data_info info = ratq_data_get_info(ds);
    fprintf(stderr, "(expected error follows)\n");
    CHECK(ratq_transform_check(&none32, &info) != 0, "none 32 accepted for 224 images");
    CHECK(ratq_transform_eval_for(&info, 224).kind == RATQ_TF_NONE && ratq_transform_eval_for(&info, 32).kind == RATQ_TF_EVAL,
          "eval_for picks none only at the stored size");
    // Train with scale (1,1), ratio (1,1) on a square image: the crop is the whole image.
    ratq_transform tr = ratq_transform_train(S);
    tr.scale_min = tr.scale_max = 1.0;
    tr.ratio_min = tr.ratio_max = 1.0;
    int flips = 0, same = 0, trials = 0;
    for (int64_t i = 0; i < 40; i++) {
        ratq_data_read(ds, i, &img);
        ratq_resize_bilinear(img.data, 224, 224, 3, 224 * 3, full, S, S, &scratch);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) memcpy(mirror + (y * S + x) * 3, full + (y * S + S - 1 - x) * 3, 3);
        for (int64_t e = 0; e < 5; e++) {
            ratq_transform_apply(&tr, &img, 9, e, i, o1, &scratch);
            int is_full = !memcmp(o1, full, sizeof o1), is_mirror = !memcmp(o1, mirror, sizeof o1);
            CHECK(is_full || is_mirror, "train scale 1 image %lld epoch %lld is neither the resize nor its mirror",
                  (long long)i, (long long)e);
            flips += is_mirror && !is_full;
            trials++;
        }
    }
    CHECK(flips > trials * 3 / 10 && flips < trials * 7 / 10, "flipped %d of %d", flips, trials);
    // Default train: same key -> same output; other epochs -> other crops (almost always).
    tr = ratq_transform_train(S);
    for (int64_t i = 0; i < 40; i++) {
        ratq_data_read(ds, i, &img);
        ratq_transform_apply(&tr, &img, 1, 0, i, o1, &scratch);
        ratq_transform_apply(&tr, &img, 1, 0, i, o2, &scratch);
        CHECK(!memcmp(o1, o2, sizeof o1), "train not deterministic for image %lld", (long long)i);
        ratq_transform_apply(&tr, &img, 1, 1, i, o2, &scratch);
        same += !memcmp(o1, o2, sizeof o1);
    }
    CHECK(same <= 2, "%d of 40 train crops identical across epochs", same);
    ratq_image_free(&img);
    ratq_image_free(&scratch);
    ratq_data_close(ds);
}

int main(void) {
    golden_cases();
    determinism();
    train_and_none();
    if (!g_fail) printf("ok: eval/resize/gray equal Pillow exactly; eval and train are deterministic across workers\n");
    return g_fail;
}
