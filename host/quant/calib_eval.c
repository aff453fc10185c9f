// host/quant/calib_eval.c — calibration and evaluation loops (host/quant/calib_eval.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "quant/calib_eval.h"

ratq_transform ratq_quant_transform(const ratq_dataset *ds, int resolution) {
    ratq_data_info info = ratq_data_get_info(ds);
    ratq_transform tf;
    if (info.height == resolution && info.width == resolution)
        tf = ratq_transform_none(resolution);
    else {
        tf = ratq_transform_eval(resolution);
        if (info.height > 0 && info.width > 0 && info.height <= resolution && info.width <= resolution)
            tf.resize_to = resolution;
    }
    tf.out_channels = 3;
    return tf;
}

static ratq_loader *open_loader(const ratq_dataset *ds, int resolution, int batch, int rank, int world) {
    ratq_loader_config cfg = ratq_loader_config_default();
    cfg.batch_size = batch;
    cfg.rank = rank;
    cfg.world_size = world;
    cfg.shuffle = 0;
    cfg.tf = ratq_quant_transform(ds, resolution);
    ratq_loader *ld = ratq_loader_create(ds, &cfg);
    if (ld && ratq_loader_start_epoch(ld, 0) != 0) {
        ratq_loader_destroy(ld);
        return NULL;
    }
    return ld;
}

static void progress_line(int on, const char *what, int64_t done, int64_t total) {
    if (!on || !isatty(2)) return;
    fprintf(stderr, "\r%s %lld/%lld", what, (long long)done, (long long)total);
    if (done >= total) fputc('\n', stderr);
}

int ratq_quant_calibrate(ratq_qnet *q, const ratq_dataset *ds, int64_t limit, int batch, int progress) {
    int64_t total = ratq_data_count(ds);
    if (limit > 0 && limit < total) total = limit;
    ratq_loader *ld = open_loader(ds, q->resolution, batch, 0, 1);
    if (!ld) return -1;
    ratq_qnet_observe_reset(q);
    int64_t done = 0;
    ratq_batch b;
    int rc = 0;
    while (done < total && (rc = ratq_loader_next(ld, &b)) == 1) {
        int n = b.n;
        if (done + n > total) n = (int)(total - done);
        if (!ratq_qnet_float_forward(q, b.images, n, 1)) {
            rc = -1;
            break;
        }
        done += n;
        progress_line(progress, "calibrate", done, total);
    }
    ratq_loader_destroy(ld);
    if (rc < 0) return -1;
    const int bad = ratq_qnet_observe_first_bad(q);
    if (bad >= 0) { // e.g. NaN activations from the weights: name the data and the layer
        ratq_error("%s: calibration: %s: no finite values observed in the first %lld images", ratq_data_path(ds),
                   q->ops[bad].name, (long long)done);
        return -1;
    }
    return ratq_qnet_observe_finish(q);
}

int ratq_quant_argmax_f32(const float *s, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (s[i] > s[best]) best = i;
    return best;
}

int ratq_quant_topk_hit_i8(const int8_t *s, int n, int label, int k) {
    int rank = 0; // classes ranked before the label: higher score, or equal score and lower index
    for (int i = 0; i < n; i++)
        if (s[i] > s[label] || (s[i] == s[label] && i < label)) rank++;
    return rank < k;
}

int ratq_quant_row_finite(const float *s, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(s[i])) return 0;
    return 1;
}

int ratq_quant_topk_hit_f32(const float *s, int n, int label, int k) {
    if (!ratq_quant_row_finite(s, n)) return 0; // NaN / Inf: a wrong answer, never a hit
    int rank = 0;
    for (int i = 0; i < n; i++)
        if (s[i] > s[label] || (s[i] == s[label] && i < label)) rank++;
    return rank < k;
}

// This rank's part of the evaluation: dataset positions rank, rank + world, ... below the limit (the loader's rule).
// pred / ref_pred index the positions of this part (only used with world 1).
static int evaluate_part(ratq_eval_mode mode, ratq_qnet *q, const ratq_qmodel *im, const ratq_dataset *ds,
                         int64_t limit, int batch, int progress, int rank, int world, const int32_t *ref_pred,
                         int32_t *pred, ratq_quant_eval_result *res, int64_t *first_nonfinite) {
    memset(res, 0, sizeof *res);
    *first_nonfinite = -1;
    int64_t total = ratq_data_count(ds);
    if (limit > 0 && limit < total) total = limit;
    const int use_im = mode == RATQ_EVAL_QMODEL || mode == RATQ_EVAL_QMODEL_REF;
    const int res_px = use_im ? im->in_h : q->resolution, classes = use_im ? im->num_classes : q->num_classes;
    ratq_loader *ld = open_loader(ds, res_px, batch, rank, world);
    if (!ld) return -1;
    size_t per = (size_t)res_px * res_px * 3;
    int8_t *in = malloc(per * (size_t)batch), *lq = malloc((size_t)batch * classes);
    int rc = (in && lq) ? 0 : -1;
    if (rc) ratq_error("evaluate: out of memory");
    ratq_batch b;
    int64_t first_bad = -1; // dataset index of the first image with non-finite float logits
    const int64_t mine = (total - rank + world - 1) / world; // positions rank, rank + W, ... below total
    while (rc == 0 && res->n < mine && (rc = ratq_loader_next(ld, &b)) == 1) {
        rc = 0;
        int n = b.n;
        if (res->n + n > mine) n = (int)(mine - res->n);
        const int8_t *logits = NULL;
        const float *fl = NULL;
        if (use_im) {
            ratq_qmodel_input_from_u8(im, b.images, (int64_t)n * per, in);
            const ratq_engine engine = mode == RATQ_EVAL_QMODEL_REF ? RATQ_ENGINE_REF : RATQ_ENGINE_FAST;
            if (ratq_qmodel_run_engine(im, engine, in, n, NULL, lq, NULL) != 0) rc = -1;
            logits = lq;
        } else if (mode == RATQ_EVAL_FAKE) {
            if (!(logits = ratq_qnet_forward(q, b.images, n))) rc = -1;
        } else if (!(fl = ratq_qnet_float_forward(q, b.images, n, 0)))
            rc = -1;
        if (rc) break;
        for (int i = 0; i < n; i++) {
            int label = (int)b.labels[i], top;
            if (fl) {
                const float *s = fl + (size_t)i * classes;
                if (!ratq_quant_row_finite(s, classes)) {
                    if (res->nonfinite++ == 0) first_bad = b.index[i];
                }
                res->top1 += ratq_quant_topk_hit_f32(s, classes, label, 1);
                res->top5 += ratq_quant_topk_hit_f32(s, classes, label, 5);
                top = ratq_quant_argmax_f32(s, classes);
            } else {
                const int8_t *s = logits + (size_t)i * classes;
                res->top1 += ratq_quant_topk_hit_i8(s, classes, label, 1);
                res->top5 += ratq_quant_topk_hit_i8(s, classes, label, 5);
                top = ratq_qmodel_argmax(s, classes);
            }
            if (pred) pred[res->n + i] = top;
            if (ref_pred) res->agree += ref_pred[res->n + i] == top;
        }
        res->n += n;
        progress_line(progress, "evaluate", res->n, mine);
    }
    free(in);
    free(lq);
    ratq_loader_destroy(ld);
    *first_nonfinite = first_bad;
    return rc < 0 ? -1 : 0;
}

// Non-finite float logits fail the evaluation (after the counts are complete, so every rank agrees): one line
// naming the first such image (this rank's; the data set when this rank has none).
static int check_finite(const ratq_dataset *ds, int64_t first_bad, const ratq_quant_eval_result *res) {
    if (!res->nonfinite) return 0;
    char where[512];
    if (first_bad >= 0) ratq_data_describe(ds, first_bad, where, sizeof where);
    else snprintf(where, sizeof where, "evaluation data");
    ratq_error("%s: logits: %lld of %lld images give NaN or Inf in the float model (counted wrong; the model "
               "overflows float or holds invalid parameters)",
               where, (long long)res->nonfinite, (long long)res->n);
    return -1;
}

int ratq_quant_evaluate(ratq_eval_mode mode, ratq_qnet *q, const ratq_qmodel *im, const ratq_dataset *ds,
                        int64_t limit, int batch, int progress, const int32_t *ref_pred, int32_t *pred,
                        ratq_quant_eval_result *res) {
    int64_t bad;
    if (evaluate_part(mode, q, im, ds, limit, batch, progress, 0, 1, ref_pred, pred, res, &bad) != 0) return -1;
    return check_finite(ds, bad, res);
}

int ratq_quant_evaluate_dist(ratq_eval_mode mode, ratq_qnet *q, const ratq_qmodel *im, const ratq_dataset *ds,
                             int64_t limit, int batch, int progress, ratq_dist *dist, ratq_quant_eval_result *res) {
    const int rank = dist ? ratq_dist_rank(dist) : 0, world = dist ? ratq_dist_world(dist) : 1;
    int64_t bad;
    if (evaluate_part(mode, q, im, ds, limit, batch, progress, rank, world, NULL, NULL, res, &bad) != 0) return -1;
    if (world > 1) { // exact int64 sums, identical on every rank
        int64_t v[5] = {res->n, res->top1, res->top5, res->agree, res->nonfinite};
        ratq_dist_allreduce_sum_i64(dist, v, 5);
        res->n = v[0];
        res->top1 = v[1];
        res->top5 = v[2];
        res->agree = v[3];
        res->nonfinite = v[4];
    }
    return check_finite(ds, bad, res);
}

int ratq_qmodel_eval(const char *model_path, const char *data_path, int64_t limit, int batch, int progress,
                     ratq_engine engine, ratq_quant_eval_result *res) {
    ratq_qmodel im;
    if (ratq_qmodel_load(&im, model_path) != 0) return -1;
    ratq_dataset *ds = ratq_data_open(data_path, NULL);
    const ratq_eval_mode mode = engine == RATQ_ENGINE_REF ? RATQ_EVAL_QMODEL_REF : RATQ_EVAL_QMODEL;
    int rc = ds ? ratq_quant_evaluate(mode, NULL, &im, ds, limit, batch, progress, NULL, NULL, res) : -1;
    if (ds) ratq_data_close(ds);
    ratq_qmodel_free(&im);
    return rc;
}
