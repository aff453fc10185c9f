// cmd_finetune.c — `ratq finetune`: Rescale-Aware Training (host/train/rat_train.h) from float weights to an integer
// model whose rescalers have k bits. Pipeline: load .ratqw -> BN folding -> calibration (--calib, default the
// training data) -> post-training accuracy at k on --val -> RAT -> accuracy on --val -> .ratqm (host/qmodel/qmodel.h).
// Accuracies use the CPU integer engine (--engine int, default) or the bit-identical fake-quant forward
// (--engine fake). The per-step log is JSON lines (step, epoch, loss, acc, lr); default OUT.log.jsonl.
// Data parallel (host/dist/dist.h, host/train/rat_train.h): under `mpirun -np N` or with RATQ_RANK/RATQ_WORLD_SIZE/
// RATQ_MASTER_ADDR/RATQ_MASTER_PORT (or SLURM variables) every rank runs this command; --batch is per rank,
// evaluation is sharded over the ranks (counts summed), rank 0 alone prints, logs and writes checkpoints and OUT.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "models/efficientnet_lite.h"
#include "common/io.h"
#include "cli/options.h"
#include "quant/calib_eval.h"
#include "quant/to_qmodel.h"
#include "quant/qnet_cuda.h"
#include "train/rat_train.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ratq finetune --model FP.ratqw --data TRAIN --val VAL --rescale-bits K --epochs E [options] -o OUT.ratqm\n"
            "  --rounding MODE        single (default) | tflite | half_even\n"
            "  --snap-scales          snap weight scales so every multiplier is exactly k-bit\n"
            "  --calib DATA           calibration data (default TRAIN); --calib-images N (default 1000, 0 = all),\n"
            "                         run in batches of 32 whatever --batch and the rank count\n"
            "  --limit N              train on the first N images of TRAIN (default all)\n"
            "  --val-limit N          evaluate the first N images of VAL (default all)\n"
            "  --batch B              images per step and rank (default 32); global batch = B x ranks\n"
            "  --micro-batch M        forward/backward M images at a time, gradients accumulated (default B)\n"
            "  --device cpu|cuda      where each micro-batch's forward/backward runs (default cpu); cuda: GPU\n"
            "                         (local rank) %% (GPU count), the int32 teacher too (host/train/rat_train.h)\n"
            "  --dist-timeout S       seconds a collective may stall before every rank exits (default 300)\n"
            "  --lr X                 peak learning rate (default 1e-3), cosine to --final-lr (default 0)\n"
            "  --warmup N             linear warm-up steps (default 0)\n"
            "  --optimizer sgd|adamw  (default sgd); --momentum X SGD momentum (default 0.9)\n"
            "  --weight-decay X       SGD: L2, AdamW: decoupled (default 0)\n"
            "  --label-smoothing X    (default 0)\n"
            "  --distill              knowledge distillation from a teacher: --teacher float (default) | int32\n"
            "                         (the int8 model with 31-bit rescalers); --distill-alpha A (default 1: soft\n"
            "                         targets only), --temperature T (default 1)\n"
            "  --augment              RandomResizedCrop + horizontal flip (default: the eval transform)\n"
            "  --seed S               data order / augmentation seed (default 1)\n"
            "  --log FILE             JSON-lines log (default OUT.log.jsonl)\n"
            "  --checkpoint FILE      checkpoint path (default OUT.ckpt); --checkpoint-every N steps (default 100)\n"
            "  --resume               continue from the checkpoint (bit-identical final weights)\n"
            "  --stop-after N         stop after N steps (checkpointed; continue later with --resume)\n"
            "  --engine int|fake      evaluation engine (default int: the CPU integer engine)\n"
            "  --json                 one JSON object with the results on stdout\n");
}

// options that take a value
static const char *const VALUE_OPTS[] = {
    "--model", "--data", "--val", "-o", "--output", "--calib", "--log", "--checkpoint", "--rescale-bits", "--epochs",
    "--calib-images", "--val-limit", "--limit", "--batch", "--warmup", "--seed", "--checkpoint-every", "--stop-after",
    "--lr", "--final-lr", "--momentum", "--weight-decay", "--label-smoothing", "--distill-alpha", "--temperature",
    "--rounding", "--teacher", "--engine", "--optimizer", "--micro-batch", "--device", "--dist-timeout"};

static int takes_value(const char *a) {
    for (size_t i = 0; i < sizeof VALUE_OPTS / sizeof VALUE_OPTS[0]; i++)
        if (!strcmp(a, VALUE_OPTS[i])) return 1;
    return 0;
}

static double pct(int64_t a, int64_t n) { return n ? 100.0 * (double)a / (double)n : 0.0; }

static int finetune(const char *model, const char *data, const char *val, const char *out, const char *calib,
                    const char *logp, const char *ckpt, long long k, long long epochs, long long calib_n,
                    long long vlimit, int snap, int json, int fake, int distill, ratq_rounding rnd,
                    ratq_teacher_kind tk, ratq_rat_config *cfgp, ratq_dist *dist) {
    ratq_rat_config cfg = *cfgp;
    const int rank = ratq_dist_rank(dist), world = ratq_dist_world(dist);
    char logbuf[4096], ckbuf[4096];
    if (!logp) { snprintf(logbuf, sizeof logbuf, "%s.log.jsonl", out); logp = logbuf; }
    if (!ckpt) { snprintf(ckbuf, sizeof ckbuf, "%s.ckpt", out); ckpt = ckbuf; }
    cfg.epochs = (int)epochs;
    cfg.teacher = distill ? tk : RATQ_TEACHER_NONE;
    cfg.log_path = logp;
    cfg.ckpt_path = ckpt;
    cfg.progress = rank == 0 && ratq_cli_progress(json);
    cfg.dist = dist;
    const ratq_quant_options opt = {.k = (int)k, .rounding = rnd, .snap = snap};
    double t0 = ratq_now();

    ratq_effnet m;
    if (ratq_effnet_load(&m, model) != 0) return 2;
    ratq_qnet q, teacher;
    memset(&teacher, 0, sizeof teacher);
    int rc = ratq_qnet_from_effnet(&q, &m);
    if (rc == 0 && distill && (rc = ratq_qnet_from_effnet(&teacher, &m)) != 0) ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    if (rc != 0) return 2;
    ratq_dataset *tr = ratq_data_open(data, NULL), *vd = tr ? ratq_data_open(val, NULL) : NULL, *cd = NULL;
    if (!tr || !vd) rc = -1;
    if (rc == 0 && calib && !(cd = ratq_data_open(calib, NULL))) rc = -1;
    if (rc == 0) rc = ratq_quant_calibrate(&q, cd ? cd : tr, calib_n, 32, cfg.progress);
    if (rc == 0 && distill) {
        rc = ratq_qnet_copy_calibration(&teacher, &q);
        ratq_quant_options o31 = {.k = 31, .rounding = rnd, .snap = 0};
        if (rc == 0 && tk == RATQ_TEACHER_INT32) rc = ratq_qnet_quantize(&teacher, &o31);
    }
    ratq_quant_eval_result before = {0}, after = {0};
    ratq_qmodel im;
    memset(&im, 0, sizeof im);
    // accuracy at k: post-training (skipped when resuming: the weights come from the checkpoint)
    if (rc == 0 && !cfg.resume) {
        rc = ratq_qnet_quantize(&q, &opt);
        if (rc == 0 && fake)
            rc = ratq_quant_evaluate_dist(RATQ_EVAL_FAKE, &q, NULL, vd, vlimit, cfg.batch, cfg.progress, dist, &before);
        else if (rc == 0 && (rc = ratq_qnet_to_qmodel(&q, &im)) == 0) {
            rc = ratq_quant_evaluate_dist(RATQ_EVAL_QMODEL, NULL, &im, vd, vlimit, cfg.batch, cfg.progress, dist,
                                          &before);
            ratq_qmodel_free(&im);
        }
        if (rc == 0 && !json && rank == 0)
            printf("post-training k=%d: top-1 %.2f%%, top-5 %.2f%% on %lld images\n", opt.k, pct(before.top1, before.n),
                   pct(before.top5, before.n), (long long)before.n);
    }
    ratq_rat_stats st = {0};
    if (rc == 0) rc = ratq_rat_train(&q, &opt, distill ? &teacher : NULL, tr, &cfg, &st);
    if (rc == 0 && st.finished) {
        if ((rc = ratq_qnet_to_qmodel(&q, &im)) == 0) {
            if (fake)
                rc = ratq_quant_evaluate_dist(RATQ_EVAL_FAKE, &q, NULL, vd, vlimit, cfg.batch, cfg.progress, dist,
                                              &after);
            else
                rc = ratq_quant_evaluate_dist(RATQ_EVAL_QMODEL, NULL, &im, vd, vlimit, cfg.batch, cfg.progress, dist,
                                              &after);
            if (rc == 0 && rank == 0) rc = ratq_qmodel_save(&im, out);
            ratq_qmodel_free(&im);
        }
    }
    if (rc == 0 && rank == 0) {
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "command", "finetune");
            cJSON_AddStringToObject(j, "output", st.finished ? out : "");
            cJSON_AddNumberToObject(j, "rescale_bits", opt.k);
            cJSON_AddStringToObject(j, "rounding", ratq_qmodel_rounding_name(rnd));
            cJSON_AddBoolToObject(j, "snap_scales", snap);
            cJSON_AddNumberToObject(j, "steps_done", (double)st.steps_done);
            cJSON_AddNumberToObject(j, "total_steps", (double)st.total_steps);
            cJSON_AddBoolToObject(j, "finished", st.finished);
            if (before.n) {
                cJSON_AddNumberToObject(j, "ptq_top1", pct(before.top1, before.n));
                cJSON_AddNumberToObject(j, "ptq_top5", pct(before.top5, before.n));
            }
            if (after.n) {
                cJSON_AddNumberToObject(j, "rat_top1", pct(after.top1, after.n));
                cJSON_AddNumberToObject(j, "rat_top5", pct(after.top5, after.n));
                cJSON_AddNumberToObject(j, "val_images", (double)after.n);
            }
            cJSON_AddNumberToObject(j, "last_epoch_loss", st.last_loss);
            cJSON_AddNumberToObject(j, "ranks", world);
            cJSON_AddStringToObject(j, "dist_backend", ratq_dist_backend_name(dist));
            cJSON_AddNumberToObject(j, "global_batch", (double)cfg.batch * world);
            cJSON_AddStringToObject(j, "log", logp);
            cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
            ratq_cli_print_json(j);
        } else if (st.finished)
            printf("RAT k=%d: top-1 %.2f%%, top-5 %.2f%% on %lld images (%lld steps, last epoch loss %.4f) -> %s\n",
                   opt.k, pct(after.top1, after.n), pct(after.top5, after.n), (long long)after.n,
                   (long long)st.steps_done, st.last_loss, out);
        else
            printf("stopped after %lld of %lld steps; checkpoint %s (continue with --resume)\n",
                   (long long)st.steps_done, (long long)st.total_steps, ckpt);
    }
    if (tr) ratq_data_close(tr);
    if (vd) ratq_data_close(vd);
    if (cd) ratq_data_close(cd);
    ratq_qnet_free(&q);
    if (distill) ratq_qnet_free(&teacher);
    return rc == 0 ? 0 : 2;
}

int cmd_finetune(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *val = NULL, *out = NULL, *calib = NULL, *logp = NULL, *ckpt = NULL;
    long long k = -1, epochs = -1, calib_n = 1000, vlimit = 0, ll;
    int snap = 0, json = 0, fake = 0, distill = 0;
    double d;
    ratq_rounding rnd = RATQ_ROUND_SINGLE;
    ratq_rat_config cfg = ratq_rat_config_default();
    ratq_teacher_kind tk = RATQ_TEACHER_FLOAT;
    ratq_dist_options dopt = {.backend = RATQ_DIST_AUTO, .timeout_s = 0};
    cfg.ckpt_every = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *s;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--snap-scales")) { snap = 1; continue; }
        if (!strcmp(a, "--json")) { json = 1; continue; }
        if (!strcmp(a, "--distill")) { distill = 1; continue; }
        if (!strcmp(a, "--augment")) { cfg.augment = 1; continue; }
        if (!strcmp(a, "--resume")) { cfg.resume = 1; continue; }
        if (!takes_value(a)) {
            ratq_error("finetune: unknown option '%s' (see 'ratq finetune --help')", a);
            return 2;
        }
        if (!(s = ratq_cli_value(argc, argv, &i, "finetune"))) return 2;
        const char *c = "finetune";
        if (!strcmp(a, "--model")) model = s;
        else if (!strcmp(a, "--data")) data = s;
        else if (!strcmp(a, "--val")) val = s;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = s;
        else if (!strcmp(a, "--calib")) calib = s;
        else if (!strcmp(a, "--log")) logp = s;
        else if (!strcmp(a, "--checkpoint")) ckpt = s;
        else if (!strcmp(a, "--rescale-bits")) { if (ratq_cli_int(c, a, s, RATQ_K_MIN, RATQ_K_MAX, &k)) return 2; }
        else if (!strcmp(a, "--epochs")) { if (ratq_cli_int(c, a, s, 1, 1000000, &epochs)) return 2; }
        else if (!strcmp(a, "--calib-images")) { if (ratq_cli_int(c, a, s, 0, INT64_MAX, &calib_n)) return 2; }
        else if (!strcmp(a, "--val-limit")) { if (ratq_cli_int(c, a, s, 0, INT64_MAX, &vlimit)) return 2; }
        else if (!strcmp(a, "--limit")) { if (ratq_cli_int(c, a, s, 0, INT64_MAX, &ll)) return 2; cfg.limit = ll; }
        else if (!strcmp(a, "--batch")) { if (ratq_cli_int(c, a, s, 1, 4096, &ll)) return 2; cfg.batch = (int)ll; }
        else if (!strcmp(a, "--micro-batch")) { if (ratq_cli_int(c, a, s, 1, 4096, &ll)) return 2; cfg.micro_batch = (int)ll; }
        else if (!strcmp(a, "--dist-timeout")) { if (ratq_cli_double(c, a, s, &d) || !(d > 0)) return 2; dopt.timeout_s = d; }
        else if (!strcmp(a, "--device")) {
            if (!strcmp(s, "cuda")) cfg.device = RATQ_DEVICE_CUDA;
            else if (!strcmp(s, "cpu")) cfg.device = RATQ_DEVICE_CPU;
            else { ratq_error("finetune: --device: '%s' (expected cpu or cuda)", s); return 2; }
        }
        else if (!strcmp(a, "--warmup")) { if (ratq_cli_int(c, a, s, 0, INT64_MAX, &ll)) return 2; cfg.warmup_steps = ll; }
        else if (!strcmp(a, "--seed")) { if (ratq_cli_int(c, a, s, 0, INT64_MAX, &ll)) return 2; cfg.seed = (uint64_t)ll; }
        else if (!strcmp(a, "--checkpoint-every")) { if (ratq_cli_int(c, a, s, 0, INT64_MAX, &ll)) return 2; cfg.ckpt_every = ll; }
        else if (!strcmp(a, "--stop-after")) { if (ratq_cli_int(c, a, s, 1, INT64_MAX, &ll)) return 2; cfg.stop_after = ll; }
        else if (!strcmp(a, "--lr")) { if (ratq_cli_double(c, a, s, &d) || d < 0) return 2; cfg.lr = d; }
        else if (!strcmp(a, "--final-lr")) { if (ratq_cli_double(c, a, s, &d) || d < 0) return 2; cfg.final_lr = d; }
        else if (!strcmp(a, "--momentum")) { if (ratq_cli_double(c, a, s, &d) || d < 0 || d >= 1) return 2; cfg.momentum = (float)d; }
        else if (!strcmp(a, "--weight-decay")) { if (ratq_cli_double(c, a, s, &d) || d < 0) return 2; cfg.weight_decay = (float)d; }
        else if (!strcmp(a, "--label-smoothing")) { if (ratq_cli_double(c, a, s, &d) || d < 0 || d >= 1) return 2; cfg.label_smoothing = (float)d; }
        else if (!strcmp(a, "--distill-alpha")) { if (ratq_cli_double(c, a, s, &d) || d < 0 || d > 1) return 2; cfg.distill_alpha = (float)d; }
        else if (!strcmp(a, "--temperature")) { if (ratq_cli_double(c, a, s, &d) || !(d > 0)) return 2; cfg.temperature = (float)d; }
        else if (!strcmp(a, "--rounding")) { if (ratq_cli_rounding(c, s, &rnd)) return 2; }
        else if (!strcmp(a, "--teacher")) {
            if (!strcmp(s, "float")) tk = RATQ_TEACHER_FLOAT;
            else if (!strcmp(s, "int32")) tk = RATQ_TEACHER_INT32;
            else { ratq_error("finetune: --teacher: '%s' (expected float or int32)", s); return 2; }
        } else if (!strcmp(a, "--optimizer")) {
            if (!strcmp(s, "sgd")) cfg.optimizer = RATQ_OPT_SGD;
            else if (!strcmp(s, "adamw")) cfg.optimizer = RATQ_OPT_ADAMW;
            else { ratq_error("finetune: --optimizer: '%s' (expected sgd or adamw)", s); return 2; }
        } else if (!strcmp(a, "--engine")) {
            if (strcmp(s, "int") && strcmp(s, "fake")) { ratq_error("finetune: --engine: '%s' (expected int or fake)", s); return 2; }
            fake = !strcmp(s, "fake");
        } else {
            ratq_error("finetune: unknown option '%s' (see 'ratq finetune --help')", a);
            return 2;
        }
    }
    if (!model || !data || !val || !out || k < 0 || epochs < 0) {
        ratq_error("finetune: --model, --data, --val, --rescale-bits, --epochs and -o are required (see --help)");
        return 2;
    }
    if (cfg.micro_batch > 0 && cfg.batch % cfg.micro_batch != 0) {
        ratq_error("finetune: --micro-batch: %d does not divide --batch %d", cfg.micro_batch, cfg.batch);
        return 2;
    }
    ratq_dist *dist = ratq_dist_init(&dopt);
    if (!dist) return 2;
    if (cfg.device == RATQ_DEVICE_CUDA && (cfg.gpu = ratq_qnet_cuda_select(ratq_dist_local_rank(dist))) < 0) {
        ratq_dist_finalize(dist); // the error line names the cause (no device / built without CUDA)
        return 2;
    }
    int rc = finetune(model, data, val, out, calib, logp, ckpt, k, epochs, calib_n, vlimit, snap, json, fake, distill,
                      rnd, tk, &cfg, dist);
    ratq_dist_finalize(dist);
    return rc;
}
