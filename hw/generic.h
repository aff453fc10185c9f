// hw/generic.h — library-free hardware-cost proxy of the generated RTL (`ratq hw --generic`): for machines
// without a Liberty library. Needs only yosys (ABC inside it); no OpenSTA, no PDK.
//
// Flow (synth.ys is written next to the results, so every number can be reproduced by hand):
//   yosys:  read_verilog; synth -flatten -noabc            (the same pre-mapping as the Liberty flow, hw/synth.h:
//                                                          alumacc/maccmap carry-save trees + Brent-Kung adders)
//           dfflegalize to plain async-reset D flip-flops  (enable flip-flops become a DFF + a multiplexer, as
//                                                          dfflibmap does for a library without enable flops)
//           abc -g cmos2                                   ABC maps the logic to NAND2, NOR2 and NOT only, with
//                                                          yosys's genlib: unit delay per gate, cost 4/4/2
//           stat -json -tech cmos                          cells, flip-flops (cell types containing DFF/DLATCH)
//           stat -tech cmos <every cell but the flops>     comb_transistors: yosys's CMOS estimate of the gates,
//                                                          NAND2 = NOR2 = 4, NOT = 2 transistors
//           ltp -noff                                      depth: the longest register-to-register path, in
//                                                          gates (every NAND2/NOR2/NOT is one level)
//   transistors = comb_transistors + RATQ_HW_GENERIC_FF_TRANSISTORS * flops   (yosys's table has no cost for an
//                 async-reset flip-flop, so a fixed one is added; it is the same for every k)
//   ADP proxy = transistors * depth; the reductions versus k = 32 are computed from these like the Liberty ones.
//
// What it does NOT model (these are proxies, not um^2 or ps): transistor sizing, drive strength and fan-out
// (a NAND2 driving 40 gates costs one level, like one driving 1); the real cell mix of a library (complex
// AOI/OAI/XOR/full-adder cells, which make XOR-heavy adders and multipliers much cheaper than in NAND2/NOR2);
// wires, placement, clock tree; flip-flop timing (clock-to-Q, setup); NOT gates count a full level. Expect the
// right trend (fewer transistors and levels for smaller k) and roughly the right reduction ratios, not the
// absolute numbers. The flip-flop count is checked against the design's registers as in the Liberty flow.
// Results are cached under <cache>/generic-cmos2-<top>-<key>/ where key = hash(flow and generator versions,
// design, the yosys script, the flip-flop cost, yosys version); a cached result is returned without running yosys.
#ifndef RATQ_HOST_HW_GENERIC_H
#define RATQ_HOST_HW_GENERIC_H

#include <stddef.h>

#include "hw/synth.h"

#define RATQ_HW_GENERIC_FLOW_VERSION "ratq-hw-generic/1"
#define RATQ_HW_GENERIC_LIBRARY "generic CMOS gates (no Liberty)"
// Transistors of a static master-slave D flip-flop with asynchronous reset: two latches, each a transmission
// gate (2) + a forward NAND2/NOR2 that takes the reset (4) + a clocked feedback inverter (4), plus the local
// clock inverter (2) and the output inverter (2).
#define RATQ_HW_GENERIC_FF_TRANSISTORS 24

// Fill a generic flow: finds yosys (env RATQ_YOSYS or yosys on PATH) and its version; cache_dir as in
// ratq_hw_flow_init. Returns 0, or -1 with a one-line error.
int ratq_hw_generic_flow_init(ratq_hw_flow *fl, const char *cache_dir);

// Map one design (or read it from the cache): fills transistors, comb_transistors, depth, cells, flops.
// Called by ratq_hw_synthesize for a generic flow. Returns 0, or -1 with a one-line error.
int ratq_hw_generic_synthesize(const ratq_hw_flow *fl, ratq_hw_design d, ratq_hw_result *r, int verbose);

// Cache directory of a design under the generic flow (does not create it).
void ratq_hw_generic_result_dir(const ratq_hw_flow *fl, ratq_hw_design d, char *buf, size_t n);

#endif
