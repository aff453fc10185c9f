// bench_data_stream.c — the RAT input pipeline on the CPU (host/data/stream.h, host/data/source.c), label-free benchmark.
//
//   listing   start-up on a JPEG folder tree: a synthetic tree of --classes x --files empty *.JPEG files (default
//             20 x 1281 = 25,620, ImageNet's files per class; --classes 1000 for the full 1.28M) is opened by
//             ratq_data_open, and, side by side, by the
//             listing this replaced (readdir + a stat and a malloc'd full path per file, the pre-issue-15 source.c,
//             reproduced below as `baseline`). Printed: seconds, microseconds per file, resident memory per million
//             files, the extrapolation to 1.28M files, and the ratio. The page cache is warm (the tree was just made).
//   decode    images/s of the streaming input (decode + RandomResizedCrop(224) + flip into the ring) with 1 worker
//             and with one worker per core, as wall-clock images/s and as images per CPU-second of the process (the
//             per-core rate, robust on a shared machine), on (a) $RATQ_SHARED_DATA/imagenet_trainlike (224x224 JPEGs,
//             q95) when present and (b) ImageNet-size JPEGs: those images upscaled to 500x375 (ImageNet's most common
//             size) and re-encoded at quality 90 with libjpeg-turbo. Validated first: the streamed batch equals the
//             reference decode of the same images (host/data/stream.h "Order"). Printed: cores needed to feed
//             --gpu-ips images/s (the measured GPU RAT step rate, bench_rat_step_cuda).
// Options: --classes N --files N --batch N --steps N --gpu-ips X. The machine may be shared: compare ratios.
#define _DEFAULT_SOURCE // mkdtemp, d_type
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/io.h"
#include "data/data.h"
#include "data/stream.h"

#ifdef RATQ_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

// ---- the listing before this change (per file: stat + a malloc'd full path) --------------------------------------
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int64_t baseline_list(const char *root, char ***all) {
    DIR *d = opendir(root);
    if (!d) return -1;
    int64_t n = 0, cap = 1024;
    char **v = malloc((size_t)cap * sizeof *v);
    struct dirent *e, *f;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        DIR *c = opendir(dir);
        while (c && (f = readdir(c))) {
            if (f->d_name[0] == '.') continue;
            char full[8192];
            snprintf(full, sizeof full, "%s/%s", dir, f->d_name);
            if (stat(full, &st) != 0 || S_ISDIR(st.st_mode)) continue;
            if (n == cap) v = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            v[n++] = strdup(full);
        }
        if (c) closedir(c);
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    *all = v;
    return n;
}

static void bench_listing(const char *tmp, int classes, int files) {
    char root[512];
    snprintf(root, sizeof root, "%s/ratq_tree_XXXXXX", tmp);
    if (!mkdtemp(root)) return;
    double t0 = ratq_now();
    for (int c = 0; c < classes; c++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/n%08d", root, c);
        mkdir(dir, 0755);
        for (int i = 0; i < files; i++) {
            char p[700];
            snprintf(p, sizeof p, "%s/n%08d_%d.JPEG", dir, c, i);
            FILE *f = fopen(p, "wb");
            if (f) fclose(f);
        }
    }
    const double t_make = ratq_now() - t0;
    const long n = (long)classes * files;
    long r0 = rss_kb();
    t0 = ratq_now();
    ratq_dataset *ds = ratq_data_open(root, NULL);
    const double t_open = ratq_now() - t0;
    long r1 = rss_kb();
    const int64_t got = ds ? ratq_data_count(ds) : -1;
    ratq_data_close(ds);
    char **v = NULL;
    long r2 = rss_kb();
    t0 = ratq_now();
    int64_t nb = baseline_list(root, &v);
    const double t_base = ratq_now() - t0;
    long r3 = rss_kb();
    for (int64_t i = 0; i < nb; i++) free(v[i]);
    free(v);
    printf("## listing a JPEG tree: %d classes x %d files = %ld (made in %.1f s)\n\n", classes, files, n, t_make);
    if (got != n || nb != n) {
        printf("listing counted %lld / %lld files, want %ld: not timed\n", (long long)got, (long long)nb, n);
        return;
    }
    const double us = 1e6 * t_open / n, us_b = 1e6 * t_base / n;
    const double mb = (r1 - r0) / 1024.0 * 1e6 / n, mb_b = (r3 - r2) / 1024.0 * 1e6 / n;
    printf("| listing | s | us / file | s for 1.28M files | resident MB per 1M files |\n|---|---|---|---|---|\n");
    printf("| ratq_data_open (d_type, name arena) | %.3f | %.2f | %.1f | %.0f |\n", t_open, us, us * 1.28, mb);
    printf("| baseline (stat + full path per file) | %.3f | %.2f | %.1f | %.0f |\n", t_base, us_b, us_b * 1.28, mb_b);
    printf("\nratio baseline / ratq: time %.2fx, memory %.2fx\n", t_base / t_open, mb > 0 ? mb_b / mb : 0.0);
    printf("RESULT list_us_per_file=%.3f\nRESULT list_s_1p28M=%.2f\nRESULT list_mb_per_1M=%.1f\n", us, us * 1.28, mb);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", root);
}

// ---- decode throughput ------------------------------------------------------------------------------------------------
// Process CPU seconds (all threads): images per CPU-second is the per-core rate even on a shared machine, where wall
// time depends on how much of the cores this process gets.
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Images/s (wall) of a stream with `workers` threads; *per_cpu_s = images per CPU-second.
static double stream_rate(const ratq_dataset *ds, int workers, int batch, int steps, long *checked,
                          double *per_cpu_s) {
    ratq_stream_config c = ratq_stream_config_default();
    c.batch = batch;
    c.seed = 5;
    c.num_workers = workers;
    c.depth = 3;
    c.tf = ratq_transform_train(224);
    c.tf.out_channels = 3;
    ratq_stream *s = ratq_stream_create(ds, &c);
    *per_cpu_s = 0;
    if (!s) return -1;
    const int64_t nb = ratq_stream_steps_per_epoch(s), total = steps < nb ? steps : nb;
    ratq_stream_start(s, 0, total + 1 < nb ? total + 1 : nb);
    ratq_stream_batch b;
    if (ratq_stream_next(s, &b) != 1) return -1; // step 0: warm-up and validation
    {
        ratq_image im = {0}, scr = {0};
        uint8_t *ref = malloc((size_t)224 * 224 * 3);
        for (int j = 0; j < b.n; j++) {
            if (ratq_data_read(ds, b.index[j], &im) != 0 ||
                ratq_transform_apply(&c.tf, &im, c.seed, 0, b.index[j], ref, &scr) != 0 ||
                memcmp(ref, b.images + (size_t)j * 224 * 224 * 3, (size_t)224 * 224 * 3) != 0) {
                fprintf(stderr, "bench_data_stream: streamed image %d differs from its reference decode\n", j);
                exit(1);
            }
            (*checked)++;
        }
        free(ref);
        ratq_image_free(&im);
        ratq_image_free(&scr);
    }
    ratq_stream_release(s, &b);
    const double t0 = ratq_now(), c0 = cpu_seconds();
    int64_t got = 0;
    while (ratq_stream_next(s, &b) == 1) {
        got += b.n;
        ratq_stream_release(s, &b);
    }
    const double dt = ratq_now() - t0, dc = cpu_seconds() - c0;
    ratq_stream_destroy(s);
    *per_cpu_s = got / dc;
    return got / dt;
}

// ImageNet-size JPEGs (500x375, q90) made from the images of ds, as a JPEG shard file. Returns 0 or -1.
static int make_large(const ratq_dataset *ds, int n, const char *path) {
#ifdef RATQ_HAVE_TURBOJPEG
    tjhandle h = tjInitCompress();
    const int W = 500, H = 375;
    uint8_t *big = malloc((size_t)W * H * 3), *all = NULL;
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(n + 1));
    size_t used = 0, cap = 0;
    ratq_image im = {0}, scr = {0};
    off[0] = 0;
    for (int i = 0; i < n; i++) {
        if (ratq_data_read(ds, i % ratq_data_count(ds), &im) != 0 ||
            ratq_resize_bilinear(im.data, im.h, im.w, 3, (size_t)im.w * 3, big, H, W, &scr) != 0)
            return -1;
        unsigned char *jb = NULL;
        unsigned long js = 0;
        if (tjCompress2(h, big, W, W * 3, H, TJPF_RGB, &jb, &js, TJSAMP_420, 90, 0) != 0) return -1;
        if (used + js > cap) all = realloc(all, cap = 2 * (used + js));
        memcpy(all + used, jb, js);
        used += js;
        off[i + 1] = (int64_t)used;
        tjFree(jb);
    }
    tjDestroy(h);
    // shard header (host/data/data.h): JPEG encoding, labels 0, 3 channels
    const uint64_t lab_off = 128, idx_off = lab_off + 8 * (uint64_t)n, data_off = idx_off + 8 * (uint64_t)(n + 1);
    const uint64_t size = data_off + used;
    uint8_t hdr[128] = {0};
    memcpy(hdr, "RATQIMG1", 8);
    uint32_t u32[8] = {1, 1, 0, 0, 0, 0, 0, 0};
    memcpy(hdr + 8, &u32[0], 4);
    memcpy(hdr + 12, &u32[1], 4);
    const uint64_t cnt = (uint64_t)n;
    memcpy(hdr + 16, &cnt, 8);
    const uint32_t hw[4] = {(uint32_t)H, (uint32_t)W, 3, 1};
    memcpy(hdr + 24, hw, 16);
    memcpy(hdr + 40, &lab_off, 8);
    memcpy(hdr + 48, &idx_off, 8);
    memcpy(hdr + 56, &data_off, 8);
    const uint64_t ds_ = used;
    memcpy(hdr + 64, &ds_, 8);
    memcpy(hdr + 72, &size, 8);
    FILE *f = fopen(path, "wb");
    int64_t zero = 0;
    int ok = f && fwrite(hdr, 1, 128, f) == 128;
    for (int i = 0; ok && i < n; i++) ok = fwrite(&zero, 8, 1, f) == 1;
    ok = ok && fwrite(off, 8, (size_t)n + 1, f) == (size_t)n + 1 && fwrite(all, 1, used, f) == used;
    if (f) fclose(f);
    printf("(ImageNet-size set: %d JPEGs 500x375 q90, mean %.0f KB)\n", n, used / 1024.0 / n);
    free(big), free(all), free(off);
    ratq_image_free(&im);
    ratq_image_free(&scr);
    return ok ? 0 : -1;
#else
    (void)ds, (void)n, (void)path;
    return -1;
#endif
}

int main(int argc, char **argv) {
    int classes = 20, files = 1281, batch = 32, steps = 16;
    double gpu_ips = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--classes") && i + 1 < argc) classes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--files") && i + 1 < argc) files = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gpu-ips") && i + 1 < argc) gpu_ips = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_data_stream [--classes N] [--files N] [--batch N] [--steps N] [--gpu-ips X]\n");
            return 2;
        }
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    bench_listing(tmp, classes, files);
    const char *shared = getenv("RATQ_SHARED_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/imagenet_trainlike", shared && *shared ? shared : "../shared/data");
    ratq_dataset *ds = access(path, R_OK) == 0 ? ratq_data_open(path, NULL) : NULL;
    if (!ds) {
        printf("\n(no %s: decode throughput not measured)\n", path);
        return 0;
    }
    printf("\n## decode + RandomResizedCrop(224) + flip, batch %d, %d timed steps, %ld cores\n\n", batch, steps, cores);
    printf("| images | workers | images/s (wall) | images per CPU-second |\n|---|---|---|---|\n");
    long checked = 0;
    char big[600];
    snprintf(big, sizeof big, "%s/ratq_large_%d.rqshard", tmp, (int)getpid());
    ratq_dataset *large = make_large(ds, 256, big) == 0 ? ratq_data_open(big, NULL) : NULL;
    const ratq_dataset *sets[2] = {ds, large};
    const char *names[2] = {"imagenet_trainlike 224x224", "ImageNet-size 500x375"};
    double per_core[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        if (!sets[k]) continue;
        const int ws[2] = {1, (int)cores};
        for (int wi = 0; wi < 2; wi++) {
            if (wi == 1 && cores <= 1) continue;
            double pc = 0;
            const double r = stream_rate(sets[k], ws[wi], batch, steps, &checked, &pc);
            printf("| %s | %d | %.1f | %.1f |\n", names[k], ws[wi], r, pc);
            if (wi == 0 || pc > per_core[k]) per_core[k] = pc;
        }
    }
    printf("\nvalidated: %ld streamed images equal their reference decode\n", checked);
    printf("RESULT decode_ips_per_core_224=%.1f\nRESULT decode_ips_per_core_500x375=%.1f\n", per_core[0], per_core[1]);
    if (gpu_ips > 0 && per_core[1] > 0)
        printf("feeding %.0f images/s (GPU step) needs %.1f cores of ImageNet-size JPEGs (%.1f of 224x224 ones); 16 "
               "cores give %.0f images/s\n",
               gpu_ips, gpu_ips / per_core[1], gpu_ips / per_core[0], 16 * per_core[1]);
    else if (per_core[1] > 0)
        printf("16 cores decode about %.0f ImageNet-size images/s (%.0f at 224x224); pass --gpu-ips to compare with the "
               "GPU step\n",
               16 * per_core[1], 16 * per_core[0]);
    ratq_data_close(ds);
    ratq_data_close(large);
    unlink(big);
    return 0;
}
