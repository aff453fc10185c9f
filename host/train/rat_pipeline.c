// host/train/rat_pipeline.c — the RAT pipeline (host/train/rat_pipeline.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/io.h"
#include "models/efficientnet_lite.h"
#include "quant/to_qmodel.h"
#include "train/rat_pipeline.h"

// Float weights -> BN-folded q (and, if teacher, a second copy for the teacher). Returns 0 or -1 after an error line.
static int load_folded(const char *path, ratq_qnet *q, ratq_qnet *teacher) {
    ratq_effnet m;
    if (ratq_effnet_load(&m, path) != 0) return -1;
    int rc = ratq_qnet_from_effnet(q, &m);
    if (rc == 0 && teacher && (rc = ratq_qnet_from_effnet(teacher, &m)) != 0) ratq_qnet_free(q);
    ratq_effnet_free(&m);
    return rc;
}

int ratq_quant_prepare(const char *model_path, const char *calib_path, int64_t calib_images, int batch,
                       int progress, ratq_qnet *q) {
    if (load_folded(model_path, q, NULL) != 0) return -1;
    ratq_dataset *ds = ratq_data_open(calib_path, NULL);
    int rc = ds ? ratq_quant_calibrate(q, ds, calib_images, batch, progress) : -1;
    if (ds) ratq_data_close(ds);
    if (rc != 0) ratq_qnet_free(q);
    return rc;
}

// Accuracy of q quantized at its current options with `engine` on the job's validation images (all ranks).
static int evaluate(const ratq_rat_job *job, ratq_eval_mode engine, ratq_qnet *q, const ratq_dataset *vd,
                    ratq_quant_eval_result *r) {
    const ratq_rat_config *c = &job->cfg;
    if (engine == RATQ_EVAL_FAKE)
        return ratq_quant_evaluate_dist(RATQ_EVAL_FAKE, q, NULL, vd, job->val_images, job->eval_batch, c->progress,
                                        c->dist, r);
    ratq_qmodel im;
    if (ratq_qnet_to_qmodel(q, &im) != 0) return -1;
    int rc = ratq_quant_evaluate_dist(RATQ_EVAL_QMODEL, NULL, &im, vd, job->val_images, job->eval_batch, c->progress,
                                      c->dist, r);
    ratq_qmodel_free(&im);
    return rc;
}

int ratq_rat_pipeline(const ratq_rat_job *job, ratq_rat_result *res) {
    memset(res, 0, sizeof *res);
    const double t0 = ratq_now();
    const ratq_rat_config *cfg = &job->cfg;
    const int rank = cfg->dist ? ratq_dist_rank(cfg->dist) : 0, distill = cfg->teacher != RATQ_TEACHER_NONE;
    ratq_qnet q, teacher;
    memset(&teacher, 0, sizeof teacher);
    // load -> fold -> calibrate
    if (load_folded(job->weights, &q, distill ? &teacher : NULL) != 0) return -1;
    ratq_dataset *tr = ratq_data_open(job->train, NULL), *vd = tr ? ratq_data_open(job->val, NULL) : NULL, *cd = NULL;
    int rc = tr && vd ? 0 : -1;
    if (rc == 0 && job->calib && !(cd = ratq_data_open(job->calib, NULL))) rc = -1;
    if (rc == 0) rc = ratq_quant_calibrate(&q, cd ? cd : tr, job->calib_images, job->calib_batch, cfg->progress);
    // teacher: the same calibration; INT32 quantized once at k = 31
    if (rc == 0 && distill) {
        rc = ratq_qnet_copy_calibration(&teacher, &q);
        const ratq_quant_options o31 = {.k = 31, .rounding = job->quant.rounding, .snap = 0};
        if (rc == 0 && cfg->teacher == RATQ_TEACHER_INT32) rc = ratq_qnet_quantize(&teacher, &o31);
    }
    // post-training accuracy at k (on resume the weights come from the checkpoint)
    if (rc == 0 && !cfg->resume) {
        rc = ratq_qnet_quantize(&q, &job->quant);
        if (rc == 0) rc = evaluate(job, job->ptq_engine, &q, vd, &res->ptq);
        if (rc == 0 && job->on_ptq) job->on_ptq(res, job->user);
    }
    // train -> integer model -> accuracy -> .ratqm
    if (rc == 0) rc = ratq_rat_train(&q, &job->quant, distill ? &teacher : NULL, tr, cfg, &res->stats);
    if (rc == 0 && res->stats.finished) {
        ratq_qmodel im;
        if ((rc = ratq_qnet_to_qmodel(&q, &im)) == 0) {
            if (job->final_engine == RATQ_EVAL_FAKE)
                rc = ratq_quant_evaluate_dist(RATQ_EVAL_FAKE, &q, NULL, vd, job->val_images, job->eval_batch,
                                              cfg->progress, cfg->dist, &res->rat);
            else
                rc = ratq_quant_evaluate_dist(RATQ_EVAL_QMODEL, NULL, &im, vd, job->val_images, job->eval_batch,
                                              cfg->progress, cfg->dist, &res->rat);
            if (rc == 0 && rank == 0 && job->out) rc = ratq_qmodel_save(&im, job->out);
            ratq_qmodel_free(&im);
        }
    }
    if (tr) ratq_data_close(tr);
    if (vd) ratq_data_close(vd);
    if (cd) ratq_data_close(cd);
    ratq_qnet_free(&q);
    if (distill) ratq_qnet_free(&teacher);
    res->seconds = ratq_now() - t0;
    return rc;
}

// A float field as its shortest decimal (0.9f -> 0.9, not 0.899999976158142).
static double f32(float x) {
    for (int p = 1; p < 9; p++) { // the fewest significant digits that give x back (9 always do)
        char t[32];
        snprintf(t, sizeof t, "%.*g", p, (double)x);
        if ((float)strtod(t, NULL) == x) return strtod(t, NULL);
    }
    return x;
}

cJSON *ratq_rat_recipe_json(const ratq_rat_config *cfg) {
    static const char *const teachers[] = {"none", "float", "int32"};
    const int world = cfg->dist ? ratq_dist_world(cfg->dist) : 1;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "optimizer", cfg->optimizer == RATQ_OPT_ADAMW ? "adamw" : "sgd");
    cJSON_AddNumberToObject(j, "lr", cfg->lr);
    cJSON_AddNumberToObject(j, "final_lr", cfg->final_lr);
    cJSON_AddStringToObject(j, "schedule", "cosine");
    cJSON_AddNumberToObject(j, "warmup_steps", (double)cfg->warmup_steps);
    cJSON_AddNumberToObject(j, "momentum", f32(cfg->momentum));
    cJSON_AddNumberToObject(j, "weight_decay", f32(cfg->weight_decay));
    cJSON_AddNumberToObject(j, "epochs", cfg->epochs);
    cJSON_AddNumberToObject(j, "images", (double)cfg->limit);
    cJSON_AddNumberToObject(j, "batch", cfg->batch);
    cJSON_AddNumberToObject(j, "global_batch", (double)cfg->batch * world);
    cJSON_AddNumberToObject(j, "micro_batch", cfg->micro_batch > 0 ? cfg->micro_batch : cfg->batch);
    cJSON_AddNumberToObject(j, "label_smoothing", f32(cfg->label_smoothing));
    cJSON_AddStringToObject(j, "teacher", teachers[cfg->teacher]);
    cJSON_AddNumberToObject(j, "distill_alpha", cfg->teacher != RATQ_TEACHER_NONE ? f32(cfg->distill_alpha) : 0);
    cJSON_AddNumberToObject(j, "temperature", f32(cfg->temperature));
    cJSON_AddBoolToObject(j, "augment", cfg->augment);
    cJSON_AddNumberToObject(j, "seed", (double)cfg->seed);
    return j;
}
