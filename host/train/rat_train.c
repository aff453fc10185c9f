// host/train/rat_train.c — the RAT loop (host/train/rat_train.h). Data: the first `limit` images of the dataset;
// epoch e visits them in the order ratq_data_epoch_order(limit, shuffle, seed, e) (host/data/data.h), cut into
// global batches of cfg->batch x ranks (drop_last), of which each rank takes its slice in micro-batches.
// The loop is cut into: setup (buffers, feeder), resume (checkpoint, broadcast to the ranks), one step (the
// micro-batches and the update, through the step table of host/train/rat_step.h), and log / checkpoint.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "train/internal.h"
#include "train/rat_step.h"
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

// One training run: what setup computes and allocates, and the state the steps advance.
typedef struct {
    ratq_qnet *q, *teacher;
    const ratq_quant_options *opt;
    const ratq_rat_config *cfg;
    const ratq_dataset *ds;
    int rank, world;
    int B, MB, chunks;         // per-rank batch, micro-batch, micro-batches per step
    int64_t G, nb, total;      // global batch, steps per epoch, steps
    ratq_feeder fd;
    float *state1, *state2;    // optimizer state: SGD momentum | AdamW m, v
    uint8_t *img;              // [MB][per] one micro-batch of images
    int64_t *order;            // [n] this epoch's order
    int32_t *labels;           // [MB]
    int64_t epoch;             // epoch of `order` (-1: none yet)
    ratq_train_log log;        // rank 0
    ratq_rat_step step;
    int step_open;
} rat_run;

// Checks, the feeder and the buffers. Returns 0 or -1 after an error line.
static int rat_setup(rat_run *r, ratq_rat_stats *st) {
    const ratq_rat_config *cfg = r->cfg;
    r->rank = cfg->dist ? ratq_dist_rank(cfg->dist) : 0;
    r->world = cfg->dist ? ratq_dist_world(cfg->dist) : 1;
    r->epoch = -1;
    if (cfg->teacher != RATQ_TEACHER_NONE && !r->teacher) {
        ratq_error("finetune: distillation needs a teacher network");
        return -1;
    }
    r->B = cfg->batch;
    r->MB = cfg->micro_batch > 0 ? cfg->micro_batch : cfg->batch;
    if (r->B < 1 || r->MB > r->B || r->B % r->MB != 0) {
        ratq_error("finetune: micro batch %d does not divide the per-rank batch %d", r->MB, r->B);
        return -1;
    }
    r->chunks = r->B / r->MB;
    r->G = (int64_t)r->B * r->world;
    if (ratq_feeder_init(&r->fd, r->ds, r->q->resolution, cfg->augment, cfg->limit, cfg->seed) != 0) return -1;
    r->nb = r->fd.n / r->G;
    r->total = r->nb * cfg->epochs;
    st->total_steps = r->total;
    if (r->nb < 1) {
        ratq_error("finetune: %lld training images are fewer than one global batch of %lld (%d per rank x %d ranks)",
                   (long long)r->fd.n, (long long)r->G, r->B, r->world);
        return -1;
    }
    const size_t np = r->q->n_params;
    r->state1 = calloc(np, sizeof(float));
    r->state2 = cfg->optimizer == RATQ_OPT_ADAMW ? calloc(np, sizeof(float)) : NULL;
    r->img = malloc(r->fd.per * r->MB);
    r->order = malloc((size_t)r->fd.n * sizeof *r->order);
    r->labels = malloc((size_t)r->MB * sizeof *r->labels);
    if (!r->state1 || (!r->state2 && cfg->optimizer == RATQ_OPT_ADAMW) || !r->img || !r->order || !r->labels) {
        ratq_error("finetune: out of memory");
        return -1;
    }
    return 0;
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

// The first step: 0, or with cfg->resume the checkpoint's next step (rank 0 reads it; weights, activation
// quantization and optimizer state go to every rank). rc: this rank's setup result; every rank learns whether
// all could start. Returns 0 or -1 (after an error line on the rank that failed).
static int rat_resume(rat_run *r, int rc, int64_t *start) {
    const ratq_rat_config *cfg = r->cfg;
    *start = 0;
    if (rc == 0 && cfg->resume && cfg->ckpt_path && r->rank == 0) {
        ratq_ckpt_info ci;
        int l = ratq_ckpt_load(cfg->ckpt_path, r->q, (int)cfg->optimizer, r->state1, r->state2, &ci);
        if (l < 0) rc = -1;
        else if (l == 0 && ci.seed != cfg->seed) {
            ratq_error("%s: seed: checkpoint has %llu, this run %llu", cfg->ckpt_path, (unsigned long long)ci.seed,
                       (unsigned long long)cfg->seed);
            rc = -1;
        } else if (l == 0 && ci.global_batch != 0 && ci.global_batch != r->G) {
            ratq_error("%s: global_batch: checkpoint has %lld images per step, this run %lld (%d per rank x %d ranks)",
                       cfg->ckpt_path, (long long)ci.global_batch, (long long)r->G, r->B, r->world);
            rc = -1;
        } else if (l == 0 && ci.next_step > r->total) {
            ratq_error("%s: next_step: %lld is past this run's %lld steps", cfg->ckpt_path, (long long)ci.next_step,
                       (long long)r->total);
            rc = -1;
        } else if (l == 0)
            *start = ci.next_step;
    }
    if (cfg->dist && r->world > 1) { // every rank learns whether rank 0 could start
        int64_t bad = rc == 0 ? 0 : 1;
        ratq_dist_allreduce_sum_i64(cfg->dist, &bad, 1);
        if (bad && rc == 0) rc = -1; // the failing rank printed the reason
        if (rc == 0) rc = sync_start(cfg->dist, r->q, r->state1, r->state2, start);
    }
    return rc;
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

// Labels and images of micro-batch c of this rank's slice of step (e, b). Returns 0 or -1 after an error line.
static int rat_feed(rat_run *r, int64_t e, int64_t b, int c) {
    const int64_t base = b * r->G + (int64_t)r->rank * r->B + (int64_t)c * r->MB;
    const int K = r->q->num_classes;
    for (int j = 0; j < r->MB; j++) {
        const int64_t idx = r->order[base + j];
        r->labels[j] = (int32_t)ratq_data_label(r->ds, idx);
        if (r->labels[j] < 0 || r->labels[j] >= K) {
            ratq_error("%s: image %lld: label %d outside the model's %d classes", ratq_data_path(r->ds), (long long)idx,
                       r->labels[j], K);
            return -1;
        }
        if (ratq_feeder_image(&r->fd, idx, e, r->img + (size_t)j * r->fd.per) != 0) return -1;
    }
    return 0;
}

// Global step t: quantize, every micro-batch, the loss and batch accuracy over the ranks, the update.
// *loss: mean over the ranks of each rank's mean chunk loss; *acc: correct / images over all ranks.
// A non-finite loss stops training before the update. Returns 0 or -1 after an error line.
static int rat_step(rat_run *r, int64_t t, int64_t e, int64_t b, double lr, double *loss, double *acc) {
    ratq_rat_step *s = &r->step;
    const ratq_rat_config *cfg = r->cfg;
    if (s->ops->begin(s, t) != 0) return -1;
    double l = 0;
    int64_t counts[2] = {0, r->G}; // correct predictions (over all ranks), images
    for (int c = 0; c < r->chunks; c++) {
        double lc;
        int64_t hits;
        if (rat_feed(r, e, b, c) != 0 || s->ops->micro_batch(s, c, r->img, r->labels, &lc, &hits) != 0) return -1;
        l += lc / r->chunks;
        counts[0] += hits;
    }
    if (cfg->dist && r->world > 1) {
        float lm = (float)l;
        ratq_dist_allreduce_mean_f32(cfg->dist, &lm, 1);
        l = lm;
        ratq_dist_allreduce_sum_i64(cfg->dist, counts, 1);
    }
    if (!isfinite(l)) { // the same value on every rank: all stop here
        if (r->rank == 0)
            ratq_error("epoch %lld: loss is %g: training diverged and stopped before this step's update (try a "
                       "lower --lr)", (long long)e, l);
        return -1;
    }
    *loss = l;
    *acc = (double)counts[0] / (double)counts[1];
    return s->ops->update(s, t, lr);
}

// After step t (done = t + 1 steps): the log line, and a checkpoint every ckpt_every steps, at a stop and at
// the end (rank 0). Returns 0 or -1 after an error line.
static int rat_log_checkpoint(rat_run *r, int64_t t, int64_t e, double loss, double acc, double lr, int stop) {
    const ratq_rat_config *cfg = r->cfg;
    if (r->log.f && ratq_train_log_step(&r->log, t, e, loss, acc, lr) != 0) return -1;
    const int64_t done = t + 1;
    if (r->rank != 0 || !cfg->ckpt_path ||
        !((cfg->ckpt_every > 0 && done % cfg->ckpt_every == 0) || stop || done == r->total))
        return 0;
    if (r->step.ops->sync_host(&r->step) != 0) return -1;
    ratq_ckpt_info ci = {.next_step = done, .seed = cfg->seed, .global_batch = r->G};
    return ratq_ckpt_save(cfg->ckpt_path, r->q, (int)cfg->optimizer, r->state1, r->state2, &ci);
}

static void rat_teardown(rat_run *r) {
    if (r->step_open) r->step.ops->destroy(&r->step);
    if (r->log.f) fclose(r->log.f); // still open only after a failure, already reported
    free(r->state1);
    free(r->state2);
    free(r->img);
    free(r->order);
    free(r->labels);
    ratq_feeder_free(&r->fd);
}

int ratq_rat_train(ratq_qnet *q, const ratq_quant_options *opt, ratq_qnet *teacher, const ratq_dataset *ds,
                   const ratq_rat_config *cfg, ratq_rat_stats *st) {
    memset(st, 0, sizeof *st);
    rat_run r;
    memset(&r, 0, sizeof r);
    r.q = q;
    r.teacher = teacher;
    r.opt = opt;
    r.cfg = cfg;
    r.ds = ds;
    q->opt = *opt;
    int64_t start = 0;
    int rc = rat_setup(&r, st);
    rc = rat_resume(&r, rc, &start);
    if (rc == 0 && r.rank == 0 && cfg->log_path) rc = ratq_train_log_open(&r.log, cfg->log_path, start);
    if (rc == 0 && (rc = ratq_rat_step_open(&r.step, q, teacher, opt, cfg, r.state1, r.state2, r.MB)) == 0)
        r.step_open = 1;
    ratq_lr_schedule sched = {.base_lr = cfg->lr, .final_lr = cfg->final_lr, .warmup_init_lr = 0,
                              .warmup_steps = cfg->warmup_steps, .total_steps = r.total};
    double ep_loss = 0, ep_acc = 0;
    int64_t ep_steps = 0, t = start;
    for (; rc == 0 && t < r.total; t++) {
        const int64_t e = t / r.nb, b = t % r.nb;
        if (cfg->dist) ratq_dist_set_step(cfg->dist, t);
        fault_drill(r.rank, t);
        if (e != r.epoch) {
            ratq_data_epoch_order(r.fd.n, 1, cfg->seed, e, 0, 1, r.order);
            r.epoch = e;
            ep_loss = ep_acc = 0;
            ep_steps = 0;
        }
        const double lr = ratq_lr_at(&sched, t);
        double loss, acc;
        ratq_error_context("finetune: step %lld", (long long)t); // errors inside the step name it
        rc = rat_step(&r, t, e, b, lr, &loss, &acc);
        ratq_error_context(NULL);
        if (rc != 0) break;
        ep_loss += loss;
        ep_acc += acc;
        ep_steps++;
        st->last_loss = ep_loss / ep_steps;
        st->last_acc = ep_acc / ep_steps;
        if (cfg->progress && r.rank == 0)
            fprintf(stderr, "\rstep %lld/%lld  epoch %lld  loss %.4f  acc %.3f  lr %.3g   ", (long long)t + 1,
                    (long long)r.total, (long long)e, st->last_loss, st->last_acc, lr);
        const int stop = cfg->stop_after > 0 && t + 1 >= cfg->stop_after && t + 1 < r.total;
        if ((rc = rat_log_checkpoint(&r, t, e, loss, acc, lr, stop)) != 0) break;
        if (stop) {
            t++;
            break;
        }
    }
    if (cfg->progress && r.rank == 0) fputc('\n', stderr);
    st->steps_done = t;
    st->finished = rc == 0 && t >= r.total;
    if (rc == 0 && r.step_open) rc = r.step.ops->sync_host(&r.step);
    if (rc == 0) rc = ratq_qnet_quantize(q, opt); // the final integer model from the final weights
    if (rc == 0 && r.log.f) rc = ratq_train_log_close(&r.log);
    rat_teardown(&r);
    return rc;
}
