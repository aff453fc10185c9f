// test_quant_exact.c — the fake-quant forward (host/quant/fake.c) equals the integer engine (host/qmodel/qmodel.h
// ratq_qmodel_run over kernels/cpu/int_ops.h) bit for bit: every int8 output of every op, for k in {31, 8, 4, 2},
// both rounding modes (single, tflite), with and without scale snapping.
//   test_quant_exact tiny   : the tiny EfficientNet with random weights and BN statistics, random images
//                             (calibrated on 24 other random images, so some activations clamp).
//   test_quant_exact lite0  : EfficientNet-Lite0 (RATQ_WEIGHTS) on 8 real Fashion-MNIST test images (Debian
//                             dataset-fashion-mnist, upscaled to 224, gray to RGB), calibrated on 32 of them
//                             (data every user has; the GPU twin, tests/gpu/test_quant_cuda.c, uses imagenet_sample).
// Also checks the comparison is not vacuous: logits must differ between images and the model must not be all
// clamped.
#include <string.h>

#include "quant/calib_eval.h"
#include "test_quant_common.h"

static void run_configs(ratq_qnet *q, const uint8_t *img, int n, int snap_too) {
    const int ks[4] = {31, 8, 4, 2};
    const ratq_rounding rm[2] = {RATQ_ROUND_SINGLE, RATQ_ROUND_TFLITE};
    for (int ki = 0; ki < 4; ki++)
        for (int r = 0; r < 2; r++)
            for (int snap = 0; snap <= snap_too; snap++) {
                ratq_quant_options opt = {.k = ks[ki], .rounding = rm[r], .snap = snap};
                char what[64];
                snprintf(what, sizeof what, "k=%d %s%s", opt.k, r ? "tflite" : "single", snap ? " snap" : "");
                CHECK_MSG(ratq_qnet_quantize(q, &opt) == 0, "%s: quantize", what);
                long bad = tq_compare_with_engine(q, img, n, what);
                // not vacuous: the logits of different images differ, and some op output is not at its clamp
                const ratq_qnop *fc = &q->ops[q->n_ops - 1];
                int differ = 0;
                for (int i = 1; i < n && !differ; i++)
                    differ = memcmp(q->q[q->n_ops - 1], q->q[q->n_ops - 1] + (size_t)i * fc->oc, (size_t)fc->oc) != 0;
                CHECK_MSG(differ, "%s: all images give the same logits (vacuous comparison)", what);
                long inside = 0, total = 0;
                for (int o = 0; o < q->n_ops; o++) {
                    size_t cnt = (size_t)q->ops[o].oh * q->ops[o].ow * q->ops[o].oc * n;
                    for (size_t j = 0; j < cnt; j++) inside += q->mask[o][j];
                    total += (long)cnt;
                }
                CHECK_MSG(inside > total / 2, "%s: only %ld of %ld outputs inside their clamp", what, inside, total);
                printf("%-18s %s: %ld mismatching bytes over %d ops; %.1f%% of outputs inside the clamp\n", what,
                       bad ? "FAIL" : "ok", bad, q->n_ops, 100.0 * inside / total);
            }
}

static int test_tiny(void) {
    ratq_effnet m = {0};
    ratq_qnet q = {0};
    uint8_t *img = NULL;
    const int n = 8;
    if (tq_tiny_calibrated(&m, &q, 24, n, &img) == 0) run_configs(&q, img, n, 1); // test_quant_common.h
    free(img);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_quant_exact tiny");
}

static int test_lite0(void) {
    ratq_effnet m = {0};
    ratq_qnet q = {0};
    uint8_t *img = NULL;
    const int n = 8; // the first 8 Fashion-MNIST test images at 224 x 224 (Debian dataset-fashion-mnist)
    char dpath[4096];
    const char *fm = getenv("RATQ_FASHION_MNIST");
    snprintf(dpath, sizeof dpath, "%s/t10k", fm && *fm ? fm : "/usr/share/datasets/fashion-mnist");
    if (tq_lite0_calibrated(&m, &q, n, &img, dpath) == 0) run_configs(&q, img, n, 0); // test_quant_common.h
    free(img);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_quant_exact lite0");
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "lite0")) return test_lite0();
    return test_tiny();
}
