// test_quant_resume.c — an interrupted RAT run resumed from its checkpoint ends with weights bit-identical to an
// uninterrupted run (same machine, same thread count).
// Setup: tiny network (random weights, BN folded), Fashion-MNIST first 512 training images with augmentation
// (RandomResizedCrop + flip), float-teacher distillation (a = 0.5), k = 4, batch 32, 3 epochs = 48 steps,
// checkpoint every 5 steps.
//   A: uninterrupted run in this process.
//   B: a child process (this program re-executed with "child DIR": a fresh process, since the OpenMP runtime
//      does not survive a plain fork) runs the same training and is killed with SIGKILL once its log shows 12
//      steps (a real interruption at an arbitrary point, possibly during a checkpoint write); then fresh
//      objects resume from the checkpoint file and finish.
// Verdict: the checkpoint left by the kill is mid-run (0 < next_step < 48), and A's and B's final master
// weights are equal byte for byte (memcmp), as are their int8 weights. Also: the same with AdamW, interrupted by
// --stop-after at step 7 (optimizer m and v go through the checkpoint); truncated checkpoints and checkpoints of
// another k are refused.
#define _DEFAULT_SOURCE // mkdtemp, usleep
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_quant_common.h"
#include "test_quant_fmnist.h"
#include "train/rat_train.h"

// the student / teacher pair of test_quant_common.h
static void setup(ratq_qnet *q, ratq_qnet *teacher, const uint8_t *cal) { tq_rat_pair(q, teacher, cal); }

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF) n += ch == '\n';
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    ratq_dataset *tr = tf_open("train");
    int32_t lab[64];
    uint8_t *cal = tf_images(tr, 64, lab);
    const ratq_quant_options opt = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    ratq_rat_config cfg = ratq_rat_config_default();
    cfg.epochs = 3;
    cfg.batch = 32;
    cfg.limit = 512;
    cfg.lr = 0.01;
    cfg.augment = 1;
    cfg.teacher = RATQ_TEACHER_FLOAT;
    cfg.distill_alpha = 0.5f;
    cfg.seed = 77;
    char dir[] = "/tmp/ratq_resume_XXXXXX";
    const int child = argc == 3 && !strcmp(argv[1], "child");
    if (child)
        snprintf(dir, sizeof dir, "%s", argv[2]);
    else
        CHECK_MSG(mkdtemp(dir) != NULL, "mkdtemp");
    char ckpt[256], logp[256];
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", dir);
    snprintf(logp, sizeof logp, "%s/run.jsonl", dir);
    ratq_rat_config cb = cfg;
    cb.ckpt_path = ckpt;
    cb.ckpt_every = 5;
    cb.log_path = logp;
    if (child) {
        ratq_qnet q, t;
        setup(&q, &t, cal);
        ratq_rat_stats s;
        return ratq_rat_train(&q, &opt, &t, tr, &cb, &s) == 0 ? 0 : 1;
    }

    // A: uninterrupted
    ratq_qnet qa, ta;
    ratq_rat_stats st;
    setup(&qa, &ta, cal);
    CHECK_MSG(ratq_rat_train(&qa, &opt, &ta, tr, &cfg, &st) == 0 && st.finished, "run A");
    const int64_t total = st.total_steps;

    // B: child killed mid-run
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[0], argv[0], "child", dir, (char *)NULL);
        _exit(127);
    }
    CHECK_MSG(pid > 0, "fork");
    int status = 0;
    for (int waited = 0; count_lines(logp) < 12 && waitpid(pid, &status, WNOHANG) == 0; waited++) {
        if (waited > 300000) { // 600 s
            fprintf(stderr, "FAIL: the child made no progress in 600 s\n");
            break;
        }
        usleep(2000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFSIGNALED(status), "the child finished before it could be interrupted");
    ratq_qnet qb, tb;
    setup(&qb, &tb, cal);
    float *mom = calloc(qb.n_params, sizeof(float));
    ratq_ckpt_info ci = {.next_step = -1};
    qb.opt = opt;
    CHECK_MSG(ratq_ckpt_load(ckpt, &qb, RATQ_OPT_SGD, mom, NULL, &ci) == 0, "checkpoint after the kill");
    const int64_t next = ci.next_step;
    CHECK_MSG(ci.global_batch == cfg.batch, "checkpoint global_batch %lld, expected %d", (long long)ci.global_batch,
              cfg.batch);
    CHECK_MSG(next > 0 && next < total, "checkpoint step %lld is not mid-run (total %lld)", (long long)next, (long long)total);
    printf("interrupted after %d logged steps; checkpoint at step %lld of %lld\n", count_lines(logp), (long long)next,
           (long long)total);
    cb.resume = 1;
    CHECK_MSG(ratq_rat_train(&qb, &opt, &tb, tr, &cb, &st) == 0 && st.finished, "resumed run B");
    CHECK_MSG(qa.n_params == qb.n_params && memcmp(qa.params, qb.params, qa.n_params * sizeof(float)) == 0,
              "final master weights differ between the uninterrupted and the resumed run");
    size_t diff = 0;
    for (size_t i = 0; i < qa.n_params; i++) diff += memcmp(&qa.params[i], &qb.params[i], sizeof(float)) != 0;
    printf("final weights: %zu of %zu floats differ\n", diff, qa.n_params);
    for (int i = 0; i < qa.n_ops; i++)
        if (qa.ops[i].wq)
            CHECK_MSG(memcmp(qa.ops[i].wq, qb.ops[i].wq, (size_t)qa.ops[i].oc * qa.ops[i].per_oc) == 0,
                      "op %d int8 weights differ", i);
    // the weights moved (the comparison is not vacuous)
    ratq_qnet q0, t0;
    setup(&q0, &t0, cal);
    CHECK_MSG(memcmp(q0.params, qa.params, qa.n_params * sizeof(float)) != 0, "training did not change the weights");
    // AdamW state through a checkpoint: stop after 7 steps (--stop-after), resume with fresh objects
    {
        ratq_rat_config ca = cfg;
        ca.optimizer = RATQ_OPT_ADAMW;
        ca.lr = 1e-3;
        ca.epochs = 1;
        ratq_qnet x, tx, y, ty;
        setup(&x, &tx, cal);
        CHECK_MSG(ratq_rat_train(&x, &opt, &tx, tr, &ca, &st) == 0 && st.finished, "AdamW run");
        char ck2[300];
        snprintf(ck2, sizeof ck2, "%s/adamw.ckpt", dir);
        ca.ckpt_path = ck2;
        ca.stop_after = 7;
        setup(&y, &ty, cal);
        CHECK_MSG(ratq_rat_train(&y, &opt, &ty, tr, &ca, &st) == 0 && !st.finished && st.steps_done == 7, "AdamW stop");
        ratq_qnet_free(&y);
        ratq_qnet_free(&ty);
        setup(&y, &ty, cal);
        ca.stop_after = 0;
        ca.resume = 1;
        CHECK_MSG(ratq_rat_train(&y, &opt, &ty, tr, &ca, &st) == 0 && st.finished, "AdamW resume");
        CHECK_MSG(memcmp(x.params, y.params, x.n_params * sizeof(float)) == 0, "AdamW: resumed weights differ");
        unlink(ck2);
        ratq_qnet_free(&x);
        ratq_qnet_free(&tx);
        ratq_qnet_free(&y);
        ratq_qnet_free(&ty);
    }
    // bad checkpoints are refused: truncated, other rescale bits
    {
        FILE *f = fopen(ckpt, "rb");
        char *buf = malloc(1 << 20);
        size_t len = f ? fread(buf, 1, 1 << 20, f) : 0;
        if (f) fclose(f);
        char bad[300];
        snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
        f = fopen(bad, "wb");
        fwrite(buf, 1, len / 2, f);
        fclose(f);
        CHECK_MSG(ratq_ckpt_load(bad, &q0, RATQ_OPT_SGD, mom, NULL, &ci) == -1, "a truncated checkpoint was accepted");
        q0.opt = opt;
        q0.opt.k = 5;
        CHECK_MSG(ratq_ckpt_load(ckpt, &q0, RATQ_OPT_SGD, mom, NULL, &ci) == -1, "a checkpoint of another k was accepted");
        unlink(bad);
        free(buf);
    }
    unlink(ckpt);
    unlink(logp);
    rmdir(dir);
    free(mom);
    free(cal);
    ratq_qnet_free(&qa);
    ratq_qnet_free(&ta);
    ratq_qnet_free(&qb);
    ratq_qnet_free(&tb);
    ratq_qnet_free(&q0);
    ratq_qnet_free(&t0);
    ratq_data_close(tr);
    return ratq_test_finish("test_quant_resume");
}
