// cmd_run.c — `ratq run`: float network -> int8 with 31-bit rescalers -> post-training k sweep -> RAT at small k
// -> integer models, standalone C export, hardware table, report. Stages and artifacts: host/cli/run.h.
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "dist/dist.h"
#include "models/efficientnet_lite.h"
#include "hw/synth.h"
#include "common/io.h"
#include "qmodel/qmodel.h"
#include "cli/options.h"
#include "quant/calib_eval.h"
#include "quant/to_qmodel.h"
#include "quant/qnet_cuda.h"
#include "cli/run.h"
#include "train/float_train.h"
#include "train/rat_pipeline.h"

static int file_exists(const char *dir, const char *name) {
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void path_in(char *buf, size_t n, const char *dir, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

cJSON *ratq_run_read_json(const char *dir, const char *name) {
    char p[8192];
    path_in(p, sizeof p, dir, name);
    if (access(p, R_OK) != 0) return NULL;
    char *s = ratq_read_file(p, NULL);
    if (!s) return NULL;
    cJSON *j = cJSON_Parse(s);
    free(s);
    if (!j) ratq_error("%s: not valid JSON", p);
    return j;
}

int ratq_run_write_json(const char *dir, const char *name, cJSON *j) {
    char p[8192];
    path_in(p, sizeof p, dir, name);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    ratq_atomic_file af;
    if (!s || ratq_atomic_open(&af, p) != 0) {
        free(s);
        return -1;
    }
    fputs(s, af.f);
    fputc('\n', af.f);
    free(s);
    return ratq_atomic_commit(&af);
}

static double pct(int64_t a, int64_t n) { return n ? 100.0 * (double)a / (double)n : 0.0; }

static void add_eval(cJSON *j, const ratq_quant_eval_result *r) {
    cJSON_AddNumberToObject(j, "images", (double)r->n);
    cJSON_AddNumberToObject(j, "top1_correct", (double)r->top1);
    cJSON_AddNumberToObject(j, "top1", pct(r->top1, r->n));
    cJSON_AddNumberToObject(j, "top5", pct(r->top5, r->n));
}

static void stage_msg(const char *stage, const char *what) { fprintf(stderr, "ratq run: [%s] %s\n", stage, what); }

// ---- a. float network ----
static int stage_float(const ratq_run_ctx *c) {
    if (file_exists(c->dir, "float.ratqw") && file_exists(c->dir, "float.json")) {
        stage_msg("float", "done (float.ratqw, float.json exist): skipped");
        return 0;
    }
    double t0 = ratq_now();
    char out[8192];
    path_in(out, sizeof out, c->dir, "float.ratqw");
    ratq_effnet m;
    ratq_float_train_stats st = {0};
    ratq_float_train_config fc = ratq_float_train_config_default();
    if (c->weights) {
        stage_msg("float", "loading --weights");
        if (ratq_effnet_load(&m, c->weights) != 0) return -1;
    } else {
        ratq_dataset *tr = ratq_data_open(c->train, NULL);
        if (!tr) return -1;
        fc.arch = c->model;
        fc.images = c->train_images;
        fc.epochs = c->epochs;
        fc.batch = c->batch;
        fc.lr = c->float_lr;
        fc.progress = 1;
        char msg[256];
        snprintf(msg, sizeof msg, "training %s from scratch: %lld images, %d epochs, batch %d", c->model,
                 (long long)c->train_images, c->epochs, c->batch);
        stage_msg("float", msg);
        int rc = ratq_float_train(&m, tr, &fc, &st);
        ratq_data_close(tr);
        if (rc != 0) return -1;
    }
    int rc = ratq_effnet_save(&m, out);
    ratq_qnet q;
    ratq_quant_eval_result r = {0};
    ratq_dataset *vd = NULL;
    if (rc == 0) rc = ratq_qnet_from_effnet(&q, &m);
    ratq_effnet_free(&m);
    if (rc != 0) return -1;
    if (!(vd = ratq_data_open(c->val, NULL))) rc = -1;
    stage_msg("float", "evaluating the float (BN-folded) network");
    if (rc == 0) rc = ratq_quant_evaluate(RATQ_EVAL_FLOAT, &q, NULL, vd, c->test_images, 50, c->progress, NULL, NULL, &r);
    ratq_qnet_free(&q);
    if (vd) ratq_data_close(vd);
    if (rc != 0) return -1;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", c->model);
    cJSON_AddStringToObject(j, "weights", c->weights ? c->weights : "trained from scratch");
    cJSON_AddStringToObject(j, "train", c->train);
    cJSON_AddStringToObject(j, "val", c->val);
    if (!c->weights) {
        cJSON_AddNumberToObject(j, "train_images", (double)c->train_images);
        cJSON_AddNumberToObject(j, "epochs", c->epochs);
        cJSON_AddNumberToObject(j, "batch", fc.batch);
        cJSON_AddNumberToObject(j, "lr", fc.lr);
        cJSON_AddNumberToObject(j, "steps", (double)st.steps);
        cJSON_AddNumberToObject(j, "last_epoch_loss", st.last_loss);
        cJSON_AddNumberToObject(j, "last_epoch_train_acc", 100 * st.last_acc);
    }
    add_eval(j, &r);
    cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
    char msg[128];
    snprintf(msg, sizeof msg, "float top-1 %.2f%% on %lld images (%.0f s)", pct(r.top1, r.n), (long long)r.n,
             ratq_now() - t0);
    stage_msg("float", msg);
    return ratq_run_write_json(c->dir, "float.json", j);
}

// Calibrated quantizer from DIR/float.ratqw (deterministic: the first calib_images training images).
static int prepare(const ratq_run_ctx *c, ratq_qnet *q) {
    char fw[8192];
    path_in(fw, sizeof fw, c->dir, "float.ratqw");
    return ratq_quant_prepare(fw, c->train, c->calib_images, 50, c->progress, q);
}

// Quantize at opt, export, evaluate with the integer engine (sharded over the ranks); save model to DIR/name (if name) and return r.
// parallel = 1: every rank calls it (QAT/RAT stages); 0: rank 0 alone.
static int quantize_eval_save(const ratq_run_ctx *c, ratq_qnet *q, const ratq_quant_options *o, const ratq_dataset *vd,
                              const char *name, int parallel, ratq_quant_eval_result *r) {
    const int rank = parallel ? c->rank : 0;
    ratq_qmodel im;
    if (ratq_qnet_quantize(q, o) != 0 || ratq_qnet_to_qmodel(q, &im) != 0) return -1;
    int rc = ratq_quant_evaluate_dist(RATQ_EVAL_QMODEL, q, &im, vd, c->test_images, 50, c->progress,
                                      parallel ? c->dist : NULL, r);
    if (rc == 0 && name && rank == 0) {
        char p[8192];
        path_in(p, sizeof p, c->dir, name);
        rc = ratq_qmodel_save(&im, p);
    }
    ratq_qmodel_free(&im);
    return rc;
}

// ---- b. int8 with 31-bit rescalers ----
static int stage_int8(const ratq_run_ctx *c) {
    if (file_exists(c->dir, "int8_k31.ratqm") && file_exists(c->dir, "int8_k31.json")) {
        stage_msg("int8", "done (int8_k31.ratqm, int8_k31.json exist): skipped");
        return 0;
    }
    double t0 = ratq_now();
    stage_msg("int8", "calibration + int8 weights + 31-bit rescalers");
    ratq_qnet q;
    if (prepare(c, &q) != 0) return -1;
    ratq_dataset *vd = ratq_data_open(c->val, NULL);
    ratq_quant_options o = {.k = 31, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    ratq_quant_eval_result r = {0};
    int rc = vd ? quantize_eval_save(c, &q, &o, vd, "int8_k31.ratqm", 0, &r) : -1;
    if (vd) ratq_data_close(vd);
    ratq_qnet_free(&q);
    if (rc != 0) return -1;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "k", 31);
    cJSON_AddStringToObject(j, "rounding", "single");
    cJSON_AddNumberToObject(j, "calib_images", (double)c->calib_images);
    add_eval(j, &r);
    cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
    char msg[128];
    snprintf(msg, sizeof msg, "int8 k=31 top-1 %.2f%% (%.0f s)", pct(r.top1, r.n), ratq_now() - t0);
    stage_msg("int8", msg);
    return ratq_run_write_json(c->dir, "int8_k31.json", j);
}

// ---- c. post-training sweep ----
// The k list an artifact was made for ("bits": [...]) equals ks[0..n)?
static int same_bits(const cJSON *j, const int *ks, int n) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "bits"), *e;
    if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != n) return 0;
    int i = 0;
    cJSON_ArrayForEach(e, b) if (!cJSON_IsNumber(e) || e->valueint != ks[i++]) return 0;
    return 1;
}

static int stage_sweep(const ratq_run_ctx *c) {
    cJSON *old = ratq_run_read_json(c->dir, "sweep.json");
    if (old) {
        int same = same_bits(old, c->ks, c->nk);
        cJSON_Delete(old);
        if (same) {
            stage_msg("sweep", "done (sweep.json exists): skipped");
            return 0;
        }
        stage_msg("sweep", "sweep.json was made for other --bits: redoing it");
    }
    double t0 = ratq_now();
    ratq_qnet q;
    if (prepare(c, &q) != 0) return -1;
    ratq_dataset *vd = ratq_data_open(c->val, NULL);
    int rc = vd ? 0 : -1;
    cJSON *rows = cJSON_CreateArray();
    for (int snap = 0; snap <= 1 && rc == 0; snap++)
        for (int i = 0; i < c->nk && rc == 0; i++) {
            ratq_quant_options o = {.k = c->ks[i], .rounding = RATQ_ROUND_SINGLE, .snap = snap};
            ratq_quant_eval_result r = {0};
            if ((rc = ratq_qnet_quantize(&q, &o)) != 0) break;
            rc = ratq_quant_evaluate(RATQ_EVAL_FAKE, &q, NULL, vd, c->test_images, 50, c->progress, NULL, NULL, &r);
            if (rc) break;
            cJSON *row = cJSON_CreateObject();
            cJSON_AddNumberToObject(row, "k", o.k);
            cJSON_AddBoolToObject(row, "snap", snap);
            add_eval(row, &r);
            cJSON_AddItemToArray(rows, row);
            char msg[128];
            snprintf(msg, sizeof msg, "post-training k=%d%s: top-1 %.2f%%", o.k, snap ? " snapped" : "",
                     pct(r.top1, r.n));
            stage_msg("sweep", msg);
        }
    if (vd) ratq_data_close(vd);
    ratq_qnet_free(&q);
    if (rc != 0) {
        cJSON_Delete(rows);
        return -1;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "rounding", "single");
    cJSON_AddStringToObject(j, "engine", "fake-quant forward (bit-identical to the integer engine)");
    cJSON_AddItemToObject(j, "bits", cJSON_CreateIntArray(c->ks, c->nk));
    cJSON_AddItemToObject(j, "rows", rows);
    cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
    return ratq_run_write_json(c->dir, "sweep.json", j);
}

// ---- d. RAT ----
static void rat_name(char *buf, size_t n, const char *prefix, int k, int snap, const char *ext) {
    snprintf(buf, n, "%s_k%d%s.%s", prefix, k, snap ? "_snap" : "", ext);
}

typedef struct {
    const ratq_run_ctx *c;
    const char *stage;
    int k, snap;
} rat_stage;

// The pipeline's post-training accuracy is known: say what trains now (rank 0).
static void rat_started(const ratq_rat_result *r, void *user) {
    const rat_stage *s = user;
    if (s->c->rank != 0) return;
    char msg[256];
    snprintf(msg, sizeof msg, "k=%d%s: %d epoch(s) on %lld images (post-training top-1 %.2f%%)", s->k,
             s->snap ? " snapped" : "", s->c->rat_epochs, (long long)s->c->rat_images, pct(r->ptq.top1, r->ptq.n));
    stage_msg(s->stage, msg);
}

// Fine-tune with the integer arithmetic of k-bit rescalers in the loop (host/train/rat_train.h) from the float network:
// prefix "rat" (small k) or "qat" (k = 31: int8 quantization-aware training with 32-bit rescalers, the baseline).
static int rat_one(const ratq_run_ctx *c, const char *prefix, int k, int snap) {
    const char *stage = !strcmp(prefix, "qat") ? "qat" : "rat";
    char mname[64], jname[64];
    rat_name(mname, sizeof mname, prefix, k, snap, "ratqm");
    rat_name(jname, sizeof jname, prefix, k, snap, "json");
    int64_t done = file_exists(c->dir, mname) && file_exists(c->dir, jname); // rank 0 decides for every rank
    ratq_dist_broadcast(c->dist, &done, sizeof done, 0);
    if (done) {
        char msg[200];
        snprintf(msg, sizeof msg, "done (%s exists): skipped", mname);
        if (c->rank == 0) stage_msg(stage, msg);
        return 0;
    }
    char fw[8192], mpath[8192];
    path_in(fw, sizeof fw, c->dir, "float.ratqw");
    path_in(mpath, sizeof mpath, c->dir, mname);
    rat_stage st = {c, stage, k, snap};
    ratq_rat_job job = {.weights = fw, .train = c->train, .val = c->val, .calib_images = c->calib_images,
                        .calib_batch = 50, .val_images = c->test_images, .eval_batch = 50,
                        .quant = {.k = k, .rounding = RATQ_ROUND_SINGLE, .snap = snap},
                        .ptq_engine = RATQ_EVAL_FAKE, .final_engine = RATQ_EVAL_QMODEL, .out = mpath,
                        .on_ptq = rat_started, .user = &st};
    ratq_rat_config *cfg = &job.cfg;
    *cfg = ratq_rat_config_default();
    cfg->epochs = c->rat_epochs;
    cfg->batch = c->batch;
    cfg->limit = c->rat_images;
    cfg->lr = c->rat_lr;
    cfg->teacher = RATQ_TEACHER_FLOAT;
    cfg->distill_alpha = 0.5f;
    cfg->progress = c->progress;
    cfg->dist = c->dist;
    cfg->device = c->device;
    cfg->gpu = c->gpu;
    ratq_rat_result r;
    if (ratq_rat_pipeline(&job, &r) != 0) return -1;
    if (c->rank != 0) return 0;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "k", k);
    cJSON_AddBoolToObject(j, "snap", snap);
    cJSON_AddNumberToObject(j, "ranks", c->world);
    cJSON_AddStringToObject(j, "model", mname);
    cJSON_AddNumberToObject(j, "ptq_top1", pct(r.ptq.top1, r.ptq.n));
    add_eval(j, &r.rat);
    cJSON_AddNumberToObject(j, "steps", (double)r.stats.steps_done);
    cJSON_AddNumberToObject(j, "rat_images", (double)c->rat_images);
    cJSON_AddNumberToObject(j, "rat_epochs", c->rat_epochs);
    cJSON_AddNumberToObject(j, "lr", c->rat_lr);
    cJSON_AddItemToObject(j, "recipe", ratq_rat_recipe_json(cfg));
    cJSON_AddNumberToObject(j, "last_epoch_loss", r.stats.last_loss);
    cJSON_AddNumberToObject(j, "seconds", r.seconds);
    char msg[256];
    snprintf(msg, sizeof msg, "k=%d%s: %s top-1 %.2f%% (post-training %.2f%%, %.0f s)", k, snap ? " snapped" : "",
             !strcmp(stage, "qat") ? "QAT" : "RAT", pct(r.rat.top1, r.rat.n), pct(r.ptq.top1, r.ptq.n), r.seconds);
    stage_msg(stage, msg);
    return ratq_run_write_json(c->dir, jname, j);
}

// ---- b2. int8 QAT with 32-bit rescalers: the same training as RAT at k = 31, the fair "32-bit" baseline ----
static int stage_qat(const ratq_run_ctx *c) { return rat_one(c, "qat", 31, 0); }

static int stage_rat(const ratq_run_ctx *c) {
    cJSON *rows = cJSON_CreateArray();
    double secs = 0;
    for (int i = 0; i < c->n_rat; i++)
        for (int snap = 0; snap <= 1; snap++) {
            char jname[64];
            rat_name(jname, sizeof jname, "rat", c->rat_ks[i], snap, "json");
            cJSON *r = NULL;
            if (rat_one(c, "rat", c->rat_ks[i], snap) != 0 ||
                (c->rank == 0 && !(r = ratq_run_read_json(c->dir, jname)))) {
                cJSON_Delete(rows);
                return -1;
            }
            if (c->rank != 0) continue;
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "seconds");
            if (cJSON_IsNumber(s)) secs += s->valuedouble;
            cJSON_AddItemToArray(rows, r);
        }
    if (c->rank != 0) {
        cJSON_Delete(rows);
        return 0;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "rows", rows);
    cJSON_AddNumberToObject(j, "seconds", secs);
    return ratq_run_write_json(c->dir, "rat.json", j);
}

// ---- e. standalone C export ----
static int stage_export(const ratq_run_ctx *c) {
    if (file_exists(c->dir, "export_c.json")) {
        stage_msg("export-c", "done (export_c.json exists): skipped");
        return 0;
    }
    double t0 = ratq_now();
    const int k = c->rat_ks[0];
    char mname[64], ename[64], mpath[8192], epath[8192];
    rat_name(mname, sizeof mname, "rat", k, 0, "ratqm");
    snprintf(ename, sizeof ename, "export_c_k%d", k);
    path_in(mpath, sizeof mpath, c->dir, mname);
    path_in(epath, sizeof epath, c->dir, ename);
    if (access(epath, F_OK) == 0) { // left by an interrupted run: export-c refuses an existing folder
        const char *rm[] = {"rm", "-rf", epath, NULL};
        if (ratq_hw_run(rm, NULL, NULL) != 0) return -1;
    }
    ratq_qmodel im;
    if (ratq_qmodel_load(&im, mpath) != 0) return -1;
    char msg[8400];
    snprintf(msg, sizeof msg, "writing %s from %s", ename, mname);
    stage_msg("export-c", msg);
    int rc = ratq_export_c(&im, epath);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", mname);
    cJSON_AddStringToObject(j, "dir", ename);
    int built = 0, n = 0, agree = 0;
    char log[8400];
    snprintf(log, sizeof log, "%s/build.log", epath);
    if (rc == 0) {
        const char *mk[] = {"make", "-s", "-C", epath, NULL};
        built = ratq_hw_run(mk, log, NULL) == 0;
        if (!built) stage_msg("export-c", "make failed or no C compiler: the export is not built (see build.log)");
    }
    if (rc == 0 && built) { // classify test images with ./classify and with the engine
        ratq_dataset *vd = ratq_data_open(c->val, NULL);
        n = c->export_images;
        if (vd && ratq_data_count(vd) < n) n = (int)ratq_data_count(vd);
        const size_t per = (size_t)im.in_h * im.in_w * im.in_c;
        uint8_t *u8 = vd ? ratq_load_images_u8(vd, n, im.in_h, NULL) : NULL;
        int8_t *x = malloc(per * (size_t)(n > 0 ? n : 1)), *lq = malloc((size_t)(n > 0 ? n : 1) * im.num_classes);
        char imgdir[8400];
        snprintf(imgdir, sizeof imgdir, "%s/images", epath);
        if (!u8 || !x || !lq || mkdir(imgdir, 0777) != 0) rc = -1;
        if (rc == 0) {
            ratq_qmodel_input_from_u8(&im, u8, (int64_t)per * n, x);
            rc = ratq_qmodel_run(&im, x, n, NULL, lq, NULL);
        }
        // raw u8 files, then one ./classify run over all of them
        size_t cmdcap = 256 + (size_t)n * 64 + strlen(epath);
        char *cmd = malloc(cmdcap);
        if (!cmd) rc = -1;
        if (rc == 0) {
            size_t at = (size_t)snprintf(cmd, cmdcap, "cd '%s' && ./classify", epath);
            for (int i = 0; i < n && rc == 0; i++) {
                char p[8500];
                snprintf(p, sizeof p, "%s/img%04d.raw", imgdir, i);
                FILE *f = fopen(p, "wb");
                if (!f || fwrite(u8 + per * (size_t)i, 1, per, f) != per) rc = -1;
                if (f && fclose(f) != 0) rc = -1;
                at += (size_t)snprintf(cmd + at, cmdcap - at, " images/img%04d.raw", i);
            }
        }
        int matched = 0;
        if (rc == 0) {
            FILE *p = popen(cmd, "r");
            char line[65536];
            while (p && fgets(line, sizeof line, p)) {
                int idx, cls;
                if (sscanf(line, "images/img%d.raw: class %d", &idx, &cls) == 2 && idx >= 0 && idx < n) {
                    matched++;
                    agree += cls == ratq_qmodel_argmax(lq + (size_t)idx * im.num_classes, im.num_classes);
                }
            }
            if (!p || pclose(p) != 0 || matched != n) {
                ratq_error("run: export-c: %s/classify did not classify all %d images (%d lines)", epath, n, matched);
                rc = -1;
            }
        }
        free(cmd);
        free(u8);
        free(x);
        free(lq);
        if (vd) ratq_data_close(vd);
    }
    ratq_qmodel_free(&im);
    if (rc != 0) {
        cJSON_Delete(j);
        return -1;
    }
    cJSON_AddBoolToObject(j, "built", built);
    cJSON_AddNumberToObject(j, "images", n);
    cJSON_AddNumberToObject(j, "agree", agree);
    cJSON_AddBoolToObject(j, "match", built && agree == n);
    cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
    snprintf(msg, sizeof msg, "%s: %s, ./classify == engine on %d/%d images", ename, built ? "built" : "not built",
             agree, n);
    stage_msg("export-c", msg);
    if (built && agree != n) {
        ratq_error("run: export-c: the exported C disagrees with the engine on %d of %d images", n - agree, n);
        cJSON_Delete(j);
        return -1;
    }
    return ratq_run_write_json(c->dir, "export_c.json", j);
}

// ---- f. hardware table ----
static int find_liberty(const ratq_run_ctx *c, char *out, size_t n) {
    if (c->liberty) {
        snprintf(out, n, "%s", c->liberty);
        return access(out, R_OK) == 0 ? 0 : -1;
    }
    const char *lib = "nangate15/NanGate_15nm_OCL_typical_conditional_nldm.lib";
    const char *sd = getenv("RATQ_SHARED_DIR");
    char cand[3][8192];
    int nc = 0;
    if (sd && *sd) snprintf(cand[nc++], sizeof cand[0], "%s/pdk/%s", sd, lib);
    snprintf(cand[nc++], sizeof cand[0], "%s/../../shared/pdk/%s", c->exe_dir, lib); // <src>/build-x/ratq
    snprintf(cand[nc++], sizeof cand[0], "%s/../shared/pdk/%s", c->exe_dir, lib);
    for (int i = 0; i < nc; i++)
        if (access(cand[i], R_OK) == 0) {
            char *abs = realpath(cand[i], NULL);
            const char *src = abs ? abs : cand[i];
            size_t l = strlen(src);
            if (l < n) memcpy(out, src, l + 1);
            free(abs);
            return l < n ? 0 : -1;
        }
    return -1;
}

// The hardware stage starts first, in a child process (`ratq hw --json`, its stdout through a pipe), so synthesis runs on a second
// core while the network trains; hw_finish reads its JSON table at the end. *pp = NULL when nothing was started
// (done before, or skipped: hw.json written here).
typedef struct {
    FILE *out;  // the child's stdout
    pid_t pid;  // the child, leader of its own process group (so a failed run can stop the whole synthesis)
    char request[8192 + 512]; // "macs ...; bits ...; <library>", stored in hw.json
} hw_child;

static int hw_wait(hw_child *h) { // 0 if the child exited with status 0
    int st = 0;
    if (h->out) fclose(h->out);
    h->out = NULL;
    if (h->pid <= 0) return -1;
    pid_t r;
    while ((r = waitpid(h->pid, &st, 0)) < 0 && errno == EINTR) {}
    h->pid = 0;
    return r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void hw_stop(hw_child *h) {
    if (h->pid > 0) kill(-h->pid, SIGTERM);
    hw_wait(h);
}

static int hw_start(const ratq_run_ctx *c, int disabled, int force_proxy, hw_child *hc, char *cmd, size_t cmdn) {
    hc->out = NULL;
    hc->pid = 0;
    char lib[8192];
    // a Liberty library (--liberty, or NanGate 15 nm from ../shared/pdk) gives um^2 / ps; without one the
    // library-free proxy (`ratq hw --generic`: yosys NAND/NOR/NOT mapping, transistors and gate levels)
    const int have = !disabled && !force_proxy && find_liberty(c, lib, sizeof lib) == 0;
    if (!have && c->liberty) {
        ratq_error("run: --liberty %s: cannot read the file", c->liberty);
        return -1;
    }
    char macs[64] = "", bits[256] = "32";
    for (int i = 0; i < c->n_hw_macs; i++)
        snprintf(macs + strlen(macs), sizeof macs - strlen(macs), "%s%d", i ? "," : "", c->hw_macs[i]);
    for (int i = 0; i < c->nk; i++)
        if (c->ks[i] < 31) snprintf(bits + strlen(bits), sizeof bits - strlen(bits), ",%d", c->ks[i]);
    // what this run asks for; an hw.json made for another request (other --bits, another library) is redone
    snprintf(hc->request, sizeof hc->request, "macs %s; bits %s; %s", macs, bits,
             disabled ? "none" : have ? lib : "generic");
    cJSON *old = ratq_run_read_json(c->dir, "hw.json");
    if (old) {
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(old, "request");
        int same = cJSON_IsString(rq) && !strcmp(rq->valuestring, hc->request);
        int skipped = cJSON_GetObjectItemCaseSensitive(old, "skipped") != NULL;
        cJSON_Delete(old);
        if (same && (!skipped || disabled)) {
            stage_msg("hw", "done (hw.json exists): skipped");
            return 0;
        }
        stage_msg("hw", "hw.json was made for another request (--bits, library or --no-hw): redoing it");
    }
    if (disabled) {
        stage_msg("hw", "--no-hw given");
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "skipped", "--no-hw given");
        cJSON_AddStringToObject(j, "request", hc->request);
        return ratq_run_write_json(c->dir, "hw.json", j);
    }
    if (have)
        snprintf(cmd, cmdn, "'%s/ratq' hw --json -j 1 --macs %s --bits %s --liberty '%s'", c->exe_dir, macs, bits,
                 lib);
    else
        snprintf(cmd, cmdn, "'%s/ratq' hw --generic --json -j 1 --macs %s --bits %s", c->exe_dir, macs, bits);
    char msg[20100];
    snprintf(msg, sizeof msg, "%s synthesis in the background (cached per design): %s",
             have ? "Liberty" : "no Liberty library found: library-free proxy", cmd);
    stage_msg("hw", msg);
    fflush(NULL);
    char exe[8192];
    snprintf(exe, sizeof exe, "%s/ratq", c->exe_dir);
    const char *argv_lib[] = {exe, "hw", "--json", "-j", "1", "--macs", macs, "--bits", bits, "--liberty", lib, NULL};
    const char *argv_gen[] = {exe, "hw", "--generic", "--json", "-j", "1", "--macs", macs, "--bits", bits, NULL};
    const char *const *argv = have ? argv_lib : argv_gen;
    int fd[2];
    if (pipe(fd) != 0) {
        ratq_error("run: hw: pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    if (pid < 0) {
        close(fd[0]);
        ratq_error("run: hw: fork: %s", strerror(errno));
        return -1;
    }
    setpgid(pid, pid);
    hc->pid = pid;
    hc->out = fdopen(fd[0], "r");
    return 0;
}

static int hw_finish(const ratq_run_ctx *c, hw_child *hc, const char *cmd, double t0) {
    if (!hc->pid) return 0;
    FILE *p = hc->out;
    stage_msg("hw", "waiting for the synthesis results");
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = p && buf ? 0 : -1;
    while (rc == 0) {
        if (len + 4096 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = -1;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = rc == 0 ? fread(buf + len, 1, cap - len - 1, p) : 0;
        if (got == 0) break;
        len += got;
    }
    if (hw_wait(hc) != 0) rc = -1;
    cJSON *j = NULL;
    if (rc == 0) {
        buf[len] = 0;
        j = cJSON_Parse(buf);
    }
    free(buf);
    if (!j || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "rows"))) {
        cJSON_Delete(j);
        // no numbers rather than invented ones; a rerun retries (a "skipped" hw.json is redone when a Liberty
        // file is found)
        ratq_error("run: hw: '%s' failed or printed no table (errors above); the report says so", cmd);
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "skipped", "the synthesis flow failed (yosys / OpenSTA missing or an error; "
                                              "rerun ratq run to retry)");
        return ratq_run_write_json(c->dir, "hw.json", j);
    }
    cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
    cJSON_AddStringToObject(j, "request", hc->request);
    cJSON_AddStringToObject(j, "note", "ran in the background during the other stages (seconds = wall time until "
                                       "its table was read)");
    return ratq_run_write_json(c->dir, "hw.json", j);
}

// The stages in order. On several ranks: "qat" and "rat" run on every rank (data-parallel), the others on rank 0
// while the rest wait at a barrier without deadline; a rank that fails while others depend on it exits at once
// (_exit: mpirun tears the job down, TCP peers see the closed socket) instead of leaving them waiting.
static int run_stages(ratq_run_ctx *cp, int no_hw, int hw_proxy) {
    const ratq_run_ctx c = *cp;
    const int lead = c.rank == 0;
    double t0 = ratq_now();
    cJSON *tim = cJSON_CreateObject();
    static hw_child hwp;
    static char hwcmd[20000];
    if (lead && hw_start(&c, no_hw, hw_proxy, &hwp, hwcmd, sizeof hwcmd) != 0) {
        cJSON_Delete(tim);
        if (c.world > 1) {
            fflush(NULL);
            _exit(2);
        }
        return 2;
    }
    struct {
        const char *name;
        int (*fn)(const ratq_run_ctx *);
        int parallel;
    } stages[] = {{"float", stage_float, 0}, {"int8", stage_int8, 0}, {"qat", stage_qat, 1},
                  {"sweep", stage_sweep, 0}, {"rat", stage_rat, 1}, {"export-c", stage_export, 0}};
    for (size_t s = 0; s < sizeof stages / sizeof stages[0]; s++) {
        double ts = ratq_now();
        if (c.world > 1 && stages[s].parallel) ratq_dist_barrier_wait(c.dist, 0);
        if ((lead || stages[s].parallel) && stages[s].fn(&c) != 0) {
            cJSON_Delete(tim);
            if (lead) hw_stop(&hwp);
            ratq_error("run: stage %s failed (artifacts of finished stages are kept in %s; rerun to continue)",
                       stages[s].name, c.dir);
            if (c.world > 1) {
                fflush(NULL);
                _exit(2);
            }
            return 2;
        }
        cJSON_AddNumberToObject(tim, stages[s].name, ratq_now() - ts);
    }
    if (!lead) {
        cJSON_Delete(tim);
        return 0;
    }
    double ts = ratq_now();
    if (hw_finish(&c, &hwp, hwcmd, t0) != 0) {
        cJSON_Delete(tim);
        return 2;
    }
    cJSON_AddNumberToObject(tim, "hw", ratq_now() - ts);
    if (ratq_run_write_json(c.dir, "run_timings.json", tim) != 0) return 2;
    return ratq_run_report(&c, ratq_now() - t0) == 0 ? 0 : 2;
}

int cmd_run(int argc, char **argv) {
    ratq_run_ctx c;
    memset(&c, 0, sizeof c);
    const char *dir = "ratq-run", *train = NULL, *val = NULL;
    int64_t train_images = 0, test_images = 0, calib_images = 0, rat_images = 0;
    int epochs = 0, rat_epochs = 0, no_hw = 0, hw_proxy = 0, device = RATQ_DEVICE_CPU, nk = 0, n_rat = 0;
    c.model = "tiny";
    ratq_opt opts[] = {
        {RATQ_OPT("-o", RATQ_OPT_STRING, &dir, "DIR", "output folder (default ratq-run)"), .alias = "--output"},
        {RATQ_OPT("--quick", RATQ_OPT_FLAG, &c.quick, NULL, "reduced run (a few hundred images, a few steps) for tests")},
        {RATQ_OPT("--model", RATQ_OPT_STRING, &c.model, "NAME",
         "tiny (default: trained from scratch on Fashion-MNIST) | efficientnet-lite0")},
        {RATQ_OPT("--weights", RATQ_OPT_STRING, &c.weights, "FILE",
         "float weights (.ratqw) instead of training (required for efficientnet-lite0:\npython3 scripts/get_weights.py "
         "--model efficientnet-lite0 -o FILE)")},
        {RATQ_OPT("--train", RATQ_OPT_STRING, &train, "PATH",
         "training / calibration data (default Fashion-MNIST train, Debian\ndataset-fashion-mnist, $RATQ_FASHION_MNIST "
         "overrides the folder)")},
        {RATQ_OPT("--val", RATQ_OPT_STRING, &val, "PATH", "validation data (default Fashion-MNIST t10k)")},
        {RATQ_OPT("--bits", RATQ_OPT_INT_LIST, c.ks, "LIST", "post-training sweep k (default 31,16,8,6,5,4,3,2,1)"), .lo = 1,
         .hi = 31, .count = &nk, .max_count = RATQ_RUN_MAX_K},
        {RATQ_OPT("--rat-bits", RATQ_OPT_INT_LIST, c.rat_ks, "LIST", "RAT k (default 4,3)"), .lo = 1, .hi = 31, .count = &n_rat,
         .max_count = RATQ_RUN_MAX_K},
        {RATQ_OPT("--liberty", RATQ_OPT_STRING, &c.liberty, "FILE",
         "Liberty library for the hardware table (default: search ../shared/pdk)")},
        {RATQ_OPT("--no-hw", RATQ_OPT_FLAG, &no_hw, NULL, "skip the hardware table")},
        {RATQ_OPT("--hw-proxy", RATQ_OPT_FLAG, &hw_proxy, NULL,
         "library-free hardware proxy (yosys transistors / gate levels) even when a\nLiberty library is found (used "
         "automatically when none is)")},
        {RATQ_OPT("--train-images", RATQ_OPT_I64, &train_images, "N", "float training images (default 8000, --quick 320)"),
         .lo = 1, .hi = INT64_MAX},
        {RATQ_OPT("--test-images", RATQ_OPT_I64, &test_images, "N", "validation images (default 2000, --quick 200)"), .lo = 1,
         .hi = INT64_MAX},
        {RATQ_OPT("--calib-images", RATQ_OPT_I64, &calib_images, "N", "calibration images (default 1000, --quick 100)"), .lo = 1,
         .hi = INT64_MAX},
        {RATQ_OPT("--rat-images", RATQ_OPT_I64, &rat_images, "N", "QAT / RAT training images (default 2000, --quick 64)"), .lo = 1,
         .hi = INT64_MAX},
        {RATQ_OPT("--epochs", RATQ_OPT_INT, &epochs, "N", "float training epochs (default 3, --quick 1)"), .lo = 1, .hi = 1000},
        {RATQ_OPT("--rat-epochs", RATQ_OPT_INT, &rat_epochs, "N", "QAT / RAT epochs (default 1)"), .lo = 1, .hi = 1000},
        {RATQ_OPT("--device", RATQ_OPT_ENUM, &device, NULL,
         "where the QAT / RAT training steps run (default cpu; cuda: the whole step on one\nGPU per rank, as `ratq "
         "finetune --device cuda`; cuda-host: only their forward /\nbackward; the other stages stay on the CPU)"),
         .names = RATQ_CLI_DEVICE_NAMES},
        {RATQ_OPT("--json", RATQ_OPT_FLAG, &c.json, NULL, "one JSON summary line on stdout instead of the text summary")},
    };
    ratq_cli cli = {RATQ_CLI("run", "run [-o DIR] [--quick] [options]\n"
                    "  Float network -> int8 (31-bit rescalers) -> post-training k sweep -> Rescale-Aware Training at "
                    "small k\n  -> integer models, standalone C export, hardware table, DIR/report.md. A rerun skips "
                    "finished stages.",
                    "Several ranks: mpirun -np N ratq run ... (or RATQ_RANK/RATQ_WORLD_SIZE/RATQ_MASTER_ADDR/PORT): QAT "
                    "and\nRAT train data-parallel (batch 32 per rank), rank 0 runs the other stages and writes DIR.",
                             opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    c.device = device;
    if (strcmp(c.model, "tiny") && strcmp(c.model, "efficientnet-lite0") && strcmp(c.model, "lite0")) {
        ratq_error("run: --model %s: expected tiny or efficientnet-lite0", c.model);
        return 2;
    }
    if (strcmp(c.model, "tiny") && (!c.weights || !train || !val)) {
        ratq_error("run: --model %s needs --weights FILE.ratqw (scripts/get_weights.py), --train DIR and --val DIR",
                   c.model);
        return 2;
    }
    const char *fm = getenv("RATQ_FASHION_MNIST");
    if (!fm || !*fm) fm = "/usr/share/datasets/fashion-mnist";
    if (train) snprintf(c.train, sizeof c.train, "%s", train);
    else snprintf(c.train, sizeof c.train, "%s/train", fm);
    if (val) snprintf(c.val, sizeof c.val, "%s", val);
    else snprintf(c.val, sizeof c.val, "%s/t10k", fm);
    // sizes: the default fits 15 minutes on 2 cores; --quick is the test's reduced run
    c.train_images = c.quick ? 320 : 8000;
    c.test_images = c.quick ? 200 : 2000;
    c.calib_images = c.quick ? 100 : 1000;
    c.rat_images = c.quick ? 64 : 2000;
    c.epochs = c.quick ? 1 : 3;
    c.rat_epochs = 1;
    c.batch = 32;
    c.float_lr = 0.05;
    c.rat_lr = 0.003;
    c.export_images = c.quick ? 8 : 32;
    if (train_images > 0) c.train_images = train_images;
    if (test_images > 0) c.test_images = test_images;
    if (calib_images > 0) c.calib_images = calib_images;
    if (rat_images > 0) c.rat_images = rat_images;
    if (epochs > 0) c.epochs = epochs;
    if (rat_epochs > 0) c.rat_epochs = rat_epochs;
    static const int def_ks[] = {31, 16, 8, 6, 5, 4, 3, 2, 1}, quick_ks[] = {31, 8, 4, 3};
    c.nk = nk;
    if (!nk) {
        c.nk = c.quick ? 4 : 9;
        memcpy(c.ks, c.quick ? quick_ks : def_ks, sizeof(int) * (size_t)c.nk);
    }
    c.n_rat = n_rat;
    if (!n_rat) {
        c.n_rat = 2;
        c.rat_ks[0] = 4;
        c.rat_ks[1] = 3;
    }
    static const int def_macs[] = {0, 4, 8, 16};
    c.n_hw_macs = c.quick ? 1 : 4; // --quick: the rescaler alone
    memcpy(c.hw_macs, def_macs, sizeof(int) * (size_t)c.n_hw_macs);
    c.progress = ratq_cli_progress(c.json);
    snprintf(c.dir, sizeof c.dir, "%s", dir);
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el > 0) {
        exe[el] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(c.exe_dir, sizeof c.exe_dir, "%s", exe);
    } else
        snprintf(c.exe_dir, sizeof c.exe_dir, ".");
    if (mkdir(c.dir, 0777) != 0 && errno != EEXIST) {
        ratq_error("run: %s: cannot create the output folder: %s", c.dir, strerror(errno));
        return 2;
    }
    ratq_dist_options dopt = {.backend = RATQ_DIST_AUTO, .timeout_s = 0};
    if (!(c.dist = ratq_dist_init(&dopt))) return 2;
    c.rank = ratq_dist_rank(c.dist);
    c.world = ratq_dist_world(c.dist);
    if (c.rank != 0) c.progress = 0;
    if (c.device != RATQ_DEVICE_CPU && (c.gpu = ratq_qnet_cuda_select(ratq_dist_local_rank(c.dist))) < 0) {
        ratq_dist_finalize(c.dist); // the error line says why (built without CUDA / no device)
        return 2;
    }
    if (hw_proxy && c.liberty) {
        ratq_error("run: --hw-proxy and --liberty exclude each other");
        return 2;
    }
    int rc = run_stages(&c, no_hw, hw_proxy);
    ratq_dist_finalize(c.dist);
    return rc;
}
