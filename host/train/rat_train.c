// host/train/rat_train.c — the RAT loop (host/train/rat_train.h). Data: the first `limit` images of the dataset; epoch e visits them in
// the order ratq_data_epoch_order(limit, shuffle, seed, e) (host/data/data.h), cut into global batches of
// cfg->batch x ranks (drop_last), of which each rank takes its slice in micro-batches (host/train/rat_train.h). Without augmentation the images are decoded once and cached; with it every batch is decoded and
// transformed (RATQ_TF_TRAIN keyed by (seed, epoch, dataset index)).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "qmodel/qmodel.h"
#include "quant/calib_eval.h"
#include "quant/qnet_cuda.h"
#include "train/rat_train.h"

ratq_rat_config ratq_rat_config_default(void) {
    ratq_rat_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 1;
    c.batch = 32;
    c.lr = 1e-3;
    c.final_lr = 0;
    c.momentum = 0.9f;
    c.distill_alpha = 1.0f;
    c.temperature = 1.0f;
    c.seed = 1;
    return c;
}

typedef struct {
    const ratq_dataset *ds;
    ratq_transform tf;
    int h, w, c;
    size_t per;         // bytes per image
    int64_t n;          // images used
    uint8_t *cache;     // [n][per] when not augmenting
    ratq_image img, scratch;
    uint64_t seed;
} feeder;

static int feed_image(feeder *fd, int64_t idx, int64_t epoch, uint8_t *dst) {
    if (fd->cache) {
        memcpy(dst, fd->cache + (size_t)idx * fd->per, fd->per);
        return 0;
    }
    if (ratq_data_read(fd->ds, idx, &fd->img) != 0) return -1;
    return ratq_transform_apply(&fd->tf, &fd->img, fd->seed, epoch, idx, dst, &fd->scratch);
}

static int feeder_init(feeder *fd, const ratq_dataset *ds, int res, int augment, int64_t limit, uint64_t seed) {
    memset(fd, 0, sizeof *fd);
    fd->ds = ds;
    fd->seed = seed;
    fd->n = ratq_data_count(ds);
    if (limit > 0 && limit < fd->n) fd->n = limit;
    if (augment) {
        fd->tf = ratq_transform_train(res);
        fd->tf.out_channels = 3;
    } else
        fd->tf = ratq_quant_transform(ds, res);
    ratq_data_info info = ratq_data_get_info(ds);
    if (ratq_transform_check(&fd->tf, &info) != 0) return -1;
    ratq_transform_out_shape(&fd->tf, &info, &fd->h, &fd->w, &fd->c);
    if (fd->h != res || fd->w != res || fd->c != 3) {
        ratq_error("finetune: transform gives %dx%dx%d images, the model needs %dx%dx3", fd->h, fd->w, fd->c, res, res);
        return -1;
    }
    fd->per = (size_t)res * res * 3;
    if (!augment) {
        fd->cache = malloc(fd->per * (size_t)fd->n);
        if (!fd->cache) {
            ratq_error("finetune: out of memory caching %lld images", (long long)fd->n);
            return -1;
        }
        for (int64_t i = 0; i < fd->n; i++) {
            if (ratq_data_read(ds, i, &fd->img) != 0 ||
                ratq_transform_apply(&fd->tf, &fd->img, seed, 0, i, fd->cache + (size_t)i * fd->per, &fd->scratch) != 0)
                return -1;
        }
    }
    return 0;
}

static void feeder_free(feeder *fd) {
    free(fd->cache);
    ratq_image_free(&fd->img);
    ratq_image_free(&fd->scratch);
}

// softmax(x / T) of one row into p (double accumulation)
static void softmax_t(const float *x, int k, float T, double *p) {
    double mx = x[0];
    for (int i = 1; i < k; i++)
        if (x[i] > mx) mx = x[i];
    double s = 0;
    for (int i = 0; i < k; i++) s += (p[i] = exp(((double)x[i] - mx) / T));
    for (int i = 0; i < k; i++) p[i] /= s;
}

// Distillation term: returns a T^2 KL(p_t || p_s) averaged over rows, adds a T (p_s - p_t) / N to dz.
static double distill(const float *z, const float *t, int n, int k, float a, float T, float *dz, double *ws) {
    double *ps = ws, *pt = ws + k, loss = 0;
    for (int r = 0; r < n; r++) {
        softmax_t(z + (size_t)r * k, k, T, ps);
        softmax_t(t + (size_t)r * k, k, T, pt);
        for (int i = 0; i < k; i++) {
            if (pt[i] > 0) loss += pt[i] * (log(pt[i]) - log(ps[i] > 1e-300 ? ps[i] : 1e-300));
            dz[(size_t)r * k + i] += (float)(a * T * (ps[i] - pt[i]) / n);
        }
    }
    return a * (double)T * T * loss / n;
}

// Rank 0's weights, activation quantization and optimizer state (and the resume step) to every rank.
static int sync_start(ratq_dist *d, ratq_qnet *q, float *mom, float *v2, int64_t *start) {
    if (!d || ratq_dist_world(d) == 1) return 0;
    ratq_qact *acts = malloc((size_t)q->n_ops * sizeof *acts);
    if (!acts) {
        ratq_error("finetune: out of memory");
        return -1;
    }
    for (int i = 0; i < q->n_ops; i++) acts[i] = q->ops[i].out;
    ratq_dist_broadcast(d, acts, (size_t)q->n_ops * sizeof *acts, 0);
    for (int i = 0; i < q->n_ops; i++) q->ops[i].out = acts[i];
    free(acts);
    ratq_dist_broadcast(d, start, sizeof *start, 0);
    ratq_dist_broadcast(d, q->params, q->n_params * sizeof(float), 0);
    ratq_dist_broadcast(d, mom, q->n_params * sizeof(float), 0);
    if (v2) ratq_dist_broadcast(d, v2, q->n_params * sizeof(float), 0);
    return 0;
}

// Fault drills (tests/cpu/dist_finetune.cmake): RATQ_FAULT_DIE="RANK:STEP" makes that rank vanish (_exit(9)) at
// step STEP, as a crashed or killed process would; RATQ_FAULT_STALL="RANK:STEP:SECONDS" makes it hang that long
// before the step's collectives. The other ranks must exit (status 3) within the dist timeout, never hang.
static void fault_drill(int rank, int64_t step) {
    const char *f = getenv("RATQ_FAULT_DIE");
    int r, secs;
    long long s;
    if (f && sscanf(f, "%d:%lld", &r, &s) == 2 && r == rank && s == step) {
        fprintf(stderr, "rank %d: RATQ_FAULT_DIE: exiting at step %lld\n", rank, s);
        _exit(9);
    }
    f = getenv("RATQ_FAULT_STALL");
    if (f && sscanf(f, "%d:%lld:%d", &r, &s, &secs) == 3 && r == rank && s == step) {
        fprintf(stderr, "rank %d: RATQ_FAULT_STALL: hanging %d s at step %lld\n", rank, secs, s);
        sleep((unsigned)secs);
    }
}

int ratq_rat_train(ratq_qnet *q, const ratq_quant_options *opt, ratq_qnet *teacher, const ratq_dataset *ds,
                   const ratq_rat_config *cfg, ratq_rat_stats *st) {
    memset(st, 0, sizeof *st);
    ratq_dist *dist = cfg->dist;
    const int rank = dist ? ratq_dist_rank(dist) : 0, world = dist ? ratq_dist_world(dist) : 1;
    if (cfg->teacher != RATQ_TEACHER_NONE && !teacher) {
        ratq_error("finetune: distillation needs a teacher network");
        return -1;
    }
    const int B = cfg->batch, MB = cfg->micro_batch > 0 ? cfg->micro_batch : cfg->batch, K = q->num_classes;
    if (B < 1 || MB > B || B % MB != 0) {
        ratq_error("finetune: micro batch %d does not divide the per-rank batch %d", MB, B);
        return -1;
    }
    const int chunks = B / MB;
    const int64_t G = (int64_t)B * world;
    feeder fd;
    if (feeder_init(&fd, ds, q->resolution, cfg->augment, cfg->limit, cfg->seed) != 0) {
        feeder_free(&fd);
        return -1;
    }
    const int64_t nb = fd.n / G, total = nb * cfg->epochs;
    st->total_steps = total;
    if (nb < 1) {
        ratq_error("finetune: %lld training images are fewer than one global batch of %lld (%d per rank x %d ranks)",
                   (long long)fd.n, (long long)G, B, world);
        feeder_free(&fd);
        return -1;
    }
    q->opt = *opt;
    float *mom = calloc(q->n_params, sizeof(float));
    float *v2 = cfg->optimizer == RATQ_OPT_ADAMW ? calloc(q->n_params, sizeof(float)) : NULL;
    float *gsum = chunks > 1 ? malloc(q->n_params * sizeof(float)) : NULL;
    uint8_t *img = malloc(fd.per * MB);
    int64_t *order = malloc((size_t)fd.n * sizeof *order);
    int32_t *labels = malloc((size_t)MB * sizeof *labels);
    float *z = malloc((size_t)MB * K * sizeof(float)), *dz = malloc((size_t)MB * K * sizeof(float));
    float *tz = malloc((size_t)MB * K * sizeof(float));
    double *ws = malloc(2 * (size_t)K * sizeof(double));
    int rc = (mom && (v2 || cfg->optimizer != RATQ_OPT_ADAMW) && (gsum || chunks == 1) && img && order && labels &&
              z && dz && tz && ws) ? 0 : -1;
    if (rc) ratq_error("finetune: out of memory");
    int64_t start = 0;
    if (rc == 0 && cfg->resume && cfg->ckpt_path && rank == 0) {
        ratq_ckpt_info ci;
        int r = ratq_ckpt_load(cfg->ckpt_path, q, (int)cfg->optimizer, mom, v2, &ci);
        if (r < 0) rc = -1;
        else if (r == 0 && ci.seed != cfg->seed) {
            ratq_error("%s: seed: checkpoint has %llu, this run %llu", cfg->ckpt_path, (unsigned long long)ci.seed,
                       (unsigned long long)cfg->seed);
            rc = -1;
        } else if (r == 0 && ci.global_batch != 0 && ci.global_batch != G) {
            ratq_error("%s: global_batch: checkpoint has %lld images per step, this run %lld (%d per rank x %d ranks)",
                       cfg->ckpt_path, (long long)ci.global_batch, (long long)G, B, world);
            rc = -1;
        } else if (r == 0 && ci.next_step > total) {
            ratq_error("%s: next_step: %lld is past this run's %lld steps", cfg->ckpt_path, (long long)ci.next_step,
                       (long long)total);
            rc = -1;
        } else if (r == 0)
            start = ci.next_step;
    }
    if (dist && world > 1) { // every rank learns whether rank 0 could start
        int64_t ok = rc == 0 ? 0 : 1;
        ratq_dist_allreduce_sum_i64(dist, &ok, 1);
        if (ok && rc == 0) rc = -1; // the failing rank printed the reason
        if (rc == 0) rc = sync_start(dist, q, mom, v2, &start);
    }
    FILE *log = NULL;
    if (rc == 0 && rank == 0 && cfg->log_path && !(log = fopen(cfg->log_path, start > 0 ? "a" : "w"))) {
        ratq_error("%s: cannot open the log for writing", cfg->log_path);
        rc = -1;
    }
    // --device cuda: the student's (and the int32 teacher's) forward / backward on the GPU (host/train/rat_train.h)
    ratq_qnet_cuda *gq = NULL, *gt = NULL;
    if (rc == 0 && cfg->device == RATQ_DEVICE_CUDA) {
        if (!(gq = ratq_qnet_cuda_create(q, MB, cfg->gpu, 1))) rc = -1;
        else if (cfg->teacher == RATQ_TEACHER_INT32) {
            if (!teacher->quantized) {
                ratq_error("finetune: the int32 teacher is not quantized");
                rc = -1;
            } else if (!(gt = ratq_qnet_cuda_create(teacher, MB, cfg->gpu, 0)) ||
                       ratq_qnet_cuda_upload_quantized(gt, teacher) != 0)
                rc = -1;
        }
    }
    ratq_lr_schedule sched = {.base_lr = cfg->lr, .final_lr = cfg->final_lr, .warmup_init_lr = 0,
                              .warmup_steps = cfg->warmup_steps, .total_steps = total};
    double ep_loss = 0, ep_acc = 0;
    int64_t ep_steps = 0, cur_epoch = -1, t = start;
    for (; rc == 0 && t < total; t++) {
        const int64_t e = t / nb, b = t % nb;
        if (dist) ratq_dist_set_step(dist, t);
        fault_drill(rank, t);
        if (e != cur_epoch) {
            ratq_data_epoch_order(fd.n, 1, cfg->seed, e, 0, 1, order);
            cur_epoch = e;
            ep_loss = ep_acc = 0;
            ep_steps = 0;
        }
        if ((rc = ratq_qnet_quantize(q, opt)) != 0) break;
        if (gq && (rc = ratq_qnet_cuda_upload_quantized(gq, q)) != 0) break;
        double loss = 0; // mean over this rank's chunks of the chunk's mean loss
        int64_t counts[2] = {0, G}; // correct predictions (over all ranks), images
        for (int c = 0; c < chunks && rc == 0; c++) {
            const int64_t base = b * G + (int64_t)rank * B + (int64_t)c * MB;
            for (int j = 0; j < MB && rc == 0; j++) {
                int64_t idx = order[base + j];
                labels[j] = (int32_t)ratq_data_label(ds, idx);
                if (labels[j] < 0 || labels[j] >= K) {
                    ratq_error("finetune: image %lld: label %d outside the model's %d classes", (long long)idx,
                               labels[j], K);
                    rc = -1;
                } else
                    rc = feed_image(&fd, idx, e, img + (size_t)j * fd.per);
            }
            if (rc) break;
            if (cfg->teacher == RATQ_TEACHER_FLOAT) {
                const float *tl = ratq_qnet_float_forward(teacher, img, MB, 0);
                if (!tl) { rc = -1; break; }
                memcpy(tz, tl, (size_t)MB * K * sizeof(float));
            } else if (cfg->teacher == RATQ_TEACHER_INT32 && gt) {
                if (!ratq_qnet_cuda_forward(gt, teacher, img, MB)) { rc = -1; break; }
                ratq_qnet_cuda_logits(gt, teacher, tz);
            } else if (cfg->teacher == RATQ_TEACHER_INT32) {
                if (!ratq_qnet_forward(teacher, img, MB)) { rc = -1; break; }
                ratq_qnet_logits(teacher, tz);
            }
            const int8_t *lq = gq ? ratq_qnet_cuda_forward(gq, q, img, MB) : ratq_qnet_forward(q, img, MB);
            if (!lq) { rc = -1; break; }
            if (gq)
                ratq_qnet_cuda_logits(gq, q, z);
            else
                ratq_qnet_logits(q, z);
            const float a = cfg->teacher != RATQ_TEACHER_NONE ? cfg->distill_alpha : 0.0f;
            ratq_xent_params xp = {.n = MB, .classes = K, .label_smoothing = cfg->label_smoothing};
            double l = ratq_softmax_xent_cpu(&xp, z, labels, dz) * (1.0 - a);
            for (size_t i = 0; i < (size_t)MB * K; i++) dz[i] *= 1.0f - a;
            if (a > 0) l += distill(z, tz, MB, K, a, cfg->temperature, dz, ws);
            loss += l / chunks;
            for (int j = 0; j < MB; j++) counts[0] += ratq_qmodel_argmax(lq + (size_t)j * K, K) == labels[j];
            if ((rc = gq ? ratq_qnet_cuda_backward(gq, q, dz) : ratq_qnet_backward(q, dz)) != 0) break;
            if (chunks > 1) { // gsum = ((g_0 + g_1) + ...), then / C: the association of the rank all-reduce
                if (c == 0) memcpy(gsum, q->grads, q->n_params * sizeof(float));
                else
                    for (size_t i = 0; i < q->n_params; i++) gsum[i] += q->grads[i];
            }
        }
        if (rc) break;
        if (chunks > 1)
            for (size_t i = 0; i < q->n_params; i++) q->grads[i] = gsum[i] / (float)chunks;
        if (dist && world > 1) {
            ratq_dist_allreduce_mean_f32(dist, q->grads, q->n_params);
            float lm = (float)loss;
            ratq_dist_allreduce_mean_f32(dist, &lm, 1);
            loss = lm;
            ratq_dist_allreduce_sum_i64(dist, counts, 1);
        }
        double lr = ratq_lr_at(&sched, t);
        if (cfg->optimizer == RATQ_OPT_ADAMW) {
            ratq_adamw_params ap = {.lr = (float)lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                    .weight_decay = cfg->weight_decay, .step = t + 1};
            ratq_adamw_step_cpu(&ap, q->n_params, q->params, q->grads, mom, v2);
        } else {
            ratq_sgd_params sp = {.lr = (float)lr, .momentum = cfg->momentum, .dampening = 0,
                                  .weight_decay = cfg->weight_decay, .nesterov = 0, .step = t};
            ratq_sgd_step_cpu(&sp, q->n_params, q->params, q->grads, mom);
        }
        const double acc = (double)counts[0] / (double)counts[1];
        ep_loss += loss;
        ep_acc += acc;
        ep_steps++;
        st->last_loss = ep_loss / ep_steps;
        st->last_acc = ep_acc / ep_steps;
        if (log) {
            fprintf(log, "{\"step\":%lld,\"epoch\":%lld,\"loss\":%.9g,\"acc\":%.6f,\"lr\":%.9g}\n", (long long)t,
                    (long long)e, loss, acc, lr);
            fflush(log);
        }
        if (cfg->progress && rank == 0)
            fprintf(stderr, "\rstep %lld/%lld  epoch %lld  loss %.4f  acc %.3f  lr %.3g   ", (long long)t + 1,
                    (long long)total, (long long)e, st->last_loss, st->last_acc, lr);
        const int64_t done = t + 1;
        int stop = cfg->stop_after > 0 && done >= cfg->stop_after && done < total;
        if (rank == 0 && cfg->ckpt_path &&
            ((cfg->ckpt_every > 0 && done % cfg->ckpt_every == 0) || stop || done == total)) {
            ratq_ckpt_info ci = {.next_step = done, .seed = cfg->seed, .global_batch = G};
            if (ratq_ckpt_save(cfg->ckpt_path, q, (int)cfg->optimizer, mom, v2, &ci) != 0) rc = -1;
        }
        if (stop) {
            t++;
            break;
        }
    }
    if (cfg->progress && rank == 0) fputc('\n', stderr);
    st->steps_done = t;
    st->finished = rc == 0 && t >= total;
    if (rc == 0) rc = ratq_qnet_quantize(q, opt); // the final integer model from the final weights
    if (log) fclose(log);
    ratq_qnet_cuda_destroy(gq);
    ratq_qnet_cuda_destroy(gt);
    free(mom);
    free(v2);
    free(gsum);
    free(img);
    free(order);
    free(labels);
    free(z);
    free(dz);
    free(tz);
    free(ws);
    feeder_free(&fd);
    return rc;
}
