// host/train/float_train.c — float training from scratch (recipe in host/train/float_train.h).
#include "train/float_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/float_ops.h"
#include "common/io.h"
#include "math/splitmix64.h"
#include "quant/calib_eval.h"

ratq_float_train_config ratq_float_train_config_default(void) {
    ratq_float_train_config c = {.arch = "tiny", .num_classes = 10, .resolution = 32, .images = 0, .epochs = 6,
                                 .batch = 32, .lr = 0.05, .bn_momentum = 0.1f, .seed = 4242, .progress = 0};
    return c;
}

uint8_t *ratq_load_images_u8(const ratq_dataset *ds, int64_t n, int resolution, int32_t *labels) {
    ratq_transform tf = ratq_quant_transform(ds, resolution);
    const size_t per = (size_t)resolution * resolution * 3;
    uint8_t *out = malloc((size_t)n * per);
    if (!out) {
        ratq_error("out of memory for %lld images", (long long)n);
        return NULL;
    }
    ratq_image img = {0}, scratch = {0};
    for (int64_t i = 0; i < n; i++) {
        if (ratq_data_read(ds, i, &img) != 0 ||
            ratq_transform_apply(&tf, &img, 0, 0, i, out + (size_t)i * per, &scratch) != 0) {
            ratq_image_free(&img);
            ratq_image_free(&scratch);
            free(out);
            return NULL;
        }
        if (labels) labels[i] = (int32_t)ratq_data_label(ds, i);
    }
    ratq_image_free(&img);
    ratq_image_free(&scratch);
    return out;
}

int ratq_float_train(ratq_effnet *m, const ratq_dataset *ds, const ratq_float_train_config *c,
                     ratq_float_train_stats *st) {
    memset(st, 0, sizeof *st);
    int64_t n = ratq_data_count(ds);
    if (c->images > 0 && c->images < n) n = c->images;
    const int B = c->batch;
    if (B < 1 || c->epochs < 1 || n < B) {
        ratq_error("train: need at least one batch (%d images) and one epoch (have %lld images, %d epochs)", B,
                   (long long)n, c->epochs);
        return -1;
    }
    ratq_effnet_config cfg;
    if (ratq_effnet_config_from_name(c->arch, c->num_classes, c->resolution, &cfg) != 0) return -1;
    cfg.bn_momentum = c->bn_momentum;
    if (ratq_effnet_build(m, &cfg) != 0) return -1;
    const int res = m->cfg.resolution, classes = m->cfg.num_classes;
    uint64_t rs = c->seed;
    for (int l = 0; l < m->n_layers; l++) { // He-uniform init of conv / depthwise / fc weights
        const ratq_layer *L = &m->layers[l];
        if (L->kind != RATQ_LAYER_CONV && L->kind != RATQ_LAYER_DWCONV && L->kind != RATQ_LAYER_FC) continue;
        const ratq_tensor_info *t = &m->tensors[L->w_t];
        int fan_in = L->kind == RATQ_LAYER_DWCONV ? L->conv.kh * L->conv.kw
                     : L->kind == RATQ_LAYER_FC   ? L->c
                                                  : L->conv.kh * L->conv.kw * L->conv.ic;
        double a = sqrt(6.0 / fan_in);
        for (size_t j = 0; j < t->count; j++) {
            double u = (double)(ratq_splitmix64_next(&rs) >> 11) * 0x1.0p-53;
            m->params[t->offset + j] = (float)((2 * u - 1) * a);
        }
    }
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    uint8_t *img = labels ? ratq_load_images_u8(ds, n, res, labels) : NULL;
    const size_t per = (size_t)res * res * 3;
    const int64_t bpe = n / B, steps = bpe * c->epochs;
    float *x = malloc(per * B * sizeof(float)), *dl = malloc((size_t)B * classes * sizeof(float));
    float *mom = calloc(m->n_floats, sizeof(float));
    int32_t *lb = malloc((size_t)B * sizeof *lb);
    int64_t *order = malloc((size_t)n * sizeof *order);
    int rc = 0;
    if (!img || !x || !dl || !mom || !lb || !order) {
        if (img) ratq_error("train: out of memory");
        rc = -1;
    }
    ratq_lr_schedule sch = {.base_lr = c->lr, .final_lr = 0.0, .warmup_steps = 0, .total_steps = steps};
    double loss_sum = 0, t0 = ratq_now();
    int64_t correct = 0;
    for (int64_t t = 0; t < steps && rc == 0; t++) {
        int64_t e = t / bpe, b = t % bpe;
        if (b == 0) {
            ratq_data_epoch_order(n, 1, c->seed, e, 0, 1, order);
            loss_sum = 0;
            correct = 0;
        }
        for (int j = 0; j < B; j++) {
            int64_t i = order[b * B + j];
            ratq_effnet_preprocess_u8(img + (size_t)i * per, per, x + per * j);
            lb[j] = labels[i];
        }
        const float *lg = ratq_effnet_forward(m, x, B, RATQ_EFFNET_TRAIN, (uint64_t)t);
        if (!lg) {
            rc = -1;
            break;
        }
        for (int j = 0; j < B; j++) correct += ratq_quant_argmax_f32(lg + (size_t)j * classes, classes) == lb[j];
        ratq_xent_params xp = {.n = B, .classes = classes, .label_smoothing = 0};
        const double loss = ratq_softmax_xent_cpu(&xp, lg, lb, dl);
        if (!isfinite(loss)) { // diverged: stop before the update, nothing is saved
            ratq_error("train: step %lld (epoch %lld): loss is %g: training diverged and stopped (try a lower --lr)",
                       (long long)t, (long long)e, loss);
            rc = -1;
            break;
        }
        loss_sum += loss;
        if (ratq_effnet_backward(m, dl) != 0) {
            rc = -1;
            break;
        }
        ratq_sgd_params sp = {.lr = (float)ratq_lr_at(&sch, t), .momentum = 0.9f, .weight_decay = 1e-4f, .step = t};
        for (int k = 0; k < m->n_tensors; k++) {
            const ratq_tensor_info *ti = &m->tensors[k];
            if (ti->trainable)
                ratq_sgd_step_cpu(&sp, ti->count, m->params + ti->offset, m->grads + ti->offset, mom + ti->offset);
        }
        if (b == bpe - 1) {
            st->last_loss = loss_sum / (double)bpe;
            st->last_acc = (double)correct / (double)(bpe * B);
            if (c->progress)
                fprintf(stderr, "ratq run: float epoch %lld/%d: loss %.4f, train acc %.1f%% (%.0f s)\n",
                        (long long)e + 1, c->epochs, st->last_loss, 100 * st->last_acc, ratq_now() - t0);
        }
        st->steps = t + 1;
    }
    free(labels);
    free(img);
    free(x);
    free(dl);
    free(mom);
    free(lb);
    free(order);
    if (rc != 0) ratq_effnet_free(m);
    return rc;
}
