// test_int_fast_vectors.c — every CMSIS-NN vector in ../shared/data/cmsis_nn_vectors through the fast integer
// engine (kernels/cpu/int_fast.h), portable C, AVX2 and AVX512-VNNI kernels (where the CPU has them): with TFLite
// rounding the output equals the vector's expected output, and for every rounding mode and k in {31, 8, 4} it equals
// the reference engine.
// Without the shared folder: exit 77 (skipped) with one line, unless RATQ_REQUIRE_SHARED=1 (then it fails).
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <string.h>

#include "cpu/int_fast.h"
#include "qmodel/cmsis_vector.h"
#include "test_util.h"

static const char *const RATQ_TEST_ISAS[3] = {"c", "avx2", "avx512vnni"}; // each one this CPU has

static void run_fast(const ratq_vector *v, const ratq_rescale *rs, ratq_rounding rounding, int8_t *out) {
    ratq_requant_s8 rq = {rs, v->per_channel, v->output_offset, v->act_min, v->act_max, rounding};
    switch (v->kernel) {
    case RATQ_VEC_CONV:
        ratq_conv_s8_fast(&v->shape, v->input, v->input_offset, v->weights, v->filter_offset, v->bias, &rq, out);
        break;
    case RATQ_VEC_DEPTHWISE: ratq_depthwise_s8_fast(&v->shape, v->input, v->input_offset, v->weights, v->bias, &rq, out); break;
    case RATQ_VEC_FC:
        ratq_fc_s8_fast(v->shape.batch, v->fc_depth, v->shape.out_c, v->input, v->input_offset, v->weights,
                        v->filter_offset, v->bias, &rq, out);
        break;
    }
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int main(void) {
    const char *shared = getenv("RATQ_SHARED_DATA");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cmsis_nn_vectors", shared ? shared : "../shared/data");
    ratq_test_need(dir); // skipped (77) without ../shared, a failure under RATQ_REQUIRE_SHARED=1
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "%s: cannot open", dir);
    if (!d) return ratq_test_finish("test_int_fast_vectors");
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 256;) {
        const size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".json")) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_name);
    CHECK_MSG(n >= 16, "%s: %d vectors, expected at least 16", dir, n);
    for (int pass = 0; pass < 3; pass++) {
        if (ratq_fast_set_isa(RATQ_TEST_ISAS[pass])) continue; // not on this CPU
        for (int i = 0; i < n; i++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            ratq_vector v;
            CHECK_MSG(ratq_vector_load(path, &v) == 0, "%s: load", path);
            if (ratq_test_failures) continue;
            ratq_rescale *rs = malloc(sizeof(ratq_rescale) * (size_t)v.n_multipliers);
            int8_t *ref = malloc((size_t)v.n_output), *fast = malloc((size_t)v.n_output);
            for (int c = 0; c < v.n_multipliers; c++) rs[c] = ratq_rescale_from_tflite(v.multiplier[c], v.shift[c]);
            run_fast(&v, rs, RATQ_ROUND_TFLITE, fast);
            CHECK_MSG(memcmp(fast, v.expected, (size_t)v.n_output) == 0, "%s (%s kernels): differs from the expected output",
                      names[i], ratq_fast_isa());
            static const int ks[] = {31, 8, 4};
            for (int r = 0; r < 3; r++)
                for (int ki = 0; ki < 3; ki++) {
                    for (int c = 0; c < v.n_multipliers; c++) { // the vector's real multiplier, cut to k bits
                        const ratq_rescale t = ratq_rescale_from_tflite(v.multiplier[c], v.shift[c]);
                        if (ratq_rescale_from_real(ratq_rescale_to_real(t), ks[ki], &rs[c])) rs[c] = t;
                    }
                    ratq_vector_run(&v, rs, (ratq_rounding)r, ref);
                    run_fast(&v, rs, (ratq_rounding)r, fast);
                    CHECK_MSG(memcmp(fast, ref, (size_t)v.n_output) == 0, "%s (%s kernels, rounding %d, k %d): fast != ref",
                              names[i], ratq_fast_isa(), r, ks[ki]);
                }
            free(rs), free(ref), free(fast);
            ratq_vector_free(&v);
        }
    }
    ratq_fast_set_isa(NULL);
    for (int i = 0; i < n; i++) free(names[i]);
    printf("test_int_fast_vectors: %d vectors\n", n);
    return ratq_test_finish("test_int_fast_vectors");
}
