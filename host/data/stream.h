// host/data/stream.h — the training input stream of Rescale-Aware Training: the batches of global steps t, t+1, ...
// decoded and augmented by worker threads into a small ring of batch buffers ahead of the consumer, in the data order
// of host/train/rat_train.h, for the CPU loop and the GPU-resident step alike. Nothing is cached beyond the ring:
// memory is depth x batch images whatever the dataset size (an ImageNet-size JPEG tree streams from disk).
//
// Order (host/train/rat_train.h "Data parallel"): n = the first `limit` images of the dataset (all if 0), global batch
// G = batch x world, NB = floor(n / G) steps per epoch. Step t (epoch e = t / NB, b = t % NB) of rank r holds the
// images order_e[b G + r B + j], j < B, order_e = ratq_data_epoch_order(n, shuffle 1, seed, e) (the same on every
// rank); image i is transformed with ratq_transform_apply(tf, img, seed, e, i) (TRAIN: RandomResizedCrop + flip keyed
// by (seed, epoch, index); EVAL / NONE: deterministic). A batch's bytes depend only on (dataset, tf, seed, t, rank,
// world, B), never on the thread count or timing.
//
// Buffers: `depth` slots of B images + labels + indices, allocated once with cfg.alloc (e.g. pinned memory from
// ratq_rat_cuda_host_alloc, so the GPU's copy engine reads them directly) or malloc. The consumer may hold up to
// depth - 1 batches (e.g. the GPU step t running while batch t + 1 is being copied); workers fill the other slots.
// Work is handed out per image, in step order, so all workers help with the next batch first.
//
// Thread safety: one consumer thread calls next / release / start; the workers are internal.
#ifndef RATQ_HOST_DATA_STREAM_H
#define RATQ_HOST_DATA_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "data/data.h"

typedef struct {
    int batch;                  // B >= 1: images per step on this rank
    int rank, world;            // this rank of world ranks (0 / 1 for one process)
    int64_t limit;              // use the first `limit` images (0 = all)
    uint64_t seed;              // order and augmentation
    ratq_transform tf;          // RATQ_TF_TRAIN (augment) or the eval transform
    int num_workers;            // decoding threads; 0 = decode in the consumer's thread inside ratq_stream_next
    int depth;                  // ring slots >= 2 (0 = 3)
    void *(*alloc)(size_t bytes); // slot memory (NULL = malloc); must return NULL on failure
    void (*free)(void *p);        // its release (NULL = free)
} ratq_stream_config;

ratq_stream_config ratq_stream_config_default(void); // batch 32, rank 0 / 1, 2 workers, depth 3, eval 224

typedef struct {
    int64_t step;     // global step t
    int64_t epoch;    // t / steps per epoch
    int slot;         // ring slot (0 .. depth - 1): which buffer, for the consumer's own double buffering
    int n;            // B
    int h, w, c;      // image geometry (ratq_transform_out_shape)
    uint8_t *images;  // [B][h][w][c]
    int32_t *labels;  // [B]
    int64_t *index;   // [B] dataset indices
} ratq_stream_batch;

typedef struct ratq_stream ratq_stream;

// Check the config and transform, allocate the ring, start the workers (idle until ratq_stream_start). NULL after
// one error line (bad config, fewer images than one global batch, out of memory).
ratq_stream *ratq_stream_create(const ratq_dataset *ds, const ratq_stream_config *cfg);
void ratq_stream_destroy(ratq_stream *s);
int64_t ratq_stream_steps_per_epoch(const ratq_stream *s); // NB
int64_t ratq_stream_images(const ratq_stream *s);          // n
// Produce steps [first, end) (e.g. a resume at step `first`); abandons what was prefetched. The consumer must hold no
// batch. Returns 0 or -1.
int ratq_stream_start(ratq_stream *s, int64_t first, int64_t end);
// The next step's batch, in order: 1 and *b filled (valid until released), 0 after step end - 1, -1 on a read or
// decode error (one error line naming the image was printed). Blocks while the batch is being built.
int ratq_stream_next(ratq_stream *s, ratq_stream_batch *b);
// Give a held batch's slot back to the workers.
void ratq_stream_release(ratq_stream *s, const ratq_stream_batch *b);

#endif
