// hw/generic.c — the library-free proxy flow: yosys maps the generated RTL to NAND2/NOR2/NOT and reports an
// estimated transistor count and the gate depth. What the numbers mean and miss: hw/generic.h.
#define _XOPEN_SOURCE 700
#include "hw/generic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/io.h"

// The mapping after read_verilog/synth; part of the cache key. Flip-flop types: $_DFF_P_ (no reset),
// $_DFF_PN0_/$_DFF_PN1_ (active-low async reset to 0/1); "01" = any init value.
#define GENERIC_MAP                                                                                                \
    "dfflegalize -cell $_DFF_P_ 01 -cell $_DFF_PN0_ 01 -cell $_DFF_PN1_ 01\n"                                      \
    "abc -g cmos2\n"                                                                                               \
    "opt_clean\n"
#define GENERIC_REPORT                                                                                             \
    "tee -o stat.json stat -json -tech cmos\n"                                                                     \
    "tee -o comb.txt stat -tech cmos t:$_DFF_* %n\n"                                                               \
    "tee -o ltp.txt ltp -noff\n"

int ratq_hw_generic_flow_init(ratq_hw_flow *fl, const char *cache_dir) {
    memset(fl, 0, sizeof *fl);
    fl->generic = 1;
    snprintf(fl->library, sizeof fl->library, "%s", RATQ_HW_GENERIC_LIBRARY);
    ratq_hw_default_cache(cache_dir, fl->cache_dir, sizeof fl->cache_dir);
    fl->yosys = getenv("RATQ_YOSYS") ? getenv("RATQ_YOSYS") : "yosys";
    fl->sta = "";
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' -V 2>/dev/null", fl->yosys);
    ratq_hw_first_line_of(cmd, fl->tool_versions, sizeof fl->tool_versions);
    if (!fl->tool_versions[0]) {
        ratq_error("%s: cannot run (install yosys, or set RATQ_YOSYS)", fl->yosys);
        return -1;
    }
    return 0;
}

static uint64_t generic_key(const ratq_hw_flow *fl, ratq_hw_design d, char *desc, size_t n) {
    char top[64];
    ratq_hw_top_name(d, top, sizeof top);
    snprintf(desc, n, "%s|%s|%s|synth -flatten -noabc|%s%s|ff=%d|%s", RATQ_HW_GENERIC_FLOW_VERSION,
             RATQ_HW_RTL_VERSION, top, GENERIC_MAP, GENERIC_REPORT, RATQ_HW_GENERIC_FF_TRANSISTORS, fl->tool_versions);
    return ratq_hw_fnv1a(RATQ_HW_FNV_INIT, desc, strlen(desc));
}

void ratq_hw_generic_result_dir(const ratq_hw_flow *fl, ratq_hw_design d, char *buf, size_t n) {
    char desc[2048], top[64];
    uint64_t key = generic_key(fl, d, desc, sizeof desc);
    ratq_hw_top_name(d, top, sizeof top);
    if (snprintf(buf, n, "%s/generic-cmos2-%s-%016llx", fl->cache_dir, top, (unsigned long long)key) >= (int)n)
        buf[0] = 0; // never: callers pass 4096+ bytes for a cache_dir of < 4096
}

static int write_scripts(ratq_hw_design d, const char *dir) {
    char top[64], path[4200], text[4096];
    ratq_hw_top_name(d, top, sizeof top);
    snprintf(path, sizeof path, "%s/design.v", dir);
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    if (ratq_hw_write_design(af.f, d)) {
        ratq_atomic_abort(&af);
        return -1;
    }
    if (ratq_atomic_commit(&af)) return -1;
    snprintf(text, sizeof text,
             "# %s: %s on NAND2/NOR2/NOT (run in this folder: yosys -l synth.log synth.ys)\n"
             "read_verilog design.v\n"
             "synth -top %s -flatten -noabc\n"
             "%s"
             "%s"
             "write_verilog -noattr netlist.v\n",
             RATQ_HW_GENERIC_FLOW_VERSION, top, top, GENERIC_MAP, GENERIC_REPORT);
    return ratq_hw_write_text(dir, "synth.ys", text);
}

// stat.json: cells and flip-flops of the module; comb.txt: transistors of every cell but the flip-flops (a
// trailing '+' there means a cell type yosys has no cost for: an error); ltp.txt: "(length=N)".
static int parse_reports(const char *dir, const char *top, ratq_hw_result *r) {
    char path[4200];
    snprintf(path, sizeof path, "%s/stat.json", dir);
    char *text = ratq_read_file(path, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    const cJSON *design = cJSON_GetObjectItemCaseSensitive(o, "design");
    const cJSON *ncells = cJSON_GetObjectItemCaseSensitive(design, "num_cells");
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(design, "num_cells_by_type");
    if (!cJSON_IsNumber(ncells) || !cJSON_IsObject(types)) {
        ratq_error("%s: design.num_cells / num_cells_by_type: missing (not yosys 'stat -json' output)", path);
        cJSON_Delete(o);
        return -1;
    }
    r->cells = ncells->valueint;
    r->flops = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, types) if (cJSON_IsNumber(t) && (strstr(t->string, "DFF") || strstr(t->string, "DLATCH")))
        r->flops += t->valueint;
    cJSON_Delete(o);

    snprintf(path, sizeof path, "%s/comb.txt", dir);
    if (!(text = ratq_read_file(path, NULL))) return -1;
    const char *p = strstr(text, "Estimated number of transistors:");
    char *end = NULL;
    r->comb_transistors = p ? strtol(p + strlen("Estimated number of transistors:"), &end, 10) : -1;
    int unknown = end && *end == '+';
    free(text);
    if (r->comb_transistors <= 0 || unknown) {
        ratq_error("%s: estimated number of transistors: %s", path,
                   unknown ? "a gate type without a CMOS cost ('+')" : "missing or not positive");
        return -1;
    }
    r->transistors = r->comb_transistors + (long)RATQ_HW_GENERIC_FF_TRANSISTORS * r->flops;

    snprintf(path, sizeof path, "%s/ltp.txt", dir);
    if (!(text = ratq_read_file(path, NULL))) return -1;
    char pat[128];
    snprintf(pat, sizeof pat, "Longest topological path in %s (length=", top);
    p = strstr(text, pat);
    r->depth = p ? atoi(p + strlen(pat)) : 0;
    free(text);
    if (r->depth <= 0) {
        ratq_error("%s: longest topological path: missing or not positive", path);
        return -1;
    }
    return 0;
}

static int write_result(const char *dir, const ratq_hw_result *r, const char *desc) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "ratq_hw_generic_result/1");
    cJSON_AddStringToObject(o, "key", desc);
    cJSON_AddStringToObject(o, "library", RATQ_HW_GENERIC_LIBRARY);
    cJSON_AddNumberToObject(o, "macs", r->d.macs);
    cJSON_AddNumberToObject(o, "bits", r->d.bits);
    cJSON_AddNumberToObject(o, "transistors", (double)r->transistors);
    cJSON_AddNumberToObject(o, "comb_transistors", (double)r->comb_transistors);
    cJSON_AddNumberToObject(o, "depth", r->depth);
    cJSON_AddNumberToObject(o, "cells", r->cells);
    cJSON_AddNumberToObject(o, "flops", r->flops);
    cJSON_AddNumberToObject(o, "flops_expected", r->flops_expected);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    return ratq_hw_write_result_json(dir, o);
}

// 1 if a complete result for this key is cached (filled into r), 0 if not.
static int read_result(const char *dir, const char *desc, ratq_hw_result *r) {
    cJSON *o = ratq_hw_read_result_json(dir, desc);
    int ok = 0;
    if (o) {
        double t = ratq_hw_json_num(o, "transistors"), c = ratq_hw_json_num(o, "comb_transistors"), dp = ratq_hw_json_num(o, "depth");
        ok = t > 0 && c > 0 && dp > 0 && ratq_hw_json_num(o, "flops") == r->flops_expected;
        r->transistors = ok ? (long)t : 0;
        r->comb_transistors = ok ? (long)c : 0;
        r->depth = ok ? (int)dp : 0;
        r->cells = (int)ratq_hw_json_num(o, "cells");
        r->flops = (int)ratq_hw_json_num(o, "flops");
        r->seconds = ratq_hw_json_num(o, "seconds");
    }
    cJSON_Delete(o);
    return ok;
}

int ratq_hw_generic_synthesize(const ratq_hw_flow *fl, ratq_hw_design d, ratq_hw_result *r, int verbose) {
    if (ratq_hw_design_check(d)) return -1;
    memset(r, 0, sizeof *r);
    r->d = d;
    r->flops_expected = ratq_hw_expected_flops(d);
    char desc[2048], top[64];
    generic_key(fl, d, desc, sizeof desc);
    ratq_hw_top_name(d, top, sizeof top);
    ratq_hw_generic_result_dir(fl, d, r->dir, sizeof r->dir);
    if (read_result(r->dir, desc, r)) {
        r->cached = 1;
        return 0;
    }
    if (ratq_hw_mkdirs(r->dir) || write_scripts(d, r->dir)) return -1;
    if (verbose) fprintf(stderr, "ratq hw: mapping %s to generic CMOS gates ...\n", top);
    double t0 = ratq_now();
    char ylog[4200];
    snprintf(ylog, sizeof ylog, "%s/synth.log", r->dir);
    remove(ylog);
    const char *yargs[] = {fl->yosys, "-q", "-l", "synth.log", "synth.ys", NULL};
    int rc = ratq_hw_run(yargs, "/dev/null", r->dir);
    if (rc != 0) {
        ratq_error("%s: yosys failed (exit %d); see %s", top, rc, ylog);
        return -1;
    }
    if (parse_reports(r->dir, top, r)) return -1;
    r->seconds = ratq_now() - t0;
    if (r->flops != r->flops_expected) {
        ratq_error("%s: mapping kept %d flip-flops, the design has %d registers (a register was folded or "
                   "duplicated); see %s",
                   top, r->flops, r->flops_expected, ylog);
        return -1;
    }
    return write_result(r->dir, r, desc);
}
