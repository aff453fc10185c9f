// test_rat_loop_pipelined.c — the RAT loop's pipelined path (host/train/rat_train.h "GPU-resident loop", the order
// `--device cuda` runs in) on the CPU, through a step table injected with cfg.step_ops: a "device" that does the host
// step's arithmetic (ratq_rat_step_host_ops) inside stage / submit / collect and checks the table contract of
// host/train/rat_step.h on every call.
//
// The mock: stage(t) copies the batch into slot t & 1 and records a hash of the loop's buffers; submit(t) runs the
// host step (quantize, micro-batches, update) on the slot's copy and keeps loss and hits; collect(t) returns them
// (a NaN loss when told to), after checking that the loop's batch buffers still hold what was staged. Contract
// violations counted: steps staged / submitted / collected out of order, submit without a staged batch or on a slot
// whose previous step is uncollected, more than two steps outstanding, sync_host (a checkpoint) while a step is
// outstanding, a batch released or overwritten before its step was collected.
//
// Run: tiny network (random weights), a raw shard of 96 random 32x32 images, batch 16 in micro-batches of 8, 2 epochs
// (12 steps), augmentation on, SGD momentum, label smoothing, checkpoint every 4 steps. Verdicts, all BIT-IDENTICAL
// (memcmp of the master weights, strcmp of the logs):
//   pipe     the pipelined run == the phase run of the same table semantics (cfg.device = CPU); no violation; the
//            pipeline really ran ahead (two steps outstanding at some point); sync_host called for the checkpoints at
//            steps 4, 8, 12 and the end, never with a step outstanding
//   workers0 the same with the images decoded in the loop's thread (0 workers)
//   resume   pipelined run stopped after 5 steps, resumed pipelined == the straight run; a phase (CPU) run stopped
//            after 6, resumed pipelined == the straight run (checkpoints move between the paths)
//   nan      a NaN loss reported for step 6 (checkpoint every step, so every step is drained): ratq_rat_train fails,
//            steps_done == 6, the log holds steps 0..5, the checkpoint's next_step is 6; and for step 5 with a
//            checkpoint every 4 (found while step 6 is already submitted): steps_done == 5, log 0..4, next_step 4.
//            Nothing is written after the bad step.
#define _DEFAULT_SOURCE // mkdtemp
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "test_quant_common.h"
#include "train/rat_step.h"
#include "train/rat_train.h"

#define N_IMG 96
#define RES 32

static char g_dir[256];

// ---- the mock device ------------------------------------------------------------------------------------------------

typedef struct {
    ratq_rat_step inner;          // the host step that does the arithmetic
    size_t per;                   // bytes per image
    uint8_t *img[2];              // the "device" slots [B][per]
    int32_t *lab[2];
    int64_t staged[2], pend[2];   // step staged in / submitted on the slot (-1: none)
    const uint8_t *src_img[4];    // the loop's buffers of step t (index t % 4) and their hash at stage time
    const int32_t *src_lab[4];
    uint64_t src_hash[4];
    double loss[2];
    int64_t hits[2];
    int64_t next_stage, next_submit, next_collect;
} mock;

static struct {
    long violations;
    int max_outstanding, syncs, syncs_busy;
    int64_t nan_at; // collect(nan_at) reports a NaN loss (-1: never)
} g;

#define VIOLATION(...)                                                                                                 \
    do {                                                                                                               \
        g.violations++;                                                                                                \
        fprintf(stderr, "contract: " __VA_ARGS__);                                                                     \
        fputc('\n', stderr);                                                                                           \
    } while (0)

static uint64_t hash_batch(const uint8_t *img, const int32_t *lab, size_t nb, int n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < nb; i++) h = (h ^ img[i]) * 1099511628211ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint32_t)lab[i]) * 1099511628211ull;
    return h;
}

static int outstanding(const mock *m) { return (m->pend[0] >= 0) + (m->pend[1] >= 0); }

static int mock_open(ratq_rat_step *s) {
    mock *m = calloc(1, sizeof *m);
    if (!m) return -1;
    m->inner = *s;
    m->inner.ops = &ratq_rat_step_host_ops;
    m->inner.impl = NULL;
    m->per = (size_t)s->q->resolution * s->q->resolution * s->q->in_c;
    const int B = s->cfg->batch;
    for (int k = 0; k < 2; k++) {
        m->img[k] = malloc(m->per * (size_t)B);
        m->lab[k] = malloc(sizeof(int32_t) * (size_t)B);
        m->staged[k] = m->pend[k] = -1;
    }
    m->next_stage = m->next_submit = m->next_collect = -1; // the first stage sets them
    if (ratq_rat_step_host_ops.open(&m->inner) != 0) return -1;
    s->impl = m;
    return 0;
}

static int mock_stage(ratq_rat_step *s, int64_t t, const uint8_t *img, const int32_t *labels) {
    mock *m = s->impl;
    const int B = s->cfg->batch, k = (int)(t & 1);
    if (m->next_stage < 0) m->next_stage = m->next_submit = m->next_collect = t;
    if (t != m->next_stage) VIOLATION("stage(%lld), expected step %lld", (long long)t, (long long)m->next_stage);
    m->next_stage = t + 1;
    if (m->staged[k] >= 0) VIOLATION("stage(%lld) over slot %d's unsubmitted step %lld", (long long)t, k,
                                     (long long)m->staged[k]);
    memcpy(m->img[k], img, m->per * (size_t)B);
    memcpy(m->lab[k], labels, sizeof(int32_t) * (size_t)B);
    m->staged[k] = t;
    m->src_img[t % 4] = img;
    m->src_lab[t % 4] = labels;
    m->src_hash[t % 4] = hash_batch(img, labels, m->per * (size_t)B, B);
    return 0;
}

static int mock_submit(ratq_rat_step *s, int64_t t, double lr) {
    mock *m = s->impl;
    const int k = (int)(t & 1), MB = s->micro_batch;
    if (t != m->next_submit) VIOLATION("submit(%lld), expected step %lld", (long long)t, (long long)m->next_submit);
    m->next_submit = t + 1;
    if (m->staged[k] != t) VIOLATION("submit(%lld) with slot %d holding step %lld", (long long)t, k,
                                     (long long)m->staged[k]);
    if (m->pend[k] >= 0) VIOLATION("submit(%lld) on slot %d whose step %lld is not collected", (long long)t, k,
                                   (long long)m->pend[k]);
    m->staged[k] = -1;
    ratq_rat_step *in = &m->inner;
    if (in->ops->begin(in, t) != 0) return -1;
    double l = 0;
    int64_t hits = 0;
    for (int c = 0; c < in->chunks; c++) {
        double lc;
        int64_t h;
        if (in->ops->micro_batch(in, c, m->img[k] + (size_t)c * MB * m->per, m->lab[k] + (size_t)c * MB, &lc, &h) != 0)
            return -1;
        l += lc / in->chunks;
        hits += h;
    }
    if (in->ops->update(in, t, lr) != 0) return -1; // a device updates before the host sees the loss
    m->loss[k] = t == g.nan_at ? NAN : l;
    m->hits[k] = hits;
    m->pend[k] = t;
    if (outstanding(m) > g.max_outstanding) g.max_outstanding = outstanding(m);
    if (outstanding(m) > 2) VIOLATION("%d steps outstanding", outstanding(m));
    return 0;
}

static int mock_collect(ratq_rat_step *s, int64_t t, double *loss, int64_t *hits) {
    mock *m = s->impl;
    const int k = (int)(t & 1), B = s->cfg->batch;
    if (t != m->next_collect) VIOLATION("collect(%lld), expected step %lld", (long long)t, (long long)m->next_collect);
    m->next_collect = t + 1;
    if (m->pend[k] != t) {
        VIOLATION("collect(%lld): slot %d holds step %lld", (long long)t, k, (long long)m->pend[k]);
        return -1;
    }
    m->pend[k] = -1;
    if (hash_batch(m->src_img[t % 4], m->src_lab[t % 4], m->per * (size_t)B, B) != m->src_hash[t % 4])
        VIOLATION("step %lld: the loop's batch changed before the step was collected", (long long)t);
    if (!isfinite(m->loss[k])) {
        ratq_error("step %lld: loss is %g (mock)", (long long)t, m->loss[k]);
        return -1;
    }
    *loss = m->loss[k];
    *hits = m->hits[k];
    return 0;
}

static int mock_sync(ratq_rat_step *s) {
    mock *m = s->impl;
    g.syncs++;
    if (outstanding(m)) {
        g.syncs_busy++;
        VIOLATION("sync_host with %d steps outstanding", outstanding(m));
    }
    return m->inner.ops->sync_host(&m->inner);
}

static void mock_destroy(ratq_rat_step *s) {
    mock *m = s->impl;
    if (!m) return;
    m->inner.ops->destroy(&m->inner);
    for (int k = 0; k < 2; k++) free(m->img[k]), free(m->lab[k]);
    free(m);
    s->impl = NULL;
}

static const ratq_rat_step_ops mock_ops = {.name = "mock-device", .open = mock_open, .stage = mock_stage,
                                           .submit = mock_submit, .collect = mock_collect, .sync_host = mock_sync,
                                           .destroy = mock_destroy};

// ---- runs -----------------------------------------------------------------------------------------------------------

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

typedef struct {
    float *params;
    char *log;
    int rc;
    ratq_rat_stats st;
} run_out;

static const uint8_t *g_cal;

// One run: a fresh student, pipelined (the mock) or phased (cfg.device CPU), log and checkpoint under tag.
static void run(const ratq_dataset *ds, int pipelined, int workers, int64_t stop_after, int resume, int64_t ckpt_every,
                const char *tag, run_out *o) {
    ratq_qnet q, t;
    tq_rat_pair(&q, &t, g_cal); // test_quant_common.h: tiny 10-class 32x32 network, calibrated
    ratq_qnet_free(&t);
    const ratq_quant_options qo = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    ratq_rat_config cfg = ratq_rat_config_default();
    cfg.epochs = 2;
    cfg.batch = 16;
    cfg.micro_batch = 8;
    cfg.limit = N_IMG;
    cfg.lr = 0.02;
    cfg.weight_decay = 1e-4f;
    cfg.label_smoothing = 0.1f;
    cfg.augment = 1;
    cfg.seed = 11;
    cfg.num_workers = workers;
    cfg.step_ops = pipelined ? &mock_ops : NULL;
    char logp[600], ckp[600];
    snprintf(logp, sizeof logp, "%s/%s.jsonl", g_dir, tag);
    snprintf(ckp, sizeof ckp, "%s/%s.ckpt", g_dir, tag);
    cfg.log_path = logp;
    cfg.ckpt_path = ckp;
    cfg.ckpt_every = ckpt_every;
    cfg.stop_after = stop_after;
    cfg.resume = resume;
    o->rc = ratq_rat_train(&q, &qo, NULL, ds, &cfg, &o->st);
    o->params = malloc(q.n_params * sizeof(float));
    memcpy(o->params, q.params, q.n_params * sizeof(float));
    o->log = ratq_read_file(logp, NULL);
    ratq_qnet_free(&q);
}

static void out_free(run_out *o) {
    free(o->params);
    free(o->log);
}

static int same(const run_out *a, const run_out *b, size_t np) {
    return a->rc == 0 && b->rc == 0 && a->log && b->log && !memcmp(a->params, b->params, np * sizeof(float)) &&
           !strcmp(a->log, b->log);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/ratq_pipe_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) return 1;
    uint64_t st = 5150;
    uint8_t *img = tq_smooth_images(N_IMG, RES, &st);
    uint8_t *cal = tq_smooth_images(64, RES, &st);
    g_cal = cal;
    int64_t lab[N_IMG];
    for (int i = 0; i < N_IMG; i++) lab[i] = ratq_test_range(&st, 0, 9);
    char path[600];
    snprintf(path, sizeof path, "%s/data.rqshard", g_dir);
    CHECK_MSG(write_raw_shard(path, img, lab, N_IMG, RES, 10) == 0, "write %s", path);
    ratq_dataset *ds = ratq_data_open(path, NULL);
    CHECK_MSG(ds != NULL, "open %s", path);
    if (!ds) return ratq_test_finish("test_rat_loop_pipelined");
    ratq_qnet q0, t0;
    tq_rat_pair(&q0, &t0, cal);
    const size_t np = q0.n_params;
    ratq_qnet_free(&q0);
    ratq_qnet_free(&t0);
    g.nan_at = -1;

    // pipe: the straight runs
    run_out ref = {0}, pipe = {0}, w0 = {0};
    run(ds, 0, 2, 0, 0, 4, "ref", &ref);
    CHECK_MSG(ref.rc == 0 && ref.st.finished && ref.st.steps_done == 12, "phase run: rc %d, %lld steps", ref.rc,
              (long long)ref.st.steps_done);
    run(ds, 1, 2, 0, 0, 4, "pipe", &pipe);
    CHECK_MSG(pipe.rc == 0 && pipe.st.finished && pipe.st.steps_done == 12, "pipelined run: rc %d, %lld steps",
              pipe.rc, (long long)pipe.st.steps_done);
    CHECK_MSG(same(&ref, &pipe, np), "pipe: the pipelined run differs from the phase run (weights or log)");
    CHECK_MSG(g.max_outstanding == 2, "pipe: at most %d steps were ever outstanding (the pipeline did not run ahead)",
              g.max_outstanding);
    CHECK_MSG(g.syncs == 4 && g.syncs_busy == 0, "pipe: %d sync_host calls (%d with steps outstanding), expected 4 "
              "(checkpoints after steps 4, 8, 12 and the end), none busy", g.syncs, g.syncs_busy);
    CHECK_MSG(pipe.st.last_loss == ref.st.last_loss && pipe.st.last_acc == ref.st.last_acc,
              "pipe: epoch statistics differ: loss %.17g vs %.17g", pipe.st.last_loss, ref.st.last_loss);
    printf("pipe: 12 steps pipelined == phased (bit-identical weights and log), 2 outstanding, %d syncs\n", g.syncs);
    run(ds, 1, 0, 0, 0, 4, "w0", &w0);
    CHECK_MSG(same(&ref, &w0, np), "workers0: the pipelined run with 0 workers differs");

    // resume: pipelined stop + pipelined resume; phase stop + pipelined resume
    run_out half = {0}, rest = {0}, chalf = {0}, crest = {0};
    run(ds, 1, 2, 5, 0, 4, "pr", &half);
    CHECK_MSG(half.rc == 0 && !half.st.finished && half.st.steps_done == 5, "resume: stop after 5: rc %d, %lld steps",
              half.rc, (long long)half.st.steps_done);
    run(ds, 1, 2, 0, 1, 4, "pr", &rest);
    CHECK_MSG(same(&ref, &rest, np), "resume: pipelined stop after 5 + pipelined resume differs from the straight run");
    run(ds, 0, 2, 6, 0, 4, "cr", &chalf);
    run(ds, 1, 2, 0, 1, 4, "cr", &crest);
    CHECK_MSG(chalf.rc == 0 && same(&ref, &crest, np),
              "resume: phase stop after 6 + pipelined resume differs from the straight run");
    printf("resume: pipelined 5 + resume, phased 6 + pipelined resume: bit-identical to the straight run\n");
    CHECK_MSG(g.violations == 0, "%ld contract violations (listed above)", g.violations);

    // nan: a non-finite loss at step 6, a checkpoint after every step
    run_out bad = {0};
    g.nan_at = 6;
    fprintf(stderr, "(the next error line, a NaN loss at step 6, is expected)\n");
    run(ds, 1, 2, 0, 0, 1, "nan", &bad);
    g.nan_at = -1;
    CHECK_MSG(bad.rc != 0 && bad.st.steps_done == 6, "nan: rc %d, steps_done %lld (expected a failure at step 6)",
              bad.rc, (long long)bad.st.steps_done);
    CHECK_MSG(count_lines(bad.log) == 6, "nan: the log holds %d lines, expected steps 0..5", count_lines(bad.log));
    {
        ratq_qnet q, t;
        tq_rat_pair(&q, &t, cal);
        q.opt = (ratq_quant_options){.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
        float *s1 = calloc(np, sizeof(float));
        ratq_ckpt_info ci;
        char ck[600];
        snprintf(ck, sizeof ck, "%s/nan.ckpt", g_dir);
        CHECK_MSG(ratq_ckpt_load(ck, &q, RATQ_OPT_SGD, s1, NULL, &ci) == 0 && ci.next_step == 6,
                  "nan: the checkpoint must hold next_step 6 (written after step 5, nothing later)");
        free(s1);
        ratq_qnet_free(&q);
        ratq_qnet_free(&t);
    }
    // the same one step late: a NaN at step 5 is collected after step 6 was submitted (checkpoint every 4)
    run_out late = {0};
    g.nan_at = 5;
    fprintf(stderr, "(the next error line, a NaN loss at step 5, is expected)\n");
    run(ds, 1, 2, 0, 0, 4, "nan4", &late);
    g.nan_at = -1;
    CHECK_MSG(late.rc != 0 && late.st.steps_done == 5 && count_lines(late.log) == 5,
              "nan: lagged check: rc %d, steps_done %lld, %d log lines (expected a failure at step 5, 5 lines)",
              late.rc, (long long)late.st.steps_done, count_lines(late.log));
    {
        ratq_qnet q, t;
        tq_rat_pair(&q, &t, cal);
        q.opt = (ratq_quant_options){.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
        float *s1 = calloc(np, sizeof(float));
        ratq_ckpt_info ci;
        char ck[600];
        snprintf(ck, sizeof ck, "%s/nan4.ckpt", g_dir);
        CHECK_MSG(ratq_ckpt_load(ck, &q, RATQ_OPT_SGD, s1, NULL, &ci) == 0 && ci.next_step == 4,
                  "nan: lagged check: the checkpoint must hold next_step 4 (the last one before the bad step)");
        free(s1);
        ratq_qnet_free(&q);
        ratq_qnet_free(&t);
    }
    CHECK_MSG(g.violations == 0, "%ld contract violations (listed above)", g.violations);
    printf("nan: a NaN loss at step 6 (drained) or 5 (collected one step late) stops the pipelined run; log and "
           "checkpoint end before it\n");

    run_out *all[] = {&ref, &pipe, &w0, &half, &rest, &chalf, &crest, &bad, &late};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) out_free(all[i]);
    const char *tags[] = {"ref", "pipe", "w0", "pr", "cr", "nan", "nan4"};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        char f[700];
        snprintf(f, sizeof f, "%s/%s.jsonl", g_dir, tags[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s/%s.ckpt", g_dir, tags[i]);
        unlink(f);
    }
    ratq_data_close(ds);
    unlink(path);
    rmdir(g_dir);
    free(img);
    free(cal);
    return ratq_test_finish("test_rat_loop_pipelined");
}
