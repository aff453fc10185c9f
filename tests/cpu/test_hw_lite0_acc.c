// test_hw_lite0_acc.c — real EfficientNet-Lite0 accumulators through the generated rescaler RTL.
// The pretrained network (RATQ_WEIGHTS) is BN-folded, calibrated on 8 imagenet_sample images and quantized
// (host/quant/qnet.h); for 2 further images the int32 accumulators of every CONV / DW / FC op are captured
// (ratq_qnet_op_acc, bit-identical to the engine's) together with each channel's real multiplier
// M = S_x S_w[c] / S_y, the zero point and the clamp. They go through an accumulator dump file (.racc) and
// then, for k = 2, 4 and 8 (M cut to k bits), through Icarus simulation of ratq_rescaler_k<k>, which must equal
// ratq_requantize(single) on every one (at most 4000 evenly strided accumulators per layer and k).
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "models/efficientnet_lite.h"
#include "hw/verify.h"
#include "quant/qnet.h"
#include "test_util.h"

int main(int argc, char **argv) {
    const char *weights = getenv("RATQ_WEIGHTS"), *shared = getenv("RATQ_SHARED_DATA");
    const char *work = argc > 1 ? argv[1] : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/imagenet_sample", shared ? shared : "../shared/data");
    ratq_effnet m;
    if (!weights || ratq_effnet_load(&m, weights)) {
        fprintf(stderr, "FAIL: RATQ_WEIGHTS (%s) must name the converted EfficientNet-Lite0 weights "
                        "(python3 scripts/get_weights.py --model efficientnet-lite0 -o FILE)\n", weights ? weights : "unset");
        return 1;
    }
    ratq_dataset *ds = ratq_data_open(path, NULL);
    if (!ds) return 1;
    enum { N_CAL = 8, N_RUN = 2, RES = 224 };
    uint8_t *img = malloc((size_t)(N_CAL + N_RUN) * RES * RES * 3);
    ratq_image im = {0};
    for (int i = 0; i < N_CAL + N_RUN; i++) {
        if (ratq_data_read(ds, i * 61, &im) || im.h != RES || im.w != RES || im.c != 3) {
            fprintf(stderr, "FAIL: %s: image %d is not 224x224x3\n", path, i * 61);
            return 1;
        }
        memcpy(img + (size_t)i * RES * RES * 3, im.data, (size_t)RES * RES * 3);
    }
    ratq_image_free(&im);
    ratq_data_close(ds);

    ratq_qnet q;
    CHECK_MSG(ratq_qnet_from_effnet(&q, &m) == 0, "fold");
    CHECK_MSG(ratq_qnet_reserve(&q, N_CAL) == 0, "reserve");
    ratq_qnet_observe_reset(&q);
    CHECK_MSG(ratq_qnet_float_forward(&q, img, N_CAL, 1) != NULL, "calibration forward");
    CHECK_MSG(ratq_qnet_observe_finish(&q) == 0, "calibration");
    ratq_quant_options opt = {.k = 31, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    CHECK_MSG(ratq_qnet_quantize(&q, &opt) == 0, "quantize");
    const uint8_t *run = img + (size_t)N_CAL * RES * RES * 3;
    CHECK_MSG(ratq_qnet_forward(&q, run, N_RUN) != NULL, "integer forward");
    if (ratq_test_failures) return ratq_test_finish("test_hw_lite0_acc");

    int layers = 0;
    int64_t total = 0;
    for (int i = 0; i < q.n_ops; i++) {
        const ratq_qnop *o = &q.ops[i];
        if (o->kind != RATQ_QN_CONV && o->kind != RATQ_QN_DWCONV && o->kind != RATQ_QN_FC) continue;
        const int8_t *x = o->src < 0 ? q.qin : q.q[o->src];
        const ratq_qact *in = o->src < 0 ? &q.in : &q.ops[o->src].out;
        const int64_t count = (int64_t)N_RUN * o->oh * o->ow * o->oc;
        ratq_acc_dump d = {o->oc, count, o->out.zp, o->out.lo, o->out.hi, malloc(sizeof(double) * o->oc),
                           malloc(sizeof(int32_t) * count)};
        ratq_qnet_op_acc(&q, o, x, in->zp, N_RUN, d.acc);
        for (int c = 0; c < o->oc; c++) d.mult[c] = ratq_conv_multiplier(in->scale, o->w_scale[c], o->out.scale);
        // Sanity: these accumulators requantized at k = 31 are the forward's int8 outputs.
        int64_t bad = 0;
        for (int64_t j = 0; j < count; j++)
            bad += ratq_requantize(d.acc[j], o->rs[j % o->oc], o->out.zp, o->out.lo, o->out.hi, RATQ_ROUND_SINGLE) !=
                   q.q[i][j];
        CHECK_MSG(bad == 0, "%s: %lld accumulators do not reproduce the forward's outputs", o->name, (long long)bad);
        snprintf(path, sizeof path, "%s/lite0_op%03d.racc", work, i);
        CHECK_MSG(ratq_acc_dump_write(path, &d) == 0, "write %s", path);
        ratq_acc_dump back;
        CHECK_MSG(ratq_acc_dump_read(path, &back) == 0, "read %s", path);
        for (int k = 2; k <= 8; k *= 2) {
            ratq_hw_vecs vs = {0};
            ratq_hw_vecs_from_dump(&vs, k, &back, 4000);
            char wd[4200];
            snprintf(wd, sizeof wd, "%s/sim_op%03d_k%d", work, i, k);
            long mism = ratq_hw_sim_rescaler(k, &vs, NULL, wd, 0);
            CHECK_MSG(mism == 0, "%s k=%d: %ld mismatches of %zu (skipped %zu)", o->name, k, mism, vs.n, vs.skipped);
            total += (int64_t)vs.n;
            ratq_hw_vecs_free(&vs);
        }
        ratq_acc_dump_free(&back);
        free(d.mult), free(d.acc);
        layers++;
    }
    printf("test_hw_lite0_acc: %d layers, %lld real accumulators simulated over k = 2, 4, 8\n", layers, (long long)total);
    CHECK_MSG(layers >= 50, "only %d CONV/DW/FC layers", layers);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    free(img);
    return ratq_test_finish("test_hw_lite0_acc");
}
