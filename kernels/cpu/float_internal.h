// float_internal.h — helpers private to kernels/cpu/float_*.c (not part of the public API).
#ifndef RATQ_KERNELS_CPU_FLOAT_INTERNAL_H
#define RATQ_KERNELS_CPU_FLOAT_INTERNAL_H

#include <stddef.h>

// OpenMP pragmas that vanish (without -Wunknown-pragmas noise) when OpenMP is absent.
#ifdef _OPENMP
#include <omp.h>
#define RATQ_PRAGMA(x) _Pragma(#x)
#define RATQ_OMP(x) RATQ_PRAGMA(omp x)
static inline int ratq_omp_threads(void) { return omp_get_max_threads(); }
static inline int ratq_omp_tid(void) { return omp_get_thread_num(); }
#else
#define RATQ_OMP(x)
static inline int ratq_omp_threads(void) { return 1; }
static inline int ratq_omp_tid(void) { return 0; }
#endif

// Channel block used by the per-channel reductions: each OpenMP task owns RATQ_CBLK consecutive
// channels (one 64-byte cache line of floats) and walks all rows, so sums are deterministic
// (same order as the plain-loop reference) and need no allocation.
#define RATQ_CBLK 16

// out[j] = sum_r x[r*ld + j] for j < c (double accumulator, rows in order), OpenMP over channel blocks.
void ratq_colsum_cpu(int rows, int c, int ld, const float *x, float *out);

// malloc that prints "ratq: <what>: out of memory (<bytes> bytes)" on failure.
void *ratq_float_alloc(size_t bytes, const char *what);

#endif
