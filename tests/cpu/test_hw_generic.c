// test_hw_generic.c — `ratq hw --generic`, the library-free proxy flow (hw/generic.h), end to end through the
// command: ratq hw --generic --macs 0,4 --bits 32,8,4,1 --json into a fresh cache folder (needs yosys and, for the
// netlist simulation, iverilog; the test fails, not skips, when one is missing). Usage: test_hw_generic RATQ.
// Checks: valid JSON with the proxy header (library, proxy: true, flow, tools) and no um^2/ps keys; every
// (macs, bits) row present once; flip-flops = the design's registers (m, s, zp not folded into constants);
// transistors = gates + 24 per flip-flop; the reductions and ADP gain agree with the rows' own numbers; for the
// rescaler alone transistors and depth strictly decrease from k = 32 to 8 to 4 (and do not grow at k = 1), for
// N = 4 the transistors do (the property the proxy exists to show). The cache: a second run with a yosys that
// fails on anything but -V is served entirely from the cache with identical numbers, and the same fake yosys
// does fail on an uncached design (so the first check cannot pass vacuously). Finally the mapped NAND2/NOR2/NOT
// netlist of N = 4, k = 4 is simulated against ratq_requantize (random dot products): the gates that were
// counted implement the arithmetic. The numbers themselves are printed, not compared with constants.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hw/generic.h"
#include "hw/verify.h"
#include "common/io.h"

#include "test_util.h"
#define CHECK(cond, ...) CHECK_MSG(cond, __VA_ARGS__)

enum { NMACS = 2, NBITS = 4 };
static const int MACS[NMACS] = {0, 4}, BITS[NBITS] = {32, 8, 4, 1};

typedef struct {
    long transistors, comb, depth, cells, flops;
    double area_red, delay_red, adp_gain;
    int cached, found;
} row;

// Run a shell command line; returns its exit status (-1 if it did not exit normally).
static int sh(const char *cmd) {
    fflush(NULL);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

// Parse one --json output into rows[macs index][bits index]; checks the header and every row's own consistency.
static int parse_table(const char *path, row rows[NMACS][NBITS]) {
    memset(rows, 0, sizeof(row) * NMACS * NBITS);
    char *text = ratq_read_file(path, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o) {
        fprintf(stderr, "FAIL: %s: not valid JSON\n", path);
        return -1;
    }
    const cJSON *lib = cJSON_GetObjectItemCaseSensitive(o, "library");
    const cJSON *proxy = cJSON_GetObjectItemCaseSensitive(o, "proxy");
    const cJSON *flow = cJSON_GetObjectItemCaseSensitive(o, "flow");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(o, "tools");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "rows");
    CHECK(cJSON_IsString(lib) && !strcmp(lib->valuestring, "generic CMOS gates (no Liberty)"), "%s: library", path);
    CHECK(cJSON_IsTrue(proxy), "%s: proxy is not true", path);
    CHECK(cJSON_IsString(flow) && strstr(flow->valuestring, "abc -g cmos2"), "%s: flow", path);
    CHECK(cJSON_IsString(tools) && !strncmp(tools->valuestring, "Yosys", 5), "%s: tools", path);
    CHECK(cJSON_GetArraySize(rs) == NMACS * NBITS, "%s: %d rows, want %d", path, cJSON_GetArraySize(rs), NMACS * NBITS);
    const cJSON *r;
    cJSON_ArrayForEach(r, rs) {
        int m = (int)num(r, "macs"), k = (int)num(r, "bits"), mi = -1, bi = -1;
        for (int i = 0; i < NMACS; i++)
            if (MACS[i] == m) mi = i;
        for (int i = 0; i < NBITS; i++)
            if (BITS[i] == k) bi = i;
        CHECK(mi >= 0 && bi >= 0, "%s: unexpected row macs %d bits %d", path, m, k);
        if (mi < 0 || bi < 0) continue;
        row *x = &rows[mi][bi];
        CHECK(!x->found, "%s: row macs %d bits %d twice", path, m, k);
        x->found = 1;
        x->transistors = (long)num(r, "transistors");
        x->comb = (long)num(r, "comb_transistors");
        x->depth = (long)num(r, "depth");
        x->cells = (long)num(r, "cells");
        x->flops = (long)num(r, "flops");
        x->area_red = num(r, "area_reduction");
        x->delay_red = num(r, "delay_reduction");
        x->adp_gain = num(r, "adp_gain");
        x->cached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "cached"));
        ratq_hw_design d = {m, k};
        CHECK_EQ_I64(x->flops, ratq_hw_expected_flops(d), "macs %d bits %d: flip-flops", m, k);
        CHECK(x->comb > 0 && x->depth > 0 && x->cells > x->flops, "macs %d bits %d: non-positive proxy", m, k);
        CHECK_EQ_I64(x->transistors, x->comb + RATQ_HW_GENERIC_FF_TRANSISTORS * x->flops,
                     "macs %d bits %d: transistors = gates + %d per flip-flop", m, k, RATQ_HW_GENERIC_FF_TRANSISTORS);
        // proxies only: no Liberty quantities in a proxy row
        CHECK(!cJSON_GetObjectItemCaseSensitive(r, "area_um2") && !cJSON_GetObjectItemCaseSensitive(r, "delay_ps") &&
                  !cJSON_GetObjectItemCaseSensitive(r, "adp"),
              "macs %d bits %d: area_um2/delay_ps/adp in a proxy row", m, k);
    }
    cJSON_Delete(o);
    for (int mi = 0; mi < NMACS; mi++) {
        const row *b = &rows[mi][0]; // BITS[0] = 32: the baseline
        for (int bi = 0; bi < NBITS; bi++) {
            const row *x = &rows[mi][bi];
            CHECK(x->found, "%s: row macs %d bits %d missing", path, MACS[mi], BITS[bi]);
            if (!x->found || !b->found) continue;
            // the command rounds the reductions to 4 decimals and the gain to 3: agree within half a unit of that
            double ar = 1.0 - (double)x->transistors / b->transistors, dr = 1.0 - (double)x->depth / b->depth;
            double g = (double)b->transistors * b->depth / ((double)x->transistors * x->depth);
            CHECK(fabs(x->area_red - ar) <= 0.5e-4 + 1e-12 && fabs(x->delay_red - dr) <= 0.5e-4 + 1e-12 &&
                      fabs(x->adp_gain - g) <= 0.5e-3 + 1e-12,
                  "macs %d bits %d: reductions %.5f %.5f gain %.4f vs rows %.5f %.5f %.4f", MACS[mi], BITS[bi],
                  x->area_red, x->delay_red, x->adp_gain, ar, dr, g);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_hw_generic RATQ\n");
        return 2;
    }
    const char *ratq = argv[1];
    char tmp[] = "/tmp/ratq-test-hw-generic-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char cmd[16384], out1[4200], out2[4200], fake[4200];
    snprintf(out1, sizeof out1, "%s/run1.json", tmp);
    snprintf(out2, sizeof out2, "%s/run2.json", tmp);
    const char *args = "hw --generic --macs 0,4 --bits 32,8,4,1 --json -j 2";

    // 1. fresh cache: every design mapped
    snprintf(cmd, sizeof cmd, "'%s' %s -o '%s/cache' > '%s'", ratq, args, tmp, out1);
    int rc = sh(cmd);
    CHECK(rc == 0, "first run: exit %d (%s)", rc, cmd);
    if (rc != 0) return 1;
    row a[NMACS][NBITS], b[NMACS][NBITS];
    if (parse_table(out1, a)) return 1;
    for (int mi = 0; mi < NMACS; mi++)
        for (int bi = 0; bi < NBITS; bi++) {
            const row *x = &a[mi][bi];
            printf("N=%2d k=%2d: %7ld transistors (%7ld in gates), depth %3ld, %6ld cells, %4ld flops; -%.1f%% "
                   "transistors, -%.1f%% depth, ADP gain %.2fx\n",
                   MACS[mi], BITS[bi], x->transistors, x->comb, x->depth, x->cells, x->flops, 100 * x->area_red,
                   100 * x->delay_red, x->adp_gain);
            CHECK(!x->cached, "N=%d k=%d: a fresh cache folder returned a cached result", MACS[mi], BITS[bi]);
        }
    // 2. smaller k, smaller and shallower rescaler (bits index 0..3 = k 32, 8, 4, 1)
    for (int bi = 1; bi < NBITS; bi++) {
        const row *p = &a[0][bi - 1], *x = &a[0][bi];
        if (BITS[bi] >= 4) {
            CHECK(x->transistors < p->transistors && x->depth < p->depth,
                  "rescaler k=%d (%ld transistors, depth %ld) not smaller and shallower than k=%d (%ld, %ld)", BITS[bi],
                  x->transistors, x->depth, BITS[bi - 1], p->transistors, p->depth);
            CHECK(a[1][bi].transistors < a[1][bi - 1].transistors, "N=4 k=%d: %ld transistors, not fewer than k=%d: %ld",
                  BITS[bi], a[1][bi].transistors, BITS[bi - 1], a[1][bi - 1].transistors);
        } else
            CHECK(x->transistors <= p->transistors && x->depth <= p->depth,
                  "rescaler k=%d (%ld transistors, depth %ld) larger than k=%d (%ld, %ld)", BITS[bi], x->transistors,
                  x->depth, BITS[bi - 1], p->transistors, p->depth);
    }

    // 3. the cache: a yosys that only answers -V (the version is part of the key) and fails on any real work
    const char *real = getenv("RATQ_YOSYS") ? getenv("RATQ_YOSYS") : "yosys";
    snprintf(fake, sizeof fake, "%s/fake-yosys", tmp);
    FILE *f = fopen(fake, "w");
    if (!f) {
        perror(fake);
        return 1;
    }
    fprintf(f, "#!/bin/sh\nif [ \"$1\" = -V ]; then exec '%s' -V; fi\necho \"fake yosys called: $*\" >&2\nexit 99\n", real);
    fclose(f);
    chmod(fake, 0755);
    snprintf(cmd, sizeof cmd, "RATQ_YOSYS='%s' '%s' %s -o '%s/cache' > '%s'", fake, ratq, args, tmp, out2);
    rc = sh(cmd);
    CHECK(rc == 0, "second run (yosys unusable, all cached): exit %d", rc);
    if (rc == 0 && parse_table(out2, b) == 0)
        for (int mi = 0; mi < NMACS; mi++)
            for (int bi = 0; bi < NBITS; bi++) {
                const row *x = &a[mi][bi], *y = &b[mi][bi];
                CHECK(y->cached, "N=%d k=%d: second run not served from the cache", MACS[mi], BITS[bi]);
                CHECK(y->transistors == x->transistors && y->depth == x->depth && y->cells == x->cells &&
                          y->flops == x->flops,
                      "N=%d k=%d: cached result differs", MACS[mi], BITS[bi]);
            }
    snprintf(cmd, sizeof cmd, "RATQ_YOSYS='%s' '%s' hw --generic --macs 0 --bits 2 --json -o '%s/cache' >/dev/null 2>&1",
             fake, ratq, tmp);
    rc = sh(cmd);
    CHECK(rc != 0, "an uncached design with the fake yosys succeeded: the cache check above proves nothing");

    // 4. the counted gates compute the arithmetic: simulate the mapped netlist of N = 4, k = 4
    ratq_hw_flow fl;
    char cache[4200], gates[4200], wd[4200];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    ratq_hw_result r44;
    ratq_hw_design d44 = {4, 4};
    if (ratq_hw_generic_flow_init(&fl, cache) == 0 && ratq_hw_synthesize(&fl, d44, &r44, 1) == 0 &&
        ratq_hw_write_gate_model(&fl, &r44, gates, sizeof gates) == 0) {
        CHECK(r44.cached, "N=4 k=4 not served from the cache");
        snprintf(wd, sizeof wd, "%s/gates_sim", tmp);
        long bad = ratq_hw_sim_dotp(d44, 150, 777, gates, wd, 1);
        CHECK(bad == 0, "generic netlist N=4 k=4: %ld mismatches (or the simulation failed: -1)", bad);
    } else CHECK(0, "generic flow / netlist of N=4 k=4 not available");

    int failed = ratq_test_finish("test_hw_generic");
    printf("test_hw_generic: %s (work folder %s)\n", failed ? "FAIL" : "ok", tmp);
    if (!failed) { // keep the work folder only when something failed
        const char *rm[] = {"rm", "-rf", tmp, NULL};
        ratq_hw_run(rm, NULL, NULL);
    }
    return failed;
}
