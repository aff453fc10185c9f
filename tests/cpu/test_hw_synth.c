// test_hw_synth.c — the synthesis flow on one small configuration: the N = 4 dot-product unit with a 4-bit and
// the conventional 32-bit rescaler, NanGate 15 nm (yosys + ABC + OpenSTA must be installed).
// Checks: the flow runs and keeps every register (flip-flop count = the design's registers, so m, s, zp were not
// folded into constants); area and delay are positive and the delay is the larger of the rescaler and MAC paths;
// the 4-bit rescaler makes the unit smaller than the 32-bit one (the property the cost model exists to measure);
// a rerun is served from the cache with identical numbers; and the mapped gate-level netlist of the 4-bit unit,
// simulated with the library's cell functions, computes exactly ratq_requantize (random dot products).
// The area/delay numbers themselves are printed, not compared with constants (they depend on tool versions).
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/synth.h"
#include "hw/verify.h"

#include "test_util.h"
// One harness for all tests (tests/test_util.h): a failed CHECK prints file:line and counts.
#define CHECK(cond, ...) CHECK_MSG(cond, __VA_ARGS__)

int main(void) {
    char lib[4096];
    const char *pdk = getenv("RATQ_PDK");
    snprintf(lib, sizeof lib, "%s/nangate15/NanGate_15nm_OCL_typical_conditional_nldm.lib", pdk ? pdk : "../shared/pdk");
    char tmp[] = "/tmp/ratq-test-hw-synth-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    ratq_hw_flow fl;
    if (ratq_hw_flow_init(&fl, lib, tmp)) {
        fprintf(stderr, "FAIL: flow init (liberty %s; set RATQ_PDK to the shared pdk folder)\n", lib);
        return 1;
    }
    ratq_hw_result r[2];
    const int bits[2] = {4, 32};
    for (int i = 0; i < 2; i++) {
        ratq_hw_design d = {4, bits[i]};
        if (ratq_hw_synthesize(&fl, d, &r[i], 1)) {
            fprintf(stderr, "FAIL: synthesis of N=4 k=%d\n", bits[i]);
            return 1;
        }
        printf("N=4 k=%2d: area %.1f um^2, delay %.1f ps (rescaler %.1f, MAC %.1f, ABC %.1f), %d cells, %d flops\n",
               bits[i], r[i].area_um2, r[i].delay_ps, r[i].resc_delay_ps, r[i].mac_delay_ps, r[i].abc_delay_ps,
               r[i].cells, r[i].flops);
        CHECK(r[i].flops == ratq_hw_expected_flops(d), "k=%d: %d flops, expected %d", bits[i], r[i].flops,
              ratq_hw_expected_flops(d));
        CHECK(r[i].area_um2 > 0 && r[i].delay_ps > 0 && r[i].resc_delay_ps > 0 && r[i].mac_delay_ps > 0,
              "k=%d: non-positive area or delay", bits[i]);
        // delay = worst path overall >= each group; equal to the larger one up to the 0.01 ps print precision
        double worst = fmax(r[i].resc_delay_ps, r[i].mac_delay_ps);
        CHECK(r[i].delay_ps >= worst - 0.01 && r[i].delay_ps <= worst + 0.01 + 50.0,
              "k=%d: delay %.2f vs rescaler/MAC %.2f", bits[i], r[i].delay_ps, worst);
        CHECK(!r[i].cached, "k=%d: fresh cache folder returned a cached result", bits[i]);
    }
    CHECK(r[0].area_um2 < r[1].area_um2, "4-bit unit (%.1f um^2) not smaller than 32-bit (%.1f um^2)", r[0].area_um2,
          r[1].area_um2);
    CHECK(r[0].resc_delay_ps < r[1].resc_delay_ps, "4-bit rescaler path (%.1f ps) not faster than 32-bit (%.1f ps)",
          r[0].resc_delay_ps, r[1].resc_delay_ps);

    ratq_hw_result again;
    ratq_hw_design d4 = {4, 4};
    CHECK(ratq_hw_synthesize(&fl, d4, &again, 1) == 0 && again.cached, "rerun not served from the cache");
    CHECK(again.area_um2 == r[0].area_um2 && again.delay_ps == r[0].delay_ps, "cached result differs");

    char gates[4200];
    if (ratq_hw_write_gate_model(&fl, &r[0], gates, sizeof gates) == 0) {
        char wd[4200];
        snprintf(wd, sizeof wd, "%s/gates_sim", tmp);
        long bad = ratq_hw_sim_dotp(d4, 150, 777, gates, wd, 1);
        CHECK(bad == 0, "gate-level netlist N=4 k=4: %ld mismatches (or the simulation failed: -1)", bad);
    } else CHECK(0, "gate-level model not written");
    printf("test_hw_synth: %s (results in %s)\n", ratq_test_failures ? "FAIL" : "ok", tmp);
    if (!ratq_test_failures) { // keep the work folder only when something failed
        const char *rm[] = {"rm", "-rf", tmp, NULL};
        ratq_hw_run(rm, NULL, NULL);
    }
    return ratq_test_failures ? 1 : 0;
}
