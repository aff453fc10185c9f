// splitmix64.h — the one splitmix64 (Steele, Lea, Flood 2014): the state advances by the golden gamma
// 0x9E3779B97F4A7C15 and each output is Stafford's variant-13 finalizer of the new state. Used as a generator
// (ratq_splitmix64_next: training init, the data order, hw verification, tests) and as a counter-based hash
// (ratq_splitmix64 of a key: dropout masks, augmentation keys). C11 and CUDA (RATQ_HD); all arithmetic mod 2^64.
#ifndef RATQ_MATH_SPLITMIX64_H
#define RATQ_MATH_SPLITMIX64_H

#include <stdint.h>

#include "math/rescale.h" // RATQ_HD

#define RATQ_SPLITMIX64_GAMMA 0x9E3779B97F4A7C15ull

// The variant-13 finalizer: z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB;
// z ^= z >> 31 (a bijection of 64-bit words).
RATQ_HD uint64_t ratq_mix13(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The output of a generator whose state is z: mix13(z + gamma) (pure function: the counter-based hash).
RATQ_HD uint64_t ratq_splitmix64(uint64_t z) { return ratq_mix13(z + RATQ_SPLITMIX64_GAMMA); }

// The generator: *state += gamma, return mix13(*state) (= ratq_splitmix64 of the old state).
RATQ_HD uint64_t ratq_splitmix64_next(uint64_t *state) { return ratq_mix13(*state += RATQ_SPLITMIX64_GAMMA); }

#endif // RATQ_MATH_SPLITMIX64_H
