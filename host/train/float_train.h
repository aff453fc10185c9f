// host/train/float_train.h — float training of an EfficientNet-Lite from scratch on a dataset (host/data/data.h), used by
// `ratq run` (stage "float"). The recipe that tests/cpu/test_quant_rat.c validated on Fashion-MNIST:
//   weights He-uniform U(-a, a), a = sqrt(6 / fan_in) (conv: kh*kw*ic, depthwise: kh*kw, fc: in) drawn from a
//   splitmix64 stream seeded by cfg->seed, in tensor order; BN gamma 1, beta 0; BN momentum cfg->bn_momentum;
//   SGD momentum 0.9, weight decay 1e-4 (L2 on every trainable tensor), lr cosine from lr to 0 without warm-up;
//   batch B, drop_last; epoch e visits the first n images in the order ratq_data_epoch_order(n, 1, seed, e).
// Images go through the quantizer's eval transform (host/quant/calib_eval.h ratq_quant_transform: e.g. 28x28 gray ->
// 32x32 RGB), are cached as u8 once, then x = (u8 - 127) / 128 (ratq_effnet_preprocess_u8). No augmentation.
#ifndef RATQ_HOST_TRAIN_FLOAT_H
#define RATQ_HOST_TRAIN_FLOAT_H

#include <stdint.h>

#include "data/data.h"
#include "models/efficientnet_lite.h"

typedef struct {
    const char *arch;   // "tiny" (default)
    int num_classes;    // 10
    int resolution;     // 32
    int64_t images;     // first N training images (0 = all)
    int epochs;         // passes
    int batch;          // 32
    double lr;          // 0.05
    float bn_momentum;  // 0.1 (converges in a few hundred steps)
    uint64_t seed;      // weights and data order
    int progress;       // a progress line on stderr per epoch
} ratq_float_train_config;

ratq_float_train_config ratq_float_train_config_default(void);

typedef struct {
    int64_t steps;
    double last_loss; // mean loss of the last epoch
    double last_acc;  // training accuracy of the last epoch (fraction)
} ratq_float_train_stats;

// Build m (initialised here) and train it on ds. A non-finite loss stops training at that step (error line naming
// the step). Returns 0, or -1 after an error line (m freed).
int ratq_float_train(ratq_effnet *m, const ratq_dataset *ds, const ratq_float_train_config *cfg,
                     ratq_float_train_stats *st);

// The first n images of ds through the quantizer's transform at `resolution` (u8 NHWC [n][res][res][3]) and
// their labels (may be NULL). Returns a malloc'd buffer, or NULL after an error line.
uint8_t *ratq_load_images_u8(const ratq_dataset *ds, int64_t n, int resolution, int32_t *labels);

#endif
