// cmd_eval.c — `ratq eval --model FILE --data PATH [--limit N] [--batch B] [--json] [--threads T] [--workers W]
//                        [--transform auto|none|eval] [--classes SYNSETS] [--engine fast|ref]`
//
// Float accuracy (inference mode: BN folded into the convs, models/efficientnet_lite.h) of an EfficientNet-Lite weight file (.ratqw, models/weights.h) on a dataset (host/data/data.h:
// shard file or folder, .npz file or folder, JPEG folder tree, IDX). Images are mapped to (x - 127) / 128.
// Transform: auto = "none" when every image is stored at the model's resolution (e.g. imagenet_sample, already
// resized 256 + center-cropped 224), else "eval" (torchvision Resize(res*256/224) + CenterCrop(res), Pillow
// bilinear). Prints top-1, top-5, image count and images/s; --json prints one JSON object instead
// ({"top1", "top5", "images", "images_per_s", "model", "arch", "data"}). A progress bar goes to stderr when it is a
// terminal. Exit codes: 0 ok, 2 bad usage, bad or mismatched files (one error line).
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli/commands.h"
#include "data/data.h"
#include "models/efficientnet_lite.h"
#include "common/io.h"
#include "cli/options.h"
#include "quant/calib_eval.h"

static void progress(int64_t done, int64_t total, double rate) {
    const int width = 30;
    int fill = total > 0 ? (int)(width * done / total) : width;
    fprintf(stderr, "\r[");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : ' ', stderr);
    fprintf(stderr, "] %lld/%lld  %.1f images/s ", (long long)done, (long long)total, rate);
    fflush(stderr);
}

// An integer model (.ratqm, magic "RATQM") is evaluated with the CPU integer engine (host/quant/calib_eval.h).
static int is_integer_model(const char *path) {
    char magic[5] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0; // the float loader reports the error
    size_t got = fread(magic, 1, 5, f);
    fclose(f);
    return got == 5 && !memcmp(magic, "RATQM", 5);
}

static int eval_integer(const char *model_path, const char *data_path, int64_t limit, int batch, int json,
                        ratq_engine engine) {
    ratq_quant_eval_result r;
    double t0 = ratq_now();
    if (ratq_qmodel_eval(model_path, data_path, limit, batch, isatty(fileno(stderr)) && !json, engine, &r)) return 2;
    double dt = ratq_now() - t0, rate = r.n / (dt > 0 ? dt : 1e-9);
    double t1 = r.n ? (double)r.top1 / r.n : 0, t5 = r.n ? (double)r.top5 / r.n : 0;
    if (json)
        printf("{\"model\":\"%s\",\"engine\":\"int\",\"int_engine\":\"%s\",\"data\":\"%s\",\"images\":%lld,"
               "\"top1\":%.17g,\"top5\":%.17g,\"images_per_s\":%.6g}\n", model_path, ratq_engine_name(engine), data_path,
               (long long)r.n, t1, t5, rate);
    else
        printf("model   %s (integer, CPU integer engine: %s)\ndata    %s\nimages  %lld\ntop-1   %.4f (%lld)\n"
               "top-5   %.4f (%lld)\nspeed   %.1f images/s (batch %d)\n", model_path, ratq_engine_name(engine),
               data_path, (long long)r.n, t1, (long long)r.top1, t5, (long long)r.top5, rate, batch);
    return 0;
}

int cmd_eval(int argc, char **argv) {
    const char *model_path = NULL, *data_path = NULL, *classes = NULL;
    int64_t limit = -1;
    int batch = 32, threads = 0, workers = 2, json = 0, tf = 0, eng = RATQ_ENGINE_FAST;
    static const char *const transforms[] = {"auto", "none", "eval", NULL};
    static const char *const engines[] = {"ref", "fast", NULL}; // indexed by ratq_engine
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model_path, "FILE",
                  "weight file (.ratqw; python3 scripts/get_weights.py --model efficientnet-lite0 -o FILE),\nor an "
                  "integer model (.ratqm: evaluated with the CPU integer engine)"), .required = 1},
        {RATQ_OPT("--data", RATQ_OPT_STRING, &data_path, "PATH",
                  "shard file or folder, .npz file or folder, JPEG folder tree <root>/<class>/*.jpg"), .required = 1},
        {RATQ_OPT("--limit", RATQ_OPT_I64, &limit, "N", "evaluate the first N images only (default all)"), .lo = 1,
         .hi = 1LL << 40},
        {RATQ_OPT("--batch", RATQ_OPT_INT, &batch, "B", "images per forward (default 32)"), .lo = 1, .hi = 4096},
        {RATQ_OPT("--json", RATQ_OPT_FLAG, &json, NULL, "print one JSON object {top1, top5, images, images_per_s, ...}")},
        {RATQ_OPT("--threads", RATQ_OPT_INT, &threads, "T", "OpenMP threads (default: OMP_NUM_THREADS or all cores)"),
         .lo = 1, .hi = 1024},
        {RATQ_OPT("--workers", RATQ_OPT_INT, &workers, "W", "decoding threads (default 2)"), .lo = 0, .hi = 256},
        {RATQ_OPT("--transform", RATQ_OPT_ENUM, &tf, NULL,
                  "auto (default), none (images must be stored at the model resolution), eval (resize+crop)"),
         .names = transforms},
        {RATQ_OPT("--classes", RATQ_OPT_STRING, &classes, "SYNSETS",
                  "JPEG trees: synsets.txt giving each class folder's label (default: sorted folders)")},
        {RATQ_OPT("--engine", RATQ_OPT_ENUM, &eng, NULL,
                  "integer models: fast (default, kernels/cpu/int_fast.h) or ref (the reference loops); same results"),
         .names = engines},
    };
    ratq_cli cli = {RATQ_CLI("eval", "eval --model FILE --data PATH [options]", NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    const char *transform = transforms[tf];
    const ratq_engine engine = (ratq_engine)eng;
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads((int)threads);
#endif

    if (is_integer_model(model_path)) return eval_integer(model_path, data_path, limit, batch, json, engine);
    ratq_effnet m;
    if (ratq_effnet_load(&m, model_path) != 0) return 2;
    ratq_data_options dopt = {.classes_file = classes};
    ratq_dataset *ds = ratq_data_open(data_path, &dopt);
    if (!ds) {
        ratq_effnet_free(&m);
        return 2;
    }
    int rc = 2;
    ratq_loader *ld = NULL;
    float *x = NULL;
    const int R = m.cfg.resolution, K = m.cfg.num_classes;
    ratq_data_info info = ratq_data_get_info(ds);
    if (info.min_label < 0 || info.max_label >= K) {
        ratq_error("%s: labels: range [%lld, %lld] does not fit the model's %d classes (%s)", data_path,
                   (long long)info.min_label, (long long)info.max_label, K, model_path);
        goto done;
    }
    ratq_loader_config lc = ratq_loader_config_default();
    lc.batch_size = batch;
    lc.num_workers = workers;
    int stored_at_res = info.height == R && info.width == R;
    if (!strcmp(transform, "none") || (!strcmp(transform, "auto") && stored_at_res))
        lc.tf = ratq_transform_none(R);
    else
        lc.tf = ratq_transform_eval(R);
    lc.tf.out_channels = 3;
    if (ratq_transform_check(&lc.tf, &info) != 0) goto done;
    ld = ratq_loader_create(ds, &lc);
    if (!ld || ratq_loader_start_epoch(ld, 0) != 0) goto done;
    int64_t total = ratq_loader_num_samples(ld);
    if (limit > 0 && limit < total) total = limit;
    x = malloc((size_t)batch * R * R * 3 * sizeof(float));
    if (!x) {
        ratq_error("eval: out of memory");
        goto done;
    }
    const int bar = isatty(fileno(stderr)) && !json;
    int64_t seen = 0, top1 = 0, top5 = 0, nonfinite = 0, first_bad = -1;
    double t0 = ratq_now();
    ratq_batch b;
    int r;
    while (seen < total && (r = ratq_loader_next(ld, &b)) == 1) {
        int n = b.n;
        if (seen + n > total) n = (int)(total - seen);
        if (b.h != R || b.w != R || b.c != 3) {
            ratq_error("%s: images: batch of %dx%dx%d, the model needs %dx%dx3", data_path, b.h, b.w, b.c, R, R);
            goto done;
        }
        ratq_effnet_preprocess_u8(b.images, (size_t)n * R * R * 3, x);
        const float *logits = ratq_effnet_forward(&m, x, n, RATQ_EFFNET_INFER, 0);
        if (!logits) goto done;
        for (int i = 0; i < n; i++) {
            const float *y = logits + (size_t)i * K;
            const int64_t label = b.labels[i];
            // A NaN or Inf logit is a wrong answer (a NaN compares false: the rank test alone would count a hit).
            if (!ratq_quant_row_finite(y, K)) {
                if (nonfinite++ == 0) first_bad = b.index[i];
                continue;
            }
            // rank of the true class: classes with a larger logit, ties broken by the smaller index first
            int rank = 0;
            for (int j = 0; j < K; j++)
                if (y[j] > y[label] || (y[j] == y[label] && j < label)) rank++;
            top1 += rank == 0;
            top5 += rank < 5;
        }
        seen += n;
        if (bar) progress(seen, total, seen / (ratq_now() - t0));
    }
    if (bar) fputc('\n', stderr);
    if (seen < total) goto done; // loader error (already reported)
    if (nonfinite) {
        char where[512];
        ratq_error("%s: logits: %lld of %lld images give NaN or Inf (first: %s; counted wrong: top-1 %lld, top-5 "
                   "%lld); the weights overflow float",
                   model_path, (long long)nonfinite, (long long)seen,
                   ratq_data_describe(ds, first_bad, where, sizeof where), (long long)top1, (long long)top5);
        goto done;
    }
    double dt = ratq_now() - t0, rate = seen / (dt > 0 ? dt : 1e-9);
    double t1 = seen ? (double)top1 / seen : 0, t5 = seen ? (double)top5 / seen : 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", model_path);
        cJSON_AddStringToObject(o, "arch", m.cfg.arch);
        cJSON_AddStringToObject(o, "data", data_path);
        cJSON_AddNumberToObject(o, "images", (double)seen);
        cJSON_AddNumberToObject(o, "top1", t1);
        cJSON_AddNumberToObject(o, "top5", t5);
        cJSON_AddNumberToObject(o, "images_per_s", rate);
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("model   %s (%s, %dx%d, %d classes)\n", model_path, m.cfg.arch, R, R, K);
        printf("data    %s\n", data_path);
        printf("images  %lld\n", (long long)seen);
        printf("top-1   %.4f (%lld)\n", t1, (long long)top1);
        printf("top-5   %.4f (%lld)\n", t5, (long long)top5);
        printf("speed   %.1f images/s (batch %d)\n", rate, batch);
    }
    rc = 0;
done:
    free(x);
    ratq_loader_destroy(ld);
    ratq_data_close(ds);
    ratq_effnet_free(&m);
    return rc;
}
