// hw/rtl.h — generator of synthesizable Verilog-2005 for the k-bit rescaler and the N-MAC dot-product unit.
//
// The rescaler computes, bit for bit, ratq_requantize(acc, {m, s}, zp, lo, hi, RATQ_ROUND_SINGLE) of
// kernels/math/rescale.h for every run-time (m, s) the RTL supports:
//   p = acc * m                         signed 32 x (unsigned k | signed 32) -> exact product
//   v = floor((p + 2^(s-1)) / 2^s)      s >= 1: one rounding, ties toward +inf;  s = 0: v = p
//   y = clamp(v + zp, lo, hi)           int8 zp, lo, hi (lo <= hi); no separate int32 saturation is needed:
//                                       if v is outside int32, sat32(v) + zp and v + zp both lie beyond [lo, hi]
// Run-time ranges: m is a k-bit unsigned register (valid values 0 and [2^(k-1), 2^k)); the shift is a
// 6-bit register, s in 0..63 (valid s in 0..k+31; larger s give 0, as the C function does). Left shifts
// (s < 0, real multipliers >= 1) are not supported by the RTL.
// bits = 32 is the conventional rescaler: a signed 32-bit multiplicand (TFLite's int32 quantized_multiplier,
// valid m in [2^30, 2^31)) with the same `single` rounding (not TFLite's double rounding).
//
// Generated modules (every name carries its parameters):
//   ratq_rescale_k<K>      combinational rescaler core
//   ratq_rescaler_k<K>     core between registers: acc, m, s, zp, lo, hi registered in, y registered out
//   ratq_dotp_n<N>_k<K>    N int8 x int8 multipliers, one adder tree + 32-bit accumulator register, the
//                          rescaler on the accumulator, input/config/output registers (all paths reg-to-reg)
//   ratq_tb_*              Icarus testbenches that stream a vector file through a design (see hw/verify.h)
#ifndef RATQ_HOST_HW_RTL_H
#define RATQ_HOST_HW_RTL_H

#include <stdio.h>

#define RATQ_HW_RTL_VERSION "ratq-hw-rtl/1"
#define RATQ_HW_SHIFT_BITS 6 // run-time shift register width: s in 0..63
#define RATQ_HW_BITS_MAX 32  // k = 1..31 unsigned multiplicand; 32 = conventional signed 32-bit
#define RATQ_HW_MACS_MAX 256

typedef struct {
    int macs; // N: int8 x int8 multipliers; 0 = the registered rescaler alone
    int bits; // k: multiplicand width, 1..32
} ratq_hw_design;

// 0 if the design parameters are in range, else -1 (and a one-line error).
int ratq_hw_design_check(ratq_hw_design d);
// Top module name of a design, e.g. "ratq_dotp_n8_k4" or "ratq_rescaler_k4".
void ratq_hw_top_name(ratq_hw_design d, char *buf, size_t n);
// Flip-flops the design must keep after synthesis (inputs, config, accumulator, output registers).
int ratq_hw_expected_flops(ratq_hw_design d);
// Largest valid run-time shift for k bits: k + 31 (62 for the conventional 32-bit rescaler).
int ratq_hw_shift_max(int bits);

// Write the design (top + every module it instantiates) as Verilog-2005. Returns 0 or -1 on a write error.
int ratq_hw_write_design(FILE *f, ratq_hw_design d);
// Write the testbench ratq_tb for the design; it reads +vectors=FILE and writes +out=FILE (formats in hw/verify.h).
int ratq_hw_write_testbench(FILE *f, ratq_hw_design d);

#endif
