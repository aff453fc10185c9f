// cmd_export_tflite.c — `ratq export-tflite --model X.ratqm -o X.tflite`: the integer model as a standard int8
// TFLite flatbuffer (mapping, scale choice and metadata: scripts/tflite/export.py). The model is loaded and fully
// validated here first (one error line naming file, op and field); the flatbuffer is built with the TFLite schema
// shipped by LiteRT (Python, cli/tflite_python.h) and written atomically. Exit codes: 0, 2 bad input or usage.
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/tflite_python.h"
#include "common/io.h"
#include "qmodel/qmodel.h"

static void usage(FILE *f) {
    fprintf(f, "usage: ratq export-tflite --model X.ratqm -o X.tflite\n");
}

int cmd_export_tflite(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else {
            ratq_error("export-tflite: unknown or incomplete option '%s' (see --help)", argv[i]);
            return 2;
        }
    }
    if (!model || !out) {
        ratq_error("export-tflite: --model and -o are required (see --help)");
        return 2;
    }
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, model)) return 2;
    ratq_qmodel_free(&m);
    return ratq_tflite_python("export-tflite", "export", model, out, NULL, 0);
}
