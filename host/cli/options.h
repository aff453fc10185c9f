// host/cli/options.h — pieces shared by `ratq quantize`, `ratq sweep` and `ratq finetune`: option parsing helpers and
// the common pipeline float weights -> folded network -> calibration.
#ifndef RATQ_HOST_QUANT_CLI_H
#define RATQ_HOST_QUANT_CLI_H

#include <stdint.h>

#include "data/data.h"
#include "quant/qnet.h"

// argv[*i] == name: take the value argv[*i + 1] (error line + NULL if missing) and advance *i.
const char *ratq_cli_value(int argc, char **argv, int *i, const char *cmd);
// Parse a whole decimal integer in [lo, hi] / a finite double; error line naming the option on failure.
int ratq_cli_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out);
int ratq_cli_double(const char *cmd, const char *opt, const char *s, double *out);
// "31,16,8" -> ks (at most max entries, each 1..31). Returns the count, or -1 after an error line.
int ratq_cli_bits_list(const char *cmd, const char *s, int *ks, int max);
// "single" / "tflite" / "half_even". Returns 0 or -1 after an error line.
int ratq_cli_rounding(const char *cmd, const char *s, ratq_rounding *r);

// Load float weights, fold into *q, open the calibration data and calibrate on its first calib_images images
// (all if <= 0). The float model is freed. Returns 0 or -1 after an error line (nothing left allocated).
int ratq_quant_prepare(const char *model_path, const char *calib_path, int64_t calib_images, int batch,
                       int progress, ratq_qnet *q);

// Print a cJSON object unformatted on one stdout line and delete it.
struct cJSON;
void ratq_cli_print_json(struct cJSON *j);

// Progress output on: stderr is a terminal and --json was not given.
int ratq_cli_progress(int json);

#endif
