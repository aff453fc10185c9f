// bench_engine.c — forward-only speed of the CPU integer engines on an integer model (.ratqm): the first N images of
// a dataset are loaded and quantized once (not timed), then ratq_qmodel_run_engine runs them in batches of B,
// `iters` times after one untimed warm-up pass; prints one JSON line with the median images/s. The fast engine's
// logits are checked against the reference engine's on the first batch before any timing (bit for bit).
// usage: bench_engine --model M.ratqm --data PATH [--engine fast|ref] [--images N] [--batch B] [--iters R]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "data/data.h"
#include "qmodel/qmodel.h"
#include "quant/calib_eval.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *model = NULL, *data = NULL;
    ratq_engine engine = RATQ_ENGINE_FAST;
    int images = 64, batch = 32, iters = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--engine") && !ratq_engine_from_name(argv[i + 1], &engine)) continue;
        else if (!strcmp(argv[i], "--images")) images = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else break;
    }
    if (!model || !data || images < 1 || batch < 1 || iters < 1 || iters > 99) {
        fprintf(stderr, "usage: bench_engine --model M.ratqm --data PATH [--engine fast|ref] [--images N] [--batch B] "
                        "[--iters R]\n");
        return 2;
    }
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, model)) return 2;
    ratq_dataset *ds = ratq_data_open(data, NULL);
    if (!ds) return 2;
    ratq_loader_config cfg = ratq_loader_config_default();
    cfg.batch_size = images;
    cfg.shuffle = 0;
    cfg.tf = ratq_quant_transform(ds, m.in_h);
    ratq_loader *ld = ratq_loader_create(ds, &cfg);
    ratq_batch b;
    if (!ld || ratq_loader_start_epoch(ld, 0) || ratq_loader_next(ld, &b) != 1 || b.n < images) {
        fprintf(stderr, "bench_engine: cannot load %d images from %s\n", images, data);
        return 2;
    }
    const size_t per = (size_t)m.in_h * m.in_w * m.in_c;
    int8_t *in = malloc(per * images), *lq = malloc((size_t)images * m.num_classes), *lr = malloc((size_t)batch * m.num_classes);
    ratq_qmodel_input_from_u8(&m, b.images, (int64_t)per * images, in);
    ratq_loader_destroy(ld);
    ratq_data_close(ds);
    const int first = batch < images ? batch : images;
    if (ratq_qmodel_run_engine(&m, RATQ_ENGINE_REF, in, first, NULL, lr, NULL) ||
        ratq_qmodel_run_engine(&m, engine, in, first, NULL, lq, NULL) || memcmp(lr, lq, (size_t)first * m.num_classes)) {
        fprintf(stderr, "bench_engine: %s engine differs from the reference on the first batch\n", ratq_engine_name(engine));
        return 1;
    }
    double rate[99];
    for (int it = -1; it < iters; it++) {
        const double t0 = ratq_now();
        for (int i = 0; i < images; i += batch) {
            const int n = images - i < batch ? images - i : batch;
            if (ratq_qmodel_run_engine(&m, engine, in + per * i, n, NULL, lq + (size_t)i * m.num_classes, NULL)) return 1;
        }
        if (it >= 0) rate[it] = images / (ratq_now() - t0);
    }
    qsort(rate, (size_t)iters, sizeof rate[0], cmp_double);
    printf("{\"engine\":\"%s\",\"kernels\":\"%s\",\"images\":%d,\"batch\":%d,\"iters\":%d,\"images_per_s\":%.4g}\n",
           ratq_engine_name(engine), ratq_fast_isa(), images, batch, iters, rate[iters / 2]);
    free(in), free(lq), free(lr);
    ratq_qmodel_free(&m);
    return 0;
}
