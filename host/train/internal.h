// host/train/internal.h — pieces of the RAT loop (host/train/rat_train.c) kept in their own files: the image
// feeder (host/train/rat_feed.c) and the JSON-lines step log (host/train/rat_log.c).
#ifndef RATQ_HOST_TRAIN_INTERNAL_H
#define RATQ_HOST_TRAIN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "data/data.h"
#include "data/stream.h"

// The training batches: the first n of ds, uint8 [res][res][3], streamed by host/data/stream.h (worker threads
// decode and transform ahead of the step into a ring of batch slots; nothing caches the dataset). The transform:
// with augmentation RATQ_TF_TRAIN keyed by (seed, epoch, dataset index), without it the quantizer's eval transform
// (host/quant/calib_eval.h). Step t of this rank holds the images of host/train/rat_train.h's order.
// The loop holds at most RATQ_FEEDER_HOLD batches at once (the GPU-resident loop: the step being run and the next
// one being staged); the ring has that many slots plus the ones the workers fill ahead (pinned: 2, else 1).
#define RATQ_FEEDER_HOLD 2
typedef struct {
    ratq_stream *s;
    ratq_stream_batch held[RATQ_FEEDER_HOLD]; // batches given out, not yet released
    int used[RATQ_FEEDER_HOLD];
    size_t per;            // bytes per image
    int64_t n, nb;         // images used, steps per epoch
} ratq_feeder;

// batch: images per step on this rank; workers: decoding threads (0 = in the loop's thread); pinned: slot memory for
// the GPU's copy engine. Returns 0, or -1 after an error line (ratq_feeder_free in both cases).
int ratq_feeder_init(ratq_feeder *fd, const ratq_dataset *ds, int res, int augment, int64_t limit, uint64_t seed,
                     int batch, int rank, int world, int workers, int pinned);
// Produce steps [first, end) (releases whatever is held). Returns 0 or -1.
int ratq_feeder_start(ratq_feeder *fd, int64_t first, int64_t end);
// The batch of step t (the next one in order), held until ratq_feeder_release(fd, t): images [batch][per], labels
// [batch], index [batch]. Returns 0 or -1 after an error line (also when RATQ_FEEDER_HOLD batches are held).
int ratq_feeder_next(ratq_feeder *fd, int64_t t, const ratq_stream_batch **b);
// Give step t's batch back to the stream (nothing if it is not held).
void ratq_feeder_release(ratq_feeder *fd, int64_t t);
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
