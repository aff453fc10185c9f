// hw/verify.h — bit-exact verification of the generated RTL (or a synthesized netlist) against the C engine's
// requantization, ratq_requantize(acc, {m, s}, zp, lo, hi, RATQ_ROUND_SINGLE) of kernels/math/rescale.h,
// by simulation with Icarus Verilog (iverilog + vvp; env RATQ_IVERILOG / RATQ_VVP override the names).
//
// Vector sources (every (m, s) is valid for the k under test: m = 0 or 2^(k-1) <= m < 2^k, 0 <= s <= k+31;
// for k = 32, m in [2^30, 2^31) as TFLite's quantized_multiplier, s <= 62):
//   edge    acc in {+-(2^31-1), -2^31, +-2^30, int8 borders, 0, +-1, ...} x m in {0, 2^(k-1), 2^k-1, random}
//           x every shift x several (zp, lo, hi); exact ties of both signs for every s >= 1 (acc*m = odd*2^(s-1))
//           and their neighbours
//   random  acc uniform or log-uniform, shifts uniform or "realistic" (result near the int8 range)
//   real    int32 accumulators with their per-channel real multiplier M cut to k bits by ratq_rescale_from_real:
//           from cmsis_nn_vector/v1 JSON files (derived.accumulator_int32, M = output_multiplier * 2^(output_shift-31))
//           or from accumulator dump files (format below). Channels whose (m, s) needs a left shift (s < 0) are
//           skipped and counted: the RTL supports right shifts only.
//
// Accumulator dump file (".racc", little-endian), written by a model stage per layer:
//   offset 0   char[8]  magic "RATQACC\0"
//          8   uint32   version = 1
//         12   uint32   channels C (>= 1)
//         16   uint64   count: number of accumulators (a multiple of C)
//         24   int32    zp, lo, hi: output zero point and activation clamp range (int8 values, lo <= hi)
//         36   uint32   reserved (0)
//         40   float64  M[C]: real requantization multiplier per channel (S_x * S_w[c] / S_y, >= 0)
//   40 + 8C    int32    acc[count]: accumulators (bias included), channel fastest (index % C = channel; NHWC)
#ifndef RATQ_HOST_HW_VERIFY_H
#define RATQ_HOST_HW_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "hw/rtl.h"

#define RATQ_ACC_DUMP_MAGIC "RATQACC"
#define RATQ_ACC_DUMP_VERSION 1

typedef struct {
    int channels;  // C
    int64_t count; // number of accumulators
    int32_t zp, lo, hi;
    double *mult;  // (C,) real multipliers
    int32_t *acc;  // (count,) channel fastest
} ratq_acc_dump;

int ratq_acc_dump_write(const char *path, const ratq_acc_dump *d);
int ratq_acc_dump_read(const char *path, ratq_acc_dump *d); // validates every field; one-line errors
void ratq_acc_dump_free(ratq_acc_dump *d);
// Read a cmsis_nn_vector/v1 JSON file's accumulators, multipliers, zero point and clamp range as a dump.
int ratq_acc_dump_from_cmsis_json(const char *path, ratq_acc_dump *d);

typedef struct {
    int32_t acc, m, s, zp, lo, hi;
} ratq_hw_vec;

typedef struct {
    ratq_hw_vec *v;
    size_t n, cap;
    size_t skipped; // real accumulators skipped (left shift needed)
} ratq_hw_vecs;

void ratq_hw_vecs_free(ratq_hw_vecs *vs);
void ratq_hw_vecs_edge(ratq_hw_vecs *vs, int bits, uint64_t *rng);
void ratq_hw_vecs_random(ratq_hw_vecs *vs, int bits, size_t n, uint64_t *rng);
// Real accumulators of a dump; at most max_n of them (evenly strided; 0 = all).
void ratq_hw_vecs_from_dump(ratq_hw_vecs *vs, int bits, const ratq_acc_dump *d, size_t max_n);

// The C reference for one vector: ratq_requantize(..., RATQ_ROUND_SINGLE).
int32_t ratq_hw_vec_expected(const ratq_hw_vec *v);

// Simulate the registered rescaler (ratq_rescaler_k<bits>) on the vectors. design_v: a Verilog file that
// defines the top module (NULL = generate the RTL into workdir). Returns the number of mismatches (0 = bit
// exact; the first ones are printed), or -1 if the simulation could not run.
long ratq_hw_sim_rescaler(int bits, const ratq_hw_vecs *vs, const char *design_v, const char *workdir, int verbose);

// Simulate the dot-product unit on `jobs` random dot products (1..8 cycles of N int8 pairs, random bias,
// config and extreme values) against int64 accumulation + ratq_requantize. Returns mismatches or -1.
long ratq_hw_sim_dotp(ratq_hw_design d, int jobs, uint64_t seed, const char *design_v, const char *workdir, int verbose);

#endif
