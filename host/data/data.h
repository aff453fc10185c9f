// data.h — image datasets and the batch loader: shards, .npz, JPEG folder trees, Fashion-MNIST IDX.
//
// ============================================================================================================
// Sources accepted by ratq_data_open(path, ...)
// ============================================================================================================
//   1. a ratq shard file (any name; recognised by its magic; packed by scripts/pack_dataset.py);
//   2. a folder holding *.rqshard files: all of them, concatenated in sorted file-name order;
//   3. a .npz file in the shared-data forms (../shared/data):
//        decoded:    images uint8 [N,H,W,C] (C = 1 or 3; [N,H,W] = 1 channel) + labels int64 [N]
//        JPEG bytes: jpeg_bytes uint8 [B] + offsets int64 [N+1] + labels int64 [N]
//                    (image i = jpeg_bytes[offsets[i] : offsets[i+1]])
//      Members may be stored or deflated (zlib); other members (source_file, class_names, ...) are ignored.
//   4. a folder holding *.npz files (and no shard): all of them, concatenated in sorted file-name order
//      (e.g. ../shared/data/imagenet_sample = val_part0.npz + val_part1.npz). NOTE: ../shared/data/cifar10
//      holds three different sets: pass one file of it, not the folder.
//   5. an ImageNet-style JPEG folder tree <root>/<class>/<file>: class folders in sorted (strcmp) order give
//      labels 0,1,2,... (torchvision ImageFolder order; for ImageNet, sorted WNIDs = the standard 0..999), files
//      in each folder in sorted order, extensions .jpg/.jpeg in any case. With ratq_data_options.classes_file
//      (a synsets.txt: line i starts with the class folder name of class i) labels come from that file
//      instead, so a partial tree still gets the standard indices.
//   6. Fashion-MNIST / MNIST gzipped IDX files: the images file "<dir>/<split>-images-idx3-ubyte.gz" or the
//      prefix "<dir>/<split>" (e.g. /usr/share/datasets/fashion-mnist/train, .../t10k); the labels file is
//      "<split>-labels-idx1-ubyte.gz" beside it. Images are 28x28x1 uint8; labels 0..9.
// Sorting is byte order (strcmp) everywhere, like Python's sorted() on ASCII names.
// JPEG decoding uses libjpeg-turbo (TurboJPEG API, default accurate islow IDCT + fancy upsampling, as Pillow):
// grayscale JPEGs decode to 3 equal channels, CMYK/YCCK (Adobe, inverted) to R = C*K/255 etc. (rounded).
// Without libjpeg-turbo at build time (RATQ_HAVE_TURBOJPEG undefined) JPEG sources open but reading an image
// fails with an error.
//
// ============================================================================================================
// Shard file format, version 1 (all integers little-endian; offsets are bytes from the start of the file)
// ============================================================================================================
//   offset size  field
//      0    8    magic         "RATQIMG1" (bytes 52 41 54 51 49 4D 47 31)
//      8    4    version       uint32 = 1
//     12    4    encoding      uint32: 0 = raw (uint8 H x W x C per image, NHWC, fixed size)
//                                      1 = jpeg (one JPEG file per image, variable size)
//     16    8    count         uint64 N >= 1 images
//     24    4    height        uint32: raw: H >= 1; jpeg: 0 (variable) or the common height of all images
//     28    4    width         uint32: raw: W >= 1; jpeg: 0 or the common width
//     32    4    channels      uint32: 1 (grayscale) or 3 (RGB)
//     36    4    num_classes   uint32 >= 1: every label is in [0, num_classes)
//     40    8    labels_off    uint64, multiple of 8: int64 labels[N]
//     48    8    index_off     uint64, multiple of 8: jpeg: int64 offsets[N+1], offsets[0] = 0, non-decreasing,
//                              offsets[N] = data_size, image i = data[offsets[i] : offsets[i+1]]; raw: 0
//     56    8    data_off      uint64: first byte of image data (raw: N*H*W*C bytes, image i at i*H*W*C)
//     64    8    data_size     uint64: raw: N*H*W*C; jpeg: total JPEG bytes
//     72    8    file_size     uint64: the file's exact length (detects truncation and appended junk)
//     80   48    reserved      zero
//    128         labels, [index], data follow; labels and index 8-byte aligned; sections may not overlap
//                (pack_dataset.py writes labels at 128, then the index, then the data, no gaps).
// ratq_data_open validates: magic, version, encoding, count, geometry, channels, num_classes, section
// offsets/alignment/overlap, data_size vs N*H*W*C, file_size vs the real length, the JPEG offset table, and
// every label's range. Each problem is one line "ratq: <file>: <field>: <what>" and an error return.
//
// ============================================================================================================
// Transforms (output is always uint8 NHWC, out_size x out_size x out_channels)
// ============================================================================================================
// Resampling is Pillow's Image.resize(..., Image.BILINEAR) reproduced exactly (Pillow >= 7 "ImagingResample"):
// a separable convolution with the triangle filter whose support is scaled by max(1, in/out) (so downscaling
// is antialiased, like PIL and torchvision's antialias=True), coefficients normalised per output pixel and
// converted to 22-bit fixed point, horizontal pass then vertical pass, each rounded to uint8 (+0.5 then
// truncate, clamped). Output pixel x samples the input around center (x + 0.5) * in/out.
//   RATQ_TF_EVAL : torchvision Resize(resize_to) + CenterCrop(out_size) on a PIL image: the shorter side
//                  becomes resize_to, the longer floor(resize_to * long / short); unchanged size = no resampling;
//                  crop offset top = round_half_even((H' - out_size) / 2), left likewise. Deterministic.
//   RATQ_TF_TRAIN: torchvision RandomResizedCrop(out_size, scale, ratio, BILINEAR) + RandomHorizontalFlip(0.5):
//                  up to 10 tries of area = H*W*U(scale_min, scale_max), aspect = exp(U(log ratio_min,
//                  log ratio_max)), w = round(sqrt(area*aspect)), h = round(sqrt(area/aspect)) (half-even);
//                  accepted if 0 < w <= W and 0 < h <= H, then top = randint[0, H-h], left = randint[0, W-w];
//                  else the fallback center crop (aspect clamped to [ratio_min, ratio_max]); then crop, resize
//                  to out_size x out_size, flip left-right if U(0,1) < 0.5. Random numbers come from a
//                  counter-based generator keyed by (seed, epoch, dataset index), so a sample's crop is the same
//                  whatever the thread count, batch size or rank. (Not torch's RNG: same law, other draws.)
//   RATQ_TF_NONE : "as stored": no resampling; every image must already be out_size x out_size (error
//                  otherwise); out_size 0 means "the dataset's fixed size". E.g. imagenet_sample (already
//                  resized to 256 and center-cropped to 224 at packing) is evaluated with RATQ_TF_NONE, 224.
// Channels: out_channels 0 = the dataset's own; 3 from a 1-channel source replicates the gray value; 1 from a
// 3-channel source is Pillow's convert('L'): L = (19595 R + 38470 G + 7471 B + 32768) >> 16. The conversion is
// applied after the geometric transform (for gray -> RGB the order does not matter; RGB -> L equals Pillow's
// img.resize(...).crop(...).convert('L')).
// The model side maps uint8 x to (x - 127) / 128 (EfficientNet-Lite) itself.
//
// ============================================================================================================
// Order, shuffling, ranks
// ============================================================================================================
// Epoch e visits order[0..N-1]: identity without shuffle; with shuffle, a Fisher-Yates permutation drawn from a
// generator seeded with (seed, e) — the same on every rank. Rank r of world_size W takes positions
// r, r+W, r+2W, ... (so ranks differ by at most one sample; together they cover the epoch exactly once), and
// cuts its list into batches of batch_size in order; the last batch is short unless drop_last.
//
// Thread safety: a ratq_dataset is read-only after open; ratq_data_read may be called from many threads with
// distinct ratq_image buffers. A ratq_loader is used from one thread; its workers are internal.
#ifndef RATQ_HOST_DATA_H
#define RATQ_HOST_DATA_H

#include <stddef.h>
#include <stdint.h>

#define RATQ_SHARD_MAGIC "RATQIMG1"
#define RATQ_SHARD_VERSION 1u
#define RATQ_SHARD_HEADER_BYTES 128
#define RATQ_SHARD_EXT ".rqshard"

typedef enum { RATQ_SHARD_RAW = 0, RATQ_SHARD_JPEG = 1 } ratq_shard_encoding;

typedef enum {
    RATQ_DATA_SHARD = 1, // sources 1, 2
    RATQ_DATA_NPZ = 2,   // sources 3, 4
    RATQ_DATA_JPEG_DIR = 3,
    RATQ_DATA_IDX = 4,
} ratq_data_kind;

typedef struct {
    const char *classes_file; // JPEG trees only: synsets.txt giving the label of each class folder; NULL = sorted
} ratq_data_options;

typedef struct {
    ratq_data_kind kind;
    int64_t count;      // N images
    int num_classes;    // shard: header; JPEG tree: class folders (or classes_file lines); npz/IDX: max label + 1
                        // (imagenet_sample gives 998: callers with a model use the model's class count and
                        // check max_label < it)
    int height, width;  // common stored size, or 0 when images differ or are JPEGs of unknown size
    int channels;       // 1 or 3 (decoded JPEGs are always 3)
    int64_t min_label, max_label;
    const char *path;   // the path the data set was opened with (named in error lines; NULL = "dataset")
} ratq_data_info;

typedef struct ratq_dataset ratq_dataset;

// Open a dataset (see "Sources"). opts may be NULL. Returns NULL after printing one error line.
ratq_dataset *ratq_data_open(const char *path, const ratq_data_options *opts);
void ratq_data_close(ratq_dataset *ds);
ratq_data_info ratq_data_get_info(const ratq_dataset *ds);
int64_t ratq_data_count(const ratq_dataset *ds);
int64_t ratq_data_label(const ratq_dataset *ds, int64_t i); // 0 <= i < count
const char *ratq_data_path(const ratq_dataset *ds); // the path it was opened from
// Human-readable origin of image i ("file.npz[17]", "root/n01440764/x.JPEG") into buf; returns buf.
const char *ratq_data_describe(const ratq_dataset *ds, int64_t i, char *buf, size_t cap);

// A decoded image, uint8 HWC. data is malloc'd and grown by the reader; reuse one per thread;
// ratq_image_free releases it. Start from ratq_image img = {0}.
typedef struct {
    int h, w, c;   // geometry of data
    uint8_t *data; // [h, w, c]
    size_t cap;    // bytes allocated
    void *decoder; // internal: cached JPEG decoder handle (freed by ratq_image_free)
} ratq_image;
void ratq_image_free(ratq_image *img);

// Decode image i at its stored geometry into img. Returns 0, or -1 after one error line naming the file/index.
int ratq_data_read(const ratq_dataset *ds, int64_t i, ratq_image *img);

// ---- transforms -------------------------------------------------------------------------------------------
typedef enum { RATQ_TF_NONE = 0, RATQ_TF_EVAL = 1, RATQ_TF_TRAIN = 2 } ratq_transform_kind;

typedef struct {
    ratq_transform_kind kind;
    int out_size;                // output H = W (e.g. 224; 32 for CIFAR-size tests); NONE: 0 = stored size
    int resize_to;               // EVAL: shorter side before the crop; 0 = round(out_size * 256 / 224)
    double scale_min, scale_max; // TRAIN: crop area fraction, torchvision default (0.08, 1.0)
    double ratio_min, ratio_max; // TRAIN: crop aspect w/h, default (3/4, 4/3)
    int hflip;                   // TRAIN: 1 = random horizontal flip with p = 0.5
    int out_channels;            // 0 = dataset channels, 1 or 3 (see "Channels")
} ratq_transform;

// Defaults: eval = {EVAL, out_size, resize 0 (auto)}, train = {TRAIN, out_size, (0.08,1), (3/4,4/3), hflip}.
ratq_transform ratq_transform_eval(int out_size);
ratq_transform ratq_transform_train(int out_size);
ratq_transform ratq_transform_none(int out_size);
// Eval for a dataset: NONE ("as stored") when every stored image is already out_size x out_size (e.g.
// imagenet_sample at 224, already resized/cropped at packing), else EVAL.
ratq_transform ratq_transform_eval_for(const ratq_data_info *info, int out_size);
// Validate a transform against a dataset (sizes, channels). Returns 0 or -1 with one error line
// "ratq: <info->path>: transform: <field>: <what>".
int ratq_transform_check(const ratq_transform *tf, const ratq_data_info *info);
// Output geometry of tf for dataset info: *h = *w = out_size (or stored size for NONE/0), *c = channels.
void ratq_transform_out_shape(const ratq_transform *tf, const ratq_data_info *info, int *h, int *w, int *c);

// Apply tf to src (uint8 HWC) into dst [oh, ow, oc] (from ratq_transform_out_shape). TRAIN draws its random
// numbers from (seed, epoch, index). scratch is grown as needed (free with ratq_image_free).
// Returns 0, or -1 with an error line (e.g. NONE with a wrongly sized image).
int ratq_transform_apply(const ratq_transform *tf, const ratq_image *src, uint64_t seed, int64_t epoch,
                         int64_t index, uint8_t *dst, ratq_image *scratch);

// Pillow-exact bilinear resize of a (sub)image: src points at the top-left pixel of an ih x iw window of
// c-channel pixels whose rows are src_stride bytes apart; dst is [oh, ow, c] contiguous.
// scratch holds the intermediate (horizontal pass) image. Returns 0 or -1 (out of memory / bad size).
int ratq_resize_bilinear(const uint8_t *src, int ih, int iw, int c, size_t src_stride, uint8_t *dst, int oh,
                         int ow, ratq_image *scratch);

// ---- order -----------------------------------------------------------------------------------------------
// The epoch's visiting order for this rank: writes the dataset indices into out (capacity
// ratq_data_rank_count(n, rank, world)) following the rule in "Order, shuffling, ranks". Returns the count.
int64_t ratq_data_rank_count(int64_t n, int rank, int world_size);
int64_t ratq_data_epoch_order(int64_t n, int shuffle, uint64_t seed, int64_t epoch, int rank, int world_size,
                              int64_t *out);

// ---- batch loader ----------------------------------------------------------------------------------------
typedef struct {
    int batch_size;       // >= 1
    int shuffle;          // 1 = seeded per-epoch permutation (training), 0 = stored order (evaluation)
    int drop_last;        // 1 = drop this rank's last short batch
    uint64_t seed;        // shuffling + augmentation seed
    int rank, world_size; // this process's part of every epoch; defaults 0 / 1
    int num_workers;      // decoding threads; 0 = decode in the calling thread inside ratq_loader_next
    int prefetch;         // batches prepared ahead (>= num_workers; 0 = 2 * num_workers)
    ratq_transform tf;
} ratq_loader_config;

// Default config: batch 32, no shuffle, seed 0, rank 0 / 1, 2 workers, eval transform at 224.
ratq_loader_config ratq_loader_config_default(void);

typedef struct {
    int n;           // images in this batch (batch_size, or fewer for the last one)
    int h, w, c;     // per-image geometry
    uint8_t *images; // [n, h, w, c] uint8 NHWC
    int64_t *labels; // [n]
    int64_t *index;  // [n] dataset index of each image (for tracing / tests)
    int64_t batch;   // batch number within the epoch, 0-based
} ratq_batch;

typedef struct ratq_loader ratq_loader;

// Create a loader over ds (which must outlive it). Checks the config and transform; NULL + error line if bad.
ratq_loader *ratq_loader_create(const ratq_dataset *ds, const ratq_loader_config *cfg);
void ratq_loader_destroy(ratq_loader *ld);
// Batches per epoch for this rank (ceil, or floor with drop_last) and images per epoch for this rank.
int64_t ratq_loader_num_batches(const ratq_loader *ld);
int64_t ratq_loader_num_samples(const ratq_loader *ld);
// Begin epoch `epoch` (any epoch number; abandons the rest of a running epoch). Workers start prefetching.
int ratq_loader_start_epoch(ratq_loader *ld, int64_t epoch);
// Next batch of the current epoch, in order. Returns 1 and fills *b (valid until the next call of
// ratq_loader_next / start_epoch / destroy), 0 at the end of the epoch, -1 on a read/decode error
// (one error line was printed naming the file and image).
int ratq_loader_next(ratq_loader *ld, ratq_batch *b);

#endif
