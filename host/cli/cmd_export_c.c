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
#include "cli/options.h"
#include "common/io.h"
#include "qmodel/qmodel.h"

int cmd_export_c(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    int k = 0, rounding = RATQ_ROUND_SINGLE;
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model, "QMODEL", "the integer model (.ratqm)"), .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "DIR",
                  "output folder (must not exist): model data, the integer engine, main.c, Makefile"),
         .alias = "--out", .required = 1},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT, &k, "K", "re-derive every rescaler at K bits first"),
         .lo = RATQ_K_MIN, .hi = RATQ_K_MAX},
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rounding, NULL, "rounding of the exported rescalers (default: the model's)"),
         .names = RATQ_CLI_ROUNDING_NAMES, .values = RATQ_CLI_ROUNDING_VALUES},
    };
    ratq_cli cli = {RATQ_CLI("export-c", "export-c --model QMODEL -o DIR [--rescale-bits K] [--rounding MODE]", NULL,
                             opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    const int have_rounding = ratq_cli_find(&cli, "--rounding")->seen;
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, model)) return 2;
    int rc = 0;
    if ((k || have_rounding) && ratq_qmodel_with_bits(&m, k ? k : m.k, have_rounding ? (ratq_rounding)rounding : m.rounding)) rc = 2;
    if (!rc && ratq_export_c(&m, out)) rc = 2;
    if (!rc)
        printf("%s: %d ops, k = %d, rounding %s -> %s (make -C %s && %s/classify IMAGE)\n", model, m.n_ops, m.k,
               ratq_qmodel_rounding_name(m.rounding), out, out, out);
    ratq_qmodel_free(&m);
    return rc;
}
