// host/cli/cmd_data_info.c — `ratq data-info PATH`: open a dataset, print what it holds, optionally decode every image.
// Exit codes: 0 ok, 2 bad input (unreadable / malformed / mismatched file, bad option).
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "data/data.h"
#include "common/io.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ratq data-info PATH [--classes SYNSETS] [--verify] [--transform eval|train|none|auto] [--size N]\n"
            "                           [--resize N] [--channels 0|1|3] [--batch N] [--workers N] [--seed S]\n"
            "  PATH: a shard (.rqshard), a folder of shards or .npz files, an .npz, a JPEG tree <root>/<class>/*.jpg,\n"
            "        or an IDX prefix such as /usr/share/datasets/fashion-mnist/t10k\n"
            "  --transform auto: none when the stored size is already SIZE x SIZE, else eval\n"
            "  --verify  run one epoch of the loader (decode + transform every image) and report images/s\n");
}

int cmd_data_info(int argc, char **argv) {
    const char *path = NULL, *classes = NULL, *tfname = "eval";
    int verify = 0, size = 224, resize = 0, channels = 0, batch = 64, workers = 2;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--verify")) {
            verify = 1;
        } else if (!strcmp(a, "--classes") && more) {
            classes = argv[++i];
        } else if (!strcmp(a, "--transform") && more) {
            tfname = argv[++i];
        } else if (!strcmp(a, "--size") && more) {
            size = atoi(argv[++i]);
        } else if (!strcmp(a, "--resize") && more) {
            resize = atoi(argv[++i]);
        } else if (!strcmp(a, "--channels") && more) {
            channels = atoi(argv[++i]);
        } else if (!strcmp(a, "--batch") && more) {
            batch = atoi(argv[++i]);
        } else if (!strcmp(a, "--workers") && more) {
            workers = atoi(argv[++i]);
        } else if (!strcmp(a, "--seed") && more) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (a[0] != '-' && !path) {
            path = a;
        } else {
            ratq_error("data-info: option '%s' unknown or missing its value", a);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    ratq_transform tf;
    if (!strcmp(tfname, "eval")) tf = ratq_transform_eval(size);
    else if (!strcmp(tfname, "train")) tf = ratq_transform_train(size);
    else if (!strcmp(tfname, "none")) tf = ratq_transform_none(size);
    else if (!strcmp(tfname, "auto")) tf = ratq_transform_eval(size); // replaced below once the data is open
    else {
        ratq_error("data-info: --transform: '%s' (eval, train, none or auto)", tfname);
        return 2;
    }
    tf.resize_to = resize;
    tf.out_channels = channels;
    ratq_data_options opts = {classes};
    ratq_dataset *ds = ratq_data_open(path, &opts);
    if (!ds) return 2;
    ratq_data_info in = ratq_data_get_info(ds);
    if (!strcmp(tfname, "auto")) {
        tf = ratq_transform_eval_for(&in, size);
        tfname = tf.kind == RATQ_TF_NONE ? "auto: none" : "auto: eval";
        tf.resize_to = resize;
        tf.out_channels = channels;
    }
    static const char *kinds[] = {"?", "shard", "npz", "jpeg-tree", "idx"};
    printf("path %s\nkind %s\ncount %lld\nnum_classes %d\nlabels %lld..%lld\nstored_size %dx%dx%d%s\n", path,
           kinds[in.kind], (long long)in.count, in.num_classes, (long long)in.min_label, (long long)in.max_label,
           in.height, in.width, in.channels, in.height ? "" : " (variable or JPEG: 0 = per image)");
    int rc = 0;
    if (verify) {
        ratq_loader_config cfg = ratq_loader_config_default();
        cfg.batch_size = batch;
        cfg.num_workers = workers;
        cfg.seed = seed;
        cfg.shuffle = tf.kind == RATQ_TF_TRAIN;
        cfg.tf = tf;
        ratq_loader *ld = ratq_loader_create(ds, &cfg);
        if (!ld) { // ratq_loader_create printed the one error line, naming the data set
            ratq_data_close(ds);
            return 2;
        }
        double t0 = ratq_now();
        int64_t seen = 0;
        ratq_batch b;
        int r = ratq_loader_start_epoch(ld, 0);
        while (r == 0 && (r = ratq_loader_next(ld, &b)) == 1) {
            seen += b.n;
            r = 0;
        }
        double dt = ratq_now() - t0;
        if (r < 0) {
            rc = 2;
        } else {
            printf("verified %lld images -> %dx%dx%d (%s), %.1f s, %.0f images/s with %d workers\n", (long long)seen,
                   size, size, channels ? channels : in.channels, tfname, dt, seen / (dt > 0 ? dt : 1e-9), workers);
        }
        ratq_loader_destroy(ld);
    }
    ratq_data_close(ds);
    return rc;
}
