// test_quant_fmnist.h — a small real-data setup for the RAT tests: Fashion-MNIST (Debian dataset-fashion-mnist,
// /usr/share/datasets/fashion-mnist, override with RATQ_FASHION_MNIST) upscaled to 32x32 RGB, and the tiny
// EfficientNet trained briefly in float (BN momentum 0.1 so the running statistics converge in a few steps).
#ifndef RATQ_TEST_QUANT_FMNIST_H
#define RATQ_TEST_QUANT_FMNIST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "models/efficientnet_lite.h"
#include "quant/calib_eval.h"

static inline const char *tf_dir(void) {
    const char *d = getenv("RATQ_FASHION_MNIST");
    return d && *d ? d : "/usr/share/datasets/fashion-mnist";
}

// Open "<dir>/<split>" or exit(1) (no vacuous pass without the data).
static inline ratq_dataset *tf_open(const char *split) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tf_dir(), split);
    ratq_dataset *ds = ratq_data_open(path, NULL);
    if (!ds) {
        fprintf(stderr, "FAIL: Fashion-MNIST %s not found (install the Debian package dataset-fashion-mnist or set "
                        "RATQ_FASHION_MNIST)\n", path);
        exit(1);
    }
    return ds;
}

// First n images as 32x32x3 uint8 (the quantizer's transform) and their labels.
static inline uint8_t *tf_images(const ratq_dataset *ds, int n, int32_t *labels) {
    ratq_transform tf = ratq_quant_transform(ds, 32);
    uint8_t *out = malloc((size_t)n * 32 * 32 * 3);
    ratq_image img = {0}, scratch = {0};
    for (int i = 0; i < n; i++) {
        if (ratq_data_read(ds, i, &img) != 0 ||
            ratq_transform_apply(&tf, &img, 0, 0, i, out + (size_t)i * 32 * 32 * 3, &scratch) != 0) {
            fprintf(stderr, "FAIL: decoding Fashion-MNIST image %d\n", i);
            exit(1);
        }
        labels[i] = (int32_t)ratq_data_label(ds, i);
    }
    ratq_image_free(&img);
    ratq_image_free(&scratch);
    return out;
}

// Train the tiny network in float: SGD momentum 0.9, lr 0.05 cosine, batch 32, `epochs` passes over n images
// in a fixed shuffled order, weights He-uniform from a fixed seed. Returns 0 or exits.
static inline void tf_train_float(ratq_effnet *m, const uint8_t *img, const int32_t *labels, int n, int epochs) {
    ratq_effnet_config cfg;
    if (ratq_effnet_config_from_name("tiny", 10, 32, &cfg) != 0) exit(1);
    cfg.bn_momentum = 0.1f;
    if (ratq_effnet_build(m, &cfg) != 0) exit(1);
    uint64_t st = 4242;
    for (int l = 0; l < m->n_layers; l++) {
        const ratq_layer *L = &m->layers[l];
        if (L->kind != RATQ_LAYER_CONV && L->kind != RATQ_LAYER_DWCONV && L->kind != RATQ_LAYER_FC) continue;
        const ratq_tensor_info *t = &m->tensors[L->w_t];
        int fan_in = L->kind == RATQ_LAYER_DWCONV ? L->conv.kh * L->conv.kw
                     : L->kind == RATQ_LAYER_FC ? L->c : L->conv.kh * L->conv.kw * L->conv.ic;
        double a = sqrt(6.0 / fan_in);
        for (size_t j = 0; j < t->count; j++) m->params[t->offset + j] = (float)((2 * ratq_test_unit(&st) - 1) * a);
    }
    const int B = 32, steps = n / B * epochs;
    const size_t per = 32 * 32 * 3;
    float *x = malloc(per * B * sizeof(float)), *dl = malloc((size_t)B * 10 * sizeof(float));
    float *mom = calloc(m->n_floats, sizeof(float));
    int32_t *lb = malloc(B * sizeof(int32_t));
    int64_t *order = malloc((size_t)n * sizeof(int64_t));
    ratq_lr_schedule sch = {.base_lr = 0.05, .final_lr = 0.0, .warmup_steps = 0, .total_steps = steps};
    for (int t = 0; t < steps; t++) {
        int e = t / (n / B), b = t % (n / B);
        if (b == 0) ratq_data_epoch_order(n, 1, 99, e, 0, 1, order);
        for (int j = 0; j < B; j++) {
            int64_t i = order[b * B + j];
            ratq_effnet_preprocess_u8(img + (size_t)i * per, per, x + per * j);
            lb[j] = labels[i];
        }
        const float *lg = ratq_effnet_forward(m, x, B, 1, (uint64_t)t);
        ratq_xent_params xp = {.n = B, .classes = 10, .label_smoothing = 0};
        ratq_softmax_xent_cpu(&xp, lg, lb, dl);
        if (!lg || ratq_effnet_backward(m, dl) != 0) exit(1);
        ratq_sgd_params sp = {.lr = (float)ratq_lr_at(&sch, t), .momentum = 0.9f, .weight_decay = 1e-4f, .step = t};
        for (int k = 0; k < m->n_tensors; k++) {
            const ratq_tensor_info *ti = &m->tensors[k];
            if (ti->trainable)
                ratq_sgd_step_cpu(&sp, ti->count, m->params + ti->offset, m->grads + ti->offset, mom + ti->offset);
        }
    }
    free(x);
    free(dl);
    free(mom);
    free(lb);
    free(order);
}

#endif
