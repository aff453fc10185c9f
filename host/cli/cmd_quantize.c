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

static void usage(FILE *f) {
    fprintf(f, "usage: ratq quantize --model FP.ratqw --calib DATA --rescale-bits K [options] -o OUT.ratqm\n"
               "  --calib-images N     calibration images (first N of DATA; default 1000, 0 = all)\n"
               "  --rounding MODE      single (default) | tflite (LiteRT compatible) | half_even\n"
               "  --snap-scales        choose weight scales so every multiplier is exactly k-bit (rounded up)\n"
               "  --batch B            images per forward (default 16)\n"
               "  --json               one JSON object on stdout instead of text\n");
}

int cmd_quantize(int argc, char **argv) {
    const char *model = NULL, *calib = NULL, *out = NULL;
    long long k = -1, calib_n = 1000, batch = 16;
    ratq_rounding rnd = RATQ_ROUND_SINGLE;
    int snap = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model")) {
            if (!(model = ratq_cli_value(argc, argv, &i, "quantize"))) return 2;
        } else if (!strcmp(a, "--calib")) {
            if (!(calib = ratq_cli_value(argc, argv, &i, "quantize"))) return 2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = ratq_cli_value(argc, argv, &i, "quantize"))) return 2;
        } else if (!strcmp(a, "--rescale-bits")) {
            const char *s = ratq_cli_value(argc, argv, &i, "quantize");
            if (!s || ratq_cli_int("quantize", a, s, RATQ_K_MIN, RATQ_K_MAX, &k) != 0) return 2;
        } else if (!strcmp(a, "--calib-images")) {
            const char *s = ratq_cli_value(argc, argv, &i, "quantize");
            if (!s || ratq_cli_int("quantize", a, s, 0, INT64_MAX, &calib_n) != 0) return 2;
        } else if (!strcmp(a, "--batch")) {
            const char *s = ratq_cli_value(argc, argv, &i, "quantize");
            if (!s || ratq_cli_int("quantize", a, s, 1, 4096, &batch) != 0) return 2;
        } else if (!strcmp(a, "--rounding")) {
            const char *s = ratq_cli_value(argc, argv, &i, "quantize");
            if (!s || ratq_cli_rounding("quantize", s, &rnd) != 0) return 2;
        } else if (!strcmp(a, "--snap-scales")) {
            snap = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            ratq_error("quantize: unknown option '%s' (see 'ratq quantize --help')", a);
            return 2;
        }
    }
    if (!model || !calib || !out || k < 0) {
        ratq_error("quantize: --model, --calib, --rescale-bits and -o are required (see 'ratq quantize --help')");
        return 2;
    }
    double t0 = ratq_now();
    ratq_qnet q;
    if (ratq_quant_prepare(model, calib, calib_n, (int)batch, ratq_cli_progress(json), &q) != 0) return 2;
    ratq_quant_options opt = {.k = (int)k, .rounding = rnd, .snap = snap};
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
                cJSON_AddStringToObject(j, "rounding", ratq_qmodel_rounding_name(rnd));
                cJSON_AddBoolToObject(j, "snap_scales", snap);
                cJSON_AddNumberToObject(j, "seconds", ratq_now() - t0);
                ratq_cli_print_json(j);
            } else
                printf("quantized %s (%s, %d ops) with %d-bit rescalers, %s rounding%s -> %s (%.1f s)\n", model, q.arch,
                       im.n_ops, opt.k, ratq_qmodel_rounding_name(rnd), snap ? ", snapped scales" : "", out,
                       ratq_now() - t0);
        }
        ratq_qmodel_free(&im);
    }
    ratq_qnet_free(&q);
    return rc == 0 ? 0 : 2;
}
