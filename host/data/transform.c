// host/data/transform.c — Pillow-exact bilinear resampling, the eval / train transforms, and epoch orders.
// Formulas and tie rules are stated in data.h ("Transforms", "Order, shuffling, ranks").
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "common/io.h"

// ---- random numbers ---------------------------------------------------------------------------------------
data_rng data_rng_perm(uint64_t seed, int64_t epoch) {
    data_rng r = {ratq_splitmix64(ratq_splitmix64(seed ^ 0x7065726d75746531ull /* "permute1" */) ^ (uint64_t)epoch)};
    return r;
}
data_rng data_rng_sample(uint64_t seed, int64_t epoch, int64_t index) {
    uint64_t k = ratq_splitmix64(ratq_splitmix64(seed ^ 0x6175676d656e7431ull /* "augment1" */) ^ (uint64_t)epoch);
    data_rng r = {ratq_splitmix64(k ^ (uint64_t)index)};
    return r;
}

// ---- Pillow ImagingResample (bilinear), restricted to an output window ------------------------------------
#define PREC_BITS 22 // Pillow: PRECISION_BITS = 32 - 8 - 2

static double triangle(double x) { // Pillow bilinear_filter, support 1
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow precompute_coeffs + normalize_coeffs_8bpc for output coordinates [o0, o0 + on) of an in -> out resize.
// bounds[2j] = first input index, bounds[2j+1] = taps; kk[j*ksize + t] = 22-bit fixed-point weight.
static int coeffs_ksize(int in_size, int out_size) {
    double scale = (double)in_size / out_size, fs = scale < 1.0 ? 1.0 : scale;
    return (int)ceil(fs) * 2 + 1;
}
static void coeffs(int in_size, int out_size, int o0, int on, int ksize, int *bounds, int32_t *kk) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale, ss = 1.0 / filterscale;
    double w[ksize];
    for (int j = 0; j < on; j++) {
        int xx = o0 + j;
        double center = (xx + 0.5) * scale, ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = triangle((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? (ww != 0.0 ? w[x] / ww : w[x]) : 0.0;
            kk[j * ksize + x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PREC_BITS)) : (int32_t)(0.5 + v * (1 << PREC_BITS));
        }
        bounds[2 * j] = xmin;
        bounds[2 * j + 1] = xmax;
    }
}

static inline uint8_t clip8(int32_t ss) {
    int32_t v = ss >> PREC_BITS; // arithmetic shift (floor), as Pillow's lookup table index
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Window [y0, y0+oh) x [x0, x0+ow) of the full oh_full x ow_full Pillow-bilinear resize of src (ih x iw x c,
// row stride `stride` bytes) into dst [oh, ow, c]. Horizontal pass first (only the needed input rows), then
// vertical, each rounded to uint8: exactly Pillow's two-pass ImagingResampleInner (a pass whose size is
// unchanged is skipped, which is the identity there too).
static int resize_window(const uint8_t *src, int ih, int iw, int c, size_t stride, int oh_full, int ow_full,
                         int y0, int x0, int oh, int ow, uint8_t *dst, ratq_image *scratch) {
    if (ih < 1 || iw < 1 || oh_full < 1 || ow_full < 1 || oh < 1 || ow < 1 || y0 < 0 || x0 < 0 ||
        y0 + oh > oh_full || x0 + ow > ow_full || c < 1 || c > 4) {
        ratq_error("resize: bad geometry %dx%d -> %dx%d window (%d,%d)+%dx%d", ih, iw, oh_full, ow_full, y0, x0, oh,
                   ow);
        return -1;
    }
    int need_h = iw != ow_full, need_v = ih != oh_full;
    int ksh = coeffs_ksize(iw, ow_full), ksv = coeffs_ksize(ih, oh_full);
    int *bh = malloc(sizeof(int) * 2 * (size_t)ow), *bv = malloc(sizeof(int) * 2 * (size_t)oh);
    int32_t *kh = malloc(sizeof(int32_t) * (size_t)ow * ksh), *kv = malloc(sizeof(int32_t) * (size_t)oh * ksv);
    int rc = -1;
    if (!bh || !bv || !kh || !kv) {
        ratq_error("resize: out of memory");
        goto out;
    }
    // Input rows the vertical pass reads.
    int yfirst = y0, ylast = y0 + oh;
    if (need_v) {
        coeffs(ih, oh_full, y0, oh, ksv, bv, kv);
        yfirst = bv[0];
        ylast = bv[2 * (oh - 1)] + bv[2 * (oh - 1) + 1];
        for (int j = 1; j < oh; j++) { // bounds are monotone, but take min/max to be safe
            if (bv[2 * j] < yfirst) yfirst = bv[2 * j];
            if (bv[2 * j] + bv[2 * j + 1] > ylast) ylast = bv[2 * j] + bv[2 * j + 1];
        }
    }
    int rows = ylast - yfirst;
    const uint8_t *hsrc; // rows [yfirst, ylast) after the horizontal pass: [rows, ow, c], stride hstride
    size_t hstride;
    if (need_h) {
        coeffs(iw, ow_full, x0, ow, ksh, bh, kh);
        if (data_image_reserve(scratch, (size_t)rows * ow * c) != 0) goto out;
        uint8_t *tmp = scratch->data;
        for (int y = 0; y < rows; y++) {
            const uint8_t *row = src + (size_t)(yfirst + y) * stride;
            uint8_t *o = tmp + (size_t)y * ow * c;
            for (int j = 0; j < ow; j++) {
                const int32_t *k = kh + (size_t)j * ksh;
                const uint8_t *p = row + (size_t)bh[2 * j] * c;
                int taps = bh[2 * j + 1];
                if (c == 3) { // all channels in one sweep over the taps
                    int32_t s0 = 1 << (PREC_BITS - 1), s1 = s0, s2 = s0;
                    for (int x = 0; x < taps; x++, p += 3) {
                        int32_t kx = k[x];
                        s0 += p[0] * kx, s1 += p[1] * kx, s2 += p[2] * kx;
                    }
                    o[j * 3] = clip8(s0), o[j * 3 + 1] = clip8(s1), o[j * 3 + 2] = clip8(s2);
                    continue;
                }
                for (int ch = 0; ch < c; ch++) {
                    int32_t ss = 1 << (PREC_BITS - 1);
                    for (int x = 0; x < taps; x++) ss += p[x * c + ch] * k[x];
                    o[j * c + ch] = clip8(ss);
                }
            }
        }
        hsrc = tmp;
        hstride = (size_t)ow * c;
    } else {
        hsrc = src + (size_t)yfirst * stride + (size_t)x0 * c;
        hstride = stride;
    }
    if (need_v) { // row-wise accumulation (integer sums: the order does not change the result)
        int32_t *acc = malloc(sizeof(int32_t) * (size_t)ow * c);
        if (!acc) {
            ratq_error("resize: out of memory");
            goto out;
        }
        for (int j = 0; j < oh; j++) {
            const int32_t *k = kv + (size_t)j * ksv;
            const uint8_t *row0 = hsrc + (size_t)(bv[2 * j] - yfirst) * hstride;
            uint8_t *o = dst + (size_t)j * ow * c;
            for (int i = 0; i < ow * c; i++) acc[i] = 1 << (PREC_BITS - 1);
            for (int y = 0; y < bv[2 * j + 1]; y++) {
                const uint8_t *r = row0 + (size_t)y * hstride;
                int32_t ky = k[y];
                for (int i = 0; i < ow * c; i++) acc[i] += r[i] * ky;
            }
            for (int i = 0; i < ow * c; i++) o[i] = clip8(acc[i]);
        }
        free(acc);
    } else {
        for (int j = 0; j < oh; j++) memcpy(dst + (size_t)j * ow * c, hsrc + (size_t)j * hstride, (size_t)ow * c);
    }
    rc = 0;
out:
    free(bh);
    free(bv);
    free(kh);
    free(kv);
    return rc;
}

int ratq_resize_bilinear(const uint8_t *src, int ih, int iw, int c, size_t src_stride, uint8_t *dst, int oh, int ow,
                         ratq_image *scratch) {
    return resize_window(src, ih, iw, c, src_stride, oh, ow, 0, 0, oh, ow, dst, scratch);
}

// ---- transforms -------------------------------------------------------------------------------------------
ratq_transform ratq_transform_eval(int out_size) {
    ratq_transform t = {RATQ_TF_EVAL, out_size, 0, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, 0, 0};
    return t;
}
ratq_transform ratq_transform_train(int out_size) {
    ratq_transform t = {RATQ_TF_TRAIN, out_size, 0, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, 1, 0};
    return t;
}
ratq_transform ratq_transform_none(int out_size) {
    ratq_transform t = {RATQ_TF_NONE, out_size, 0, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, 0, 0};
    return t;
}

ratq_transform ratq_transform_eval_for(const ratq_data_info *info, int out_size) {
    if (info->height == out_size && info->width == out_size) return ratq_transform_none(out_size);
    return ratq_transform_eval(out_size);
}

static int resize_to(const ratq_transform *tf) { // round(out * 256 / 224), ties up
    return tf->resize_to > 0 ? tf->resize_to : (tf->out_size * 256 + 112) / 224;
}

int ratq_transform_check(const ratq_transform *tf, const ratq_data_info *info) {
    const char *who = info->path ? info->path : "dataset";
    if (tf->out_channels != 0 && tf->out_channels != 1 && tf->out_channels != 3) {
        ratq_error("%s: transform: out_channels: %d (0, 1 or 3)", who, tf->out_channels);
        return -1;
    }
    if (tf->kind == RATQ_TF_NONE) {
        if (tf->out_size == 0 && (info->height == 0 || info->width == 0)) {
            ratq_error("%s: transform: out_size: 0 (\"as stored\") needs a dataset of one fixed image size", who);
            return -1;
        }
        if (tf->out_size < 0 || (tf->out_size > 0 && info->height > 0 &&
                                 (info->height != tf->out_size || info->width != tf->out_size))) {
            ratq_error("%s: transform: out_size: %d, but the dataset stores %dx%d images (use the eval transform)", who,
                       tf->out_size, info->height, info->width);
            return -1;
        }
        return 0;
    }
    if (tf->out_size < 1 || tf->out_size > 8192) {
        ratq_error("%s: transform: out_size: %d", who, tf->out_size);
        return -1;
    }
    if (tf->kind == RATQ_TF_EVAL) {
        if (resize_to(tf) < tf->out_size) {
            ratq_error("%s: transform: resize_to: %d is smaller than out_size %d", who, resize_to(tf), tf->out_size);
            return -1;
        }
        return 0;
    }
    if (tf->kind == RATQ_TF_TRAIN) {
        if (!(tf->scale_min > 0 && tf->scale_min <= tf->scale_max) || !(tf->ratio_min > 0 && tf->ratio_min <= tf->ratio_max)) {
            ratq_error("%s: transform: scale (%g, %g) / ratio (%g, %g): need 0 < min <= max", who, tf->scale_min,
                       tf->scale_max, tf->ratio_min, tf->ratio_max);
            return -1;
        }
        return 0;
    }
    ratq_error("%s: transform: kind: %d", who, (int)tf->kind);
    return -1;
}

void ratq_transform_out_shape(const ratq_transform *tf, const ratq_data_info *info, int *h, int *w, int *c) {
    *h = *w = tf->out_size;
    if (tf->kind == RATQ_TF_NONE && tf->out_size == 0) *h = info->height, *w = info->width;
    *c = tf->out_channels ? tf->out_channels : info->channels;
}

static int64_t round_half_even_half(int64_t d) { // round(d / 2) with ties to even (Python round)
    int64_t k = d / 2;
    if (d % 2 == 0) return k;
    return (k % 2 == 0) ? k : k + 1;
}

// torchvision RandomResizedCrop.get_params with our generator: crop (top, left, h, w) of an H x W image.
static void rrc_params(const ratq_transform *tf, data_rng *r, int H, int W, int *top, int *left, int *h, int *w) {
    double area = (double)H * W, lr0 = log(tf->ratio_min), lr1 = log(tf->ratio_max);
    for (int t = 0; t < 10; t++) {
        double target = area * (tf->scale_min + (tf->scale_max - tf->scale_min) * data_rng_uniform(r));
        double aspect = exp(lr0 + (lr1 - lr0) * data_rng_uniform(r));
        double cw = nearbyint(sqrt(target * aspect)), ch = nearbyint(sqrt(target / aspect)); // half-even
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            *w = (int)cw, *h = (int)ch;
            *top = (int)data_rng_below(r, (uint64_t)(H - *h + 1));
            *left = (int)data_rng_below(r, (uint64_t)(W - *w + 1));
            return;
        }
    }
    double in_ratio = (double)W / H;
    if (in_ratio < tf->ratio_min) {
        *w = W;
        *h = (int)nearbyint(*w / tf->ratio_min);
    } else if (in_ratio > tf->ratio_max) {
        *h = H;
        *w = (int)nearbyint(*h * tf->ratio_max);
    } else {
        *w = W, *h = H;
    }
    if (*h > H) *h = H; // rounding can exceed by one only in degenerate sizes
    if (*w > W) *w = W;
    *top = (H - *h) / 2;
    *left = (W - *w) / 2;
}

// Convert n pixels from sc to dc channels (1 -> 3 replicate; 3 -> 1 Pillow convert('L')).
static void convert_channels(const uint8_t *s, int sc, uint8_t *d, int dc, size_t n) {
    if (sc == dc) {
        memcpy(d, s, n * (size_t)sc);
    } else if (sc == 1) {
        for (size_t i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = s[i];
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)((19595u * s[3 * i] + 38470u * s[3 * i + 1] + 7471u * s[3 * i + 2] + 0x8000u) >> 16);
    }
}

int ratq_transform_apply(const ratq_transform *tf, const ratq_image *src, uint64_t seed, int64_t epoch,
                         int64_t index, uint8_t *dst, ratq_image *scratch) {
    return data_transform_apply_named(tf, src, seed, epoch, index, dst, scratch, NULL);
}

int data_transform_apply_named(const ratq_transform *tf, const ratq_image *src, uint64_t seed, int64_t epoch,
                               int64_t index, uint8_t *dst, ratq_image *scratch, const char *who) {
    char name[64];
    if (!who) { // no file to name: the index
        snprintf(name, sizeof name, "image %lld", (long long)index);
        who = name;
    }
    int H = src->h, W = src->w, C = src->c;
    int oc = tf->out_channels ? tf->out_channels : C;
    int out = tf->out_size;
    // Geometric part writes [oh, ow, C] into geo: dst itself when channels match, else a tail of scratch.
    int oh = out, ow = out;
    if (tf->kind == RATQ_TF_NONE) {
        if (out == 0) oh = H, ow = W;
        if (H != oh || W != ow) {
            ratq_error("%s: transform: image is %dx%d, \"as stored\" expects %dx%d", who, H, W, oh, ow);
            return -1;
        }
    }
    size_t geo_bytes = (size_t)oh * ow * C;
    uint8_t *geo = dst;
    ratq_image *rs = scratch;
    ratq_image sub = {0};
    if (oc != C) { // need a separate buffer: keep it in `sub` grown inside scratch's allocation order
        if (data_image_reserve(scratch, geo_bytes) != 0) return -1;
        geo = scratch->data;
        rs = &sub; // the resize intermediate then lives in its own buffer
    }
    int rc = 0;
    if (tf->kind == RATQ_TF_NONE) {
        memcpy(geo, src->data, geo_bytes);
    } else if (tf->kind == RATQ_TF_EVAL) {
        int rt = resize_to(tf);
        int64_t nh, nw;
        if (W <= H) nw = rt, nh = (int64_t)rt * H / W; // int(size * long / short): truncation
        else nh = rt, nw = (int64_t)rt * W / H;
        if (nh < out || nw < out || nh > 65535 || nw > 65535) {
            ratq_error("%s: transform: image (%dx%d) resizes to %lldx%lld, cannot center-crop %d", who, H, W,
                       (long long)nh, (long long)nw, out);
            rc = -1;
        } else {
            int top = (int)round_half_even_half(nh - out), left = (int)round_half_even_half(nw - out);
            rc = resize_window(src->data, H, W, C, (size_t)W * C, (int)nh, (int)nw, top, left, out, out, geo, rs);
        }
    } else {
        data_rng r = data_rng_sample(seed, epoch, index);
        int top, left, ch, cw;
        rrc_params(tf, &r, H, W, &top, &left, &ch, &cw);
        rc = resize_window(src->data + ((size_t)top * W + left) * C, ch, cw, C, (size_t)W * C, out, out, 0, 0, out,
                           out, geo, rs);
        if (rc == 0 && tf->hflip && data_rng_uniform(&r) < 0.5) {
            for (int y = 0; y < out; y++) {
                uint8_t *row = geo + (size_t)y * out * C;
                for (int a = 0, b = out - 1; a < b; a++, b--)
                    for (int k = 0; k < C; k++) {
                        uint8_t t = row[a * C + k];
                        row[a * C + k] = row[b * C + k];
                        row[b * C + k] = t;
                    }
            }
        }
    }
    if (rc == 0 && geo != dst) convert_channels(geo, C, dst, oc, (size_t)oh * ow);
    ratq_image_free(&sub);
    return rc;
}

// ---- epoch order ------------------------------------------------------------------------------------------
int64_t ratq_data_rank_count(int64_t n, int rank, int world_size) {
    if (world_size < 1 || rank < 0 || rank >= world_size || n <= rank) return 0;
    return (n - rank + world_size - 1) / world_size;
}

int64_t ratq_data_epoch_order(int64_t n, int shuffle, uint64_t seed, int64_t epoch, int rank, int world_size,
                              int64_t *out) {
    int64_t m = ratq_data_rank_count(n, rank, world_size);
    if (!shuffle) {
        for (int64_t k = 0; k < m; k++) out[k] = rank + k * world_size;
        return m;
    }
    int64_t *perm = malloc((size_t)(n ? n : 1) * sizeof *perm);
    if (!perm) {
        ratq_error("order: out of memory for %lld indices", (long long)n);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    data_rng r = data_rng_perm(seed, epoch);
    for (int64_t i = n - 1; i > 0; i--) { // Fisher-Yates: swap i with j uniform in [0, i]
        int64_t j = (int64_t)data_rng_below(&r, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int64_t k = 0; k < m; k++) out[k] = perm[rank + k * world_size];
    free(perm);
    return m;
}
