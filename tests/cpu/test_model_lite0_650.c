// test_model_lite0_650.c — EfficientNet-Lite0 ($RATQ_WEIGHTS) on all 650 images of
// ../shared/data/imagenet_sample: every top-1 prediction must equal the PyTorch reference model's
// (tests/golden/lite0_pred_650.txt, scripts/make_goldens.py; the smallest top-1/top-2 logit gap there is
// ~1e-2, far above the ~1e-5 float differences, so the comparison is exact). Runs the inference mode
// (BN folded into the convs), as `ratq eval` does. Also prints top-1 / top-5.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/test_model_common.h"
#include "data/data.h"
#include "models/efficientnet_lite.h"
#include "common/io.h"

#define N_IMAGES 650

static int read_preds(const char *path, int *pred) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "FAIL: cannot open %s\n", path);
        return -1;
    }
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        if (n >= N_IMAGES || sscanf(line, "%d", &pred[n]) != 1) {
            fprintf(stderr, "FAIL: %s: line '%s' is not a class index (or more than %d lines)\n", path, line, N_IMAGES);
            fclose(f);
            return -1;
        }
        n++;
    }
    fclose(f);
    if (n != N_IMAGES) {
        fprintf(stderr, "FAIL: %s: %d predictions, expected %d\n", path, n, N_IMAGES);
        return -1;
    }
    return 0;
}

int main(void) {
    const char *wpath = tm_env("RATQ_WEIGHTS", "path of the converted EfficientNet-Lite0 weights; create them with "
                                               "python3 scripts/get_weights.py --model efficientnet-lite0 -o FILE");
    char gpath[4096], dpath[4096];
    snprintf(gpath, sizeof gpath, "%s/golden/lite0_pred_650.txt", tm_env("RATQ_TEST_DIR", "run through ctest"));
    snprintf(dpath, sizeof dpath, "%s/imagenet_sample", tm_env("RATQ_SHARED_DATA", "run through ctest"));
    static int ref[N_IMAGES];
    if (read_preds(gpath, ref) != 0) return 1;
    ratq_effnet m;
    if (ratq_effnet_load(&m, wpath) != 0) {
        fprintf(stderr, "FAIL: cannot load %s (create it with: python3 scripts/get_weights.py --model "
                        "efficientnet-lite0 -o %s)\n", wpath, wpath);
        return 1;
    }
    ratq_dataset *ds = ratq_data_open(dpath, NULL);
    if (!ds) return 1;
    if (ratq_data_count(ds) != N_IMAGES) {
        fprintf(stderr, "FAIL: %s has %lld images, expected %d\n", dpath, (long long)ratq_data_count(ds), N_IMAGES);
        return 1;
    }
    const int R = m.cfg.resolution, K = m.cfg.num_classes;
    ratq_loader_config lc = ratq_loader_config_default();
    lc.batch_size = 50;
    lc.num_workers = 1;
    lc.tf = ratq_transform_none(R);
    ratq_loader *ld = ratq_loader_create(ds, &lc);
    if (!ld || ratq_loader_start_epoch(ld, 0) != 0) return 1;
    float *x = malloc((size_t)lc.batch_size * R * R * 3 * sizeof(float));
    int same = 0, top1 = 0, top5 = 0, seen = 0, shown = 0;
    double t0 = ratq_now();
    ratq_batch b;
    int r;
    while ((r = ratq_loader_next(ld, &b)) == 1) {
        ratq_effnet_preprocess_u8(b.images, (size_t)b.n * R * R * 3, x);
        const float *logits = ratq_effnet_forward(&m, x, b.n, RATQ_EFFNET_INFER, 0);
        if (!logits) return 1;
        for (int i = 0; i < b.n; i++) {
            const float *y = logits + (size_t)i * K;
            int best = 0, rank = 0;
            for (int j = 1; j < K; j++)
                if (y[j] > y[best]) best = j;
            for (int j = 0; j < K; j++)
                if (y[j] > y[b.labels[i]] || (y[j] == y[b.labels[i]] && j < b.labels[i])) rank++;
            int64_t k = b.index[i];
            if (best == ref[k])
                same++;
            else if (shown++ < 10)
                fprintf(stderr, "  image %lld: ratq predicts %d, PyTorch %d\n", (long long)k, best, ref[k]);
            top1 += best == b.labels[i];
            top5 += rank < 5;
            seen++;
        }
    }
    double dt = ratq_now() - t0;
    if (r < 0 || seen != N_IMAGES) {
        fprintf(stderr, "FAIL: loader error after %d images\n", seen);
        return 1;
    }
    printf("%s: %d/%d top-1 predictions equal PyTorch's; ratq top-1 %.4f top-5 %.4f (%.1f images/s)\n",
           same == N_IMAGES ? "PASS" : "FAIL", same, N_IMAGES, (double)top1 / seen, (double)top5 / seen, seen / dt);
    free(x);
    ratq_loader_destroy(ld);
    ratq_data_close(ds);
    ratq_effnet_free(&m);
    return same == N_IMAGES ? 0 : 1;
}
