// cmd_export_tflite.c — `ratq export-tflite --model X.ratqm -o X.tflite`: the integer model as a standard int8
// TFLite flatbuffer (mapping, scale choice and metadata: scripts/tflite/export.py). The model is loaded and fully
// validated here first (one error line naming file, op and field); the flatbuffer is built with the TFLite schema
// shipped by LiteRT (Python, cli/tflite_python.h) and written atomically. Exit codes: 0, 2 bad input or usage.
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/tflite_python.h"
#include "common/io.h"
#include "qmodel/qmodel.h"

int cmd_export_tflite(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model, "X.ratqm", "the integer model (.ratqm), fully validated first"),
         .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "X.tflite", "output flatbuffer (written atomically)"),
         .alias = "--output", .required = 1},
    };
    ratq_cli cli = {RATQ_CLI("export-tflite", "export-tflite --model X.ratqm -o X.tflite", NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, model)) return 2;
    ratq_qmodel_free(&m);
    return ratq_tflite_python("export-tflite", "export", model, out, NULL, 0);
}
