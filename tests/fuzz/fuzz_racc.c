// fuzz_racc.c — the accumulator dump reader (hw/verify.c, format in hw/verify.h), then what `ratq hw verify`
// does before simulating: the real vectors at k = 4 and 32 (M cut to k bits, left shifts skipped) and the C
// reference result of each.
#include "fuzz_util.h"
#include "hw/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_write("in.racc", data, size);
    ratq_acc_dump d;
    if (!p || ratq_acc_dump_read(p, &d) != 0) return 0;
    const int bits[2] = {4, 32};
    for (int b = 0; b < 2; b++) {
        ratq_hw_vecs vs = {0};
        ratq_hw_vecs_from_dump(&vs, bits[b], &d, 4096);
        volatile int32_t s = 0;
        for (size_t i = 0; i < vs.n; i++) s += ratq_hw_vec_expected(&vs.v[i]);
        (void)s;
        ratq_hw_vecs_free(&vs);
    }
    ratq_acc_dump_free(&d);
    return 0;
}
