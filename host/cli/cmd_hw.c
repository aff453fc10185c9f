// cmd_hw.c — `ratq hw`: the hardware cost model of k-bit rescalers (hw/rtl.h, hw/synth.h, hw/verify.h).
//   ratq hw [--macs 4,8,16] [--bits 32,16,8,6,5,4,3,2,1] --liberty FILE [--json|--markdown] [-o DIR] [-j JOBS]
//           [--delay-target PS] [--area-flow] [--load FF]        synthesize, print the area/delay/ADP table
//   ratq hw --generic [--macs LIST] [--bits LIST] [--json|--markdown] [-o DIR] [-j JOBS]
//                                                                 library-free proxy (hw/generic.h): estimated
//                                                                 transistors and gate levels, no Liberty/STA
//   ratq hw verify [--bits LIST] [--macs LIST] [--random N] [--jobs N] [--seed S] [--cmsis DIR] [--acc FILE]...
//           [--workdir DIR] [--design FILE]                       bit-exact simulation against rescale.h
//           (--design: simulate this Verilog, e.g. a synthesized netlist, instead of the generated RTL)
//   ratq hw emit --macs N --bits K [-o DIR]                       write design.v and tb.v
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "hw/generic.h"
#include "hw/rtl.h"
#include "hw/synth.h"
#include "hw/verify.h"
#include "cli/options.h"
#include "common/io.h"

#define MAX_LIST 64
#define RATQ_HW_XSTR(x) #x
#define RATQ_HW_STR(x) RATQ_HW_XSTR(x)

// The closing notes of `ratq hw --help`.
static const char HW_NOTES[] =
    "Synthesizes the N-MAC int8 dot-product unit with a k-bit rescaler (macs 0 = the rescaler alone) with\n"
    "Yosys + ABC on a Liberty library and times it with OpenSTA; prints area (um^2), critical-path delay (ps),\n"
    "ADP and the reductions versus the conventional 32-bit rescaler (k = 32, always synthesized). Results are\n"
    "cached in -o DIR (default $RATQ_HW_CACHE or ~/.cache/ratq/hw). `verify` simulates the RTL with Icarus\n"
    "Verilog and compares every output with ratq_requantize (single rounding). Flow details: hw/synth.h.\n"
    "--generic (instead of --liberty, for machines without a Liberty library; needs only yosys): maps to\n"
    "NAND2/NOR2/NOT gates and reports PROXIES, not um^2/ps: estimated CMOS transistors (area proxy) and the\n"
    "longest register-to-register path in gate levels (delay proxy), with the same reductions versus k = 32.\n"
    "What the proxy does not model: hw/generic.h.\n"
    "Subcommands: 'ratq hw verify --help', 'ratq hw emit --help'.";

// ---- ratq hw (synthesis table) ----------------------------------------------------------------

// 1 - x / x32 (reduction versus the k = 32 row), rounded to 4 decimals like the Liberty table
static double reduction(double x, double x32) { return round(1e4 * (1.0 - x / x32)) / 1e4; }

// The generic-flow table: proxies (transistors, gate levels), never printed as um^2 or ps. rows are
// macs-major like res[]; b(mi) is the k = 32 row of macs[mi]. Returns 0, or 1 if the JSON cannot be printed.
static int print_generic(const ratq_hw_flow *fl, const ratq_hw_result *res, const int *macs, int nmacs,
                         const int *bits, int nbits, int json, int markdown) {
    int j32 = 0;
    for (int j = 0; j < nbits; j++)
        if (bits[j] == 32) j32 = j;
    const char *flow = "yosys synth -flatten -noabc; dfflegalize; abc -g cmos2 (NAND2/NOR2/NOT, unit delay); "
                       "transistors = stat -tech cmos + flops x " RATQ_HW_STR(RATQ_HW_GENERIC_FF_TRANSISTORS)
                       "; depth = ltp -noff (gate levels)";
    if (json) {
        cJSON *o = cJSON_CreateObject(), *rows = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "library", fl->library);
        cJSON_AddBoolToObject(o, "proxy", 1);
        cJSON_AddStringToObject(o, "flow", flow);
        cJSON_AddStringToObject(o, "tools", fl->tool_versions);
        cJSON_AddStringToObject(o, "gates", "NAND2,NOR2,NOT");
        cJSON_AddNumberToObject(o, "ff_transistors", RATQ_HW_GENERIC_FF_TRANSISTORS);
        cJSON_AddItemToObject(o, "rows", rows);
        for (int i = 0; i < nmacs * nbits; i++) {
            const ratq_hw_result *r = &res[i], *b = &res[(i / nbits) * nbits + j32];
            double adp = (double)r->transistors * r->depth, badp = (double)b->transistors * b->depth;
            cJSON *row = cJSON_CreateObject();
            cJSON_AddNumberToObject(row, "macs", r->d.macs);
            cJSON_AddNumberToObject(row, "bits", r->d.bits);
            cJSON_AddNumberToObject(row, "transistors", (double)r->transistors);
            cJSON_AddNumberToObject(row, "comb_transistors", (double)r->comb_transistors);
            cJSON_AddNumberToObject(row, "depth", r->depth);
            cJSON_AddNumberToObject(row, "adp_proxy", adp);
            cJSON_AddNumberToObject(row, "area_reduction", reduction((double)r->transistors, (double)b->transistors));
            cJSON_AddNumberToObject(row, "delay_reduction", reduction(r->depth, b->depth));
            cJSON_AddNumberToObject(row, "adp_gain", round(1e3 * badp / adp) / 1e3);
            cJSON_AddNumberToObject(row, "cells", r->cells);
            cJSON_AddNumberToObject(row, "flops", r->flops);
            cJSON_AddBoolToObject(row, "cached", r->cached);
            cJSON_AddStringToObject(row, "dir", r->dir);
            cJSON_AddItemToArray(rows, row);
        }
        char *s = cJSON_Print(o);
        cJSON_Delete(o);
        if (!s) {
            ratq_error("hw: cannot format the JSON table (out of memory)");
            return 1;
        }
        printf("%s\n", s);
        free(s);
        return 0;
    }
    if (markdown)
        printf("**Library-free proxies, not um^2/ps**: %s. Gates NAND2/NOR2/NOT (%s); transistors = yosys's CMOS "
               "estimate of the gates + %d per flip-flop; depth = longest register-to-register path in gate levels. "
               "No sizing, fan-out, wires or library cell mix (hw/generic.h).\n",
               fl->library, fl->tool_versions, RATQ_HW_GENERIC_FF_TRANSISTORS);
    else
        printf("ratq hw: %s (PROXIES, not um^2/ps), %s\n%s\ntransistors: estimated CMOS transistors (gates + %d per "
               "flip-flop); depth: gate levels of the longest reg-to-reg path; vs k=32 columns are 1 - x/x32 and "
               "ADP32/ADP (ADP = transistors x depth)\n",
               fl->library, flow, fl->tool_versions, RATQ_HW_GENERIC_FF_TRANSISTORS);
    for (int mi = 0; mi < nmacs; mi++) {
        const ratq_hw_result *b = &res[mi * nbits + j32];
        if (markdown) {
            if (macs[mi]) printf("\n**Dot-product unit, N = %d int8 MACs (proxy)**\n\n", macs[mi]);
            else printf("\n**Rescaler alone, registered in and out (proxy)**\n\n");
            printf("| k | transistors (est.) | depth (gate levels) | ADP proxy (transistors x levels) | transistors -%% vs "
                   "k=32 | depth -%% vs k=32 | ADP gain | cells | flip-flops |\n"
                   "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        } else {
            printf("\n%s N = %d\n", macs[mi] ? "dot-product unit," : "rescaler alone", macs[mi]);
            printf("  k | transistors | depth | ADP proxy | transistors -%% | depth -%% | ADP gain | cells | flops\n");
        }
        for (int j = 0; j < nbits; j++) {
            const ratq_hw_result *r = &res[mi * nbits + j];
            double adp = (double)r->transistors * r->depth, badp = (double)b->transistors * b->depth;
            double ra = 100.0 * (1.0 - (double)r->transistors / (double)b->transistors);
            double rd = 100.0 * (1.0 - (double)r->depth / b->depth);
            if (markdown)
                printf("| %d | %ld | %d | %.0f | %.1f | %.1f | %.2fx | %d | %d |\n", r->d.bits, r->transistors, r->depth,
                       adp, ra, rd, badp / adp, r->cells, r->flops);
            else
                printf(" %2d | %11ld | %5d | %9.0f | %13.1f | %8.1f | %7.2fx | %5d | %5d\n", r->d.bits, r->transistors,
                       r->depth, adp, ra, rd, badp / adp, r->cells, r->flops);
        }
    }
    return 0;
}

static int cmd_hw_synth(int argc, char **argv) {
    int macs[MAX_LIST] = {4, 8, 16}, bits[MAX_LIST + 1] = {32, 16, 8, 6, 5, 4, 3, 2, 1};
    int nmacs = 3, nbits = 9, json = 0, markdown = 0, jobs = 0, area_flow = 0, generic = 0;
    const char *lib_only = NULL; // a Liberty-flow option given (refused with --generic)
    const char *liberty = NULL, *out = NULL;
    double delay_target = 1.0, load = 2.0;
    ratq_opt opts[] = {
        {RATQ_OPT("--macs", RATQ_OPT_INT_LIST, macs, "LIST", "int8 MACs per dot-product unit, 0 = the rescaler alone "
                  "(default 4,8,16)"), .lo = 0, .hi = RATQ_HW_MACS_MAX, .count = &nmacs, .max_count = MAX_LIST},
        {RATQ_OPT("--bits", RATQ_OPT_INT_LIST, bits, "LIST", "rescaler widths k (default 32,16,8,6,5,4,3,2,1; 32 is "
                  "always added)"), .lo = 1, .hi = RATQ_HW_BITS_MAX, .count = &nbits, .max_count = MAX_LIST},
        {RATQ_OPT("--liberty", RATQ_OPT_STRING, &liberty, "FILE", "Liberty library: area in um^2, delay in ps")},
        {RATQ_OPT("--generic", RATQ_OPT_FLAG, &generic, NULL, "the library-free proxy (hw/generic.h) instead of --liberty")},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "DIR", "result cache (default $RATQ_HW_CACHE or ~/.cache/ratq/hw)"),
         .alias = "--out"},
        {RATQ_OPT("-j", RATQ_OPT_INT, &jobs, "JOBS", "parallel synthesis runs (default: cores, at most 4)"), .lo = 0,
         .hi = 1024},
        {RATQ_OPT("--json", RATQ_OPT_FLAG, &json, NULL, "the table as JSON")},
        {RATQ_OPT("--markdown", RATQ_OPT_FLAG, &markdown, NULL, "the table as Markdown")},
        {RATQ_OPT("--delay-target", RATQ_OPT_DOUBLE, &delay_target, "PS", "ABC delay target in ps (default 1; Liberty "
                  "flow)"), .dlo = 0, .dhi = INFINITY, .open = RATQ_OPT_OPEN_LO},
        {RATQ_OPT("--area-flow", RATQ_OPT_FLAG, &area_flow, NULL, "map for area (map -a), no delay target (Liberty flow)")},
        {RATQ_OPT("--load", RATQ_OPT_DOUBLE, &load, "FF", "output load in fF (default 2; Liberty flow)"), .dlo = 0,
         .dhi = INFINITY},
    };
    ratq_cli cli = {RATQ_CLI("hw", "hw [--macs 4,8,16] [--bits 32,16,8,6,5,4,3,2,1] --liberty FILE [--json|--markdown] "
                             "[-o DIR] [-j JOBS]\n               [--delay-target PS] [--area-flow] [--load FF]\n"
                             "       ratq hw --generic [--macs LIST] [--bits LIST] [--json|--markdown] [-o DIR] "
                             "[-j JOBS]\n       ratq hw verify [options]   (ratq hw verify --help)\n"
                             "       ratq hw emit --macs N --bits K [-o DIR]", HW_NOTES, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    const char *const lib_opts[] = {"--area-flow", "--delay-target", "--load"};
    for (int i = 0; i < 3 && !lib_only; i++)
        if (ratq_cli_find(&cli, lib_opts[i])->seen) lib_only = lib_opts[i];
    if (generic && liberty) {
        ratq_error("hw: --generic and --liberty are mutually exclusive (--generic: library-free proxy; --liberty FILE: "
                   "um^2 and ps)");
        return 2;
    }
    if (generic && lib_only) {
        ratq_error("hw: %s applies to the Liberty flow only, not to --generic", lib_only);
        return 2;
    }
    if (!liberty && !generic) {
        ratq_error("hw: --liberty FILE (or --generic, the library-free proxy) is required (e.g. ../shared/pdk/nangate15/NanGate_15nm_OCL_typical_conditional_nldm.lib)");
        return 2;
    }
    int has32 = 0;
    for (int i = 0; i < nbits; i++) has32 |= bits[i] == 32;
    if (!has32) { // the baseline of every reduction
        memmove(bits + 1, bits, sizeof(int) * (size_t)nbits);
        bits[0] = 32;
        nbits++;
    }
    if (jobs <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = nc > 0 ? (int)(nc < 4 ? nc : 4) : 1;
    }
    ratq_hw_flow fl;
    if (generic ? ratq_hw_generic_flow_init(&fl, out) : ratq_hw_flow_init(&fl, liberty, out)) return 2;
    fl.delay_target_ps = delay_target;
    fl.area_flow = area_flow;
    fl.load_ff = load;
    if (ratq_hw_mkdirs(fl.cache_dir)) return 2;
    char *abs = realpath(fl.cache_dir, NULL); // tools run inside the result folders: use an absolute path
    if (abs) {
        snprintf(fl.cache_dir, sizeof fl.cache_dir, "%s", abs);
        free(abs);
    }

    int n = nmacs * nbits;
    ratq_hw_result *res = calloc((size_t)n, sizeof *res);
    // Pass 1: fork one child per uncached design, at most `jobs` at a time; each writes its result.json.
    double t0 = ratq_now();
    int running = 0, failed = 0, done = 0, todo = 0;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    int *was_cached = calloc((size_t)n, sizeof *was_cached);
    if (!res || !pids || !was_cached) {
        free(res);
        free(pids);
        free(was_cached);
        ratq_error("hw: out of memory for %d designs", n);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        ratq_hw_design d = {macs[i / nbits], bits[i % nbits]};
        if (ratq_hw_design_check(d)) return 2;
        char dir[4200], rj[4300];
        ratq_hw_result_dir(&fl, d, dir, sizeof dir);
        snprintf(rj, sizeof rj, "%s/result.json", dir);
        if (access(rj, R_OK) == 0) { // cached (validated in pass 2)
            was_cached[i] = 1;
            continue;
        }
        todo++;
        while (running >= jobs) {
            int st;
            pid_t p = wait(&st);
            if (p < 0) break;
            running--;
            done++;
            failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            fprintf(stderr, "ratq hw: [%d synthesized, %d running] %.0f s\n", done, running, ratq_now() - t0);
        }
        char top[64];
        ratq_hw_top_name(d, top, sizeof top);
        fprintf(stderr, "ratq hw: %s %s on %s\n", generic ? "mapping" : "synthesizing", top, fl.library);
        fflush(NULL);
        pid_t p = fork();
        if (p == 0) {
            ratq_hw_result r;
            int rc = ratq_hw_synthesize(&fl, d, &r, 0);
            fflush(NULL);
            _exit(rc ? 1 : 0);
        }
        if (p < 0) {
            ratq_error("hw: fork failed: %s", strerror(errno));
            return 2;
        }
        pids[i] = p;
        running++;
    }
    while (running > 0) {
        int st;
        if (wait(&st) < 0) break;
        running--;
        done++;
        failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        fprintf(stderr, "ratq hw: [%d of %d synthesized] %.0f s\n", done, todo, ratq_now() - t0);
    }
    free(pids);
    if (failed) {
        free(was_cached);
        ratq_error("hw: %d synthesis run(s) failed (errors above)", failed);
        free(res);
        return 1;
    }
    // Pass 2: read every result (all cached now; a missing one is synthesized here).
    for (int i = 0; i < n; i++) {
        ratq_hw_design d = {macs[i / nbits], bits[i % nbits]};
        if (ratq_hw_synthesize(&fl, d, &res[i], 1)) {
            free(res);
            free(was_cached);
            return 1;
        }
        res[i].cached = was_cached[i];
    }

    if (generic) {
        int rc = print_generic(&fl, res, macs, nmacs, bits, nbits, json, markdown);
        free(res);
        free(was_cached);
        return rc;
    }
    char script_note[256];
    if (area_flow) snprintf(script_note, sizeof script_note, "area (map -a; no delay target used)");
    else snprintf(script_note, sizeof script_note, "delay (map/upsize/dnsize, ABC delay target %g ps)", fl.delay_target_ps);
    if (json) {
        printf("{\"library\": \"%s\", \"liberty\": \"%s\", \"tools\": \"%s\", \"flow\": \"%s\", \"delay_target_ps\": %g, "
               "\"load_ff\": %g, \"driver\": \"%s\",\n \"rows\": [\n",
               fl.library, fl.liberty, fl.tool_versions, script_note, fl.delay_target_ps, fl.load_ff, fl.driver);
        for (int i = 0; i < n; i++) {
            const ratq_hw_result *r = &res[i], *b = &res[(i / nbits) * nbits + 0];
            for (int j = 0; j < nbits; j++)
                if (bits[j] == 32) b = &res[(i / nbits) * nbits + j];
            double adp = r->area_um2 * r->delay_ps, badp = b->area_um2 * b->delay_ps;
            printf("  {\"macs\": %d, \"bits\": %d, \"area_um2\": %.3f, \"delay_ps\": %.2f, \"adp\": %.1f, "
                   "\"area_reduction\": %.4f, \"delay_reduction\": %.4f, \"adp_gain\": %.3f, \"critical\": \"%s\", "
                   "\"resc_delay_ps\": %.2f, \"mac_delay_ps\": %.2f, \"abc_delay_ps\": %.2f, \"cells\": %d, "
                   "\"flops\": %d, \"cached\": %s, \"dir\": \"%s\"}%s\n",
                   r->d.macs, r->d.bits, r->area_um2, r->delay_ps, adp, 1.0 - r->area_um2 / b->area_um2,
                   1.0 - r->delay_ps / b->delay_ps, badp / adp,
                   r->d.macs == 0 || r->resc_delay_ps >= r->mac_delay_ps ? "rescaler" : "mac", r->resc_delay_ps,
                   r->mac_delay_ps, r->abc_delay_ps, r->cells, r->flops, r->cached ? "true" : "false", r->dir,
                   i + 1 < n ? "," : "");
        }
        printf(" ]}\n");
    } else if (markdown) {
        printf("Library `%s` (`%s`); %s; flow %s, load %g fF, driving cell %s.\n", fl.library, fl.liberty,
               fl.tool_versions, script_note, fl.load_ff, fl.driver[0] ? fl.driver : "none");
        for (int mi = 0; mi < nmacs; mi++) {
            const ratq_hw_result *b = NULL;
            for (int j = 0; j < nbits; j++)
                if (bits[j] == 32) b = &res[mi * nbits + j];
            if (macs[mi]) printf("\n**Dot-product unit, N = %d int8 MACs**\n\n", macs[mi]);
            else printf("\n**Rescaler alone (registered in and out)**\n\n");
            printf("| k | area um^2 | delay ps | ADP um^2*ns | area -%% vs k=32 | delay -%% vs k=32 | ADP gain | critical path | "
                   "rescaler path ps | MAC path ps | flip-flops |\n|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n");
            for (int j = 0; j < nbits; j++) {
                const ratq_hw_result *r = &res[mi * nbits + j];
                double adp = r->area_um2 * r->delay_ps;
                char macp[32] = "-";
                if (r->d.macs) snprintf(macp, sizeof macp, "%.1f", r->mac_delay_ps);
                printf("| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.2fx | %s | %.1f | %s | %d |\n", r->d.bits, r->area_um2,
                       r->delay_ps, adp / 1000.0, 100.0 * (1.0 - r->area_um2 / b->area_um2),
                       100.0 * (1.0 - r->delay_ps / b->delay_ps), b->area_um2 * b->delay_ps / adp,
                       r->d.macs == 0 || r->resc_delay_ps >= r->mac_delay_ps ? "rescaler" : "MAC", r->resc_delay_ps,
                       macp, r->flops);
            }
        }
    } else {
        printf("ratq hw: %s (%s), flow %s, load %g fF, driver %s\n%s\n", fl.library, fl.liberty, script_note,
               fl.load_ff, fl.driver[0] ? fl.driver : "(none)", fl.tool_versions);
        printf("area: library cell area; delay: OpenSTA worst reg-to-reg path (ideal clock, no wires); vs k=32 columns "
               "are 1 - x/x32 and ADP32/ADP\n");
        for (int mi = 0; mi < nmacs; mi++) {
            const ratq_hw_result *b = NULL;
            for (int j = 0; j < nbits; j++)
                if (bits[j] == 32) b = &res[mi * nbits + j];
            printf("\n%s N = %d\n", macs[mi] ? "dot-product unit," : "rescaler alone", macs[mi]);
            printf("  k | area um^2 | delay ps |   ADP um^2*ps | area -%% | delay -%% | ADP gain | critical | rescaler ps | MAC ps | flops\n");
            for (int j = 0; j < nbits; j++) {
                const ratq_hw_result *r = &res[mi * nbits + j];
                double adp = r->area_um2 * r->delay_ps;
                printf(" %2d | %9.1f | %8.1f | %13.0f | %7.1f | %8.1f | %7.2fx | %-8s | %11.1f | %6.1f | %5d\n", r->d.bits,
                       r->area_um2, r->delay_ps, adp, 100.0 * (1.0 - r->area_um2 / b->area_um2),
                       100.0 * (1.0 - r->delay_ps / b->delay_ps), b->area_um2 * b->delay_ps / adp,
                       r->d.macs == 0 || r->resc_delay_ps >= r->mac_delay_ps ? "rescaler" : "MAC", r->resc_delay_ps,
                       r->mac_delay_ps, r->flops);
            }
        }
    }
    free(res);
    free(was_cached);
    return 0;
}

// ---- ratq hw verify -----------------------------------------------------------------------------

static int cmd_hw_verify(int argc, char **argv) {
    int bits[MAX_LIST] = {1, 2, 4, 8, 16, 31, 32}, macs[MAX_LIST] = {4};
    int nbits = 7, nmacs = 1, nrandom = 20000, njobs = 300, nacc = 0;
    int max_acc = 100000;
    uint64_t seed = 1;
    const char *cmsis = NULL, *acc_files[MAX_LIST], *workdir = NULL, *design = NULL;
    ratq_opt opts[] = {
        {RATQ_OPT("--bits", RATQ_OPT_INT_LIST, bits, "LIST", "rescaler widths k (default 1,2,4,8,16,31,32)"), .lo = 1,
         .hi = RATQ_HW_BITS_MAX, .count = &nbits, .max_count = MAX_LIST},
        {RATQ_OPT("--macs", RATQ_OPT_INT_LIST, macs, "LIST", "dot-product units to simulate (default 4; 0 = the "
                  "rescaler alone)"), .lo = 0, .hi = RATQ_HW_MACS_MAX, .count = &nmacs, .max_count = MAX_LIST},
        {RATQ_OPT("--random", RATQ_OPT_INT, &nrandom, "N", "random accumulators per k (default 20000)"), .lo = 0,
         .hi = 100000000},
        {RATQ_OPT("--jobs", RATQ_OPT_INT, &njobs, "N", "random dot products per unit (default 300)"), .lo = 0,
         .hi = 100000000},
        {RATQ_OPT("--seed", RATQ_OPT_U64, &seed, "S", "random vectors seed (default 1)")},
        {RATQ_OPT("--cmsis", RATQ_OPT_STRING, &cmsis, "DIR", "also every accumulator of the CMSIS-NN vectors in DIR")},
        {RATQ_OPT("--acc", RATQ_OPT_STRINGS, acc_files, "FILE", "also the accumulators of a .racc dump; repeatable"),
         .count = &nacc, .max_count = MAX_LIST},
        {RATQ_OPT("--max-acc", RATQ_OPT_INT, &max_acc, "N", "real accumulators taken per dump (default 100000)"),
         .lo = 0, .hi = INT32_MAX},
        {RATQ_OPT("--workdir", RATQ_OPT_STRING, &workdir, "DIR", "simulation folder (default a new /tmp folder)")},
        {RATQ_OPT("--design", RATQ_OPT_STRING, &design, "FILE",
                  "simulate this Verilog (e.g. a synthesized netlist) instead of the generated RTL;\nneeds one --bits "
                  "and one --macs")},
    };
    ratq_cli cli = {RATQ_CLI("hw verify", "hw verify [--bits LIST] [--macs LIST] [--random N] [--jobs N] [--seed S] "
                             "[--cmsis DIR]\n               [--acc FILE]... [--max-acc N] [--workdir DIR] [--design FILE]",
                             "Bit-exact simulation (Icarus Verilog) of the rescaler and dot-product RTL against "
                             "rescale.h.", opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    if (design && (nbits != 1 || nmacs != 1)) {
        ratq_error("hw verify: --design FILE needs exactly one --bits K and one --macs N (0 = the rescaler alone)");
        return 2;
    }
    char tmpl[] = "/tmp/ratq-hw-verify-XXXXXX";
    if (!workdir) {
        if (!mkdtemp(tmpl)) {
            ratq_error("hw verify: cannot create a temp folder: %s", strerror(errno));
            return 2;
        }
        workdir = tmpl;
    }
    // Real accumulators: every *.json in the CMSIS folder, then every --acc dump.
    ratq_acc_dump dumps[MAX_LIST * 4];
    int ndumps = 0;
    if (cmsis) {
        DIR *dir = opendir(cmsis);
        if (!dir) {
            ratq_error("%s: cannot open folder: %s", cmsis, strerror(errno));
            return 2;
        }
        struct dirent *e;
        while ((e = readdir(dir)) && ndumps < MAX_LIST * 2) {
            size_t l = strlen(e->d_name);
            if (l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", cmsis, e->d_name);
            if (ratq_acc_dump_from_cmsis_json(path, &dumps[ndumps])) {
                closedir(dir);
                return 2;
            }
            ndumps++;
        }
        closedir(dir);
        if (ndumps == 0) {
            ratq_error("%s: no *.json test vectors", cmsis);
            return 2;
        }
    }
    for (int i = 0; i < nacc; i++)
        if (ratq_acc_dump_read(acc_files[i], &dumps[ndumps++])) return 2;

    long total_bad = 0;
    for (int bi = 0; bi < nbits; bi++) {
        int k = bits[bi];
        uint64_t rng = seed * 1000003u + (uint64_t)k;
        ratq_hw_vecs vs = {0};
        ratq_hw_vecs_edge(&vs, k, &rng);
        size_t nedge = vs.n;
        ratq_hw_vecs_random(&vs, k, (size_t)nrandom, &rng);
        size_t nreal0 = vs.n;
        for (int i = 0; i < ndumps; i++) ratq_hw_vecs_from_dump(&vs, k, &dumps[i], (size_t)max_acc);
        fprintf(stderr, "ratq hw verify: k=%d: %zu edge/tie + %d random + %zu real accumulators (%zu skipped: left shift)\n",
                k, nedge, nrandom, vs.n - nreal0, vs.skipped);
        char wd[4200];
        snprintf(wd, sizeof wd, "%s/rescaler_k%d", workdir, k);
        // the rescaler vectors run on the rescaler alone (with --design: only when that design is the rescaler)
        long bad = design && macs[0] != 0 ? 0 : ratq_hw_sim_rescaler(k, &vs, design, wd, 1);
        ratq_hw_vecs_free(&vs);
        if (bad < 0) return 2;
        total_bad += bad;
        for (int mi = 0; mi < nmacs && njobs > 0; mi++) {
            if (macs[mi] == 0) continue;
            ratq_hw_design d = {macs[mi], k};
            snprintf(wd, sizeof wd, "%s/dotp_n%d_k%d", workdir, macs[mi], k);
            long b2 = ratq_hw_sim_dotp(d, njobs, rng, design, wd, 1);
            if (b2 < 0) return 2;
            total_bad += b2;
        }
    }
    for (int i = 0; i < ndumps; i++) ratq_acc_dump_free(&dumps[i]);
    printf("ratq hw verify: %s (%ld mismatches); work folder %s\n", total_bad ? "FAIL" : "bit-exact", total_bad, workdir);
    return total_bad ? 1 : 0;
}

// ---- ratq hw emit -------------------------------------------------------------------------------

static int cmd_hw_emit(int argc, char **argv) {
    ratq_hw_design d = {-1, -1};
    const char *out = ".";
    ratq_opt opts[] = {
        {RATQ_OPT("--macs", RATQ_OPT_INT, &d.macs, "N", "int8 MACs (0 = the rescaler alone)"), .lo = 0,
         .hi = RATQ_HW_MACS_MAX, .required = 1},
        {RATQ_OPT("--bits", RATQ_OPT_INT, &d.bits, "K", "rescaler width"), .lo = 1, .hi = RATQ_HW_BITS_MAX,
         .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "DIR", "output folder (default .)")},
    };
    ratq_cli cli = {RATQ_CLI("hw emit", "hw emit --macs N --bits K [-o DIR]", "Writes the design and its testbench "
                             "(Verilog).", opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    if (ratq_hw_design_check(d) || ratq_hw_mkdirs(out)) return 2;
    char top[64], path[4200];
    ratq_hw_top_name(d, top, sizeof top);
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/%s%s.v", out, top, t ? "_tb" : "");
        ratq_atomic_file af;
        if (ratq_atomic_open(&af, path)) return 2;
        if (t ? ratq_hw_write_testbench(af.f, d) : ratq_hw_write_design(af.f, d)) {
            ratq_atomic_abort(&af);
            return 2;
        }
        if (ratq_atomic_commit(&af)) return 2;
        printf("%s\n", path);
    }
    return 0;
}

int cmd_hw(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "verify")) return cmd_hw_verify(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "emit")) return cmd_hw_emit(argc - 1, argv + 1);
    return cmd_hw_synth(argc, argv);
}
