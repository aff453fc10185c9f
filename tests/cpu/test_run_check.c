// test_run_check.c — checks a `ratq run` output folder against its artifacts (tests/run.cmake runs it after
// `ratq run --quick`). Usage: test_run_check DIR VAL_DATA [K].
//   1. every artifact of host/cli/run.h exists (export_c_k<K>/model.c, the .ratqm files of every RAT model);
//   2. the k = K RAT accuracy recorded in rat_k<K>.json equals, exactly (integer counts), the accuracy recomputed
//      here by loading rat_k<K>.ratqm from disk and running it through the CPU integer engine
//      (ratq_qmodel_eval) on the same images;
//   3. report.md's accuracy row for k = K shows that same number (formatted "%.2f") in the RAT column, and the
//      rat.json row for (K, no snap) matches rat_k<K>.json;
//   4. export_c.json records that the exported C was built and agreed with the engine on every image (>= 1).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/io.h"
#include "quant/calib_eval.h"
#include "test_util.h"

static cJSON *load_json(const char *dir, const char *name) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *s = ratq_read_file(p, NULL);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    free(s);
    CHECK_MSG(j != NULL, "%s: missing or not JSON", p);
    return j;
}

static double num(const cJSON *j, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1e300;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_run_check DIR VAL_DATA [K]\n");
        return 2;
    }
    const char *dir = argv[1], *val = argv[2];
    const int k = argc > 3 ? atoi(argv[3]) : 4;
    char p[4096];
    const char *must[] = {"float.ratqw", "float.json", "int8_k31.ratqm", "int8_k31.json", "qat_k31.ratqm",
                          "qat_k31.json", "sweep.json", "rat.json",
                          "export_c.json", "hw.json", "run_timings.json", "report.md"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, must[i]);
        CHECK_MSG(access(p, R_OK) == 0, "artifact %s missing", p);
    }
    for (int snap = 0; snap <= 1; snap++) {
        snprintf(p, sizeof p, "%s/rat_k%d%s.ratqm", dir, k, snap ? "_snap" : "");
        CHECK_MSG(access(p, R_OK) == 0, "artifact %s missing", p);
    }
    snprintf(p, sizeof p, "%s/export_c_k%d/model.c", dir, k);
    CHECK_MSG(access(p, R_OK) == 0, "artifact %s missing", p);
    if (ratq_test_failures) return ratq_test_finish("test_run_check");

    // 2. recorded vs recomputed accuracy of the saved integer model
    char name[64];
    snprintf(name, sizeof name, "rat_k%d.json", k);
    cJSON *rj = load_json(dir, name), *rat = load_json(dir, "rat.json"), *ex = load_json(dir, "export_c.json");
    if (ratq_test_failures) return ratq_test_finish("test_run_check");
    const int64_t n = (int64_t)num(rj, "images"), correct = (int64_t)num(rj, "top1_correct");
    snprintf(p, sizeof p, "%s/rat_k%d.ratqm", dir, k);
    ratq_quant_eval_result r;
    CHECK_MSG(n > 0 && ratq_qmodel_eval(p, val, n, 32, 0, RATQ_ENGINE_FAST, &r) == 0, "evaluating %s on %s", p, val);
    if (ratq_test_failures) return ratq_test_finish("test_run_check");
    printf("rat_k%d: recorded %lld/%lld correct (%.2f%%), recomputed by the engine %lld/%lld\n", k, (long long)correct,
           (long long)n, num(rj, "top1"), (long long)r.top1, (long long)r.n);
    CHECK_MSG(r.n == n && r.top1 == correct, "recorded %lld/%lld != recomputed %lld/%lld", (long long)correct,
              (long long)n, (long long)r.top1, (long long)r.n);
    const double top1 = 100.0 * (double)r.top1 / (double)r.n;

    // 3. rat.json row and report.md row
    int found = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(rat, "rows")) {
        if ((int)num(row, "k") == k && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "snap"))) {
            found = 1;
            CHECK_MSG(num(row, "top1_correct") == (double)correct, "rat.json k=%d row differs from %s", k, name);
        }
    }
    CHECK_MSG(found, "rat.json has no k=%d row", k);
    snprintf(p, sizeof p, "%s/report.md", dir);
    char *rep = ratq_read_file(p, NULL);
    CHECK_MSG(rep != NULL, "read %s", p);
    if (rep) {
        // accuracy table row: "| k | PTQ | PTQ+snap | RAT | RAT+snap |"; the RAT column is the 4th cell
        char pre[32], want[32];
        snprintf(pre, sizeof pre, "\n| %d |", k);
        snprintf(want, sizeof want, "%.2f", top1);
        const char *line = strstr(rep, pre);
        CHECK_MSG(line != NULL, "report.md has no accuracy row for k=%d", k);
        if (line) {
            const char *c = line + 1;
            for (int bar = 0; bar < 3 && c; bar++) c = strchr(c + 1, '|'); // c: the 4th '|', before the RAT cell
            char cellv[64] = "";
            if (c) sscanf(c + 1, "%63s", cellv);
            printf("report.md k=%d RAT cell: %s (engine: %s)\n", k, cellv, want);
            CHECK_MSG(!strcmp(cellv, want), "report.md k=%d RAT accuracy '%s' != engine's %s", k, cellv, want);
        }
        CHECK_MSG(strstr(rep, "## Hardware cost") != NULL, "report.md lacks the hardware section");
        free(rep);
    }
    // 4. export-c agreement
    CHECK_MSG(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "built")), "export_c.json: not built");
    CHECK_MSG(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "match")) && num(ex, "images") >= 1 &&
                  num(ex, "agree") == num(ex, "images"),
              "export_c.json: the exported C did not agree with the engine on every image");
    cJSON_Delete(rj);
    cJSON_Delete(rat);
    cJSON_Delete(ex);
    return ratq_test_finish("test_run_check");
}
