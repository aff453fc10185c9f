// test_data_cifar_decode.c — the JPEG decoder is right: every image of CIFAR-10 test_jpeg.npz decoded by ratq
// (libjpeg-turbo via TurboJPEG) equals test.npz (decoded by Pillow 9.4 + libjpeg-turbo) byte for byte, labels too;
// and the loader (2 workers, "as stored") hands out the same bytes in stored order. Integers compare exactly.
#include "cpu/test_data_util.h"

int main(void) {
    ratq_dataset *jp = ratq_data_open(shared_path("cifar10/test_jpeg.npz"), NULL);
    ratq_dataset *raw = ratq_data_open(shared_path("cifar10/test.npz"), NULL);
    if (!jp || !raw) {
        fprintf(stderr, "FAIL: cannot open the CIFAR-10 files under $RATQ_SHARED_DATA/cifar10\n");
        return 1;
    }
    ratq_data_info ij = ratq_data_get_info(jp), ir = ratq_data_get_info(raw);
    CHECK(ij.count == 10000 && ir.count == 10000, "counts %lld %lld", (long long)ij.count, (long long)ir.count);
    CHECK(ij.kind == RATQ_DATA_NPZ && ir.height == 32 && ir.width == 32 && ir.channels == 3 && ij.channels == 3,
          "info");
    CHECK(ir.num_classes == 10 && ij.num_classes == 10, "num_classes %d %d", ir.num_classes, ij.num_classes);
    ratq_image a = {0}, b = {0};
    int64_t bad_images = 0, bad_px = 0, max_diff = 0;
    for (int64_t i = 0; i < ij.count && i < ir.count; i++) {
        if (ratq_data_read(jp, i, &a) != 0 || ratq_data_read(raw, i, &b) != 0) {
            fprintf(stderr, "FAIL: read %lld\n", (long long)i);
            return 1;
        }
        CHECK(ratq_data_label(jp, i) == ratq_data_label(raw, i), "label %lld", (long long)i);
        if (a.h != 32 || a.w != 32 || a.c != 3) {
            fprintf(stderr, "FAIL: image %lld decoded as %dx%dx%d\n", (long long)i, a.h, a.w, a.c);
            return 1;
        }
        int64_t nb = 0;
        for (int k = 0; k < 32 * 32 * 3; k++) {
            int d = abs((int)a.data[k] - (int)b.data[k]);
            if (d) {
                if (bad_px < 5)
                    fprintf(stderr, "mismatch image %lld byte %d (y %d x %d c %d): ratq %d Pillow %d\n", (long long)i, k,
                            k / 96, k / 3 % 32, k % 3, a.data[k], b.data[k]);
                nb++;
                bad_px++;
                if (d > max_diff) max_diff = d;
            }
        }
        bad_images += nb > 0;
    }
    CHECK(bad_images == 0, "%lld images differ (%lld bytes, max |diff| %lld)", (long long)bad_images,
          (long long)bad_px, (long long)max_diff);
    // Same bytes through the threaded loader, stored order, batch 96 (last batch short: 10000 = 104*96 + 16).
    ratq_loader_config cfg = ratq_loader_config_default();
    cfg.batch_size = 96;
    cfg.num_workers = 2;
    cfg.tf = ratq_transform_none(32); // JPEG sizes are unknown until decoded: name the size
    ratq_loader *ld = ratq_loader_create(jp, &cfg);
    CHECK(ld != NULL, "loader");
    if (ld) {
        CHECK(ratq_loader_num_batches(ld) == 105, "batches %lld", (long long)ratq_loader_num_batches(ld));
        ratq_batch bt;
        int64_t seen = 0, wrong = 0;
        ratq_loader_start_epoch(ld, 0);
        int r;
        while ((r = ratq_loader_next(ld, &bt)) == 1) {
            for (int j = 0; j < bt.n; j++) {
                int64_t i = seen + j;
                ratq_data_read(raw, i, &b);
                wrong += bt.index[j] != i || bt.labels[j] != ratq_data_label(raw, i) ||
                         memcmp(bt.images + (size_t)j * 3072, b.data, 3072) != 0;
            }
            seen += bt.n;
        }
        CHECK(r == 0 && seen == 10000 && wrong == 0, "loader: rc %d, %lld images, %lld wrong", r, (long long)seen,
              (long long)wrong);
        CHECK(bt.n == 0, "end-of-epoch batch must be empty");
        ratq_loader_destroy(ld);
    }
    ratq_image_free(&a);
    ratq_image_free(&b);
    ratq_data_close(jp);
    ratq_data_close(raw);
    if (!g_fail) printf("ok: 10000 CIFAR-10 JPEGs decode exactly to test.npz; loader order and bytes match\n");
    return g_fail;
}
