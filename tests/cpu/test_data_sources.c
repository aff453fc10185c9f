// test_data_sources.c — every source form reads the same images: raw and JPEG shards (written here per the
// format in data.h, not by pack_dataset.py, so no Python is needed), a folder of shards, a JPEG folder tree
// (sorted class folders, and a classes file), the imagenet_sample .npz folder, and Fashion-MNIST IDX files.
// 20 images per class of CIFAR-10 test are used: JPEG bytes from test_jpeg.npz, pixels from test.npz (the
// decoder test proves they agree). Integers compare exactly.
#include "cpu/test_data_util.h"
#include "data/internal.h"

enum { PER_CLASS = 20, NCLS = 10, N = PER_CLASS * NCLS, PIX = 32 * 32 * 3 };

static void expect_same(const char *what, ratq_dataset *ds, const uint8_t *pixels, const int64_t *labels,
                        const int64_t *want_label_map) {
    ratq_image img = {0};
    CHECK(ds && ratq_data_count(ds) == N, "%s: count", what);
    if (!ds || ratq_data_count(ds) != N) return;
    int bad = 0;
    for (int i = 0; i < N; i++) {
        if (ratq_data_read(ds, i, &img) != 0 || img.h != 32 || img.w != 32 || img.c != 3 ||
            memcmp(img.data, pixels + (size_t)i * PIX, PIX) != 0) {
            if (bad++ < 3) fprintf(stderr, "  %s: image %d differs\n", what, i);
        }
        int64_t want = want_label_map ? want_label_map[labels[i]] : labels[i];
        if (ratq_data_label(ds, i) != want && bad++ < 3)
            fprintf(stderr, "  %s: label %d is %lld, expected %lld\n", what, i, (long long)ratq_data_label(ds, i),
                    (long long)want);
    }
    CHECK(bad == 0, "%s: %d images/labels differ", what, bad);
    ratq_image_free(&img);
}

int main(void) {
    char *dir = make_tmpdir();
    char path[4096];
    const char *jpath = shared_path("cifar10/test_jpeg.npz");
    ratq_dataset *raw = ratq_data_open(shared_path("cifar10/test.npz"), NULL);
    data_map zm;
    data_npy jb, jo;
    if (!raw || data_map_open(&zm, jpath) != 0 || data_npz_load(&zm, jpath, "jpeg_bytes", &jb) != 1 ||
        data_npz_load(&zm, jpath, "offsets", &jo) != 1) {
        fprintf(stderr, "FAIL: cannot read CIFAR-10 from $RATQ_SHARED_DATA\n");
        return 1;
    }
    const int64_t *joff = (const int64_t *)(const void *)jo.data; // x86-64/aarch64 tolerate unaligned loads
    int64_t pick[N], labels[N], offsets[N + 1];
    uint8_t *pixels = malloc((size_t)N * PIX), *jbytes = malloc(jb.nbytes);
    ratq_image img = {0};
    offsets[0] = 0;
    for (int k = 0; k < NCLS; k++) // CIFAR test is grouped by class: class k = indices 1000k .. 1000k+999
        for (int j = 0; j < PER_CLASS; j++) {
            int i = k * PER_CLASS + j;
            pick[i] = 1000 * k + 37 * j;
            labels[i] = ratq_data_label(raw, pick[i]);
            CHECK(labels[i] == k, "cifar label of %lld is %lld", (long long)pick[i], (long long)labels[i]);
            ratq_data_read(raw, pick[i], &img);
            memcpy(pixels + (size_t)i * PIX, img.data, PIX);
            int64_t o0, o1;
            memcpy(&o0, joff + pick[i], 8);
            memcpy(&o1, joff + pick[i] + 1, 8);
            memcpy(jbytes + offsets[i], jb.data + o0, (size_t)(o1 - o0));
            offsets[i + 1] = offsets[i] + (o1 - o0);
        }
    // ---- raw shards: two halves in a folder, read as one dataset ----
    size_t sz;
    uint8_t *sh = build_shard(&sz, RATQ_SHARD_RAW, N / 2, 32, 32, 3, NCLS, labels, NULL, pixels, (size_t)N / 2 * PIX);
    snprintf(path, sizeof path, "%s/shards", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/shards/part0%s", dir, RATQ_SHARD_EXT);
    CHECK(write_bytes(path, sh, sz) == 0, "write");
    free(sh);
    sh = build_shard(&sz, RATQ_SHARD_RAW, N / 2, 32, 32, 3, NCLS, labels + N / 2, NULL, pixels + (size_t)N / 2 * PIX,
                     (size_t)N / 2 * PIX);
    snprintf(path, sizeof path, "%s/shards/part1%s", dir, RATQ_SHARD_EXT);
    CHECK(write_bytes(path, sh, sz) == 0, "write");
    free(sh);
    snprintf(path, sizeof path, "%s/shards", dir);
    ratq_dataset *ds = ratq_data_open(path, NULL);
    if (ds) {
        ratq_data_info in = ratq_data_get_info(ds);
        CHECK(in.kind == RATQ_DATA_SHARD && in.num_classes == NCLS && in.height == 32 && in.width == 32 &&
                  in.channels == 3, "shard folder info");
    }
    expect_same("raw shard folder", ds, pixels, labels, NULL);
    ratq_data_close(ds);
    // ---- JPEG shard (one file, variable-size encoding with the offset table) ----
    sh = build_shard(&sz, RATQ_SHARD_JPEG, N, 0, 0, 3, NCLS, labels, offsets, jbytes, (uint64_t)offsets[N]);
    snprintf(path, sizeof path, "%s/jpeg%s", dir, RATQ_SHARD_EXT);
    CHECK(write_bytes(path, sh, sz) == 0, "write");
    free(sh);
    ds = ratq_data_open(path, NULL);
    CHECK(ds && ratq_data_get_info(ds).height == 0, "jpeg shard info");
    expect_same("jpeg shard", ds, pixels, labels, NULL);
    ratq_data_close(ds);
    // ---- JPEG tree: <dir>/tree/c<k>/<j>.JPEG (upper-case extension as ImageNet), plus a stray non-JPEG file ----
    const char *wn[NCLS] = {"n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09", "n10"};
    snprintf(path, sizeof path, "%s/tree", dir);
    mkdir(path, 0755);
    for (int k = 0; k < NCLS; k++) {
        snprintf(path, sizeof path, "%s/tree/%s", dir, wn[k]);
        mkdir(path, 0755);
        for (int j = 0; j < PER_CLASS; j++) {
            int i = k * PER_CLASS + j;
            snprintf(path, sizeof path, "%s/tree/%s/img_%03d.JPEG", dir, wn[k], j);
            CHECK(write_bytes(path, jbytes + offsets[i], (size_t)(offsets[i + 1] - offsets[i])) == 0, "write");
        }
    }
    snprintf(path, sizeof path, "%s/tree/n01/readme.txt", dir);
    write_bytes(path, "not an image", 12);
    snprintf(path, sizeof path, "%s/tree", dir);
    ds = ratq_data_open(path, NULL);
    CHECK(ds && ratq_data_get_info(ds).kind == RATQ_DATA_JPEG_DIR && ratq_data_get_info(ds).num_classes == NCLS,
          "jpeg tree info");
    expect_same("jpeg tree", ds, pixels, labels, NULL);
    ratq_data_close(ds);
    // classes file in reverse order (plus an unused class): label of folder n0k = 10 - k.
    char cls[4096];
    snprintf(cls, sizeof cls, "%s/synsets.txt", dir);
    FILE *f = fopen(cls, "w");
    fprintf(f, "n00 unused class\n");
    for (int k = NCLS - 1; k >= 0; k--) fprintf(f, "%s class %d\n", wn[k], k);
    fclose(f);
    ratq_data_options opt = {cls};
    int64_t remap[NCLS];
    for (int k = 0; k < NCLS; k++) remap[k] = NCLS - k;
    ds = ratq_data_open(path, &opt);
    CHECK(ds && ratq_data_get_info(ds).num_classes == NCLS + 1, "classes file num_classes");
    expect_same("jpeg tree + classes file", ds, pixels, labels, remap);
    ratq_data_close(ds);
    // ---- imagenet_sample: folder of two .npz, 650 images 224x224x3, labels in 0..999 ----
    ds = ratq_data_open(shared_path("imagenet_sample"), NULL);
    CHECK(ds != NULL, "imagenet_sample folder");
    if (ds) {
        ratq_data_info in = ratq_data_get_info(ds);
        CHECK(in.kind == RATQ_DATA_NPZ && in.count == 650 && in.height == 224 && in.width == 224 && in.channels == 3 &&
                  in.min_label >= 0 && in.max_label <= 999,
              "imagenet_sample info: count %lld %dx%dx%d labels %lld..%lld", (long long)in.count, in.height, in.width,
              in.channels, (long long)in.min_label, (long long)in.max_label);
        ratq_dataset *p1 = ratq_data_open(shared_path("imagenet_sample/val_part1.npz"), NULL);
        ratq_image a = {0};
        CHECK(p1 && ratq_data_read(ds, 325 + 17, &img) == 0 && ratq_data_read(p1, 17, &a) == 0 &&
                  !memcmp(img.data, a.data, 224 * 224 * 3) && ratq_data_label(ds, 342) == ratq_data_label(p1, 17),
              "folder index 342 is val_part1.npz[17]");
        ratq_image_free(&a);
        ratq_data_close(p1);
        ratq_data_close(ds);
    }
    // ---- Fashion-MNIST IDX: prefix and explicit file name; counts per class ----
    const char *fm[2] = {"/usr/share/datasets/fashion-mnist/t10k", "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"};
    const int64_t fm_n[2] = {10000, 60000};
    for (int s = 0; s < 2; s++) {
        ds = ratq_data_open(fm[s], NULL);
        if (!ds) {
            fprintf(stderr, "FAIL: Fashion-MNIST missing (apt-get install dataset-fashion-mnist)\n");
            return 1;
        }
        ratq_data_info in = ratq_data_get_info(ds);
        CHECK(in.kind == RATQ_DATA_IDX && in.count == fm_n[s] && in.height == 28 && in.width == 28 && in.channels == 1 &&
                  in.num_classes == 10,
              "fashion-mnist info %s", fm[s]);
        int64_t per[10] = {0};
        for (int64_t i = 0; i < in.count; i++) per[ratq_data_label(ds, i)]++;
        for (int k = 0; k < 10; k++) CHECK(per[k] == fm_n[s] / 10, "fashion-mnist class %d has %lld", k, (long long)per[k]);
        CHECK(ratq_data_read(ds, 0, &img) == 0 && img.h == 28 && img.c == 1, "read");
        // 3-channel output replicates the gray value.
        ratq_transform tf = ratq_transform_none(28);
        tf.out_channels = 3;
        uint8_t rgb[28 * 28 * 3];
        ratq_image scratch = {0};
        CHECK(ratq_transform_apply(&tf, &img, 0, 0, 0, rgb, &scratch) == 0, "gray->rgb");
        int rep = 1;
        for (int q = 0; q < 28 * 28; q++) rep &= rgb[3 * q] == img.data[q] && rgb[3 * q + 1] == img.data[q] && rgb[3 * q + 2] == img.data[q];
        CHECK(rep, "gray -> 3 channels does not replicate");
        ratq_image_free(&scratch);
        ratq_data_close(ds);
    }
    free(pixels);
    free(jbytes);
    data_npy_free(&jb);
    data_npy_free(&jo);
    data_map_close(&zm);
    ratq_image_free(&img);
    ratq_data_close(raw);
    rm_tree(dir);
    if (!g_fail) printf("ok: shards (raw, jpeg, folder), JPEG tree (+classes file), npz folder and IDX agree\n");
    return g_fail;
}
