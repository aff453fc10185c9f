// bench_dist_scaling.c — data-parallel scaling inputs and estimate for RAT fine-tuning (host/dist/dist.h, host/train/rat_train.h).
//
// Measures (validating first that the all-reduce mean is right: every element must equal the mean of the ranks'
// values, exactly, for values chosen so the mean is exact):
//   grad_bytes  gradient bytes all-reduced per step = 4 x trainable parameters of the folded network (--model)
//   t_ar        wall time of ratq_dist_allreduce_mean_f32 on a buffer of that size across the ranks this process
//               was launched with (mpirun / RATQ_RANK...), median of --reps
// and prints, for a given compute step time T (--step-ms: measured elsewhere, e.g. `ratq finetune` images/s), the
// expected efficiency at W = 2, 4, 8 ranks for a link of bus bandwidth BW (GB/s) and latency L (us):
//   ring all-reduce   t(W) = 2 (W - 1) / W * grad_bytes / BW + 2 (W - 1) L
//   no overlap        eff = T / (T + t(W))
//   bucketed overlap  the backward (~2/3 T) hides all but the last of nb buckets: exposed = max(t / nb, t - 2T/3),
//                     eff = T / (T + exposed)
//   break-even        the step time for 90 % without any overlap: T >= 9 t(W)
// Links: --link NAME:BW_GBps:LAT_us (repeatable). Defaults are stated assumptions, not measurements:
// nvlink:360:3 (NCCL all-reduce bus bandwidth typical of 8 H100 SXM on NVLink 4), ib100:11:5 (100 Gb/s, ~90 % of
// line rate). The measured t_ar of this launch is printed too (CPU ranks: MPI or TCP through rank 0).
//
// GPU scaling model (issue 15), with --step-ms T from bench_rat_step_cuda (the measured single-GPU step) and its
// backward fraction --bwd-frac f (default 2/3), images per GPU per step --batch B, and the NCCL bus bandwidths
// --nvlink-busbw (8 GPUs of one node; measure with an 8-GPU all-reduce, e.g. nccl-tests all_reduce_perf) and
// --net-busbw (the inter-node link: the ring's two node-crossing edges carry the full ring traffic, so the bus
// bandwidth is the link's, ~11 GB/s for 100 Gb/s), one row per target:
//   t_ar(W)  = 2 (W - 1) / W * grad_bytes / busbw + 2 (W - 1) L
//   exposed  = max(t_ar / nb, t_ar - f T)   (the buckets of the last micro-batch overlap its backward, nb buckets)
//   images/s = W B / (T + exposed),   efficiency = T / (T + exposed)
// Targets: 8 GPUs over NVLink (W = 8) and 2 nodes x 8 GPUs over 100 Gb/s (W = 16, the network's bandwidth).
// With --step-ms the figures also go out as one "json: {...}" line (scripts/gpu_check.sh collects it).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "models/efficientnet_lite.h"
#include "common/io.h"
#include "quant/qnet.h"

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *model = NULL;
    double step_ms = 0;
    int reps = 10, nb = 4, batch = 128;
    double bwd_frac = 2.0 / 3.0, nvlink_bw = 360, net_bw = 11;
    const char *links[8] = {"nvlink:360:3", "ib100:11:5"};
    int nlinks = 2, user_links = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--step-ms") && i + 1 < argc) step_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--buckets") && i + 1 < argc) nb = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bwd-frac") && i + 1 < argc) bwd_frac = atof(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--nvlink-busbw") && i + 1 < argc) nvlink_bw = atof(argv[++i]);
        else if (!strcmp(argv[i], "--net-busbw") && i + 1 < argc) net_bw = atof(argv[++i]);
        else if (!strcmp(argv[i], "--link") && i + 1 < argc && (user_links || (nlinks = 0, 1)) && nlinks < 8) {
            user_links = 1;
            links[nlinks++] = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_dist_scaling [--model FP.ratqw] [--step-ms T] [--reps N] [--buckets NB] "
                            "[--link NAME:BW_GBps:LAT_us]... [--bwd-frac F] [--batch B] [--nvlink-busbw GBps] "
                            "[--net-busbw GBps]\n");
            return 2;
        }
    }
    if (reps < 1 || nb < 1 || !(bwd_frac >= 0 && bwd_frac <= 1) || batch < 1 || !(nvlink_bw > 0) || !(net_bw > 0))
        return 2;
    // trainable parameters of the folded network (EfficientNet-Lite0 by default: built from its config)
    ratq_effnet m;
    if (model) {
        if (ratq_effnet_load(&m, model) != 0) return 2;
    } else {
        ratq_effnet_config cfg;
        if (ratq_effnet_config_from_name("efficientnet-lite0", 1000, 224, &cfg) != 0 || ratq_effnet_build(&m, &cfg) != 0)
            return 2;
    }
    ratq_qnet q;
    if (ratq_qnet_from_effnet(&q, &m) != 0) return 2;
    char arch[32];
    snprintf(arch, sizeof arch, "%s", m.cfg.arch);
    ratq_effnet_free(&m);
    const size_t n = q.n_params;
    const double bytes = 4.0 * (double)n;
    ratq_qnet_free(&q);

    ratq_dist *d = ratq_dist_init(NULL);
    if (!d) return 2;
    const int rank = ratq_dist_rank(d), world = ratq_dist_world(d);
    float *buf = malloc(n * sizeof(float));
    double *t = malloc((size_t)reps * sizeof(double));
    if (!buf || !t) return 2;
    // validation: rank r holds r + (i % 7); the mean is (W - 1) / 2 + i % 7, exact in float for small W
    for (size_t i = 0; i < n; i++) buf[i] = (float)rank + (float)(i % 7);
    ratq_dist_allreduce_mean_f32(d, buf, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += buf[i] != (float)(world - 1) / 2.0f + (float)(i % 7);
    if (bad) {
        fprintf(stderr, "bench_dist_scaling: rank %d: all-reduce mean wrong in %zu of %zu elements\n", rank, bad, n);
        return 1;
    }
    for (int r = 0; r < reps; r++) {
        ratq_dist_barrier(d);
        double t0 = ratq_now();
        ratq_dist_allreduce_mean_f32(d, buf, n);
        t[r] = ratq_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    const double t_ar = t[reps / 2];
    if (rank == 0) {
        printf("model %s: %zu trainable parameters, gradient all-reduce %.2f MB per step\n", arch, n, bytes / 1e6);
        printf("measured: all-reduce mean of %.2f MB over %d rank(s) (%s): median %.3f ms of %d (%.2f GB/s algbw)\n",
               bytes / 1e6, world, ratq_dist_backend_name(d), t_ar * 1e3, reps, world > 1 ? bytes / t_ar / 1e9 : 0.0);
        if (step_ms > 0) {
            const double T = step_ms / 1e3;
            printf("estimate for a compute step of %.1f ms (%d buckets):\n", step_ms, nb);
            printf("| link | BW GB/s | W | all-reduce ms | eff. no overlap | eff. bucketed overlap | step for 90 %% without "
                   "overlap |\n|---|---|---|---|---|---|---|\n");
            for (int l = 0; l < nlinks; l++) {
                char name[64];
                double bw, lat;
                if (sscanf(links[l], "%63[^:]:%lf:%lf", name, &bw, &lat) != 3 || !(bw > 0)) {
                    fprintf(stderr, "bench_dist_scaling: --link %s: expected NAME:BW_GBps:LAT_us\n", links[l]);
                    return 2;
                }
                for (int w = 2; w <= 8; w *= 2) {
                    double tw = 2.0 * (w - 1) / w * bytes / (bw * 1e9) + 2.0 * (w - 1) * lat * 1e-6;
                    double exposed = tw / nb > tw - bwd_frac * T ? tw / nb : tw - bwd_frac * T;
                    printf("| %s | %.0f | %d | %.3f | %.1f %% | %.1f %% | >= %.2f ms |\n", name, bw, w, tw * 1e3,
                           100.0 * T / (T + tw), 100.0 * T / (T + exposed), 9.0 * tw * 1e3);
                }
            }
            // the two targets of issue 15, from the measured GPU step
            printf("\nGPU targets: step %.2f ms for %d images per GPU (%.0f images/s on one GPU), backward %.0f %% of "
                   "it, %d buckets\n",
                   step_ms, batch, batch / T, 100 * bwd_frac, nb);
            printf("| configuration | W | bus GB/s | all-reduce ms | exposed ms | efficiency | images/s |\n"
                   "|---|---|---|---|---|---|---|\n");
            const struct {
                const char *name;
                int w;
                double bw, lat;
            } tg[2] = {{"8 GPUs, NVLink", 8, nvlink_bw, 3}, {"2 nodes x 8 GPUs, 100 Gb/s", 16, net_bw, 5}};
            double ips[2], eff[2], ar_ms[2];
            for (int k = 0; k < 2; k++) {
                const int w = tg[k].w;
                const double tw = 2.0 * (w - 1) / w * bytes / (tg[k].bw * 1e9) + 2.0 * (w - 1) * tg[k].lat * 1e-6;
                const double exposed = tw / nb > tw - bwd_frac * T ? tw / nb : tw - bwd_frac * T;
                printf("| %s | %d | %.0f | %.3f | %.3f | %.1f %% | %.0f |\n", tg[k].name, w, tg[k].bw, tw * 1e3,
                       exposed * 1e3, 100.0 * T / (T + exposed), w * batch / (T + exposed));
                ips[k] = w * batch / (T + exposed);
                eff[k] = T / (T + exposed);
                ar_ms[k] = tw * 1e3;
            }
            printf("RESULT scaling_8gpu_nvlink_images_per_s=%.0f\nRESULT scaling_2node_100g_images_per_s=%.0f\n", ips[0],
                   ips[1]);
            // the line scripts/gpu_check.sh collects (bus bandwidths are the stated assumptions unless given)
            printf("json: {\"bench\": \"dist_scaling\", \"grad_mb\": %.3f, \"step_ms\": %.3f, \"batch\": %d, "
                   "\"bwd_frac\": %.3f, \"buckets\": %d, \"nvlink_busbw_gbs\": %.1f, \"net_busbw_gbs\": %.1f, "
                   "\"one_gpu_img_s\": %.1f, \"gpu8_nvlink_allreduce_ms\": %.3f, \"gpu8_nvlink_eff\": %.4f, "
                   "\"gpu8_nvlink_img_s\": %.0f, \"node2_100g_allreduce_ms\": %.3f, \"node2_100g_eff\": %.4f, "
                   "\"node2_100g_img_s\": %.0f}\n",
                   bytes / 1e6, step_ms, batch, bwd_frac, nb, nvlink_bw, net_bw, batch / T, ar_ms[0], eff[0], ips[0],
                   ar_ms[1], eff[1], ips[1]);
        }
    }
    free(buf);
    free(t);
    ratq_dist_finalize(d);
    return 0;
}
