// bench_rat_step_cuda.c — images/s of the GPU-resident RAT step (host/train/rat_step_cuda.h) on EfficientNet-Lite0,
// batch 128 at 224x224 (k = 4, SGD momentum, label smoothing 0.1, no teacher: the same work as a PyTorch training
// step of scripts/bench_pytorch.py), next to the host-driven path it replaces (CPU quantization + the host API of
// host/quant/qnet_cuda.h: `--device cuda-host`, which was `--device cuda` before issue 15).
//
// Validates before timing (exit 1 on a mismatch, nothing timed):
//   device quantization == ratq_qnet_quantize bit for bit (every int8 weight, bias, (m, s), ratio, dequantized weight),
//   and the integer forward of 2 images on the GPU == ratq_qnet_forward on the CPU, byte for byte (logits).
// Timed in the RAT loop's order (host/train/rat_train.h "GPU-resident loop": submit step t, collect step t - 1, stage
// batch t + 1 from pinned memory on the copy stream while step t runs): warm-up steps (each slot eager once, then
// captured), then STEPS timed steps, wall clock from the collection of the last warm-up step to that of the last
// timed one (the device runs the timed steps back to back in between), for
//   tf32 graph   the default: TF32 tensor-core GEMMs, the step body replayed as a CUDA Graph
//   tf32 eager   the same launched kernel by kernel (the graph's gain)
//   fp32 graph   FP32 SIMT GEMMs (the reference arithmetic)
//   bf16 graph   bf16 tensor-core GEMMs
//   host path    ratq_qnet_quantize on the CPU + upload + forward / loss on the host / backward + gradient download +
//                SGD on the CPU (what the GPU-resident step removes), 3 steps
// and the forward alone (128 images, for the backward fraction of the scaling model, bench_dist_scaling --bwd-frac).
// Output: a Markdown table, `RESULT name=value` lines, and one "json: {...}" line with every figure (the format
// scripts/gpu_check.sh collects from the CUDA benchmarks).
// Weights: $RATQ_WEIGHTS (EfficientNet-Lite0 .ratqw; default: the build's RATQ_LITE0_WEIGHTS), else random weights of the same architecture (speed does not
// depend on the values). Without a GPU: "no GPU: not run", exit 0. Options: --batch N --steps N.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "cpu/float_loss.h"
#include "models/efficientnet_lite.h"
#include "qmodel/qmodel.h"
#include "quant/qnet_cuda.h"
#include "train/rat_step_cuda.h"

#ifdef RATQ_HAVE_CUDA
#include "cuda/cuda_check.h"
#endif

static uint64_t g_st = 0xBE7C4ull;
static uint64_t rnd(void) {
    uint64_t z = (g_st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double unit(void) { return (double)(rnd() >> 11) * 0x1.0p-53; }

// Random Lite0-like parameters (conv / fc U(+-1.5 sqrt(3 / fan_in)), BN near identity) when no weights are given.
static void random_model(ratq_effnet *m) {
    for (int l = 0; l < m->n_layers; l++) {
        const ratq_layer *L = &m->layers[l];
        if (L->kind == RATQ_LAYER_CONV || L->kind == RATQ_LAYER_DWCONV || L->kind == RATQ_LAYER_FC) {
            const ratq_tensor_info *t = &m->tensors[L->w_t];
            const int fan = L->kind == RATQ_LAYER_DWCONV ? L->conv.kh * L->conv.kw
                            : L->kind == RATQ_LAYER_FC   ? L->c
                                                         : L->conv.kh * L->conv.kw * L->conv.ic;
            const double a = sqrt(3.0 / fan) * 1.5;
            for (size_t j = 0; j < t->count; j++) m->params[t->offset + j] = (float)((2 * unit() - 1) * a);
            if (L->b_t >= 0)
                for (size_t j = 0; j < m->tensors[L->b_t].count; j++) m->params[m->tensors[L->b_t].offset + j] = 0.01f;
        } else if (L->kind == RATQ_LAYER_BN) {
            const int ts[4] = {L->w_t, L->b_t, L->mean_t, L->var_t};
            const float v[4] = {1.0f, 0.0f, 0.0f, 1.0f};
            for (int k = 0; k < 4; k++)
                for (size_t j = 0; j < m->tensors[ts[k]].count; j++)
                    m->params[m->tensors[ts[k]].offset + j] = v[k] * (float)(0.8 + 0.4 * unit()) * (k == 1 || k == 2 ? 0 : 1);
        }
    }
}

// n smooth random images (random color per 8x8 tile plus noise).
static uint8_t *images(int n, int res) {
    uint8_t *img = malloc((size_t)n * res * res * 3);
    for (int i = 0; i < n; i++)
        for (int y = 0; y < res; y++)
            for (int x = 0; x < res; x++)
                for (int c = 0; c < 3; c++) {
                    uint64_t s = g_st;
                    g_st = (uint64_t)(i * 7919 + (y / 8) * 131 + (x / 8)) * 3 + c;
                    const int v = (int)(rnd() % 256) + (int)(rnd() % 41) - 20;
                    g_st = s;
                    img[(((size_t)i * res + y) * res + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
    return img;
}

#ifndef RATQ_HAVE_CUDA
int main(void) {
    printf("bench_rat_step_cuda: built without CUDA: not run\n");
    return 0;
}
#else

typedef struct {
    const char *name;
    int gemm, graphs;
} mode;

int main(int argc, char **argv) {
    int B = 128, steps = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_rat_step_cuda [--batch N] [--steps N]\n");
            return 2;
        }
    }
    if (ratq_cuda_device_count() <= 0) {
        printf("bench_rat_step_cuda: no GPU: not run\n");
        return 0;
    }
    const int dev = ratq_qnet_cuda_select(0);
    struct cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    // ---- the network ----
    ratq_effnet m;
    const char *w = getenv("RATQ_WEIGHTS");
#ifdef RATQ_BENCH_WEIGHTS
    if (!w || !*w) w = RATQ_BENCH_WEIGHTS; // the build's Lite0 weights (tests/CMakeLists.txt RATQ_LITE0_WEIGHTS)
#endif
    int random = 1;
    if (w && access(w, R_OK) == 0 && ratq_effnet_load(&m, w) == 0) random = 0;
    else {
        ratq_effnet_config cfg;
        if (ratq_effnet_config_from_name("efficientnet-lite0", 1000, 224, &cfg) != 0 || ratq_effnet_build(&m, &cfg) != 0)
            return 2;
        random_model(&m);
    }
    ratq_qnet ref;
    if (ratq_qnet_from_effnet(&ref, &m) != 0) return 2;
    const int res = ref.resolution, K = ref.num_classes;
    const size_t per = (size_t)res * res * 3;
    uint8_t *cal = images(8, res);
    ratq_qnet_observe_reset(&ref);
    if (!ratq_qnet_float_forward(&ref, cal, 8, 1) || ratq_qnet_observe_finish(&ref) != 0) return 2;
    const ratq_quant_options qo = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    printf("# GPU-resident RAT step, EfficientNet-Lite0 %dx%d, batch %d, k = 4, %s weights, %s\n\n", res, res, B,
           random ? "random" : "pretrained", prop.name);
    // ---- validation ----
    if (ratq_qnet_quantize(&ref, &qo) != 0) return 2;
    ratq_qnet chk;
    if (ratq_qnet_from_effnet(&chk, &m) != 0 || ratq_qnet_copy_calibration(&chk, &ref) != 0) return 2;
    ratq_qnet_cuda *g = ratq_qnet_cuda_create(&ref, 2, dev, 1);
    if (!g || ratq_qnet_cuda_quantize_setup(g, &ref) != 0) return 1;
    float *dp;
    unsigned long long *dst, hst = 0;
    uint8_t *dimg;
    CUDA_CHECK(cudaMalloc((void **)&dp, ref.n_params * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&dst, sizeof *dst));
    CUDA_CHECK(cudaMalloc((void **)&dimg, per * 2));
    CUDA_CHECK(cudaMemcpy(dp, ref.params, ref.n_params * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(dst, 0xff, sizeof *dst));
    CUDA_CHECK(cudaMemcpy(dimg, cal, per * 2, cudaMemcpyHostToDevice));
    ratq_qnet_cuda_quantize_device(g, &ref, dp, dst);
    if (ratq_qnet_cuda_download_quantized(g, &chk) != 0) return 1;
    CUDA_CHECK(cudaMemcpy(&hst, dst, sizeof hst, cudaMemcpyDeviceToHost));
    long bad = hst != ~0ull;
    for (int i = 0; i < ref.n_ops; i++) {
        const ratq_qnop *a = &ref.ops[i], *b = &chk.ops[i];
        if (!a->wq) continue;
        const size_t nw = (size_t)a->oc * a->per_oc;
        bad += memcmp(a->wq, b->wq, nw) || memcmp(a->wr, b->wr, nw * 4) || memcmp(a->bq, b->bq, (size_t)a->oc * 4) ||
               memcmp(a->rs, b->rs, (size_t)a->oc * sizeof *a->rs) || memcmp(a->ratio, b->ratio, (size_t)a->oc * 4);
    }
    const int8_t *lc = ratq_qnet_forward(&ref, cal, 2);
    int8_t *lg = malloc((size_t)2 * K);
    const int8_t *dl = ratq_qnet_cuda_forward_device(g, &ref, dimg, 2);
    if (!lc || !dl) return 1;
    CUDA_CHECK(cudaMemcpyAsync(lg, dl, (size_t)2 * K, cudaMemcpyDeviceToHost, (cudaStream_t)ratq_qnet_cuda_get_stream(g)));
    CUDA_CHECK(cudaStreamSynchronize((cudaStream_t)ratq_qnet_cuda_get_stream(g)));
    bad += memcmp(lc, lg, (size_t)2 * K) != 0;
    if (bad) {
        fprintf(stderr, "bench_rat_step_cuda: validation failed (%ld mismatches: device quantization or forward)\n", bad);
        return 1;
    }
    printf("validated: device quantization == CPU (bit for bit), GPU forward logits == CPU (2 images)\n\n");
    CUDA_CHECK(cudaFree(dp));
    CUDA_CHECK(cudaFree(dst));
    ratq_qnet_cuda_destroy(g);
    // forward alone, B images (backward fraction)
    uint8_t *batch = images(B, res);
    int32_t *lab = ratq_rat_cuda_host_alloc(sizeof(int32_t) * (size_t)B * 2);
    uint8_t *pin = ratq_rat_cuda_host_alloc(per * (size_t)B * 2);
    memcpy(pin, batch, per * (size_t)B);
    memcpy(pin + per * (size_t)B, batch, per * (size_t)B);
    for (int i = 0; i < 2 * B; i++) lab[i] = (int32_t)(rnd() % (uint64_t)K);
    double fwd_ms = 0;
    {
        ratq_qnet_cuda *gf = ratq_qnet_cuda_create(&ref, B, dev, 0);
        uint8_t *di;
        CUDA_CHECK(cudaMalloc((void **)&di, per * (size_t)B));
        CUDA_CHECK(cudaMemcpy(di, batch, per * (size_t)B, cudaMemcpyHostToDevice));
        if (!gf || ratq_qnet_cuda_upload_quantized(gf, &ref) != 0) return 1;
        cudaStream_t s = (cudaStream_t)ratq_qnet_cuda_get_stream(gf);
        cudaEvent_t a, b;
        CUDA_CHECK(cudaEventCreate(&a));
        CUDA_CHECK(cudaEventCreate(&b));
        ratq_qnet_cuda_forward_device(gf, &ref, di, B);
        CUDA_CHECK(cudaEventRecord(a, s));
        for (int r = 0; r < steps; r++) ratq_qnet_cuda_forward_device(gf, &ref, di, B);
        CUDA_CHECK(cudaEventRecord(b, s));
        CUDA_CHECK(cudaEventSynchronize(b));
        float ms;
        CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
        fwd_ms = ms / steps;
        CUDA_CHECK(cudaFree(di));
        ratq_qnet_cuda_destroy(gf);
    }
    // ---- the GPU-resident step, per mode ----
    const mode modes[] = {{"tf32_graph", RATQ_QNET_GEMM_TF32, 1},
                          {"tf32_eager", RATQ_QNET_GEMM_TF32, 0},
                          {"fp32_graph", RATQ_QNET_GEMM_FP32, 1},
                          {"bf16_graph", RATQ_QNET_GEMM_BF16, 1}};
    printf("| path | images/s | step ms (wall) | step ms (device) |\n|---|---|---|---|\n");
    double best_ips = 0, ips_mode[4] = {0, 0, 0, 0}, host_ips = 0;
    for (int mi = 0; mi < 4; mi++) {
        ratq_qnet q;
        if (ratq_qnet_from_effnet(&q, &m) != 0 || ratq_qnet_copy_calibration(&q, &ref) != 0) return 2;
        ratq_rat_cuda_config c = ratq_rat_cuda_config_default();
        c.batch = B;
        c.label_smoothing = 0.1f;
        c.weight_decay = 4e-5f;
        c.gpu = dev;
        c.gemm = modes[mi].gemm;
        c.graphs = modes[mi].graphs;
        ratq_rat_cuda *tr = ratq_rat_cuda_create(&q, &qo, NULL, &c);
        if (!tr) return 1;
        const int warm = 4; // slot 0 / 1 eager, then captured
        double t0 = 0, dev_ms = 0;
        if (ratq_rat_cuda_stage(tr, 0, pin, lab) != 0) return 1;
        for (int t = 0; t <= warm + steps; t++) {
            if (t < warm + steps && ratq_rat_cuda_submit(tr, t & 1, t, 1e-3) != 0) return 1;
            if (t > 0) { // collect step t - 1 while step t runs
                ratq_rat_cuda_result r;
                if (ratq_rat_cuda_collect(tr, (t - 1) & 1, &r) != 0) return 1;
                if (t - 1 >= warm) dev_ms += ratq_rat_cuda_last_step_ms(tr);
                if (t - 1 == warm - 1) t0 = ratq_now();
            }
            const int nx = (t + 1) & 1;
            if (t + 1 < warm + steps && ratq_rat_cuda_stage(tr, nx, pin + per * (size_t)B * nx, lab + (size_t)B * nx) != 0)
                return 1;
        }
        const double wall = (ratq_now() - t0) / steps, ips = B / wall;
        if (ips > best_ips && modes[mi].gemm != RATQ_QNET_GEMM_BF16) best_ips = ips;
        ips_mode[mi] = ips;
        printf("| %s | %.1f | %.2f | %.2f |\n", modes[mi].name, ips, wall * 1e3, dev_ms / steps);
        printf("RESULT rat_step_%s_ips=%.1f\nRESULT rat_step_%s_ms=%.3f\n", modes[mi].name, ips, modes[mi].name,
               wall * 1e3);
        ratq_rat_cuda_destroy(tr);
        ratq_qnet_free(&q);
    }
    // ---- the host-driven path ----
    {
        ratq_qnet q;
        if (ratq_qnet_from_effnet(&q, &m) != 0 || ratq_qnet_copy_calibration(&q, &ref) != 0) return 2;
        ratq_qnet_cuda *gh = ratq_qnet_cuda_create(&q, B, dev, 1);
        if (!gh) return 1;
        float *z = malloc(sizeof(float) * B * K), *dz = malloc(sizeof(float) * B * K), *mom = calloc(q.n_params, 4);
        double *ws = malloc(sizeof(double) * 2 * K);
        const int hs = 3;
        double t0 = ratq_now();
        for (int t = 0; t < hs; t++) {
            if (ratq_qnet_quantize(&q, &qo) != 0 || ratq_qnet_cuda_upload_quantized(gh, &q) != 0 ||
                !ratq_qnet_cuda_forward(gh, &q, batch, B))
                return 1;
            ratq_qnet_cuda_logits(gh, &q, z);
            ratq_xent_params xp = {.n = B, .classes = K, .label_smoothing = 0.1f};
            ratq_rat_loss_cpu(&xp, z, NULL, lab, 0.0f, 1.0f, dz, ws);
            if (ratq_qnet_cuda_backward(gh, &q, dz) != 0) return 1;
            ratq_sgd_params sp = {.lr = 1e-3f, .momentum = 0.9f, .weight_decay = 4e-5f, .step = t};
            ratq_sgd_step_cpu(&sp, q.n_params, q.params, q.grads, mom);
        }
        const double wall = (ratq_now() - t0) / hs;
        printf("| host path (CPU quantize + host API) | %.1f | %.2f | - |\n", B / wall, wall * 1e3);
        printf("RESULT rat_step_host_path_ips=%.1f\n", B / wall);
        host_ips = B / wall;
        ratq_qnet_cuda_destroy(gh);
        ratq_qnet_free(&q);
        free(z), free(dz), free(mom), free(ws);
    }
    const double step_ms = B / best_ips * 1e3;
    printf("\nforward alone: %.2f ms for %d images (device); backward + loss + quantization + optimizer: %.0f %% of the "
           "best step\n",
           fwd_ms, B, 100.0 * (1.0 - fwd_ms / step_ms));
    printf("RESULT rat_forward_ms=%.3f\nRESULT rat_bwd_frac=%.3f\n", fwd_ms, 1.0 - fwd_ms / step_ms);
    printf("scaling: bench_dist_scaling --step-ms %.2f --bwd-frac %.2f --batch %d [--nvlink-busbw GBps] "
           "[--net-busbw GBps]\n",
           step_ms, 1.0 - fwd_ms / step_ms, B);
    printf("\njson: {\"bench\": \"rat_step_cuda\", \"device\": \"%s\", \"batch\": %d, \"weights\": \"%s\", "
           "\"tf32_graph_ips\": %.1f, \"tf32_eager_ips\": %.1f, \"fp32_graph_ips\": %.1f, \"bf16_graph_ips\": %.1f, "
           "\"host_path_ips\": %.1f, \"forward_ms\": %.3f, \"bwd_frac\": %.3f, \"best_step_ms\": %.3f}\n",
           prop.name, B, random ? "random" : "pretrained", ips_mode[0], ips_mode[1], ips_mode[2], ips_mode[3], host_ips,
           fwd_ms, 1.0 - fwd_ms / step_ms, step_ms);
    ratq_rat_cuda_host_free(pin);
    ratq_rat_cuda_host_free(lab);
    CUDA_CHECK(cudaFree(dimg));
    free(batch), free(cal), free(lg);
    ratq_qnet_free(&ref);
    ratq_qnet_free(&chk);
    ratq_effnet_free(&m);
    return 0;
}
#endif
