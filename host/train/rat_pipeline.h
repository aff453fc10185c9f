// host/train/rat_pipeline.h — the Rescale-Aware Training pipeline, written once for `ratq finetune` and the QAT /
// RAT stages of `ratq run`: a job in, a result out.
//
//   float weights (.ratqw) -> BN folding (ratq_qnet_from_effnet) -> calibration (min/max, first calib_images)
//   -> teacher (the folded float network, or the int8 network at k = 31: job.cfg.teacher)
//   -> post-training accuracy at k (skipped on resume) -> RAT (host/train/rat_train.h)
//   -> integer model (ratq_qnet_to_qmodel) -> accuracy -> .ratqm (rank 0)
//
// Data parallel: every rank of job.cfg.dist runs the pipeline; evaluations are sharded and their counts summed
// (ratq_quant_evaluate_dist), rank 0 alone writes the log, the checkpoints and the .ratqm.
#ifndef RATQ_HOST_TRAIN_RAT_PIPELINE_H
#define RATQ_HOST_TRAIN_RAT_PIPELINE_H

#include <stdint.h>

#include "quant/calib_eval.h"
#include "train/rat_train.h"

struct ratq_rat_result;

typedef struct {
    const char *weights;         // float weights (.ratqw, models/weights.h)
    const char *train, *val;     // training and validation data (host/data/data.h)
    const char *calib;           // calibration data (NULL: train)
    int64_t calib_images;        // first N calibration images (<= 0: all)
    int calib_batch;             // images per calibration forward
    int64_t val_images;          // first N validation images (<= 0: all)
    int eval_batch;              // images per evaluation forward
    ratq_quant_options quant;    // k, rounding, snapping of the trained integer model
    ratq_eval_mode ptq_engine;   // post-training accuracy: RATQ_EVAL_QMODEL (CPU integer engine) or RATQ_EVAL_FAKE
    ratq_eval_mode final_engine; // accuracy after training: the same choice
    ratq_rat_config cfg;         // the recipe, teacher kind, dist, device, log, checkpoints, resume (progress also
                                 // drives the calibration and evaluation progress lines)
    const char *out;             // .ratqm written by rank 0 once training finished (NULL: none)
    // Called on every rank once the post-training accuracy is known (not on resume), before training.
    void (*on_ptq)(const struct ratq_rat_result *res, void *user);
    void *user;
} ratq_rat_job;

typedef struct ratq_rat_result {
    ratq_quant_eval_result ptq; // post-training accuracy at k (n = 0: not evaluated, on resume)
    ratq_quant_eval_result rat; // accuracy after training (n = 0: training stopped before the end, --stop-after)
    ratq_rat_stats stats;
    double seconds;
} ratq_rat_result;

// Run the job. Returns 0, or -1 after an error line (nothing written at job->out).
int ratq_rat_pipeline(const ratq_rat_job *job, ratq_rat_result *res);

// The pipeline's first stages alone (`ratq quantize`, `ratq sweep`, the int8 / sweep stages of `ratq run`): load
// the float weights, fold them into *q, calibrate on the first calib_images images of calib_path (all if <= 0) in
// batches of `batch`. Returns 0, or -1 after an error line (nothing left allocated).
int ratq_quant_prepare(const char *model_path, const char *calib_path, int64_t calib_images, int batch,
                       int progress, ratq_qnet *q);

// The training recipe of cfg as a JSON object {optimizer, lr, final_lr, schedule, warmup_steps, momentum,
// weight_decay, epochs, images, batch, global_batch, micro_batch, label_smoothing, teacher, distill_alpha,
// temperature, augment, seed}; `ratq run` records it in its RAT artifacts and its report reads it back.
struct cJSON;
struct cJSON *ratq_rat_recipe_json(const ratq_rat_config *cfg);

#endif
