// host/train/internal.h — pieces of the RAT loop (host/train/rat_train.c) kept in their own files: the image
// feeder (host/train/rat_feed.c) and the JSON-lines step log (host/train/rat_log.c).
#ifndef RATQ_HOST_TRAIN_INTERNAL_H
#define RATQ_HOST_TRAIN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "data/data.h"

// The training images: the first n of ds, uint8 [res][res][3]. Without augmentation the eval transform of the
// quantizer (host/quant/calib_eval.h), decoded once and cached; with it RATQ_TF_TRAIN keyed by (seed, epoch,
// dataset index), decoded per use.
typedef struct {
    const ratq_dataset *ds;
    ratq_transform tf;
    int h, w, c;
    size_t per;         // bytes per image
    int64_t n;          // images used
    uint8_t *cache;     // [n][per] when not augmenting
    ratq_image img, scratch;
    uint64_t seed;
} ratq_feeder;

// Returns 0, or -1 after an error line (ratq_feeder_free in both cases).
int ratq_feeder_init(ratq_feeder *fd, const ratq_dataset *ds, int res, int augment, int64_t limit, uint64_t seed);
// Image idx of epoch `epoch` into dst [per]. Returns 0 or -1 after an error line.
int ratq_feeder_image(ratq_feeder *fd, int64_t idx, int64_t epoch, uint8_t *dst);
void ratq_feeder_free(ratq_feeder *fd);

// The JSON-lines log, one line per step: {"step":T,"epoch":E,"loss":L,"acc":A,"lr":LR}. Every write is checked:
// a failed write (full disk) is an error naming the file.
typedef struct {
    FILE *f;
    char path[4096];
} ratq_train_log;

// Open path for the steps from `start` on. start == 0 starts an empty log; start > 0 (a resume) keeps the lines
// of steps < start and cuts the file before the first line of a later step (or a broken line), so that the rerun
// steps are not logged twice. Non-regular files (/dev/..., pipes) are appended to as they are.
// Returns 0 or -1 after an error line.
int ratq_train_log_open(ratq_train_log *l, const char *path, int64_t start);
// Append one step's line and flush it. Returns 0 or -1 after an error line.
int ratq_train_log_step(ratq_train_log *l, int64_t step, int64_t epoch, double loss, double acc, double lr);
// Close (l->f NULL: nothing to do). Returns 0 or -1 after an error line.
int ratq_train_log_close(ratq_train_log *l);

#endif
