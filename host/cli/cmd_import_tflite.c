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
#include "cli/options.h"
#include "cli/tflite_python.h"
#include "common/io.h"
#include "qmodel/qmodel.h"

int cmd_import_tflite(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    int k = 0, rounding_i = RATQ_ROUND_TFLITE;
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model, "M.tflite", "an int8 TFLite flatbuffer"), .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "M.ratqm", "output integer model (written atomically)"),
         .alias = "--output", .required = 1},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT, &k, "K",
                  "re-derive every (m, s) from the real scales at K bits (post-training k sweep of an imported model)"),
         .lo = RATQ_K_MIN, .hi = RATQ_K_MAX},
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rounding_i, NULL, "rounding of the re-derived rescalers"),
         .names = RATQ_CLI_ROUNDING_NAMES, .values = RATQ_CLI_ROUNDING_VALUES},
    };
    ratq_cli cli = {RATQ_CLI("import-tflite", "import-tflite --model M.tflite -o M.ratqm [--rescale-bits K] [--rounding R]",
                             NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    const int have_rounding = ratq_cli_find(&cli, "--rounding")->seen;
    const ratq_rounding rounding = (ratq_rounding)rounding_i;
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
        ratq_qmodel_with_bits(&m, k ? k : m.k, have_rounding ? rounding : m.rounding))
        rc = 2;
    if (!rc && ratq_qmodel_save(&m, out)) rc = 2;
    ratq_qmodel_free(&m);
    return rc;
}
