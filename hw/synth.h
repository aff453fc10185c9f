// hw/synth.h — open-source synthesis of the generated RTL: Yosys + ABC mapped to a Liberty library,
// area from the library's cell areas, critical path from OpenSTA.
//
// Flow (scripts are written next to the results, so every number can be reproduced by hand):
//   yosys:  read_verilog; synth -flatten -noabc (alumacc/maccmap: carry-save trees + Brent-Kung adders);
//           dfflibmap; abc -liberty -constr (driving cell + output load) -D T -script
//             "+strash;dch;map,-D,T;topo;buffer;upsize,-D,T;dnsize,-D,T;stime,-p"        (delay flow, default)
//             "+strash;dch;map,-a;topo;stime,-p"                                          (area flow)
//           stat -liberty  -> area_um2 = sum of the mapped cells' library areas (no wires, no placement)
//   OpenSTA: ideal clock (no clock tree, no clock skew), no parasitics (wires are not modelled, except a
//           statistical wire-load model when the library names a default_wire_load, which OpenSTA applies),
//           input driving cell, output load, rst_n false path (async reset recovery is not timed).
//           delay_ps = clock period - worst setup slack = worst register-to-register path, clock-to-Q + logic + setup.
//           resc_delay_ps: worst path into the y register; mac_delay_ps: worst path into the accumulator.
//   The flip-flop count is checked against the design's registers (m, s, zp must stay run-time registers).
// Results are cached under <cache>/<key>/ where key = hash(liberty contents, generator and flow versions,
// design, flow options, tool versions); a cached result is returned without running any tool.
// Without a Liberty library, `ratq hw --generic` runs the library-free proxy flow of hw/generic.h instead (same
// RTL, same pre-mapping, NAND2/NOR2/NOT gates: estimated transistors and gate levels, not um^2 and ps); a flow
// with generic = 1 sends ratq_hw_synthesize, ratq_hw_result_dir and ratq_hw_write_gate_model there.
#ifndef RATQ_HOST_HW_SYNTH_H
#define RATQ_HOST_HW_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "hw/rtl.h"

#define RATQ_HW_FLOW_VERSION "ratq-hw-flow/1"

typedef struct {
    char liberty[4096];     // Liberty file (absolute path)
    uint64_t liberty_hash;  // FNV-1a 64 of its contents
    char library[128];      // library name from the file
    char driver[64];        // driving cell for inputs (ABC -constr and STA); "" = none found
    double delay_target_ps; // ABC delay target (1 = as fast as the mapper can make it)
    int area_flow;          // 1: area-oriented mapping (map -a), no sizing
    double load_ff;         // load on every ABC output / STA output port, fF
    char cache_dir[4096];   // where results are cached
    const char *yosys, *sta; // executables
    char tool_versions[256]; // "yosys ...; sta ..." ("yosys ..." for the generic flow)
    int generic;            // 1: library-free proxy flow (hw/generic.h); liberty, driver, sta unused
} ratq_hw_flow;

typedef struct {
    ratq_hw_design d;
    double area_um2;      // mapped cell area
    double delay_ps;      // OpenSTA: worst register-to-register path (period - worst slack)
    double resc_delay_ps; // worst path ending in the output (y) register
    double mac_delay_ps;  // worst path ending in the accumulator register (0 for the rescaler alone)
    double abc_delay_ps;  // ABC stime: combinational logic only, flip-flops ideal
    int cells;            // mapped cells
    int flops, flops_expected;
    long transistors;      // generic flow: estimated CMOS transistors, flip-flops included (hw/generic.h)
    long comb_transistors; // generic flow: the gates' share of transistors
    int depth;             // generic flow: longest register-to-register path in NAND2/NOR2/NOT levels
    double seconds;       // wall time of the synthesis run that produced it
    int cached;           // 1 if read from the cache
    char dir[4096];       // folder with design.v, scripts, logs, netlist, result.json
} ratq_hw_result;

// Fill a flow for a Liberty file: hashes it, finds the library name, the sequential cells and a buffer
// for the driving cell, finds the tools (env RATQ_YOSYS, RATQ_STA or yosys/sta on PATH) and their versions.
// cache_dir NULL = $RATQ_HW_CACHE or ~/.cache/ratq/hw. Returns 0, or -1 with a one-line error.
int ratq_hw_flow_init(ratq_hw_flow *fl, const char *liberty, const char *cache_dir);

// Synthesize one design (or read it from the cache). Progress lines go to stderr when verbose.
// Returns 0, or -1 with a one-line error (tool failure: the log path is named).
int ratq_hw_synthesize(const ratq_hw_flow *fl, ratq_hw_design d, ratq_hw_result *res, int verbose);

// Write a simulatable gate-level model of a synthesized design (res->dir/netlist.v with the library's cell
// functions read by yosys read_liberty, flattened) to res->dir/gates.v, for `ratq hw verify --design`.
// Proves the mapped netlist (not only the RTL) computes the C arithmetic. Returns 0 or -1.
int ratq_hw_write_gate_model(const ratq_hw_flow *fl, const ratq_hw_result *res, char *path, size_t n);

// Cache directory of a design under this flow (does not create it).
void ratq_hw_result_dir(const ratq_hw_flow *fl, ratq_hw_design d, char *buf, size_t n);

// Run argv (argv[0] found on PATH) with stdout+stderr appended to log (NULL: inherited), in folder cwd
// (NULL: current). Returns the exit status, or -1 if it could not be started or was killed.
int ratq_hw_run(const char *const argv[], const char *log, const char *cwd);

// Create a folder and its parents (mkdir -p). Returns 0 or -1 with an error.
int ratq_hw_mkdirs(const char *path);

// Shared by the Liberty and generic flows:
// the cache folder: cache_dir, else $RATQ_HW_CACHE, else ~/.cache/ratq/hw
void ratq_hw_default_cache(const char *cache_dir, char *buf, size_t n);
// FNV-1a 64 of n bytes continuing from h (start with RATQ_HW_FNV_INIT)
#define RATQ_HW_FNV_INIT 14695981039346656037ull
uint64_t ratq_hw_fnv1a(uint64_t h, const void *p, size_t n);
// first line printed by a shell command (a version query), or "" if it cannot be run
void ratq_hw_first_line_of(const char *cmd, char *buf, size_t n);
// write dir/name atomically (temp + rename). Returns 0 or -1 with an error.
int ratq_hw_write_text(const char *dir, const char *name, const char *text);
// Cached results: dir/result.json holds the flow's numbers and "key" (the full cache-key description).
struct cJSON;
int ratq_hw_write_result_json(const char *dir, struct cJSON *o); // prints and deletes o
struct cJSON *ratq_hw_read_result_json(const char *dir, const char *desc); // NULL unless present with this key
double ratq_hw_json_num(const struct cJSON *o, const char *key);        // NAN if absent

#endif
