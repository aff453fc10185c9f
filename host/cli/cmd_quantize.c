// cmd_quantize.c — `ratq quantize`: post-training integer model from float weights.
//   float .ratqw -> BN folding -> calibration (min/max observers, host/quant/qnet.h) -> int8 weights, int32 biases,
//   k-bit rescalers -> .ratqm (host/qmodel/qmodel.h), written atomically.
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "common/io.h"
#include "qmodel/qmodel.h"
#include "cli/options.h"
#include "quant/to_qmodel.h"
#include "train/rat_pipeline.h"

int cmd_quantize(int argc, char **argv) {
    const char *model = NULL, *calib = NULL, *out = NULL;
    int k = 0, batch = 16, rnd = RATQ_ROUND_SINGLE, snap = 0, json = 0;
    int64_t calib_n = 1000;
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model, "FP.ratqw", "float weights (.ratqw)"), .required = 1},
        {RATQ_OPT("--calib", RATQ_OPT_STRING, &calib, "DATA", "calibration data"), .required = 1},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT, &k, "K", "rescaler width k"), .lo = RATQ_K_MIN, .hi = RATQ_K_MAX,
         .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "OUT.ratqm", "the integer model"), .alias = "--output", .required = 1},
        {RATQ_OPT("--calib-images", RATQ_OPT_I64, &calib_n, "N",
                  "calibration images (first N of DATA; default 1000, 0 = all)"), .lo = 0, .hi = INT64_MAX},
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rnd, NULL, "single (default) | tflite (LiteRT compatible) | half_even"),
         .names = RATQ_CLI_ROUNDING_NAMES, .values = RATQ_CLI_ROUNDING_VALUES},
        {RATQ_OPT("--snap-scales", RATQ_OPT_FLAG, &snap, NULL,
                  "choose weight scales so every multiplier is exactly k-bit (rounded up)")},
        {RATQ_OPT("--batch", RATQ_OPT_INT, &batch, "B", "images per forward (default 16)"), .lo = 1, .hi = 4096},
        {RATQ_OPT("--json", RATQ_OPT_FLAG, &json, NULL, "one JSON object on stdout instead of text")},
    };
    ratq_cli cli = {RATQ_CLI("quantize", "quantize --model FP.ratqw --calib DATA --rescale-bits K [options] -o OUT.ratqm",
                             NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    double t0 = ratq_now();
    ratq_qnet q;
    if (ratq_quant_prepare(model, calib, calib_n, (int)batch, ratq_cli_progress(json), &q) != 0) return 2;
    ratq_quant_options opt = {.k = k, .rounding = (ratq_rounding)rnd, .snap = snap};
    ratq_qmodel im;
    int rc = ratq_qnet_quantize(&q, &opt);
    if (rc == 0) rc = ratq_qnet_to_qmodel(&q, &im);
    if (rc == 0) {
        rc = ratq_qmodel_save(&im, out);
        if (rc == 0) {
            if (json) {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "command", "quantize");
                cJSON_AddStringToObject(j, "model", model);
                cJSON_AddStringToObject(j, "output", out);
                cJSON_AddStringToObject(j, "arch", q.arch);
                cJSON_AddNumberToObject(j, "ops", im.n_ops);
                cJSON_AddNumberToObject(j, "rescale_bits", opt.k);
                cJSON_AddStringToObject(j, "rounding", ratq_qmodel_rounding_name(opt.rounding));
                cJSON_AddBoolToObject(j, "snap_scales", snap);
                cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
                ratq_cli_print_json(j);
            } else
                printf("quantized %s (%s, %d ops) with %d-bit rescalers, %s rounding%s -> %s (%.1f s)\n", model, q.arch,
                       im.n_ops, opt.k, ratq_qmodel_rounding_name(opt.rounding), snap ? ", snapped scales" : "", out,
                       ratq_now() - t0);
        }
        ratq_qmodel_free(&im);
    }
    ratq_qnet_free(&q);
    return rc == 0 ? 0 : 2;
}
