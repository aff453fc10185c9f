// test_float_conv.c — conv2d (grouped, strided, SAME / explicit padding, dilation): geometry helpers,
// reference backward vs central differences, fast (im2col/GEMM) forward and backward vs the reference.
#include "cpu/float_ops.h"
#include "cpu/test_float_util.h"

typedef struct {
    int n, h, w, ic, oc, k, stride, dilation, groups;
    int pad; // -1 = TF SAME, else explicit symmetric pad
} conv_case;

static ratq_conv2d_params make(const conv_case *c) {
    return c->pad < 0 ? ratq_conv2d_params_same(c->n, c->h, c->w, c->ic, c->oc, c->k, c->stride, c->dilation, c->groups)
                      : ratq_conv2d_params_explicit(c->n, c->h, c->w, c->ic, c->oc, c->k, c->stride, c->dilation,
                                                    c->groups, c->pad);
}

static size_t xsz(const ratq_conv2d_params *p) { return (size_t)p->n * p->h * p->w * p->ic; }
static size_t ysz(const ratq_conv2d_params *p) { return (size_t)p->n * p->oh * p->ow * p->oc; }
static size_t wsz(const ratq_conv2d_params *p) { return (size_t)p->oc * p->kh * p->kw * (p->ic / p->groups); }

// ---- geometry --------------------------------------------------------------------------------
static int test_geometry(void) {
    int bad = 0;
    // TF SAME: out = ceil(in/s), total pad = max((out-1)*s + d*(k-1) + 1 - in, 0), extra at the end.
    const int cases[][7] = {// in, k, s, d, out, before, after
                            {224, 3, 2, 1, 112, 0, 1}, {112, 3, 1, 1, 112, 1, 1}, {7, 5, 1, 1, 7, 2, 2},
                            {14, 5, 2, 1, 7, 1, 2},    {8, 5, 2, 1, 4, 1, 2},     {1, 1, 1, 1, 1, 0, 0},
                            {7, 3, 2, 1, 4, 1, 1},     {10, 3, 1, 2, 10, 2, 2},   {5, 1, 2, 1, 3, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int o, pb, pa;
        ratq_same_padding(cases[i][0], cases[i][1], cases[i][2], cases[i][3], &o, &pb, &pa);
        if (o != cases[i][4] || pb != cases[i][5] || pa != cases[i][6]) {
            fprintf(stderr, "FAIL same_padding(in %d k %d s %d d %d) = out %d pads %d/%d, want %d %d/%d\n", cases[i][0],
                    cases[i][1], cases[i][2], cases[i][3], o, pb, pa, cases[i][4], cases[i][5], cases[i][6]);
            bad++;
        }
    }
    // Consistency over a sweep: SAME output = ceil(in/s) and matches the generic output-size formula.
    for (int in = 1; in <= 40; in++)
        for (int k = 1; k <= 7; k += 2)
            for (int s = 1; s <= 2; s++)
                for (int d = 1; d <= 2; d++) {
                    int o, pb, pa;
                    ratq_same_padding(in, k, s, d, &o, &pb, &pa);
                    if (o != (in + s - 1) / s || ratq_conv_out_size(in, k, s, d, pb, pa) != o || pa < pb || pa > pb + 1) {
                        fprintf(stderr, "FAIL SAME sweep in %d k %d s %d d %d: out %d pads %d/%d\n", in, k, s, d, o, pb, pa);
                        bad++;
                    }
                }
    ratq_conv2d_params p = ratq_conv2d_params_same(2, 9, 9, 8, 12, 3, 2, 1, 4);
    if (ratq_conv2d_params_check(&p, "good") != 0) bad++;
    ratq_conv2d_params q = p;
    q.oh++;
    fprintf(stderr, "(expected error follows)\n");
    if (ratq_conv2d_params_check(&q, "bad oh") == 0) bad++;
    q = p;
    q.groups = 3;
    if (ratq_conv2d_params_check(&q, "bad groups") == 0) bad++;
    q = ratq_conv2d_params_same(1, 8, 8, 8, 16, 3, 1, 1, 8);
    if (ratq_dwconv2d_params_check(&q, "dw good") != 0) bad++;
    q.groups = 4;
    if (ratq_dwconv2d_params_check(&q, "dw bad") == 0) bad++;
    if (bad) fprintf(stderr, "FAIL geometry: %d\n", bad);
    return bad;
}

// ---- reference backward vs central differences -------------------------------------------------
typedef struct {
    const ratq_conv2d_params *p;
    float *x, *w, *b, *y;
    const float *r;
} gctx;

static double conv_loss(void *vc) {
    gctx *c = vc;
    ratq_conv2d_fwd_ref(c->p, c->x, c->w, c->b, c->y, NULL);
    return tf_dot(c->r, c->y, ysz(c->p));
}

static int test_gradients(const conv_case *cc) {
    ratq_conv2d_params p = make(cc);
    if (ratq_conv2d_params_check(&p, "gradcheck case")) return 1;
    float *x = tf_rand(xsz(&p), -1, 1), *w = tf_rand(wsz(&p), -1, 1), *b = tf_rand(p.oc, -1, 1);
    float *y = tf_alloc(ysz(&p)), *r = tf_rand(ysz(&p), -1, 1);
    float *dx = tf_alloc(xsz(&p)), *dw = tf_alloc(wsz(&p)), *db = tf_alloc(p.oc);
    ratq_conv2d_bwd_ref(&p, x, w, r, dx, dw, db, NULL);
    gctx c = {&p, x, w, b, y, r};
    // The loss is linear in each of x, w, b, so central differences have no truncation error; what remains
    // is float rounding of the O(10) affected outputs (~1e-6 each) divided by 2h = 2e-2: ~1e-4 at most.
    // atol 2e-3 is 20x that; an indexing bug gives errors of O(|w|) ~ 0.5.
    const float h = 1e-2f;
    int bad = 0;
    bad += tf_gradcheck("conv dx", conv_loss, &c, x, dx, xsz(&p), 1, h, 2e-3, 1e-3);
    bad += tf_gradcheck("conv dw", conv_loss, &c, w, dw, wsz(&p), 1, h, 2e-3, 1e-3);
    bad += tf_gradcheck("conv db", conv_loss, &c, b, db, p.oc, 1, h, 2e-3, 1e-3);
    if (bad)
        fprintf(stderr, "  in case n %d %dx%d ic %d oc %d k %d s %d d %d g %d pad %d\n", cc->n, cc->h, cc->w, cc->ic,
                cc->oc, cc->k, cc->stride, cc->dilation, cc->groups, cc->pad);
    free(x), free(w), free(b), free(y), free(r), free(dx), free(dw), free(db);
    return bad;
}

// ---- fast vs reference -------------------------------------------------------------------------
static int test_fast(const conv_case *cc) {
    ratq_conv2d_params p = make(cc);
    if (ratq_conv2d_params_check(&p, "fast case")) return 1;
    const size_t nx = xsz(&p), ny = ysz(&p), nw = wsz(&p);
    const int icg = p.ic / p.groups, ocg = p.oc / p.groups, kk = p.kh * p.kw;
    float *x = tf_rand(nx, -1, 1), *w = tf_rand(nw, -1, 1), *b = tf_rand(p.oc, -1, 1), *dy = tf_rand(ny, -1, 1);
    float *ax = tf_abs_copy(x, nx), *aw = tf_abs_copy(w, nw), *ab = tf_abs_copy(b, p.oc), *ady = tf_abs_copy(dy, ny);
    float *yr = tf_alloc(ny), *yf = tf_alloc(ny), *yw = tf_alloc(ny), *S = tf_alloc(ny);
    float *dxr = tf_alloc(nx), *dxf = tf_alloc(nx), *Sx = tf_alloc(nx);
    float *dwr = tf_alloc(nw), *dwf = tf_alloc(nw), *Sw = tf_alloc(nw);
    float *dbr = tf_alloc(p.oc), *dbf = tf_alloc(p.oc), *Sb = tf_alloc(p.oc);
    int bad = 0;
    // Forward: K = kk*icg products + bias.
    ratq_conv2d_fwd_ref(&p, x, w, b, yr, NULL);
    ratq_conv2d_fwd_ref(&p, ax, aw, ab, S, NULL);
    if (ratq_conv2d_fwd_cpu(&p, x, w, b, yf, NULL)) bad++;
    bad += tf_close_sum("conv fwd", yf, yr, S, ny, kk * icg + 1);
    // Same with a caller-provided workspace, and without bias.
    float *ws = tf_alloc(ratq_conv2d_workspace_floats(&p));
    if (ratq_conv2d_fwd_cpu(&p, x, w, b, yw, ws)) bad++;
    bad += tf_equal("conv fwd (workspace) vs fwd (internal)", yw, yf, ny);
    ratq_conv2d_fwd_ref(&p, x, w, NULL, yr, NULL);
    ratq_conv2d_fwd_ref(&p, ax, aw, NULL, S, NULL);
    if (ratq_conv2d_fwd_cpu(&p, x, w, NULL, yf, ws)) bad++;
    bad += tf_close_sum("conv fwd (no bias)", yf, yr, S, ny, kk * icg);
    // Backward: dx sums <= ocg*kk terms, dw and db sum n*oh*ow terms.
    ratq_conv2d_bwd_ref(&p, x, w, dy, dxr, dwr, dbr, NULL);
    ratq_conv2d_bwd_ref(&p, ax, aw, ady, Sx, Sw, Sb, NULL);
    if (ratq_conv2d_bwd_cpu(&p, x, w, dy, dxf, dwf, dbf, ws)) bad++;
    bad += tf_close_sum("conv dx", dxf, dxr, Sx, nx, ocg * kk);
    bad += tf_close_sum("conv dw", dwf, dwr, Sw, nw, (double)p.n * p.oh * p.ow);
    bad += tf_close_sum("conv db", dbf, dbr, Sb, p.oc, (double)p.n * p.oh * p.ow);
    // NULL gradients are skipped; the others are unchanged.
    memset(dwf, 0, sizeof(float) * nw);
    if (ratq_conv2d_bwd_cpu(&p, x, w, dy, NULL, dwf, NULL, NULL)) bad++;
    bad += tf_close_sum("conv dw (dx, db skipped)", dwf, dwr, Sw, nw, (double)p.n * p.oh * p.ow);
    if (bad)
        fprintf(stderr, "  in case n %d %dx%d ic %d oc %d k %d s %d d %d g %d pad %d\n", cc->n, cc->h, cc->w, cc->ic,
                cc->oc, cc->k, cc->stride, cc->dilation, cc->groups, cc->pad);
    free(x), free(w), free(b), free(dy), free(ax), free(aw), free(ab), free(ady), free(yr), free(yf), free(yw), free(S);
    free(dxr), free(dxf), free(Sx), free(dwr), free(dwf), free(Sw), free(dbr), free(dbf), free(Sb), free(ws);
    return bad;
}

int main(void) {
    tf_seed(20240601);
    int bad = test_geometry();
    const conv_case grad_cases[] = {
        // n  h  w ic oc  k  s  d  g  pad
        {2, 6, 6, 4, 6, 3, 1, 1, 1, -1},  // 3x3 SAME
        {2, 6, 7, 4, 6, 3, 2, 1, 2, -1},  // stride 2, asymmetric SAME pad on H (0/1), symmetric on W, groups 2
        {1, 8, 8, 3, 4, 5, 2, 1, 1, -1},  // 5x5 stride 2 SAME (1/2)
        {2, 5, 5, 6, 4, 1, 1, 1, 1, -1},  // pointwise
        {2, 5, 4, 6, 4, 1, 1, 1, 2, -1},  // grouped pointwise
        {1, 7, 7, 4, 4, 3, 2, 1, 1, 1},   // explicit pad 1, stride 2 (PyTorch style)
        {1, 6, 6, 3, 5, 1, 2, 1, 1, 0},   // 1x1 stride 2 (im2col path)
        {1, 7, 6, 2, 3, 3, 1, 2, 1, -1},  // dilation 2
    };
    for (size_t i = 0; i < sizeof grad_cases / sizeof grad_cases[0]; i++) bad += test_gradients(&grad_cases[i]);
    const conv_case fast_cases[] = {
        {2, 32, 32, 3, 16, 3, 2, 1, 1, -1},  // EfficientNet stem shape (scaled down)
        {2, 14, 14, 40, 24, 1, 1, 1, 1, -1}, // pointwise projection (one GEMM)
        {2, 14, 13, 40, 24, 1, 1, 1, 4, -1}, // grouped pointwise
        {2, 9, 11, 8, 12, 5, 1, 1, 2, -1},   // 5x5 grouped
        {3, 12, 12, 8, 6, 3, 2, 2, 1, -1},   // dilation 2 stride 2
        {2, 10, 9, 12, 8, 1, 2, 1, 1, 0},    // 1x1 stride 2
        {3, 48, 48, 128, 8, 3, 1, 1, 1, -1}, // im2col larger than one chunk: 3 chunks of 1 image
        {1, 3, 3, 4, 4, 5, 1, 1, 1, -1},     // kernel larger than the input (all pads)
    };
    for (size_t i = 0; i < sizeof fast_cases / sizeof fast_cases[0]; i++) bad += test_fast(&fast_cases[i]);
    if (bad) {
        fprintf(stderr, "test_float_conv: FAIL (%d)\n", bad);
        return 1;
    }
    printf("test_float_conv: OK\n");
    return 0;
}
