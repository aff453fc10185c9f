// host/train/rat_feed.c — the training images of the RAT loop (host/train/internal.h).
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "quant/calib_eval.h"
#include "train/internal.h"

int ratq_feeder_image(ratq_feeder *fd, int64_t idx, int64_t epoch, uint8_t *dst) {
    if (fd->cache) {
        memcpy(dst, fd->cache + (size_t)idx * fd->per, fd->per);
        return 0;
    }
    if (ratq_data_read(fd->ds, idx, &fd->img) != 0) return -1;
    return ratq_transform_apply(&fd->tf, &fd->img, fd->seed, epoch, idx, dst, &fd->scratch);
}

int ratq_feeder_init(ratq_feeder *fd, const ratq_dataset *ds, int res, int augment, int64_t limit, uint64_t seed) {
    memset(fd, 0, sizeof *fd);
    fd->ds = ds;
    fd->seed = seed;
    fd->n = ratq_data_count(ds);
    if (limit > 0 && limit < fd->n) fd->n = limit;
    if (augment) {
        fd->tf = ratq_transform_train(res);
        fd->tf.out_channels = 3;
    } else
        fd->tf = ratq_quant_transform(ds, res);
    ratq_data_info info = ratq_data_get_info(ds);
    if (ratq_transform_check(&fd->tf, &info) != 0) return -1;
    ratq_transform_out_shape(&fd->tf, &info, &fd->h, &fd->w, &fd->c);
    if (fd->h != res || fd->w != res || fd->c != 3) {
        ratq_error("finetune: transform gives %dx%dx%d images, the model needs %dx%dx3", fd->h, fd->w, fd->c, res, res);
        return -1;
    }
    fd->per = (size_t)res * res * 3;
    if (!augment) {
        fd->cache = malloc(fd->per * (size_t)fd->n);
        if (!fd->cache) {
            ratq_error("finetune: out of memory caching %lld images", (long long)fd->n);
            return -1;
        }
        for (int64_t i = 0; i < fd->n; i++) {
            if (ratq_data_read(ds, i, &fd->img) != 0 ||
                ratq_transform_apply(&fd->tf, &fd->img, seed, 0, i, fd->cache + (size_t)i * fd->per, &fd->scratch) != 0)
                return -1;
        }
    }
    return 0;
}

void ratq_feeder_free(ratq_feeder *fd) {
    free(fd->cache);
    fd->cache = NULL;
    ratq_image_free(&fd->img);
    ratq_image_free(&fd->scratch);
}
