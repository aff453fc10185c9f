// cmd_export_c.c — `ratq export-c --model QMODEL -o DIR [--rescale-bits K] [--rounding MODE]`
//
// Writes DIR, a standalone C source tree that classifies images with the integer model (host/qmodel/export_c.c):
// `make -C DIR && DIR/classify IMAGE...`. --rescale-bits / --rounding first re-derive every rescaler from the
// stored real scales at K bits (ratq_qmodel_with_bits), e.g. to export one point of a k sweep.
// Exit codes: 0 written, 2 bad input or usage (one error line).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/io.h"
#include "qmodel/qmodel.h"

static int usage(void) {
    fprintf(stderr, "usage: ratq export-c --model QMODEL -o DIR [--rescale-bits K] [--rounding tflite|single|half_even]\n"
                    "  writes DIR (must not exist): model data, the integer engine, main.c, Makefile\n");
    return 2;
}

int cmd_export_c(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    int k = 0, have_rounding = 0;
    ratq_rounding rounding = RATQ_ROUND_SINGLE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--rescale-bits") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < RATQ_K_MIN || v > RATQ_K_MAX) {
                ratq_error("--rescale-bits: '%s' is not an integer in 1..31", argv[i]);
                return 2;
            }
            k = (int)v;
        } else if (!strcmp(argv[i], "--rounding") && i + 1 < argc) {
            if (ratq_qmodel_rounding_from_name(argv[++i], &rounding)) {
                ratq_error("--rounding: unknown mode '%s' (tflite, single or half_even)", argv[i]);
                return 2;
            }
            have_rounding = 1;
        } else {
            ratq_error("export-c: unknown or incomplete option '%s' (usage: ratq export-c --model QMODEL -o DIR "
                       "[--rescale-bits K] [--rounding tflite|single|half_even])", argv[i]);
            return 2;
        }
    }
    if (!model || !out) {
        ratq_error("export-c: --model and -o are required (usage: ratq export-c --model QMODEL -o DIR "
                   "[--rescale-bits K] [--rounding tflite|single|half_even])");
        return 2;
    }
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, model)) return 2;
    int rc = 0;
    if ((k || have_rounding) && ratq_qmodel_with_bits(&m, k ? k : m.k, have_rounding ? rounding : m.rounding)) rc = 2;
    if (!rc && ratq_export_c(&m, out)) rc = 2;
    if (!rc)
        printf("%s: %d ops, k = %d, rounding %s -> %s (make -C %s && %s/classify IMAGE)\n", model, m.n_ops, m.k,
               ratq_qmodel_rounding_name(m.rounding), out, out, out);
    ratq_qmodel_free(&m);
    return rc;
}
