// test_int_fast_lite0.c — the whole integer EfficientNet-Lite0 on real images (../shared/data/imagenet_sample):
// ratq_qmodel_run_engine with the fast engine (portable C, AVX2 and AVX512-VNNI kernels, each where the CPU has it)
// equals the reference engine in every int8 activation of every op, for k = 8 single, k = 31 tflite and k = 4
// half_even rescalers.
// Needs RATQ_WEIGHTS (the converted Lite0 weights; missing = FAIL, as the other lite0 tests); without the shared
// folder: exit 77 (skipped), unless RATQ_REQUIRE_SHARED=1.

#include "cpu/int_fast.h"
#include "test_quant_common.h"

static const char *const RATQ_TEST_ISAS[3] = {"c", "avx2", "avx512vnni"}; // each one this CPU has

static void compare_engines(const ratq_qmodel *im, const int8_t *in, int n, const char *what) {
    int8_t **ref = calloc((size_t)im->n_ops, sizeof *ref), **fast = calloc((size_t)im->n_ops, sizeof *fast);
    for (int i = 0; i < im->n_ops; i++) {
        ref[i] = malloc((size_t)ratq_qop_out_count(&im->ops[i]) * n);
        fast[i] = malloc((size_t)ratq_qop_out_count(&im->ops[i]) * n);
    }
    CHECK_MSG(ratq_qmodel_run_engine(im, RATQ_ENGINE_REF, in, n, ref, NULL, NULL) == 0, "%s: ref run", what);
    for (int pass = 0; pass < 3; pass++) {
        if (ratq_fast_set_isa(RATQ_TEST_ISAS[pass])) continue; // not on this CPU
        CHECK_MSG(ratq_qmodel_run_engine(im, RATQ_ENGINE_FAST, in, n, fast, NULL, NULL) == 0, "%s: fast run", what);
        long bad_total = 0, total = 0;
        for (int i = 0; i < im->n_ops; i++) {
            const size_t cnt = (size_t)ratq_qop_out_count(&im->ops[i]) * n;
            long bad = 0;
            size_t first = 0;
            for (size_t j = 0; j < cnt; j++)
                if (ref[i][j] != fast[i][j] && bad++ == 0) first = j;
            CHECK_MSG(bad == 0, "%s (%s kernels): op %d (%s %s): %ld of %zu int8 outputs differ; first at %zu: ref %d fast %d",
                      what, ratq_fast_isa(), i, ratq_qop_kind_name(im->ops[i].kind), im->ops[i].name, bad, cnt, first,
                      ref[i][first], fast[i][first]);
            bad_total += bad;
            total += (long)cnt;
        }
        printf("%-14s %-4s kernels: %ld of %ld int8 activations differ over %d ops\n", what, ratq_fast_isa(), bad_total,
               total, im->n_ops);
    }
    ratq_fast_set_isa(NULL);
    // not vacuous: the images' logits differ
    const int nc = im->num_classes;
    int differ = 0;
    for (int i = 1; i < n && !differ; i++) differ = memcmp(ref[im->n_ops - 1], ref[im->n_ops - 1] + (size_t)i * nc, (size_t)nc) != 0;
    CHECK_MSG(differ, "%s: all images give the same logits (vacuous comparison)", what);
    for (int i = 0; i < im->n_ops; i++) free(ref[i]), free(fast[i]);
    free(ref), free(fast);
}

int main(void) {
    const char *shared = getenv("RATQ_SHARED_DATA");
    char dpath[4096];
    snprintf(dpath, sizeof dpath, "%s/imagenet_sample", shared ? shared : "../shared/data");
    ratq_test_need(dpath); // skipped (77) without ../shared, a failure under RATQ_REQUIRE_SHARED=1
    ratq_effnet m = {0};
    ratq_qnet q = {0};
    uint8_t *img = NULL;
    const int n = 4; // the first 4 real images of imagenet_sample at 224 x 224
    if (tq_lite0_calibrated(&m, &q, n, &img, dpath) == 0) {
        const ratq_quant_options opts[3] = {{8, RATQ_ROUND_SINGLE, 0}, {31, RATQ_ROUND_TFLITE, 0}, {4, RATQ_ROUND_HALF_EVEN, 0}};
        for (int c = 0; c < 3; c++) {
            char what[64];
            snprintf(what, sizeof what, "k=%d %s", opts[c].k, ratq_qmodel_rounding_name(opts[c].rounding));
            ratq_qmodel im;
            CHECK_MSG(ratq_qnet_quantize(&q, &opts[c]) == 0 && ratq_qnet_to_qmodel(&q, &im) == 0, "%s: quantize", what);
            if (ratq_test_failures) break;
            const size_t per = (size_t)im.in_h * im.in_w * im.in_c;
            int8_t *in = malloc(per * n);
            ratq_qmodel_input_from_u8(&im, img, (int64_t)per * n, in);
            compare_engines(&im, in, n, what);
            free(in);
            ratq_qmodel_free(&im);
        }
    }
    free(img);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_int_fast_lite0");
}
