// hw/synth.c — Yosys/ABC synthesis and OpenSTA timing of the generated RTL, with a result cache.
// Flow, what the numbers include and exclude: hw/synth.h.
#define _XOPEN_SOURCE 700
#include "hw/synth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hw/generic.h"
#include "common/io.h"

#define STA_PERIOD_PS 100000.0 // far above any path here: delay = period - slack

// ---- small helpers ----------------------------------------------------------------------------

uint64_t ratq_hw_fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

void ratq_hw_default_cache(const char *cache_dir, char *buf, size_t n) {
    const char *home = getenv("HOME");
    if (cache_dir) snprintf(buf, n, "%s", cache_dir);
    else if (getenv("RATQ_HW_CACHE")) snprintf(buf, n, "%s", getenv("RATQ_HW_CACHE"));
    else snprintf(buf, n, "%s/.cache/ratq/hw", home ? home : "/tmp");
}

int ratq_hw_mkdirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        ratq_error("%s: path too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                ratq_error("%s: cannot create folder: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (c == 0) break;
        }
    }
    return 0;
}

int ratq_hw_run(const char *const argv[], const char *log, const char *cwd) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        ratq_error("%s: fork failed: %s", argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (log) { // opened before chdir: a relative log path names a file of the caller's folder
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
            if (fd < 0) _exit(126);
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (cwd && chdir(cwd) != 0) _exit(126);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "ratq: %s: cannot run: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// First line printed by "cmd" (a version query), or "" if it cannot be run.
void ratq_hw_first_line_of(const char *cmd, char *buf, size_t n) {
    buf[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fgets(buf, (int)n, p)) buf[strcspn(buf, "\r\n")] = 0;
    else buf[0] = 0;
    pclose(p);
}

// ---- Liberty scan: library name, sequential cells, a buffer for the driving cell ----------------

typedef struct {
    char names[512][64];
    int n;
} cell_set;

static int cell_set_has(const cell_set *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return 1;
    return 0;
}

// "keyword ( NAME )" at the start of a line (after blanks); copies NAME (quotes stripped). 1 if matched.
static int group_name(const char *line, const char *kw, char *name, size_t n) {
    while (*line == ' ' || *line == '\t') line++;
    size_t kl = strlen(kw);
    if (strncmp(line, kw, kl)) return 0;
    line += kl;
    while (*line == ' ' || *line == '\t') line++;
    if (*line != '(') return 0;
    line++;
    while (*line == ' ' || *line == '\t' || *line == '"') line++;
    size_t i = 0;
    while (*line && *line != ')' && *line != '"' && *line != ' ' && i + 1 < n) name[i++] = *line++;
    name[i] = 0;
    return 1;
}

static int scan_liberty(ratq_hw_flow *fl, cell_set *seq) {
    size_t size;
    char *text = ratq_read_file(fl->liberty, &size);
    if (!text) return -1;
    fl->liberty_hash = ratq_hw_fnv1a(RATQ_HW_FNV_INIT, text, size);
    fl->library[0] = fl->driver[0] = 0;
    seq->n = 0;
    char cell[64] = "", first_buf[64] = "";
    int have_buf_x1 = 0, ncells = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char name[64];
        if (!fl->library[0] && group_name(line, "library", name, sizeof name)) snprintf(fl->library, sizeof fl->library, "%s", name);
        if (group_name(line, "cell", name, sizeof name)) {
            snprintf(cell, sizeof cell, "%s", name);
            ncells++;
            if (!strcmp(name, "BUF_X1")) have_buf_x1 = 1;
            if (!first_buf[0] && (!strncmp(name, "BUF", 3) || !strncmp(name, "buf", 3))) snprintf(first_buf, sizeof first_buf, "%s", name);
        }
        if (cell[0] && (group_name(line, "ff", name, sizeof name) || group_name(line, "latch", name, sizeof name)) &&
            !cell_set_has(seq, cell) && seq->n < 512)
            snprintf(seq->names[seq->n++], 64, "%s", cell);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (!fl->library[0] || ncells == 0) {
        ratq_error("%s: library: no 'library (...)' group or no cells: not a Liberty file", fl->liberty);
        return -1;
    }
    if (seq->n == 0) {
        ratq_error("%s: cells: no flip-flop (no cell with an ff group)", fl->liberty);
        return -1;
    }
    snprintf(fl->driver, sizeof fl->driver, "%s", have_buf_x1 ? "BUF_X1" : first_buf);
    return 0;
}

int ratq_hw_flow_init(ratq_hw_flow *fl, const char *liberty, const char *cache_dir) {
    memset(fl, 0, sizeof *fl);
    char *abs = realpath(liberty, NULL);
    if (!abs) {
        ratq_error("%s: liberty: cannot open: %s", liberty, strerror(errno));
        return -1;
    }
    snprintf(fl->liberty, sizeof fl->liberty, "%s", abs);
    free(abs);
    cell_set seq;
    if (scan_liberty(fl, &seq)) return -1;
    fl->delay_target_ps = 1.0;
    fl->area_flow = 0;
    fl->load_ff = 2.0;
    ratq_hw_default_cache(cache_dir, fl->cache_dir, sizeof fl->cache_dir);
    fl->yosys = getenv("RATQ_YOSYS") ? getenv("RATQ_YOSYS") : "yosys";
    fl->sta = getenv("RATQ_STA") ? getenv("RATQ_STA") : "sta";
    char yv[128], sv[64], cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' -V 2>/dev/null", fl->yosys);
    ratq_hw_first_line_of(cmd, yv, sizeof yv);
    snprintf(cmd, sizeof cmd, "'%s' -version 2>/dev/null", fl->sta);
    ratq_hw_first_line_of(cmd, sv, sizeof sv);
    if (!yv[0]) {
        ratq_error("%s: cannot run (install yosys, or set RATQ_YOSYS)", fl->yosys);
        return -1;
    }
    if (!sv[0]) {
        ratq_error("%s: cannot run (install OpenSTA: Debian package opensta, or set RATQ_STA)", fl->sta);
        return -1;
    }
    snprintf(fl->tool_versions, sizeof fl->tool_versions, "%s; OpenSTA %s", yv, sv);
    return 0;
}

// ---- cache key and scripts ----------------------------------------------------------------------

static void abc_script(const ratq_hw_flow *fl, char *buf, size_t n) {
    double d = fl->delay_target_ps;
    if (fl->area_flow) snprintf(buf, n, "+strash;dch;map,-a;topo;buffer;stime,-p");
    else snprintf(buf, n, "+strash;dch;map,-D,%g;topo;buffer;upsize,-D,%g;dnsize,-D,%g;stime,-p", d, d, d);
}

static uint64_t result_key(const ratq_hw_flow *fl, ratq_hw_design d, char *desc, size_t n) {
    char top[64], script[256];
    ratq_hw_top_name(d, top, sizeof top);
    abc_script(fl, script, sizeof script);
    snprintf(desc, n, "%s|%s|%s|lib=%016llx|script=%s|D=%g|load=%g|driver=%s|%s", RATQ_HW_FLOW_VERSION,
             RATQ_HW_RTL_VERSION, top, (unsigned long long)fl->liberty_hash, script, fl->delay_target_ps, fl->load_ff,
             fl->driver, fl->tool_versions);
    return ratq_hw_fnv1a(RATQ_HW_FNV_INIT, desc, strlen(desc));
}

void ratq_hw_result_dir(const ratq_hw_flow *fl, ratq_hw_design d, char *buf, size_t n) {
    if (fl->generic) {
        ratq_hw_generic_result_dir(fl, d, buf, n);
        return;
    }
    char desc[1024], top[64];
    uint64_t key = result_key(fl, d, desc, sizeof desc);
    ratq_hw_top_name(d, top, sizeof top);
    if (snprintf(buf, n, "%s/%s-%s-%016llx", fl->cache_dir, fl->library, top, (unsigned long long)key) >= (int)n)
        buf[0] = 0; // never: callers pass 4096+ bytes for a cache_dir of < 4096
}

int ratq_hw_write_text(const char *dir, const char *name, const char *text) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    fputs(text, af.f);
    return ratq_atomic_commit(&af);
}

static int write_scripts(const ratq_hw_flow *fl, ratq_hw_design d, const char *dir) {
    char top[64], script[256], path[4200], text[20000];
    ratq_hw_top_name(d, top, sizeof top);
    abc_script(fl, script, sizeof script);

    snprintf(path, sizeof path, "%s/design.v", dir);
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    if (ratq_hw_write_design(af.f, d)) {
        ratq_atomic_abort(&af);
        return -1;
    }
    if (ratq_atomic_commit(&af)) return -1;

    // ABC constraints: inputs of the mapped logic (flip-flop outputs) driven by the driver cell, outputs loaded.
    text[0] = 0;
    if (fl->driver[0]) snprintf(text, sizeof text, "set_driving_cell %s\n", fl->driver);
    snprintf(text + strlen(text), sizeof text - strlen(text), "set_load %g\n", fl->load_ff);
    if (ratq_hw_write_text(dir, "abc.constr", text)) return -1;

    snprintf(text, sizeof text,
             "# %s: %s on %s (run in this folder: yosys -l synth.log synth.ys)\n"
             "read_verilog design.v\n"
             "synth -top %s -flatten -noabc\n"
             "dfflibmap -liberty %s\n"
             "abc -liberty %s -constr abc.constr -D %g -script %s\n"
             "opt_clean\n"
             "stat -liberty %s\n"
             "write_verilog -noattr netlist.v\n",
             RATQ_HW_FLOW_VERSION, top, fl->library, top, fl->liberty, fl->liberty, fl->delay_target_ps, script,
             fl->liberty);
    if (ratq_hw_write_text(dir, "synth.ys", text)) return -1;

    int n = snprintf(text, sizeof text,
                     "# %s: static timing of %s (run in this folder: sta -no_splash -exit sta.tcl)\n"
                     "read_liberty %s\n"
                     "read_verilog netlist.v\n"
                     "link_design %s\n"
                     "set_cmd_units -time ps -capacitance fF\n"
                     "create_clock -name clk -period %g [get_ports clk]\n"
                     "set ins [delete_from_list [all_inputs] [get_ports clk]]\n"
                     "set_input_delay 0 -clock clk $ins\n"
                     "set_output_delay 0 -clock clk [all_outputs]\n"
                     "set_false_path -from [get_ports rst_n]\n"
                     "set_load %g [all_outputs]\n",
                     RATQ_HW_FLOW_VERSION, top, fl->liberty, top, STA_PERIOD_PS, fl->load_ff);
    if (fl->driver[0]) n += snprintf(text + n, sizeof text - n, "set_driving_cell -lib_cell %s $ins\n", fl->driver);
    n += snprintf(text + n, sizeof text - n,
                  "# the flip-flops that drive a named register's nets\n"
                  "proc ratq_regs {pattern} {\n"
                  "    return [get_cells -of_objects [get_pins -of_objects [get_nets $pattern] -filter \"direction == output\"]]\n"
                  "}\n"
                  "proc ratq_slack {tag paths} {\n"
                  "    if {[llength $paths] == 0} { puts \"RATQ_STA $tag none\"; return }\n"
                  "    puts \"RATQ_STA $tag [get_property [lindex $paths 0] slack]\"\n"
                  "}\n"
                  "set yregs [ratq_regs {y[*]}]\n"
                  "puts \"RATQ_STA yregs [llength $yregs]\"\n"
                  "ratq_slack resc [find_timing_paths -path_delay max -to $yregs -group_count 1]\n");
    if (d.macs > 0)
        n += snprintf(text + n, sizeof text - n,
                      "set aregs [ratq_regs {acc_r[*]}]\n"
                      "puts \"RATQ_STA aregs [llength $aregs]\"\n"
                      "ratq_slack mac [find_timing_paths -path_delay max -to $aregs -group_count 1]\n");
    snprintf(text + n, sizeof text - n,
             "ratq_slack all [find_timing_paths -path_delay max -group_count 1]\n"
             "report_checks -path_delay max -fields {cap slew fanout} -digits 2\n");
    return ratq_hw_write_text(dir, "sta.tcl", text);
}

// ---- log parsing --------------------------------------------------------------------------------

// Last "Chip area for module ...: X", the cell count and flip-flop count of the last stat in the yosys log.
static int parse_yosys_log(const char *log, const cell_set *seq, ratq_hw_result *r) {
    char *text = ratq_read_file(log, NULL);
    if (!text) return -1;
    char *stat = NULL;
    for (char *p = strstr(text, "Number of cells:"); p; p = strstr(p + 1, "Number of cells:")) stat = p;
    char *area = NULL;
    for (char *p = strstr(text, "Chip area for module"); p; p = strstr(p + 1, "Chip area for module")) area = p;
    char *abc = NULL;
    for (char *p = strstr(text, "Delay ="); p; p = strstr(p + 1, "Delay =")) abc = p;
    if (!stat || !area) {
        ratq_error("%s: no 'stat -liberty' output (Number of cells / Chip area)", log);
        free(text);
        return -1;
    }
    r->cells = atoi(stat + strlen("Number of cells:"));
    char *colon = strchr(area, ':');
    r->area_um2 = colon ? strtod(colon + 1, NULL) : 0.0;
    r->abc_delay_ps = abc ? strtod(abc + strlen("Delay ="), NULL) : 0.0;
    r->flops = 0;
    char *line = strchr(stat, '\n');
    while (line && line < area) {
        line++;
        char name[128];
        long count;
        if (sscanf(line, " %127s %ld", name, &count) == 2 && cell_set_has(seq, name)) r->flops += (int)count;
        line = strchr(line, '\n');
    }
    free(text);
    if (!(r->area_um2 > 0.0)) {
        ratq_error("%s: chip area: not a positive number", log);
        return -1;
    }
    return 0;
}

static int parse_sta_log(const char *log, ratq_hw_result *r, int macs) {
    char *text = ratq_read_file(log, NULL);
    if (!text) return -1;
    double all = NAN, resc = NAN, mac = NAN;
    int yregs = -1, aregs = -1;
    for (char *p = strstr(text, "RATQ_STA "); p; p = strstr(p + 1, "RATQ_STA ")) {
        char tag[16], val[64];
        if (sscanf(p, "RATQ_STA %15s %63s", tag, val) != 2) continue;
        double v = strcmp(val, "none") ? strtod(val, NULL) : NAN;
        if (!strcmp(tag, "all")) all = v;
        else if (!strcmp(tag, "resc")) resc = v;
        else if (!strcmp(tag, "mac")) mac = v;
        else if (!strcmp(tag, "yregs")) yregs = atoi(val);
        else if (!strcmp(tag, "aregs")) aregs = atoi(val);
    }
    free(text);
    if (isnan(all) || isnan(resc) || yregs != 8 || (macs > 0 && (isnan(mac) || aregs != 32))) {
        ratq_error("%s: timing: missing RATQ_STA results (output registers found %d of 8, accumulator %d of 32)", log,
                   yregs, aregs);
        return -1;
    }
    r->delay_ps = STA_PERIOD_PS - all;
    r->resc_delay_ps = STA_PERIOD_PS - resc;
    r->mac_delay_ps = macs > 0 ? STA_PERIOD_PS - mac : 0.0;
    return 0;
}

// ---- result.json ------------------------------------------------------------------------------

static int write_result(const char *dir, const ratq_hw_flow *fl, const ratq_hw_result *r, const char *desc) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "ratq_hw_result/1");
    cJSON_AddStringToObject(o, "key", desc);
    cJSON_AddStringToObject(o, "liberty", fl->liberty);
    cJSON_AddStringToObject(o, "library", fl->library);
    cJSON_AddNumberToObject(o, "macs", r->d.macs);
    cJSON_AddNumberToObject(o, "bits", r->d.bits);
    cJSON_AddNumberToObject(o, "area_um2", r->area_um2);
    cJSON_AddNumberToObject(o, "delay_ps", r->delay_ps);
    cJSON_AddNumberToObject(o, "resc_delay_ps", r->resc_delay_ps);
    cJSON_AddNumberToObject(o, "mac_delay_ps", r->mac_delay_ps);
    cJSON_AddNumberToObject(o, "abc_delay_ps", r->abc_delay_ps);
    cJSON_AddNumberToObject(o, "cells", r->cells);
    cJSON_AddNumberToObject(o, "flops", r->flops);
    cJSON_AddNumberToObject(o, "flops_expected", r->flops_expected);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    return ratq_hw_write_result_json(dir, o);
}

int ratq_hw_write_result_json(const char *dir, cJSON *o) {
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s) return -1;
    int rc = ratq_hw_write_text(dir, "result.json", s);
    free(s);
    return rc;
}

double ratq_hw_json_num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

cJSON *ratq_hw_read_result_json(const char *dir, const char *desc) {
    char path[4200];
    snprintf(path, sizeof path, "%s/result.json", dir);
    if (access(path, R_OK) != 0) return NULL;
    char *text = ratq_read_file(path, NULL);
    if (!text) return NULL;
    cJSON *o = cJSON_Parse(text);
    free(text);
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
    if (o && cJSON_IsString(key) && !strcmp(key->valuestring, desc)) return o;
    cJSON_Delete(o);
    return NULL;
}

// 1 if a complete result for this key is cached (filled into r), 0 if not.
static int read_result(const char *dir, const char *desc, ratq_hw_result *r) {
    cJSON *o = ratq_hw_read_result_json(dir, desc);
    int ok = 0;
    if (o) {
        r->area_um2 = ratq_hw_json_num(o, "area_um2");
        r->delay_ps = ratq_hw_json_num(o, "delay_ps");
        r->resc_delay_ps = ratq_hw_json_num(o, "resc_delay_ps");
        r->mac_delay_ps = ratq_hw_json_num(o, "mac_delay_ps");
        r->abc_delay_ps = ratq_hw_json_num(o, "abc_delay_ps");
        r->cells = (int)ratq_hw_json_num(o, "cells");
        r->flops = (int)ratq_hw_json_num(o, "flops");
        r->seconds = ratq_hw_json_num(o, "seconds");
        ok = r->area_um2 > 0 && r->delay_ps > 0 && !isnan(r->resc_delay_ps);
    }
    cJSON_Delete(o);
    return ok;
}

// ---- the flow -----------------------------------------------------------------------------------

int ratq_hw_synthesize(const ratq_hw_flow *fl, ratq_hw_design d, ratq_hw_result *r, int verbose) {
    if (fl->generic) return ratq_hw_generic_synthesize(fl, d, r, verbose);
    if (ratq_hw_design_check(d)) return -1;
    memset(r, 0, sizeof *r);
    r->d = d;
    r->flops_expected = ratq_hw_expected_flops(d);
    char desc[1024], top[64];
    result_key(fl, d, desc, sizeof desc);
    ratq_hw_top_name(d, top, sizeof top);
    ratq_hw_result_dir(fl, d, r->dir, sizeof r->dir);
    if (read_result(r->dir, desc, r)) {
        r->cached = 1;
        return 0;
    }
    if (ratq_hw_mkdirs(r->dir) || write_scripts(fl, d, r->dir)) return -1;
    if (verbose) fprintf(stderr, "ratq hw: synthesizing %s on %s ...\n", top, fl->library);
    double t0 = ratq_now();
    char ylog[4200], slog[4200];
    snprintf(ylog, sizeof ylog, "%s/synth.log", r->dir);
    snprintf(slog, sizeof slog, "%s/sta.log", r->dir);
    remove(ylog);
    remove(slog);
    const char *yargs[] = {fl->yosys, "-q", "-l", "synth.log", "synth.ys", NULL};
    int rc = ratq_hw_run(yargs, "/dev/null", r->dir);
    if (rc != 0) {
        ratq_error("%s: yosys failed (exit %d); see %s", top, rc, ylog);
        return -1;
    }
    const char *sargs[] = {fl->sta, "-no_splash", "-exit", "sta.tcl", NULL};
    rc = ratq_hw_run(sargs, slog, r->dir);
    if (rc != 0) {
        ratq_error("%s: sta failed (exit %d); see %s", top, rc, slog);
        return -1;
    }
    cell_set *seq = malloc(sizeof *seq);
    ratq_hw_flow tmp = *fl;
    if (!seq || scan_liberty(&tmp, seq)) {
        free(seq);
        return -1;
    }
    rc = parse_yosys_log(ylog, seq, r);
    free(seq);
    if (rc || parse_sta_log(slog, r, d.macs)) return -1;
    r->seconds = ratq_now() - t0;
    if (r->flops != r->flops_expected) {
        ratq_error("%s: synthesis kept %d flip-flops, the design has %d registers (a register was folded or "
                   "duplicated); see %s",
                   top, r->flops, r->flops_expected, ylog);
        return -1;
    }
    return write_result(r->dir, fl, r, desc);
}

int ratq_hw_write_gate_model(const ratq_hw_flow *fl, const ratq_hw_result *res, char *path, size_t n) {
    if (fl->generic) { // netlist.v of the generic flow is already simulatable: yosys writes its gates as expressions
        if (snprintf(path, n, "%s/netlist.v", res->dir) >= (int)n) return -1;
        return 0;
    }
    char top[64], text[8400];
    ratq_hw_top_name(res->d, top, sizeof top);
    snprintf(text, sizeof text,
             "# gate-level simulation model of netlist.v: cells from the library's functions, flattened\n"
             "read_liberty -ignore_miss_func %s\n"
             "read_verilog netlist.v\n"
             "hierarchy -top %s\n"
             "flatten\n"
             "opt_clean\n"
             "write_verilog -noattr gates.v\n",
             fl->liberty, top);
    if (ratq_hw_write_text(res->dir, "gates.ys", text)) return -1;
    const char *args[] = {fl->yosys, "-q", "-l", "gates.log", "gates.ys", NULL};
    int rc = ratq_hw_run(args, "/dev/null", res->dir);
    if (rc != 0) {
        ratq_error("%s: yosys failed writing the gate-level model (exit %d); see %s/gates.log", top, rc, res->dir);
        return -1;
    }
    if (snprintf(path, n, "%s/gates.v", res->dir) >= (int)n) return -1;
    return 0;
}
