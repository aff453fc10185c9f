// cmd_sweep.c — `ratq sweep`: post-training quantization at several rescaler widths k; per k: top-1, top-5 and
// agreement of the integer model's top-1 with the float (folded) model's top-1 on the same images.
// Calibration runs once; for each k the weights are re-quantized (ratq_qnet_quantize: with --snap-scales the
// weight scales depend on k) and the integer model is evaluated with the CPU integer engine (ratq_qmodel_run),
// or with --engine fake by the bit-identical fake-quant forward (faster: dgemm accumulation).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "common/io.h"
#include "cli/options.h"
#include "quant/calib_eval.h"
#include "quant/to_qmodel.h"
#include "train/rat_pipeline.h"

static double pct(int64_t a, int64_t n) { return n ? 100.0 * (double)a / (double)n : 0.0; }

int cmd_sweep(int argc, char **argv) {
    const char *model = NULL, *calib = NULL, *data = NULL;
    int ks[32] = {31, 16, 8, 6, 5, 4, 3, 2, 1}, nk = 9, snap = 0, json = 0, fake = 0, batch = 16;
    int rnd = RATQ_ROUND_SINGLE;
    int64_t calib_n = 1000, limit = 0;
    static const char *const engines[] = {"int", "fake", NULL};
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model, "FP.ratqw", "float weights (.ratqw)"), .required = 1},
        {RATQ_OPT("--calib", RATQ_OPT_STRING, &calib, "DATA", "calibration data"), .required = 1},
        {RATQ_OPT("--data", RATQ_OPT_STRING, &data, "VAL", "evaluation data"), .required = 1},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT_LIST, ks, "LIST", "comma-separated k values (default 31,16,8,6,5,4,3,2,1)"),
         .lo = RATQ_K_MIN, .hi = RATQ_K_MAX, .count = &nk, .max_count = 32},
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rnd, NULL, "single (default) | tflite | half_even"),
         .names = RATQ_CLI_ROUNDING_NAMES, .values = RATQ_CLI_ROUNDING_VALUES},
        {RATQ_OPT("--snap-scales", RATQ_OPT_FLAG, &snap, NULL, "snap weight scales so every multiplier is exactly k-bit")},
        {RATQ_OPT("--calib-images", RATQ_OPT_I64, &calib_n, "N", "calibration images (default 1000, 0 = all)"), .lo = 0,
         .hi = INT64_MAX},
        {RATQ_OPT("--limit", RATQ_OPT_I64, &limit, "N", "evaluate the first N images of VAL (default all)"), .lo = 0,
         .hi = INT64_MAX},
        {RATQ_OPT("--engine", RATQ_OPT_ENUM, &fake, NULL,
                  "int: the CPU integer engine (default); fake: the fake-quant forward"), .names = engines},
        {RATQ_OPT("--batch", RATQ_OPT_INT, &batch, "B", "images per forward (default 16)"), .lo = 1, .hi = 4096},
        {RATQ_OPT("--json", RATQ_OPT_FLAG, &json, NULL, "one JSON object per line: the float model, then one per k")},
    };
    ratq_cli cli = {RATQ_CLI("sweep", "sweep --model FP.ratqw --calib DATA --data VAL [options]", NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    const int progress = ratq_cli_progress(json);
    ratq_qnet q;
    if (ratq_quant_prepare(model, calib, calib_n, (int)batch, progress, &q) != 0) return 2;
    ratq_dataset *ds = ratq_data_open(data, NULL);
    if (!ds) {
        ratq_qnet_free(&q);
        return 2;
    }
    int64_t n = ratq_data_count(ds);
    if (limit > 0 && limit < n) n = limit;
    int32_t *fpred = malloc((size_t)n * sizeof *fpred);
    int rc = fpred ? 0 : -1;
    ratq_quant_eval_result r;
    if (rc == 0) rc = ratq_quant_evaluate(RATQ_EVAL_FLOAT, &q, NULL, ds, n, (int)batch, progress, NULL, fpred, &r);
    if (rc == 0) {
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "model", "float");
            cJSON_AddNumberToObject(j, "images", (double)r.n);
            cJSON_AddNumberToObject(j, "top1", pct(r.top1, r.n));
            cJSON_AddNumberToObject(j, "top5", pct(r.top5, r.n));
            ratq_cli_print_json(j);
        } else {
            printf("%s on %lld images of %s (calibration: %lld images of %s, %s rounding%s)\n", model, (long long)r.n,
                   data, (long long)calib_n, calib, ratq_qmodel_rounding_name((ratq_rounding)rnd), snap ? ", snapped scales" : "");
            printf("%-8s %8s %8s %10s\n", "k", "top-1", "top-5", "agree-fp");
            printf("%-8s %7.2f%% %7.2f%% %10s\n", "float", pct(r.top1, r.n), pct(r.top5, r.n), "-");
        }
    }
    for (int i = 0; i < nk && rc == 0; i++) {
        ratq_quant_options opt = {.k = ks[i], .rounding = (ratq_rounding)rnd, .snap = snap};
        ratq_qmodel im;
        double t0 = ratq_now();
        if ((rc = ratq_qnet_quantize(&q, &opt)) != 0) break;
        if (fake)
            rc = ratq_quant_evaluate(RATQ_EVAL_FAKE, &q, NULL, ds, n, (int)batch, progress, fpred, NULL, &r);
        else if ((rc = ratq_qnet_to_qmodel(&q, &im)) == 0) {
            rc = ratq_quant_evaluate(RATQ_EVAL_QMODEL, &q, &im, ds, n, (int)batch, progress, fpred, NULL, &r);
            ratq_qmodel_free(&im);
        }
        if (rc) break;
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "model", "int8");
            cJSON_AddNumberToObject(j, "rescale_bits", ks[i]);
            cJSON_AddStringToObject(j, "rounding", ratq_qmodel_rounding_name((ratq_rounding)rnd));
            cJSON_AddBoolToObject(j, "snap_scales", snap);
            cJSON_AddNumberToObject(j, "images", (double)r.n);
            cJSON_AddNumberToObject(j, "top1", pct(r.top1, r.n));
            cJSON_AddNumberToObject(j, "top5", pct(r.top5, r.n));
            cJSON_AddNumberToObject(j, "agree_float_top1", pct(r.agree, r.n));
            cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
            ratq_cli_print_json(j);
        } else {
            printf("%-8d %7.2f%% %7.2f%% %9.2f%%\n", ks[i], pct(r.top1, r.n), pct(r.top5, r.n), pct(r.agree, r.n));
            fflush(stdout);
        }
    }
    free(fpred);
    ratq_data_close(ds);
    ratq_qnet_free(&q);
    return rc == 0 ? 0 : 2;
}
