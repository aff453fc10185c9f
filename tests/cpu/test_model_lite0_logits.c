// test_model_lite0_logits.c — EfficientNet-Lite0 with the converted pretrained weights ($RATQ_WEIGHTS, from
// scripts/get_weights.py) on 4 real images of ../shared/data/imagenet_sample: the logits must equal the PyTorch
// reference model's (tests/golden/lite0_logits.ratqw, scripts/make_goldens.py).
//
// Both forward modes are checked: RATQ_EFFNET_EVAL and RATQ_EFFNET_INFER (BN folded into the convs).
// Tolerance: relative error <= 1e-4 per image, |d_j| <= 1e-4 * max_j |ref_j| for every logit j (the issue's
// bound; float32 with different summation orders over ~60 layers gives ~1e-6). A padding on the wrong side,
// a wrong layout or a wrong preprocessing gives errors of 1e-2 and more.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/test_model_common.h"
#include "data/data.h"
#include "models/efficientnet_lite.h"
#include "models/weights.h"

int main(void) {
    const char *wpath = tm_env("RATQ_WEIGHTS", "path of the converted EfficientNet-Lite0 weights; create them with "
                                               "python3 scripts/get_weights.py --model efficientnet-lite0 -o FILE");
    char gpath[4096], dpath[4096];
    snprintf(gpath, sizeof gpath, "%s/golden/lite0_logits.ratqw", tm_env("RATQ_TEST_DIR", "run through ctest"));
    snprintf(dpath, sizeof dpath, "%s/imagenet_sample", tm_env("RATQ_SHARED_DATA", "run through ctest"));

    ratq_effnet m;
    if (ratq_effnet_load(&m, wpath) != 0) {
        fprintf(stderr, "FAIL: cannot load %s (create it with: python3 scripts/get_weights.py --model "
                        "efficientnet-lite0 -o %s)\n", wpath, wpath);
        return 1;
    }
    ratq_weights_file g;
    if (ratq_weights_read(gpath, &g) != 0) return 1;
    const ratq_weights_tensor *idx = ratq_weights_find(&g, "index"), *ref = ratq_weights_find(&g, "logits");
    if (!idx || !ref || ref->ndim != 2 || ref->shape[1] != m.cfg.num_classes || ref->shape[0] != idx->shape[0]) {
        fprintf(stderr, "FAIL: %s: tensors index/logits missing or mis-shaped\n", gpath);
        return 1;
    }
    ratq_dataset *ds = ratq_data_open(dpath, NULL);
    if (!ds) {
        fprintf(stderr, "FAIL: cannot open %s\n", dpath);
        return 1;
    }
    const int n = idx->shape[0], R = m.cfg.resolution, K = m.cfg.num_classes;
    float *x = malloc((size_t)n * R * R * 3 * sizeof(float));
    ratq_image img = {0};
    for (int i = 0; i < n; i++) {
        int64_t k = (int64_t)idx->data[i];
        if (ratq_data_read(ds, k, &img) != 0) return 1;
        if (img.h != R || img.w != R || img.c != 3) {
            fprintf(stderr, "FAIL: image %lld is %dx%dx%d, expected %dx%dx3\n", (long long)k, img.h, img.w, img.c, R, R);
            return 1;
        }
        ratq_effnet_preprocess_u8(img.data, (size_t)R * R * 3, x + (size_t)i * R * R * 3);
    }
    int ok = 1;
    // both forward modes: EVAL (BN as its own layer, the reference's structure) and INFER (BN folded into the
    // conv, what `ratq eval` runs)
    for (int mode = RATQ_EFFNET_EVAL; mode <= RATQ_EFFNET_INFER; mode += RATQ_EFFNET_INFER - RATQ_EFFNET_EVAL) {
        const char *mname = mode == RATQ_EFFNET_EVAL ? "eval" : "infer";
        const float *logits = ratq_effnet_forward(&m, x, n, mode, 0);
        if (!logits) return 1;
        for (int i = 0; i < n; i++) {
            const float *r = ref->data + (size_t)i * K, *y = logits + (size_t)i * K;
            double num = 0, den = 0;
            for (int j = 0; j < K; j++) {
                num += ((double)y[j] - r[j]) * ((double)y[j] - r[j]);
                den += (double)r[j] * r[j];
            }
            char what[64];
            snprintf(what, sizeof what, "%s logits[image %lld]", mname, (long long)idx->data[i]);
            ok &= tm_close(what, y, r, (size_t)K, 1e-4 * tm_max_abs(r, (size_t)K), 0, 1);
            double rel = den > 0 ? sqrt(num / den) : 0;
            printf("     %s image %lld: relative L2 error %.3g\n", mname, (long long)idx->data[i], rel);
            if (!(rel <= 1e-4)) ok = 0;
        }
    }
    printf("%s\n", ok ? "PASS" : "FAIL");
    ratq_image_free(&img);
    free(x);
    ratq_data_close(ds);
    ratq_weights_free(&g);
    ratq_effnet_free(&m);
    return ok ? 0 : 1;
}
