// fuzz_npz.c — the .npz / .npy reader (host/data/npz.c: zip members, stored or deflated, .npy headers) in both
// shared-data forms (decoded images, JPEG bytes + offsets) and the batch loader on it.
#include "fuzz_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_write("in.npz", data, size);
    if (p) fuzz_consume_dataset(p);
    return 0;
}
