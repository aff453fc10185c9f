// host/train/rat_step_cuda.c — the GPU-resident RAT step (host/train/rat_step_cuda.h).
//
// Streams and events of one trainer (all on cfg.gpu):
//   st  compute: quantization, forwards, losses, backward, optimizer, the result copy;
//   cp  copy: the staged input batches (host -> device slot 0 / 1). The copy into a slot first waits for
//       ev_consumed[slot] (recorded on st after the slot's last step body), ev_staged[slot] marks it done, st waits for
//       it at the step start: the next batch's copy overlaps the current step;
//   nc  NCCL (world > 1, or cfg.force_nccl): waits for ev_bucket[k] (bucket k's gradients final on st), all-reduces the
//       bucket; after the backward also the step scalars; st waits for ev_nc before the optimizer. Inside a captured
//       step body the same events fork nc off st and join it back, so the graph holds the collectives.
// Per input slot: the captured graph, the step's timing events (ev_start, ev_end), its pinned result (h_res) and
// ev_done after the result copy; so step t + 1 can be submitted while step t's result is still to be collected.
// Reproducibility: every kernel is deterministic (fixed reduction orders, no floating-point atomics), cuBLAS runs its
// default algorithms with atomics disallowed on one stream, NCCL's order is fixed for one world size and topology, and
// a graph replays exactly the kernels of the eager body in the same order. Hence the same seed and data give
// bit-identical weights run after run on one machine setup (GPU model, driver, CUDA / cuBLAS / NCCL versions, world
// size, GEMM mode), with or without graphs, and a resumed checkpoint continues bit-identically. Across GPU models or
// library versions cuBLAS may pick other kernels (other summation orders); across world sizes the NCCL sum order
// changes; CPU and GPU differ by GEMM order: last-bit differences that grow over steps, within the per-step
// tolerances of rat_step_cuda.h.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "dist/nccl.h"
#include "quant/qnet_cuda.h"
#include "quant/qnet_float_cuda.h"
#include "train/rat_step.h"
#include "train/rat_step_cuda.h"

ratq_rat_cuda_config ratq_rat_cuda_config_default(void) {
    ratq_rat_cuda_config c;
    memset(&c, 0, sizeof c);
    c.batch = 32;
    c.optimizer = RATQ_OPT_SGD;
    c.momentum = 0.9f;
    c.distill_alpha = 1.0f;
    c.temperature = 1.0f;
    c.gemm = RATQ_QNET_GEMM_TF32;
    c.graphs = 1;
    return c;
}

ratq_rat_cuda_config ratq_rat_cuda_config_from(const ratq_rat_config *cfg) {
    ratq_rat_cuda_config c = ratq_rat_cuda_config_default();
    c.batch = cfg->batch;
    c.micro_batch = cfg->micro_batch;
    c.optimizer = cfg->optimizer;
    c.momentum = cfg->momentum;
    c.weight_decay = cfg->weight_decay;
    c.label_smoothing = cfg->label_smoothing;
    c.teacher = cfg->teacher;
    c.distill_alpha = cfg->distill_alpha;
    c.temperature = cfg->temperature;
    c.gpu = cfg->gpu;
    c.gemm = cfg->gemm;
    c.graphs = cfg->cuda_graphs;
    c.dist = cfg->dist;
    return c;
}

static int has_weights(const ratq_qnop *o) {
    return o->kind == RATQ_QN_CONV || o->kind == RATQ_QN_DWCONV || o->kind == RATQ_QN_FC;
}

// Built in backward order: op i's parameters are [w_off, b_off + oc), the ranges are contiguous and ascend with i.
int ratq_rat_cuda_buckets(const ratq_qnet *q, size_t target, size_t *lo, size_t *hi, int *low_op) {
    int nb = 0, open = 0;
    for (int i = q->n_ops - 1; i >= 0; i--) {
        const ratq_qnop *o = &q->ops[i];
        if (!has_weights(o)) continue;
        if (!open) {
            hi[nb] = o->b_off + (size_t)o->oc;
            open = 1;
        }
        lo[nb] = o->w_off;
        low_op[nb] = i;
        if (hi[nb] - lo[nb] >= target) {
            nb++;
            open = 0;
        }
    }
    return open ? nb + 1 : nb;
}

#ifndef RATQ_HAVE_CUDA

ratq_rat_cuda *ratq_rat_cuda_create(ratq_qnet *q, const ratq_quant_options *opt, const ratq_qnet *teacher,
                                    const ratq_rat_cuda_config *cfg) {
    (void)q, (void)opt, (void)teacher, (void)cfg;
    ratq_error("cuda: built without CUDA (reconfigure with nvcc on the PATH and -DRATQ_CUDA=ON)");
    return NULL;
}
void ratq_rat_cuda_destroy(ratq_rat_cuda *tr) { (void)tr; }
int ratq_rat_cuda_load(ratq_rat_cuda *tr, const ratq_qnet *q, const float *state1, const float *state2) {
    (void)tr, (void)q, (void)state1, (void)state2;
    return -1;
}
int ratq_rat_cuda_sync_to_host(ratq_rat_cuda *tr, ratq_qnet *q, float *state1, float *state2) {
    (void)tr, (void)q, (void)state1, (void)state2;
    return -1;
}
void *ratq_rat_cuda_host_alloc(size_t bytes) { return malloc(bytes ? bytes : 1); }
void ratq_rat_cuda_host_free(void *p) { free(p); }
int ratq_rat_cuda_stage(ratq_rat_cuda *tr, int slot, const uint8_t *images, const int32_t *labels) {
    (void)tr, (void)slot, (void)images, (void)labels;
    return -1;
}
int ratq_rat_cuda_submit(ratq_rat_cuda *tr, int slot, int64_t t, double lr) {
    (void)tr, (void)slot, (void)t, (void)lr;
    return -1;
}
int ratq_rat_cuda_collect(ratq_rat_cuda *tr, int slot, ratq_rat_cuda_result *res) {
    (void)tr, (void)slot, (void)res;
    return -1;
}
int ratq_rat_cuda_step(ratq_rat_cuda *tr, int slot, int64_t t, double lr, ratq_rat_cuda_result *res) {
    (void)tr, (void)slot, (void)t, (void)lr, (void)res;
    return -1;
}
int ratq_rat_cuda_uses_graphs(const ratq_rat_cuda *tr) {
    (void)tr;
    return 0;
}
double ratq_rat_cuda_last_step_ms(const ratq_rat_cuda *tr) {
    (void)tr;
    return 0;
}

#else

#include <cuda_runtime.h>

#include "cuda/cuda_check.h"
#include "cuda/loss_cuda.h"
#include "cuda/qnet_cuda.h"
#include "cuda/train_ops_cuda.h"

typedef struct {
    size_t lo, hi; // parameter range [lo, hi)
    int low_op;    // the op with the smallest index in the bucket: its backward completes the bucket
} bucket;

struct ratq_rat_cuda {
    ratq_rat_cuda_config cfg;
    ratq_qnet *q;                  // the student's op list (quantized once on the host for ADD / GAP)
    const ratq_qnet *teacher;      // NULL without a teacher
    int device, B, MB, C, K, world;
    size_t n_params, n_in;         // parameters; input bytes per image
    cudaStream_t st, cp, nc;
    ratq_qnet_cuda *student;       // train = 1
    ratq_qnet_cuda *tq;            // int32 teacher (forward only)
    ratq_qnet_float_cuda *tf;      // float teacher
    float *d_params, *d_s1, *d_s2; // master weights, optimizer state [n_params] (d_s2: AdamW only)
    float *d_gsum;                 // [n_params] the step's gradient (sum over chunks, then mean)
    uint8_t *d_img[2];             // [B][n_in] input slots
    int32_t *d_lab[2];             // [B]
    ratq_step_result *d_res;       // the running step's scalars
    ratq_step_result *h_res;       // [2] pinned: the result of the step submitted on each slot
    void *d_loss_ws;               // ratq_rat_loss_ws_bytes(MB)
    cudaEvent_t ev_staged[2], ev_consumed[2], ev_start[2], ev_end[2], ev_done[2], ev_bwd, ev_nc;
    cudaEvent_t *ev_bucket;        // [n_buckets]
    cudaGraphExec_t graph[2];      // the captured step body per input slot
    ratq_nccl *nccl;               // world > 1 (or cfg.force_nccl)
    bucket *buckets;               // [n_buckets], in backward order (highest parameters first)
    int n_buckets, next_bucket;
    int graphs;                    // replay captured bodies (cfg.graphs, and NCCL capturable if used)
    int staged[2];                 // a batch was staged into the slot since its last step
    int ran[2];                    // the slot's body ran eagerly once (modules loaded, cuBLAS handle and workspace,
                                   // NCCL channels set up): only then is it captured
    int pending[2];                // a step was submitted on the slot and not collected
    int64_t pend_t[2];             // its global step
    double pend_lr[2];             // its learning rate
    double last_ms;
};

static int dalloc(void **p, size_t bytes, const char *what) {
    *p = NULL;
    if (!bytes) return 0;
    cudaError_t e = cudaMalloc(p, bytes);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        *p = NULL;
        ratq_error("cuda: cannot allocate %zu bytes of device memory for %s: %s", bytes, what, cudaGetErrorString(e));
        return -1;
    }
    return 0;
}

void *ratq_rat_cuda_host_alloc(size_t bytes) {
    void *p = NULL;
    if (cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocPortable) != cudaSuccess) {
        (void)cudaGetLastError();
        return malloc(bytes ? bytes : 1); // no driver / pinned memory exhausted: pageable still works
    }
    return p;
}

void ratq_rat_cuda_host_free(void *p) {
    if (!p) return;
    struct cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) == cudaSuccess && a.type == cudaMemoryTypeHost) CUDA_CHECK(cudaFreeHost(p));
    else {
        (void)cudaGetLastError();
        free(p);
    }
}

static void destroy_event(cudaEvent_t e) {
    if (e) CUDA_CHECK(cudaEventDestroy(e));
}

void ratq_rat_cuda_destroy(ratq_rat_cuda *tr) {
    if (!tr) return;
    CUDA_CHECK(cudaSetDevice(tr->device));
    if (tr->st) CUDA_CHECK(cudaStreamSynchronize(tr->st));
    if (tr->cp) CUDA_CHECK(cudaStreamSynchronize(tr->cp));
    if (tr->nc) CUDA_CHECK(cudaStreamSynchronize(tr->nc));
    for (int s = 0; s < 2; s++) {
        if (tr->graph[s]) CUDA_CHECK(cudaGraphExecDestroy(tr->graph[s]));
        destroy_event(tr->ev_staged[s]);
        destroy_event(tr->ev_consumed[s]);
        destroy_event(tr->ev_start[s]);
        destroy_event(tr->ev_end[s]);
        destroy_event(tr->ev_done[s]);
        CUDA_CHECK(cudaFree(tr->d_img[s]));
        CUDA_CHECK(cudaFree(tr->d_lab[s]));
    }
    destroy_event(tr->ev_bwd);
    destroy_event(tr->ev_nc);
    for (int k = 0; tr->ev_bucket && k < tr->n_buckets; k++) destroy_event(tr->ev_bucket[k]);
    ratq_nccl_finalize(tr->nccl);
    ratq_qnet_cuda_destroy(tr->student);
    ratq_qnet_cuda_destroy(tr->tq);
    ratq_qnet_float_cuda_destroy(tr->tf);
    void *dev[] = {tr->d_params, tr->d_s1, tr->d_s2, tr->d_gsum, tr->d_res, tr->d_loss_ws};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) CUDA_CHECK(cudaFree(dev[i]));
    if (tr->h_res) CUDA_CHECK(cudaFreeHost(tr->h_res));
    cudaStream_t ss[] = {tr->st, tr->cp, tr->nc};
    for (size_t i = 0; i < 3; i++)
        if (ss[i]) CUDA_CHECK(cudaStreamDestroy(ss[i]));
    free(tr->ev_bucket);
    free(tr->buckets);
    free(tr);
}

// The all-reduce buckets (ratq_rat_cuda_buckets) as structs.
static int make_buckets(ratq_rat_cuda *tr, size_t target) {
    const int n = tr->q->n_ops;
    size_t *lo = malloc((size_t)n * sizeof *lo), *hi = malloc((size_t)n * sizeof *hi);
    int *low = malloc((size_t)n * sizeof *low);
    tr->buckets = calloc((size_t)n, sizeof *tr->buckets);
    int rc = lo && hi && low && tr->buckets ? 0 : -1;
    if (rc == 0) {
        tr->n_buckets = ratq_rat_cuda_buckets(tr->q, target, lo, hi, low);
        for (int k = 0; k < tr->n_buckets; k++) tr->buckets[k] = (bucket){lo[k], hi[k], low[k]};
    }
    free(lo), free(hi), free(low);
    return rc;
}

ratq_rat_cuda *ratq_rat_cuda_create(ratq_qnet *q, const ratq_quant_options *opt, const ratq_qnet *teacher,
                                    const ratq_rat_cuda_config *cfg) {
    const int B = cfg->batch, MB = cfg->micro_batch > 0 ? cfg->micro_batch : cfg->batch;
    if (B < 1 || MB > B || B % MB != 0) {
        ratq_error("finetune: micro batch %d does not divide the per-rank batch %d", MB, B);
        return NULL;
    }
    if (cfg->teacher != RATQ_TEACHER_NONE &&
        (!teacher || teacher->n_ops != q->n_ops || teacher->num_classes != q->num_classes ||
         (cfg->teacher == RATQ_TEACHER_INT32 && !teacher->quantized))) {
        ratq_error("finetune: distillation needs a teacher of the student's architecture%s",
                   cfg->teacher == RATQ_TEACHER_INT32 ? ", quantized" : "");
        return NULL;
    }
    if (ratq_qnet_quantize(q, opt) != 0) return NULL; // the fixed ADD / GAP parameters, a consistent start
    const int ndev = ratq_cuda_device_count();
    if (cfg->gpu < 0 || cfg->gpu >= ndev) {
        ratq_error("cuda: device %d does not exist (%d CUDA devices)", cfg->gpu, ndev);
        return NULL;
    }
    ratq_rat_cuda *tr = calloc(1, sizeof *tr);
    if (!tr) {
        ratq_error("cuda: out of host memory");
        return NULL;
    }
    tr->cfg = *cfg;
    tr->q = q;
    tr->teacher = cfg->teacher != RATQ_TEACHER_NONE ? teacher : NULL;
    tr->device = cfg->gpu;
    tr->B = B;
    tr->MB = MB;
    tr->C = B / MB;
    tr->K = q->num_classes;
    tr->world = cfg->dist ? ratq_dist_world(cfg->dist) : 1;
    const int use_nccl = tr->world > 1 || (cfg->force_nccl && cfg->dist);
    tr->graphs = cfg->graphs && (!use_nccl || ratq_nccl_graph_capture());
    tr->n_params = q->n_params;
    tr->n_in = (size_t)q->resolution * q->resolution * q->in_c;
    CUDA_CHECK(cudaSetDevice(tr->device));
    // cuBLAS and any stream-ordered allocation reuse the pool's memory: never returned to the OS between steps
    cudaMemPool_t pool;
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, tr->device));
    uint64_t keep = UINT64_MAX;
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
    CUDA_CHECK(cudaStreamCreateWithFlags(&tr->st, cudaStreamNonBlocking));
    CUDA_CHECK(cudaStreamCreateWithFlags(&tr->cp, cudaStreamNonBlocking));
    for (int s = 0; s < 2; s++) {
        CUDA_CHECK(cudaEventCreateWithFlags(&tr->ev_staged[s], cudaEventDisableTiming));
        CUDA_CHECK(cudaEventCreateWithFlags(&tr->ev_consumed[s], cudaEventDisableTiming));
        CUDA_CHECK(cudaEventCreateWithFlags(&tr->ev_done[s], cudaEventDisableTiming));
        CUDA_CHECK(cudaEventCreate(&tr->ev_start[s]));
        CUDA_CHECK(cudaEventCreate(&tr->ev_end[s]));
    }
    if (!(tr->student = ratq_qnet_cuda_create(q, MB, tr->device, 1))) goto fail;
    ratq_qnet_cuda_set_stream(tr->student, tr->st);
    ratq_qnet_cuda_set_gemm(tr->student, cfg->gemm);
    if (ratq_qnet_cuda_quantize_setup(tr->student, q) != 0) goto fail;
    if (cfg->teacher == RATQ_TEACHER_INT32) {
        if (!(tr->tq = ratq_qnet_cuda_create(teacher, MB, tr->device, 0))) goto fail;
        ratq_qnet_cuda_set_stream(tr->tq, tr->st);
        if (ratq_qnet_cuda_upload_quantized(tr->tq, teacher) != 0) goto fail;
    } else if (cfg->teacher == RATQ_TEACHER_FLOAT) {
        if (!(tr->tf = ratq_qnet_float_cuda_create(teacher, MB, tr->device))) goto fail;
        ratq_qnet_float_cuda_set_stream(tr->tf, tr->st);
        ratq_qnet_float_cuda_set_gemm(tr->tf, cfg->gemm);
    }
    const size_t pb = tr->n_params * sizeof(float);
    if (dalloc((void **)&tr->d_params, pb, "master weights") || dalloc((void **)&tr->d_s1, pb, "optimizer state") ||
        (cfg->optimizer == RATQ_OPT_ADAMW && dalloc((void **)&tr->d_s2, pb, "AdamW second moment")) ||
        dalloc((void **)&tr->d_gsum, pb, "gradients") || dalloc((void **)&tr->d_res, sizeof *tr->d_res, "step result") ||
        dalloc(&tr->d_loss_ws, ratq_rat_loss_ws_bytes(MB), "loss scratch"))
        goto fail;
    for (int s = 0; s < 2; s++)
        if (dalloc((void **)&tr->d_img[s], tr->n_in * (size_t)B, "input batch") ||
            dalloc((void **)&tr->d_lab[s], sizeof(int32_t) * (size_t)B, "labels"))
            goto fail;
    CUDA_CHECK(cudaHostAlloc((void **)&tr->h_res, 2 * sizeof *tr->h_res, cudaHostAllocDefault));
    if (use_nccl) {
        if (!(tr->nccl = ratq_nccl_init(cfg->dist))) goto fail;
        if (ratq_nccl_device(tr->nccl) != tr->device) {
            ratq_error("finetune: rank %d: NCCL runs on GPU %d but the trainer on GPU %d (one GPU per local rank)",
                       ratq_dist_rank(cfg->dist), ratq_nccl_device(tr->nccl), tr->device);
            goto fail;
        }
        CUDA_CHECK(cudaSetDevice(tr->device));
        CUDA_CHECK(cudaStreamCreateWithFlags(&tr->nc, cudaStreamNonBlocking));
        CUDA_CHECK(cudaEventCreateWithFlags(&tr->ev_bwd, cudaEventDisableTiming));
        CUDA_CHECK(cudaEventCreateWithFlags(&tr->ev_nc, cudaEventDisableTiming));
        if (make_buckets(tr, cfg->bucket_params ? cfg->bucket_params : (size_t)1 << 20) != 0 ||
            !(tr->ev_bucket = calloc((size_t)(tr->n_buckets > 0 ? tr->n_buckets : 1), sizeof *tr->ev_bucket))) {
            ratq_error("cuda: out of host memory");
            goto fail;
        }
        for (int k = 0; k < tr->n_buckets; k++)
            CUDA_CHECK(cudaEventCreateWithFlags(&tr->ev_bucket[k], cudaEventDisableTiming));
    }
    if (ratq_rat_cuda_load(tr, q, NULL, NULL) != 0) goto fail;
    return tr;
fail:
    ratq_rat_cuda_destroy(tr);
    return NULL;
}

int ratq_rat_cuda_uses_graphs(const ratq_rat_cuda *tr) { return tr->graphs; }

// A step is outstanding on some slot: the state must not be read or replaced now.
static int busy(const ratq_rat_cuda *tr, const char *what) {
    if (!tr->pending[0] && !tr->pending[1]) return 0;
    ratq_error("finetune: %s while step %lld is not collected", what,
               (long long)tr->pend_t[tr->pending[0] ? 0 : 1]);
    return 1;
}

int ratq_rat_cuda_load(ratq_rat_cuda *tr, const ratq_qnet *q, const float *state1, const float *state2) {
    if (q->n_params != tr->n_params) {
        ratq_error("finetune: loading %zu parameters into a trainer of %zu", q->n_params, tr->n_params);
        return -1;
    }
    if (busy(tr, "loading weights")) return -1;
    CUDA_CHECK(cudaSetDevice(tr->device));
    const size_t pb = tr->n_params * sizeof(float);
    CUDA_CHECK(cudaMemcpyAsync(tr->d_params, q->params, pb, cudaMemcpyHostToDevice, tr->st));
    if (state1) CUDA_CHECK(cudaMemcpyAsync(tr->d_s1, state1, pb, cudaMemcpyHostToDevice, tr->st));
    else CUDA_CHECK(cudaMemsetAsync(tr->d_s1, 0, pb, tr->st));
    if (tr->d_s2) {
        if (state2) CUDA_CHECK(cudaMemcpyAsync(tr->d_s2, state2, pb, cudaMemcpyHostToDevice, tr->st));
        else CUDA_CHECK(cudaMemsetAsync(tr->d_s2, 0, pb, tr->st));
    }
    CUDA_CHECK(cudaStreamSynchronize(tr->st));
    return 0;
}

int ratq_rat_cuda_sync_to_host(ratq_rat_cuda *tr, ratq_qnet *q, float *state1, float *state2) {
    if (q->n_params != tr->n_params) {
        ratq_error("finetune: syncing %zu parameters from a trainer of %zu", q->n_params, tr->n_params);
        return -1;
    }
    if (busy(tr, "reading the weights back")) return -1;
    CUDA_CHECK(cudaSetDevice(tr->device));
    const size_t pb = tr->n_params * sizeof(float);
    CUDA_CHECK(cudaMemcpyAsync(q->params, tr->d_params, pb, cudaMemcpyDeviceToHost, tr->st));
    if (state1) CUDA_CHECK(cudaMemcpyAsync(state1, tr->d_s1, pb, cudaMemcpyDeviceToHost, tr->st));
    if (state2 && tr->d_s2) CUDA_CHECK(cudaMemcpyAsync(state2, tr->d_s2, pb, cudaMemcpyDeviceToHost, tr->st));
    CUDA_CHECK(cudaStreamSynchronize(tr->st));
    for (size_t i = 0; i < tr->n_params; i++)
        if (!isfinite(q->params[i])) {
            ratq_error("finetune: master weight %zu is not finite (training diverged; lower the learning rate)", i);
            return -1;
        }
    return 0;
}

int ratq_rat_cuda_stage(ratq_rat_cuda *tr, int slot, const uint8_t *images, const int32_t *labels) {
    if (slot < 0 || slot > 1) {
        ratq_error("finetune: input slot %d (0 or 1)", slot);
        return -1;
    }
    for (int j = 0; j < tr->B; j++)
        if (labels[j] < 0 || labels[j] >= tr->K) {
            ratq_error("finetune: label %d of image %d in the batch is outside the model's %d classes", labels[j], j,
                       tr->K);
            return -1;
        }
    CUDA_CHECK(cudaSetDevice(tr->device));
    // the slot's previous step must have read it (a never-recorded event is complete)
    CUDA_CHECK(cudaStreamWaitEvent(tr->cp, tr->ev_consumed[slot], 0));
    CUDA_CHECK(cudaMemcpyAsync(tr->d_img[slot], images, tr->n_in * (size_t)tr->B, cudaMemcpyHostToDevice, tr->cp));
    CUDA_CHECK(cudaMemcpyAsync(tr->d_lab[slot], labels, sizeof(int32_t) * (size_t)tr->B, cudaMemcpyHostToDevice, tr->cp));
    CUDA_CHECK(cudaEventRecord(tr->ev_staged[slot], tr->cp));
    tr->staged[slot] = 1;
    return 0;
}

// Bucket k is complete: (mean over chunks, then) all-reduce it on the NCCL stream once st has produced it.
static void launch_bucket(ratq_rat_cuda *tr, int k) {
    const bucket *b = &tr->buckets[k];
    if (tr->C > 1) ratq_div_cuda((int64_t)(b->hi - b->lo), tr->d_gsum + b->lo, (float)tr->C, tr->st);
    CUDA_CHECK(cudaEventRecord(tr->ev_bucket[k], tr->st));
    CUDA_CHECK(cudaStreamWaitEvent(tr->nc, tr->ev_bucket[k], 0));
    ratq_nccl_allreduce_mean_f32(tr->nccl, tr->d_gsum + b->lo, b->hi - b->lo, tr->nc);
}

static void on_op_done(void *arg, int op) {
    ratq_rat_cuda *tr = arg;
    while (tr->next_bucket < tr->n_buckets && tr->buckets[tr->next_bucket].low_op == op) launch_bucket(tr, tr->next_bucket++);
}

// Micro-batch c on device images img [MB][n_in] and labels lab [MB]: teacher forward, student forward, loss (added to
// the result as loss / C), backward into d_gsum (added for c > 0); with NCCL the last micro-batch's backward launches
// the gradient buckets as it completes them. All on st.
static int enqueue_chunk(ratq_rat_cuda *tr, int c, const uint8_t *img, const int32_t *lab) {
    const ratq_qnet *q = tr->q;
    const ratq_qact *so = &q->ops[q->n_ops - 1].out;
    ratq_rat_loss_params lp = {.n = tr->MB, .classes = tr->K, .label_smoothing = tr->cfg.label_smoothing,
                               .alpha = tr->cfg.teacher != RATQ_TEACHER_NONE ? tr->cfg.distill_alpha : 0.0f,
                               .temperature = tr->cfg.temperature, .chunks = tr->C, .s_scale = so->scale,
                               .s_zp = so->zp};
    if (tr->tq) {
        lp.t_scale = tr->teacher->ops[tr->teacher->n_ops - 1].out.scale;
        lp.t_zp = tr->teacher->ops[tr->teacher->n_ops - 1].out.zp;
    }
    const float *t_f = NULL;
    const int8_t *t_q = NULL;
    if (tr->tf && !(t_f = ratq_qnet_float_cuda_forward_device(tr->tf, tr->teacher, img, tr->MB))) return -1;
    if (tr->tq && !(t_q = ratq_qnet_cuda_forward_device(tr->tq, tr->teacher, img, tr->MB))) return -1;
    const int8_t *s_q = ratq_qnet_cuda_forward_device(tr->student, q, img, tr->MB);
    if (!s_q) return -1;
    ratq_rat_loss_cuda(&lp, s_q, t_f, t_q, lab, ratq_qnet_cuda_dlogits(tr->student), tr->d_res, tr->d_loss_ws, tr->st);
    const int overlap = c == tr->C - 1 && tr->nccl;
    if (overlap) tr->next_bucket = 0;
    return ratq_qnet_cuda_backward_device(tr->student, q, tr->d_gsum, c > 0, overlap ? on_op_done : NULL, tr);
}

// The step body on input slot `slot`, all on st (eager, or captured into a graph): result zeroed (status ~0), the
// device quantization of the master weights, every micro-batch; then the gradient mean over chunks (one rank) or, with
// NCCL, the join of the bucket all-reduces and the loss / correct sums (nc forks off st at each bucket and joins st
// again here, so a capture holds the collectives).
static int enqueue_body(ratq_rat_cuda *tr, int slot) {
    cudaStream_t s = tr->st;
    CUDA_CHECK(cudaMemsetAsync(tr->d_res, 0, sizeof *tr->d_res, s));
    CUDA_CHECK(cudaMemsetAsync(&tr->d_res->status, 0xff, sizeof tr->d_res->status, s));
    if (ratq_qnet_cuda_quantize_device(tr->student, tr->q, tr->d_params, &tr->d_res->status) != 0) return -1;
    for (int c = 0; c < tr->C; c++)
        if (enqueue_chunk(tr, c, tr->d_img[slot] + (size_t)c * tr->MB * tr->n_in,
                          tr->d_lab[slot] + (size_t)c * tr->MB) != 0)
            return -1;
    if (tr->nccl) { // every bucket was launched by the last backward
        CUDA_CHECK(cudaEventRecord(tr->ev_bwd, s));
        CUDA_CHECK(cudaStreamWaitEvent(tr->nc, tr->ev_bwd, 0));
        ratq_nccl_allreduce_sum_f64(tr->nccl, &tr->d_res->loss, 1, tr->nc);
        ratq_nccl_allreduce_sum_i64(tr->nccl, (int64_t *)&tr->d_res->correct, 1, tr->nc);
        CUDA_CHECK(cudaEventRecord(tr->ev_nc, tr->nc));
        CUDA_CHECK(cudaStreamWaitEvent(s, tr->ev_nc, 0));
    } else if (tr->C > 1)
        ratq_div_cuda((int64_t)tr->n_params, tr->d_gsum, (float)tr->C, s);
    return 0;
}

// After the body: the optimizer, the count of non-finite master weights, the result copy into the slot's pinned
// result; ends with the slot's ev_done.
static void enqueue_update(ratq_rat_cuda *tr, int slot, int64_t t, double lr) {
    cudaStream_t s = tr->st;
    if (tr->cfg.optimizer == RATQ_OPT_ADAMW) {
        ratq_adamw_params ap = {.lr = (float)lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                .weight_decay = tr->cfg.weight_decay, .step = t + 1};
        ratq_adamw_step_cuda(&ap, tr->n_params, tr->d_params, tr->d_gsum, tr->d_s1, tr->d_s2, s);
    } else {
        ratq_sgd_params sp = {.lr = (float)lr, .momentum = tr->cfg.momentum, .dampening = 0,
                              .weight_decay = tr->cfg.weight_decay, .nesterov = 0, .step = t};
        ratq_sgd_step_cuda(&sp, tr->n_params, tr->d_params, tr->d_gsum, tr->d_s1, s);
    }
    CUDA_CHECK(cudaMemsetAsync(&tr->d_res->nonfinite, 0, sizeof tr->d_res->nonfinite, s));
    ratq_count_nonfinite_cuda((int64_t)tr->n_params, tr->d_params, &tr->d_res->nonfinite, s);
    CUDA_CHECK(cudaEventRecord(tr->ev_end[slot], s));
    CUDA_CHECK(cudaMemcpyAsync(&tr->h_res[slot], tr->d_res, sizeof *tr->h_res, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaEventRecord(tr->ev_done[slot], s));
}

static int capture(ratq_rat_cuda *tr, int slot) {
    cudaGraph_t gr = NULL;
    CUDA_CHECK(cudaStreamBeginCapture(tr->st, cudaStreamCaptureModeThreadLocal));
    const int rc = enqueue_body(tr, slot);
    CUDA_CHECK(cudaStreamEndCapture(tr->st, &gr));
    if (rc != 0) {
        CUDA_CHECK(cudaGraphDestroy(gr));
        return -1;
    }
    CUDA_CHECK(cudaGraphInstantiate(&tr->graph[slot], gr, 0));
    CUDA_CHECK(cudaGraphDestroy(gr));
    return 0;
}

int ratq_rat_cuda_submit(ratq_rat_cuda *tr, int slot, int64_t t, double lr) {
    if (slot < 0 || slot > 1 || !tr->staged[slot] || tr->pending[slot]) {
        ratq_error("finetune: step %lld on input slot %d: %s", (long long)t, slot,
                   slot < 0 || slot > 1 ? "no such slot (0 or 1)"
                   : tr->pending[slot] ? "the slot's previous step was not collected"
                                       : "no batch staged");
        return -1;
    }
    CUDA_CHECK(cudaSetDevice(tr->device));
    cudaStream_t s = tr->st;
    CUDA_CHECK(cudaStreamWaitEvent(s, tr->ev_staged[slot], 0));
    CUDA_CHECK(cudaEventRecord(tr->ev_start[slot], s));
    if (tr->graphs && (tr->graph[slot] || tr->ran[slot])) {
        if (!tr->graph[slot] && capture(tr, slot) != 0) return -1;
        CUDA_CHECK(cudaGraphLaunch(tr->graph[slot], s));
    } else {
        tr->ran[slot] = 1;
        if (enqueue_body(tr, slot) != 0) return -1;
    }
    CUDA_CHECK(cudaEventRecord(tr->ev_consumed[slot], s)); // the slot's images and labels are read
    enqueue_update(tr, slot, t, lr);
    tr->staged[slot] = 0;
    tr->pending[slot] = 1;
    tr->pend_t[slot] = t;
    tr->pend_lr[slot] = lr;
    return 0;
}

int ratq_rat_cuda_collect(ratq_rat_cuda *tr, int slot, ratq_rat_cuda_result *res) {
    if (slot < 0 || slot > 1 || !tr->pending[slot]) {
        ratq_error("finetune: collecting input slot %d with no step submitted", slot);
        return -1;
    }
    const int64_t t = tr->pend_t[slot];
    CUDA_CHECK(cudaSetDevice(tr->device));
    if (tr->nccl) { // a dead or stalled rank: exit 3 naming this step
        if (tr->cfg.dist) ratq_dist_set_step(tr->cfg.dist, t);
        ratq_nccl_wait(tr->nccl, tr->ev_done[slot], "NCCL gradient all-reduce");
    } else
        CUDA_CHECK(cudaEventSynchronize(tr->ev_done[slot]));
    tr->pending[slot] = 0;
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, tr->ev_start[slot], tr->ev_end[slot]));
    tr->last_ms = ms;
    const ratq_step_result *h = &tr->h_res[slot];
    const int first = !tr->cfg.dist || ratq_dist_rank(tr->cfg.dist) == 0; // same values on every rank: one line
    const double loss = h->loss / tr->world;
    ratq_error_context("finetune: step %lld", (long long)t); // every line below names the step (then cleared)
    int rc = ratq_qnet_cuda_status_check(tr->q, h->status);
    if (rc == 0 && !isfinite(loss)) {
        if (first)
            ratq_error("loss is %g: training diverged and stopped; nothing of this step was saved (try a lower --lr)",
                       loss);
        rc = -1;
    } else if (rc == 0 && h->nonfinite != 0) {
        if (first)
            ratq_error("%llu master weights are not finite after the update (lr %g): training diverged and stopped",
                       h->nonfinite, tr->pend_lr[slot]);
        rc = -1;
    }
    ratq_error_context(NULL);
    if (rc != 0) return -1;
    res->loss = loss;
    res->correct = h->correct;
    res->images = (int64_t)tr->B * tr->world;
    return 0;
}

int ratq_rat_cuda_step(ratq_rat_cuda *tr, int slot, int64_t t, double lr, ratq_rat_cuda_result *res) {
    if (ratq_rat_cuda_submit(tr, slot, t, lr) != 0) return -1;
    return ratq_rat_cuda_collect(tr, slot, res);
}

double ratq_rat_cuda_last_step_ms(const ratq_rat_cuda *tr) { return tr->last_ms; }

#endif

// ---- the step table (host/train/rat_step.h): the RAT loop's seam, cfg->device == RATQ_DEVICE_CUDA --------------------
// Pipelined: open builds the trainer from the loop's config and uploads the (possibly resumed) host state; stage /
// submit / collect run step t on input slot t & 1 (rat_step_cuda.h "Driving it"); sync_host brings weights and state
// back for a checkpoint (nothing outstanding).

static int resident_open(ratq_rat_step *s) {
    ratq_rat_cuda_config c = ratq_rat_cuda_config_from(s->cfg);
    c.micro_batch = s->micro_batch;
    ratq_rat_cuda *tr = ratq_rat_cuda_create(s->q, s->opt, s->teacher, &c);
    if (!tr) return -1;
    if (ratq_rat_cuda_load(tr, s->q, s->state[0], s->state[1]) != 0) {
        ratq_rat_cuda_destroy(tr);
        return -1;
    }
    s->impl = tr;
    return 0;
}
static int resident_stage(ratq_rat_step *s, int64_t t, const uint8_t *img, const int32_t *labels) {
    return ratq_rat_cuda_stage(s->impl, (int)(t & 1), img, labels);
}
static int resident_submit(ratq_rat_step *s, int64_t t, double lr) {
    return ratq_rat_cuda_submit(s->impl, (int)(t & 1), t, lr);
}
static int resident_collect(ratq_rat_step *s, int64_t t, double *loss, int64_t *hits) {
    ratq_rat_cuda_result r;
    if (ratq_rat_cuda_collect(s->impl, (int)(t & 1), &r) != 0) return -1;
    *loss = r.loss;
    *hits = r.correct;
    return 0;
}
static int resident_sync(ratq_rat_step *s) { return ratq_rat_cuda_sync_to_host(s->impl, s->q, s->state[0], s->state[1]); }
static void resident_destroy(ratq_rat_step *s) {
    ratq_rat_cuda_destroy(s->impl);
    s->impl = NULL;
}

const ratq_rat_step_ops ratq_rat_step_cuda_ops = {
    .name = "cuda",
    .open = resident_open,
    .stage = resident_stage,
    .submit = resident_submit,
    .collect = resident_collect,
    .sync_host = resident_sync,
    .destroy = resident_destroy,
};
