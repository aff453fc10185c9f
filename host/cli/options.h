// host/cli/options.h — one option table per ratq command: parsing, range checks and the generated --help.
//
// A command lists its options as an array of ratq_opt rows {name, kind, destination, range, help} and calls
// ratq_cli_parse. Every bad value gets the same one-line error and exit code 2:
//   ratq: CMD: --opt: 'VALUE' is not an integer in LO..HI          (INT, I64, U64)
//   ratq: CMD: --opt: 'VALUE' is not a number in [LO, HI)          (DOUBLE, FLOAT; finite only)
//   ratq: CMD: --opt: 'VALUE' is not a list of integers in LO..HI  (INT_LIST: "31,16,8")
//   ratq: CMD: --opt: 'VALUE' (expected a, b or c)                 (ENUM)
//   ratq: CMD: --opt needs a value / unknown option '--x' / --a, --b and -o are required
// `ratq CMD --help` (or -h) prints the usage line, one line per row (name, value placeholder, help) and the
// command's closing notes on stdout, from the same table.
#ifndef RATQ_HOST_CLI_OPTIONS_H
#define RATQ_HOST_CLI_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
    RATQ_OPT_FLAG,     // no value: *(int *)dest = 1
    RATQ_OPT_INT,      // *(int *)dest, decimal in [lo, hi]
    RATQ_OPT_I64,      // *(int64_t *)dest, decimal in [lo, hi]
    RATQ_OPT_U64,      // *(uint64_t *)dest, decimal digits (seeds), 0..2^64-1
    RATQ_OPT_DOUBLE,   // *(double *)dest, finite, in the range of dlo/dhi/open (see below)
    RATQ_OPT_FLOAT,    // *(float *)dest, as DOUBLE, then converted
    RATQ_OPT_STRING,   // *(const char **)dest (the argv string)
    RATQ_OPT_STRINGS,  // repeatable: ((const char **)dest)[(*count)++], at most max_count
    RATQ_OPT_INT_LIST, // "a,b,c": ((int *)dest)[0..*count), each in [lo, hi], 1..max_count entries
    RATQ_OPT_ENUM,     // one of names[] (NULL-terminated): *(int *)dest = values ? values[i] : i
} ratq_opt_kind;

// Double ranges: [dlo, dhi], with open & RATQ_OPT_OPEN_LO (dlo excluded) / RATQ_OPT_OPEN_HI (dhi excluded);
// dlo = -INFINITY / dhi = INFINITY for no bound. dlo == dhi == 0 with open == 0 means any finite number.
// Integer ranges: lo == hi == 0 means the whole range of the destination type.
enum { RATQ_OPT_OPEN_LO = 1, RATQ_OPT_OPEN_HI = 2 };

typedef struct {
    const char *name;  // "--lr" or "-o"
    ratq_opt_kind kind;
    void *dest;
    const char *meta;  // value placeholder in --help ("N", "FILE"); NULL: "X" (ENUM: the names joined by '|')
    const char *help;  // one or more lines ('\n'); states the default
    long long lo, hi;  // INT, I64, INT_LIST entries
    double dlo, dhi;   // DOUBLE, FLOAT
    int open;          // RATQ_OPT_OPEN_*
    const char *const *names; // ENUM: accepted spellings, NULL-terminated
    const int *values;        // ENUM: value stored for names[i] (NULL: i)
    int *count;        // STRINGS, INT_LIST: entries stored
    int max_count;     // STRINGS, INT_LIST: capacity of dest
    const char *alias; // a second spelling ("--output" for "-o")
    int required;      // an error when not given
    int seen;          // set by ratq_cli_parse: how often the option was given
} ratq_opt;

typedef struct {
    const char *cmd;    // name in error lines and --help: "finetune", "hw verify"
    const char *usage;  // the usage line after "usage: ratq " (may hold several lines)
    const char *notes;  // text printed after the options by --help (NULL: none)
    ratq_opt *opts;
    int n_opts;
    // positional arguments (not starting with '-'): stored into pos[0..*n_pos), at most max_pos; min_pos required
    const char **pos;
    int *n_pos, max_pos, min_pos;
    const char *pos_meta; // their name in errors ("PATH")
} ratq_cli;

enum { RATQ_CLI_OK = 0, RATQ_CLI_HELP = 1, RATQ_CLI_ERROR = 2 };

// Parse argv[1..argc) (argv[0] is the command name). Returns RATQ_CLI_OK, RATQ_CLI_HELP (the help was printed on
// stdout) or RATQ_CLI_ERROR (one error line printed). Options may repeat (the last value wins; STRINGS and
// flags accumulate) and mix with positional arguments.
int ratq_cli_parse(ratq_cli *c, int argc, char **argv);
// Exit status for a non-OK ratq_cli_parse result: 0 after --help, 2 after an error.
static inline int ratq_cli_exit(int parse_result) { return parse_result == RATQ_CLI_HELP ? 0 : 2; }
// The row named name (or its alias) in c, NULL if none; e.g. ratq_cli_find(c, "--rounding")->seen.
const ratq_opt *ratq_cli_find(const ratq_cli *c, const char *name);
// Print the generated help of c on f.
void ratq_cli_help(const ratq_cli *c, FILE *f);

#define RATQ_CLI_N(arr) ((int)(sizeof(arr) / sizeof((arr)[0])))
// A row: {RATQ_OPT("--lr", RATQ_OPT_DOUBLE, &lr, "X", "learning rate (default 1e-3)"), .dlo = 0, .dhi = INFINITY}
#define RATQ_OPT(n, k, d, m, h) .name = (n), .kind = (k), .dest = (d), .meta = (m), .help = (h)
// A command: ratq_cli cli = {RATQ_CLI("train", "train --data PATH -o OUT.ratqw [options]", NULL, opts)};
#define RATQ_CLI(c, u, nt, o) .cmd = (c), .usage = (u), .notes = (nt), .opts = (o), .n_opts = RATQ_CLI_N(o)

// Enum spellings shared by several commands (NULL-terminated) and their values.
extern const char *const RATQ_CLI_ROUNDING_NAMES[]; // "single", "tflite", "half_even"
extern const int RATQ_CLI_ROUNDING_VALUES[];        // ratq_rounding
extern const char *const RATQ_CLI_DEVICE_NAMES[];   // "cpu", "cuda", "cuda-host" (ratq_train_device order)
extern const char *const RATQ_CLI_GEMM_NAMES[];     // "tf32", "fp32", "bf16"
extern const int RATQ_CLI_GEMM_VALUES[];            // RATQ_QNET_GEMM_* (host/quant/qnet_cuda.h)

// Print a cJSON object unformatted on one stdout line and delete it.
struct cJSON;
void ratq_cli_print_json(struct cJSON *j);

// Progress output on: stderr is a terminal and --json was not given.
int ratq_cli_progress(int json);

#endif
