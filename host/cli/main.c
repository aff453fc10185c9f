// main.c — the ratq command: dispatches to one function per subcommand (host/cli/cmd_*.c); each parses its options
// with its own table (host/cli/options.h).
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} ratq_command;

static const ratq_command COMMANDS[] = {
    {"eval", cmd_eval, "top-1 / top-5 of a float (.ratqw) or integer (.ratqm) model on a dataset"},
    {"check-vector", cmd_check_vector, "run cmsis_nn_vector/v1 test vectors through the CPU integer engine"},
    {"hw", cmd_hw, "hardware cost model: k-bit rescaler RTL, bit-exact simulation, synthesis area/delay table"},
    {"data-info", cmd_data_info, "open a dataset (shard, npz, JPEG tree, IDX), print it, --verify decodes all"},
    {"export-c", cmd_export_c, "write an integer model as a standalone C source tree (engine + data + main)"},
    {"qmodel-info", cmd_qmodel_info, "validate an integer model, print its op table, --image classifies images"},
    {"quantize", cmd_quantize, "post-training integer model: BN folding, calibration, int8 weights, k-bit rescalers"},
    {"sweep", cmd_sweep, "post-training accuracy per rescaler width k: top-1, top-5, agreement with float"},
    {"finetune", cmd_finetune, "Rescale-Aware Training: fine-tune with k-bit integer arithmetic in the loop"},
    {"train", cmd_train, "train a (tiny) EfficientNet-Lite from scratch in float on the CPU, write .ratqw"},
    {"run", cmd_run, "the whole pipeline: float -> int8 -> k sweep -> RAT at k=4,3 -> C export -> hw -> report.md"},
};

static void usage(FILE *f) {
    fprintf(f, "ratq %s — Rescale-Aware Training for integer-only CNNs\n\nusage: ratq <command> [options]\n\n", RATQ_VERSION);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-14s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\n'ratq <command> --help' shows a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ratq %s\n", RATQ_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ratq: unknown command '%s' (see 'ratq --help')\n", argv[1]);
    return 2;
}
