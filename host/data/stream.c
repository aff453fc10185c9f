// host/data/stream.c — the RAT input stream (host/data/stream.h): a ring of `depth` batch slots filled image by image by
// worker threads. Claims go in (step, image) order: a worker takes image j of step t only when t's slot (t % depth)
// is assigned to t or free (its previous batch released); the consumer takes step t when all B images are in.
// Only claims read the epoch order, and claims advance in step order, so the order of the claim's epoch is computed
// on demand under the lock (two cached: the epoch boundary costs one permutation, n int64 each).
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "data/stream.h"

typedef enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_HELD, SLOT_ERROR } slot_state;

typedef struct {
    slot_state state;
    int64_t step;     // step assigned (FILLING / READY / HELD / ERROR)
    int remaining;    // images not yet done (FILLING)
    uint8_t *images;  // [B][per]
    int32_t *labels;  // [B]
    int64_t *index;   // [B]
} stream_slot;

typedef struct {
    int64_t epoch; // -1 = empty
    int64_t *order; // [n]
} epoch_order;

struct ratq_stream {
    const ratq_dataset *ds;
    ratq_stream_config cfg;
    int h, w, c;
    size_t per;           // bytes per image
    int64_t n, nb, G;     // images used, steps per epoch, global batch
    stream_slot *slots;   // [depth]
    int depth;
    epoch_order orders[2];
    int64_t claim_step;   // next (step, image) a worker takes
    int claim_img;
    int64_t next_step;    // next step the consumer receives
    int64_t end;          // first step not produced
    int busy;             // workers decoding now
    int started, stop;
    int failed;           // an image failed: no more claims until the next start (one report, not one per worker)
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t *threads;
    int nthreads;
    ratq_image sync_img, sync_scratch; // num_workers == 0
};

ratq_stream_config ratq_stream_config_default(void) {
    ratq_stream_config c;
    memset(&c, 0, sizeof c);
    c.batch = 32;
    c.world = 1;
    c.num_workers = 2;
    c.depth = 3;
    c.tf = ratq_transform_eval(224);
    return c;
}

static void *slot_alloc(const ratq_stream *s, size_t bytes) {
    return s->cfg.alloc ? s->cfg.alloc(bytes ? bytes : 1) : malloc(bytes ? bytes : 1);
}
static void slot_free(const ratq_stream *s, void *p) {
    if (!p) return;
    if (s->cfg.free) s->cfg.free(p);
    else free(p);
}

// The order of `epoch` (cached; a new epoch replaces the older of the two). Lock held. NULL only if out of memory.
static const int64_t *order_of(ratq_stream *s, int64_t epoch) {
    for (int i = 0; i < 2; i++)
        if (s->orders[i].epoch == epoch) return s->orders[i].order;
    int v = s->orders[0].epoch < s->orders[1].epoch ? 0 : 1; // evict the older epoch
    if (s->orders[v].epoch > epoch) v = 1 - v;
    epoch_order *o = &s->orders[v];
    if (!o->order && !(o->order = malloc((size_t)s->n * sizeof *o->order))) return NULL;
    ratq_data_epoch_order(s->n, 1, s->cfg.seed, epoch, 0, 1, o->order);
    o->epoch = epoch;
    return o->order;
}

// Decode + transform image j of step t into slot sl (no lock held; idx looked up under the lock by the caller).
static int build_image(ratq_stream *s, stream_slot *sl, int j, int64_t idx, int64_t epoch, ratq_image *img,
                       ratq_image *scratch) {
    if (ratq_data_read(s->ds, idx, img) != 0) return -1;
    if (ratq_transform_apply(&s->cfg.tf, img, s->cfg.seed, epoch, idx, sl->images + (size_t)j * s->per, scratch) != 0) {
        char what[4200];
        ratq_error("%s: transform failed", ratq_data_describe(s->ds, idx, what, sizeof what));
        return -1;
    }
    sl->labels[j] = (int32_t)ratq_data_label(s->ds, idx);
    sl->index[j] = idx;
    return 0;
}

// Claim the next image if its slot is available (lock held). Returns 1 with *t, *j, *idx, *sl set, else 0.
static int claim(ratq_stream *s, int64_t *t, int *j, int64_t *idx, stream_slot **sl) {
    if (!s->started || s->failed || s->claim_step >= s->end) return 0;
    stream_slot *x = &s->slots[s->claim_step % s->depth];
    if (s->claim_img == 0) {
        if (x->state != SLOT_FREE) return 0; // the batch depth steps back is still held or unread
        x->state = SLOT_FILLING;
        x->step = s->claim_step;
        x->remaining = s->cfg.batch;
    } else if (x->state != SLOT_FILLING && x->state != SLOT_ERROR) {
        return 0;
    }
    const int64_t e = s->claim_step / s->nb, b = s->claim_step % s->nb;
    const int64_t *order = order_of(s, e);
    if (!order) {
        ratq_error("stream: out of memory for the epoch order of %lld images", (long long)s->n);
        x->state = SLOT_ERROR;
        return 0;
    }
    *t = s->claim_step;
    *j = s->claim_img;
    *idx = order[b * s->G + (int64_t)s->cfg.rank * s->cfg.batch + s->claim_img];
    *sl = x;
    if (++s->claim_img == s->cfg.batch) {
        s->claim_img = 0;
        s->claim_step++;
    }
    return 1;
}

static void finish_image(ratq_stream *s, stream_slot *sl, int ok) {
    if (!ok) {
        sl->state = SLOT_ERROR;
        s->failed = 1;
    }
    if (--sl->remaining == 0 && sl->state == SLOT_FILLING) sl->state = SLOT_READY;
}

static void *worker(void *arg) {
    ratq_stream *s = arg;
    ratq_image img = {0}, scratch = {0};
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int64_t t, idx;
        int j;
        stream_slot *sl;
        while (!s->stop && !claim(s, &t, &j, &idx, &sl)) pthread_cond_wait(&s->cv_work, &s->mu);
        if (s->stop) break;
        s->busy++;
        const int skip = sl->state == SLOT_ERROR; // the batch failed already: just count the image off
        pthread_mutex_unlock(&s->mu);
        const int ok = skip ? 0 : build_image(s, sl, j, idx, t / s->nb, &img, &scratch) == 0;
        pthread_mutex_lock(&s->mu);
        finish_image(s, sl, ok);
        s->busy--;
        pthread_cond_broadcast(&s->cv_done);
    }
    pthread_mutex_unlock(&s->mu);
    ratq_image_free(&img);
    ratq_image_free(&scratch);
    return NULL;
}

ratq_stream *ratq_stream_create(const ratq_dataset *ds, const ratq_stream_config *cfg) {
    const int depth = cfg->depth ? cfg->depth : 3;
    if (cfg->batch < 1 || cfg->world < 1 || cfg->rank < 0 || cfg->rank >= cfg->world || cfg->num_workers < 0 ||
        cfg->num_workers > 1024 || depth < 2 || depth > 64 || cfg->limit < 0) {
        ratq_error("stream: config: batch %d, rank %d / world %d, %d workers, depth %d, limit %lld invalid", cfg->batch,
                   cfg->rank, cfg->world, cfg->num_workers, depth, (long long)cfg->limit);
        return NULL;
    }
    const ratq_data_info info = ratq_data_get_info(ds);
    if (ratq_transform_check(&cfg->tf, &info) != 0) return NULL;
    ratq_stream *s = calloc(1, sizeof *s);
    if (!s) {
        ratq_error("stream: out of memory");
        return NULL;
    }
    s->ds = ds;
    s->cfg = *cfg;
    s->depth = depth;
    ratq_transform_out_shape(&cfg->tf, &info, &s->h, &s->w, &s->c);
    s->per = (size_t)s->h * s->w * s->c;
    s->n = info.count;
    if (cfg->limit > 0 && cfg->limit < s->n) s->n = cfg->limit;
    s->G = (int64_t)cfg->batch * cfg->world;
    s->nb = s->n / s->G;
    s->orders[0].epoch = s->orders[1].epoch = -1;
    if (s->nb < 1) {
        ratq_error("stream: %lld images are fewer than one global batch of %lld (%d per rank x %d ranks)",
                   (long long)s->n, (long long)s->G, cfg->batch, cfg->world);
        free(s);
        return NULL;
    }
    s->slots = calloc((size_t)depth, sizeof *s->slots);
    int ok = s->slots != NULL;
    for (int i = 0; ok && i < depth; i++) {
        stream_slot *x = &s->slots[i];
        x->images = slot_alloc(s, s->per * (size_t)cfg->batch);
        x->labels = slot_alloc(s, sizeof(int32_t) * (size_t)cfg->batch);
        x->index = slot_alloc(s, sizeof(int64_t) * (size_t)cfg->batch);
        ok = x->images && x->labels && x->index;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_cond_init(&s->cv_done, NULL);
    if (ok && cfg->num_workers > 0) {
        s->threads = calloc((size_t)cfg->num_workers, sizeof *s->threads);
        ok = s->threads != NULL;
        for (int i = 0; ok && i < cfg->num_workers; i++) {
            if (pthread_create(&s->threads[i], NULL, worker, s) != 0) {
                ratq_error("stream: cannot start worker thread %d", i);
                ok = 0;
                break;
            }
            s->nthreads++;
        }
    } else if (!ok) {
        ratq_error("stream: out of memory for %d slots of %d images", depth, cfg->batch);
    }
    if (!ok) {
        ratq_stream_destroy(s);
        return NULL;
    }
    return s;
}

void ratq_stream_destroy(ratq_stream *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nthreads; i++) pthread_join(s->threads[i], NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_cond_destroy(&s->cv_done);
    for (int i = 0; s->slots && i < s->depth; i++) {
        slot_free(s, s->slots[i].images);
        slot_free(s, s->slots[i].labels);
        slot_free(s, s->slots[i].index);
    }
    for (int i = 0; i < 2; i++) free(s->orders[i].order);
    free(s->slots);
    free(s->threads);
    ratq_image_free(&s->sync_img);
    ratq_image_free(&s->sync_scratch);
    free(s);
}

int64_t ratq_stream_steps_per_epoch(const ratq_stream *s) { return s->nb; }
int64_t ratq_stream_images(const ratq_stream *s) { return s->n; }

int ratq_stream_start(ratq_stream *s, int64_t first, int64_t end) {
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->depth; i++)
        if (s->slots[i].state == SLOT_HELD) {
            pthread_mutex_unlock(&s->mu);
            ratq_error("stream: start while the consumer holds step %lld", (long long)s->slots[i].step);
            return -1;
        }
    s->started = 0; // no new claims; let running images finish
    while (s->busy > 0) pthread_cond_wait(&s->cv_done, &s->mu);
    for (int i = 0; i < s->depth; i++) s->slots[i].state = SLOT_FREE;
    s->claim_step = s->next_step = first < 0 ? 0 : first;
    s->claim_img = 0;
    s->end = end;
    s->failed = 0;
    s->started = 1;
    pthread_cond_broadcast(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int ratq_stream_next(ratq_stream *s, ratq_stream_batch *b) {
    memset(b, 0, sizeof *b);
    pthread_mutex_lock(&s->mu);
    if (!s->started) {
        pthread_mutex_unlock(&s->mu);
        ratq_error("stream: ratq_stream_next before ratq_stream_start");
        return -1;
    }
    if (s->next_step >= s->end) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    const int64_t t = s->next_step;
    stream_slot *x = &s->slots[t % s->depth];
    if (x->state == SLOT_HELD) { // the consumer holds all depth slots: nothing could ever fill this one
        pthread_mutex_unlock(&s->mu);
        ratq_error("stream: step %lld: every slot is held (release batches before asking for more)", (long long)t);
        return -1;
    }
    if (s->nthreads == 0) { // synchronous: build it here
        int64_t tt, idx;
        int j;
        stream_slot *sl;
        while (claim(s, &tt, &j, &idx, &sl)) {
            const int skip = sl->state == SLOT_ERROR;
            pthread_mutex_unlock(&s->mu);
            const int ok =
                skip ? 0 : build_image(s, sl, j, idx, tt / s->nb, &s->sync_img, &s->sync_scratch) == 0;
            pthread_mutex_lock(&s->mu);
            finish_image(s, sl, ok);
            if (tt == t && j == s->cfg.batch - 1) break;
        }
        if (!((x->state == SLOT_READY || x->state == SLOT_ERROR) && x->step == t)) {
            pthread_mutex_unlock(&s->mu);
            ratq_error("stream: step %lld: every slot is held (release batches before asking for more)", (long long)t);
            return -1;
        }
    }
    while (!((x->state == SLOT_READY || x->state == SLOT_ERROR) && x->step == t)) pthread_cond_wait(&s->cv_done, &s->mu);
    int rc = 1;
    if (x->state == SLOT_ERROR) {
        rc = -1;
        s->end = t; // nothing after a failed batch
    } else {
        x->state = SLOT_HELD;
        s->next_step++;
        *b = (ratq_stream_batch){t, t / s->nb, (int)(t % s->depth), s->cfg.batch, s->h, s->w, s->c, x->images,
                                 x->labels, x->index};
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void ratq_stream_release(ratq_stream *s, const ratq_stream_batch *b) {
    pthread_mutex_lock(&s->mu);
    stream_slot *x = &s->slots[b->slot];
    if (x->state == SLOT_HELD && x->step == b->step) {
        x->state = SLOT_FREE;
        pthread_cond_broadcast(&s->cv_work);
    }
    pthread_mutex_unlock(&s->mu);
}
