// host/data/jpeg.c — JPEG decoding with libjpeg-turbo's TurboJPEG API (2.x calls, also present in 3.x).
// Defaults as Pillow: accurate integer IDCT (islow), fancy (smooth) chroma upsampling. Warnings (e.g. extra
// bytes) are accepted, errors are not. Output is always RGB: grayscale JPEGs decode with TJPF_RGB (the gray value
// replicated); CMYK/YCCK JPEGs decode to CMYK and convert like Pillow's "CMYK;I" + cmyk2rgb:
//   R = K - MULDIV255(255 - C, K), MULDIV255(a, b) = (t + (t >> 8)) >> 8 with t = a*b + 128 (same for G/M, B/Y).
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "common/io.h"

#ifdef RATQ_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

int data_image_reserve(ratq_image *img, size_t bytes) {
    if (img->cap >= bytes) return 0;
    uint8_t *p = realloc(img->data, bytes);
    if (!p) {
        ratq_error("out of memory (image buffer of %zu bytes)", bytes);
        return -1;
    }
    img->data = p;
    img->cap = bytes;
    return 0;
}

void ratq_image_free(ratq_image *img) {
    free(img->data);
    data_jpeg_free_handle(img->decoder);
    memset(img, 0, sizeof *img);
}

#ifdef RATQ_HAVE_TURBOJPEG
void data_jpeg_free_handle(void *handle) {
    if (handle) tjDestroy((tjhandle)handle);
}

static tjhandle get_handle(ratq_image *img) {
    if (!img->decoder) img->decoder = tjInitDecompress();
    return (tjhandle)img->decoder;
}

int data_jpeg_size(const uint8_t *buf, size_t size, int *h, int *w, ratq_image *img) {
    tjhandle tj = get_handle(img);
    int sub, cs;
    if (!tj || size > 0xffffffffu) return -1;
    if (tjDecompressHeader3(tj, buf, (unsigned long)size, w, h, &sub, &cs) != 0) return -1;
    return 0;
}

static inline uint8_t muldiv255(int a, int b) {
    int t = a * b + 128;
    return (uint8_t)((t + (t >> 8)) >> 8);
}

int data_jpeg_decode(const uint8_t *buf, size_t size, ratq_image *img, const char *what) {
    tjhandle tj = get_handle(img);
    if (!tj) {
        ratq_error("%s: jpeg: cannot create a TurboJPEG decoder", what);
        return -1;
    }
    int w, h, sub, cs;
    if (size < 4 || size > 0xffffffffu || buf[0] != 0xff || buf[1] != 0xd8) {
        ratq_error("%s: jpeg: not a JPEG file (no SOI marker)", what);
        return -1;
    }
    if (tjDecompressHeader3(tj, buf, (unsigned long)size, &w, &h, &sub, &cs) != 0) {
        ratq_error("%s: jpeg: header: %s", what, tjGetErrorStr2(tj));
        return -1;
    }
    if (w <= 0 || h <= 0 || (int64_t)w * h > ((int64_t)1 << 28)) {
        ratq_error("%s: jpeg: size %dx%d out of range", what, w, h);
        return -1;
    }
    int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    size_t need = (size_t)w * h * (cmyk ? 4 : 3);
    if (data_image_reserve(img, need) != 0) return -1;
    if (tjDecompress2(tj, buf, (unsigned long)size, img->data, w, 0, h, cmyk ? TJPF_CMYK : TJPF_RGB, 0) != 0 &&
        tjGetErrorCode(tj) != TJERR_WARNING) {
        ratq_error("%s: jpeg: decode: %s", what, tjGetErrorStr2(tj));
        return -1;
    }
    if (cmyk) { // in place, forward: pixel i reads 4 bytes at 4i and writes 3 at 3i <= 4i
        uint8_t *p = img->data;
        for (size_t i = 0; i < (size_t)w * h; i++) {
            int c = p[4 * i], m = p[4 * i + 1], y = p[4 * i + 2], k = p[4 * i + 3];
            p[3 * i + 0] = (uint8_t)(k - muldiv255(255 - c, k));
            p[3 * i + 1] = (uint8_t)(k - muldiv255(255 - m, k));
            p[3 * i + 2] = (uint8_t)(k - muldiv255(255 - y, k));
        }
    }
    img->h = h;
    img->w = w;
    img->c = 3;
    return 0;
}
#else
void data_jpeg_free_handle(void *handle) { (void)handle; }
int data_jpeg_size(const uint8_t *buf, size_t size, int *h, int *w, ratq_image *img) {
    (void)buf, (void)size, (void)h, (void)w, (void)img;
    return -1;
}
int data_jpeg_decode(const uint8_t *buf, size_t size, ratq_image *img, const char *what) {
    (void)buf, (void)size, (void)img;
    ratq_error("%s: jpeg: ratq was built without libjpeg-turbo (apt-get install libturbojpeg0-dev)", what);
    return -1;
}
#endif
