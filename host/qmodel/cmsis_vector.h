// cmsis_vector.h — loader for test vectors in the `cmsis_nn_vector/v1` JSON format
// (../shared/data/cmsis_nn_vectors/README.md): one int8 conv / depthwise conv / fully connected case with
// TFLite (quantized_multiplier, shift) requantization and the expected int8 output.
#ifndef RATQ_HOST_CMSIS_VECTOR_H
#define RATQ_HOST_CMSIS_VECTOR_H

#include <stdint.h>

#include "cpu/int_ops.h"

typedef enum { RATQ_VEC_CONV = 0, RATQ_VEC_DEPTHWISE = 1, RATQ_VEC_FC = 2 } ratq_vector_kernel;

typedef struct {
    char name[128];
    ratq_vector_kernel kernel;
    int32_t input_offset, filter_offset, output_offset; // -z_x, weight offset, z_y
    int32_t act_min, act_max;
    int per_channel;
    ratq_conv_shape shape; // conv / depthwise geometry (FC: batch, in_c = depth, out_c)
    int fc_depth;          // FC accumulation depth
    int8_t *input;         // NHWC (FC: [batch][depth])
    int8_t *weights;       // OHWI / 1HWO / [out_c][depth]
    int32_t *bias;         // [out_c]
    int32_t *multiplier;   // [n_multipliers], TFLite Q31 quantized multipliers
    int32_t *shift;        // [n_multipliers], TFLite shifts (positive = left)
    int n_multipliers;     // out_c if per_channel else 1
    int8_t *expected;      // expected output, NHWC / [batch][out_c]
    int64_t n_input, n_weights, n_output;
    int single_rounding_matches; // verification.single_rounding_matches (-1 if absent)
} ratq_vector;

// Load and validate one file. Returns 0, or -1 after printing one line "ratq: FILE: field 'F': ...".
int ratq_vector_load(const char *path, ratq_vector *v);
void ratq_vector_free(ratq_vector *v);

// Run the vector through the CPU integer engine with the given rescalers ([n_multipliers]) and rounding.
void ratq_vector_run(const ratq_vector *v, const ratq_rescale *rescale, ratq_rounding rounding, int8_t *out);

#endif
