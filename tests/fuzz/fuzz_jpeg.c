// fuzz_jpeg.c — JPEG decoding (host/data/jpeg.c, libjpeg-turbo) through a one-image ImageNet-style folder tree
// "<dir>/jpeg/c0/a.jpg", consumed by the batch loader (decode, resize, crop).
#include "fuzz_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fuzz_write("jpeg/c0/a.jpg", data, size)) return 0;
    fuzz_consume_dataset(fuzz_path("jpeg"));
    return 0;
}
