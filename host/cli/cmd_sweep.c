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

static void usage(FILE *f) {
    fprintf(f, "usage: ratq sweep --model FP.ratqw --calib DATA --data VAL [options]\n"
               "  --rescale-bits LIST  comma-separated k values (default 31,16,8,6,5,4,3,2,1)\n"
               "  --rounding MODE      single (default) | tflite | half_even\n"
               "  --snap-scales        snap weight scales so every multiplier is exactly k-bit\n"
               "  --calib-images N     calibration images (default 1000, 0 = all)\n"
               "  --limit N            evaluate the first N images of VAL (default all)\n"
               "  --engine int|fake    int: the CPU integer engine (default); fake: the fake-quant forward\n"
               "  --batch B            images per forward (default 16)\n"
               "  --json               one JSON object per line: the float model, then one per k\n");
}

static double pct(int64_t a, int64_t n) { return n ? 100.0 * (double)a / (double)n : 0.0; }

int cmd_sweep(int argc, char **argv) {
    const char *model = NULL, *calib = NULL, *data = NULL;
    int ks[32] = {31, 16, 8, 6, 5, 4, 3, 2, 1}, nk = 9, snap = 0, json = 0, fake = 0;
    long long calib_n = 1000, batch = 16, limit = 0;
    ratq_rounding rnd = RATQ_ROUND_SINGLE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *s = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--snap-scales")) {
            snap = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            static const char *const value_opts[] = {"--model", "--calib", "--data", "--rescale-bits", "--rounding",
                                                     "--calib-images", "--limit", "--batch", "--engine"};
            int known = 0;
            for (size_t o = 0; o < sizeof value_opts / sizeof value_opts[0]; o++) known |= !strcmp(a, value_opts[o]);
            if (!known) {
                ratq_error("sweep: unknown option '%s' (see 'ratq sweep --help')", a);
                return 2;
            }
            if (!(s = ratq_cli_value(argc, argv, &i, "sweep"))) return 2;
            if (!strcmp(a, "--model"))
                model = s;
            else if (!strcmp(a, "--calib"))
                calib = s;
            else if (!strcmp(a, "--data"))
                data = s;
            else if (!strcmp(a, "--rescale-bits")) {
                if ((nk = ratq_cli_bits_list("sweep", s, ks, 32)) < 0) return 2;
            } else if (!strcmp(a, "--rounding")) {
                if (ratq_cli_rounding("sweep", s, &rnd) != 0) return 2;
            } else if (!strcmp(a, "--calib-images")) {
                if (ratq_cli_int("sweep", a, s, 0, INT64_MAX, &calib_n) != 0) return 2;
            } else if (!strcmp(a, "--limit")) {
                if (ratq_cli_int("sweep", a, s, 0, INT64_MAX, &limit) != 0) return 2;
            } else if (!strcmp(a, "--batch")) {
                if (ratq_cli_int("sweep", a, s, 1, 4096, &batch) != 0) return 2;
            } else if (!strcmp(a, "--engine")) {
                if (strcmp(s, "int") && strcmp(s, "fake")) {
                    ratq_error("sweep: --engine: '%s' (expected int or fake)", s);
                    return 2;
                }
                fake = !strcmp(s, "fake");
            } else {
                ratq_error("sweep: unknown option '%s' (see 'ratq sweep --help')", a);
                return 2;
            }
        }
    }
    if (!model || !calib || !data) {
        ratq_error("sweep: --model, --calib and --data are required (see 'ratq sweep --help')");
        return 2;
    }
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
                   data, calib_n, calib, ratq_qmodel_rounding_name(rnd), snap ? ", snapped scales" : "");
            printf("%-8s %8s %8s %10s\n", "k", "top-1", "top-5", "agree-fp");
            printf("%-8s %7.2f%% %7.2f%% %10s\n", "float", pct(r.top1, r.n), pct(r.top5, r.n), "-");
        }
    }
    for (int i = 0; i < nk && rc == 0; i++) {
        ratq_quant_options opt = {.k = ks[i], .rounding = rnd, .snap = snap};
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
            cJSON_AddStringToObject(j, "rounding", ratq_qmodel_rounding_name(rnd));
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
