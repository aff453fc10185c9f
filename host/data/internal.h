// host/data/internal.h — pieces shared by host/data_*.c (not a public API; see data.h).
#ifndef RATQ_HOST_DATA_INTERNAL_H
#define RATQ_HOST_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "data/data.h"
#include "math/splitmix64.h"

// ---- a whole file mapped read-only ----------------------------------------------------------------------
typedef struct {
    const uint8_t *data; // [size]
    size_t size;
} data_map;
int data_map_open(data_map *m, const char *path); // 0, or -1 with an error line
void data_map_close(data_map *m);

// ---- .npz (zip of .npy) --------------------------------------------------------------------------------
typedef struct {
    char dtype[16];        // numpy descr, e.g. "|u1", "<i8"
    int ndim;              // 0..8
    int64_t shape[8];      // [ndim]
    const uint8_t *data;   // C-order elements (points into the map, or into owned)
    size_t nbytes;         // product(shape) * itemsize
    void *owned;           // malloc'd inflated member (NULL if stored); freed by data_npy_free
} data_npy;
// Load member "<name>.npy" of the mapped zip. Returns 1 on success, 0 if the member is absent (no message),
// -1 on a malformed archive/member (error line naming file and member).
int data_npz_load(const data_map *zip, const char *path, const char *name, data_npy *out);
void data_npy_free(data_npy *a);

// ---- JPEG ------------------------------------------------------------------------------------------------
// Decode a JPEG into img as 3-channel RGB (grayscale replicated, CMYK converted as Pillow). what names the
// image in errors. Returns 0 or -1.
int data_jpeg_decode(const uint8_t *buf, size_t size, ratq_image *img, const char *what);
// Read only the size of a JPEG. Returns 0 or -1 (no message).
int data_jpeg_size(const uint8_t *buf, size_t size, int *h, int *w, ratq_image *img);
void data_jpeg_free_handle(void *handle);
// Grow img->data to at least bytes. Returns 0 or -1 (error line).
int data_image_reserve(ratq_image *img, size_t bytes);
// ratq_transform_apply whose error lines name `who` (e.g. "file.npz[17]"; NULL = "image <index>").
int data_transform_apply_named(const ratq_transform *tf, const ratq_image *src, uint64_t seed, int64_t epoch,
                               int64_t index, uint8_t *dst, ratq_image *scratch, const char *who);

// ---- counter-based random numbers (ratq_splitmix64, kernels/math/splitmix64.h) -------------------------------
typedef struct {
    uint64_t s;
} data_rng;
// s += gamma, then the splitmix64 hash of the new s (= mix13(s + gamma)).
static inline uint64_t data_rng_next(data_rng *r) { return ratq_splitmix64(r->s += RATQ_SPLITMIX64_GAMMA); }
// Uniform double in [0, 1) with 53 random bits.
static inline double data_rng_uniform(data_rng *r) { return (double)(data_rng_next(r) >> 11) * 0x1.0p-53; }
// Uniform integer in [0, n), n >= 1 (multiply-shift for n < 2^32, modulo above).
static inline uint64_t data_rng_below(data_rng *r, uint64_t n) {
    uint64_t x = data_rng_next(r);
    if (n <= 0xffffffffull) return ((x >> 32) * n) >> 32;
    return x % n;
}
// Domain-separated keys: perm = (seed, epoch), sample augmentation = (seed, epoch, index).
data_rng data_rng_perm(uint64_t seed, int64_t epoch);
data_rng data_rng_sample(uint64_t seed, int64_t epoch, int64_t index);

#endif
