// fuzz_ratqm.c — the .ratqm integer model reader (host/qmodel/file.c, checks in host/qmodel/qmodel.c), then one
// image through the CPU integer engine (ratq_qmodel_run) and the k = 4 re-derivation of every rescaler.
#include "fuzz_util.h"
#include "qmodel/qmodel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_write("in.ratqm", data, size);
    ratq_qmodel m;
    if (!p || ratq_qmodel_load(&m, p) != 0) return 0;
    const size_t px = (size_t)m.in_h * m.in_w * m.in_c;
    uint8_t *img = malloc(px);
    int8_t *in = malloc(px), *logits = malloc((size_t)m.num_classes);
    if (img && in && logits) {
        for (size_t i = 0; i < px; i++) img[i] = (uint8_t)(i * 37);
        ratq_qmodel_input_from_u8(&m, img, (int64_t)px, in);
        if (ratq_qmodel_run(&m, in, 1, NULL, logits, NULL) == 0) (void)ratq_qmodel_argmax(logits, m.num_classes);
    }
    free(img);
    free(in);
    free(logits);
    ratq_qmodel copy;
    if (ratq_qmodel_copy(&copy, &m) == 0) {
        ratq_qmodel_with_bits(&copy, 4, RATQ_ROUND_SINGLE);
        ratq_qmodel_free(&copy);
    }
    ratq_qmodel_free(&m);
    return 0;
}
