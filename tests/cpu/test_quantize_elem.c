// test_quantize_elem.c — the per-step weight quantization of GPU-resident RAT (kernels/cuda/quantize_elem.h, run by
// kernels/cuda/quantize_cuda.cu one warp per channel over the table of ratq_qnet_cuda_quant_table) run on the HOST,
// against ratq_qnet_quantize (host/quant/fake.c), bit for bit. Plain C: the element functions are RATQ_HD, so this
// test builds and runs everywhere (label cpu, also without CUDA and under ASan).
//
//   test_quantize_elem tiny   the tiny network, random weights, calibrated on smooth random images; k in {2, 4, 8, 16,
//                             31} x snapping {off, on}, also after perturbing the weights as training would: every
//                             channel's int8 weights, int32 bias, (m, s), ratio, scale S_w and dequantized weights
//                             are EQUAL (bytes / bits); special channels (all zero, a NaN weight, an Inf bias, a
//                             multiplier out of range) fail exactly where ratq_qnet_quantize fails, and the error key
//                             the kernel keeps (the minimum over failing channels) names the channel the CPU reports.
//   test_quantize_elem lite0  the same on EfficientNet-Lite0 (RATQ_WEIGHTS), k in {4, 8} x snapping; exits 77 when
//                             the weights file is missing (scripts/test.sh makes it).
// The table itself is checked against the op list (every channel once, slots and offsets consistent), and so are
// ratq_qnet_cuda_first_of (the backward's first contributor to each gradient) and the trainer's all-reduce buckets
// (ratq_rat_cuda_buckets: [0, n_params) covered once, contiguous, in backward order, each completed by its op).
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "../cpu/test_quant_common.h"
#include "cuda/quantize_elem.h"
#include "quant/qnet_cuda.h"
#include "train/rat_step_cuda.h"

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static uint64_t dbits(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

typedef struct {
    size_t *ch_off, *wq_off, n_ch, n_wq;
    ratq_qe_channel_desc *desc;
    int64_t n;
    int8_t *wq;
    float *wr, *ratio;
    int32_t *bq;
    ratq_rescale *rs;
    double *scale;
} dev_image; // the host image of the device buffers

static void dev_init(dev_image *d, const ratq_qnet *q) {
    d->ch_off = calloc((size_t)q->n_ops, sizeof *d->ch_off);
    d->wq_off = calloc((size_t)q->n_ops, sizeof *d->wq_off);
    ratq_qnet_cuda_layout(q, d->ch_off, d->wq_off, &d->n_ch, &d->n_wq);
    d->n = ratq_qnet_cuda_quant_table(q, d->ch_off, d->wq_off, NULL);
    d->desc = malloc((size_t)d->n * sizeof *d->desc);
    CHECK_MSG(ratq_qnet_cuda_quant_table(q, d->ch_off, d->wq_off, d->desc) == d->n, "table count");
    d->wq = malloc(d->n_wq);
    d->wr = malloc(q->n_params * sizeof *d->wr);
    d->ratio = malloc(d->n_ch * sizeof *d->ratio);
    d->bq = malloc(d->n_ch * sizeof *d->bq);
    d->rs = malloc(d->n_ch * sizeof *d->rs);
    d->scale = malloc(d->n_ch * sizeof *d->scale);
}

static void dev_free(dev_image *d) {
    free(d->ch_off), free(d->wq_off), free(d->desc), free(d->wq), free(d->wr), free(d->ratio), free(d->bq);
    free(d->rs), free(d->scale);
}

// The table covers every CONV/DW/FC output channel once, in op order, with the op's scales.
static void check_table(const ratq_qnet *q, const dev_image *d) {
    int64_t k = 0;
    long bad = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (o->kind != RATQ_QN_CONV && o->kind != RATQ_QN_DWCONV && o->kind != RATQ_QN_FC) continue;
        const ratq_qact *x = o->src >= 0 ? &q->ops[o->src].out : &q->in;
        for (int c = 0; c < o->oc; c++, k++) {
            const ratq_qe_channel_desc *e = &d->desc[k];
            const int dw = o->kind == RATQ_QN_DWCONV;
            bad += e->op != i || e->ch != c || e->per_oc != o->per_oc || e->stride != (dw ? o->oc : 1) ||
                   e->w_off != (int64_t)o->w_off + (dw ? c : (int64_t)c * o->per_oc) ||
                   e->b_off != (int64_t)o->b_off + c || e->slot != (int32_t)(d->ch_off[i] + (size_t)c) ||
                   e->sx != (double)x->scale || e->sy != (double)o->out.scale || d->wq_off[i] % 16 != 0;
        }
    }
    CHECK_MSG(k == d->n && bad == 0, "quantization table: %lld entries (want %lld), %ld inconsistent", (long long)d->n,
              (long long)k, bad);
}

// Every channel through ratq_qe_channel_ref; returns the minimum error key (~0 = none), as the kernel's atomicMin.
static uint64_t run_ref(const ratq_qnet *q, dev_image *d) {
    uint64_t key = ~0ull;
    for (int64_t c = 0; c < d->n; c++) {
        const int e = ratq_qe_channel_ref(&d->desc[c], q->params, q->opt.k, q->opt.snap, d->wq, d->wr, d->bq, d->rs,
                                          d->ratio, d->scale);
        if (e != RATQ_QE_OK) {
            const uint64_t k = ratq_qe_error_key(d->desc[c].op, d->desc[c].ch, e);
            if (k < key) key = k;
        }
    }
    return key;
}

// Compare the device image with q's quantized state (after ratq_qnet_quantize), op by op.
static void compare(const ratq_qnet *q, const dev_image *d, const char *what) {
    long bad_wq = 0, bad_wr = 0, bad_ch = 0, total = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (o->kind != RATQ_QN_CONV && o->kind != RATQ_QN_DWCONV && o->kind != RATQ_QN_FC) continue;
        const size_t nw = (size_t)o->oc * o->per_oc, c0 = d->ch_off[i];
        for (size_t j = 0; j < nw; j++) {
            bad_wq += d->wq[d->wq_off[i] + j] != o->wq[j];
            bad_wr += fbits(d->wr[o->w_off + j]) != fbits(o->wr[j]);
        }
        for (int c = 0; c < o->oc; c++)
            bad_ch += d->bq[c0 + c] != o->bq[c] || d->rs[c0 + c].m != o->rs[c].m || d->rs[c0 + c].s != o->rs[c].s ||
                      fbits(d->ratio[c0 + c]) != fbits(o->ratio[c]) || dbits(d->scale[c0 + c]) != dbits(o->w_scale[c]);
        total += (long)nw;
    }
    CHECK_MSG(bad_wq == 0 && bad_wr == 0 && bad_ch == 0,
              "%s: %ld int8 weights, %ld dequantized weights, %ld channels (bias / (m, s) / ratio / scale) differ "
              "from ratq_qnet_quantize",
              what, bad_wq, bad_wr, bad_ch);
    printf("  %-34s %ld weights, %lld channels: %s\n", what, total, (long long)d->n,
           bad_wq || bad_wr || bad_ch ? "DIFFER" : "bit-identical");
}

static void one_config(ratq_qnet *q, dev_image *d, int k, int snap, const char *net) {
    ratq_quant_options opt = {.k = k, .rounding = RATQ_ROUND_SINGLE, .snap = snap};
    char what[96];
    snprintf(what, sizeof what, "%s k=%d%s", net, k, snap ? " snap" : "");
    CHECK_MSG(ratq_qnet_quantize(q, &opt) == 0, "%s: cpu quantize", what);
    memset(d->wq, 0x5A, d->n_wq);
    const uint64_t key = run_ref(q, d);
    CHECK_MSG(key == ~0ull, "%s: the element functions report an error the CPU does not", what);
    CHECK_MSG(ratq_qnet_cuda_status_check(q, key) == 0, "%s: status check", what);
    compare(q, d, what);
}

// Perturb the weights as a training step would (w += 1e-3 * U(-1, 1) * |w|, some channels scaled), so the
// comparison covers many scales and rounding positions.
static void perturb(ratq_qnet *q, uint64_t seed) {
    uint64_t st = seed;
    for (size_t i = 0; i < q->n_params; i++) q->params[i] *= (float)(1.0 + 1e-3 * (2 * ratq_test_unit(&st) - 1));
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (o->kind != RATQ_QN_CONV && o->kind != RATQ_QN_FC) continue;
        const float f = (float)(0.25 + 3.0 * ratq_test_unit(&st));
        for (size_t j = 0; j < (size_t)o->per_oc; j++) q->params[o->w_off + j] *= f; // channel 0
    }
}

// Channels that must fail, as the CPU fails: the minimum key is the CPU's first failure.
static void special_channels(ratq_qnet *q, dev_image *d) {
    ratq_quant_options opt = {.k = 4, .rounding = RATQ_ROUND_SINGLE, .snap = 0};
    float *saved = malloc(q->n_params * sizeof(float));
    memcpy(saved, q->params, q->n_params * sizeof(float));
    int ops[3] = {-1, -1, -1}, n = 0; // three weight ops
    for (int i = 0; i < q->n_ops && n < 3; i++)
        if (q->ops[i].kind == RATQ_QN_CONV || q->ops[i].kind == RATQ_QN_DWCONV || q->ops[i].kind == RATQ_QN_FC)
            ops[n++] = i;
    const ratq_qnop *a = &q->ops[ops[0]], *b = &q->ops[ops[1]], *c = &q->ops[ops[2]];
    // all-zero channel 1 of op a: S_w = 1, q = 0 (no error)
    for (int j = 0; j < a->per_oc; j++)
        q->params[a->w_off + (a->kind == RATQ_QN_DWCONV ? (size_t)1 + (size_t)j * a->oc : (size_t)a->per_oc + j)] = 0;
    CHECK_MSG(ratq_qnet_quantize(q, &opt) == 0, "zero channel: cpu");
    CHECK_MSG(run_ref(q, d) == ~0ull, "zero channel: no error expected");
    compare(q, d, "tiny, an all-zero channel");
    // a NaN weight in op b channel 2, an Inf bias in op c channel 0: the CPU stops at b (op order)
    q->params[b->w_off + (b->kind == RATQ_QN_DWCONV ? 2 : (size_t)2 * b->per_oc)] = NAN;
    q->params[c->b_off] = INFINITY;
    CHECK_MSG(ratq_qnet_quantize(q, &opt) != 0, "NaN weight: the CPU must fail");
    uint64_t key = run_ref(q, d);
    int op, ch, kind;
    ratq_qe_error_decode(key, &op, &ch, &kind);
    CHECK_MSG(op == ops[1] && ch == 2 && kind == RATQ_QE_WEIGHT_NONFINITE, "NaN weight: key names op %d ch %d kind %d",
              op, ch, kind);
    CHECK_MSG(ratq_qnet_cuda_status_check(q, key) != 0, "NaN weight: status check must fail");
    // only the Inf bias left
    memcpy(q->params, saved, q->n_params * sizeof(float));
    q->params[c->b_off + 1] = INFINITY;
    CHECK_MSG(ratq_qnet_quantize(q, &opt) != 0, "Inf bias: the CPU must fail");
    key = run_ref(q, d);
    ratq_qe_error_decode(key, &op, &ch, &kind);
    CHECK_MSG(op == ops[2] && ch == 1 && kind == RATQ_QE_BIAS_NONFINITE, "Inf bias: key names op %d ch %d kind %d", op,
              ch, kind);
    // a multiplier out of range: huge weights in op a channel 0 at k = 31
    memcpy(q->params, saved, q->n_params * sizeof(float));
    q->params[a->w_off] = 3e38f;
    opt.k = 31;
    CHECK_MSG(ratq_qnet_quantize(q, &opt) != 0, "range: the CPU must fail");
    key = run_ref(q, d);
    ratq_qe_error_decode(key, &op, &ch, &kind);
    CHECK_MSG(op == ops[0] && ch == 0 && kind == RATQ_QE_RANGE, "range: key names op %d ch %d kind %d", op, ch, kind);
    // the error key order is the CPU's loop order
    CHECK_MSG(ratq_qe_error_key(3, 0, 3) < ratq_qe_error_key(3, 1, 1) &&
                  ratq_qe_error_key(3, 70000, 3) < ratq_qe_error_key(4, 0, 1),
              "error keys order by (op, channel)");
    memcpy(q->params, saved, q->n_params * sizeof(float));
    free(saved);
}

static void check_first_of(const ratq_qnet *q) {
    int *f = malloc((size_t)q->n_ops * sizeof *f);
    ratq_qnet_cuda_first_of(q, f);
    long bad = 0;
    for (int j = 0; j < q->n_ops; j++) { // independent: scan the consumers from the back
        int want = -1;
        for (int i = q->n_ops - 1; i > j && want < 0; i--)
            if (q->ops[i].src == j || (q->ops[i].kind == RATQ_QN_ADD && q->ops[i].src2 == j)) want = i;
        bad += f[j] != want;
        if (j < q->n_ops - 1) bad += f[j] < 0; // every op but the logits feeds another
    }
    CHECK_MSG(bad == 0, "first_of: %ld ops wrong", bad);
    free(f);
}

static void check_buckets(const ratq_qnet *q) {
    size_t *lo = malloc((size_t)q->n_ops * sizeof *lo), *hi = malloc((size_t)q->n_ops * sizeof *hi);
    int *low = malloc((size_t)q->n_ops * sizeof *low);
    const size_t targets[] = {1, 1000, (size_t)1 << 20, (size_t)1 << 40};
    for (int t = 0; t < 4; t++) {
        const int nb = ratq_rat_cuda_buckets(q, targets[t], lo, hi, low);
        long bad = nb < 1 || hi[0] != q->n_params || lo[nb - 1] != 0;
        for (int k = 0; k < nb && !bad; k++) {
            const ratq_qnop *o = &q->ops[low[k]];
            bad += lo[k] != o->w_off || hi[k] <= lo[k] || (k + 1 < nb && lo[k] != hi[k + 1]) ||
                   (k + 1 < nb && hi[k] - lo[k] < targets[t]) || (k > 0 && low[k] >= low[k - 1]);
        }
        CHECK_MSG(bad == 0, "buckets of %zu parameters: %d buckets, inconsistent", targets[t], nb);
        if (targets[t] == 1) {
            int nw = 0;
            for (int i = 0; i < q->n_ops; i++)
                nw += q->ops[i].kind == RATQ_QN_CONV || q->ops[i].kind == RATQ_QN_DWCONV || q->ops[i].kind == RATQ_QN_FC;
            CHECK_EQ_I64(nb, nw, "one bucket per weight op at target 1");
        }
        if (targets[t] == (size_t)1 << 40) CHECK_EQ_I64(nb, 1, "one bucket for a huge target");
    }
    free(lo), free(hi), free(low);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "tiny";
    ratq_effnet m;
    ratq_qnet q;
    if (!strcmp(mode, "lite0")) {
        const char *w = getenv("RATQ_WEIGHTS");
        if (!w || access(w, R_OK) != 0) {
            printf("test_quantize_elem lite0: skipped: no EfficientNet-Lite0 weights at %s (scripts/test.sh makes them)\n",
                   w ? w : "$RATQ_WEIGHTS");
            return 77;
        }
        CHECK_MSG(ratq_effnet_load(&m, w) == 0, "load %s", w);
        CHECK_MSG(ratq_qnet_from_effnet(&q, &m) == 0, "from_effnet");
        if (ratq_test_failures) return ratq_test_finish("test_quantize_elem");
        uint64_t st = 99;
        uint8_t *img = tq_smooth_images(2, q.resolution, &st);
        ratq_qnet_observe_reset(&q);
        CHECK_MSG(ratq_qnet_float_forward(&q, img, 2, 1) != NULL, "calibration forward");
        CHECK_MSG(ratq_qnet_observe_finish(&q) == 0, "calibration");
        free(img);
        dev_image d;
        dev_init(&d, &q);
        check_table(&q, &d);
        check_first_of(&q);
        check_buckets(&q);
        for (int k = 4; k <= 8; k += 4)
            for (int snap = 0; snap < 2; snap++) one_config(&q, &d, k, snap, "lite0");
        perturb(&q, 5);
        one_config(&q, &d, 4, 0, "lite0 perturbed");
        dev_free(&d);
    } else {
        uint8_t *test = NULL;
        if (tq_tiny_calibrated(&m, &q, 24, 2, &test) != 0) return ratq_test_finish("test_quantize_elem");
        dev_image d;
        dev_init(&d, &q);
        check_table(&q, &d);
        check_first_of(&q);
        check_buckets(&q);
        const int ks[] = {2, 4, 8, 16, 31};
        for (int i = 0; i < 5; i++)
            for (int snap = 0; snap < 2; snap++) one_config(&q, &d, ks[i], snap, "tiny");
        for (int r = 0; r < 3; r++) {
            perturb(&q, 100 + (uint64_t)r);
            one_config(&q, &d, 4, r & 1, "tiny perturbed");
        }
        special_channels(&q, &d);
        dev_free(&d);
        free(test);
    }
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_quantize_elem");
}
