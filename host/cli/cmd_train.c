// cmd_train.c — `ratq train`: train an EfficientNet-Lite from scratch in float on the CPU (host/train/float_train.h)
// and write its weights (.ratqw); with --val, the float top-1 / top-5 of the BN-folded network on it.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "common/io.h"
#include "cli/options.h"
#include "quant/calib_eval.h"
#include "train/float_train.h"

int cmd_train(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *val = NULL;
    ratq_float_train_config cfg = ratq_float_train_config_default();
    int64_t limit = 0;
    int json = 0;
    ratq_opt opts[] = {
        {RATQ_OPT("--data", RATQ_OPT_STRING, &data, "PATH", "training data"), .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "OUT.ratqw", "the trained float weights"), .alias = "--output",
         .required = 1},
        {RATQ_OPT("--model", RATQ_OPT_STRING, &cfg.arch, "NAME", "architecture (default tiny: 32x32, 10 classes)")},
        {RATQ_OPT("--classes", RATQ_OPT_INT, &cfg.num_classes, "N", "number of classes (default 10)"), .lo = 1,
         .hi = 1 << 20},
        {RATQ_OPT("--resolution", RATQ_OPT_INT, &cfg.resolution, "R", "input resolution (default 32)"), .lo = 1,
         .hi = 1 << 20},
        {RATQ_OPT("--images", RATQ_OPT_I64, &cfg.images, "N", "first N training images (default all)"), .lo = 1,
         .hi = 1 << 20},
        {RATQ_OPT("--epochs", RATQ_OPT_INT, &cfg.epochs, "E", "(default 6)"), .lo = 1, .hi = 1 << 20},
        {RATQ_OPT("--batch", RATQ_OPT_INT, &cfg.batch, "B", "(default 32)"), .lo = 1, .hi = 1 << 20},
        {RATQ_OPT("--lr", RATQ_OPT_DOUBLE, &cfg.lr, "LR", "peak learning rate, cosine to 0 (default 0.05)"), .dlo = 0,
         .dhi = INFINITY, .open = RATQ_OPT_OPEN_LO},
        {RATQ_OPT("--seed", RATQ_OPT_U64, &cfg.seed, "S", "weights and data order (default 4242)")},
        {RATQ_OPT("--val", RATQ_OPT_STRING, &val, "PATH", "evaluate the trained network on PATH")},
        {RATQ_OPT("--limit", RATQ_OPT_I64, &limit, "N", "evaluate the first N images of --val (default all)"), .lo = 0,
         .hi = INT64_MAX},
        {RATQ_OPT("--json", RATQ_OPT_FLAG, &json, NULL, "one JSON object on stdout")},
    };
    ratq_cli cli = {RATQ_CLI("train", "train --data PATH -o OUT.ratqw [options]", NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    cfg.progress = ratq_cli_progress(json);
    double t0 = ratq_now();
    ratq_dataset *ds = ratq_data_open(data, NULL);
    if (!ds) return 2;
    ratq_effnet m;
    ratq_float_train_stats st;
    int rc = ratq_float_train(&m, ds, &cfg, &st);
    ratq_data_close(ds);
    if (rc != 0) return 2;
    rc = ratq_effnet_save(&m, out);
    ratq_quant_eval_result r = {0};
    if (rc == 0 && val) {
        ratq_qnet q;
        ratq_dataset *vd = NULL;
        if ((rc = ratq_qnet_from_effnet(&q, &m)) == 0) {
            if (!(vd = ratq_data_open(val, NULL))) rc = -1;
            if (rc == 0) rc = ratq_quant_evaluate(RATQ_EVAL_FLOAT, &q, NULL, vd, limit, 50, cfg.progress, NULL, NULL, &r);
            if (vd) ratq_data_close(vd);
            ratq_qnet_free(&q);
        }
    }
    ratq_effnet_free(&m);
    if (rc != 0) return 2;
    double top1 = r.n ? 100.0 * (double)r.top1 / (double)r.n : 0, top5 = r.n ? 100.0 * (double)r.top5 / (double)r.n : 0;
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "command", "train");
        cJSON_AddStringToObject(j, "output", out);
        cJSON_AddNumberToObject(j, "steps", (double)st.steps);
        cJSON_AddNumberToObject(j, "last_epoch_loss", st.last_loss);
        cJSON_AddNumberToObject(j, "last_epoch_train_acc", 100 * st.last_acc);
        if (val) {
            cJSON_AddNumberToObject(j, "images", (double)r.n);
            cJSON_AddNumberToObject(j, "top1", top1);
            cJSON_AddNumberToObject(j, "top5", top5);
        }
        cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
        ratq_cli_print_json(j);
    } else {
        printf("trained %s: %lld steps, last epoch loss %.4f, train accuracy %.2f%% -> %s (%.1f s)\n", cfg.arch,
               (long long)st.steps, st.last_loss, 100 * st.last_acc, out, ratq_now() - t0);
        if (val) printf("float (BN folded) on %lld images of %s: top-1 %.2f%%, top-5 %.2f%%\n", (long long)r.n, val, top1, top5);
    }
    return 0;
}
