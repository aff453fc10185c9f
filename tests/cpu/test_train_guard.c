// test_train_guard.c — the training / checkpoint guards of issue 12 at library level (tiny network, Fashion-MNIST
// first 128 images, batch 16: 8 steps per epoch):
//   1. checkpoint checksum: a saved checkpoint loads; every one of 96 single-byte corruptions (every header byte,
//      then positions spread over the activation table, weights, optimizer state and trailer) is refused with one
//      line naming the file; a checkpoint of the older layout (no "CRC1" trailer) still loads, bit for bit, and one
//      with a NaN weight does not; a resume from a corrupted checkpoint fails with the checksum error, not a
//      quantize error;
//   2. nothing non-finite is saved: ratq_ckpt_save and ratq_effnet_save (.ratqw) refuse a NaN and leave no file;
//   3. a diverging run (lr 1e30) stops with -1 and an error naming the step; every checkpoint it wrote is finite;
//   4. the JSON-lines log: a resume after a kill (simulated: checkpoint at step 3, log lines of steps 3..5 and a
//      half-written line appended) cuts the log back, and the final log equals an uninterrupted run's byte for byte;
//      a log on /dev/full (disk full) is an error naming it;
//   5. stale temps: PATH.tmp.<pid> files and DIR.tmp.<pid> folders of dead processes are removed by the next atomic
//      write of PATH; a live pid's temp and names of another form are kept;
//   6. calibration without finite values names the calibration data.
#define _DEFAULT_SOURCE // mkdtemp
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/io.h"
#include "test_quant_common.h"
#include "test_quant_fmnist.h"
#include "train/rat_train.h"

static char g_dir[] = "/tmp/ratq_guard_XXXXXX";
static char g_err[4200];

static const char *path_in(const char *name) {
    static char buf[4][4200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

// stderr into g_err's file between capture_begin and capture_end; capture_end returns the text (static).
static int g_saved_fd = -1;
static void capture_begin(void) {
    fflush(stderr);
    g_saved_fd = dup(2);
    int fd = open(g_err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
}
static const char *capture_end(void) {
    static char text[8192];
    fflush(stderr);
    dup2(g_saved_fd, 2);
    close(g_saved_fd);
    FILE *f = fopen(g_err, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    return text;
}
static int lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static unsigned char *slurp(const char *path, size_t *n) {
    char *b = ratq_read_file(path, n);
    if (!b) exit(1);
    return (unsigned char *)b;
}
static void spit(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "FAIL: cannot write %s\n", path);
        exit(1);
    }
}

static ratq_rat_config base_config(void) {
    ratq_rat_config c = ratq_rat_config_default();
    c.epochs = 1;
    c.batch = 16;
    c.limit = 128;
    c.lr = 0.01;
    c.seed = 5;
    return c;
}

// Train a fresh student from the same start; returns ratq_rat_train's result.
static int train(const uint8_t *cal, const ratq_dataset *tr, const ratq_rat_config *cfg, ratq_rat_stats *st,
                 float **final_params) {
    ratq_qnet q, t;
    tq_rat_pair(&q, &t, cal);
    const ratq_quant_options opt = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    int rc = ratq_rat_train(&q, &opt, NULL, tr, cfg, st);
    if (final_params) {
        *final_params = malloc(q.n_params * sizeof(float));
        memcpy(*final_params, q.params, q.n_params * sizeof(float));
    }
    ratq_qnet_free(&q);
    ratq_qnet_free(&t);
    return rc;
}

// A fresh student ready for ratq_ckpt_load (its options set like the run's).
static void student(ratq_qnet *q, const uint8_t *cal) {
    ratq_qnet t;
    tq_rat_pair(q, &t, cal);
    ratq_qnet_free(&t);
    q->opt = (ratq_quant_options){.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
}

static void test_checksum(const uint8_t *cal, const ratq_dataset *tr) {
    const char *ck = path_in("a.ckpt"), *bad = path_in("bad.ckpt");
    ratq_rat_config cfg = base_config();
    cfg.ckpt_path = ck;
    cfg.ckpt_every = 4;
    ratq_rat_stats st;
    CHECK_MSG(train(cal, tr, &cfg, &st, NULL) == 0 && st.finished, "training with checkpoints");
    size_t n;
    unsigned char *good = slurp(ck, &n), *b = malloc(n);
    ratq_qnet q;
    student(&q, cal);
    float *mom = calloc(q.n_params, sizeof(float));
    ratq_ckpt_info ci;
    CHECK_MSG(ratq_ckpt_load(ck, &q, RATQ_OPT_SGD, mom, NULL, &ci) == 0 && ci.next_step == 8, "good checkpoint");
    CHECK_MSG(n > 64 && !memcmp(good + n - 16, "CRC1", 4), "checkpoint trailer");
    // 96 single-byte corruptions: every header byte (0..63), then 32 positions spread over the rest
    int accepted = 0, wrong_message = 0;
    for (int m = 0; m < 96; m++) {
        size_t pos = m < 64 ? (size_t)m : 64 + (size_t)(m - 64) * (n - 65) / 31;
        memcpy(b, good, n);
        b[pos] ^= (unsigned char)(m % 2 ? 0x01 : 0x80);
        spit(bad, b, n);
        capture_begin();
        int rc = ratq_ckpt_load(bad, &q, RATQ_OPT_SGD, mom, NULL, &ci);
        const char *err = capture_end();
        accepted += rc == 0;
        if (rc != 0 && (lines(err) != 1 || !strstr(err, bad))) {
            if (wrong_message++ == 0) fprintf(stderr, "byte %zu: error was:\n%s", pos, err);
        }
    }
    CHECK_MSG(accepted == 0, "%d of 96 corrupted checkpoints were accepted", accepted);
    CHECK_MSG(wrong_message == 0, "%d corruptions without one error line naming the file", wrong_message);
    // a flipped weight byte is a checksum error
    memcpy(b, good, n);
    b[n / 2] ^= 0x10;
    spit(bad, b, n);
    capture_begin();
    CHECK_MSG(ratq_ckpt_load(bad, &q, RATQ_OPT_SGD, mom, NULL, &ci) == -1, "weight corruption accepted");
    const char *err = capture_end();
    CHECK_MSG(strstr(err, "checksum") != NULL, "weight corruption: not reported as a checksum error: %s", err);
    // resume from it: the checksum error, not a quantize error
    cfg.ckpt_path = bad;
    cfg.resume = 1;
    capture_begin();
    int rc = train(cal, tr, &cfg, &st, NULL);
    err = capture_end();
    CHECK_MSG(rc == -1 && lines(err) == 1 && strstr(err, bad) && strstr(err, "checksum") && !strstr(err, "quantize"),
              "resume from a corrupted checkpoint: rc %d, error:\n%s", rc, err);
    // the older layout (no trailer): still loads, same weights
    ratq_qnet q2;
    student(&q2, cal);
    memcpy(b, good, n - 16);
    uint64_t size = n - 8;
    memcpy(b + n - 16, &size, 8);
    spit(bad, b, n - 8);
    CHECK_MSG(ratq_ckpt_load(bad, &q2, RATQ_OPT_SGD, mom, NULL, &ci) == 0 && ci.next_step == 8,
              "a checkpoint without checksum (older layout) was refused");
    CHECK_MSG(!memcmp(q.params, q2.params, q.n_params * sizeof(float)), "older layout: weights differ");
    // ... but not with a NaN weight in it
    const size_t w0 = 8 + 4 + 4 + 8 + 8 + 8 + 8 + 16 + (size_t)q.n_ops * 16;
    const float nanv = NAN;
    memcpy(b + w0 + 4 * 7, &nanv, 4);
    spit(bad, b, n - 8);
    capture_begin();
    rc = ratq_ckpt_load(bad, &q2, RATQ_OPT_SGD, mom, NULL, &ci);
    err = capture_end();
    CHECK_MSG(rc == -1 && strstr(err, "params") && strstr(err, bad), "older layout with a NaN weight: rc %d, %s", rc,
              err);
    // 2. nothing non-finite is saved
    q.params[3] = NAN;
    const char *nanck = path_in("nan.ckpt");
    capture_begin();
    rc = ratq_ckpt_save(nanck, &q, RATQ_OPT_SGD, mom, NULL, &ci);
    err = capture_end();
    CHECK_MSG(rc == -1 && access(nanck, F_OK) != 0 && strstr(err, nanck), "a NaN checkpoint was saved (rc %d): %s",
              rc, err);
    ratq_effnet_config ec;
    ratq_effnet m;
    if (ratq_effnet_config_from_name("tiny", 10, 32, &ec) != 0 || ratq_effnet_build(&m, &ec) != 0) exit(1);
    tq_random_model(&m, 7);
    m.params[m.n_floats / 2] = INFINITY;
    const char *nanw = path_in("nan.ratqw");
    capture_begin();
    rc = ratq_effnet_save(&m, nanw);
    err = capture_end();
    CHECK_MSG(rc == -1 && access(nanw, F_OK) != 0 && lines(err) == 1 && strstr(err, nanw),
              "an Inf weight was saved to .ratqw (rc %d): %s", rc, err);
    ratq_effnet_free(&m);
    free(mom);
    free(good);
    free(b);
    ratq_qnet_free(&q);
    ratq_qnet_free(&q2);
}

static void test_divergence(const uint8_t *cal, const ratq_dataset *tr) {
    const char *ck = path_in("div.ckpt");
    ratq_rat_config cfg = base_config();
    cfg.lr = 1e30;
    cfg.ckpt_path = ck;
    cfg.ckpt_every = 1;
    ratq_rat_stats st;
    capture_begin();
    int rc = train(cal, tr, &cfg, &st, NULL);
    const char *err = capture_end();
    CHECK_MSG(rc == -1 && !st.finished && lines(err) == 1 && strstr(err, "step "),
              "lr 1e30: rc %d, finished %d, error:\n%s", rc, st.finished, err);
    if (access(ck, F_OK) == 0) { // checkpoints of the steps before the divergence: finite (the loader checks)
        ratq_qnet q;
        student(&q, cal);
        float *mom = calloc(q.n_params, sizeof(float));
        ratq_ckpt_info ci;
        CHECK_MSG(ratq_ckpt_load(ck, &q, RATQ_OPT_SGD, mom, NULL, &ci) == 0, "the last checkpoint before divergence");
        free(mom);
        ratq_qnet_free(&q);
    }
}

static void test_log(const uint8_t *cal, const ratq_dataset *tr) {
    const char *la = path_in("a.jsonl"), *lb = path_in("b.jsonl"), *ck = path_in("log.ckpt");
    ratq_rat_config cfg = base_config();
    cfg.log_path = la;
    ratq_rat_stats st;
    float *wa = NULL, *wb = NULL;
    CHECK_MSG(train(cal, tr, &cfg, &st, &wa) == 0 && st.finished, "uninterrupted run");
    // interrupted: checkpoint at step 3 (stop_after), then a "kill" after steps 3..5 were logged
    cfg.log_path = lb;
    cfg.ckpt_path = ck;
    cfg.ckpt_every = 100;
    cfg.stop_after = 3;
    CHECK_MSG(train(cal, tr, &cfg, &st, NULL) == 0 && st.steps_done == 3, "run to step 3");
    FILE *f = fopen(lb, "a");
    fputs("{\"step\":3,\"epoch\":0,\"loss\":9,\"acc\":0,\"lr\":0}\n{\"step\":4,\"epoch\":0,\"loss\":9,\"acc\":0,"
          "\"lr\":0}\n{\"step\":5,\"epoch\":0,\"lo", f);
    fclose(f);
    cfg.stop_after = 0;
    cfg.resume = 1;
    CHECK_MSG(train(cal, tr, &cfg, &st, &wb) == 0 && st.finished, "resumed run");
    size_t na, nb;
    unsigned char *a = slurp(la, &na), *b = slurp(lb, &nb);
    CHECK_MSG(na == nb && !memcmp(a, b, na), "resumed log differs from the uninterrupted one:\n%s\nvs\n%s", a, b);
    CHECK_MSG(lines((const char *)a) == 8, "log lines: %d, want 8", lines((const char *)a));
    ratq_qnet q;
    student(&q, cal);
    CHECK_MSG(wa && wb && !memcmp(wa, wb, q.n_params * sizeof(float)), "resumed weights differ");
    ratq_qnet_free(&q);
    free(a);
    free(b);
    free(wa);
    free(wb);
    // a full disk: the first flush fails
    cfg = base_config();
    cfg.log_path = "/dev/full";
    capture_begin();
    int rc = train(cal, tr, &cfg, &st, NULL);
    const char *err = capture_end();
    CHECK_MSG(rc == -1 && lines(err) == 1 && strstr(err, "/dev/full"), "log on /dev/full: rc %d, error:\n%s", rc, err);
}

static pid_t dead_pid(void) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

static void test_stale_temps(const uint8_t *cal) {
    const char *target = path_in("w.ckpt");
    char stale[4300], stale_dir[4300], live[4300], other[4300], mine_dir[4400];
    pid_t dead = dead_pid();
    snprintf(stale, sizeof stale, "%s.tmp.%ld", target, (long)dead);
    snprintf(live, sizeof live, "%s.tmp.1", target); // init: always running
    snprintf(other, sizeof other, "%s.tmp.12x", target);
    spit(stale, "x", 1);
    spit(live, "x", 1);
    spit(other, "x", 1);
    snprintf(stale_dir, sizeof stale_dir, "%s.tmp.%ld", path_in("export"), (long)dead);
    snprintf(mine_dir, sizeof mine_dir, "%s/sub", stale_dir);
    mkdir(stale_dir, 0777);
    mkdir(mine_dir, 0777);
    char inner[4500];
    snprintf(inner, sizeof inner, "%s/f.c", mine_dir);
    spit(inner, "int x;", 6);
    ratq_qnet q;
    student(&q, cal);
    float *mom = calloc(q.n_params, sizeof(float));
    ratq_ckpt_info ci = {.next_step = 1, .seed = 1, .global_batch = 16};
    CHECK_MSG(ratq_ckpt_save(target, &q, RATQ_OPT_SGD, mom, NULL, &ci) == 0, "checkpoint save");
    CHECK_MSG(access(stale, F_OK) != 0, "the stale temp %s of a dead process was kept", stale);
    CHECK_MSG(access(live, F_OK) == 0, "the temp %s of a live process was removed", live);
    CHECK_MSG(access(other, F_OK) == 0, "%s (not a pid) was removed", other);
    ratq_clean_stale_temps(path_in("export"));
    CHECK_MSG(access(stale_dir, F_OK) != 0, "the stale folder %s was kept", stale_dir);
    unlink(live);
    unlink(other);
    free(mom);
    ratq_qnet_free(&q);
}

static void test_calibration_error(const ratq_dataset *tr) {
    ratq_effnet_config ec;
    ratq_effnet m;
    if (ratq_effnet_config_from_name("tiny", 10, 32, &ec) != 0 || ratq_effnet_build(&m, &ec) != 0) exit(1);
    tq_random_model(&m, 11);
    ratq_qnet q;
    if (ratq_qnet_from_effnet(&q, &m) != 0) exit(1);
    ratq_effnet_free(&m);
    for (size_t i = 0; i < q.n_params; i++) q.params[i] = 3e38f; // overflows to Inf in the first layers
    capture_begin();
    int rc = ratq_quant_calibrate(&q, tr, 16, 16, 0);
    const char *err = capture_end();
    CHECK_MSG(rc == -1 && lines(err) == 1 && strstr(err, ratq_data_path(tr)) && strstr(err, "calibration"),
              "calibration without finite values: rc %d, error:\n%s", rc, err);
    ratq_qnet_free(&q);
}

int main(void) {
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_err, sizeof g_err, "%s/stderr.txt", g_dir);
    ratq_dataset *tr = tf_open("train");
    int32_t lab[64];
    uint8_t *cal = tf_images(tr, 64, lab);
    test_checksum(cal, tr);
    test_divergence(cal, tr);
    test_log(cal, tr);
    test_stale_temps(cal);
    test_calibration_error(tr);
    free(cal);
    ratq_data_close(tr);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (strstr(g_dir, "/tmp/ratq_guard_") && system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
    return ratq_test_finish("test_train_guard");
}
