// cmd_finetune.c — `ratq finetune`: Rescale-Aware Training from float weights to an integer model whose rescalers
// have k bits: the RAT pipeline of host/train/rat_pipeline.h (load .ratqw -> BN folding -> calibration (--calib,
// default the training data) -> post-training accuracy at k on --val -> RAT -> accuracy on --val -> .ratqm).
// Accuracies use the CPU integer engine (--engine int, default) or the bit-identical fake-quant forward
// (--engine fake). The per-step log is JSON lines (step, epoch, loss, acc, lr); default OUT.log.jsonl.
// Data parallel (host/dist/dist.h, host/train/rat_train.h): under `mpirun -np N` or with RATQ_RANK/RATQ_WORLD_SIZE/
// RATQ_MASTER_ADDR/RATQ_MASTER_PORT (or SLURM variables) every rank runs this command; --batch is per rank,
// evaluation is sharded over the ranks (counts summed), rank 0 alone prints, logs and writes checkpoints and OUT.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "qmodel/qmodel.h"
#include "quant/qnet_cuda.h"
#include "train/rat_pipeline.h"

static double pct(int64_t a, int64_t n) { return n ? 100.0 * (double)a / (double)n : 0.0; }

static void print_ptq(const ratq_rat_result *r, void *user) {
    const ratq_rat_job *job = user;
    if (job->cfg.dist && ratq_dist_rank(job->cfg.dist) != 0) return;
    printf("post-training k=%d: top-1 %.2f%%, top-5 %.2f%% on %lld images\n", job->quant.k, pct(r->ptq.top1, r->ptq.n),
           pct(r->ptq.top5, r->ptq.n), (long long)r->ptq.n);
}

static void print_result(const ratq_rat_job *job, const ratq_rat_result *r, int json, ratq_dist *dist) {
    const ratq_rat_stats *st = &r->stats;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "command", "finetune");
        cJSON_AddStringToObject(j, "output", st->finished ? job->out : "");
        cJSON_AddNumberToObject(j, "rescale_bits", job->quant.k);
        cJSON_AddStringToObject(j, "rounding", ratq_qmodel_rounding_name(job->quant.rounding));
        cJSON_AddBoolToObject(j, "snap_scales", job->quant.snap);
        cJSON_AddNumberToObject(j, "steps_done", (double)st->steps_done);
        cJSON_AddNumberToObject(j, "total_steps", (double)st->total_steps);
        cJSON_AddBoolToObject(j, "finished", st->finished);
        if (r->ptq.n) {
            cJSON_AddNumberToObject(j, "ptq_top1", pct(r->ptq.top1, r->ptq.n));
            cJSON_AddNumberToObject(j, "ptq_top5", pct(r->ptq.top5, r->ptq.n));
        }
        if (r->rat.n) {
            cJSON_AddNumberToObject(j, "rat_top1", pct(r->rat.top1, r->rat.n));
            cJSON_AddNumberToObject(j, "rat_top5", pct(r->rat.top5, r->rat.n));
            cJSON_AddNumberToObject(j, "val_images", (double)r->rat.n);
        }
        cJSON_AddNumberToObject(j, "last_epoch_loss", st->last_loss);
        cJSON_AddNumberToObject(j, "ranks", ratq_dist_world(dist));
        cJSON_AddStringToObject(j, "dist_backend", ratq_dist_backend_name(dist));
        cJSON_AddNumberToObject(j, "global_batch", (double)job->cfg.batch * ratq_dist_world(dist));
        cJSON_AddStringToObject(j, "log", job->cfg.log_path);
        cJSON_AddNumberToObject(j, "seconds", r->seconds);
        ratq_cli_print_json(j);
    } else if (st->finished)
        printf("RAT k=%d: top-1 %.2f%%, top-5 %.2f%% on %lld images (%lld steps, last epoch loss %.4f) -> %s\n",
               job->quant.k, pct(r->rat.top1, r->rat.n), pct(r->rat.top5, r->rat.n), (long long)r->rat.n,
               (long long)st->steps_done, st->last_loss, job->out);
    else
        printf("stopped after %lld of %lld steps; checkpoint %s (continue with --resume)\n", (long long)st->steps_done,
               (long long)st->total_steps, job->cfg.ckpt_path);
}

int cmd_finetune(int argc, char **argv) {
    ratq_rat_job job = {.calib_images = 1000, .calib_batch = 32, .ptq_engine = RATQ_EVAL_QMODEL};
    ratq_rat_config *cfg = &job.cfg;
    *cfg = ratq_rat_config_default();
    cfg->num_workers = 4; // the input stream's decoders (host/data/stream.h)
    cfg->ckpt_every = 100;
    const char *logp = NULL, *ckpt = NULL;
    int k = 0, epochs = 0, snap = 0, json = 0, distill = 0, rounding = RATQ_ROUND_SINGLE, teacher = 0, engine = 0;
    int optimizer = RATQ_OPT_SGD, device = RATQ_DEVICE_CPU, no_graphs = 0;
    double timeout = 0;
    static const char *const teachers[] = {"float", "int32", NULL}, *const optimizers[] = {"sgd", "adamw", NULL};
    static const char *const engines[] = {"int", "fake", NULL};
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &job.weights, "FP.ratqw", "float weights (.ratqw)"), .required = 1},
        {RATQ_OPT("--data", RATQ_OPT_STRING, &job.train, "TRAIN", "training data"), .required = 1},
        {RATQ_OPT("--val", RATQ_OPT_STRING, &job.val, "VAL", "validation data"), .required = 1},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT, &k, "K", "rescaler width k"), .lo = RATQ_K_MIN, .hi = RATQ_K_MAX, .required = 1},
        {RATQ_OPT("--epochs", RATQ_OPT_INT, &epochs, "E", "passes over the training images"), .lo = 1, .hi = 1000000, .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &job.out, "OUT.ratqm", "the trained integer model"), .alias = "--output", .required = 1},
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rounding, NULL, "rounding of the rescalers (default single)"),
         .names = RATQ_CLI_ROUNDING_NAMES, .values = RATQ_CLI_ROUNDING_VALUES},
        {RATQ_OPT("--snap-scales", RATQ_OPT_FLAG, &snap, NULL, "snap weight scales so every multiplier is exactly k-bit")},
        {RATQ_OPT("--calib", RATQ_OPT_STRING, &job.calib, "DATA", "calibration data (default TRAIN)")},
        {RATQ_OPT("--calib-images", RATQ_OPT_I64, &job.calib_images, "N",
         "calibration images (default 1000, 0 = all), run in batches of 32\nwhatever --batch and the rank count"),
         .lo = 0, .hi = INT64_MAX},
        {RATQ_OPT("--limit", RATQ_OPT_I64, &cfg->limit, "N", "train on the first N images of TRAIN (default all)"), .lo = 0,
         .hi = INT64_MAX},
        {RATQ_OPT("--val-limit", RATQ_OPT_I64, &job.val_images, "N", "evaluate the first N images of VAL (default all)"), .lo = 0,
         .hi = INT64_MAX},
        {RATQ_OPT("--batch", RATQ_OPT_INT, &cfg->batch, "B", "images per step and rank (default 32); global batch = B x ranks"),
         .lo = 1, .hi = 4096},
        {RATQ_OPT("--micro-batch", RATQ_OPT_INT, &cfg->micro_batch, "M",
         "forward/backward M images at a time, gradients accumulated (default B)"), .lo = 1, .hi = 4096},
        {RATQ_OPT("--device", RATQ_OPT_ENUM, &device, NULL,
         "where the training step runs (default cpu); cuda: the whole step on GPU\n(local rank) % (GPU count): weights, "
         "optimizer, teacher, loss, NCCL all-reduce,\nCUDA Graph replay, input staged while the previous step runs; "
         "cuda-host: only\nthe forward/backward on that GPU, the rest on the CPU (a test twin)\n(host/train/rat_train.h)"),
         .names = RATQ_CLI_DEVICE_NAMES},
        {RATQ_OPT("--gemm", RATQ_OPT_ENUM, &cfg->gemm, NULL,
         "GPU backward GEMMs: tf32 (default, tensor cores), fp32 (the CPU's arithmetic,\nsummation order aside) or bf16"),
         .names = RATQ_CLI_GEMM_NAMES, .values = RATQ_CLI_GEMM_VALUES},
        {RATQ_OPT("--no-cuda-graphs", RATQ_OPT_FLAG, &no_graphs, NULL,
         "--device cuda: launch the step kernel by kernel instead of replaying a CUDA Graph\n(same bits, slower)")},
        {RATQ_OPT("--dist-timeout", RATQ_OPT_DOUBLE, &timeout, "S",
         "seconds a collective may stall before every rank exits (default 300)"), .dlo = 0, .dhi = INFINITY,
         .open = RATQ_OPT_OPEN_LO},
        {RATQ_OPT("--lr", RATQ_OPT_DOUBLE, &cfg->lr, "X", "peak learning rate (default 1e-3), cosine to --final-lr"), .dlo = 0,
         .dhi = INFINITY},
        {RATQ_OPT("--final-lr", RATQ_OPT_DOUBLE, &cfg->final_lr, "X", "learning rate at the end (default 0)"), .dlo = 0,
         .dhi = INFINITY},
        {RATQ_OPT("--warmup", RATQ_OPT_I64, &cfg->warmup_steps, "N", "linear warm-up steps (default 0)"), .lo = 0, .hi = INT64_MAX},
        {RATQ_OPT("--optimizer", RATQ_OPT_ENUM, &optimizer, NULL, "(default sgd)"), .names = optimizers},
        {RATQ_OPT("--momentum", RATQ_OPT_FLOAT, &cfg->momentum, "X", "SGD momentum (default 0.9)"), .dlo = 0, .dhi = 1,
         .open = RATQ_OPT_OPEN_HI},
        {RATQ_OPT("--weight-decay", RATQ_OPT_FLOAT, &cfg->weight_decay, "X", "SGD: L2, AdamW: decoupled (default 0)"), .dlo = 0,
         .dhi = INFINITY},
        {RATQ_OPT("--label-smoothing", RATQ_OPT_FLOAT, &cfg->label_smoothing, "X", "(default 0)"), .dlo = 0, .dhi = 1,
         .open = RATQ_OPT_OPEN_HI},
        {RATQ_OPT("--distill", RATQ_OPT_FLAG, &distill, NULL, "knowledge distillation from a teacher (--teacher)")},
        {RATQ_OPT("--teacher", RATQ_OPT_ENUM, &teacher, NULL,
         "float (default): the folded float network; int32: the int8 model\nwith 31-bit rescalers"), .names = teachers},
        {RATQ_OPT("--distill-alpha", RATQ_OPT_FLOAT, &cfg->distill_alpha, "A", "weight of the soft targets (default 1: soft "
         "targets only)"), .dlo = 0, .dhi = 1},
        {RATQ_OPT("--temperature", RATQ_OPT_FLOAT, &cfg->temperature, "T", "distillation temperature (default 1)"), .dlo = 0,
         .dhi = INFINITY, .open = RATQ_OPT_OPEN_LO},
        {RATQ_OPT("--augment", RATQ_OPT_FLAG, &cfg->augment, NULL, "RandomResizedCrop + horizontal flip (default: the eval "
         "transform)")},
        {RATQ_OPT("--seed", RATQ_OPT_U64, &cfg->seed, "S", "data order / augmentation seed (default 1)")},
        {RATQ_OPT("--workers", RATQ_OPT_INT, &cfg->num_workers, "N",
         "decoding threads of the input stream per rank (default 4; 0 = in the training thread)"), .lo = 0, .hi = 256},
        {RATQ_OPT("--log", RATQ_OPT_STRING, &logp, "FILE", "JSON-lines log (default OUT.log.jsonl)")},
        {RATQ_OPT("--checkpoint", RATQ_OPT_STRING, &ckpt, "FILE", "checkpoint path (default OUT.ckpt)")},
        {RATQ_OPT("--checkpoint-every", RATQ_OPT_I64, &cfg->ckpt_every, "N", "steps between checkpoints (default 100)"),
         .lo = 0, .hi = INT64_MAX},
        {RATQ_OPT("--resume", RATQ_OPT_FLAG, &cfg->resume, NULL, "continue from the checkpoint (bit-identical final weights)")},
        {RATQ_OPT("--stop-after", RATQ_OPT_I64, &cfg->stop_after, "N",
         "stop after N steps (checkpointed; continue later with --resume)"), .lo = 1, .hi = INT64_MAX},
        {RATQ_OPT("--engine", RATQ_OPT_ENUM, &engine, NULL, "evaluation engine (default int: the CPU integer engine)"),
         .names = engines},
        {RATQ_OPT("--json", RATQ_OPT_FLAG, &json, NULL, "one JSON object with the results on stdout")},
    };
    ratq_cli cli = {RATQ_CLI("finetune",
                             "finetune --model FP.ratqw --data TRAIN --val VAL --rescale-bits K --epochs E [options] "
                             "-o OUT.ratqm", NULL, opts)};
    int r = ratq_cli_parse(&cli, argc, argv);
    if (r != RATQ_CLI_OK) return ratq_cli_exit(r);
    if (cfg->micro_batch > 0 && cfg->batch % cfg->micro_batch != 0) {
        ratq_error("finetune: --micro-batch: %d does not divide --batch %d", cfg->micro_batch, cfg->batch);
        return 2;
    }
    char logbuf[4096], ckbuf[4096];
    if (!logp) snprintf(logbuf, sizeof logbuf, "%s.log.jsonl", job.out), logp = logbuf;
    if (!ckpt) snprintf(ckbuf, sizeof ckbuf, "%s.ckpt", job.out), ckpt = ckbuf;
    job.quant = (ratq_quant_options){.k = k, .rounding = (ratq_rounding)rounding, .snap = snap};
    job.ptq_engine = job.final_engine = engine ? RATQ_EVAL_FAKE : RATQ_EVAL_QMODEL;
    job.eval_batch = cfg->batch;
    cfg->epochs = epochs;
    cfg->optimizer = (ratq_optimizer_kind)optimizer;
    cfg->device = (ratq_train_device)device;
    cfg->cuda_graphs = !no_graphs;
    cfg->teacher = !distill ? RATQ_TEACHER_NONE : teacher ? RATQ_TEACHER_INT32 : RATQ_TEACHER_FLOAT;
    cfg->log_path = logp;
    cfg->ckpt_path = ckpt;
    ratq_dist_options dopt = {.backend = RATQ_DIST_AUTO, .timeout_s = timeout};
    ratq_dist *dist = ratq_dist_init(&dopt);
    if (!dist) return 2;
    if (cfg->device != RATQ_DEVICE_CPU && (cfg->gpu = ratq_qnet_cuda_select(ratq_dist_local_rank(dist))) < 0) {
        ratq_dist_finalize(dist); // the error line names the cause (no device / built without CUDA)
        return 2;
    }
    cfg->dist = dist;
    cfg->progress = ratq_dist_rank(dist) == 0 && ratq_cli_progress(json);
    if (!json) job.on_ptq = print_ptq, job.user = &job;
    ratq_rat_result res;
    int rc = ratq_rat_pipeline(&job, &res);
    if (rc == 0 && ratq_dist_rank(dist) == 0) print_result(&job, &res, json, dist);
    ratq_dist_finalize(dist);
    return rc == 0 ? 0 : 2;
}
