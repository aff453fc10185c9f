// host/cli/options.c — see host/cli/options.h.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "models/efficientnet_lite.h"
#include "common/io.h"
#include "qmodel/qmodel.h"
#include "cli/options.h"
#include "quant/calib_eval.h"

const char *ratq_cli_value(int argc, char **argv, int *i, const char *cmd) {
    if (*i + 1 >= argc) {
        ratq_error("%s: option %s needs a value", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int ratq_cli_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        ratq_error("%s: %s: '%s' is not an integer in %lld..%lld", cmd, opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int ratq_cli_double(const char *cmd, const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        ratq_error("%s: %s: '%s' is not a finite number", cmd, opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int ratq_cli_bits_list(const char *cmd, const char *s, int *ks, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char tok[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof tok || n >= max) {
            ratq_error("%s: --rescale-bits: bad list '%s' (expected e.g. 31,16,8,4)", cmd, s);
            return -1;
        }
        memcpy(tok, p, len);
        tok[len] = 0;
        long long v;
        if (ratq_cli_int(cmd, "--rescale-bits", tok, RATQ_K_MIN, RATQ_K_MAX, &v) != 0) return -1;
        ks[n++] = (int)v;
        p += len;
        if (*p == ',') p++;
    }
    if (n == 0) {
        ratq_error("%s: --rescale-bits: empty list", cmd);
        return -1;
    }
    return n;
}

int ratq_cli_rounding(const char *cmd, const char *s, ratq_rounding *r) {
    if (ratq_qmodel_rounding_from_name(s, r) != 0) {
        ratq_error("%s: --rounding: '%s' (expected single, tflite or half_even)", cmd, s);
        return -1;
    }
    return 0;
}

int ratq_cli_progress(int json) { return !json && isatty(2); }

int ratq_quant_prepare(const char *model_path, const char *calib_path, int64_t calib_images, int batch,
                       int progress, ratq_qnet *q) {
    ratq_effnet m;
    if (ratq_effnet_load(&m, model_path) != 0) return -1;
    int rc = ratq_qnet_from_effnet(q, &m);
    ratq_effnet_free(&m);
    if (rc != 0) return -1;
    ratq_dataset *ds = ratq_data_open(calib_path, NULL);
    if (!ds) {
        ratq_qnet_free(q);
        return -1;
    }
    rc = ratq_quant_calibrate(q, ds, calib_images, batch, progress);
    ratq_data_close(ds);
    if (rc != 0) ratq_qnet_free(q);
    return rc;
}

void ratq_cli_print_json(cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    if (s) printf("%s\n", s);
    fflush(stdout);
    cJSON_free(s);
    cJSON_Delete(j);
}
