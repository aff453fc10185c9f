// host/cli/options.c — the option table parser and the generated --help (host/cli/options.h).
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/options.h"
#include "common/io.h"
#include "math/rescale.h"
#include "quant/qnet_cuda.h" // RATQ_QNET_GEMM_*

const char *const RATQ_CLI_ROUNDING_NAMES[] = {"single", "tflite", "half_even", NULL};
const int RATQ_CLI_ROUNDING_VALUES[] = {RATQ_ROUND_SINGLE, RATQ_ROUND_TFLITE, RATQ_ROUND_HALF_EVEN};
const char *const RATQ_CLI_DEVICE_NAMES[] = {"cpu", "cuda", "cuda-host", NULL};
const char *const RATQ_CLI_GEMM_NAMES[] = {"tf32", "fp32", "bf16", NULL};
const int RATQ_CLI_GEMM_VALUES[] = {RATQ_QNET_GEMM_TF32, RATQ_QNET_GEMM_FP32, RATQ_QNET_GEMM_BF16};

// The range of an integer row: [lo, hi] as given, or the destination type's range when both are 0.
static void int_range(const ratq_opt *o, long long *lo, long long *hi) {
    *lo = o->lo;
    *hi = o->hi;
    if (o->lo == 0 && o->hi == 0) {
        *lo = o->kind == RATQ_OPT_I64 ? INT64_MIN : INT_MIN;
        *hi = o->kind == RATQ_OPT_I64 ? INT64_MAX : INT_MAX;
    }
    if (o->kind != RATQ_OPT_I64) { // int destinations
        if (*lo < INT_MIN) *lo = INT_MIN;
        if (*hi > INT_MAX) *hi = INT_MAX;
    }
}

// A whole decimal integer (optional sign, no spaces) in [lo, hi].
static int parse_ll(const char *s, long long lo, long long hi, long long *out) {
    if (!*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9'))) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int in_drange(const ratq_opt *o, double v) {
    if (o->dlo == 0 && o->dhi == 0 && !o->open) return 1;
    if ((o->open & RATQ_OPT_OPEN_LO) ? !(v > o->dlo) : !(v >= o->dlo)) return 0;
    if ((o->open & RATQ_OPT_OPEN_HI) ? !(v < o->dhi) : !(v <= o->dhi)) return 0;
    return 1;
}

// "a number in [0, 1)", "a number > 0", "a finite number"
static void describe_drange(const ratq_opt *o, char *buf, size_t n) {
    const int lo = !(o->dlo == 0 && o->dhi == 0 && !o->open) && isfinite(o->dlo);
    const int hi = !(o->dlo == 0 && o->dhi == 0 && !o->open) && isfinite(o->dhi);
    if (lo && hi)
        snprintf(buf, n, "a number in %c%g, %g%c", (o->open & RATQ_OPT_OPEN_LO) ? '(' : '[', o->dlo, o->dhi,
                 (o->open & RATQ_OPT_OPEN_HI) ? ')' : ']');
    else if (lo) snprintf(buf, n, "a number %s %g", (o->open & RATQ_OPT_OPEN_LO) ? ">" : ">=", o->dlo);
    else if (hi) snprintf(buf, n, "a number %s %g", (o->open & RATQ_OPT_OPEN_HI) ? "<" : "<=", o->dhi);
    else snprintf(buf, n, "a finite number");
}

// names joined: "a, b or c" (sep ", ", last " or ") or "a|b|c"
static void join_names(const char *const *names, const char *sep, const char *last_sep, char *buf, size_t n) {
    buf[0] = 0;
    int count = 0;
    while (names[count]) count++;
    for (int i = 0; i < count; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s", i == 0 ? "" : i == count - 1 ? last_sep : sep, names[i]);
    }
}

// Store one value of row o; 0 or -1 after the error line.
static int take_value(const ratq_cli *c, ratq_opt *o, const char *s) {
    long long lo, hi, v;
    switch (o->kind) {
    case RATQ_OPT_FLAG: break;
    case RATQ_OPT_INT:
    case RATQ_OPT_I64:
        int_range(o, &lo, &hi);
        if (parse_ll(s, lo, hi, &v) != 0) {
            ratq_error("%s: %s: '%s' is not an integer in %lld..%lld", c->cmd, o->name, s, lo, hi);
            return -1;
        }
        if (o->kind == RATQ_OPT_INT) *(int *)o->dest = (int)v;
        else *(int64_t *)o->dest = (int64_t)v;
        return 0;
    case RATQ_OPT_U64: {
        char *end;
        errno = 0;
        unsigned long long u = *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
        if (!(*s >= '0' && *s <= '9') || errno || *end) {
            ratq_error("%s: %s: '%s' is not an integer in 0..%llu", c->cmd, o->name, s, (unsigned long long)UINT64_MAX);
            return -1;
        }
        *(uint64_t *)o->dest = (uint64_t)u;
        return 0;
    }
    case RATQ_OPT_DOUBLE:
    case RATQ_OPT_FLOAT: {
        char *end;
        errno = 0;
        double d = *s ? strtod(s, &end) : 0;
        if (!*s || errno || *end || !isfinite(d) || !in_drange(o, d) ||
            (o->kind == RATQ_OPT_FLOAT && !isfinite((float)d))) {
            char what[96];
            describe_drange(o, what, sizeof what);
            ratq_error("%s: %s: '%s' is not %s", c->cmd, o->name, s, what);
            return -1;
        }
        if (o->kind == RATQ_OPT_FLOAT) *(float *)o->dest = (float)d;
        else *(double *)o->dest = d;
        return 0;
    }
    case RATQ_OPT_STRING: *(const char **)o->dest = s; return 0;
    case RATQ_OPT_STRINGS:
        if (*o->count >= o->max_count) {
            ratq_error("%s: %s: given more than %d times", c->cmd, o->name, o->max_count);
            return -1;
        }
        ((const char **)o->dest)[(*o->count)++] = s;
        return 0;
    case RATQ_OPT_INT_LIST: {
        int_range(o, &lo, &hi);
        int n = 0, *dst = o->dest;
        const char *p = s;
        while (*p) {
            char tok[32];
            size_t len = strcspn(p, ",");
            if (len == 0 || len >= sizeof tok || n >= o->max_count) break;
            memcpy(tok, p, len);
            tok[len] = 0;
            if (parse_ll(tok, lo, hi, &v) != 0) break;
            dst[n++] = (int)v;
            p += len;
            if (*p == ',' && *++p == 0) { // a trailing comma
                n = -1;
                break;
            }
        }
        if (*p || n <= 0) {
            ratq_error("%s: %s: '%s' is not a list of integers in %lld..%lld (at most %d, comma-separated)", c->cmd,
                       o->name, s, lo, hi, o->max_count);
            return -1;
        }
        *o->count = n;
        return 0;
    }
    case RATQ_OPT_ENUM:
        for (int i = 0; o->names[i]; i++)
            if (!strcmp(s, o->names[i])) {
                *(int *)o->dest = o->values ? o->values[i] : i;
                return 0;
            }
        char choices[256];
        join_names(o->names, ", ", " or ", choices, sizeof choices);
        ratq_error("%s: %s: '%s' (expected %s)", c->cmd, o->name, s, choices);
        return -1;
    }
    return 0;
}

const ratq_opt *ratq_cli_find(const ratq_cli *c, const char *name) {
    for (int i = 0; i < c->n_opts; i++)
        if (!strcmp(c->opts[i].name, name) || (c->opts[i].alias && !strcmp(c->opts[i].alias, name))) return &c->opts[i];
    return NULL;
}

static int required_error(const ratq_cli *c) {
    char list[1024] = "";
    int n = 0, total = 0;
    for (int i = 0; i < c->n_opts; i++) total += c->opts[i].required != 0;
    for (int i = 0; i < c->n_opts; i++) {
        if (!c->opts[i].required) continue;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", n == 0 ? "" : n == total - 1 ? " and " : ", ", c->opts[i].name);
        n++;
    }
    ratq_error("%s: %s %s required (see 'ratq %s --help')", c->cmd, list, total == 1 ? "is" : "are", c->cmd);
    return RATQ_CLI_ERROR;
}

int ratq_cli_parse(ratq_cli *c, int argc, char **argv) {
    for (int i = 0; i < c->n_opts; i++) c->opts[i].seen = 0;
    if (c->n_pos) *c->n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            ratq_cli_help(c, stdout);
            return RATQ_CLI_HELP;
        }
        if (a[0] != '-' || !a[1]) { // positional
            if (!c->pos || *c->n_pos >= c->max_pos) {
                ratq_error("%s: unexpected argument '%s' (see 'ratq %s --help')", c->cmd, a, c->cmd);
                return RATQ_CLI_ERROR;
            }
            c->pos[(*c->n_pos)++] = a;
            continue;
        }
        ratq_opt *o = (ratq_opt *)ratq_cli_find(c, a);
        if (!o) {
            ratq_error("%s: unknown option '%s' (see 'ratq %s --help')", c->cmd, a, c->cmd);
            return RATQ_CLI_ERROR;
        }
        o->seen++;
        if (o->kind == RATQ_OPT_FLAG) {
            *(int *)o->dest = 1;
            continue;
        }
        if (i + 1 >= argc) {
            ratq_error("%s: option %s needs a value", c->cmd, a);
            return RATQ_CLI_ERROR;
        }
        if (take_value(c, o, argv[++i]) != 0) return RATQ_CLI_ERROR;
    }
    for (int i = 0; i < c->n_opts; i++)
        if (c->opts[i].required && !c->opts[i].seen) return required_error(c);
    if (c->n_pos && *c->n_pos < c->min_pos) {
        ratq_error("%s: %s is required (see 'ratq %s --help')", c->cmd, c->pos_meta ? c->pos_meta : "an argument", c->cmd);
        return RATQ_CLI_ERROR;
    }
    return RATQ_CLI_OK;
}

void ratq_cli_help(const ratq_cli *c, FILE *f) {
    fprintf(f, "usage: ratq %s\n", c->usage);
    for (int i = 0; i < c->n_opts; i++) {
        const ratq_opt *o = &c->opts[i];
        char left[256], meta[200];
        if (o->kind == RATQ_OPT_FLAG) meta[0] = 0;
        else if (o->meta) snprintf(meta, sizeof meta, " %s", o->meta);
        else if (o->kind == RATQ_OPT_ENUM) {
            meta[0] = ' ';
            join_names(o->names, "|", "|", meta + 1, sizeof meta - 1);
        } else snprintf(meta, sizeof meta, " X");
        snprintf(left, sizeof left, "%s%s%s%s", o->alias ? o->name : "", o->alias ? ", " : "",
                 o->alias ? o->alias : o->name, meta);
        const char *h = o->help ? o->help : "";
        int first = strlen(left) <= 24; // a long name gets a line of its own
        if (!first) fprintf(f, "  %s\n", left);
        do { // help lines: the first beside the option, the others indented under it
            size_t len = strcspn(h, "\n");
            fprintf(f, "  %-24s %.*s\n", first ? left : "", (int)len, h);
            first = 0;
            h += len;
        } while (*h && *++h);
    }
    if (c->notes) fprintf(f, "%s%s", c->notes, c->notes[strlen(c->notes) - 1] == '\n' ? "" : "\n");
}

int ratq_cli_progress(int json) { return !json && isatty(2); }

void ratq_cli_print_json(cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    if (s) printf("%s\n", s);
    fflush(stdout);
    cJSON_free(s);
    cJSON_Delete(j);
}
