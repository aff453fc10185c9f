// host/data/loader.c — batches on worker threads (pthreads), prefetched into a ring of slots.
// Batch b of an epoch is built in slot b % nslots by whichever worker claims it; a worker may claim b only when
// that slot is free, i.e. batch b - nslots was handed out and released. The consumer receives batches in order.
// A batch's content depends only on (seed, epoch, dataset indices), never on which thread built it.
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "common/io.h"

typedef enum { SLOT_FREE, SLOT_BUSY, SLOT_READY, SLOT_ERROR } slot_state;

typedef struct {
    slot_state state;
    int64_t batch;   // batch number held / being built
    int n;           // images in it
    uint8_t *images; // [batch_size, h, w, c]
    int64_t *labels; // [batch_size]
    int64_t *index;  // [batch_size]
} data_slot;

struct ratq_loader {
    const ratq_dataset *ds;
    ratq_loader_config cfg;
    ratq_data_info info;
    int h, w, c;          // output image geometry
    size_t img_bytes;     // h * w * c
    int64_t nsamples;     // this rank's images per epoch
    int64_t nbatches;     // this rank's batches per epoch
    int64_t *order;       // [nsamples] dataset indices of the current epoch
    int64_t epoch;
    int started;
    data_slot *slots;     // [nslots]
    int nslots;
    int64_t next_claim;   // next batch a worker may build
    int64_t next_deliver; // next batch ratq_loader_next returns
    int64_t held;         // batch the consumer holds (its slot is released on the next call), -1 none
    int busy;             // workers building a batch now
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t *threads; // [num_workers]
    int nthreads;
    ratq_image sync_img, sync_scratch; // num_workers == 0
};

ratq_loader_config ratq_loader_config_default(void) {
    ratq_loader_config c;
    memset(&c, 0, sizeof c);
    c.batch_size = 32;
    c.world_size = 1;
    c.num_workers = 2;
    c.tf = ratq_transform_eval(224);
    return c;
}

// Build batch b into slot s (no lock held). Returns 0 or -1 (error printed).
static int build_batch(ratq_loader *ld, data_slot *s, int64_t b, ratq_image *img, ratq_image *scratch) {
    int64_t first = b * ld->cfg.batch_size, last = first + ld->cfg.batch_size;
    if (last > ld->nsamples) last = ld->nsamples;
    s->n = (int)(last - first);
    s->batch = b;
    for (int64_t k = first; k < last; k++) {
        int64_t idx = ld->order[k];
        int j = (int)(k - first);
        if (ratq_data_read(ld->ds, idx, img) != 0) return -1;
        char what[4200];
        ratq_data_describe(ld->ds, idx, what, sizeof what);
        if (data_transform_apply_named(&ld->cfg.tf, img, ld->cfg.seed, ld->epoch, idx,
                                       s->images + (size_t)j * ld->img_bytes, scratch, what) != 0)
            return -1; // one error line, naming the image
        s->labels[j] = ratq_data_label(ld->ds, idx);
        s->index[j] = idx;
    }
    return 0;
}

static void *worker(void *arg) {
    ratq_loader *ld = arg;
    ratq_image img = {0}, scratch = {0};
    pthread_mutex_lock(&ld->mu);
    for (;;) {
        while (!ld->stop && !(ld->started && ld->next_claim < ld->nbatches &&
                               ld->slots[ld->next_claim % ld->nslots].state == SLOT_FREE))
            pthread_cond_wait(&ld->cv_work, &ld->mu);
        if (ld->stop) break;
        int64_t b = ld->next_claim++;
        data_slot *s = &ld->slots[b % ld->nslots];
        s->state = SLOT_BUSY;
        s->batch = b;
        ld->busy++;
        pthread_mutex_unlock(&ld->mu);
        int r = build_batch(ld, s, b, &img, &scratch);
        pthread_mutex_lock(&ld->mu);
        s->state = r == 0 ? SLOT_READY : SLOT_ERROR;
        ld->busy--;
        pthread_cond_broadcast(&ld->cv_done);
    }
    pthread_mutex_unlock(&ld->mu);
    ratq_image_free(&img);
    ratq_image_free(&scratch);
    return NULL;
}

ratq_loader *ratq_loader_create(const ratq_dataset *ds, const ratq_loader_config *cfg) {
    ratq_data_info info = ratq_data_get_info(ds);
    if (cfg->batch_size < 1 || cfg->world_size < 1 || cfg->rank < 0 || cfg->rank >= cfg->world_size ||
        cfg->num_workers < 0 || cfg->num_workers > 256 || cfg->prefetch < 0) {
        ratq_error("loader: config: batch_size %d, rank %d / world_size %d, num_workers %d, prefetch %d invalid",
                   cfg->batch_size, cfg->rank, cfg->world_size, cfg->num_workers, cfg->prefetch);
        return NULL;
    }
    if (ratq_transform_check(&cfg->tf, &info) != 0) return NULL;
    ratq_loader *ld = calloc(1, sizeof *ld);
    if (!ld) return NULL;
    ld->ds = ds;
    ld->cfg = *cfg;
    ld->info = info;
    ratq_transform_out_shape(&cfg->tf, &info, &ld->h, &ld->w, &ld->c);
    ld->img_bytes = (size_t)ld->h * ld->w * ld->c;
    ld->nsamples = ratq_data_rank_count(info.count, cfg->rank, cfg->world_size);
    ld->nbatches = cfg->drop_last ? ld->nsamples / cfg->batch_size
                                  : (ld->nsamples + cfg->batch_size - 1) / cfg->batch_size;
    ld->held = -1;
    ld->nthreads = cfg->num_workers;
    ld->nslots = cfg->num_workers == 0 ? 1 : (cfg->prefetch ? cfg->prefetch : 2 * cfg->num_workers);
    if (ld->nslots < ld->nthreads) ld->nslots = ld->nthreads;
    ld->order = malloc((size_t)(ld->nsamples ? ld->nsamples : 1) * sizeof *ld->order);
    ld->slots = calloc((size_t)ld->nslots, sizeof *ld->slots);
    int ok = ld->order && ld->slots;
    for (int i = 0; ok && i < ld->nslots; i++) {
        data_slot *s = &ld->slots[i];
        s->images = malloc(ld->img_bytes * cfg->batch_size);
        s->labels = malloc(sizeof(int64_t) * cfg->batch_size);
        s->index = malloc(sizeof(int64_t) * cfg->batch_size);
        ok = s->images && s->labels && s->index;
    }
    if (!ok) {
        ratq_error("loader: out of memory for %d slots of %d images", ld->nslots, cfg->batch_size);
        ld->nthreads = 0;
        ratq_loader_destroy(ld);
        return NULL;
    }
    pthread_mutex_init(&ld->mu, NULL);
    pthread_cond_init(&ld->cv_work, NULL);
    pthread_cond_init(&ld->cv_done, NULL);
    ld->threads = calloc((size_t)(ld->nthreads ? ld->nthreads : 1), sizeof *ld->threads);
    for (int i = 0; i < ld->nthreads; i++)
        if (!ld->threads || pthread_create(&ld->threads[i], NULL, worker, ld) != 0) {
            ratq_error("loader: cannot start worker thread %d", i);
            ld->nthreads = i;
            ratq_loader_destroy(ld);
            return NULL;
        }
    return ld;
}

void ratq_loader_destroy(ratq_loader *ld) {
    if (!ld) return;
    if (ld->threads) {
        pthread_mutex_lock(&ld->mu);
        ld->stop = 1;
        pthread_cond_broadcast(&ld->cv_work);
        pthread_mutex_unlock(&ld->mu);
        for (int i = 0; i < ld->nthreads; i++) pthread_join(ld->threads[i], NULL);
        pthread_mutex_destroy(&ld->mu);
        pthread_cond_destroy(&ld->cv_work);
        pthread_cond_destroy(&ld->cv_done);
        free(ld->threads);
    }
    for (int i = 0; ld->slots && i < ld->nslots; i++) {
        free(ld->slots[i].images);
        free(ld->slots[i].labels);
        free(ld->slots[i].index);
    }
    free(ld->slots);
    free(ld->order);
    ratq_image_free(&ld->sync_img);
    ratq_image_free(&ld->sync_scratch);
    free(ld);
}

int64_t ratq_loader_num_batches(const ratq_loader *ld) { return ld->nbatches; }
int64_t ratq_loader_num_samples(const ratq_loader *ld) { return ld->nsamples; }

int ratq_loader_start_epoch(ratq_loader *ld, int64_t epoch) {
    pthread_mutex_lock(&ld->mu);
    ld->next_claim = ld->nbatches; // stop claiming, let running batches finish
    while (ld->busy > 0) pthread_cond_wait(&ld->cv_done, &ld->mu);
    int64_t m = ratq_data_epoch_order(ld->info.count, ld->cfg.shuffle, ld->cfg.seed, epoch, ld->cfg.rank,
                                      ld->cfg.world_size, ld->order);
    for (int i = 0; i < ld->nslots; i++) ld->slots[i].state = SLOT_FREE;
    ld->epoch = epoch;
    ld->next_claim = 0;
    ld->next_deliver = 0;
    ld->held = -1;
    ld->started = m >= 0;
    pthread_cond_broadcast(&ld->cv_work);
    pthread_mutex_unlock(&ld->mu);
    return m >= 0 ? 0 : -1;
}

int ratq_loader_next(ratq_loader *ld, ratq_batch *b) {
    memset(b, 0, sizeof *b);
    if (!ld->started) {
        ratq_error("loader: ratq_loader_next called before ratq_loader_start_epoch");
        return -1;
    }
    if (ld->nthreads == 0) { // synchronous
        if (ld->next_deliver >= ld->nbatches) return 0;
        data_slot *s = &ld->slots[0];
        if (build_batch(ld, s, ld->next_deliver, &ld->sync_img, &ld->sync_scratch) != 0) return -1;
        ld->next_deliver++;
        *b = (ratq_batch){s->n, ld->h, ld->w, ld->c, s->images, s->labels, s->index, s->batch};
        return 1;
    }
    pthread_mutex_lock(&ld->mu);
    if (ld->held >= 0) { // release the batch handed out last time
        ld->slots[ld->held % ld->nslots].state = SLOT_FREE;
        ld->held = -1;
        pthread_cond_broadcast(&ld->cv_work);
    }
    if (ld->next_deliver >= ld->nbatches) {
        pthread_mutex_unlock(&ld->mu);
        return 0;
    }
    data_slot *s = &ld->slots[ld->next_deliver % ld->nslots];
    while (!((s->state == SLOT_READY || s->state == SLOT_ERROR) && s->batch == ld->next_deliver))
        pthread_cond_wait(&ld->cv_done, &ld->mu);
    int rc = 1;
    if (s->state == SLOT_ERROR) {
        rc = -1;
        ld->next_deliver = ld->nbatches; // the epoch is over; start_epoch resets
    } else {
        ld->held = ld->next_deliver++;
        *b = (ratq_batch){s->n, ld->h, ld->w, ld->c, s->images, s->labels, s->index, s->batch};
    }
    pthread_mutex_unlock(&ld->mu);
    return rc;
}
