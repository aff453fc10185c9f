// cmd_check_vector.c — `ratq check-vector PATH... [--rounding tflite|single|half_even] [--rescale-bits K]`
//
// Runs cmsis_nn_vector/v1 cases through the CPU integer engine.
//  default / --rounding tflite : PASS when the output equals expected_output exactly.
//  --rounding single           : PASS when (output == expected_output) agrees with the recorded
//                                verification.single_rounding_matches.
//  --rescale-bits K            : cuts each channel's multiplier to K bits (ratq_rescale_from_real of
//                                M = multiplier * 2^(shift-31)) and reports, per case, how many outputs change
//                                and the largest change. Informational: exit 0 unless the input is bad.
// Exit codes: 0 all passed, 1 a case failed, 2 bad input or usage.
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qmodel/cmsis_vector.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Append PATH (a file, or a directory's *.json sorted by name) to the list.
static int collect(const char *path, char ***list, int *n) {
    struct stat st;
    if (stat(path, &st) != 0) {
        ratq_error("%s: cannot open: no such file or directory", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        *list = realloc(*list, sizeof(char *) * (size_t)(*n + 1));
        (*list)[(*n)++] = strdup(path);
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) {
        ratq_error("%s: cannot open directory", path);
        return -1;
    }
    int first = *n;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json")) continue;
        *list = realloc(*list, sizeof(char *) * (size_t)(*n + 1));
        char *full = malloc(strlen(path) + len + 2);
        sprintf(full, "%s/%s", path, e->d_name);
        (*list)[(*n)++] = full;
    }
    closedir(d);
    if (*n == first) {
        ratq_error("%s: no *.json test vectors in directory", path);
        return -1;
    }
    qsort(*list + first, (size_t)(*n - first), sizeof(char *), cmp_str);
    return 0;
}

static const char *rounding_name(ratq_rounding r) {
    return r == RATQ_ROUND_TFLITE ? "tflite" : r == RATQ_ROUND_SINGLE ? "single" : "half_even";
}

int cmd_check_vector(int argc, char **argv) {
    int rounding = RATQ_ROUND_TFLITE, bits = 0, n_args = 0, n_paths = 0, rc = 0;
    char **paths = NULL;
    const char **args = calloc((size_t)argc, sizeof *args);
    if (!args) {
        ratq_error("check-vector: out of memory");
        return 2;
    }
    static const char *const roundings[] = {"tflite", "single", "half_even", NULL};
    static const int rounding_values[] = {RATQ_ROUND_TFLITE, RATQ_ROUND_SINGLE, RATQ_ROUND_HALF_EVEN};
    ratq_opt opts[] = {
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rounding, NULL,
                  "tflite (default): PASS when the output equals expected_output; single: PASS when\n(output == "
                  "expected_output) agrees with verification.single_rounding_matches"),
         .names = roundings, .values = rounding_values},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT, &bits, "K",
                  "cut each multiplier to K bits and report how many outputs change"), .lo = RATQ_K_MIN,
         .hi = RATQ_K_MAX},
    };
    ratq_cli cli = {RATQ_CLI("check-vector", "check-vector PATH... [--rounding tflite|single|half_even] [--rescale-bits K]",
                             "  PATH is a cmsis_nn_vector/v1 JSON file or a directory of them (*.json, sorted)", opts),
                    .pos = args, .n_pos = &n_args, .max_pos = argc, .min_pos = 1, .pos_meta = "PATH"};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) {
        free(args);
        return ratq_cli_exit(pr);
    }
    for (int i = 0; i < n_args && rc == 0; i++)
        if (collect(args[i], &paths, &n_paths)) rc = 2;
    free(args);
    if (rc) goto done;
    if (!bits && rounding == RATQ_ROUND_HALF_EVEN) {
        ratq_error("--rounding half_even: the vectors record no reference for it; use it with --rescale-bits");
        rc = 2;
        goto done;
    }

    int passed = 0, failed = 0;
    int64_t total_outputs = 0, total_changed = 0;
    int max_change_all = 0;
    for (int f = 0; f < n_paths; f++) {
        ratq_vector v;
        if (ratq_vector_load(paths[f], &v)) {
            rc = 2;
            goto done;
        }
        ratq_rescale *rs = malloc(sizeof(ratq_rescale) * (size_t)v.n_multipliers);
        for (int c = 0; c < v.n_multipliers; c++) {
            rs[c] = ratq_rescale_from_tflite(v.multiplier[c], v.shift[c]);
            if (bits) ratq_rescale_from_real(ratq_rescale_to_real(rs[c]), bits, &rs[c]); // M < 2^31: cannot fail
        }
        int8_t *out = malloc((size_t)v.n_output);
        ratq_vector_run(&v, rs, (ratq_rounding)rounding, out);
        int64_t diff = 0, first = -1;
        int max_change = 0;
        for (int64_t i = 0; i < v.n_output; i++) {
            int d = abs(out[i] - v.expected[i]);
            if (!d) continue;
            if (first < 0) first = i;
            diff++;
            if (d > max_change) max_change = d;
        }
        if (bits) {
            printf("%-26s k=%-2d %-9s %6lld of %6lld outputs changed, max |change| %d\n", v.name, bits,
                   rounding_name((ratq_rounding)rounding), (long long)diff, (long long)v.n_output, max_change);
            total_outputs += v.n_output;
            total_changed += diff;
            if (max_change > max_change_all) max_change_all = max_change;
        } else {
            int want_equal = rounding == RATQ_ROUND_TFLITE ? 1 : v.single_rounding_matches;
            if (want_equal < 0) {
                ratq_error("%s: field 'verification.single_rounding_matches': missing (needed for --rounding single)",
                           paths[f]);
                rc = 2;
            } else if ((diff == 0) == want_equal) {
                passed++;
                if (diff) printf("PASS %s: %lld of %lld outputs differ from the double-rounding reference, as recorded\n",
                                 v.name, (long long)diff, (long long)v.n_output);
                else printf("PASS %s (%lld outputs)\n", v.name, (long long)v.n_output);
            } else {
                failed++;
                if (diff) printf("FAIL %s: %lld of %lld outputs differ, first at index %lld (got %d, expected %d)\n",
                                 v.name, (long long)diff, (long long)v.n_output, (long long)first, out[first],
                                 v.expected[first]);
                else printf("FAIL %s: all %lld outputs equal the double-rounding reference, but the vector records "
                            "that %s rounding differs\n", v.name, (long long)v.n_output, rounding_name((ratq_rounding)rounding));
            }
        }
        free(out);
        free(rs);
        ratq_vector_free(&v);
        if (rc) goto done;
    }
    if (bits)
        printf("k=%d %s: %lld of %lld outputs changed (%.2f%%), max |change| %d\n", bits, rounding_name((ratq_rounding)rounding),
               (long long)total_changed, (long long)total_outputs,
               total_outputs ? 100.0 * (double)total_changed / (double)total_outputs : 0.0, max_change_all);
    else {
        printf("%d passed, %d failed\n", passed, failed);
        rc = failed ? 1 : 0;
    }
done:
    for (int i = 0; i < n_paths; i++) free(paths[i]);
    free(paths);
    return rc;
}
