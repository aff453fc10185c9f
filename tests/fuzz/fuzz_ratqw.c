// fuzz_ratqw.c — the .ratqw weight reader (models/weights.c) and model load (models/efficientnet_lite.c), then what
// `ratq eval` does with it: one forward pass (BN folded) of a mid-gray image, and the fake-quant network built
// from it (BN folding into ratq_qnet, host/quant/qnet.c).
#include "fuzz_util.h"
#include "quant/qnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_write("in.ratqw", data, size);
    ratq_effnet m;
    if (!p || ratq_effnet_load(&m, p) != 0) return 0;
    const size_t px = (size_t)m.cfg.resolution * m.cfg.resolution * 3;
    float *x = calloc(px, sizeof(float));
    if (x && ratq_effnet_reserve(&m, 1) == 0) {
        const float *logits = ratq_effnet_forward(&m, x, 1, RATQ_EFFNET_INFER, 0);
        volatile float s = 0;
        for (int i = 0; logits && i < m.cfg.num_classes; i++) s += logits[i];
        (void)s;
    }
    free(x);
    ratq_qnet q;
    if (ratq_qnet_from_effnet(&q, &m) == 0) ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return 0;
}
