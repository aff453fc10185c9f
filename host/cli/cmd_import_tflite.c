// cmd_import_tflite.c — `ratq import-tflite --model M.tflite -o M.ratqm`: an int8 TFLite model within ratq's op set
// as an integer model (scripts/tflite/import_tflite.py reads the flatbuffer; an unsupported op, float tensor or
// layout is one line naming the operator index). Without ratq metadata the rescalers are derived here from the
// file's float32 scales at k = 31 with tflite rounding (ratq_qmodel_with_bits: LiteRT's QuantizeMultiplier); a
// model exported by ratq restores its own k, rounding, scales and (m, s), so export -> import is byte-identical.
// The converted model is validated by the C loader and written atomically. Exit codes: 0, 2 bad input or usage.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/tflite_python.h"
#include "common/io.h"
#include "qmodel/qmodel.h"

static void usage(FILE *f) {
    fprintf(f, "usage: ratq import-tflite --model M.tflite -o M.ratqm [--rescale-bits K] [--rounding R]\n"
               "  --rescale-bits K, --rounding tflite|single|half_even: re-derive every (m, s) from the real scales\n"
               "  at k bits with that rounding (post-training k sweep of an imported model)\n");
}

int cmd_import_tflite(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    long k = 0;
    int have_rounding = 0;
    ratq_rounding rounding = RATQ_ROUND_TFLITE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--rescale-bits") && i + 1 < argc) {
            char *end;
            k = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || k < RATQ_K_MIN || k > RATQ_K_MAX) {
                ratq_error("import-tflite: --rescale-bits: '%s' is not an integer in 1..31", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--rounding") && i + 1 < argc) {
            if (ratq_qmodel_rounding_from_name(argv[++i], &rounding)) {
                ratq_error("import-tflite: --rounding: unknown mode '%s' (tflite, single or half_even)", argv[i]);
                return 2;
            }
            have_rounding = 1;
        } else {
            ratq_error("import-tflite: unknown or incomplete option '%s' (see --help)", argv[i]);
            return 2;
        }
    }
    if (!model || !out) {
        ratq_error("import-tflite: --model and -o are required (see --help)");
        return 2;
    }
    char tmp[4096], text[256];
    if (snprintf(tmp, sizeof tmp, "%s.import.%ld", out, (long)getpid()) >= (int)sizeof tmp) {
        ratq_error("import-tflite: %s: path too long", out);
        return 2;
    }
    int rc = ratq_tflite_python("import-tflite", "import", model, tmp, text, sizeof text);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, tmp)) {
        unlink(tmp);
        return 2;
    }
    unlink(tmp);
    if (strstr(text, "rescale: derive") && ratq_qmodel_with_bits(&m, RATQ_K_MAX, RATQ_ROUND_TFLITE)) rc = 2;
    if (!rc && (k || have_rounding) &&
        ratq_qmodel_with_bits(&m, k ? (int)k : m.k, have_rounding ? rounding : m.rounding))
        rc = 2;
    if (!rc && ratq_qmodel_save(&m, out)) rc = 2;
    ratq_qmodel_free(&m);
    return rc;
}
