// hw/rtl.c — Verilog-2005 text for the k-bit rescaler, the N-MAC dot-product unit and their testbenches.
// Formulas and ranges: hw/rtl.h. Every register has an asynchronous active-low reset (rst_n) so that it
// maps onto the reset flip-flops that every cell library has (NanGate 15 nm has no plain DFF).
#include "hw/rtl.h"

#include "common/io.h"

int ratq_hw_design_check(ratq_hw_design d) {
    if (d.bits < 1 || d.bits > RATQ_HW_BITS_MAX) {
        ratq_error("hw: bits %d out of range 1..%d", d.bits, RATQ_HW_BITS_MAX);
        return -1;
    }
    if (d.macs < 0 || d.macs > RATQ_HW_MACS_MAX) {
        ratq_error("hw: macs %d out of range 0..%d (0 = the rescaler alone)", d.macs, RATQ_HW_MACS_MAX);
        return -1;
    }
    return 0;
}

void ratq_hw_top_name(ratq_hw_design d, char *buf, size_t n) {
    if (d.macs == 0) snprintf(buf, n, "ratq_rescaler_k%d", d.bits);
    else snprintf(buf, n, "ratq_dotp_n%d_k%d", d.macs, d.bits);
}

int ratq_hw_shift_max(int bits) { return bits >= 32 ? 62 : bits + 31; }

// rescaler registers: acc 32, m k, s 6, zp/lo/hi 8 each, y 8.
// dot-product unit adds: x, w 8N each, valid, first, bias 32 (acc is shared).
int ratq_hw_expected_flops(ratq_hw_design d) {
    int resc = 32 + d.bits + RATQ_HW_SHIFT_BITS + 3 * 8 + 8;
    return d.macs == 0 ? resc : resc + 16 * d.macs + 2 + 32;
}

// Product width P: signed 32 x unsigned k needs 32 + k bits; signed 32 x signed 32 needs 64 (|p| <= 2^62).
static int product_bits(int bits) { return bits >= 32 ? 64 : 32 + bits; }

// The core, in the order the logic runs (P = product width, v fits in P bits, P+1 used for the rounding carry):
//   r  = s == 0 ? 0 : 2^(s-1)                  one-hot rounding constant (a decoder of s)
//   pr = acc * m + r                           one carry-save tree + one carry-propagate adder (P+1 bits)
//   v  = s > P ? 0 : pr >>> s                  = floor((p + 2^(s-1)) / 2^s); s > P only outside the valid range,
//                                              where the C function also gives 0 (|p| < 2^(s-2))
//   small = v in [-512, 511] (bits [P:9] all equal); otherwise v + zp is beyond every int8 lo/hi:
//   y  = !small ? (v < 0 ? lo : hi) : clamp(v[9:0] + zp, lo, hi)   (11-bit add and compares)
// This equals clamp(sat32(v) + zp, lo, hi) for all int8 zp, lo, hi (also lo > hi: the C order
// "x < lo ? lo : x > hi ? hi : x" is kept).
static void write_core(FILE *f, int k) {
    int P = product_bits(k), S = RATQ_HW_SHIFT_BITS;
    fprintf(f,
            "// ratq_rescale_k%d: combinational k-bit rescaler, `single` rounding of kernels/math/rescale.h:\n"
            "//   y = clamp(floor((acc*m + 2^(s-1)) / 2^s) + zp, lo, hi)   (s = 0: no rounding term; ties toward +inf)\n"
            "//   acc * m: %s -> %d-bit exact product\n"
            "module ratq_rescale_k%d (\n"
            "    input  wire signed [31:0] acc,\n"
            "    input  wire %s [%d:0] m,\n"
            "    input  wire        [%d:0] s,\n"
            "    input  wire signed [7:0]  zp,\n"
            "    input  wire signed [7:0]  lo,\n"
            "    input  wire signed [7:0]  hi,\n"
            "    output wire signed [7:0]  y\n"
            ");\n",
            k, k >= 32 ? "signed 32 x signed 32" : "signed 32 x unsigned k", P, k, k >= 32 ? "signed" : "      ",
            k - 1, S - 1);
    fprintf(f,
            "    // rounding constant 2^(s-1) (0 for s = 0), added inside the multiplier's adder tree\n"
            "    wire        [%d:0] r = (s == %d'd0) ? %d'd0 : (%d'd1 << (s - %d'd1));\n",
            P - 1, S, P, P, S);
    if (k >= 32) fprintf(f, "    wire signed [%d:0] pr = acc * m + $signed({1'b0, r});\n", P);
    else fprintf(f, "    wire signed [%d:0] pr = acc * $signed({1'b0, m}) + $signed({1'b0, r});\n", P);
    fprintf(f,
            "    // arithmetic right shift; shifts beyond the product width give 0 (as the C function)\n"
            "    wire               zero = ({1'b0, s} > 7'd%d);\n"
            "    wire signed [%d:0] v = zero ? %d'sd0 : (pr >>> s);\n"
            "    // v outside [-512, 511]: v + zp is beyond every int8 bound, the clamp picks lo or hi\n"
            "    wire               near = (v[%d:9] == {%d{v[%d]}});\n"
            "    wire signed [10:0] w = $signed(v[9:0]) + zp;\n"
            "    assign y = !near ? (v[%d] ? lo : hi) : (w < lo) ? lo : ((w > hi) ? hi : w[7:0]);\n"
            "endmodule\n\n",
            P, P, P + 1, P, P - 8, P, P);
}

static void write_rescaler_top(FILE *f, int k) {
    fprintf(f,
            "// ratq_rescaler_k%d: the rescaler between registers (inputs and output registered).\n"
            "module ratq_rescaler_k%d (\n"
            "    input  wire               clk,\n"
            "    input  wire               rst_n,\n"
            "    input  wire signed [31:0] acc,\n"
            "    input  wire        [%d:0] m,\n"
            "    input  wire        [%d:0] s,\n"
            "    input  wire signed [7:0]  zp,\n"
            "    input  wire signed [7:0]  lo,\n"
            "    input  wire signed [7:0]  hi,\n"
            "    output reg  signed [7:0]  y\n"
            ");\n"
            "    reg signed [31:0] acc_r;\n"
            "    reg        [%d:0] m_r;\n"
            "    reg        [%d:0] s_r;\n"
            "    reg signed [7:0]  zp_r, lo_r, hi_r;\n"
            "    wire signed [7:0] y_d;\n"
            "    ratq_rescale_k%d u_rescale (.acc(acc_r), .m(m_r), .s(s_r), .zp(zp_r), .lo(lo_r), .hi(hi_r), .y(y_d));\n"
            "    always @(posedge clk or negedge rst_n)\n"
            "        if (!rst_n) begin\n"
            "            acc_r <= 0; m_r <= 0; s_r <= 0; zp_r <= 0; lo_r <= 0; hi_r <= 0; y <= 0;\n"
            "        end else begin\n"
            "            acc_r <= acc; m_r <= m; s_r <= s; zp_r <= zp; lo_r <= lo; hi_r <= hi; y <= y_d;\n"
            "        end\n"
            "endmodule\n\n",
            k, k, k - 1, RATQ_HW_SHIFT_BITS - 1, k - 1, RATQ_HW_SHIFT_BITS - 1, k);
}

static void write_dotp_top(FILE *f, int n, int k) {
    fprintf(f,
            "// ratq_dotp_n%d_k%d: %d int8 x int8 multipliers, one adder tree into a 32-bit accumulator, the k-bit rescaler.\n"
            "// Cycle t: x, w, in_valid, in_first, bias registered. Cycle t+1: if valid, acc <= (first ? bias : acc) + sum_i x_i*w_i\n"
            "// (two's complement, wraps at 32 bits). Every cycle: y <= rescale(acc) with the configuration registers,\n"
            "// which load from cfg_* when cfg_we. Lane i of x and w is bits [8i+7:8i]. MAC path: x_r/w_r/acc -> acc;\n"
            "// rescaler path: acc/m/s/zp/lo/hi -> y.\n"
            "module ratq_dotp_n%d_k%d (\n"
            "    input  wire               clk,\n"
            "    input  wire               rst_n,\n"
            "    input  wire               in_valid,\n"
            "    input  wire               in_first,\n"
            "    input  wire        [%d:0] x,\n"
            "    input  wire        [%d:0] w,\n"
            "    input  wire signed [31:0] bias,\n"
            "    input  wire               cfg_we,\n"
            "    input  wire        [%d:0] cfg_m,\n"
            "    input  wire        [%d:0] cfg_s,\n"
            "    input  wire signed [7:0]  cfg_zp,\n"
            "    input  wire signed [7:0]  cfg_lo,\n"
            "    input  wire signed [7:0]  cfg_hi,\n"
            "    output reg  signed [7:0]  y\n"
            ");\n"
            "    reg        [%d:0] x_r, w_r;\n"
            "    reg               valid_r, first_r;\n"
            "    reg signed [31:0] bias_r, acc_r;\n"
            "    reg        [%d:0] m_r;\n"
            "    reg        [%d:0] s_r;\n"
            "    reg signed [7:0]  zp_r, lo_r, hi_r;\n",
            n, k, n, n, k, 8 * n - 1, 8 * n - 1, k - 1, RATQ_HW_SHIFT_BITS - 1, 8 * n - 1, k - 1,
            RATQ_HW_SHIFT_BITS - 1);
    for (int i = 0; i < n; i++)
        fprintf(f, "    wire signed [15:0] p%d = $signed(x_r[%d:%d]) * $signed(w_r[%d:%d]);\n", i, 8 * i + 7, 8 * i,
                8 * i + 7, 8 * i);
    fprintf(f, "    wire signed [31:0] base = first_r ? bias_r : acc_r;\n    wire signed [31:0] acc_d = base");
    for (int i = 0; i < n; i++) fprintf(f, " + p%d", i);
    fprintf(f,
            ";\n"
            "    wire signed [7:0] y_d;\n"
            "    ratq_rescale_k%d u_rescale (.acc(acc_r), .m(m_r), .s(s_r), .zp(zp_r), .lo(lo_r), .hi(hi_r), .y(y_d));\n"
            "    always @(posedge clk or negedge rst_n)\n"
            "        if (!rst_n) begin\n"
            "            x_r <= 0; w_r <= 0; valid_r <= 0; first_r <= 0; bias_r <= 0; acc_r <= 0;\n"
            "            m_r <= 0; s_r <= 0; zp_r <= 0; lo_r <= 0; hi_r <= 0; y <= 0;\n"
            "        end else begin\n"
            "            x_r <= x; w_r <= w; valid_r <= in_valid; first_r <= in_first; bias_r <= bias;\n"
            "            if (valid_r) acc_r <= acc_d;\n"
            "            if (cfg_we) begin\n"
            "                m_r <= cfg_m; s_r <= cfg_s; zp_r <= cfg_zp; lo_r <= cfg_lo; hi_r <= cfg_hi;\n"
            "            end\n"
            "            y <= y_d;\n"
            "        end\n"
            "endmodule\n\n",
            k);
}

int ratq_hw_write_design(FILE *f, ratq_hw_design d) {
    if (ratq_hw_design_check(d)) return -1;
    fprintf(f, "// Generated by ratq (%s): macs %d, bits %d. Verilog-2005, synthesizable.\n`timescale 1ns/1ps\n\n", RATQ_HW_RTL_VERSION,
            d.macs, d.bits);
    write_core(f, d.bits);
    if (d.macs == 0) write_rescaler_top(f, d.bits);
    else write_dotp_top(f, d.macs, d.bits);
    return ferror(f) ? -1 : 0;
}

// Testbench for the registered rescaler. Vector file: first line the count (decimal), then one vector per
// line "acc m s zp lo hi" in hex (two's complement). Output file: one "y" (2 hex digits) per vector.
// Latency 2: vector i is applied before clock edge i; after edge i+1, y holds its result.
static void write_tb_rescaler(FILE *f, int k, const char *top) {
    fprintf(f,
            "`timescale 1ns/1ps\n"
            "module ratq_tb;\n"
            "    reg clk = 1'b0, rst_n = 1'b0;\n"
            "    reg [31:0] acc, m; reg [%d:0] s; reg [7:0] zp, lo, hi;\n"
            "    wire [7:0] y;\n"
            "    %s dut (.clk(clk), .rst_n(rst_n), .acc(acc), .m(m[%d:0]), .s(s), .zp(zp), .lo(lo), .hi(hi), .y(y));\n"
            "    reg [8*4096-1:0] vin, vout;\n"
            "    reg [31:0] a_i, m_i, s_i, z_i, l_i, h_i;\n"
            "    integer fi, fo, n, i, code;\n"
            "    initial begin\n"
            "        if (!$value$plusargs(\"vectors=%%s\", vin) || !$value$plusargs(\"out=%%s\", vout)) begin\n"
            "            $display(\"ratq_tb: need +vectors=FILE +out=FILE\"); $finish;\n"
            "        end\n"
            "        fi = $fopen(vin, \"r\"); fo = $fopen(vout, \"w\");\n"
            "        if (fi == 0 || fo == 0) begin $display(\"ratq_tb: cannot open files\"); $finish; end\n"
            "        code = $fscanf(fi, \"%%d\\n\", n);\n"
            "        acc = 0; m = 0; s = 0; zp = 0; lo = 0; hi = 0;\n"
            "        #1 rst_n = 1'b1;\n"
            "        for (i = 0; i <= n; i = i + 1) begin\n"
            "            if (i < n) begin\n"
            "                code = $fscanf(fi, \"%%h %%h %%h %%h %%h %%h\\n\", a_i, m_i, s_i, z_i, l_i, h_i);\n"
            "                if (code != 6) begin $display(\"ratq_tb: bad vector line %%0d\", i); $finish; end\n"
            "                acc = a_i; m = m_i; s = s_i[%d:0]; zp = z_i[7:0]; lo = l_i[7:0]; hi = h_i[7:0];\n"
            "            end\n"
            "            #1 clk = 1'b1; #1 clk = 1'b0;\n"
            "            if (i >= 1) $fdisplay(fo, \"%%h\", y);\n"
            "        end\n"
            "        $fclose(fo);\n"
            "        $display(\"ratq_tb: done %%0d vectors\", n);\n"
            "        $finish;\n"
            "    end\n"
            "endmodule\n",
            RATQ_HW_SHIFT_BITS - 1, top, k - 1, RATQ_HW_SHIFT_BITS - 1);
}

// Testbench for the dot-product unit. Job file: first line the job count (decimal); per job a line
// "L m s zp lo hi bias" (L decimal, rest hex) then L lines "x w" (8N-bit hex, lane i = bits [8i+7:8i]).
// Per job: one cfg_we cycle, L valid cycles (first on the first), two idle cycles, then y is written.
static void write_tb_dotp(FILE *f, int n, int k, const char *top) {
    fprintf(f,
            "`timescale 1ns/1ps\n"
            "module ratq_tb;\n"
            "    reg clk = 1'b0, rst_n = 1'b0;\n"
            "    reg in_valid, in_first, cfg_we;\n"
            "    reg [%d:0] x, w;\n"
            "    reg [31:0] bias, m; reg [%d:0] s; reg [7:0] zp, lo, hi;\n"
            "    wire [7:0] y;\n"
            "    %s dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_first(in_first), .x(x), .w(w), .bias(bias),\n"
            "        .cfg_we(cfg_we), .cfg_m(m[%d:0]), .cfg_s(s), .cfg_zp(zp), .cfg_lo(lo), .cfg_hi(hi), .y(y));\n"
            "    reg [8*4096-1:0] vin, vout;\n"
            "    reg [31:0] m_i, s_i, z_i, l_i, h_i, b_i;\n"
            "    reg [%d:0] x_i, w_i;\n"
            "    integer fi, fo, jobs, j, len, t, code;\n"
            "    task tick; begin #1 clk = 1'b1; #1 clk = 1'b0; end endtask\n"
            "    initial begin\n"
            "        if (!$value$plusargs(\"vectors=%%s\", vin) || !$value$plusargs(\"out=%%s\", vout)) begin\n"
            "            $display(\"ratq_tb: need +vectors=FILE +out=FILE\"); $finish;\n"
            "        end\n"
            "        fi = $fopen(vin, \"r\"); fo = $fopen(vout, \"w\");\n"
            "        if (fi == 0 || fo == 0) begin $display(\"ratq_tb: cannot open files\"); $finish; end\n"
            "        code = $fscanf(fi, \"%%d\\n\", jobs);\n"
            "        in_valid = 0; in_first = 0; cfg_we = 0; x = 0; w = 0; bias = 0; m = 0; s = 0; zp = 0; lo = 0; hi = 0;\n"
            "        #1 rst_n = 1'b1;\n"
            "        for (j = 0; j < jobs; j = j + 1) begin\n"
            "            code = $fscanf(fi, \"%%d %%h %%h %%h %%h %%h %%h\\n\", len, m_i, s_i, z_i, l_i, h_i, b_i);\n"
            "            if (code != 7) begin $display(\"ratq_tb: bad job line %%0d\", j); $finish; end\n"
            "            m = m_i; s = s_i[%d:0]; zp = z_i[7:0]; lo = l_i[7:0]; hi = h_i[7:0]; bias = b_i;\n"
            "            cfg_we = 1; tick; cfg_we = 0;\n"
            "            for (t = 0; t < len; t = t + 1) begin\n"
            "                code = $fscanf(fi, \"%%h %%h\\n\", x_i, w_i);\n"
            "                if (code != 2) begin $display(\"ratq_tb: bad data line, job %%0d\", j); $finish; end\n"
            "                x = x_i; w = w_i; in_valid = 1; in_first = (t == 0); tick;\n"
            "            end\n"
            "            in_valid = 0; in_first = 0; tick; tick; tick;\n"
            "            $fdisplay(fo, \"%%h\", y);\n"
            "        end\n"
            "        $fclose(fo);\n"
            "        $display(\"ratq_tb: done %%0d jobs\", jobs);\n"
            "        $finish;\n"
            "    end\n"
            "endmodule\n",
            8 * n - 1, RATQ_HW_SHIFT_BITS - 1, top, k - 1, 8 * n - 1, RATQ_HW_SHIFT_BITS - 1);
}

int ratq_hw_write_testbench(FILE *f, ratq_hw_design d) {
    if (ratq_hw_design_check(d)) return -1;
    char top[64];
    ratq_hw_top_name(d, top, sizeof top);
    fprintf(f, "// Generated by ratq (%s): testbench for %s.\n", RATQ_HW_RTL_VERSION, top);
    if (d.macs == 0) write_tb_rescaler(f, d.bits, top);
    else write_tb_dotp(f, d.macs, d.bits, top);
    return ferror(f) ? -1 : 0;
}
