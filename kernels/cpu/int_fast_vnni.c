// int_fast_vnni.c — the AVX2 kernels of int_fast_avx2.c with vpdpwssd for the multiply-add (AVX512-VNNI and
// AVX512VL, 256-bit vectors); built with those flags on x86 only and called only when the CPU reports both.
#define RATQ_FAST_VNNI 1
#include "int_fast_avx2.c"
