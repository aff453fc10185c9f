// cmsis_vector.c — parse and validate cmsis_nn_vector/v1 JSON (cJSON), run it through the integer engine.
#include "qmodel/cmsis_vector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/io.h"

typedef struct {
    const char *path;
    const cJSON *root;
} parser;

static int field_error(const parser *p, const char *field, const char *what) {
    ratq_error("%s: field '%s': %s", p->path, field, what);
    return -1;
}

static const cJSON *get(const parser *p, const char *field) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(p->root, field);
    if (!it) field_error(p, field, "missing");
    return it;
}

// An integer-valued JSON number within [lo, hi].
static int get_int(const parser *p, const char *field, int64_t lo, int64_t hi, int32_t *out) {
    const cJSON *it = get(p, field);
    if (!it) return -1;
    if (!cJSON_IsNumber(it)) return field_error(p, field, "not a number");
    double d = it->valuedouble;
    if (d != floor(d) || d < (double)lo || d > (double)hi) return field_error(p, field, "not an integer in range");
    *out = (int32_t)d;
    return 0;
}

// An array of integers within [lo, hi]; *n = its length. Values are stored in an int32 buffer.
static int32_t *get_int_array(const parser *p, const char *field, int64_t lo, int64_t hi, int64_t *n) {
    const cJSON *it = get(p, field);
    if (!it) return NULL;
    if (!cJSON_IsArray(it)) {
        field_error(p, field, "not an array");
        return NULL;
    }
    int64_t len = cJSON_GetArraySize(it), i = 0;
    int32_t *buf = malloc(sizeof(int32_t) * (size_t)(len ? len : 1));
    const cJSON *el;
    cJSON_ArrayForEach(el, it) {
        double d = cJSON_IsNumber(el) ? el->valuedouble : NAN;
        if (d != floor(d) || d < (double)lo || d > (double)hi) {
            char what[96];
            snprintf(what, sizeof what, "element %lld is not an integer in [%lld, %lld]", (long long)i,
                     (long long)lo, (long long)hi);
            field_error(p, field, what);
            free(buf);
            return NULL;
        }
        buf[i++] = (int32_t)d;
    }
    *n = len;
    return buf;
}

static int8_t *get_s8_array(const parser *p, const char *field, int64_t expect_len, const char *shape_field) {
    int64_t n;
    int32_t *v = get_int_array(p, field, -128, 127, &n);
    if (!v) return NULL;
    if (n != expect_len) {
        char what[160];
        snprintf(what, sizeof what, "has %lld values, %s needs %lld", (long long)n, shape_field, (long long)expect_len);
        field_error(p, field, what);
        free(v);
        return NULL;
    }
    int8_t *out = malloc((size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) out[i] = (int8_t)v[i];
    free(v);
    return out;
}

// A shape array of `rank` positive dims; returns the element count or -1.
static int64_t get_shape(const parser *p, const char *field, int rank, int *dims) {
    int64_t n;
    int32_t *v = get_int_array(p, field, 1, 1 << 24, &n);
    if (!v) return -1;
    if (n != rank) {
        free(v);
        char what[64];
        snprintf(what, sizeof what, "rank %lld, expected %d", (long long)n, rank);
        return field_error(p, field, what);
    }
    int64_t count = 1;
    for (int i = 0; i < rank; i++) count *= (dims[i] = v[i]);
    free(v);
    return count;
}

static int dims_equal(const parser *p, const char *field, const int *got, const int *want, int rank) {
    for (int i = 0; i < rank; i++)
        if (got[i] != want[i]) {
            char what[96];
            snprintf(what, sizeof what, "dimension %d is %d, the geometry implies %d", i, got[i], want[i]);
            return field_error(p, field, what);
        }
    return 0;
}

static int parse(const parser *p, ratq_vector *v) {
    const cJSON *fmt = get(p, "format");
    if (!fmt) return -1;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "cmsis_nn_vector/v1"))
        return field_error(p, "format", "expected \"cmsis_nn_vector/v1\"");
    const cJSON *name = get(p, "name");
    if (!name) return -1;
    if (!cJSON_IsString(name)) return field_error(p, "name", "not a string");
    snprintf(v->name, sizeof v->name, "%s", name->valuestring);
    const cJSON *kernel = get(p, "kernel");
    if (!kernel) return -1;
    if (!cJSON_IsString(kernel)) return field_error(p, "kernel", "not a string");
    if (!strcmp(kernel->valuestring, "conv")) v->kernel = RATQ_VEC_CONV;
    else if (!strcmp(kernel->valuestring, "depthwise_conv")) v->kernel = RATQ_VEC_DEPTHWISE;
    else if (!strcmp(kernel->valuestring, "fully_connected")) v->kernel = RATQ_VEC_FC;
    else return field_error(p, "kernel", "unknown kernel (expected conv, depthwise_conv or fully_connected)");

    if (get_int(p, "input_offset", -255, 255, &v->input_offset) || get_int(p, "filter_offset", -255, 255, &v->filter_offset) ||
        get_int(p, "output_offset", -255, 255, &v->output_offset) || get_int(p, "activation_min", -128, 127, &v->act_min) ||
        get_int(p, "activation_max", -128, 127, &v->act_max))
        return -1;
    if (v->act_min > v->act_max) return field_error(p, "activation_min", "greater than activation_max");
    const cJSON *pc = get(p, "per_channel");
    if (!pc) return -1;
    if (!cJSON_IsBool(pc)) return field_error(p, "per_channel", "not a boolean");
    v->per_channel = cJSON_IsTrue(pc);

    ratq_conv_shape *sh = &v->shape;
    memset(sh, 0, sizeof *sh);
    int in_dims[4], out_dims[4], w_dims[4];
    int64_t w_count;
    if (v->kernel == RATQ_VEC_FC) {
        if ((v->n_input = get_shape(p, "input_shape", 2, in_dims)) < 0) return -1;
        if ((v->n_output = get_shape(p, "output_shape", 2, out_dims)) < 0) return -1;
        if ((w_count = get_shape(p, "weights_shape", 2, w_dims)) < 0) return -1;
        int32_t depth;
        if (get_int(p, "accumulation_depth", 1, 1 << 24, &depth)) return -1;
        v->fc_depth = depth;
        sh->batch = in_dims[0];
        sh->in_c = depth;
        sh->out_c = w_dims[0];
        int want_in[2] = {sh->batch, depth}, want_w[2] = {sh->out_c, depth}, want_out[2] = {sh->batch, sh->out_c};
        if (dims_equal(p, "input_shape", in_dims, want_in, 2) || dims_equal(p, "weights_shape", w_dims, want_w, 2) ||
            dims_equal(p, "output_shape", out_dims, want_out, 2))
            return -1;
    } else {
        if ((v->n_input = get_shape(p, "input_shape", 4, in_dims)) < 0) return -1;
        if ((v->n_output = get_shape(p, "output_shape", 4, out_dims)) < 0) return -1;
        if ((w_count = get_shape(p, "weights_shape", 4, w_dims)) < 0) return -1;
        int32_t g[10];
        const char *names[10] = {"kernel_h", "kernel_w", "stride_h", "stride_w", "dilation_h",
                                 "dilation_w", "pad_top", "pad_left", "pad_bottom", "pad_right"};
        for (int i = 0; i < 10; i++)
            if (get_int(p, names[i], i < 6 ? 1 : 0, 1 << 16, &g[i])) return -1;
        sh->batch = in_dims[0], sh->in_h = in_dims[1], sh->in_w = in_dims[2], sh->in_c = in_dims[3];
        sh->out_h = out_dims[1], sh->out_w = out_dims[2], sh->out_c = out_dims[3];
        sh->kernel_h = g[0], sh->kernel_w = g[1], sh->stride_h = g[2], sh->stride_w = g[3];
        sh->dilation_h = g[4], sh->dilation_w = g[5];
        sh->pad_top = g[6], sh->pad_left = g[7], sh->pad_bottom = g[8], sh->pad_right = g[9];
        if (out_dims[0] != sh->batch) return field_error(p, "output_shape", "batch differs from input_shape");
        int want_w[4];
        if (v->kernel == RATQ_VEC_CONV) {
            int32_t groups;
            if (get_int(p, "groups", 1, 1 << 16, &groups)) return -1;
            sh->groups = groups;
            if (sh->in_c % groups) return field_error(p, "groups", "does not divide the input channels");
            want_w[0] = sh->out_c, want_w[1] = sh->kernel_h, want_w[2] = sh->kernel_w, want_w[3] = sh->in_c / groups;
        } else {
            int32_t dm;
            if (get_int(p, "depth_multiplier", 1, 1 << 16, &dm)) return -1;
            sh->depth_multiplier = dm;
            if (v->filter_offset != 0) return field_error(p, "filter_offset", "must be 0 for depthwise_conv");
            want_w[0] = 1, want_w[1] = sh->kernel_h, want_w[2] = sh->kernel_w, want_w[3] = sh->out_c;
        }
        if (dims_equal(p, "weights_shape", w_dims, want_w, 4)) return -1;
        const char *bad = ratq_conv_shape_check(sh, v->kernel == RATQ_VEC_CONV ? RATQ_SHAPE_CONV : RATQ_SHAPE_DEPTHWISE);
        if (bad) {
            char fieldname[64];
            snprintf(fieldname, sizeof fieldname, "%s", bad);
            return field_error(p, fieldname, "inconsistent with the input/output shapes and the geometry");
        }
    }
    v->n_weights = w_count;
    if (!(v->input = get_s8_array(p, "input", v->n_input, "input_shape"))) return -1;
    if (!(v->weights = get_s8_array(p, "weights", v->n_weights, "weights_shape"))) return -1;
    if (!(v->expected = get_s8_array(p, "expected_output", v->n_output, "output_shape"))) return -1;
    int64_t n;
    if (!(v->bias = get_int_array(p, "bias", INT32_MIN, INT32_MAX, &n))) return -1;
    if (n != sh->out_c) return field_error(p, "bias", "length differs from the output channels");
    v->n_multipliers = v->per_channel ? sh->out_c : 1;
    if (!(v->multiplier = get_int_array(p, "output_multiplier", 0, INT32_MAX, &n))) return -1;
    if (n != v->n_multipliers) return field_error(p, "output_multiplier", "length must be out_ch (per_channel) or 1");
    if (!(v->shift = get_int_array(p, "output_shift", -31, 31, &n))) return -1;
    if (n != v->n_multipliers) return field_error(p, "output_shift", "length must equal output_multiplier's");
    for (int i = 0; i < v->n_multipliers; i++)
        if (v->multiplier[i] != 0 && v->multiplier[i] < (1 << 30))
            return field_error(p, "output_multiplier", "not a normalized Q31 multiplier in [2^30, 2^31)");

    v->single_rounding_matches = -1;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(p->root, "verification");
    const cJSON *srm = ver ? cJSON_GetObjectItemCaseSensitive(ver, "single_rounding_matches") : NULL;
    if (srm) {
        if (!cJSON_IsBool(srm)) return field_error(p, "verification.single_rounding_matches", "not a boolean");
        v->single_rounding_matches = cJSON_IsTrue(srm);
    }
    return 0;
}

int ratq_vector_load(const char *path, ratq_vector *v) {
    memset(v, 0, sizeof *v);
    size_t size;
    char *text = ratq_read_file(path, &size);
    if (!text) return -1;
    cJSON *root = cJSON_ParseWithLength(text, size);
    free(text);
    if (!root) {
        ratq_error("%s: not valid JSON", path);
        return -1;
    }
    parser p = {path, root};
    int rc = cJSON_IsObject(root) ? parse(&p, v) : field_error(&p, "(top level)", "not a JSON object");
    cJSON_Delete(root);
    if (rc) ratq_vector_free(v);
    return rc;
}

void ratq_vector_free(ratq_vector *v) {
    free(v->input);
    free(v->weights);
    free(v->bias);
    free(v->multiplier);
    free(v->shift);
    free(v->expected);
    memset(v, 0, sizeof *v);
}

void ratq_vector_run(const ratq_vector *v, const ratq_rescale *rescale, ratq_rounding rounding, int8_t *out) {
    ratq_requant_s8 rq = {rescale, v->per_channel, v->output_offset, v->act_min, v->act_max, rounding};
    switch (v->kernel) {
    case RATQ_VEC_CONV:
        ratq_conv_s8_cpu(&v->shape, v->input, v->input_offset, v->weights, v->filter_offset, v->bias, &rq, out);
        break;
    case RATQ_VEC_DEPTHWISE:
        ratq_depthwise_s8_cpu(&v->shape, v->input, v->input_offset, v->weights, v->bias, &rq, out);
        break;
    case RATQ_VEC_FC:
        ratq_fc_s8_cpu(v->shape.batch, v->fc_depth, v->shape.out_c, v->input, v->input_offset, v->weights,
                       v->filter_offset, v->bias, &rq, out);
        break;
    }
}
