// fuzz_idx.c — the Fashion-MNIST / MNIST IDX reader (host/data/source.c). Input: u32 little-endian n, then n bytes
// of the images file and the rest as the labels file (zlib reads plain and gzip files alike, so both forms are
// reachable); opened as the prefix "<dir>/x" and consumed by the batch loader.
#include "fuzz_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    size_t n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    data += 4, size -= 4;
    if (n > size) n = size;
    if (!fuzz_write("idx/x-images-idx3-ubyte.gz", data, n) || !fuzz_write("idx/x-labels-idx1-ubyte.gz", data + n, size - n))
        return 0;
    fuzz_consume_dataset(fuzz_path("idx/x"));
    return 0;
}
