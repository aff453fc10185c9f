// test_model_tiny.c — the "tiny" EfficientNet-Lite configuration against PyTorch (tests/golden/model_tiny.ratqw,
// written by scripts/make_goldens.py with the efficientnet-lite-pytorch reference model):
//   eval-mode logits; train-mode logits, loss, the gradient of every parameter (step 0, with dropout and
//   drop-connect masks from ratq's counter-based RNG); then 3 SGD steps (lr 0.05, momentum 0.9, wd 1e-4):
//   the losses of steps 1, 2 and every tensor (parameters and BN running statistics) afterwards.
//
// Tolerances. PyTorch computes in float32 with its own summation orders; ratq's ops accumulate in double
// (reference) or use OpenBLAS float GEMMs (fast path), so results differ by rounding only, amplified by depth:
//   logits / loss:        |d| <= 1e-5 * max|ref| + 1e-4 * |ref|     (observed: ~1e-6 relative)
//   gradients:            |d| <= 1e-6 + 1e-4 * max|ref of that tensor| + 1e-3 * |ref|: train-mode BN backward
//                         subtracts nearly equal sums (R*dy - sum dy - xhat*sum dy*xhat), which loses relative
//                         precision in small gradient entries, so the bound scales with the tensor's largest;
//                         the 1e-6 floor covers gradients that are exactly 0 in exact arithmetic (the bias of a
//                         BN whose shift the next train-mode BN removes: both sides hold rounding noise ~1e-8),
//                         while real gradients here are 1e-3..1.
//                         (observed: max |d| <= ~5e-6 relative to the tensor's largest entry)
// Inputs are chosen by make_goldens.py so that no ReLU6 input is within 2e-5 of 0 or 6 (a kink decided
// differently by rounding would change gradients far beyond these bounds).
//   after 3 SGD steps:    |d| <= 1e-5 + 1e-4 * |ref| (updates are lr * O(grad), so gradient differences of the
//                         bound above move parameters by ~1e-6).
// A wrong formula (padding side, BN variance, drop-connect scale, skip connection...) gives errors of 1e-2..1.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/float_ops.h"
#include "cpu/test_model_common.h"
#include "models/efficientnet_lite.h"
#include "models/weights.h"

static const ratq_weights_tensor *need(const ratq_weights_file *g, const char *name) {
    const ratq_weights_tensor *t = ratq_weights_find(g, name);
    if (!t) {
        fprintf(stderr, "FAIL: golden %s has no tensor %s (regenerate with scripts/make_goldens.py)\n", g->path, name);
        exit(1);
    }
    return t;
}

int main(int argc, char **argv) {
    const int verbose = argc > 1 && !strcmp(argv[1], "-v"); // -v: print every comparison
    char path[4096];
    snprintf(path, sizeof path, "%s/golden/model_tiny.ratqw", tm_env("RATQ_TEST_DIR", "run through ctest"));
    ratq_weights_file g;
    if (ratq_weights_read(path, &g) != 0) return 1;

    ratq_effnet_config cfg;
    ratq_effnet m;
    if (ratq_effnet_config_from_name("tiny", 0, 0, &cfg) != 0 || ratq_effnet_build(&m, &cfg) != 0) return 1;
    for (int i = 0; i < m.n_tensors; i++) {
        const ratq_tensor_info *t = &m.tensors[i];
        const ratq_weights_tensor *w = need(&g, t->name);
        if (w->count != t->count || memcmp(w->shape, t->shape, sizeof t->shape) != 0) {
            fprintf(stderr, "FAIL: %s: golden shape differs from the tiny model's\n", t->name);
            return 1;
        }
        memcpy(m.params + t->offset, w->data, t->count * sizeof(float));
    }
    const ratq_weights_tensor *x = need(&g, "x"), *lab = need(&g, "labels");
    const int n = lab->shape[0], K = cfg.num_classes;
    if (x->count != (size_t)n * cfg.resolution * cfg.resolution * 3) {
        fprintf(stderr, "FAIL: golden x has %zu values\n", x->count);
        return 1;
    }
    int32_t labels[64];
    for (int i = 0; i < n; i++) labels[i] = (int32_t)lab->data[i];
    int ok = 1;

    // eval mode
    const float *logits = ratq_effnet_forward(&m, x->data, n, 0, 0);
    if (!logits) return 1;
    const ratq_weights_tensor *ref = need(&g, "eval_logits");
    ok &= tm_close("eval_logits", logits, ref->data, ref->count, 1e-5 * tm_max_abs(ref->data, ref->count), 1e-4, 1);

    // train mode, 3 SGD steps
    ratq_xent_params xp = {.n = n, .classes = K, .label_smoothing = 0.1f};
    float *dlogits = malloc((size_t)n * K * sizeof(float));
    float *mom = calloc(m.n_floats, sizeof(float));
    const ratq_weights_tensor *loss_ref = need(&g, "loss");
    for (int step = 0; step < 3; step++) {
        logits = ratq_effnet_forward(&m, x->data, n, 1, (uint64_t)step);
        if (!logits) return 1;
        float loss = (float)ratq_softmax_xent_cpu(&xp, logits, labels, dlogits);
        char what[64];
        snprintf(what, sizeof what, "loss[step %d]", step);
        ok &= tm_close(what, &loss, &loss_ref->data[step], 1, 1e-5, 1e-4, 1);
        if (step == 0) {
            ref = need(&g, "logits");
            ok &= tm_close("train logits", logits, ref->data, ref->count, 1e-5 * tm_max_abs(ref->data, ref->count),
                           1e-4, 1);
        }
        if (ratq_effnet_backward(&m, dlogits) != 0) return 1;
        for (int i = 0; i < m.n_tensors; i++) {
            const ratq_tensor_info *t = &m.tensors[i];
            if (!t->trainable) continue;
            if (step == 0) {
                char name[128];
                snprintf(name, sizeof name, "grad.%s", t->name);
                ref = need(&g, name);
                ok &= tm_close(name, m.grads + t->offset, ref->data, t->count,
                               1e-6 + 1e-4 * tm_max_abs(ref->data, ref->count), 1e-3, verbose);
            }
            ratq_sgd_params sp = {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-4f, .step = step};
            ratq_sgd_step_cpu(&sp, t->count, m.params + t->offset, m.grads + t->offset, mom + t->offset);
        }
    }
    int n_checked = 0;
    for (int i = 0; i < m.n_tensors; i++) {
        const ratq_tensor_info *t = &m.tensors[i];
        char name[128];
        snprintf(name, sizeof name, "after3.%s", t->name);
        ref = need(&g, name);
        ok &= tm_close(name, m.params + t->offset, ref->data, t->count, 1e-5, 1e-4, verbose);
        n_checked++;
    }
    printf("%s: %d layers, %d tensors (%zu floats); gradients and 3-step tensors compared: %d\n", ok ? "PASS" : "FAIL",
           m.n_layers, m.n_tensors, m.n_floats, n_checked);
    free(dlogits);
    free(mom);
    ratq_effnet_free(&m);
    ratq_weights_free(&g);
    return ok ? 0 : 1;
}
