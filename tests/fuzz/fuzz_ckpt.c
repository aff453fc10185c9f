// fuzz_ckpt.c — the RAT checkpoint reader (host/train/checkpoint.c) into the smallest network
// (fuzz_mini_effnet, k = 4, single rounding, SGD), then what a resumed run does first: quantize (int8 weights,
// k-bit rescalers from the loaded parameters and activation ranges) and one fake-quant forward pass.
#include "fuzz_util.h"
#include "quant/qnet.h"
#include "train/rat_train.h"

static ratq_qnet g_q;
static float *g_s1, *g_s2;
static int g_ready = -1;

static int setup(void) {
    ratq_effnet m;
    if (fuzz_mini_effnet(&m) != 0 || ratq_qnet_from_effnet(&g_q, &m) != 0) return -1;
    ratq_effnet_free(&m);
    g_s1 = calloc(g_q.n_params, sizeof(float));
    g_s2 = calloc(g_q.n_params, sizeof(float));
    g_q.opt = (ratq_quant_options){.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    return g_s1 && g_s2 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_ready < 0) g_ready = setup();
    if (g_ready != 0) abort();
    const char *p = fuzz_write("in.ckpt", data, size);
    ratq_ckpt_info info;
    if (!p || ratq_ckpt_load(p, &g_q, RATQ_OPT_SGD, g_s1, g_s2, &info) != 0) return 0;
    const ratq_quant_options o = g_q.opt;
    uint8_t img[8 * 8 * 3];
    for (int i = 0; i < 8 * 8 * 3; i++) img[i] = (uint8_t)(i * 11);
    if (ratq_qnet_quantize(&g_q, &o) == 0) (void)ratq_qnet_forward(&g_q, img, 1);
    return 0;
}
