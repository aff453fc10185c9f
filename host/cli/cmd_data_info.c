// host/cli/cmd_data_info.c — `ratq data-info PATH`: open a dataset, print what it holds, optionally decode every image.
// Exit codes: 0 ok, 2 bad input (unreadable / malformed / mismatched file, bad option).
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "data/data.h"
#include "cli/options.h"
#include "common/io.h"

int cmd_data_info(int argc, char **argv) {
    const char *path = NULL, *classes = NULL;
    int verify = 0, size = 224, resize = 0, channels = 0, batch = 64, workers = 2, n_pos = 0, tfk = 0;
    uint64_t seed = 0;
    static const char *const transforms[] = {"eval", "train", "none", "auto", NULL};
    static const char *const channel_names[] = {"0", "1", "3", NULL};
    static const int channel_values[] = {0, 1, 3};
    ratq_opt opts[] = {
        {RATQ_OPT("--classes", RATQ_OPT_STRING, &classes, "SYNSETS", "JPEG trees: the label of each class folder")},
        {RATQ_OPT("--verify", RATQ_OPT_FLAG, &verify, NULL,
                  "run one epoch of the loader (decode + transform every image) and report images/s")},
        {RATQ_OPT("--transform", RATQ_OPT_ENUM, &tfk, NULL,
                  "eval (default); auto: none when the stored size is already SIZE x SIZE, else eval"),
         .names = transforms},
        {RATQ_OPT("--size", RATQ_OPT_INT, &size, "N", "output size of the transform (default 224)"), .lo = 1,
         .hi = 1 << 16},
        {RATQ_OPT("--resize", RATQ_OPT_INT, &resize, "N", "resize before the crop (default: the transform's)"),
         .lo = 0, .hi = 1 << 16},
        {RATQ_OPT("--channels", RATQ_OPT_ENUM, &channels, NULL, "output channels (default 0: as stored)"),
         .names = channel_names, .values = channel_values},
        {RATQ_OPT("--batch", RATQ_OPT_INT, &batch, "N", "--verify: images per batch (default 64)"), .lo = 1, .hi = 4096},
        {RATQ_OPT("--workers", RATQ_OPT_INT, &workers, "N", "--verify: decoding threads (default 2)"), .lo = 0,
         .hi = 256},
        {RATQ_OPT("--seed", RATQ_OPT_U64, &seed, "S", "--verify with --transform train: augmentation seed (default 0)")},
    };
    ratq_cli cli = {RATQ_CLI("data-info", "data-info PATH [options]",
                             "  PATH: a shard (.rqshard), a folder of shards or .npz files, an .npz, a JPEG tree "
                             "<root>/<class>/*.jpg,\n        or an IDX prefix such as "
                             "/usr/share/datasets/fashion-mnist/t10k", opts),
                    .pos = &path, .n_pos = &n_pos, .max_pos = 1, .min_pos = 1, .pos_meta = "PATH"};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    const char *tfname = transforms[tfk];
    ratq_transform tf;
    if (!strcmp(tfname, "eval")) tf = ratq_transform_eval(size);
    else if (!strcmp(tfname, "train")) tf = ratq_transform_train(size);
    else if (!strcmp(tfname, "none")) tf = ratq_transform_none(size);
    else tf = ratq_transform_eval(size); // auto: replaced below once the data is open
    tf.resize_to = resize;
    tf.out_channels = channels;
    ratq_data_options dopts = {classes};
    ratq_dataset *ds = ratq_data_open(path, &dopts);
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
