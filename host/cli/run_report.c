// run_report.c — `ratq run` stage g: report.md from the stage artifacts (host/cli/run.h), plots by
// scripts/plot_report.py when python3 + matplotlib are available, and the one-screen summary.
// Everything here is read back from the artifacts, so the report of a rerun that skipped every stage is the
// same as the first one's (timings of skipped stages are those recorded when the stage ran).
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hw/synth.h"
#include "common/io.h"
#include "cli/run.h"

static double num(const cJSON *j, const char *key, double def) {
    const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}
static const char *str(const cJSON *j, const char *key, const char *def) {
    const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : def;
}
static const cJSON *rows(const cJSON *j) { return j ? cJSON_GetObjectItemCaseSensitive(j, "rows") : NULL; }

// top-1 of the row with this k (and snap flag, -1 = any) in rows; NAN-free: -1 if absent.
static double row_top1(const cJSON *j, int k, int snap) {
    const cJSON *r;
    cJSON_ArrayForEach(r, rows(j)) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "snap");
        if ((int)num(r, "k", -1) == k && (snap < 0 || (cJSON_IsTrue(s) ? 1 : 0) == snap)) return num(r, "top1", -1);
    }
    return -1;
}
// Trained accuracy at k without snapping: the RAT row, or for k = 31 the QAT baseline (the same training).
static double trained_top1(const cJSON *rat, const cJSON *qa, int k) {
    double v = row_top1(rat, k, 0);
    return v < 0 && k == 31 ? num(qa, "top1", -1) : v;
}
static const cJSON *hw_row(const cJSON *hw, int macs, int bits) {
    const cJSON *r;
    cJSON_ArrayForEach(r, rows(hw)) if ((int)num(r, "macs", -1) == macs && (int)num(r, "bits", -1) == bits) return r;
    return NULL;
}
// The rounding row: the mode recorded in int8_k31.json, with its rule.
static const char *rounding_text(const char *name) {
    if (!strcmp(name, "single")) return "single (one rounding of acc * m * 2^-s)";
    if (!strcmp(name, "tflite")) return "tflite (LiteRT: rounding doubling high multiply, then rounding shift)";
    if (!strcmp(name, "half_even")) return "half_even (one rounding of acc * m * 2^-s, ties to even)";
    return name;
}

// The RAT recipe recorded by the training stages ("recipe" in rat.json's rows, or in qat_k31.json), as one line:
// "1 epoch(s) on the first 64 training images, SGD lr 0.003 cosine, 0.5 CE + 0.5 distillation from the float network".
static void recipe_text(const cJSON *rat, const cJSON *qa, char *buf, size_t n) {
    const cJSON *rec = NULL, *r;
    cJSON_ArrayForEach(r, rows(rat)) if (!rec) rec = cJSON_GetObjectItemCaseSensitive(r, "recipe");
    if (!cJSON_IsObject(rec)) rec = qa ? cJSON_GetObjectItemCaseSensitive(qa, "recipe") : NULL;
    if (!cJSON_IsObject(rec)) {
        snprintf(buf, n, "(no recipe recorded in rat.json / qat_k31.json)");
        return;
    }
    char images[64], loss[160];
    const double lim = num(rec, "images", 0), a = num(rec, "distill_alpha", 0);
    if (lim > 0) snprintf(images, sizeof images, "the first %.0f", lim);
    else snprintf(images, sizeof images, "all");
    const char *t = str(rec, "teacher", "none");
    if (!strcmp(t, "none") || a <= 0) snprintf(loss, sizeof loss, "cross-entropy");
    else
        snprintf(loss, sizeof loss, "%g CE + %g distillation from the %s", 1 - a, a,
                 !strcmp(t, "float") ? "float network" : "int8 network with 31-bit rescalers");
    const char *opt = str(rec, "optimizer", "?");
    snprintf(buf, n, "%.0f epoch(s) on %s training images, %s lr %g %s, %s", num(rec, "epochs", 0), images,
             !strcmp(opt, "sgd") ? "SGD" : !strcmp(opt, "adamw") ? "AdamW" : opt, num(rec, "lr", 0),
             str(rec, "schedule", "?"), loss);
}

static void cell(FILE *f, double v) {
    if (v < 0) fprintf(f, " - |");
    else fprintf(f, " %.2f |", v);
}

// Find scripts/plot_report.py: $RATQ_SCRIPTS_DIR, next to the build folder, or ./scripts.
static int find_script(const ratq_run_ctx *c, char *out, size_t n) {
    const char *e = getenv("RATQ_SCRIPTS_DIR");
    char cand[3][8192];
    int nc = 0;
    if (e && *e) snprintf(cand[nc++], sizeof cand[0], "%s/plot_report.py", e);
    snprintf(cand[nc++], sizeof cand[0], "%s/../scripts/plot_report.py", c->exe_dir);
    snprintf(cand[nc++], sizeof cand[0], "scripts/plot_report.py");
    for (int i = 0; i < nc; i++)
        if (access(cand[i], R_OK) == 0) {
            size_t l = strlen(cand[i]);
            if (l >= n) return -1;
            memcpy(out, cand[i], l + 1);
            return 0;
        }
    return -1;
}

static const char *const PLOTS[] = {"top1_vs_k.png", "rescaler_area_delay_vs_k.png", "accuracy_vs_area.png"};

// Returns a note for the report about the plots.
static void make_plots(const ratq_run_ctx *c, char *note, size_t n) {
    char script[8192], log[8192];
    snprintf(log, sizeof log, "%s/plots.log", c->dir);
    if (find_script(c, script, sizeof script) != 0) {
        snprintf(note, n, "plots skipped: scripts/plot_report.py not found (set RATQ_SCRIPTS_DIR)");
        return;
    }
    const char *probe[] = {"python3", "-c", "import matplotlib", NULL};
    if (ratq_hw_run(probe, log, NULL) != 0) {
        snprintf(note, n, "plots skipped: python3 with matplotlib is not available (pip install matplotlib, then "
                          "python3 scripts/plot_report.py %s)", c->dir);
        return;
    }
    const char *cmd[] = {"python3", script, c->dir, NULL};
    fprintf(stderr, "ratq run: [report] plots: python3 %s %s\n", script, c->dir);
    if (ratq_hw_run(cmd, log, NULL) != 0) {
        snprintf(note, n, "plots failed: see %s/plots.log", c->dir);
        return;
    }
    snprintf(note, n, "plots by python3 %s (matplotlib)", script);
}

int ratq_run_report(const ratq_run_ctx *c, double total) {
    cJSON *fl = ratq_run_read_json(c->dir, "float.json"), *i8 = ratq_run_read_json(c->dir, "int8_k31.json");
    cJSON *sw = ratq_run_read_json(c->dir, "sweep.json"), *rat = ratq_run_read_json(c->dir, "rat.json");
    cJSON *ex = ratq_run_read_json(c->dir, "export_c.json"), *hw = ratq_run_read_json(c->dir, "hw.json");
    cJSON *tim = ratq_run_read_json(c->dir, "run_timings.json"), *qa = ratq_run_read_json(c->dir, "qat_k31.json");
    int rc = 0;
    if (!fl || !i8 || !qa || !sw || !rat || !ex || !hw) {
        ratq_error("run: report: an artifact of %s is missing or invalid", c->dir);
        rc = -1;
    }
    char plot_note[8400] = "";
    if (rc == 0) make_plots(c, plot_note, sizeof plot_note);
    const char *hw_skip = str(hw, "skipped", NULL);
    // library-free proxy rows (ratq hw --generic): transistors / gate levels instead of um^2 / ps
    const int proxy = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hw, "proxy"));
    const char *akey = proxy ? "transistors" : "area_um2", *aunit = proxy ? "transistors (proxy)" : "um^2";
    char path[8192];
    snprintf(path, sizeof path, "%s/report.md", c->dir);
    ratq_atomic_file af;
    if (rc == 0 && ratq_atomic_open(&af, path) != 0) rc = -1;
    if (rc == 0) {
        FILE *f = af.f;
        struct utsname u;
        char when[64] = "";
        time_t now = time(NULL);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
        fprintf(f, "# ratq run report\n\n");
        fprintf(f, "A float %s network becomes an integer network (int8 weights and activations, int32 accumulators) "
                   "whose requantization multipliers have k bits; accuracy, exports and hardware cost side by side.\n\n",
                str(fl, "model", c->model));
        fprintf(f, "## Configuration\n\n| item | value |\n|---|---|\n");
        fprintf(f, "| ratq | %s (%s) |\n", RATQ_VERSION, "C11, CPU integer engine");
        fprintf(f, "| compiler | cc %s |\n", __VERSION__);
        if (uname(&u) == 0) fprintf(f, "| machine | %s %s %s |\n", u.sysname, u.release, u.machine);
        fprintf(f, "| report written | %s |\n", when);
        fprintf(f, "| output folder | `%s`%s |\n", c->dir, c->quick ? " (--quick: reduced sizes)" : "");
        fprintf(f, "| model | %s, weights: %s |\n", str(fl, "model", "?"), str(fl, "weights", "?"));
        fprintf(f, "| training data | `%s` |\n| validation data | `%s` |\n", str(fl, "train", c->train),
                str(fl, "val", c->val));
        if (num(fl, "epochs", -1) > 0)
            fprintf(f, "| float training | %.0f images, %.0f epochs, %.0f SGD steps (batch %.0f, lr %g cosine), last "
                       "epoch loss %.4f, train accuracy %.2f%% |\n",
                    num(fl, "train_images", 0), num(fl, "epochs", 0), num(fl, "steps", 0), num(fl, "batch", 0),
                    num(fl, "lr", 0), num(fl, "last_epoch_loss", 0), num(fl, "last_epoch_train_acc", 0));
        fprintf(f, "| calibration | first %.0f training images, min/max observers |\n", num(i8, "calib_images", 0));
        fprintf(f, "| evaluation | first %.0f validation images; top-1 in %% |\n", num(fl, "images", 0));
        fprintf(f, "| rounding | %s |\n", rounding_text(str(i8, "rounding", "?")));
        char recipe[512];
        recipe_text(rat, qa, recipe, sizeof recipe);
        fprintf(f, "| RAT | %s |\n\n", recipe);

        fprintf(f, "## Accuracy (top-1 %%)\n\n");
        fprintf(f, "Float (BN folded): **%.2f**. int8 with 31-bit rescalers (integer engine): post-training "
                   "(`int8_k31.ratqm`) **%.2f**; int8 quantization-aware training with 31-bit rescalers (`qat_k31.ratqm`: "
                   "the RAT training below at k = 31, the 32-bit baseline of LiteRT / CMSIS-NN) **%.2f**.\n\n",
                num(fl, "top1", -1), num(i8, "top1", -1), num(qa, "top1", -1));
        fprintf(f, "| k | post-training | post-training + snapping | RAT | RAT + snapping |\n|---|---|---|---|---|\n");
        int ks[64], nk = 0;
        for (int i = 0; i < c->nk; i++) ks[nk++] = c->ks[i];
        for (int i = 0; i < c->n_rat; i++) {
            int seen = 0;
            for (int j = 0; j < nk; j++) seen |= ks[j] == c->rat_ks[i];
            if (!seen && nk < 64) ks[nk++] = c->rat_ks[i];
        }
        for (int i = 0; i < nk; i++) {
            fprintf(f, "| %d |", ks[i]);
            cell(f, row_top1(sw, ks[i], 0));
            cell(f, row_top1(sw, ks[i], 1));
            cell(f, trained_top1(rat, qa, ks[i]));
            cell(f, row_top1(rat, ks[i], 1));
            fprintf(f, "\n");
        }
        fprintf(f, "\nPost-training rows: fake-quant forward (bit-identical to the integer engine). RAT rows: the saved "
                   "integer models `rat_k<k>[_snap].ratqm` run by the CPU integer engine (k = 31: `qat_k31.ratqm`).\n\n");
        fprintf(f, "| RAT model | k | snapping | post-training top-1 | RAT top-1 | gain | steps | seconds |\n"
                   "|---|---|---|---|---|---|---|---|\n");
        const cJSON *r;
        cJSON_ArrayForEach(r, rows(rat)) {
            fprintf(f, "| `%s` | %.0f | %s | %.2f | %.2f | %+.2f | %.0f | %.1f |\n", str(r, "model", "?"),
                    num(r, "k", 0), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "snap")) ? "yes" : "no",
                    num(r, "ptq_top1", 0), num(r, "top1", 0), num(r, "top1", 0) - num(r, "ptq_top1", 0),
                    num(r, "steps", 0), num(r, "seconds", 0));
        }
        fprintf(f, "\n## Standalone C export\n\n`%s/` from `%s`: %s; `./classify` agrees with the integer engine on "
                   "%.0f of %.0f test images%s.\n\n",
                str(ex, "dir", "?"), str(ex, "model", "?"),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "built")) ? "built with make + cc"
                                                                            : "NOT built (no make/cc; see build.log)",
                num(ex, "agree", 0), num(ex, "images", 0),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "match")) ? " (all match)" : "");

        fprintf(f, "## Hardware cost\n\n");
        if (hw_skip) {
            fprintf(f, "hw: skipped (%s). No numbers are shown rather than invented ones.\n\n", hw_skip);
        } else if (proxy) {
            fprintf(f, "No Liberty library was used (none found, or `--hw-proxy`), so these are **library-free proxies**, not um^2 / ps: %s, tools "
                       "%s. Area = estimated CMOS transistors of the design mapped to NAND2/NOR2/NOT (yosys `stat "
                       "-tech cmos`, flip-flops counted as 24 transistors), delay = longest register-to-register "
                       "path in gate levels (yosys `ltp`). N = 0 is the k-bit rescaler alone; N > 0 a dot-product unit "
                       "with N int8 MACs and one rescaler. Reductions are against k = 32. For um^2 and ps pass "
                       "`--liberty FILE` (hw/generic.h says what the proxy does not model).\n\n",
                    str(hw, "flow", "?"), str(hw, "tools", "?"));
            fprintf(f, "| N | k | transistors | gate levels | transistors x levels | area reduction | delay reduction | "
                       "ADP gain |\n|---|---|---|---|---|---|---|---|\n");
            cJSON_ArrayForEach(r, rows(hw)) {
                fprintf(f, "| %.0f | %.0f | %.0f | %.0f | %.0f | %.1f%% | %.1f%% | %.2fx |\n", num(r, "macs", 0),
                        num(r, "bits", 0), num(r, "transistors", 0), num(r, "depth", 0), num(r, "adp_proxy", 0),
                        100 * num(r, "area_reduction", 0), 100 * num(r, "delay_reduction", 0), num(r, "adp_gain", 0));
            }
            fprintf(f, "\n");
        } else {
            fprintf(f, "Library `%s`, tools %s, flow %s (area = mapped cell area, delay = OpenSTA worst "
                       "register-to-register path; see `ratq hw --help`). N = 0 is the k-bit rescaler alone; N > 0 "
                       "a dot-product unit with N int8 MACs and one rescaler. Reductions are against k = 32.\n\n",
                    str(hw, "library", "?"), str(hw, "tools", "?"), str(hw, "flow", "?"));
            fprintf(f, "| N | k | area um^2 | delay ps | ADP | area reduction | delay reduction | ADP gain |\n"
                       "|---|---|---|---|---|---|---|---|\n");
            cJSON_ArrayForEach(r, rows(hw)) {
                fprintf(f, "| %.0f | %.0f | %.3f | %.2f | %.1f | %.1f%% | %.1f%% | %.2fx |\n", num(r, "macs", 0),
                        num(r, "bits", 0), num(r, "area_um2", 0), num(r, "delay_ps", 0), num(r, "adp", 0),
                        100 * num(r, "area_reduction", 0), 100 * num(r, "delay_reduction", 0), num(r, "adp_gain", 0));
            }
            fprintf(f, "\n");
        }
        fprintf(f, "## Trade-off: accuracy vs rescaler area\n\n");
        if (hw_skip) fprintf(f, "(rescaler area not available: hw skipped)\n\n");
        fprintf(f, "| k | rescaler area, %s | best top-1 | from |\n|---|---|---|---|\n", aunit);
        for (int i = 0; i < nk; i++) {
            double best = -1;
            const char *from = "-";
            const char *names[4] = {"post-training", "post-training + snapping", ks[i] == 31 ? "QAT" : "RAT",
                                    "RAT + snapping"};
            double v[4] = {row_top1(sw, ks[i], 0), row_top1(sw, ks[i], 1), trained_top1(rat, qa, ks[i]),
                           row_top1(rat, ks[i], 1)};
            for (int t = 0; t < 4; t++)
                if (v[t] > best) {
                    best = v[t];
                    from = names[t];
                }
            const cJSON *h = hw_row(hw, 0, ks[i] >= 31 ? 32 : ks[i]);
            if (h) fprintf(f, "| %d | %.*f | %.2f | %s |\n", ks[i], proxy ? 0 : 3, num(h, akey, 0), best, from);
            else fprintf(f, "| %d | - | %.2f | %s |\n", ks[i], best, from);
        }
        fprintf(f, "\n(k = 31 is synthesized as the conventional 32-bit signed rescaler.)\n\n");
        fprintf(f, "## Timings\n\n| stage | seconds (when it ran) | seconds (this invocation, incl. skip checks) |\n"
                   "|---|---|---|\n");
        const char *sn[7] = {"float", "int8", "qat", "sweep", "rat", "export-c", "hw"};
        const cJSON *sa[7] = {fl, i8, qa, sw, rat, ex, hw};
        for (int s = 0; s < 7; s++)
            fprintf(f, "| %s%s | %.1f | %.1f |\n", sn[s],
                    s == 6 ? " (in the background from the start: seconds until its table was read)" : "",
                    num(sa[s], "seconds", 0), num(tim, sn[s], 0));
        fprintf(f, "| total (this invocation) | | %.1f |\n\n", total);
        fprintf(f, "## Plots\n\n%s.\n\n", plot_note);
        const char *cap[3] = {"top-1 vs k (post-training, RAT, with and without snapping)",
                              "rescaler area and delay vs k", "accuracy vs rescaler area (trade-off)"};
        for (int p = 0; p < 3; p++) {
            char pp[8400];
            snprintf(pp, sizeof pp, "%s/%s", c->dir, PLOTS[p]);
            if (access(pp, R_OK) == 0) fprintf(f, "![%s](%s)\n\n", cap[p], PLOTS[p]);
        }
        fprintf(f, "## Artifacts\n\n`float.ratqw` `float.json` `int8_k31.ratqm` `int8_k31.json` `qat_k31.ratqm` `qat_k31.json` `sweep.json` "
                   "`rat_k<k>[_snap].ratqm` `rat_k<k>[_snap].json` `rat.json` `%s/` `export_c.json` `hw.json` "
                   "`run_timings.json` `report.md`. Delete an artifact to rerun its stage.\n",
                str(ex, "dir", "export_c"));
        if (ratq_atomic_commit(&af) != 0) rc = -1;
    }
    if (rc == 0) { // summary
        int k0 = c->rat_ks[0];
        if (c->json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "command", "run");
            cJSON_AddStringToObject(j, "dir", c->dir);
            cJSON_AddNumberToObject(j, "float_top1", num(fl, "top1", -1));
            cJSON_AddNumberToObject(j, "int8_k31_top1", num(i8, "top1", -1));
            cJSON_AddNumberToObject(j, "qat_k31_top1", num(qa, "top1", -1));
            for (int i = 0; i < c->n_rat; i++)
                for (int s = 0; s <= 1; s++) {
                    char key[64];
                    snprintf(key, sizeof key, "rat_k%d%s_top1", c->rat_ks[i], s ? "_snap" : "");
                    cJSON_AddNumberToObject(j, key, row_top1(rat, c->rat_ks[i], s));
                }
            cJSON_AddBoolToObject(j, "export_c_match", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "match")));
            cJSON_AddBoolToObject(j, "hw", hw_skip == NULL);
            cJSON_AddNumberToObject(j, "seconds", total);
            char *s = cJSON_PrintUnformatted(j);
            if (s) printf("%s\n", s);
            free(s);
            cJSON_Delete(j);
        } else {
            printf("ratq run: %s  (report: %s/report.md)\n", str(fl, "model", c->model), c->dir);
            printf("  float %.2f%% | int8 k=31: post-training %.2f%%, QAT %.2f%% | top-1 on %.0f images\n",
                   num(fl, "top1", -1), num(i8, "top1", -1), num(qa, "top1", -1), num(fl, "images", 0));
            printf("  %-4s %10s %10s %10s %10s %12s\n", "k", "PTQ", "PTQ+snap", "RAT", "RAT+snap",
                   proxy ? "resc. trans." : "resc. um^2");
            for (int i = 0; i < c->nk || i < c->n_rat; i++) {
                int k = i < c->nk ? c->ks[i] : c->rat_ks[i - c->nk];
                if (i >= c->nk) {
                    int seen = 0;
                    for (int j = 0; j < c->nk; j++) seen |= c->ks[j] == k;
                    if (seen) continue;
                }
                double v[4] = {row_top1(sw, k, 0), row_top1(sw, k, 1), trained_top1(rat, qa, k), row_top1(rat, k, 1)};
                printf("  %-4d", k);
                for (int t = 0; t < 4; t++) {
                    if (v[t] < 0) printf(" %10s", "-");
                    else printf(" %9.2f%%", v[t]);
                }
                const cJSON *h = hw_row(hw, 0, k >= 31 ? 32 : k);
                if (h) printf(" %12.*f\n", proxy ? 0 : 3, num(h, akey, 0));
                else printf(" %12s\n", "-");
            }
            printf("  export-c (k=%d): %s, ./classify == engine on %.0f/%.0f images\n", k0,
                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "built")) ? "built" : "not built",
                   num(ex, "agree", 0), num(ex, "images", 0));
            if (hw_skip) printf("  hw: skipped (%s)\n", hw_skip);
            else printf("  hw: %s, %d designs\n", str(hw, "library", "?"), cJSON_GetArraySize(rows(hw)));
            printf("  %s\n  total %.1f s\n", plot_note, total);
        }
    }
    cJSON_Delete(fl);
    cJSON_Delete(i8);
    cJSON_Delete(qa);
    cJSON_Delete(sw);
    cJSON_Delete(rat);
    cJSON_Delete(ex);
    cJSON_Delete(hw);
    cJSON_Delete(tim);
    return rc;
}
