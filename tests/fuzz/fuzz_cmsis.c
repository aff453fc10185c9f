// fuzz_cmsis.c — the cmsis_nn_vector/v1 JSON reader (host/qmodel/cmsis_vector.c), then what `ratq check-vector`
// does with a case: TFLite (multiplier, shift) -> (m, s), the case through the CPU integer engine, and the 4-bit
// cut of every multiplier.
#include "fuzz_util.h"
#include "qmodel/cmsis_vector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_write("in.json", data, size);
    ratq_vector v;
    if (!p || ratq_vector_load(p, &v) != 0) return 0;
    ratq_rescale *rs = malloc(sizeof(ratq_rescale) * (size_t)v.n_multipliers);
    int8_t *out = malloc((size_t)v.n_output + 1);
    if (rs && out) {
        for (int c = 0; c < v.n_multipliers; c++) rs[c] = ratq_rescale_from_tflite(v.multiplier[c], v.shift[c]);
        ratq_vector_run(&v, rs, RATQ_ROUND_TFLITE, out);
        for (int c = 0; c < v.n_multipliers; c++) ratq_rescale_from_real(ratq_rescale_to_real(rs[c]), 4, &rs[c]);
        ratq_vector_run(&v, rs, RATQ_ROUND_SINGLE, out);
    }
    free(rs);
    free(out);
    ratq_vector_free(&v);
    return 0;
}
