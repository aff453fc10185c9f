// host/train/rat_step_host.c — the host RAT step (host/train/rat_step.h): loss, gradient accumulation, rank
// all-reduce and optimizer on the CPU; forward / backward on the CPU or, with cfg->device == RATQ_DEVICE_CUDA_HOST, on
// one GPU (host/quant/qnet_cuda.h, GEMMs per cfg->gemm; the int32 teacher's forward too, the float teacher stays on
// the CPU): RATQ_DEVICE_CUDA_HOST, the host-driven twin of the GPU-resident step (host/train/rat_step_cuda.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "cpu/float_loss.h"
#include "cpu/float_ops.h"
#include "qmodel/qmodel.h"
#include "quant/qnet_cuda.h"
#include "train/rat_step.h"
#include "train/rat_step_cuda.h" // ratq_rat_step_cuda_ops

typedef struct {
    float *gsum;           // [n_params] gradient sum over the chunks (chunks > 1)
    float *z, *dz, *tz;    // [MB][K] student logits, dL/dz, teacher logits
    double *ws;            // [2 K] softmax scratch of the distillation term (ratq_rat_loss_cpu)
    ratq_qnet_cuda *gq, *gt; // RATQ_DEVICE_CUDA_HOST: student, int32 teacher
} host_step;

static void host_destroy(ratq_rat_step *s) {
    host_step *h = s->impl;
    if (!h) return;
    ratq_qnet_cuda_destroy(h->gq);
    ratq_qnet_cuda_destroy(h->gt);
    free(h->gsum);
    free(h->z);
    free(h->dz);
    free(h->tz);
    free(h->ws);
    free(h);
    s->impl = NULL;
}

static int host_open(ratq_rat_step *s) {
    const int MB = s->micro_batch, K = s->q->num_classes;
    const ratq_rat_config *cfg = s->cfg;
    host_step *h = calloc(1, sizeof *h);
    s->impl = h;
    if (h) {
        h->gsum = s->chunks > 1 ? malloc(s->q->n_params * sizeof(float)) : NULL;
        h->z = malloc((size_t)MB * K * sizeof(float));
        h->dz = malloc((size_t)MB * K * sizeof(float));
        h->tz = malloc((size_t)MB * K * sizeof(float));
        h->ws = malloc(2 * (size_t)K * sizeof(double));
    }
    if (!h || (!h->gsum && s->chunks > 1) || !h->z || !h->dz || !h->tz || !h->ws) {
        ratq_error("finetune: out of memory");
        host_destroy(s);
        return -1;
    }
    if (cfg->device != RATQ_DEVICE_CUDA_HOST) return 0;
    // --device cuda-host: the student's (and the int32 teacher's) forward / backward on the GPU
    int rc = 0;
    if (!(h->gq = ratq_qnet_cuda_create(s->q, MB, cfg->gpu, 1))) rc = -1;
    else ratq_qnet_cuda_set_gemm(h->gq, cfg->gemm);
    if (rc == 0 && cfg->teacher == RATQ_TEACHER_INT32) {
        if (!s->teacher->quantized) {
            ratq_error("finetune: the int32 teacher is not quantized");
            rc = -1;
        } else if (!(h->gt = ratq_qnet_cuda_create(s->teacher, MB, cfg->gpu, 0)) ||
                   ratq_qnet_cuda_upload_quantized(h->gt, s->teacher) != 0)
            rc = -1;
    }
    if (rc) host_destroy(s);
    return rc;
}

static int host_begin(ratq_rat_step *s, int64_t t) {
    (void)t;
    host_step *h = s->impl;
    if (ratq_qnet_quantize(s->q, s->opt) != 0) return -1;
    return h->gq ? ratq_qnet_cuda_upload_quantized(h->gq, s->q) : 0;
}

static int host_micro_batch(ratq_rat_step *s, int c, const uint8_t *img, const int32_t *labels, double *loss,
                            int64_t *hits) {
    host_step *h = s->impl;
    const ratq_rat_config *cfg = s->cfg;
    ratq_qnet *q = s->q;
    const int MB = s->micro_batch, K = q->num_classes;
    if (cfg->teacher == RATQ_TEACHER_FLOAT) {
        const float *tl = ratq_qnet_float_forward(s->teacher, img, MB, 0);
        if (!tl) return -1;
        memcpy(h->tz, tl, (size_t)MB * K * sizeof(float));
    } else if (cfg->teacher == RATQ_TEACHER_INT32 && h->gt) {
        if (!ratq_qnet_cuda_forward(h->gt, s->teacher, img, MB)) return -1;
        ratq_qnet_cuda_logits(h->gt, s->teacher, h->tz);
    } else if (cfg->teacher == RATQ_TEACHER_INT32) {
        if (!ratq_qnet_forward(s->teacher, img, MB)) return -1;
        ratq_qnet_logits(s->teacher, h->tz);
    }
    const int8_t *lq = h->gq ? ratq_qnet_cuda_forward(h->gq, q, img, MB) : ratq_qnet_forward(q, img, MB);
    if (!lq) return -1;
    if (h->gq) ratq_qnet_cuda_logits(h->gq, q, h->z);
    else ratq_qnet_logits(q, h->z);
    const float a = cfg->teacher != RATQ_TEACHER_NONE ? cfg->distill_alpha : 0.0f;
    ratq_xent_params xp = {.n = MB, .classes = K, .label_smoothing = cfg->label_smoothing};
    *loss = ratq_rat_loss_cpu(&xp, h->z, h->tz, labels, a, cfg->temperature, h->dz, h->ws); // cpu/float_loss.h
    *hits = 0;
    for (int j = 0; j < MB; j++) *hits += ratq_qmodel_argmax(lq + (size_t)j * K, K) == labels[j];
    if ((h->gq ? ratq_qnet_cuda_backward(h->gq, q, h->dz) : ratq_qnet_backward(q, h->dz)) != 0) return -1;
    if (s->chunks > 1) { // gsum = ((g_0 + g_1) + ...), then / C: the association of the rank all-reduce
        if (c == 0) memcpy(h->gsum, q->grads, q->n_params * sizeof(float));
        else
            for (size_t i = 0; i < q->n_params; i++) h->gsum[i] += q->grads[i];
    }
    return 0;
}

static int host_update(ratq_rat_step *s, int64_t t, double lr) { // t: the AdamW / SGD step count
    host_step *h = s->impl;
    const ratq_rat_config *cfg = s->cfg;
    ratq_qnet *q = s->q;
    if (s->chunks > 1)
        for (size_t i = 0; i < q->n_params; i++) q->grads[i] = h->gsum[i] / (float)s->chunks;
    if (cfg->dist && ratq_dist_world(cfg->dist) > 1) ratq_dist_allreduce_mean_f32(cfg->dist, q->grads, q->n_params);
    if (cfg->optimizer == RATQ_OPT_ADAMW) {
        ratq_adamw_params ap = {.lr = (float)lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                .weight_decay = cfg->weight_decay, .step = t + 1};
        ratq_adamw_step_cpu(&ap, q->n_params, q->params, q->grads, s->state[0], s->state[1]);
    } else {
        ratq_sgd_params sp = {.lr = (float)lr, .momentum = cfg->momentum, .dampening = 0,
                              .weight_decay = cfg->weight_decay, .nesterov = 0, .step = t};
        ratq_sgd_step_cpu(&sp, q->n_params, q->params, q->grads, s->state[0]);
    }
    for (size_t i = 0; i < q->n_params; i++)
        if (!isfinite(q->params[i])) {
            if (!cfg->dist || ratq_dist_rank(cfg->dist) == 0) // the same weights on every rank: one line
                ratq_error("weight %zu is %g after the update (lr %g): training diverged and stopped", i,
                           (double)q->params[i], lr);
            return -1;
        }
    return 0;
}

static int host_sync(ratq_rat_step *s) {
    (void)s; // the weights and the optimizer state live on the host
    return 0;
}

const ratq_rat_step_ops ratq_rat_step_host_ops = {
    .name = "host",
    .open = host_open,
    .begin = host_begin,
    .micro_batch = host_micro_batch,
    .update = host_update,
    .sync_host = host_sync,
    .destroy = host_destroy,
};

int ratq_rat_step_open(ratq_rat_step *s, ratq_qnet *q, ratq_qnet *teacher, const ratq_quant_options *opt,
                       const ratq_rat_config *cfg, float *state1, float *state2, int micro_batch) {
    memset(s, 0, sizeof *s);
    s->q = q;
    s->teacher = teacher;
    s->opt = opt;
    s->cfg = cfg;
    s->state[0] = state1;
    s->state[1] = state2;
    s->micro_batch = micro_batch;
    s->chunks = cfg->batch / micro_batch;
    // The one place that chooses the step.
    s->ops = cfg->step_ops                     ? cfg->step_ops
             : cfg->device == RATQ_DEVICE_CUDA ? &ratq_rat_step_cuda_ops
                                               : &ratq_rat_step_host_ops;
    const ratq_rat_step_ops *o = s->ops;
    const int phases = o->begin && o->micro_batch && o->update, pipelined = o->stage && o->submit && o->collect;
    if (phases == pipelined || !o->open || !o->sync_host || !o->destroy) {
        ratq_error("finetune: step table '%s' must have either the phase or the pipelined entries", o->name);
        return -1;
    }
    return o->open(s);
}
