// test_qmodel_roundtrip.c — the integer model API: build (append derives the k-bit rescalers), save/load
// round trip (every field identical, file bytes stable), the executor against direct formulas for the conv,
// add, avgpool and gap stages, batch independence, per-op capture, the k sweep (with_bits), the u8 input rule.
// argv[1]: a scratch directory. All comparisons are exact (integers).
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_qmodel_common.h"

static char g_dir[2048];

static int64_t file_bytes(const char *path, unsigned char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    size_t got = fread(*out, 1, (size_t)n, f);
    fclose(f);
    return (int64_t)got;
}

static void check_same_model(const ratq_qmodel *a, const ratq_qmodel *b, const char *what) {
    CHECK_MSG(!strcmp(a->arch, b->arch) && a->in_h == b->in_h && a->in_w == b->in_w && a->in_c == b->in_c &&
                  a->num_classes == b->num_classes && a->k == b->k && a->rounding == b->rounding &&
                  a->input_scale == b->input_scale && a->input_zero_point == b->input_zero_point && a->n_ops == b->n_ops,
              "%s: header differs", what);
    for (int i = 0; i < a->n_ops && i < b->n_ops; i++) {
        const ratq_qop *x = &a->ops[i], *y = &b->ops[i];
        CHECK_MSG(x->kind == y->kind && !strcmp(x->name, y->name) && x->in == y->in && x->in2 == y->in2 &&
                      !memcmp(&x->shape, &y->shape, sizeof x->shape) && x->per_channel == y->per_channel &&
                      x->n_weights == y->n_weights && x->n_bias == y->n_bias && x->n_rescale == y->n_rescale &&
                      x->s_x == y->s_x && x->s_x2 == y->s_x2 && x->s_y == y->s_y && x->z_x == y->z_x &&
                      x->z_x2 == y->z_x2 && x->z_y == y->z_y && x->act_min == y->act_min && x->act_max == y->act_max,
                  "%s: op %d fields differ", what, i);
        CHECK_MSG(!x->n_weights || !memcmp(x->weights, y->weights, (size_t)x->n_weights), "%s: op %d weights", what, i);
        CHECK_MSG(!x->n_bias || !memcmp(x->bias, y->bias, sizeof(int32_t) * (size_t)x->n_bias), "%s: op %d bias", what, i);
        CHECK_MSG(!x->n_rescale || !memcmp(x->rescale, y->rescale, sizeof(ratq_rescale) * (size_t)x->n_rescale),
                  "%s: op %d rescale", what, i);
        CHECK_MSG((x->s_w == NULL) == (y->s_w == NULL) &&
                      (!x->s_w || !memcmp(x->s_w, y->s_w, sizeof(double) * (size_t)x->n_rescale)),
                  "%s: op %d s_w", what, i);
    }
}

// Independent references for single ops (ratq_requantize / ratq_scale directly, not the engine's op code).
static void check_ops_against_formulas(const ratq_qmodel *m, const int8_t *input, int8_t **acts, int batch) {
    long mism = 0;
    // op 0: conv 3x3 s2 over the network input.
    const ratq_qop *op = &m->ops[0];
    const ratq_conv_shape *s = &op->shape;
    for (int n = 0; n < batch; n++)
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++)
                for (int oc = 0; oc < s->out_c; oc++) {
                    int64_t acc = op->bias[oc];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy * 2 - s->pad_top + ky, ix = ox * 2 - s->pad_left + kx;
                            if (iy < 0 || ix < 0 || iy >= s->in_h || ix >= s->in_w) continue;
                            for (int ic = 0; ic < 3; ic++)
                                acc += (int64_t)(input[((n * s->in_h + iy) * s->in_w + ix) * 3 + ic] - op->z_x) *
                                       op->weights[((oc * 3 + ky) * 3 + kx) * 3 + ic];
                        }
                    int32_t want = ratq_requantize((int32_t)acc, op->rescale[oc], op->z_y, op->act_min, op->act_max,
                                                   m->rounding);
                    mism += acts[0][((n * s->out_h + oy) * s->out_w + ox) * s->out_c + oc] != want;
                }
    CHECK_EQ_I64(mism, 0, "op 0 (conv) vs the direct formula");
    // op 3: add op2 + op0: y = R(R(a'*M1) + R(b'*M2), Mo) + z_y.
    op = &m->ops[3];
    mism = 0;
    for (int64_t i = 0; i < (int64_t)batch * 6 * 6 * 8; i++) {
        int32_t a = (acts[2][i] - op->z_x) * (1 << 20), b = (acts[0][i] - op->z_x2) * (1 << 20);
        int64_t sum = (int64_t)ratq_scale(a, op->rescale[0], m->rounding) + ratq_scale(b, op->rescale[1], m->rounding);
        int32_t want = ratq_requantize(ratq_sat_i32(sum), op->rescale[2], op->z_y, op->act_min, op->act_max, m->rounding);
        mism += acts[3][i] != want;
    }
    CHECK_EQ_I64(mism, 0, "op 3 (add) vs the direct formula");
    // op 4: avgpool 2x2 s2 (no padding at 6x6): round half away of the 4-tap mean, clamp.
    op = &m->ops[4];
    mism = 0;
    for (int n = 0; n < batch; n++)
        for (int oy = 0; oy < 3; oy++)
            for (int ox = 0; ox < 3; ox++)
                for (int c = 0; c < 8; c++) {
                    int sum = 0;
                    for (int ky = 0; ky < 2; ky++)
                        for (int kx = 0; kx < 2; kx++) sum += acts[3][((n * 6 + oy * 2 + ky) * 6 + ox * 2 + kx) * 8 + c];
                    int avg = (int)lround(sum / 4.0); // exact: sum/4 is a multiple of 1/4
                    avg = avg < op->act_min ? op->act_min : avg > op->act_max ? op->act_max : avg;
                    mism += acts[4][((n * 3 + oy) * 3 + ox) * 8 + c] != avg;
                }
    CHECK_EQ_I64(mism, 0, "op 4 (avgpool) vs the direct formula");
    // op 6: gap over 3x3x16.
    op = &m->ops[6];
    mism = 0;
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < 16; c++) {
            int32_t acc = 0;
            for (int i = 0; i < 9; i++) acc += acts[5][(n * 9 + i) * 16 + c] - op->z_x;
            int32_t want = ratq_requantize(acc, op->rescale[0], op->z_y, op->act_min, op->act_max, m->rounding);
            mism += acts[6][n * 16 + c] != want;
        }
    CHECK_EQ_I64(mism, 0, "op 6 (gap) vs the direct formula");
}

static void test_config(uint64_t seed, int k, ratq_rounding rounding) {
    char tag[64];
    snprintf(tag, sizeof tag, "k=%d %s", k, ratq_qmodel_rounding_name(rounding));
    ratq_qmodel m, l;
    CHECK_MSG(tq_build(&m, seed, k, rounding) == 0, "%s: build failed", tag);
    if (m.n_ops != 8) return;
    // Every rescaler is k-bit and equals ratq_rescale_from_real of its documented real multiplier.
    for (int i = 0; i < m.n_ops; i++) {
        const ratq_qop *op = &m.ops[i];
        for (int c = 0; c < op->n_rescale; c++) {
            ratq_rescale r = op->rescale[c];
            CHECK_MSG(r.m >= (1 << (k - 1)) && (int64_t)r.m < ((int64_t)1 << k), "%s: op %d m = %d not %d-bit", tag, i,
                      (int)r.m, k);
        }
        if (op->kind == RATQ_QOP_CONV || op->kind == RATQ_QOP_FC || op->kind == RATQ_QOP_DWCONV)
            for (int c = 0; c < op->n_rescale; c++) {
                ratq_rescale want;
                ratq_rescale_from_real(op->s_x * op->s_w[c] / op->s_y, k, &want);
                CHECK_MSG(want.m == op->rescale[c].m && want.s == op->rescale[c].s, "%s: op %d ch %d rescale", tag, i, c);
            }
    }
    char path[2300], path2[2300];
    snprintf(path, sizeof path, "%s/roundtrip_k%d_%d.ratqm", g_dir, k, (int)rounding);
    snprintf(path2, sizeof path2, "%s/roundtrip_k%d_%d_again.ratqm", g_dir, k, (int)rounding);
    CHECK_MSG(ratq_qmodel_save(&m, path) == 0, "%s: save failed", tag);
    CHECK_MSG(ratq_qmodel_load(&l, path) == 0, "%s: load failed", tag);
    if (l.n_ops != m.n_ops) return;
    check_same_model(&m, &l, tag);
    CHECK_MSG(ratq_qmodel_save(&l, path2) == 0, "%s: second save failed", tag);
    unsigned char *b1 = NULL, *b2 = NULL;
    int64_t n1 = file_bytes(path, &b1), n2 = file_bytes(path2, &b2);
    CHECK_MSG(n1 > 84 && n1 == n2 && !memcmp(b1, b2, (size_t)n1), "%s: save(load(save)) is not byte-identical", tag);
    free(b1), free(b2);

    // Run a batch of 3 random images on both models, with per-op capture.
    enum { B = 3 };
    uint64_t st = seed ^ 0x5eed;
    uint8_t px[B * TQ_IN * TQ_IN * 3];
    int8_t in[B * TQ_IN * TQ_IN * 3];
    tq_random_u8(&st, px, (int64_t)sizeof px);
    ratq_qmodel_input_from_u8(&m, px, (int64_t)sizeof px, in);
    int8_t *acts[8];
    for (int i = 0; i < 8; i++) acts[i] = malloc((size_t)(B * ratq_qop_out_count(&m.ops[i])));
    int8_t lq[B * TQ_CLASSES], lq2[B * TQ_CLASSES], lq1[TQ_CLASSES];
    float lf[B * TQ_CLASSES];
    CHECK_MSG(ratq_qmodel_run(&m, in, B, acts, lq, lf) == 0, "%s: run failed", tag);
    CHECK_MSG(ratq_qmodel_run(&l, in, B, NULL, lq2, NULL) == 0, "%s: run (loaded) failed", tag);
    CHECK_MSG(!memcmp(lq, lq2, sizeof lq), "%s: built and loaded models give different logits", tag);
    CHECK_MSG(!memcmp(lq, acts[7], sizeof lq), "%s: logits are not the last op's captured output", tag);
    const ratq_qop *last = &m.ops[7];
    for (int i = 0; i < B * TQ_CLASSES; i++)
        CHECK_MSG(lf[i] == (float)(last->s_y * (lq[i] - last->z_y)), "%s: dequantized logit %d", tag, i);
    for (int n = 0; n < B; n++) {
        CHECK_MSG(ratq_qmodel_run(&m, in + n * TQ_IN * TQ_IN * 3, 1, NULL, lq1, NULL) == 0, "%s: run 1", tag);
        CHECK_MSG(!memcmp(lq1, lq + n * TQ_CLASSES, TQ_CLASSES), "%s: image %d alone differs from the batch", tag, n);
    }
    check_ops_against_formulas(&m, in, acts, B);
    // The logits are not constant (the model is not degenerate): some spread across classes and images.
    int lo = 127, hi = -128;
    for (int i = 0; i < B * TQ_CLASSES; i++) lo = lq[i] < lo ? lq[i] : lo, hi = lq[i] > hi ? lq[i] : hi;
    CHECK_MSG(hi - lo >= 4, "%s: degenerate logits (range %d..%d)", tag, lo, hi);
    for (int i = 0; i < 8; i++) free(acts[i]);
    ratq_qmodel_free(&l);
    ratq_qmodel_free(&m);
}

// with_bits: a k=31 model swept to k=4 single equals the model built at k=4 single (same seed); copy is deep.
static void test_with_bits(void) {
    ratq_qmodel a, b, c;
    CHECK_MSG(tq_build(&a, 7, 31, RATQ_ROUND_TFLITE) == 0 && tq_build(&b, 7, 4, RATQ_ROUND_SINGLE) == 0, "build");
    CHECK_MSG(ratq_qmodel_copy(&c, &a) == 0, "copy");
    CHECK_MSG(ratq_qmodel_with_bits(&c, 4, RATQ_ROUND_SINGLE) == 0, "with_bits");
    check_same_model(&c, &b, "with_bits(31 -> 4)");
    CHECK_MSG(a.k == 31 && a.ops[0].rescale[0].m >= (1 << 30), "the copy's sweep changed the original");
    CHECK_MSG(ratq_qmodel_with_bits(&c, 0, RATQ_ROUND_SINGLE) == -1 && c.k == 4, "k = 0 accepted");
    ratq_qmodel_free(&a), ratq_qmodel_free(&b), ratq_qmodel_free(&c);
}

// The network input rule: S = 1/128, z = -1 represents (u8 - 127)/128 exactly for every u8.
static void test_input_rule(void) {
    ratq_qmodel m;
    CHECK_MSG(ratq_qmodel_init(&m, "x", 1, 1, 3, 1, 8, RATQ_ROUND_SINGLE, RATQ_QMODEL_INPUT_SCALE,
                               RATQ_QMODEL_INPUT_ZERO_POINT) == 0, "init");
    int8_t t[256];
    ratq_qmodel_input_table(&m, t);
    for (int u = 0; u < 256; u++) {
        CHECK_EQ_I64(t[u], u - 128, "input table at u8 %d", u);
        CHECK_MSG((t[u] - m.input_zero_point) * m.input_scale == (u - 127) / 128.0, "u8 %d not exact", u);
    }
    // Another scale: round half away from zero then clamp. S = 1/64, z = 0: q = round((u-127)/2).
    m.input_scale = 1.0 / 64, m.input_zero_point = 0;
    ratq_qmodel_input_table(&m, t);
    CHECK_EQ_I64(t[0], -64, "u8 0 at S=1/64"); // -63.5 -> -64
    CHECK_EQ_I64(t[128], 1, "u8 128 at S=1/64"); // 0.5 -> 1
    CHECK_EQ_I64(t[255], 64, "u8 255 at S=1/64");
    ratq_qmodel_free(&m);
    // Argmax: first of equal maxima.
    const int8_t lg[5] = {3, 9, -2, 9, 1};
    CHECK_EQ_I64(ratq_qmodel_argmax(lg, 5), 1, "argmax tie");
}

// append rejects bad ops with a one-line error and leaves the model unchanged.
static void test_append_rejects(void) {
    ratq_qmodel m;
    CHECK_MSG(tq_build(&m, 11, 8, RATQ_ROUND_SINGLE) == 0, "build");
    ratq_qop op = m.ops[7]; // fc, arrays belong to m
    op.in = 6;
    op.shape.in_c = 15; // producer has 16 channels
    CHECK_MSG(ratq_qmodel_append(&m, &op) == -1 && m.n_ops == 8, "mismatched in_c accepted");
    op = m.ops[7];
    op.in = 9; // not an earlier op
    CHECK_MSG(ratq_qmodel_append(&m, &op) == -1, "forward reference accepted");
    op = m.ops[7];
    op.in = 6, op.z_x = op.z_x + 1;
    CHECK_MSG(ratq_qmodel_append(&m, &op) == -1, "zero point mismatch accepted");
    op = m.ops[7];
    op.in = 6;
    ratq_rescale bad[TQ_CLASSES];
    for (int c = 0; c < TQ_CLASSES; c++) bad[c] = (ratq_rescale){1 << 8, 10}; // 9-bit m at k = 8
    op.rescale = bad;
    CHECK_MSG(ratq_qmodel_append(&m, &op) == -1 && m.n_ops == 8, "9-bit m accepted at k = 8");
    ratq_qmodel_free(&m);
}

// Every proper prefix of a valid file fails to load (one error line each, silenced here), and every single-byte
// change either fails or loads a model that still passes ratq_qmodel_check (no crash: run under ASan).
static void test_every_truncation(void) {
    ratq_qmodel m, l;
    CHECK_MSG(tq_build(&m, 5, 6, RATQ_ROUND_SINGLE) == 0, "build");
    char path[2300], cut[2300];
    snprintf(path, sizeof path, "%s/cuts.ratqm", g_dir);
    snprintf(cut, sizeof cut, "%s/cuts_prefix.ratqm", g_dir);
    CHECK_MSG(ratq_qmodel_save(&m, path) == 0, "save");
    unsigned char *b = NULL;
    const int64_t n = file_bytes(path, &b);
    CHECK_MSG(n > 1000, "file size %lld", (long long)n);
    fflush(stderr);
    const int saved = dup(2);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    long loaded = 0, flips_loaded = 0;
    for (int64_t len = 0; len < n; len++) {
        FILE *f = fopen(cut, "wb");
        fwrite(b, 1, (size_t)len, f);
        fclose(f);
        if (ratq_qmodel_load(&l, cut) == 0) loaded++, ratq_qmodel_free(&l);
    }
    uint64_t st = 99;
    for (int t = 0; t < 600; t++) {
        const int64_t at = ratq_test_range(&st, 0, n - 1);
        const unsigned char old = b[at];
        b[at] ^= (unsigned char)ratq_test_range(&st, 1, 255);
        FILE *f = fopen(cut, "wb");
        fwrite(b, 1, (size_t)n, f);
        fclose(f);
        b[at] = old;
        if (ratq_qmodel_load(&l, cut) == 0) {
            flips_loaded++;
            if (ratq_qmodel_check(&l, "flip")) loaded++;
            ratq_qmodel_free(&l);
        }
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(devnull);
    CHECK_EQ_I64(loaded, 0, "truncated (or flipped then inconsistent) files that loaded");
    printf("every truncation of a %lld-byte file rejected; %ld of 600 random byte flips still load (weights, names,"
           " biases, scales)\n", (long long)n, flips_loaded);
    free(b);
    ratq_qmodel_free(&m);
}

int main(int argc, char **argv) {
    snprintf(g_dir, sizeof g_dir, "%s", argc > 1 ? argv[1] : ".");
    test_config(1, 4, RATQ_ROUND_SINGLE);
    test_config(2, 31, RATQ_ROUND_TFLITE);
    test_config(3, 8, RATQ_ROUND_HALF_EVEN);
    test_with_bits();
    test_input_rule();
    test_append_rejects();
    test_every_truncation();
    return ratq_test_finish("test_qmodel_roundtrip");
}
