// host/train/rat_train.c — the RAT loop (host/train/rat_train.h). Data: the first `limit` images of the dataset;
// epoch e visits them in the order ratq_data_epoch_order(limit, shuffle, seed, e) (host/data/data.h), cut into
// global batches of cfg->batch x ranks (drop_last), of which each rank takes its slice in micro-batches.
// The images come from the input stream (host/data/stream.h, worker threads: cfg->num_workers; pinned slots for the
// GPU-resident step). The loop is cut into: setup (buffers, feeder), resume (checkpoint, broadcast to the ranks), the
// steps through the table of host/train/rat_step.h (the phase loop: quantize, micro-batches, update, one step after
// the other; the pipelined loop of a GPU-resident table: rat_train.h "GPU-resident loop"), and log / checkpoint.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "quant/qnet_cuda.h" // RATQ_QNET_GEMM_TF32
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
    c.gemm = RATQ_QNET_GEMM_TF32;
    c.cuda_graphs = 1;
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
    ratq_feeder fd;            // the input stream (host/train/internal.h)
    float *state1, *state2;    // optimizer state: SGD momentum | AdamW m, v
    int64_t epoch;             // epoch of the running statistics (-1: none yet)
    ratq_train_log log;        // rank 0
    ratq_rat_step step;
    int step_open;
    ratq_lr_schedule sched;
    double ep_loss, ep_acc;    // sums over the epoch's steps so far (this process)
    int64_t ep_steps;
    ratq_rat_stats *st;
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
    if (ratq_feeder_init(&r->fd, r->ds, r->q->resolution, cfg->augment, cfg->limit, cfg->seed, r->B, r->rank,
                         r->world, cfg->num_workers, cfg->device == RATQ_DEVICE_CUDA) != 0)
        return -1;
    r->nb = r->fd.nb;
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
    if (!r->state1 || (!r->state2 && cfg->optimizer == RATQ_OPT_ADAMW)) {
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

// The batch of step t from the stream (held until ratq_feeder_release), its labels checked against the model's
// classes. Returns 0 or -1 after an error line.
static int rat_feed(rat_run *r, int64_t t, const ratq_stream_batch **b) {
    if (ratq_feeder_next(&r->fd, t, b) != 0) return -1;
    const int K = r->q->num_classes;
    for (int j = 0; j < r->B; j++)
        if ((*b)->labels[j] < 0 || (*b)->labels[j] >= K) {
            ratq_error("%s: image %lld: label %d outside the model's %d classes", ratq_data_path(r->ds),
                       (long long)(*b)->index[j], (*b)->labels[j], K);
            return -1;
        }
    return 0;
}

// The phase loop's global step t: quantize, every micro-batch, the loss and batch accuracy over the ranks, the
// update. *loss: mean over the ranks of each rank's mean chunk loss; *hits: correct predictions over all ranks.
// A non-finite loss stops training before the update. Returns 0 or -1 after an error line.
static int rat_step(rat_run *r, int64_t t, int64_t e, double lr, double *loss, int64_t *hits) {
    ratq_rat_step *s = &r->step;
    const ratq_rat_config *cfg = r->cfg;
    const ratq_stream_batch *b;
    if (rat_feed(r, t, &b) != 0 || s->ops->begin(s, t) != 0) return -1;
    double l = 0;
    int64_t correct = 0;
    for (int c = 0; c < r->chunks; c++) {
        double lc;
        int64_t h;
        if (s->ops->micro_batch(s, c, b->images + (size_t)c * r->MB * r->fd.per, b->labels + (size_t)c * r->MB, &lc,
                                &h) != 0)
            return -1;
        l += lc / r->chunks;
        correct += h;
    }
    ratq_feeder_release(&r->fd, t);
    if (cfg->dist && r->world > 1) {
        float lm = (float)l;
        ratq_dist_allreduce_mean_f32(cfg->dist, &lm, 1);
        l = lm;
        ratq_dist_allreduce_sum_i64(cfg->dist, &correct, 1);
    }
    if (!isfinite(l)) { // the same value on every rank: all stop here
        if (r->rank == 0)
            ratq_error("epoch %lld: loss is %g: training diverged and stopped before this step's update (try a "
                       "lower --lr)", (long long)e, l);
        return -1;
    }
    *loss = l;
    *hits = correct;
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

// Does the run stop after step t (stop_after reached before the end)?
static int stops_after(const rat_run *r, int64_t t) {
    return r->cfg->stop_after > 0 && t + 1 >= r->cfg->stop_after && t + 1 < r->total;
}

// Step t is done with this loss and hit count (over all ranks): the epoch's running statistics, the progress line, the
// log and the checkpoint. Returns 0 or -1 after an error line.
static int rat_step_done(rat_run *r, int64_t t, double loss, int64_t hits) {
    const int64_t e = t / r->nb;
    if (e != r->epoch) {
        r->epoch = e;
        r->ep_loss = r->ep_acc = 0;
        r->ep_steps = 0;
    }
    const double lr = ratq_lr_at(&r->sched, t), acc = (double)hits / (double)r->G;
    r->ep_loss += loss;
    r->ep_acc += acc;
    r->ep_steps++;
    r->st->last_loss = r->ep_loss / r->ep_steps;
    r->st->last_acc = r->ep_acc / r->ep_steps;
    if (r->cfg->progress && r->rank == 0)
        fprintf(stderr, "\rstep %lld/%lld  epoch %lld  loss %.4f  acc %.3f  lr %.3g   ", (long long)t + 1,
                (long long)r->total, (long long)e, r->st->last_loss, r->st->last_acc, lr);
    return rat_log_checkpoint(r, t, e, loss, acc, lr, stops_after(r, t));
}

// The phase loop: steps [start, total) one after the other. *next: the first step not done. Returns 0 or -1.
static int rat_loop_phases(rat_run *r, int64_t start, int64_t *next) {
    int64_t t = start;
    int rc = 0;
    for (; rc == 0 && t < r->total; t++) {
        if (r->cfg->dist) ratq_dist_set_step(r->cfg->dist, t);
        fault_drill(r->rank, t);
        double loss;
        int64_t hits;
        ratq_error_context("finetune: step %lld", (long long)t); // errors inside the step name it
        rc = rat_step(r, t, t / r->nb, ratq_lr_at(&r->sched, t), &loss, &hits);
        ratq_error_context(NULL);
        if (rc == 0) rc = rat_step_done(r, t, loss, hits);
        if (rc == 0 && stops_after(r, t)) {
            t++;
            break;
        }
    }
    *next = t; // the step that failed, or the first not run
    return rc;
}

// The pipelined loop (rat_train.h "GPU-resident loop"): submit t, collect t - 1, stage t + 1; steps followed by a
// checkpoint are drained. *next: the first step not done. Returns 0 or -1.
static int rat_loop_pipelined(rat_run *r, int64_t start, int64_t *next) {
    ratq_rat_step *s = &r->step;
    const ratq_rat_config *cfg = r->cfg;
    int64_t pending = -1, done = start; // the submitted, uncollected step; the first step not collected
    const ratq_stream_batch *b;
    int rc = 0;
    if (start < r->total) {
        ratq_error_context("finetune: step %lld", (long long)start);
        rc = rat_feed(r, start, &b) != 0 || s->ops->stage(s, start, b->images, b->labels) != 0 ? -1 : 0;
        ratq_error_context(NULL);
    }
    for (int64_t t = start; rc == 0 && t < r->total; t++) {
        if (cfg->dist) ratq_dist_set_step(cfg->dist, t);
        fault_drill(r->rank, t);
        ratq_error_context("finetune: step %lld", (long long)t);
        rc = s->ops->submit(s, t, ratq_lr_at(&r->sched, t));
        ratq_error_context(NULL);
        if (rc != 0) break;
        // collect the previous step (and this one, if a checkpoint or the stop follows it)
        const int drain = stops_after(r, t) || t + 1 == r->total ||
                          (r->rank == 0 && cfg->ckpt_path && cfg->ckpt_every > 0 && (t + 1) % cfg->ckpt_every == 0);
        int64_t c0 = pending >= 0 ? pending : t, c1 = drain ? t : t - 1;
        for (int64_t c = c0; rc == 0 && c <= c1; c++) {
            double loss;
            int64_t hits;
            rc = s->ops->collect(s, c, &loss, &hits); // names the step on failure
            ratq_feeder_release(&r->fd, c);
            if (rc == 0) rc = rat_step_done(r, c, loss, hits);
            if (rc == 0) done = c + 1;
        }
        pending = drain ? -1 : t;
        if (rc != 0 || stops_after(r, t)) break;
        if (t + 1 < r->total) { // the next batch, staged while step t runs
            if (cfg->dist) ratq_dist_set_step(cfg->dist, t + 1);
            ratq_error_context("finetune: step %lld", (long long)t + 1);
            rc = rat_feed(r, t + 1, &b) != 0 || s->ops->stage(s, t + 1, b->images, b->labels) != 0 ? -1 : 0;
            ratq_error_context(NULL);
        }
    }
    *next = done;
    return rc;
}

static void rat_teardown(rat_run *r) {
    if (r->step_open) r->step.ops->destroy(&r->step);
    if (r->log.f) fclose(r->log.f); // still open only after a failure, already reported
    free(r->state1);
    free(r->state2);
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
    r.st = st;
    int rc = rat_setup(&r, st);
    rc = rat_resume(&r, rc, &start);
    if (rc == 0 && r.rank == 0 && cfg->log_path) rc = ratq_train_log_open(&r.log, cfg->log_path, start);
    if (rc == 0 && (rc = ratq_rat_step_open(&r.step, q, teacher, opt, cfg, r.state1, r.state2, r.MB)) == 0)
        r.step_open = 1;
    if (rc == 0) rc = ratq_feeder_start(&r.fd, start, r.total);
    r.sched = (ratq_lr_schedule){.base_lr = cfg->lr, .final_lr = cfg->final_lr, .warmup_init_lr = 0,
                                 .warmup_steps = cfg->warmup_steps, .total_steps = r.total};
    int64_t t = start;
    if (rc == 0)
        rc = r.step.ops->submit ? rat_loop_pipelined(&r, start, &t) : rat_loop_phases(&r, start, &t);
    if (cfg->progress && r.rank == 0) fputc('\n', stderr);
    st->steps_done = t;
    st->finished = rc == 0 && t >= r.total;
    if (rc == 0 && r.step_open) rc = r.step.ops->sync_host(&r.step);
    if (rc == 0) rc = ratq_qnet_quantize(q, opt); // the final integer model from the final weights
    if (rc == 0 && r.log.f) rc = ratq_train_log_close(&r.log);
    rat_teardown(&r);
    return rc;
}
