// fuzz_data.h — what the data harnesses do with an opened data set: the info, every label, and the first two
// batches of 4 through the batch loader (decode, eval transform to 16 x 16 x 3, gray -> RGB), as evaluation does.
#ifndef RATQ_FUZZ_DATA_H
#define RATQ_FUZZ_DATA_H

#include "fuzz_util.h"
#include "data/data.h"

static inline void fuzz_consume_dataset(const char *path) {
    ratq_dataset *ds = ratq_data_open(path, NULL);
    if (!ds) return;
    ratq_data_info info = ratq_data_get_info(ds);
    int64_t sum = 0;
    for (int64_t i = 0; i < info.count && i < 4096; i++) sum += ratq_data_label(ds, i);
    char where[256];
    ratq_data_describe(ds, info.count - 1, where, sizeof where);
    ratq_loader_config lc = ratq_loader_config_default();
    lc.batch_size = 4;
    lc.num_workers = 0;
    lc.tf = ratq_transform_eval_for(&info, 16);
    lc.tf.out_channels = 3;
    if (ratq_transform_check(&lc.tf, &info) == 0) {
        ratq_loader *ld = ratq_loader_create(ds, &lc);
        ratq_batch b;
        if (ld && ratq_loader_start_epoch(ld, 0) == 0)
            for (int k = 0; k < 2 && ratq_loader_next(ld, &b) == 1; k++)
                for (int i = 0; i < b.n * b.h * b.w * b.c; i++) sum += b.images[i];
        if (ld) ratq_loader_destroy(ld);
    }
    if (sum == -1) fprintf(stderr, "unreachable\n"); // keep the reads observable
    ratq_data_close(ds);
}

#endif
