// host/train/rat_feed.c — the training batches of the RAT loop (host/train/internal.h) from the input stream
// (host/data/stream.h).
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "quant/calib_eval.h"
#include "train/internal.h"
#include "train/rat_step_cuda.h" // ratq_rat_cuda_host_alloc / _free: pinned slots for the GPU-resident step

int ratq_feeder_init(ratq_feeder *fd, const ratq_dataset *ds, int res, int augment, int64_t limit, uint64_t seed,
                     int batch, int rank, int world, int workers, int pinned) {
    memset(fd, 0, sizeof *fd);
    ratq_stream_config c = ratq_stream_config_default();
    c.batch = batch;
    c.rank = rank;
    c.world = world;
    c.limit = limit;
    c.seed = seed;
    c.num_workers = workers;
    // slots: the batches the loop holds (pinned: the GPU's step and the next one being staged; else the step's) and
    // two being decoded ahead
    c.depth = pinned ? RATQ_FEEDER_HOLD + 2 : 3;
    if (augment) {
        c.tf = ratq_transform_train(res);
        c.tf.out_channels = 3;
    } else
        c.tf = ratq_quant_transform(ds, res);
    if (pinned) {
        c.alloc = ratq_rat_cuda_host_alloc;
        c.free = ratq_rat_cuda_host_free;
    }
    ratq_data_info info = ratq_data_get_info(ds);
    if (ratq_transform_check(&c.tf, &info) != 0) return -1;
    int h, w, ch;
    ratq_transform_out_shape(&c.tf, &info, &h, &w, &ch);
    if (h != res || w != res || ch != 3) {
        ratq_error("finetune: transform gives %dx%dx%d images, the model needs %dx%dx3", h, w, ch, res, res);
        return -1;
    }
    fd->per = (size_t)res * res * 3;
    if (!(fd->s = ratq_stream_create(ds, &c))) return -1;
    fd->n = ratq_stream_images(fd->s);
    fd->nb = ratq_stream_steps_per_epoch(fd->s);
    return 0;
}

static void release_all(ratq_feeder *fd) {
    for (int i = 0; i < RATQ_FEEDER_HOLD; i++)
        if (fd->used[i]) {
            ratq_stream_release(fd->s, &fd->held[i]);
            fd->used[i] = 0;
        }
}

int ratq_feeder_start(ratq_feeder *fd, int64_t first, int64_t end) {
    release_all(fd);
    return ratq_stream_start(fd->s, first, end);
}

int ratq_feeder_next(ratq_feeder *fd, int64_t t, const ratq_stream_batch **b) {
    int i = 0;
    while (i < RATQ_FEEDER_HOLD && fd->used[i]) i++;
    if (i == RATQ_FEEDER_HOLD) {
        ratq_error("finetune: step %lld: the loop already holds %d batches", (long long)t, RATQ_FEEDER_HOLD);
        return -1;
    }
    ratq_stream_batch *nb = &fd->held[i];
    const int r = ratq_stream_next(fd->s, nb);
    if (r == 0 || (r == 1 && nb->step != t)) {
        ratq_error("finetune: the input stream has no batch for step %lld", (long long)t);
        if (r == 1) ratq_stream_release(fd->s, nb);
        return -1;
    }
    if (r < 0) return -1; // the stream named the image
    fd->used[i] = 1;
    *b = nb;
    return 0;
}

void ratq_feeder_release(ratq_feeder *fd, int64_t t) {
    for (int i = 0; i < RATQ_FEEDER_HOLD; i++)
        if (fd->used[i] && fd->held[i].step == t) {
            ratq_stream_release(fd->s, &fd->held[i]);
            fd->used[i] = 0;
        }
}

void ratq_feeder_free(ratq_feeder *fd) {
    if (fd->s) release_all(fd);
    ratq_stream_destroy(fd->s);
    memset(fd, 0, sizeof *fd);
}
