// test_hw_verify.c — the generated rescaler and dot-product RTL compute exactly ratq_requantize (single
// rounding) of kernels/math/rescale.h, by Icarus Verilog simulation (iverilog + vvp must be installed).
//   default (label cpu):        k = 1, 4, 8, 32: edge cases (every shift, +-2^31-1, -2^31, exact ties of both
//                               signs), 20000 random vectors, the real CMSIS-NN accumulators (M cut to k bits,
//                               also read back through an accumulator dump file); dot-product unit N = 4.
//   --full (label cpu;slow):    every k = 1..32, 100000 random vectors, dot-product units N = 1, 4, 8, 16.
//   --synthetic (label cpu):    the default run with a generated accumulator dump in place of the CMSIS-NN
//                               vectors of ../shared (so it runs on a machine without them).
// Also checks the accumulator dump reader: round trip, and that truncated / wrong-magic files are rejected.
// Exit code 0 = bit exact everywhere; 1 = a mismatch or a failed check (first mismatches printed).
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/synth.h"
#include "hw/verify.h"
#include "common/io.h"

#include "test_util.h"
// One harness for all tests (tests/test_util.h): a failed CHECK prints file:line and counts.
#define CHECK(cond, ...) CHECK_MSG(cond, __VA_ARGS__)

// Load every CMSIS-NN vector of the shared data folder; fails loudly if there is none.
static int load_cmsis(ratq_acc_dump *dumps, int max) {
    const char *root = getenv("RATQ_SHARED_DATA");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cmsis_nn_vectors", root ? root : "../shared/data");
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "FAIL: %s: cannot open (set RATQ_SHARED_DATA to the shared data folder)\n", dir);
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (ratq_acc_dump_from_cmsis_json(path, &dumps[n])) {
            closedir(d);
            return -1;
        }
        n++;
    }
    closedir(d);
    if (n == 0) fprintf(stderr, "FAIL: %s: no *.json vectors\n", dir);
    return n ? n : -1;
}

// Dump file: write, read back identical; corrupted copies are rejected.
static void check_dump_roundtrip(const ratq_acc_dump *src, const char *tmp, ratq_acc_dump *back) {
    char path[4200], bad[4200];
    snprintf(path, sizeof path, "%s/layer.racc", tmp);
    CHECK(ratq_acc_dump_write(path, src) == 0, "write %s", path);
    CHECK(ratq_acc_dump_read(path, back) == 0, "read %s", path);
    CHECK(back->channels == src->channels && back->count == src->count && back->zp == src->zp &&
              back->lo == src->lo && back->hi == src->hi,
          "dump header differs after round trip");
    CHECK(back->acc && !memcmp(back->acc, src->acc, 4 * (size_t)src->count), "dump accumulators differ");
    CHECK(back->mult && !memcmp(back->mult, src->mult, 8 * (size_t)src->channels), "dump multipliers differ");
    size_t size;
    char *bytes = ratq_read_file(path, &size);
    snprintf(bad, sizeof bad, "%s/bad.racc", tmp);
    ratq_acc_dump junk;
    FILE *f = fopen(bad, "wb");
    fwrite(bytes, 1, size - 1, f); // truncated
    fclose(f);
    fprintf(stderr, "(expected error follows)\n");
    CHECK(ratq_acc_dump_read(bad, &junk) != 0, "truncated dump accepted");
    bytes[0] = 'X'; // wrong magic
    f = fopen(bad, "wb");
    fwrite(bytes, 1, size, f);
    fclose(f);
    fprintf(stderr, "(expected error follows)\n");
    CHECK(ratq_acc_dump_read(bad, &junk) != 0, "dump with a wrong magic accepted");
    free(bytes);
}

// --synthetic: instead of the CMSIS-NN vectors (../shared), one generated dump: 16 channels, multipliers
// log-uniform in [2^-12, 2^-1), 8192 accumulators log-uniform in magnitude up to 2^24 with random signs.
static int synthetic_dump(ratq_acc_dump *d) {
    uint64_t st = 2718;
    d->channels = 16;
    d->count = 8192;
    d->zp = -3;
    d->lo = -128;
    d->hi = 127;
    d->mult = malloc(sizeof(double) * 16);
    d->acc = malloc(sizeof(int32_t) * 8192);
    if (!d->mult || !d->acc) return -1;
    for (int c = 0; c < 16; c++) d->mult[c] = ldexp(1.0, -12 + (int)ratq_test_range(&st, 0, 10)) * (1 + ratq_test_unit(&st));
    for (int i = 0; i < 8192; i++) {
        int64_t mag = (int64_t)1 << ratq_test_range(&st, 0, 24);
        int64_t a = ratq_test_range(&st, 0, mag);
        d->acc[i] = (int32_t)(ratq_test_rng(&st) & 1 ? -a : a);
    }
    return 1;
}

int main(int argc, char **argv) {
    int full = argc > 1 && !strcmp(argv[1], "--full");
    int synthetic = argc > 1 && !strcmp(argv[1], "--synthetic");
    static const int quick_bits[] = {1, 4, 8, 32}, quick_macs[] = {4}, full_macs[] = {1, 4, 8, 16};
    int nbits = full ? 32 : 4, nrandom = full ? 100000 : 20000;
    const int *macs = full ? full_macs : quick_macs;
    int nmacs = full ? 4 : 1;

    char tmp[] = "/tmp/ratq-test-hw-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    ratq_acc_dump dumps[64];
    int nd = synthetic ? synthetic_dump(&dumps[0]) : load_cmsis(dumps, 63);
    if (nd < 0) return 1;
    ratq_acc_dump back;
    check_dump_roundtrip(&dumps[0], tmp, &back);
    dumps[nd++] = back; // the largest path: the same accumulators again, read through the dump reader
    long real_total = 0;

    for (int bi = 0; bi < nbits; bi++) {
        int k = full ? bi + 1 : quick_bits[bi];
        uint64_t rng = 12345u + (uint64_t)k;
        ratq_hw_vecs vs = {0};
        ratq_hw_vecs_edge(&vs, k, &rng);
        ratq_hw_vecs_random(&vs, k, (size_t)nrandom, &rng);
        size_t before = vs.n;
        for (int i = 0; i < nd; i++) ratq_hw_vecs_from_dump(&vs, k, &dumps[i], 0);
        real_total += (long)(vs.n - before);
        CHECK(vs.n - before > 1000, "k=%d: only %zu real accumulators", k, vs.n - before);
        char wd[4200];
        snprintf(wd, sizeof wd, "%s/rescaler_k%d", tmp, k);
        long bad = ratq_hw_sim_rescaler(k, &vs, NULL, wd, 1);
        CHECK(bad == 0, "rescaler k=%d: %ld mismatches (or the simulation failed: -1)", k, bad);
        ratq_hw_vecs_free(&vs);
        for (int mi = 0; mi < nmacs; mi++) {
            ratq_hw_design d = {macs[mi], k};
            snprintf(wd, sizeof wd, "%s/dotp_n%d_k%d", tmp, macs[mi], k);
            long b2 = ratq_hw_sim_dotp(d, full ? 400 : 300, rng, NULL, wd, 1);
            CHECK(b2 == 0, "dot product N=%d k=%d: %ld mismatches (or the simulation failed: -1)", macs[mi], k, b2);
        }
    }
    for (int i = 0; i < nd; i++) ratq_acc_dump_free(&dumps[i]);
    printf("test_hw_verify%s: %d bit widths, %ld real accumulators: %s\n", full ? " --full" : "", nbits, real_total,
           ratq_test_failures ? "FAIL" : "bit-exact");
    if (!ratq_test_failures) { // keep the work folder only when something failed
        const char *rm[] = {"rm", "-rf", tmp, NULL};
        ratq_hw_run(rm, NULL, NULL);
    }
    return ratq_test_failures ? 1 : 0;
}
