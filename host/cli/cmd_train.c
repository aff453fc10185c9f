// cmd_train.c — `ratq train`: train an EfficientNet-Lite from scratch in float on the CPU (host/train/float_train.h)
// and write its weights (.ratqw); with --val, the float top-1 / top-5 of the BN-folded network on it.
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "common/io.h"
#include "cli/options.h"
#include "quant/calib_eval.h"
#include "train/float_train.h"

static void usage(FILE *f) {
    fprintf(f, "usage: ratq train --data PATH -o OUT.ratqw [options]\n"
               "  --model NAME     architecture (default tiny: 32x32, 10 classes)\n"
               "  --classes N      number of classes (default 10)   --resolution R (default 32)\n"
               "  --images N       first N training images (default all)\n"
               "  --epochs E       (default 6)   --batch B (default 32)   --lr LR (default 0.05, cosine)\n"
               "  --seed S         weights and data order (default 4242)\n"
               "  --val PATH       evaluate the trained network on PATH   --limit N: its first N images\n"
               "  --json           one JSON object on stdout\n");
}

int cmd_train(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *val = NULL;
    ratq_float_train_config cfg = ratq_float_train_config_default();
    long long v, limit = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *s;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!(s = ratq_cli_value(argc, argv, &i, "train"))) return 2;
        if (!strcmp(a, "--data")) data = s;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = s;
        else if (!strcmp(a, "--val")) val = s;
        else if (!strcmp(a, "--model")) cfg.arch = s;
        else if (!strcmp(a, "--lr")) {
            if (ratq_cli_double("train", a, s, &cfg.lr) != 0 || !(cfg.lr > 0)) {
                if (cfg.lr <= 0) ratq_error("train: --lr must be > 0");
                return 2;
            }
        } else {
            static const char *const names[] = {"--classes", "--resolution", "--images", "--epochs", "--batch",
                                                "--seed", "--limit"};
            int which = -1;
            for (int o = 0; o < 7; o++)
                if (!strcmp(a, names[o])) which = o;
            if (which < 0) {
                ratq_error("train: unknown option '%s' (see 'ratq train --help')", a);
                return 2;
            }
            if (ratq_cli_int("train", a, s, which == 5 || which == 6 ? 0 : 1, which >= 5 ? INT64_MAX : 1 << 20, &v))
                return 2;
            if (which == 0) cfg.num_classes = (int)v;
            else if (which == 1) cfg.resolution = (int)v;
            else if (which == 2) cfg.images = v;
            else if (which == 3) cfg.epochs = (int)v;
            else if (which == 4) cfg.batch = (int)v;
            else if (which == 5) cfg.seed = (uint64_t)v;
            else limit = v;
        }
    }
    if (!data || !out) {
        ratq_error("train: --data and -o are required (see 'ratq train --help')");
        return 2;
    }
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
