// fuzz_shard.c — the shard loader (host/data/source.c, format in host/data/data.h) and the batch loader on it.
#include "fuzz_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_write("in.rqshard", data, size);
    if (p) fuzz_consume_dataset(p);
    return 0;
}
