// test_quant_cuda.c — the fake-quant network on the GPU (host/quant/qnet_cuda.h) against the CPU
// (ratq_qnet_forward / ratq_qnet_backward, host/quant/fake.c), and RAT training with --device cuda (the GPU-resident
// step) and --device cuda-host (its host-driven twin) against the CPU (host/train/rat_train.c). Label gpu: exits 77 (skipped) without a CUDA device.
//
//   test_quant_cuda tiny   the tiny EfficientNet with random weights and BN statistics (tests/cpu/test_quant_exact.c's
//                          model and images: calibrated on 24 smooth random images, tested on 8 others);
//   test_quant_cuda lite0  EfficientNet-Lite0 (RATQ_WEIGHTS) on the first 8 images of
//                          $RATQ_SHARED_DATA/imagenet_sample, calibrated on 32 of them;
//     for k in {31, 4} x rounding {single, tflite}:
//       forward   the int8 network input, every op's int8 output and STE mask, and the returned logits are EQUAL
//                 byte for byte (integer arithmetic on both sides; the comparison is not vacuous: logits differ
//                 between images, more than half of all outputs lie inside their clamp, some outside);
//       backward  with the same dL/dlogits (uniform in [-1, 1) / n, seeded), each op's weight slice and bias slice of
//                 the gradient: ||gpu - cpu||_2 <= TOL ||cpu||_2, every GPU value finite (q->grads is filled with NaN
//                 before the GPU backward, so an unwritten gradient fails). TOL: see TOL_* below.
//   test_quant_cuda train  two RAT steps (ratq_rat_train, batch 32, SGD momentum 0.9) of the tiny network (10 classes,
//                          32x32, random weights) on the first 64 images of $RATQ_SHARED_DATA/cifar10/test.npz, once
//                          with micro-batches of 16 and no teacher, once with the int32 teacher (distillation a = 0.5,
//                          its forward on the GPU too), each on: the CPU; --device cuda-host with FP32 GEMMs (the
//                          host-driven twin: GPU forward / backward, everything else on the CPU); --device cuda with FP32
//                          GEMMs (the GPU-resident step: quantization, loss, optimizer on the device too); --device cuda
//                          with its default TF32 GEMMs, twice.
//       each GPU run against the CPU: step 0's loss identical (cuda-host: the printed %.9g text; cuda: within TOL_LOG,
//       the device sums the loss in another order), step 1's within TOL_LOSS, the weight updates (final - initial)
//       within TOL_UPDATE relative L2, the final int8 weights differ in at most TOL_WQ_FRAC of the weights (TF32:
//       the *_TF32 tolerances); the TF32 rerun is BIT-IDENTICAL (weights and log).
//
// Tolerances:
//   TOL_BWD_TINY = 1e-5  relative L2 per parameter slice. Masks, ratios, dequantized activations and weights are
//                        identical on both sides; only cuBLAS vs OpenBLAS float GEMMs and the bias column sums add
//                        in another order (~2^-24 sqrt(K) relative per GEMM, K <= 1152 here: ~2e-6), over the tiny
//                        network's short backward chain.
//   TOL_BWD_LITE0 = 1e-4 the same per-GEMM disagreement compounds along Lite0's backward chain (about 50 GEMM layers
//                        from the logits to the stem; independent errors grow like sqrt(depth), correlated ones like
//                        depth: 50 x 2e-6 = 1e-4 is the worst case). Emulated on the CPU (each backward GEMM output
//                        perturbed by a relative 0.3 * 2^-24 sqrt(K), K its summation length, up to 8*112*112 for the
//                        early dW): worst slice 7.7e-6 (tiny: 2.0e-6), so 1e-5 would leave no margin. An indexing or
//                        ordering bug changes a slice by O(1). The measured values are printed per configuration.
//   TOL_LOSS = 1e-3      relative, step 1's loss: the weights after step 0 differ by lr x (gradient difference,
//                        ~1e-5 relative), so step 1's int8 weights coincide except for rare weights within ~1e-6 of
//                        a rounding boundary (expected well below one per run), each moving a few activations by one
//                        step. A wrong step-0 gradient shows in the update check below.
//   TOL_UPDATE = 1e-3    relative L2 of (final - initial weights), whole vector: SGD updates are linear in the
//                        gradients (1e-5 agreement at step 0); the margin covers step 1 after such rare flips.
//   TOL_WQ_FRAC = 1e-3   fraction of final int8 weights that may differ (boundary flips, see above).
//   TOL_LOG = 1e-7       relative, step 0's loss of --device cuda: the same int8 logits, the loss summed in double on
//                        the device in another order than on the CPU, printed with 9 digits (5e-9 relative rounding).
//   TF32 (--device cuda's default): TF32 rounds every backward GEMM operand to 11 significant bits; emulated on the
//   CPU this gives a gradient relative L2 of ~5e-4 per step on the tiny network (tests/gpu/test_rat_step_cuda.c, whose
//   per-step tolerance is 5e-3). Over 2 steps: TOL_UPDATE_TF32 = 1e-2; the flips of int8 weights scale with the update
//   difference (10x FP32's): TOL_WQ_FRAC_TF32 = 1e-2, TOL_LOSS_TF32 = 2e-2 (test_rat_step_cuda.c's TOL_LOSS2).
#define _DEFAULT_SOURCE // mkdtemp
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "../cpu/test_quant_common.h"
#include "cuda/cuda_check.h"
#include "common/io.h"
#include "quant/calib_eval.h"
#include "quant/qnet_cuda.h"
#include "train/rat_train.h"

#define TOL_BWD_TINY 1e-5
#define TOL_BWD_LITE0 1e-4
#define TOL_LOSS 1e-3
#define TOL_UPDATE 1e-3
#define TOL_WQ_FRAC 1e-3
#define TOL_LOG 1e-7
#define TOL_UPDATE_TF32 1e-2
#define TOL_WQ_FRAC_TF32 1e-2
#define TOL_LOSS_TF32 2e-2

static int g_device;

static size_t op_count(const ratq_qnop *o, int n) { return (size_t)o->oh * o->ow * o->oc * n; }

// Compare two byte buffers; report the first mismatch. Returns the number of differing bytes.
static long cmp_bytes(const void *gpu, const void *cpu, size_t cnt, const char *what, int op, const char *field) {
    const uint8_t *a = gpu, *b = cpu;
    long bad = 0;
    size_t first = 0;
    for (size_t j = 0; j < cnt; j++)
        if (a[j] != b[j] && bad++ == 0) first = j;
    CHECK_MSG(bad == 0, "%s: op %d %s: %ld of %zu bytes differ; first at %zu: gpu %d, cpu %d", what, op, field, bad, cnt,
              first, (int)(int8_t)a[first], (int)(int8_t)b[first]);
    return bad;
}

// Forward on both sides, every op compared exactly. q's CPU buffers keep the forward for the backward.
static void check_forward(ratq_qnet *q, ratq_qnet_cuda *g, const uint8_t *img, int n, const char *what) {
    const int8_t *lc = ratq_qnet_forward(q, img, n);
    CHECK_MSG(lc != NULL, "%s: cpu forward", what);
    CHECK_MSG(ratq_qnet_cuda_upload_quantized(g, q) == 0, "%s: upload", what);
    const int8_t *lg = ratq_qnet_cuda_forward(g, q, img, n);
    CHECK_MSG(lg != NULL, "%s: gpu forward", what);
    if (!lc || !lg) return;
    const ratq_qnop *fc = &q->ops[q->n_ops - 1];
    long bad = cmp_bytes(lg, lc, (size_t)n * fc->oc, what, q->n_ops - 1, "returned logits");
    size_t mx = (size_t)q->resolution * q->resolution * q->in_c * n;
    for (int i = 0; i < q->n_ops; i++)
        if (op_count(&q->ops[i], n) > mx) mx = op_count(&q->ops[i], n);
    int8_t *out = malloc(mx);
    uint8_t *mask = malloc(mx);
    memset(out, 0x5A, mx);
    CHECK_MSG(ratq_qnet_cuda_download_op(g, q, -1, out, NULL) == 0, "%s: download input", what);
    bad += cmp_bytes(out, q->qin, (size_t)q->resolution * q->resolution * q->in_c * n, what, -1, "network input");
    long inside = 0, total = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const size_t cnt = op_count(&q->ops[i], n);
        memset(out, 0x5A, cnt);
        memset(mask, 0x5A, cnt);
        CHECK_MSG(ratq_qnet_cuda_download_op(g, q, i, out, mask) == 0, "%s: download op %d", what, i);
        char field[96];
        snprintf(field, sizeof field, "(%s, %s) int8 output", q->ops[i].name, ratq_qnop_kind_name(q->ops[i].kind));
        bad += cmp_bytes(out, q->q[i], cnt, what, i, field);
        snprintf(field, sizeof field, "(%s, %s) STE mask", q->ops[i].name, ratq_qnop_kind_name(q->ops[i].kind));
        bad += cmp_bytes(mask, q->mask[i], cnt, what, i, field);
        for (size_t j = 0; j < cnt; j++) inside += q->mask[i][j] != 0;
        total += (long)cnt;
    }
    // not vacuous: logits differ between images; most but not all outputs inside their clamp (masks of both kinds)
    int differ = 0;
    for (int i = 1; i < n && !differ; i++) differ = memcmp(lc, lc + (size_t)i * fc->oc, (size_t)fc->oc) != 0;
    CHECK_MSG(differ, "%s: all images give the same logits (vacuous comparison)", what);
    CHECK_MSG(inside > total / 2 && inside < total, "%s: %ld of %ld outputs inside their clamp", what, inside, total);
    printf("%-14s forward: %s (%ld differing bytes over %d ops + input; %.1f%% of outputs inside the clamp)\n", what,
           bad ? "FAIL" : "ok", bad, q->n_ops, 100.0 * inside / total);
    free(out);
    free(mask);
}

// ||a - b||_2 / ||b||_2 over cnt floats (0 when both are zero, +inf when only b is); counts non-finite a.
static double rel_l2(const float *a, const float *b, size_t cnt, long *nonfinite) {
    double d = 0, r = 0;
    for (size_t j = 0; j < cnt; j++) {
        if (!isfinite(a[j])) (*nonfinite)++;
        double e = (double)a[j] - (double)b[j];
        d += e * e;
        r += (double)b[j] * b[j];
    }
    if (r == 0) return d == 0 ? 0 : INFINITY;
    return sqrt(d / r);
}

// Backward on both sides after check_forward; per-op weight and bias slices compared in relative L2.
static void check_backward(ratq_qnet *q, ratq_qnet_cuda *g, int n, uint64_t seed, double tol, const char *what) {
    const int K = q->num_classes;
    float *dl = malloc((size_t)n * K * sizeof(float)), *cpu = malloc(q->n_params * sizeof(float));
    uint64_t st = seed;
    for (int i = 0; i < n * K; i++) dl[i] = (float)((2 * ratq_test_unit(&st) - 1) / n);
    CHECK_MSG(ratq_qnet_backward(q, dl) == 0, "%s: cpu backward", what);
    memcpy(cpu, q->grads, q->n_params * sizeof(float));
    for (size_t j = 0; j < q->n_params; j++) q->grads[j] = NAN;
    CHECK_MSG(ratq_qnet_cuda_backward(g, q, dl) == 0, "%s: gpu backward", what);
    double worst = 0, norm = 0;
    int worst_op = -1;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (o->kind != RATQ_QN_CONV && o->kind != RATQ_QN_DWCONV && o->kind != RATQ_QN_FC) continue;
        const size_t off[2] = {o->w_off, o->b_off}, cnt[2] = {(size_t)o->oc * o->per_oc, (size_t)o->oc};
        for (int s = 0; s < 2; s++) {
            long nonfinite = 0;
            double e = rel_l2(q->grads + off[s], cpu + off[s], cnt[s], &nonfinite);
            CHECK_MSG(nonfinite == 0, "%s: op %d (%s) %s gradient: %ld non-finite GPU values", what, i, o->name,
                      s ? "bias" : "weight", nonfinite);
            CHECK_MSG(e <= tol, "%s: op %d (%s, %s) %s gradient: relative L2 %.3g > %.1g", what, i, o->name,
                      ratq_qnop_kind_name(o->kind), s ? "bias" : "weight", e, tol);
            if (e > worst || worst_op < 0) worst = e, worst_op = i;
            for (size_t j = 0; j < cnt[s]; j++) norm += (double)cpu[off[s] + j] * cpu[off[s] + j];
        }
    }
    CHECK_MSG(norm > 0, "%s: the CPU gradient is zero (vacuous comparison)", what);
    printf("%-14s backward: worst relative L2 %.3g (op %d %s), tolerance %.1g\n", what, worst, worst_op,
           worst_op >= 0 ? q->ops[worst_op].name : "?", tol);
    free(dl);
    free(cpu);
}

static void run_configs(ratq_qnet *q, const uint8_t *img, int n, double tol_bwd) {
    const int ks[2] = {31, 4};
    const ratq_rounding rm[2] = {RATQ_ROUND_SINGLE, RATQ_ROUND_TFLITE};
    ratq_qnet_cuda *g = ratq_qnet_cuda_create(q, n, g_device, 1);
    CHECK_MSG(g != NULL, "ratq_qnet_cuda_create");
    if (!g) return;
    for (int ki = 0; ki < 2; ki++)
        for (int r = 0; r < 2; r++) {
            ratq_quant_options opt = {.k = ks[ki], .rounding = rm[r], .snap = 0};
            char what[64];
            snprintf(what, sizeof what, "k=%d %s", opt.k, r ? "tflite" : "single");
            CHECK_MSG(ratq_qnet_quantize(q, &opt) == 0, "%s: quantize", what);
            if (ratq_test_failures) break;
            check_forward(q, g, img, n, what);
            check_backward(q, g, n, 1000 + 10 * ki + r, tol_bwd, what);
        }
    ratq_qnet_cuda_destroy(g);
}

static int test_tiny(void) {
    ratq_effnet m = {0};
    ratq_qnet q = {0};
    uint8_t *img = NULL;
    const int n = 8;
    if (tq_tiny_calibrated(&m, &q, 24, n, &img) == 0) run_configs(&q, img, n, TOL_BWD_TINY); // test_quant_common.h
    free(img);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_quant_cuda tiny");
}

static int test_lite0(void) {
    ratq_effnet m = {0};
    ratq_qnet q = {0};
    uint8_t *img = NULL;
    const int n = 8; // the first 8 real images of imagenet_sample at 224 x 224
    char dpath[4096];
    snprintf(dpath, sizeof dpath, "%s/imagenet_sample", tq_env("RATQ_SHARED_DATA", "the shared data folder"));
    if (tq_lite0_calibrated(&m, &q, n, &img, dpath) == 0) run_configs(&q, img, n, TOL_BWD_LITE0); // test_quant_common.h
    free(img);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_quant_cuda lite0");
}

// ---- two RAT steps ---------------------------------------------------------------------------------------------

// The tiny network (10 classes, 32x32) with random weights, calibrated on cal (64 images); teacher likewise.
static void train_setup(ratq_qnet *q, ratq_qnet *teacher, const uint8_t *cal) {
    tq_rat_pair(q, teacher, cal); // test_quant_common.h
    const ratq_quant_options o31 = {.k = 31, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    if (ratq_qnet_copy_calibration(teacher, q) != 0 || ratq_qnet_quantize(teacher, &o31) != 0) exit(1);
}


// The text of the "loss" field of log line `step` (0-based) into out; 0 on success.
static int log_loss(const char *log, int step, char *out, size_t cap) {
    const char *p = log;
    for (int s = 0; p && s < step; s++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !(p = strstr(p, "\"loss\":"))) return -1;
    p += 7;
    size_t len = strcspn(p, ",}");
    if (len + 1 > cap) return -1;
    memcpy(out, p, len);
    out[len] = 0;
    return 0;
}

typedef struct {
    ratq_qnet q, t;
    char *log;
} run_result;

static void train_run(run_result *r, const uint8_t *cal, const ratq_dataset *ds, ratq_rat_config cfg,
                      ratq_train_device dev, int gemm, const char *logp, float **p0) {
    static const char *const names[] = {"cpu", "cuda", "cuda-host"};
    train_setup(&r->q, &r->t, cal);
    if (p0) { // the initial weights
        *p0 = malloc(r->q.n_params * sizeof(float));
        memcpy(*p0, r->q.params, r->q.n_params * sizeof(float));
    }
    const ratq_quant_options opt = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    cfg.device = dev;
    cfg.gpu = g_device;
    cfg.gemm = gemm;
    cfg.log_path = logp;
    ratq_rat_stats st;
    CHECK_MSG(ratq_rat_train(&r->q, &opt, &r->t, ds, &cfg, &st) == 0 && st.finished && st.steps_done == 2,
              "%s run: training failed or did not take 2 steps", names[dev]);
    r->log = ratq_read_file(logp, NULL); // common/io.h: NUL-terminated, or NULL + error line
    CHECK_MSG(r->log != NULL, "read %s", logp);
    unlink(logp);
}

// One GPU run x against the CPU run c (initial weights p0): tolerances as stated in the header.
static void compare(const char *name, const char *what, const run_result *c, const run_result *x, const float *p0,
                    int exact_step0, double tol_loss, double tol_update, double tol_wq) {
    char lc[2][64], lg[2][64];
    for (int s = 0; s < 2; s++)
        CHECK_MSG(log_loss(c->log, s, lc[s], 64) == 0 && log_loss(x->log, s, lg[s], 64) == 0, "%s %s: log step %d",
                  name, what, s);
    if (ratq_test_failures) return;
    if (exact_step0)
        CHECK_MSG(!strcmp(lc[0], lg[0]), "%s %s: step 0 loss: cpu %s, gpu %s (the forward must be bit-identical)",
                  name, what, lc[0], lg[0]);
    else
        CHECK_MSG(fabs(atof(lg[0]) - atof(lc[0])) <= TOL_LOG * fabs(atof(lc[0])),
                  "%s %s: step 0 loss: cpu %s, gpu %s (tolerance %.0e relative)", name, what, lc[0], lg[0], TOL_LOG);
    const double l1c = atof(lc[1]), l1g = atof(lg[1]);
    CHECK_MSG(fabs(l1g - l1c) <= tol_loss * fabs(l1c), "%s %s: step 1 loss: cpu %s, gpu %s (tolerance %.0e relative)",
              name, what, lc[1], lg[1], tol_loss);
    const size_t np = c->q.n_params;
    double d = 0, r = 0;
    long nonfinite = 0;
    for (size_t j = 0; j < np; j++) {
        double uc = (double)c->q.params[j] - p0[j], ug = (double)x->q.params[j] - p0[j];
        nonfinite += !isfinite(x->q.params[j]);
        d += (ug - uc) * (ug - uc);
        r += uc * uc;
    }
    const double rel = r > 0 ? sqrt(d / r) : INFINITY;
    CHECK_MSG(r > 0, "%s: the CPU run did not change the weights", name);
    CHECK_MSG(nonfinite == 0 && rel <= tol_update, "%s %s: weight updates differ: relative L2 %.3g > %.0e (%ld "
              "non-finite)", name, what, rel, tol_update, nonfinite);
    long wq_diff = 0, wq_total = 0;
    for (int i = 0; i < c->q.n_ops; i++)
        if (c->q.ops[i].wq) {
            const size_t nw = (size_t)c->q.ops[i].oc * c->q.ops[i].per_oc;
            for (size_t j = 0; j < nw; j++) wq_diff += c->q.ops[i].wq[j] != x->q.ops[i].wq[j];
            wq_total += (long)nw;
        }
    CHECK_MSG(wq_diff <= tol_wq * wq_total, "%s %s: %ld of %ld final int8 weights differ", name, what, wq_diff,
              wq_total);
    printf("%-22s %-16s step losses cpu %s %s, gpu %s %s; update relative L2 %.3g; %ld of %ld int8 weights differ\n",
           name, what, lc[0], lc[1], lg[0], lg[1], rel, wq_diff, wq_total);
}

static void train_case(const char *name, const uint8_t *cal, const ratq_dataset *ds, const ratq_rat_config *cfg,
                       const char *dir) {
    char logp[512];
    snprintf(logp, sizeof logp, "%s/%s.jsonl", dir, name);
    const long failures_before = ratq_test_failures;
    run_result c, h, f, g1, g2;
    run_result *all[5] = {&c, &h, &f, &g1, &g2};
    for (int i = 0; i < 5; i++) memset(all[i], 0, sizeof *all[i]);
    float *p0 = NULL;
    train_run(&c, cal, ds, *cfg, RATQ_DEVICE_CPU, RATQ_QNET_GEMM_FP32, logp, &p0);
    train_run(&h, cal, ds, *cfg, RATQ_DEVICE_CUDA_HOST, RATQ_QNET_GEMM_FP32, logp, NULL);
    train_run(&f, cal, ds, *cfg, RATQ_DEVICE_CUDA, RATQ_QNET_GEMM_FP32, logp, NULL);
    train_run(&g1, cal, ds, *cfg, RATQ_DEVICE_CUDA, RATQ_QNET_GEMM_TF32, logp, NULL);
    train_run(&g2, cal, ds, *cfg, RATQ_DEVICE_CUDA, RATQ_QNET_GEMM_TF32, logp, NULL);
    if (!c.log || !h.log || !f.log || !g1.log || !g2.log || ratq_test_failures > failures_before) goto done;
    compare(name, "cuda-host fp32", &c, &h, p0, 1, TOL_LOSS, TOL_UPDATE, TOL_WQ_FRAC);
    compare(name, "cuda fp32", &c, &f, p0, 0, TOL_LOSS, TOL_UPDATE, TOL_WQ_FRAC);
    compare(name, "cuda tf32", &c, &g1, p0, 0, TOL_LOSS_TF32, TOL_UPDATE_TF32, TOL_WQ_FRAC_TF32);
    // GPU rerun: bit-identical
    CHECK_MSG(memcmp(g1.q.params, g2.q.params, c.q.n_params * sizeof(float)) == 0, "%s: GPU rerun: final weights differ",
              name);
    CHECK_MSG(!strcmp(g1.log, g2.log), "%s: GPU rerun: logs differ:\n%s---\n%s", name, g1.log, g2.log);
done:
    free(p0);
    for (int i = 0; i < 5; i++) {
        if (all[i]->q.ops) ratq_qnet_free(&all[i]->q);
        if (all[i]->t.ops) ratq_qnet_free(&all[i]->t);
        free(all[i]->log);
    }
}

static int test_train(void) {
    const char *shared = tq_env("RATQ_SHARED_DATA", "the shared data folder");
    char dpath[4096];
    snprintf(dpath, sizeof dpath, "%s/cifar10/test.npz", shared);
    ratq_dataset *ds = ratq_data_open(dpath, NULL);
    if (!ds) {
        fprintf(stderr, "FAIL: cannot open %s\n", dpath);
        return 1;
    }
    // calibration images: the first 64, the quantizer's transform at 32x32
    uint8_t *cal = malloc((size_t)64 * 32 * 32 * 3);
    ratq_transform tf = ratq_quant_transform(ds, 32);
    ratq_image im = {0}, scratch = {0};
    for (int i = 0; i < 64; i++)
        if (ratq_data_read(ds, i, &im) != 0 ||
            ratq_transform_apply(&tf, &im, 0, 0, i, cal + (size_t)i * 32 * 32 * 3, &scratch) != 0) {
            fprintf(stderr, "FAIL: decoding %s image %d\n", dpath, i);
            return 1;
        }
    ratq_image_free(&im);
    ratq_image_free(&scratch);
    char dir[] = "/tmp/ratq_qcuda_XXXXXX";
    CHECK_MSG(mkdtemp(dir) != NULL, "mkdtemp");
    ratq_rat_config cfg = ratq_rat_config_default();
    cfg.epochs = 1;
    cfg.batch = 32;
    cfg.limit = 64; // 2 steps
    cfg.lr = 0.01;
    cfg.seed = 5;
    cfg.micro_batch = 16;
    train_case("sgd micro-batch 16", cal, ds, &cfg, dir);
    cfg.micro_batch = 0;
    cfg.teacher = RATQ_TEACHER_INT32;
    cfg.distill_alpha = 0.5f;
    train_case("sgd int32 teacher", cal, ds, &cfg, dir);
    rmdir(dir);
    free(cal);
    ratq_data_close(ds);
    return ratq_test_finish("test_quant_cuda train");
}

int main(int argc, char **argv) {
    const int ndev = ratq_cuda_device_count();
    if (ndev <= 0) {
        printf("test_quant_cuda: no CUDA device, skipped\n");
        return 77;
    }
    g_device = 0;
    if (argc > 1 && !strcmp(argv[1], "lite0")) return test_lite0();
    if (argc > 1 && !strcmp(argv[1], "train")) return test_train();
    return test_tiny();
}
