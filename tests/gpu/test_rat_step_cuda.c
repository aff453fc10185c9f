// test_rat_step_cuda.c — the GPU-resident RAT step (host/train/rat_step_cuda.h) against the CPU step, label gpu (exit 77
// without a CUDA device). The CPU reference step is host/train/rat_train.c's step body built from the same library
// calls: ratq_qnet_quantize, per micro-batch the teacher forward (ratq_qnet_float_forward / ratq_qnet_forward), the
// student forward, ratq_rat_loss_cpu (== rat_train.c's loss, tests/cpu/test_rat_loss.c), ratq_qnet_backward, the sum
// over micro-batches / C, ratq_sgd_step_cpu or ratq_adamw_step_cpu.
//
//   quant        device quantization (ratq_qnet_cuda_quantize_device) == ratq_qnet_quantize, every int8 weight, bias,
//                (m, s), ratio, scale and dequantized weight, BIT FOR BIT: tiny net and (RATQ_WEIGHTS) Lite0, k 4 / 31,
//                snapping off / on, after perturbing the weights; a NaN weight sets the status naming the op and
//                channel the CPU reports.
//   tiny / lite0 one step (8 images; micro-batches of 4 or 8; no / float / int8 teacher; SGD / AdamW; FP32, TF32,
//                bf16 GEMMs): correct count EQUAL (the forward is bit-identical), loss within TOL_LOSS relative, the
//                weight update and the optimizer state within TOL_UPDATE_* relative L2, all finite; then a second step
//                (quantized from the updated weights) with its loss within TOL_LOSS2. Each case also reruns on the
//                GPU: weights, state and losses BIT-IDENTICAL, and CUDA Graph replay == eager launches, bit for bit.
//   resume       4 GPU steps straight == 2 steps, ratq_ckpt_save, a new trainer from ratq_ckpt_load, 2 steps: BIT-
//                IDENTICAL weights and state; and the CPU step from that checkpoint agrees with the GPU's step 2 within
//                the tolerances (checkpoints move between CPU and GPU).
//   loop         the RAT loop itself (ratq_rat_train) with cfg.device = RATQ_DEVICE_CUDA (`--device cuda`: the
//                pipelined loop over ratq_rat_step_cuda_ops, CUDA Graph replay) against RATQ_DEVICE_CPU on a raw shard of
//                64 tiny-net images, batch 16 in micro-batches of 8, int8 teacher, 2 epochs of 3 steps (6 steps: slots
//                run eagerly at steps 0 and 1, are captured at 2 and 3 and replayed after): step-0 loss within TOL_LOG
//                (the log's 9 digits), the weight change of the first 3 steps (runs stopped after 3) within
//                3 x TOL_UPDATE_TF32; a rerun BIT-IDENTICAL
//                (weights and log); a run stopped after step 3 and resumed from its checkpoint BIT-IDENTICAL to the
//                straight run; the same loop with --no-cuda-graphs BIT-IDENTICAL; and the loop BIT-IDENTICAL to the
//                benchmark's path (ratq_rat_cuda_stage / _step driven by hand on the input stream's batches with the
//                loop's learning rates), losses equal to the logged ones.
//   nccl         one rank with the NCCL path forced (small buckets, 2 micro-batches: bucketed mean, scalar all-reduces,
//                the watchdog wait): 4 steps eager and 4 steps with the NCCL collectives captured in the step graph
//                (where ratq_nccl_graph_capture), each BIT-IDENTICAL to the run without NCCL (a mean over one rank is
//                the identity).
// Tolerances, one step, relative L2 over all parameters of quantities linear in the gradient (the SGD update and
// momentum, the AdamW first moment m; the second moment v gets twice the tolerance):
//   TOL_UPDATE_FP32 = 2e-4   cuBLAS vs OpenBLAS summation order and S as GEMM alpha: ~1e-6 per GEMM level, compounded
//                            along the backward chain (test_quant_cuda.c measures 1e-5 per slice on Lite0 in FP32)
//   TOL_UPDATE_TF32 = 5e-3   TF32 rounds the GEMM operands to 11 significant bits. Emulated on the CPU (every
//                            operand of every backward GEMM rounded to TF32, one step of 8 images): gradient relative
//                            L2 5.1e-4 (tiny) and 6.0e-4 (Lite0), worst single tensor 2.2e-3: 8x margin
//   TOL_UPDATE_BF16 = 2.5e-2 bf16, 8 significant bits, emulated the same way: 2.9e-3 / 3.2e-3, worst tensor 1.0e-2
// AdamW's first update is lr * g / (|g| + eps), the sign of g almost everywhere: a gradient element near zero whose
// sign differs between the two sides moves by 2 lr (emulated TF32: 3 of 24,482 tiny-net signs, update relative L2
// 2.3e-2). So for AdamW the weights are compared by count: at most max(3, 0.1 %) parameters may move by more than
// 1 % of lr apart; m and v carry the gradient comparison.
//   TOL_LOSS = 1e-9          step 0: identical int8 logits, only the order of the double sums and device exp / log
//   TOL_LOSS2 = 2e-2         step 1: the weights differ by the update tolerance, flipping a few int8 weights
#define _DEFAULT_SOURCE // mkdtemp
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "../cpu/test_quant_common.h"
#include "common/io.h"
#include "cpu/float_loss.h"
#include "cuda/cuda_check.h"
#include "data/stream.h"
#include "dist/dist.h"
#include "dist/nccl.h"
#include "quant/calib_eval.h"
#include "quant/qnet_cuda.h"
#include "train/rat_step_cuda.h"
#include "train/rat_train.h"

#define TOL_UPDATE_FP32 2e-4
#define TOL_UPDATE_TF32 5e-3
#define TOL_UPDATE_BF16 2.5e-2
#define TOL_LOSS 1e-9
#define TOL_LOSS2 2e-2
#define TOL_LOG 1e-7 // a loss read back from the log's %.9g

static int g_device;
static char g_dir[256];

// ---- networks -----------------------------------------------------------------------------------------------------

typedef struct {
    ratq_effnet m;
    ratq_qnet ref; // calibrated once; every student copies its activation quantization (identical runs)
} model_src;

// A student (calibrated), and teachers: float (same folded weights) and int8 (k = 31, student's calibration).
static void build_student(const model_src *src, ratq_qnet *q) {
    if (ratq_qnet_from_effnet(q, &src->m) != 0 || ratq_qnet_copy_calibration(q, &src->ref) != 0) exit(1);
}

static void calibrate(model_src *s, int n, uint64_t seed) {
    uint64_t st = seed;
    uint8_t *cal = tq_smooth_images(n, s->m.cfg.resolution, &st);
    if (ratq_qnet_from_effnet(&s->ref, &s->m) != 0) exit(1);
    ratq_qnet_observe_reset(&s->ref);
    if (!ratq_qnet_float_forward(&s->ref, cal, n, 1) || ratq_qnet_observe_finish(&s->ref) != 0) exit(1);
    free(cal);
}
static void build_teacher(const model_src *src, const ratq_qnet *student, ratq_teacher_kind kind, ratq_qnet *t) {
    if (ratq_qnet_from_effnet(t, &src->m) != 0) exit(1);
    if (kind == RATQ_TEACHER_INT32) {
        const ratq_quant_options o31 = {.k = 31, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
        if (ratq_qnet_copy_calibration(t, student) != 0 || ratq_qnet_quantize(t, &o31) != 0) exit(1);
    }
}

static int src_tiny(model_src *s) {
    memset(s, 0, sizeof *s);
    ratq_effnet_config cfg;
    if (ratq_effnet_config_from_name("tiny", 10, 32, &cfg) != 0 || ratq_effnet_build(&s->m, &cfg) != 0) return -1;
    tq_random_model(&s->m, 2024);
    calibrate(s, 64, 31);
    return 0;
}

static int src_lite0(model_src *s) {
    memset(s, 0, sizeof *s);
    const char *w = tq_env("RATQ_WEIGHTS", "EfficientNet-Lite0 .ratqw from scripts/get_weights.py");
    if (ratq_effnet_load(&s->m, w) != 0) {
        fprintf(stderr, "FAIL: cannot load %s\n", w);
        return -1;
    }
    calibrate(s, 8, 32);
    return 0;
}

static void src_free(model_src *s) {
    ratq_effnet_free(&s->m);
    if (s->ref.ops) ratq_qnet_free(&s->ref);
}

// ---- the CPU reference step ---------------------------------------------------------------------------------------

typedef struct {
    const char *name;
    int batch, micro;
    ratq_optimizer_kind opt;
    ratq_teacher_kind teacher;
    float alpha, temperature, smoothing;
    int gemm;
    double tol;
} step_case;

static int cpu_step(ratq_qnet *q, const ratq_quant_options *qo, ratq_qnet *t, const step_case *c, const uint8_t *img,
                    const int32_t *lab, int64_t step, double lr, float *s1, float *s2, double *loss, int64_t *correct) {
    const int K = q->num_classes, C = c->batch / c->micro, MB = c->micro;
    const size_t per = (size_t)q->resolution * q->resolution * q->in_c;
    if (ratq_qnet_quantize(q, qo) != 0) return -1;
    float *gsum = malloc(q->n_params * sizeof(float)), *z = malloc(sizeof(float) * MB * K),
          *dz = malloc(sizeof(float) * MB * K), *tz = malloc(sizeof(float) * MB * K);
    double *ws = malloc(sizeof(double) * 2 * K);
    *loss = 0;
    *correct = 0;
    int rc = 0;
    for (int ch = 0; ch < C && rc == 0; ch++) {
        const uint8_t *im = img + (size_t)ch * MB * per;
        const int32_t *lb = lab + (size_t)ch * MB;
        if (c->teacher == RATQ_TEACHER_FLOAT) {
            const float *tl = ratq_qnet_float_forward(t, im, MB, 0);
            if (!tl) rc = -1;
            else memcpy(tz, tl, sizeof(float) * MB * K);
        } else if (c->teacher == RATQ_TEACHER_INT32) {
            if (!ratq_qnet_forward(t, im, MB)) rc = -1;
            else ratq_qnet_logits(t, tz);
        }
        const int8_t *lq = rc ? NULL : ratq_qnet_forward(q, im, MB);
        if (!lq) {
            rc = -1;
            break;
        }
        ratq_qnet_logits(q, z);
        const float a = c->teacher != RATQ_TEACHER_NONE ? c->alpha : 0.0f;
        ratq_xent_params xp = {.n = MB, .classes = K, .label_smoothing = c->smoothing};
        *loss += ratq_rat_loss_cpu(&xp, z, tz, lb, a, c->temperature, dz, ws) / C;
        for (int j = 0; j < MB; j++) *correct += ratq_qmodel_argmax(lq + (size_t)j * K, K) == lb[j];
        if (ratq_qnet_backward(q, dz) != 0) rc = -1;
        if (ch == 0) memcpy(gsum, q->grads, q->n_params * sizeof(float));
        else
            for (size_t i = 0; i < q->n_params; i++) gsum[i] += q->grads[i];
    }
    if (rc == 0) {
        if (C > 1)
            for (size_t i = 0; i < q->n_params; i++) gsum[i] /= (float)C;
        if (c->opt == RATQ_OPT_ADAMW) {
            ratq_adamw_params ap = {.lr = (float)lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                    .weight_decay = 1e-2f, .step = step + 1};
            ratq_adamw_step_cpu(&ap, q->n_params, q->params, gsum, s1, s2);
        } else {
            ratq_sgd_params sp = {.lr = (float)lr, .momentum = 0.9f, .dampening = 0, .weight_decay = 4e-5f,
                                  .nesterov = 0, .step = step};
            ratq_sgd_step_cpu(&sp, q->n_params, q->params, gsum, s1);
        }
    }
    free(gsum), free(z), free(dz), free(tz), free(ws);
    return rc;
}

static ratq_rat_cuda_config gpu_cfg(const step_case *c) {
    ratq_rat_cuda_config g = ratq_rat_cuda_config_default();
    g.batch = c->batch;
    g.micro_batch = c->micro;
    g.optimizer = c->opt;
    g.momentum = 0.9f;
    g.weight_decay = c->opt == RATQ_OPT_ADAMW ? 1e-2f : 4e-5f;
    g.label_smoothing = c->smoothing;
    g.teacher = c->teacher;
    g.distill_alpha = c->alpha;
    g.temperature = c->temperature;
    g.gpu = g_device;
    g.gemm = c->gemm;
    return g;
}

// Images and labels of steps 0 .. nsteps-1 (batch B each), pinned.
typedef struct {
    uint8_t *img;
    int32_t *lab;
    size_t per;
    int B;
} batches;

static void make_batches(batches *b, const ratq_qnet *q, int B, int nsteps, uint64_t seed) {
    b->per = (size_t)q->resolution * q->resolution * q->in_c;
    b->B = B;
    uint64_t st = seed;
    uint8_t *img = tq_smooth_images(B * nsteps, q->resolution, &st);
    b->img = ratq_rat_cuda_host_alloc(b->per * (size_t)B * nsteps);
    b->lab = ratq_rat_cuda_host_alloc(sizeof(int32_t) * (size_t)B * nsteps);
    memcpy(b->img, img, b->per * (size_t)B * nsteps);
    for (int i = 0; i < B * nsteps; i++) b->lab[i] = (int32_t)ratq_test_range(&st, 0, q->num_classes - 1);
    free(img);
}
static void free_batches(batches *b) {
    ratq_rat_cuda_host_free(b->img);
    ratq_rat_cuda_host_free(b->lab);
}
static const uint8_t *step_img(const batches *b, int t) { return b->img + b->per * (size_t)b->B * t; }
static const int32_t *step_lab(const batches *b, int t) { return b->lab + (size_t)b->B * t; }

static double lr_at(int64_t t) { return 0.05 / (1.0 + (double)t); }

// Run GPU steps [t0, t1) on tr; losses into loss[t].
static int gpu_steps(ratq_rat_cuda *tr, const batches *b, int t0, int t1, double *loss, int64_t *correct) {
    if (ratq_rat_cuda_stage(tr, t0 & 1, step_img(b, t0), step_lab(b, t0)) != 0) return -1;
    for (int t = t0; t < t1; t++) {
        if (t + 1 < t1 && ratq_rat_cuda_stage(tr, (t + 1) & 1, step_img(b, t + 1), step_lab(b, t + 1)) != 0) return -1;
        ratq_rat_cuda_result r;
        if (ratq_rat_cuda_step(tr, t & 1, t, lr_at(t), &r) != 0) return -1;
        loss[t] = r.loss;
        if (correct) correct[t] = r.correct;
    }
    return 0;
}

static double rel_l2(const float *a, const float *b, const float *base, size_t n, long *nonfinite) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) (*nonfinite)++;
        const double ua = (double)a[i] - (base ? base[i] : 0), ub = (double)b[i] - (base ? base[i] : 0);
        d += (ua - ub) * (ua - ub);
        r += ub * ub;
    }
    return r > 0 ? sqrt(d / r) : (d == 0 ? 0 : INFINITY);
}

typedef struct {
    float *params, *s1, *s2;
    double loss[8];
    int64_t correct[8];
} run_out;

// A fresh GPU trainer (student and teacher rebuilt from src), nsteps steps; the result copied out.
static int gpu_run(const model_src *src, const step_case *c, const ratq_quant_options *qo, const batches *b, int nsteps,
                   int graphs, ratq_dist *dist, size_t bucket, run_out *o) {
    ratq_qnet q, t;
    memset(&t, 0, sizeof t);
    build_student(src, &q);
    if (c->teacher != RATQ_TEACHER_NONE) build_teacher(src, &q, c->teacher, &t);
    ratq_rat_cuda_config g = gpu_cfg(c);
    g.graphs = graphs;
    g.dist = dist;
    g.force_nccl = dist != NULL;
    g.bucket_params = bucket;
    ratq_rat_cuda *tr = ratq_rat_cuda_create(&q, qo, c->teacher != RATQ_TEACHER_NONE ? &t : NULL, &g);
    int rc = tr ? gpu_steps(tr, b, 0, nsteps, o->loss, o->correct) : -1;
    o->params = malloc(q.n_params * sizeof(float));
    o->s1 = malloc(q.n_params * sizeof(float));
    o->s2 = malloc(q.n_params * sizeof(float));
    memset(o->s2, 0, q.n_params * sizeof(float));
    if (rc == 0) rc = ratq_rat_cuda_sync_to_host(tr, &q, o->s1, c->opt == RATQ_OPT_ADAMW ? o->s2 : NULL);
    if (rc == 0) memcpy(o->params, q.params, q.n_params * sizeof(float));
    ratq_rat_cuda_destroy(tr);
    ratq_qnet_free(&q);
    if (t.ops) ratq_qnet_free(&t);
    return rc;
}
static void free_out(run_out *o) { free(o->params), free(o->s1), free(o->s2); }

static int same_out(const run_out *a, const run_out *b, size_t n, int steps) {
    return !memcmp(a->params, b->params, n * sizeof(float)) && !memcmp(a->s1, b->s1, n * sizeof(float)) &&
           !memcmp(a->s2, b->s2, n * sizeof(float)) && !memcmp(a->loss, b->loss, sizeof(double) * steps) &&
           !memcmp(a->correct, b->correct, sizeof(int64_t) * steps);
}

// One case: GPU vs CPU over 2 steps, GPU rerun and graph-vs-eager bit-identical.
static void step_vs_cpu(const model_src *src, const step_case *c) {
    const ratq_quant_options qo = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    ratq_qnet q, t;
    memset(&t, 0, sizeof t);
    build_student(src, &q);
    if (c->teacher != RATQ_TEACHER_NONE) build_teacher(src, &q, c->teacher, &t);
    batches b;
    make_batches(&b, &q, c->batch, 2, 1234);
    const size_t np = q.n_params;
    float *p0 = malloc(np * sizeof(float)), *s1 = calloc(np, sizeof(float)), *s2 = calloc(np, sizeof(float));
    memcpy(p0, q.params, np * sizeof(float));
    double lc[2];
    int64_t cc[2];
    float *p1 = malloc(np * sizeof(float)), *m1 = malloc(np * sizeof(float)), *v1 = malloc(np * sizeof(float));
    int rc = cpu_step(&q, &qo, &t, c, step_img(&b, 0), step_lab(&b, 0), 0, lr_at(0), s1, s2, &lc[0], &cc[0]);
    memcpy(p1, q.params, np * sizeof(float));
    memcpy(m1, s1, np * sizeof(float));
    memcpy(v1, s2, np * sizeof(float));
    if (rc == 0) rc = cpu_step(&q, &qo, &t, c, step_img(&b, 1), step_lab(&b, 1), 1, lr_at(1), s1, s2, &lc[1], &cc[1]);
    CHECK_MSG(rc == 0, "%s: cpu steps", c->name);
    run_out g1, g2, g3;
    memset(&g1, 0, sizeof g1), memset(&g2, 0, sizeof g2), memset(&g3, 0, sizeof g3);
    // step 0 alone (to compare the update), then 2 steps, twice, and eager
    run_out g0;
    memset(&g0, 0, sizeof g0);
    CHECK_MSG(gpu_run(src, c, &qo, &b, 1, 1, NULL, 0, &g0) == 0, "%s: gpu step 0", c->name);
    CHECK_MSG(gpu_run(src, c, &qo, &b, 2, 1, NULL, 0, &g1) == 0, "%s: gpu 2 steps", c->name);
    CHECK_MSG(gpu_run(src, c, &qo, &b, 2, 1, NULL, 0, &g2) == 0, "%s: gpu rerun", c->name);
    CHECK_MSG(gpu_run(src, c, &qo, &b, 2, 0, NULL, 0, &g3) == 0, "%s: gpu eager", c->name);
    if (rc == 0 && g0.params && g1.params && g2.params && g3.params && !ratq_test_failures) {
        CHECK_EQ_I64(g0.correct[0], cc[0], "%s: step 0 correct count", c->name);
        CHECK_MSG(fabs(g0.loss[0] - lc[0]) <= TOL_LOSS * fabs(lc[0]), "%s: step 0 loss gpu %.17g cpu %.17g", c->name,
                  g0.loss[0], lc[0]);
        long nonfinite = 0;
        const double e = rel_l2(g0.params, p1, p0, np, &nonfinite);
        const double em = rel_l2(g0.s1, m1, NULL, np, &nonfinite);
        CHECK_MSG(nonfinite == 0, "%s: %ld non-finite GPU values", c->name, nonfinite);
        if (c->opt == RATQ_OPT_ADAMW) { // sign-like first update: compare m, v, and count the weights apart
            const double ev = rel_l2(g0.s2, v1, NULL, np, &nonfinite);
            long apart = 0;
            for (size_t i = 0; i < np; i++)
                apart += fabs(((double)g0.params[i] - p0[i]) - ((double)p1[i] - p0[i])) > 0.01 * lr_at(0);
            const long allowed = np / 1000 > 3 ? (long)(np / 1000) : 3;
            CHECK_MSG(em <= c->tol && ev <= 2 * c->tol && apart <= allowed,
                      "%s: step 0 AdamW: m relative L2 %.3g (tol %.1g), v %.3g (tol %.1g), %ld weights apart (allowed %ld)",
                      c->name, em, c->tol, ev, 2 * c->tol, apart, allowed);
        } else {
            CHECK_MSG(e <= c->tol && em <= c->tol, "%s: step 0 update relative L2 %.3g, momentum %.3g > %.1g", c->name,
                      e, em, c->tol);
        }
        CHECK_MSG(fabs(g1.loss[1] - lc[1]) <= TOL_LOSS2 * fabs(lc[1]), "%s: step 1 loss gpu %.9g cpu %.9g", c->name,
                  g1.loss[1], lc[1]);
        CHECK_MSG(same_out(&g1, &g2, np, 2), "%s: GPU rerun not bit-identical", c->name);
        CHECK_MSG(same_out(&g1, &g3, np, 2), "%s: CUDA Graph replay differs from eager launches", c->name);
        printf("%-34s loss %.9g / %.9g (cpu %.9g / %.9g), correct %lld = %lld, update rel L2 %.3g (tol %.1g), "
               "state %.3g\n",
               c->name, g1.loss[0], g1.loss[1], lc[0], lc[1], (long long)g0.correct[0], (long long)cc[0], e, c->tol, em);
    }
    free_out(&g0), free_out(&g1), free_out(&g2), free_out(&g3);
    free(p0), free(s1), free(s2), free(p1), free(m1), free(v1);
    free_batches(&b);
    ratq_qnet_free(&q);
    if (t.ops) ratq_qnet_free(&t);
}

// ---- modes --------------------------------------------------------------------------------------------------------

static void quant_case(const model_src *src, const char *what) {
    ratq_qnet q, d;
    build_student(src, &q);
    if (ratq_qnet_from_effnet(&d, &src->m) != 0) exit(1);
    const ratq_quant_options o0 = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    CHECK_MSG(ratq_qnet_quantize(&q, &o0) == 0, "%s: quantize", what);
    ratq_qnet_cuda *g = ratq_qnet_cuda_create(&q, 1, g_device, 1);
    CHECK_MSG(g && ratq_qnet_cuda_quantize_setup(g, &q) == 0, "%s: setup", what);
    float *dp = NULL;
    unsigned long long *dst = NULL, hst = 0;
    CUDA_CHECK(cudaMalloc((void **)&dp, q.n_params * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&dst, sizeof *dst));
    uint64_t seed = 7;
    for (int k = 4; k <= 31 && g; k += 27)
        for (int snap = 0; snap < 2; snap++)
            for (int pert = 0; pert < 2; pert++) {
                if (pert)
                    for (size_t i = 0; i < q.n_params; i++) q.params[i] *= (float)(1 + 1e-3 * (2 * ratq_test_unit(&seed) - 1));
                const ratq_quant_options o = {.k = k, .rounding = RATQ_ROUND_SINGLE, .snap = snap};
                CHECK_MSG(ratq_qnet_quantize(&q, &o) == 0, "%s: cpu quantize", what);
                CUDA_CHECK(cudaMemcpy(dp, q.params, q.n_params * sizeof(float), cudaMemcpyHostToDevice));
                CUDA_CHECK(cudaMemset(dst, 0xff, sizeof *dst));
                CHECK_MSG(ratq_qnet_cuda_quantize_device(g, &q, dp, dst) == 0, "%s: device quantize", what);
                CHECK_MSG(ratq_qnet_cuda_download_quantized(g, &d) == 0, "%s: download", what);
                CUDA_CHECK(cudaMemcpy(&hst, dst, sizeof hst, cudaMemcpyDeviceToHost));
                CHECK_MSG(hst == ~0ull, "%s k=%d: device status %llx", what, k, hst);
                long bad = 0, total = 0;
                for (int i = 0; i < q.n_ops; i++) {
                    const ratq_qnop *a = &q.ops[i], *bq = &d.ops[i];
                    if (!a->wq) continue;
                    const size_t nw = (size_t)a->oc * a->per_oc;
                    bad += memcmp(a->wq, bq->wq, nw) != 0 || memcmp(a->wr, bq->wr, nw * sizeof(float)) != 0 ||
                           memcmp(a->bq, bq->bq, (size_t)a->oc * sizeof(int32_t)) != 0 ||
                           memcmp(a->rs, bq->rs, (size_t)a->oc * sizeof(ratq_rescale)) != 0 ||
                           memcmp(a->ratio, bq->ratio, (size_t)a->oc * sizeof(float)) != 0 ||
                           memcmp(a->w_scale, bq->w_scale, (size_t)a->oc * sizeof(double)) != 0;
                    total += (long)nw;
                }
                CHECK_MSG(bad == 0, "%s k=%d snap=%d perturbed=%d: %ld ops differ from ratq_qnet_quantize", what, k,
                          snap, pert, bad);
                printf("%-10s k=%-2d snap=%d perturbed=%d: %ld weights %s\n", what, k, snap, pert, total,
                       bad ? "DIFFER" : "bit-identical");
            }
    // a NaN weight: status names the op and channel the CPU stops at
    int op = -1;
    for (int i = 0; i < q.n_ops && op < 0; i++)
        if (q.ops[i].kind == RATQ_QN_CONV && i > 2) op = i;
    q.params[q.ops[op].w_off + (size_t)3 * q.ops[op].per_oc] = NAN;
    CHECK_MSG(ratq_qnet_quantize(&q, &o0) != 0, "%s: the CPU must reject a NaN weight", what);
    CUDA_CHECK(cudaMemcpy(dp, q.params, q.n_params * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(dst, 0xff, sizeof *dst));
    if (g) ratq_qnet_cuda_quantize_device(g, &q, dp, dst);
    CUDA_CHECK(cudaMemcpy(&hst, dst, sizeof hst, cudaMemcpyDeviceToHost));
    int eo, ec, ek;
    ratq_qe_error_decode(hst, &eo, &ec, &ek);
    CHECK_MSG(eo == op && ec == 3 && ek == RATQ_QE_WEIGHT_NONFINITE, "%s: NaN status op %d ch %d kind %d", what, eo, ec,
              ek);
    CUDA_CHECK(cudaFree(dp));
    CUDA_CHECK(cudaFree(dst));
    ratq_qnet_cuda_destroy(g);
    ratq_qnet_free(&q);
    ratq_qnet_free(&d);
}

static void mode_resume(const model_src *src) {
    const step_case c = {"resume sgd float-teacher", 8, 4, RATQ_OPT_SGD, RATQ_TEACHER_FLOAT, 0.5f, 2.0f, 0.1f,
                         RATQ_QNET_GEMM_TF32, TOL_UPDATE_TF32};
    const ratq_quant_options qo = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    ratq_qnet q, t, q2;
    build_student(src, &q);
    build_teacher(src, &q, c.teacher, &t);
    batches b;
    make_batches(&b, &q, c.batch, 4, 99);
    run_out straight;
    memset(&straight, 0, sizeof straight);
    CHECK_MSG(gpu_run(src, &c, &qo, &b, 4, 1, NULL, 0, &straight) == 0, "resume: 4 straight steps");
    // 2 steps, checkpoint, new trainer, 2 steps
    ratq_rat_cuda_config g = gpu_cfg(&c);
    const size_t np = q.n_params;
    float *s1 = calloc(np, sizeof(float));
    double loss[8];
    char ck[512];
    snprintf(ck, sizeof ck, "%s/resume.ckpt", g_dir);
    ratq_rat_cuda *tr = ratq_rat_cuda_create(&q, &qo, &t, &g);
    CHECK_MSG(tr && gpu_steps(tr, &b, 0, 2, loss, NULL) == 0 && ratq_rat_cuda_sync_to_host(tr, &q, s1, NULL) == 0,
              "resume: first half");
    ratq_ckpt_info ci = {.next_step = 2, .seed = 1, .global_batch = c.batch};
    CHECK_MSG(ratq_ckpt_save(ck, &q, RATQ_OPT_SGD, s1, NULL, &ci) == 0, "resume: save");
    ratq_rat_cuda_destroy(tr);
    build_student(src, &q2);
    q2.opt = qo;
    float *r1 = calloc(np, sizeof(float));
    ratq_ckpt_info li;
    CHECK_MSG(ratq_ckpt_load(ck, &q2, RATQ_OPT_SGD, r1, NULL, &li) == 0 && li.next_step == 2, "resume: load");
    // the CPU's step 2 from the checkpoint (a copy of q2 before the trainer quantizes it)
    ratq_qnet qc;
    build_student(src, &qc);
    memcpy(qc.params, q2.params, np * sizeof(float));
    float *c1 = malloc(np * sizeof(float)), *c2 = calloc(np, sizeof(float)), *pbase = malloc(np * sizeof(float));
    memcpy(c1, r1, np * sizeof(float));
    memcpy(pbase, q2.params, np * sizeof(float));
    double lcpu;
    int64_t ccpu;
    CHECK_MSG(cpu_step(&qc, &qo, &t, &c, step_img(&b, 2), step_lab(&b, 2), 2, lr_at(2), c1, c2, &lcpu, &ccpu) == 0,
              "resume: cpu step 2");
    tr = ratq_rat_cuda_create(&q2, &qo, &t, &g);
    CHECK_MSG(tr && ratq_rat_cuda_load(tr, &q2, r1, NULL) == 0, "resume: second trainer");
    // step 2 alone to compare with the CPU, then step 3
    CHECK_MSG(tr && gpu_steps(tr, &b, 2, 3, loss, NULL) == 0 && ratq_rat_cuda_sync_to_host(tr, &q2, r1, NULL) == 0,
              "resume: step 2");
    long nonfinite = 0;
    const double e = rel_l2(q2.params, qc.params, pbase, np, &nonfinite);
    CHECK_MSG(e <= c.tol && fabs(loss[2] - lcpu) <= TOL_LOSS * fabs(lcpu),
              "resume: GPU step 2 vs CPU step 2 from the checkpoint: update rel L2 %.3g, loss %.17g vs %.17g", e,
              loss[2], lcpu);
    CHECK_MSG(tr && gpu_steps(tr, &b, 3, 4, loss, NULL) == 0 && ratq_rat_cuda_sync_to_host(tr, &q2, r1, NULL) == 0,
              "resume: step 3");
    CHECK_MSG(straight.params && !memcmp(straight.params, q2.params, np * sizeof(float)) &&
                  !memcmp(straight.s1, r1, np * sizeof(float)) && loss[3] == straight.loss[3],
              "resume: 2 + 2 steps through a checkpoint differ from 4 straight steps");
    printf("resume: 4 steps == 2 + checkpoint + 2 (bit-identical); GPU vs CPU step from the checkpoint: rel L2 %.3g\n", e);
    ratq_rat_cuda_destroy(tr);
    unlink(ck);
    free_out(&straight);
    free(s1), free(r1), free(c1), free(c2), free(pbase);
    free_batches(&b);
    ratq_qnet_free(&q), ratq_qnet_free(&q2), ratq_qnet_free(&qc), ratq_qnet_free(&t);
}

static void mode_nccl(const model_src *src) {
    const step_case c = {"nccl", 8, 4, RATQ_OPT_ADAMW, RATQ_TEACHER_INT32, 0.7f, 1.5f, 0.0f, RATQ_QNET_GEMM_TF32, 0};
    const ratq_quant_options qo = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    ratq_qnet q;
    build_student(src, &q);
    batches b;
    make_batches(&b, &q, c.batch, 4, 7);
    ratq_dist *d = ratq_dist_init(NULL);
    CHECK_MSG(d && ratq_dist_world(d) == 1, "one-rank dist");
    run_out plain, nccl, graph;
    memset(&plain, 0, sizeof plain), memset(&nccl, 0, sizeof nccl), memset(&graph, 0, sizeof graph);
    CHECK_MSG(gpu_run(src, &c, &qo, &b, 4, 0, NULL, 0, &plain) == 0, "nccl: plain run");
    CHECK_MSG(gpu_run(src, &c, &qo, &b, 4, 0, d, 5000, &nccl) == 0, "nccl: NCCL run");
    CHECK_MSG(plain.params && nccl.params && same_out(&plain, &nccl, q.n_params, 4),
              "nccl: one rank through NCCL (bucketed) differs from the plain run");
    printf("nccl: 4 steps with the NCCL path on one rank == without (bit-identical)\n");
    if (ratq_nccl_graph_capture()) { // steps 2, 3 capture the slots' bodies with the collectives, 3 replays one
        CHECK_MSG(gpu_run(src, &c, &qo, &b, 4, 1, d, 5000, &graph) == 0, "nccl: NCCL run with graphs");
        CHECK_MSG(graph.params && same_out(&plain, &graph, q.n_params, 4),
                  "nccl: one rank through NCCL captured in CUDA Graphs differs from the plain run");
        printf("nccl: 4 steps with the NCCL collectives captured in the step graph == without NCCL (bit-identical)\n");
    } else
        printf("nccl: this NCCL cannot capture collectives in a graph (< 2.9.6): graph case not applicable\n");
    free_out(&plain), free_out(&nccl), free_out(&graph);
    ratq_dist_finalize(d);
    free_batches(&b);
    ratq_qnet_free(&q);
}

// ---- the RAT loop with the resident step table ----------------------------------------------------------------

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// A raw shard (host/data/data.h) of n images [res][res][3] with labels.
static int write_raw_shard(const char *path, const uint8_t *img, const int64_t *lab, int n, int res, int classes) {
    const uint64_t lab_off = 128, data_off = lab_off + 8 * (uint64_t)n, data = (uint64_t)n * res * res * 3;
    const uint64_t size = data_off + data;
    uint8_t *f = calloc(1, size);
    memcpy(f, "RATQIMG1", 8);
    put_u32(f + 8, 1), put_u32(f + 12, 0), put_u64(f + 16, (uint64_t)n), put_u32(f + 24, (uint32_t)res);
    put_u32(f + 28, (uint32_t)res), put_u32(f + 32, 3), put_u32(f + 36, (uint32_t)classes);
    put_u64(f + 40, lab_off), put_u64(f + 48, 0), put_u64(f + 56, data_off), put_u64(f + 64, data), put_u64(f + 72, size);
    for (int i = 0; i < n; i++) put_u64(f + lab_off + 8 * (uint64_t)i, (uint64_t)lab[i]);
    memcpy(f + data_off, img, data);
    FILE *fp = fopen(path, "wb");
    const int ok = fp && fwrite(f, 1, size, fp) == size;
    if (fp) fclose(fp);
    free(f);
    return ok ? 0 : -1;
}

static double log_loss_at(const char *log, int step) {
    const char *p = log;
    for (int s = 0; p && s < step; s++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !(p = strstr(p, "\"loss\":"))) return NAN;
    return atof(p + 7);
}

typedef struct {
    float *params;
    char *log;
} loop_out;

// The loop's configuration (6 steps).
static ratq_rat_config loop_cfg(ratq_train_device dev) {
    ratq_rat_config cfg = ratq_rat_config_default();
    cfg.epochs = 2;
    cfg.batch = 16;
    cfg.micro_batch = 8;
    cfg.limit = 48; // 3 steps per epoch
    cfg.lr = 0.05;
    cfg.label_smoothing = 0.1f;
    cfg.teacher = RATQ_TEACHER_INT32;
    cfg.distill_alpha = 0.5f;
    cfg.temperature = 2.0f;
    cfg.seed = 3;
    cfg.device = dev;
    cfg.gpu = g_device;
    return cfg;
}

static int loop_run(const model_src *src, const ratq_dataset *ds, ratq_train_device dev, int graphs, int64_t stop_after,
                    int resume, const char *tag, loop_out *o) {
    ratq_qnet q, t;
    build_student(src, &q);
    build_teacher(src, &q, RATQ_TEACHER_INT32, &t);
    const ratq_quant_options qo = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    ratq_rat_config cfg = loop_cfg(dev);
    cfg.cuda_graphs = graphs;
    char logp[600], ckp[600];
    snprintf(logp, sizeof logp, "%s/%s.jsonl", g_dir, tag);
    snprintf(ckp, sizeof ckp, "%s/%s.ckpt", g_dir, tag);
    cfg.log_path = logp;
    cfg.ckpt_path = ckp;
    cfg.stop_after = stop_after;
    cfg.resume = resume;
    ratq_rat_stats st;
    const int rc = ratq_rat_train(&q, &qo, &t, ds, &cfg, &st);
    o->params = malloc(q.n_params * sizeof(float));
    memcpy(o->params, q.params, q.n_params * sizeof(float));
    o->log = ratq_read_file(logp, NULL);
    ratq_qnet_free(&q);
    ratq_qnet_free(&t);
    return rc == 0 && o->log ? 0 : -1;
}

// The benchmark's path on the loop's data: ratq_rat_cuda_stage / _step by hand, batch t from the input stream
// (host/data/stream.h, the loop's transform, seed and order), lr from the loop's schedule. Final weights into o->params,
// losses into loss[6].
static int bench_path(const model_src *src, const ratq_dataset *ds, loop_out *o, double *loss) {
    ratq_qnet q, t;
    build_student(src, &q);
    build_teacher(src, &q, RATQ_TEACHER_INT32, &t);
    const ratq_quant_options qo = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    const ratq_rat_config cfg = loop_cfg(RATQ_DEVICE_CUDA);
    q.opt = qo;
    ratq_stream_config sc = ratq_stream_config_default();
    sc.batch = cfg.batch;
    sc.limit = cfg.limit;
    sc.seed = cfg.seed;
    sc.num_workers = 2;
    sc.tf = ratq_quant_transform(ds, q.resolution); // the loop's transform without --augment
    sc.alloc = ratq_rat_cuda_host_alloc;
    sc.free = ratq_rat_cuda_host_free;
    ratq_stream *s = ratq_stream_create(ds, &sc);
    const int64_t total = s ? ratq_stream_steps_per_epoch(s) * cfg.epochs : 0;
    ratq_lr_schedule sched = {.base_lr = cfg.lr, .final_lr = cfg.final_lr, .warmup_init_lr = 0,
                              .warmup_steps = cfg.warmup_steps, .total_steps = total};
    ratq_rat_cuda_config g = ratq_rat_cuda_config_from(&cfg);
    ratq_rat_cuda *tr = s && total == 6 ? ratq_rat_cuda_create(&q, &qo, &t, &g) : NULL;
    int rc = tr && ratq_stream_start(s, 0, total) == 0 ? 0 : -1;
    ratq_stream_batch bt[6];
    for (int64_t k = 0; rc == 0 && k < total; k++) {
        if (ratq_stream_next(s, &bt[k]) != 1 || bt[k].step != k || ratq_rat_cuda_stage(tr, (int)(k & 1), bt[k].images,
                                                                                          bt[k].labels) != 0) {
            rc = -1;
            break;
        }
        ratq_rat_cuda_result r;
        if (ratq_rat_cuda_step(tr, (int)(k & 1), k, ratq_lr_at(&sched, k), &r) != 0) rc = -1;
        else loss[k] = r.loss;
        ratq_stream_release(s, &bt[k]);
    }
    if (rc == 0) rc = ratq_rat_cuda_sync_to_host(tr, &q, NULL, NULL);
    o->params = malloc(q.n_params * sizeof(float));
    memcpy(o->params, q.params, q.n_params * sizeof(float));
    ratq_rat_cuda_destroy(tr);
    ratq_stream_destroy(s);
    ratq_qnet_free(&q);
    ratq_qnet_free(&t);
    return rc;
}

static void mode_loop(const model_src *src) {
    const int n = 64, res = 32;
    uint64_t st = 77;
    uint8_t *img = tq_smooth_images(n, res, &st);
    int64_t lab[64];
    for (int i = 0; i < n; i++) lab[i] = ratq_test_range(&st, 0, 9);
    char path[600];
    snprintf(path, sizeof path, "%s/loop.rqshard", g_dir);
    CHECK_MSG(write_raw_shard(path, img, lab, n, res, 10) == 0, "write %s", path);
    ratq_dataset *ds = ratq_data_open(path, NULL);
    CHECK_MSG(ds != NULL, "open %s", path);
    if (!ds) return;
    ratq_qnet q0;
    build_student(src, &q0);
    const size_t np = q0.n_params;
    loop_out cpu = {0}, g1 = {0}, g2 = {0}, half = {0}, rest = {0}, eager = {0}, bench = {0};
    double bl[6] = {0};
    CHECK_MSG(loop_run(src, ds, RATQ_DEVICE_CPU, 1, 3, 0, "cpu", &cpu) == 0, "loop: cpu run, stop after 3");
    CHECK_MSG(loop_run(src, ds, RATQ_DEVICE_CUDA, 1, 0, 0, "gpu1", &g1) == 0, "loop: resident run");
    CHECK_MSG(loop_run(src, ds, RATQ_DEVICE_CUDA, 1, 0, 0, "gpu2", &g2) == 0, "loop: resident rerun");
    CHECK_MSG(loop_run(src, ds, RATQ_DEVICE_CUDA, 1, 3, 0, "gpur", &half) == 0, "loop: resident, stop after 3");
    CHECK_MSG(loop_run(src, ds, RATQ_DEVICE_CUDA, 1, 0, 1, "gpur", &rest) == 0, "loop: resident, resumed");
    CHECK_MSG(loop_run(src, ds, RATQ_DEVICE_CUDA, 0, 0, 0, "gpue", &eager) == 0, "loop: resident, no graphs");
    CHECK_MSG(bench_path(src, ds, &bench, bl) == 0, "loop: the benchmark's path");
    if (!ratq_test_failures) {
        const double lc = log_loss_at(cpu.log, 0), lg = log_loss_at(g1.log, 0);
        CHECK_MSG(fabs(lg - lc) <= TOL_LOG * fabs(lc), "loop: step 0 loss gpu %.9g cpu %.9g", lg, lc);
        long nonfinite = 0;
        // the update is compared through the first 3 steps' total: tolerance of TF32 over 3 steps
        const double e = rel_l2(half.params, cpu.params, q0.params, np, &nonfinite);
        CHECK_MSG(nonfinite == 0 && e <= 3 * TOL_UPDATE_TF32, "loop: 3-step weight change rel L2 %.3g (tol %.2g)", e,
                  3 * TOL_UPDATE_TF32);
        CHECK_MSG(!memcmp(g1.params, g2.params, np * sizeof(float)) && !strcmp(g1.log, g2.log),
                  "loop: resident rerun not bit-identical");
        CHECK_MSG(!memcmp(g1.params, rest.params, np * sizeof(float)) && !strcmp(g1.log, rest.log),
                  "loop: stop + resume differs from the straight run");
        CHECK_MSG(!memcmp(g1.params, eager.params, np * sizeof(float)) && !strcmp(g1.log, eager.log),
                  "loop: --no-cuda-graphs differs from graph replay");
        CHECK_MSG(!memcmp(g1.params, bench.params, np * sizeof(float)), "loop: the loop's weights differ from the "
                  "benchmark path's (same batches, same learning rates)");
        for (int k = 0; k < 6; k++) {
            char txt[64];
            snprintf(txt, sizeof txt, "%.9g", bl[k]);
            CHECK_MSG(fabs(log_loss_at(g1.log, k) - atof(txt)) == 0, "loop: step %d: logged loss %.9g, the benchmark "
                      "path's %s", k, log_loss_at(g1.log, k), txt);
        }
        printf("loop: step 0 loss gpu %.9g cpu %.9g; 3-step change rel L2 %.3g; rerun, resume, eager and the benchmark "
               "path bit-identical\n", lg, lc, e);
    }
    loop_out *all[7] = {&cpu, &g1, &g2, &half, &rest, &eager, &bench};
    for (int i = 0; i < 7; i++) free(all[i]->params), free(all[i]->log);
    ratq_qnet_free(&q0);
    ratq_data_close(ds);
    free(img);
    const char *tags[5] = {"cpu", "gpu1", "gpu2", "gpur", "gpue"};
    for (int i = 0; i < 5; i++) {
        char f[700];
        snprintf(f, sizeof f, "%s/%s.jsonl", g_dir, tags[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s/%s.ckpt", g_dir, tags[i]);
        unlink(f);
    }
    unlink(path);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "tiny";
    if (ratq_cuda_device_count() <= 0) {
        printf("test_rat_step_cuda %s: no CUDA device, skipped\n", mode);
        return 77;
    }
    g_device = ratq_qnet_cuda_select(0);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/ratq_step_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) return 1;
    model_src src;
    if (!strcmp(mode, "quant")) {
        if (src_tiny(&src) == 0) quant_case(&src, "tiny");
        src_free(&src);
        if (src_lite0(&src) == 0) quant_case(&src, "lite0");
        else CHECK_MSG(0, "lite0 weights");
        src_free(&src);
    } else if (!strcmp(mode, "tiny")) {
        const step_case cases[] = {
            {"tiny sgd none mb4 fp32", 8, 4, RATQ_OPT_SGD, RATQ_TEACHER_NONE, 0, 1, 0.1f, RATQ_QNET_GEMM_FP32,
             TOL_UPDATE_FP32},
            {"tiny sgd float-teacher mb8 fp32", 8, 8, RATQ_OPT_SGD, RATQ_TEACHER_FLOAT, 0.5f, 2.0f, 0, RATQ_QNET_GEMM_FP32,
             TOL_UPDATE_FP32},
            {"tiny adamw int8-teacher mb4 fp32", 8, 4, RATQ_OPT_ADAMW, RATQ_TEACHER_INT32, 0.7f, 1.5f, 0.1f,
             RATQ_QNET_GEMM_FP32, TOL_UPDATE_FP32},
            {"tiny sgd none mb4 tf32", 8, 4, RATQ_OPT_SGD, RATQ_TEACHER_NONE, 0, 1, 0.1f, RATQ_QNET_GEMM_TF32,
             TOL_UPDATE_TF32},
            {"tiny sgd float-teacher mb8 bf16", 8, 8, RATQ_OPT_SGD, RATQ_TEACHER_FLOAT, 0.5f, 2.0f, 0,
             RATQ_QNET_GEMM_BF16, TOL_UPDATE_BF16},
        };
        if (src_tiny(&src) == 0)
            for (int i = 0; i < 5; i++) step_vs_cpu(&src, &cases[i]);
        src_free(&src);
    } else if (!strcmp(mode, "lite0")) {
        const step_case cases[] = {
            {"lite0 sgd float-teacher mb8 fp32", 8, 8, RATQ_OPT_SGD, RATQ_TEACHER_FLOAT, 0.5f, 2.0f, 0.1f,
             RATQ_QNET_GEMM_FP32, TOL_UPDATE_FP32},
            {"lite0 adamw none mb4 tf32", 8, 4, RATQ_OPT_ADAMW, RATQ_TEACHER_NONE, 0, 1, 0.1f, RATQ_QNET_GEMM_TF32,
             TOL_UPDATE_TF32},
        };
        if (src_lite0(&src) == 0)
            for (int i = 0; i < 2; i++) step_vs_cpu(&src, &cases[i]);
        else
            CHECK_MSG(0, "lite0 weights");
        src_free(&src);
    } else if (!strcmp(mode, "resume")) {
        if (src_tiny(&src) == 0) mode_resume(&src);
        src_free(&src);
    } else if (!strcmp(mode, "loop")) {
        if (src_tiny(&src) == 0) mode_loop(&src);
        src_free(&src);
    } else if (!strcmp(mode, "nccl")) {
        if (src_tiny(&src) == 0) mode_nccl(&src);
        src_free(&src);
    } else {
        fprintf(stderr, "usage: test_rat_step_cuda quant|tiny|lite0|resume|loop|nccl\n");
        return 2;
    }
    rmdir(g_dir);
    return ratq_test_finish("test_rat_step_cuda");
}
