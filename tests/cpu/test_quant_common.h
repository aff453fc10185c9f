// test_quant_common.h — helpers shared by the quantizer tests: random float models, comparisons against the
// integer engine (ratq_qmodel_run) op by op.
#ifndef RATQ_TEST_QUANT_COMMON_H
#define RATQ_TEST_QUANT_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/efficientnet_lite.h"
#include "qmodel/qmodel.h"
#include "quant/calib_eval.h"
#include "quant/to_qmodel.h"
#include "quant/qnet.h"
#include "test_util.h"

// Path from an environment variable, or exit(1) with a message (a test must never pass vacuously).
static inline const char *tq_env(const char *var, const char *hint) {
    const char *v = getenv(var);
    if (!v || !*v) {
        fprintf(stderr, "FAIL: environment variable %s is not set (%s)\n", var, hint);
        exit(1);
    }
    return v;
}

// Random parameters for a built model: conv/fc weights U(-a, a) with a = sqrt(3/fan_in) * 1.5 (so activations
// neither vanish nor explode), BN gamma U(0.5, 1.5), beta U(-0.3, 0.3), mean U(-0.2, 0.2), var U(0.5, 1.5),
// fc bias U(-0.1, 0.1).
static inline void tq_random_model(ratq_effnet *m, uint64_t seed) {
    uint64_t st = seed;
    for (int l = 0; l < m->n_layers; l++) {
        const ratq_layer *L = &m->layers[l];
        if (L->kind == RATQ_LAYER_CONV || L->kind == RATQ_LAYER_DWCONV || L->kind == RATQ_LAYER_FC) {
            const ratq_tensor_info *t = &m->tensors[L->w_t];
            int fan_in = L->kind == RATQ_LAYER_DWCONV ? L->conv.kh * L->conv.kw
                         : L->kind == RATQ_LAYER_FC ? L->c : L->conv.kh * L->conv.kw * L->conv.ic;
            double a = sqrt(3.0 / fan_in) * 1.5;
            for (size_t j = 0; j < t->count; j++) m->params[t->offset + j] = (float)((2 * ratq_test_unit(&st) - 1) * a);
            if (L->b_t >= 0) {
                const ratq_tensor_info *b = &m->tensors[L->b_t];
                for (size_t j = 0; j < b->count; j++) m->params[b->offset + j] = (float)(0.2 * ratq_test_unit(&st) - 0.1);
            }
        } else if (L->kind == RATQ_LAYER_BN) {
            const int ts[4] = {L->w_t, L->b_t, L->mean_t, L->var_t};
            const double lo[4] = {0.5, -0.3, -0.2, 0.5}, hi[4] = {1.5, 0.3, 0.2, 1.5};
            for (int k = 0; k < 4; k++) {
                const ratq_tensor_info *t = &m->tensors[ts[k]];
                for (size_t j = 0; j < t->count; j++)
                    m->params[t->offset + j] = (float)(lo[k] + (hi[k] - lo[k]) * ratq_test_unit(&st));
            }
        }
    }
}

// n smooth random u8 images [n][res][res][3]: a random color per 4x4 tile (seeded by the image and tile) plus
// uniform noise in [-20, 20] from *noise (closer to natural statistics than iid noise). Caller frees.
static inline uint8_t *tq_smooth_images(int n, int res, uint64_t *noise) {
    uint8_t *img = malloc((size_t)n * res * res * 3);
    for (int i = 0; i < n && img; i++)
        for (int y = 0; y < res; y++)
            for (int x = 0; x < res; x++)
                for (int c = 0; c < 3; c++) {
                    uint64_t s2 = (uint64_t)(i * 1000 + (y / 4) * 31 + (x / 4)) * 3 + c;
                    int v = (int)(ratq_test_rng(&s2) % 256) + (int)ratq_test_range(noise, -20, 20);
                    img[(((size_t)i * res + y) * res + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
                }
    return img;
}

// The tiny network with random parameters (tq_random_model, seed 12345), BN folded, calibrated on n_cal smooth random
// images (tq_smooth_images, noise seed 777); *test gets the n images that follow them (caller frees). Returns 0, or
// -1 after failed checks.
static inline int tq_tiny_calibrated(ratq_effnet *m, ratq_qnet *q, int n_cal, int n, uint8_t **test) {
    ratq_effnet_config cfg;
    CHECK_MSG(ratq_effnet_config_from_name("tiny", 0, 0, &cfg) == 0, "config");
    CHECK_MSG(ratq_effnet_build(m, &cfg) == 0, "build");
    if (ratq_test_failures) return -1;
    tq_random_model(m, 12345);
    CHECK_MSG(ratq_qnet_from_effnet(q, m) == 0, "from_effnet");
    if (ratq_test_failures) return -1;
    uint64_t st = 777;
    uint8_t *img = tq_smooth_images(n_cal + n, cfg.resolution, &st);
    ratq_qnet_observe_reset(q);
    CHECK_MSG(ratq_qnet_float_forward(q, img, n_cal, 1) != NULL, "calibration forward");
    CHECK_MSG(ratq_qnet_observe_finish(q) == 0, "calibration");
    const size_t per = (size_t)cfg.resolution * cfg.resolution * 3;
    *test = malloc(per * (size_t)n);
    memcpy(*test, img + per * (size_t)n_cal, per * (size_t)n);
    free(img);
    return ratq_test_failures ? -1 : 0;
}

// EfficientNet-Lite0 from $RATQ_WEIGHTS, BN folded, calibrated on the first 32 images of the data set dpath
// (batches of 8; e.g. imagenet_sample, or Fashion-MNIST upscaled to 224 and gray replicated to RGB); *test gets its
// first n images at 224 x 224 (caller frees). Returns 0, or -1 after failed checks (missing weights or data fail
// loudly: no vacuous pass).
static inline int tq_lite0_calibrated(ratq_effnet *m, ratq_qnet *q, int n, uint8_t **test, const char *dpath) {
    const char *wpath = tq_env("RATQ_WEIGHTS", "EfficientNet-Lite0 .ratqw from scripts/get_weights.py");
    if (ratq_effnet_load(m, wpath) != 0) {
        fprintf(stderr, "FAIL: cannot load %s (create it with scripts/get_weights.py)\n", wpath);
        return -1;
    }
    ratq_dataset *ds = ratq_data_open(dpath, NULL);
    CHECK_MSG(ds != NULL, "open %s", dpath);
    if (!ds) return -1;
    CHECK_MSG(ratq_qnet_from_effnet(q, m) == 0, "from_effnet");
    if (ratq_test_failures) return -1;
    CHECK_MSG(ratq_quant_calibrate(q, ds, 32, 8, 0) == 0, "calibrate");
    ratq_loader_config lc = ratq_loader_config_default();
    lc.batch_size = n;
    lc.tf = ratq_quant_transform(ds, q->resolution);
    ratq_loader *ld = ratq_loader_create(ds, &lc);
    ratq_batch b;
    CHECK_MSG(ld && ratq_loader_start_epoch(ld, 0) == 0 && ratq_loader_next(ld, &b) == 1 && b.n == n, "load %d images", n);
    if (!ratq_test_failures) {
        const size_t bytes = (size_t)n * b.h * b.w * b.c;
        *test = malloc(bytes);
        memcpy(*test, b.images, bytes);
    }
    if (ld) ratq_loader_destroy(ld);
    ratq_data_close(ds);
    return ratq_test_failures ? -1 : 0;
}

// A student and a teacher for RAT tests: the tiny network (10 classes, 32x32) with random parameters
// (tq_random_model, seed 2024), BN folded into both; the student calibrated on cal (64 u8 images). Exits on error.
static inline void tq_rat_pair(ratq_qnet *q, ratq_qnet *teacher, const uint8_t *cal) {
    ratq_effnet_config cfg;
    ratq_effnet m;
    if (ratq_effnet_config_from_name("tiny", 10, 32, &cfg) != 0 || ratq_effnet_build(&m, &cfg) != 0) exit(1);
    tq_random_model(&m, 2024);
    if (ratq_qnet_from_effnet(q, &m) != 0 || ratq_qnet_from_effnet(teacher, &m) != 0) exit(1);
    ratq_effnet_free(&m);
    ratq_qnet_observe_reset(q);
    if (!ratq_qnet_float_forward(q, cal, 64, 1) || ratq_qnet_observe_finish(q) != 0) exit(1);
}

// Run q's fake-quant forward and the integer engine (through the exported model) on the same n images and
// compare every op's int8 output byte for byte. Returns the number of differing bytes (also reported as
// failed checks with the first mismatch per op).
static inline long tq_compare_with_engine(ratq_qnet *q, const uint8_t *img, int n, const char *what) {
    ratq_qmodel im;
    CHECK_MSG(ratq_qnet_to_qmodel(q, &im) == 0, "%s: export", what);
    if (ratq_test_failures) return 1;
    const int8_t *fq = ratq_qnet_forward(q, img, n);
    CHECK_MSG(fq != NULL, "%s: fake-quant forward", what);
    int8_t **acts = calloc((size_t)im.n_ops, sizeof *acts);
    size_t per = (size_t)im.in_h * im.in_w * im.in_c;
    int8_t *in = malloc(per * n);
    for (int i = 0; i < im.n_ops; i++) acts[i] = malloc((size_t)ratq_qop_out_count(&im.ops[i]) * n);
    ratq_qmodel_input_from_u8(&im, img, (int64_t)per * n, in);
    CHECK_MSG(memcmp(in, q->qin, per * n) == 0, "%s: network input quantization differs", what);
    CHECK_MSG(ratq_qmodel_run(&im, in, n, acts, NULL, NULL) == 0, "%s: ratq_qmodel_run", what);
    long bad_total = 0;
    for (int i = 0; i < im.n_ops && fq; i++) {
        size_t cnt = (size_t)ratq_qop_out_count(&im.ops[i]) * n;
        long bad = 0;
        size_t first = 0;
        for (size_t j = 0; j < cnt; j++)
            if (acts[i][j] != q->q[i][j] && bad++ == 0) first = j;
        CHECK_MSG(bad == 0, "%s: op %d (%s, %s): %ld of %zu int8 outputs differ; first at %zu: fake-quant %d, engine %d",
                  what, i, q->ops[i].name, ratq_qnop_kind_name(q->ops[i].kind), bad, cnt, first, q->q[i][first],
                  acts[i][first]);
        bad_total += bad;
    }
    for (int i = 0; i < im.n_ops; i++) free(acts[i]);
    free(acts);
    free(in);
    ratq_qmodel_free(&im);
    return bad_total;
}

#endif
