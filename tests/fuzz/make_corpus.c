// make_corpus.c — writes the binary seed inputs of tests/fuzz/corpus/ (run once by hand; the output is committed):
//   make_corpus DIR          (then python3 tests/fuzz/make_corpus.py DIR)
// ratqm/  the mini network (fuzz_util.h) quantized at k = 4, and regression: an 8192 x 8192 x 3 input (issue 12 2.4)
// ratqw/  the tiny architecture with random parameters, and regressions: resolution 32 -> 8192 (2.4), a BN running_var of -1 and
//         every stem weight 3e38 (2.3: the stem overflows to -Inf on a dark image; ReLU6 would hide it)
// ckpt/   a checkpoint of the mini network (k = 4, single, SGD), as fuzz_ckpt.c loads it
// racc/   a 3-channel accumulator dump
// shard/  a raw shard (2 images 4 x 4 x 3) and a JPEG shard (2 images)
// jpeg/   small JPEGs (gray 8 x 8, RGB 4:2:0 9 x 7, RGB 4:4:4 16 x 16) via TurboJPEG
#include "fuzz_util.h"

#include <turbojpeg.h>

#include "common/io.h"
#include "hw/verify.h"
#include "qmodel/qmodel.h"
#include "quant/qnet.h"
#include "quant/to_qmodel.h"
#include "train/rat_train.h"
#include "test_util.h"
#include "cpu/test_data_util.h"

static char g_dir[2048];
static const char *out(const char *rel) {
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    return p;
}
static void put(const char *rel, const void *data, size_t n) {
    if (write_bytes(out(rel), data, n) != 0) {
        fprintf(stderr, "cannot write %s\n", out(rel));
        exit(1);
    }
}

// Small random parameters; BN variances in [0.5, 1.5) (a valid model).
static void randomize(ratq_effnet *m, uint64_t seed) {
    uint64_t st = seed;
    for (size_t i = 0; i < m->n_floats; i++) m->params[i] = (float)(ratq_test_unit(&st) - 0.5) * 0.5f;
    for (int l = 0; l < m->n_layers; l++)
        if (m->layers[l].kind == RATQ_LAYER_BN) {
            const ratq_tensor_info *v = &m->tensors[m->layers[l].var_t];
            for (size_t j = 0; j < v->count; j++) m->params[v->offset + j] = 0.5f + (float)ratq_test_unit(&st);
        }
}

static void mini_qnet(ratq_qnet *q) {
    ratq_effnet m;
    if (fuzz_mini_effnet(&m) != 0) exit(1);
    randomize(&m, 5);
    uint64_t st = 5;
    if (ratq_qnet_from_effnet(q, &m) != 0) exit(1);
    ratq_effnet_free(&m);
    uint8_t img[4 * 8 * 8 * 3];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(ratq_test_rng(&st) & 255);
    ratq_qnet_observe_reset(q);
    if (!ratq_qnet_float_forward(q, img, 4, 1) || ratq_qnet_observe_finish(q) != 0) exit(1);
    q->opt = (ratq_quant_options){.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    if (ratq_qnet_quantize(q, &q->opt) != 0) exit(1);
}

static void put_u32le(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void ratqm_seeds(ratq_qnet *q) {
    ratq_qmodel im;
    if (ratq_qnet_to_qmodel(q, &im) != 0 || ratq_qmodel_save(&im, out("ratqm/mini.ratqm")) != 0) exit(1);
    ratq_qmodel_free(&im);
    // 8 x 8 x 3 input -> avgpool 8 x 8 stride 8 -> fc 3 -> 2; then the input and the window patched to 8192
    ratq_qmodel m;
    if (ratq_qmodel_init(&m, "pool", 8, 8, 3, 2, 8, RATQ_ROUND_SINGLE, 1.0 / 128, -1) != 0) exit(1);
    ratq_qop pool = {.kind = RATQ_QOP_AVGPOOL, .in = -1, .in2 = -2, .s_x = 1.0 / 128, .s_y = 1.0 / 128,
                     .z_x = -1, .z_y = -1, .act_min = -128, .act_max = 127};
    strcpy(pool.name, "pool");
    pool.shape = (ratq_conv_shape){1, 8, 8, 3, 1, 1, 3, 8, 8, 8, 8, 1, 1, 0, 0, 0, 0, 1, 1};
    int8_t w[6] = {1, -2, 3, -4, 5, -6};
    int32_t bias[2] = {10, -10};
    double sw[1] = {0.01};
    ratq_qop fc = {.kind = RATQ_QOP_FC, .in = 0, .in2 = -2, .weights = w, .bias = bias, .s_w = sw,
                   .s_x = 1.0 / 128, .s_y = 0.05, .z_x = -1, .z_y = 0, .act_min = -128, .act_max = 127};
    strcpy(fc.name, "fc");
    fc.shape = (ratq_conv_shape){1, 1, 1, 3, 1, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    if (ratq_qmodel_append(&m, &pool) < 0 || ratq_qmodel_append(&m, &fc) < 0 ||
        ratq_qmodel_save(&m, out("ratqm/pool.ratqm")) != 0)
        exit(1);
    ratq_qmodel_free(&m);
    size_t n;
    uint8_t *b = (uint8_t *)ratq_read_file(out("ratqm/pool.ratqm"), &n);
    // header in_h @44, in_w @48; op 0 at 84: shape at 84 + 4 + 64 + 8 = 160: in_h, in_w, ..., kernel_h @184,
    // kernel_w @188, stride_h @192, stride_w @196
    const size_t at[] = {44, 48, 160, 164, 184, 188, 192, 196};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) put_u32le(b + at[i], 8192);
    put("ratqm/regress_input_8192.ratqm", b, n);
    free(b);
}

static void ratqw_seeds(void) {
    ratq_effnet_config cfg;
    ratq_effnet m;
    if (ratq_effnet_config_from_name("tiny", 0, 0, &cfg) != 0 || ratq_effnet_build(&m, &cfg) != 0) exit(1);
    randomize(&m, 11);
    if (ratq_effnet_save(&m, out("ratqw/tiny.ratqw")) != 0) exit(1);
    ratq_effnet_free(&m);
    size_t n;
    uint8_t *b = (uint8_t *)ratq_read_file(out("ratqw/tiny.ratqw"), &n);
    if (!b) exit(1);
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    put_u32le(c + 52, 8192); // resolution
    put("ratqw/regress_resolution_8192.ratqw", c, n);
    // the tensor table: entry i at 64 + 128 i, name[88], offset u64 at +112
    const uint32_t nt = b[12] | b[13] << 8 | b[14] << 16 | (uint32_t)b[15] << 24;
    for (int which = 0; which < 2; which++) {
        memcpy(c, b, n);
        for (uint32_t i = 0; i < nt; i++) {
            const uint8_t *e = b + 64 + 128 * (size_t)i;
            const char *name = (const char *)e;
            const char *want = which == 0 ? "_bn0.running_var" : "_conv_stem.weight";
            if (strcmp(name, want) != 0) continue;
            uint64_t off = 0, cnt = 0;
            for (int k = 7; k >= 0; k--) off = off << 8 | e[112 + k], cnt = cnt << 8 | e[120 + k];
            const float v = which == 0 ? -1.0f : 3e38f; // variance: element 0; stem: every weight
            for (uint64_t j = 0; j < (which == 0 ? 1 : cnt); j++) memcpy(c + off + 4 * j, &v, 4);
            put(which == 0 ? "ratqw/regress_running_var_negative.ratqw" : "ratqw/regress_weight_3e38.ratqw", c, n);
        }
    }
    free(c);
    free(b);
}

static void racc_seed(void) {
    double mult[3] = {0.0123, 0.5, 3.1e-5};
    int32_t acc[12] = {0, 1, -1, 2147483647, -2147483647 - 1, 1000, -1000, 123456, -654321, 77, -78, 4096};
    ratq_acc_dump d = {.channels = 3, .count = 12, .zp = -5, .lo = -128, .hi = 127, .mult = mult, .acc = acc};
    if (ratq_acc_dump_write(out("racc/three_channels.racc"), &d) != 0) exit(1);
}

static unsigned char *jpeg(int w, int h, int pf, int samp, unsigned long *size) {
    uint8_t px[16 * 16 * 3];
    for (int i = 0; i < w * h * 3; i++) px[i] = (uint8_t)(i * 29 + (i / 7) * 13);
    tjhandle t = tjInitCompress();
    unsigned char *buf = NULL;
    if (!t || tjCompress2(t, px, w, 0, h, pf, &buf, size, samp, 75, 0) != 0) exit(1);
    tjDestroy(t);
    return buf;
}

static void jpeg_seeds(void) {
    unsigned long n1, n2, n3;
    unsigned char *a = jpeg(8, 8, TJPF_GRAY, TJSAMP_GRAY, &n1), *b = jpeg(9, 7, TJPF_RGB, TJSAMP_420, &n2),
                  *c = jpeg(16, 16, TJPF_RGB, TJSAMP_444, &n3);
    put("jpeg/gray_8x8.jpg", a, n1);
    put("jpeg/rgb420_9x7.jpg", b, n2);
    put("jpeg/rgb444_16x16.jpg", c, n3);
    // shards: raw 2 x 4 x 4 x 3, and the two colour JPEGs
    uint8_t raw[2 * 4 * 4 * 3];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)(i * 5);
    int64_t labels[2] = {0, 1};
    size_t sz;
    uint8_t *s = build_shard(&sz, RATQ_SHARD_RAW, 2, 4, 4, 3, 2, labels, NULL, raw, sizeof raw);
    put("shard/raw_2x4x4x3.rqshard", s, sz);
    free(s);
    uint8_t *data = malloc(n2 + n3);
    memcpy(data, b, n2);
    memcpy(data + n2, c, n3);
    int64_t offs[3] = {0, (int64_t)n2, (int64_t)(n2 + n3)};
    s = build_shard(&sz, RATQ_SHARD_JPEG, 2, 0, 0, 3, 2, labels, offs, data, n2 + n3);
    put("shard/jpeg_2.rqshard", s, sz);
    free(s);
    free(data);
    tjFree(a);
    tjFree(b);
    tjFree(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    const char *sub[] = {"ratqm", "ratqw", "ckpt", "racc", "shard", "jpeg"};
    char p[4200];
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, sub[i]);
        mkdir(p, 0755);
    }
    ratq_qnet q;
    mini_qnet(&q);
    ratqm_seeds(&q);
    float *s1 = calloc(q.n_params, sizeof(float));
    if (ratq_ckpt_save(out("ckpt/mini_k4_sgd.ckpt"), &q, RATQ_OPT_SGD, s1, NULL,
                       &(ratq_ckpt_info){.next_step = 3, .seed = 7, .global_batch = 4}) != 0)
        exit(1);
    free(s1);
    ratq_qnet_free(&q);
    ratqw_seeds();
    racc_seed();
    jpeg_seeds();
    printf("corpus written to %s\n", g_dir);
    return 0;
}
