// bench_model.c — EfficientNet-Lite0 float images/s on the CPU: forward (eval) and forward + backward (train),
// forward = RATQ_EFFNET_INFER (BN folded into the convs, what `ratq eval` runs; the unfolded EVAL mode is
// printed too), side by side with PyTorch's CPU eager (scripts/bench_pytorch.py, same batch and threads, same run) when
// python3 can import torch and efficientnet_lite_pytorch.
//
//   bench_model [--weights FILE] [--batch 32] [--threads 2] [--iters 3] [--no-pytorch] [--json]
//
// Uses the shipped model (models/) and ops (kernels/cpu). Validates before timing: the logits of the 4 golden
// imagenet_sample images must equal PyTorch's (tests/golden/lite0_logits.ratqw, relative error <= 1e-4), and a
// training step must give finite gradients. Timing: best of --iters after one warm-up. Target (issue 3):
// forward >= 0.5x PyTorch. Weights default to $RATQ_WEIGHTS or <build>/weights/efficientnet-lite0.ratqw.
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef RATQ_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "data/data.h"
#include "models/efficientnet_lite.h"
#include "common/io.h"
#include "models/weights.h"

static int validate(ratq_effnet *m) {
    const char *gpath = RATQ_SOURCE_DIR "/tests/golden/lite0_logits.ratqw";
    const char *dpath = RATQ_SHARED_DATA "/imagenet_sample";
    ratq_weights_file g;
    if (ratq_weights_read(gpath, &g) != 0) return -1;
    const ratq_weights_tensor *idx = ratq_weights_find(&g, "index"), *ref = ratq_weights_find(&g, "logits");
    ratq_dataset *ds = ratq_data_open(dpath, NULL);
    if (!idx || !ref || !ds) {
        fprintf(stderr, "bench_model: cannot validate (golden %s or data %s missing)\n", gpath, dpath);
        return -1;
    }
    const int n = idx->shape[0], R = m->cfg.resolution, K = m->cfg.num_classes;
    float *x = malloc((size_t)n * R * R * 3 * sizeof(float));
    ratq_image img = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (ratq_data_read(ds, (int64_t)idx->data[i], &img) != 0 || img.h != R || img.w != R || img.c != 3) rc = -1;
        else ratq_effnet_preprocess_u8(img.data, (size_t)R * R * 3, x + (size_t)i * R * R * 3);
    }
    const float *y = rc == 0 ? ratq_effnet_forward(m, x, n, RATQ_EFFNET_INFER, 0) : NULL;
    double worst = 0;
    for (int i = 0; y && i < n; i++) {
        double num = 0, den = 0;
        for (int j = 0; j < K; j++) {
            double d = (double)y[(size_t)i * K + j] - ref->data[(size_t)i * K + j];
            num += d * d;
            den += (double)ref->data[(size_t)i * K + j] * ref->data[(size_t)i * K + j];
        }
        double rel = sqrt(num / den);
        if (!(rel <= worst)) worst = rel;
    }
    if (!y || !(worst <= 1e-4)) {
        fprintf(stderr, "bench_model: validation FAILED: logits differ from PyTorch's (relative error %.3g)\n", worst);
        rc = -1;
    } else {
        printf("validated: lite0 logits of %d imagenet_sample images match PyTorch (relative error %.2g)\n", n, worst);
    }
    ratq_image_free(&img);
    free(x);
    ratq_data_close(ds);
    ratq_weights_free(&g);
    return rc;
}

// One training step's worth of work (forward in train mode, softmax cross-entropy, backward).
static int train_step(ratq_effnet *m, const float *x, int n, const int32_t *labels, float *dlogits) {
    const float *y = ratq_effnet_forward(m, x, n, RATQ_EFFNET_TRAIN, 0);
    if (!y) return -1;
    ratq_xent_params xp = {.n = n, .classes = m->cfg.num_classes, .label_smoothing = 0.0f};
    double loss = ratq_softmax_xent_cpu(&xp, y, labels, dlogits);
    if (!isfinite(loss)) return -1;
    return ratq_effnet_backward(m, dlogits);
}

static int run_pytorch(int batch, int threads, int iters, double *fwd, double *fwdbwd, char *version, size_t cap) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import torch, efficientnet_lite_pytorch' 2>/dev/null && "
             "OMP_NUM_THREADS=%d python3 %s/scripts/bench_pytorch.py --batch %d --threads %d --iters %d",
             threads, RATQ_SOURCE_DIR, batch, threads, iters);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[4096], last[4096] = "";
    while (fgets(line, sizeof line, p))
        if (line[0] == '{') snprintf(last, sizeof last, "%s", line);
    int st = pclose(p);
    if (st != 0 || !last[0]) return -1;
    cJSON *o = cJSON_Parse(last);
    if (!o) return -1;
    cJSON *f = cJSON_GetObjectItem(o, "fwd_img_s"), *fb = cJSON_GetObjectItem(o, "fwdbwd_img_s"),
          *v = cJSON_GetObjectItem(o, "torch");
    int rc = cJSON_IsNumber(f) && cJSON_IsNumber(fb) ? 0 : -1;
    if (rc == 0) {
        *fwd = f->valuedouble;
        *fwdbwd = fb->valuedouble;
        snprintf(version, cap, "%s", cJSON_IsString(v) ? v->valuestring : "?");
    }
    cJSON_Delete(o);
    return rc;
}

int main(int argc, char **argv) {
    const char *weights = getenv("RATQ_WEIGHTS");
    if (!weights || !*weights) weights = RATQ_BINARY_DIR "/weights/efficientnet-lite0.ratqw";
    int batch = 32, threads = 2, iters = 3, pytorch = 1, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-pytorch")) pytorch = 0;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: bench_model [--weights FILE] [--batch 32] [--threads 2] [--iters 3] "
                            "[--no-pytorch] [--json]\n");
            return 2;
        }
    }
    if (batch < 1 || threads < 1 || iters < 1) return 2;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
#ifdef RATQ_HAVE_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    ratq_effnet m;
    if (ratq_effnet_load(&m, weights) != 0) {
        fprintf(stderr, "bench_model: create the weights with: python3 scripts/get_weights.py --model "
                        "efficientnet-lite0 -o %s\n", weights);
        return 2;
    }
    if (validate(&m) != 0) return 1;

    const int R = m.cfg.resolution, K = m.cfg.num_classes;
    size_t nx = (size_t)batch * R * R * 3;
    float *x = malloc(nx * sizeof(float)), *dlogits = malloc((size_t)batch * K * sizeof(float));
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));
    uint32_t s = 12345;
    for (size_t i = 0; i < nx; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 8388608.0f - 1.0f; // uniform [-1, 1), like preprocessed pixels
    }
    for (int i = 0; i < batch; i++) labels[i] = (int32_t)((i * 37) % K);
    // the training step runs on a copy so that the validated weights stay untouched (BN statistics update)
    ratq_effnet t;
    if (ratq_effnet_build(&t, &m.cfg) != 0) return 1;
    memcpy(t.params, m.params, m.n_floats * sizeof(float));
    if (train_step(&t, x, batch, labels, dlogits) != 0) return 1;
    for (size_t i = 0; i < t.n_floats; i++)
        if (!isfinite(t.grads[i])) {
            fprintf(stderr, "bench_model: validation FAILED: non-finite gradient\n");
            return 1;
        }

    double best_f = 1e30, best_e = 1e30, best_fb = 1e30;
    if (!ratq_effnet_forward(&m, x, batch, RATQ_EFFNET_INFER, 0)) return 1; // warm-up
    for (int it = 0; it < iters; it++) {
        double t0 = ratq_now();
        if (!ratq_effnet_forward(&m, x, batch, RATQ_EFFNET_INFER, 0)) return 1;
        double t1 = ratq_now();
        if (!ratq_effnet_forward(&m, x, batch, RATQ_EFFNET_EVAL, 0)) return 1;
        double t2 = ratq_now();
        if (t1 - t0 < best_f) best_f = t1 - t0;
        if (t2 - t1 < best_e) best_e = t2 - t1;
    }
    for (int it = 0; it < iters; it++) {
        double t0 = ratq_now();
        if (train_step(&t, x, batch, labels, dlogits) != 0) return 1;
        double dt = ratq_now() - t0;
        if (dt < best_fb) best_fb = dt;
    }
    double r_f = batch / best_f, r_e = batch / best_e, r_fb = batch / best_fb;
    double p_f = 0, p_fb = 0;
    char tv[64] = "";
    int have_pt = pytorch && run_pytorch(batch, threads, iters, &p_f, &p_fb, tv, sizeof tv) == 0;
    printf("EfficientNet-Lite0 float32, batch %d, %d threads, best of %d\n", batch, threads, iters);
    printf("  %-22s %12s %12s\n", "", "ratq img/s", have_pt ? "torch img/s" : "");
    if (have_pt) {
        printf("  %-22s %12.2f %12.2f   ratio %.2fx\n", "forward (infer)", r_f, p_f, r_f / p_f);
        printf("  %-22s %12.2f %12.2f   ratio %.2fx\n", "forward (eval, no fold)", r_e, p_f, r_e / p_f);
        printf("  %-22s %12.2f %12.2f   ratio %.2fx\n", "forward+backward", r_fb, p_fb, r_fb / p_fb);
        printf("  PyTorch %s CPU eager; target: forward ratio >= 0.5 -> %s\n", tv,
               r_f / p_f >= 0.5 ? "met" : "NOT met");
    } else {
        printf("  %-22s %12.2f\n  %-22s %12.2f\n  %-22s %12.2f\n  (PyTorch not available: pip install torch "
               "efficientnet-lite-pytorch==0.1.0 for the side-by-side)\n",
               "forward (infer)", r_f, "forward (eval, no fold)", r_e, "forward+backward", r_fb);
    }
    if (json) {
        printf("{\"batch\":%d,\"threads\":%d,\"ratq_fwd_img_s\":%.3f,\"ratq_fwd_eval_img_s\":%.3f,"
               "\"ratq_fwdbwd_img_s\":%.3f",
               batch, threads, r_f, r_e, r_fb);
        if (have_pt)
            printf(",\"torch\":\"%s\",\"torch_fwd_img_s\":%.3f,\"torch_fwdbwd_img_s\":%.3f,\"fwd_ratio\":%.3f,"
                   "\"fwdbwd_ratio\":%.3f",
                   tv, p_f, p_fb, r_f / p_f, r_fb / p_fb);
        printf("}\n");
    }
    free(x);
    free(dlogits);
    free(labels);
    ratq_effnet_free(&t);
    ratq_effnet_free(&m);
    return 0;
}
