// test_float_dwconv.c — depthwise conv2d (weights [kh][kw][ic*dm]): reference backward vs central
// differences, fast (OpenMP direct loops) forward and backward vs the reference, and a cross-check
// against the grouped conv2d with groups = ic (same math, OHWI weight layout).
#include "cpu/float_ops.h"
#include "cpu/test_float_util.h"

typedef struct {
    int n, h, w, c, dm, k, stride, dilation;
    int pad; // -1 = TF SAME, else explicit symmetric pad
} dw_case;

static ratq_conv2d_params make(const dw_case *c) {
    return c->pad < 0 ? ratq_conv2d_params_same(c->n, c->h, c->w, c->c, c->c * c->dm, c->k, c->stride, c->dilation, c->c)
                      : ratq_conv2d_params_explicit(c->n, c->h, c->w, c->c, c->c * c->dm, c->k, c->stride, c->dilation,
                                                    c->c, c->pad);
}
static size_t xsz(const ratq_conv2d_params *p) { return (size_t)p->n * p->h * p->w * p->ic; }
static size_t ysz(const ratq_conv2d_params *p) { return (size_t)p->n * p->oh * p->ow * p->oc; }
static size_t wsz(const ratq_conv2d_params *p) { return (size_t)p->kh * p->kw * p->oc; }

typedef struct {
    const ratq_conv2d_params *p;
    float *x, *w, *b, *y;
    const float *r;
} gctx;

static double dw_loss(void *vc) {
    gctx *c = vc;
    ratq_dwconv2d_fwd_ref(c->p, c->x, c->w, c->b, c->y);
    return tf_dot(c->r, c->y, ysz(c->p));
}

static void print_case(const dw_case *c) {
    fprintf(stderr, "  in case n %d %dx%d c %d dm %d k %d s %d d %d pad %d\n", c->n, c->h, c->w, c->c, c->dm, c->k,
            c->stride, c->dilation, c->pad);
}

static int test_gradients(const dw_case *cc) {
    ratq_conv2d_params p = make(cc);
    if (ratq_dwconv2d_params_check(&p, "gradcheck case")) return 1;
    float *x = tf_rand(xsz(&p), -1, 1), *w = tf_rand(wsz(&p), -1, 1), *b = tf_rand(p.oc, -1, 1);
    float *y = tf_alloc(ysz(&p)), *r = tf_rand(ysz(&p), -1, 1);
    float *dx = tf_alloc(xsz(&p)), *dw = tf_alloc(wsz(&p)), *db = tf_alloc(p.oc);
    ratq_dwconv2d_bwd_ref(&p, x, w, r, dx, dw, db);
    gctx c = {&p, x, w, b, y, r};
    // Linear in x, w, b: central differences are exact up to float rounding of the few affected outputs
    // (~1e-6) / 2h: ~1e-4. atol 2e-3; a wrong tap or channel gives O(0.5).
    int bad = 0;
    bad += tf_gradcheck("dw dx", dw_loss, &c, x, dx, xsz(&p), 1, 1e-2f, 2e-3, 1e-3);
    bad += tf_gradcheck("dw dw", dw_loss, &c, w, dw, wsz(&p), 1, 1e-2f, 2e-3, 1e-3);
    bad += tf_gradcheck("dw db", dw_loss, &c, b, db, p.oc, 1, 1e-2f, 2e-3, 1e-3);
    if (bad) print_case(cc);
    free(x), free(w), free(b), free(y), free(r), free(dx), free(dw), free(db);
    return bad;
}

static int test_fast(const dw_case *cc) {
    ratq_conv2d_params p = make(cc);
    if (ratq_dwconv2d_params_check(&p, "fast case")) return 1;
    const size_t nx = xsz(&p), ny = ysz(&p), nw = wsz(&p);
    const int kk = p.kh * p.kw;
    float *x = tf_rand(nx, -1, 1), *w = tf_rand(nw, -1, 1), *b = tf_rand(p.oc, -1, 1), *dy = tf_rand(ny, -1, 1);
    float *ax = tf_abs_copy(x, nx), *aw = tf_abs_copy(w, nw), *ab = tf_abs_copy(b, p.oc), *ady = tf_abs_copy(dy, ny);
    float *yr = tf_alloc(ny), *yf = tf_alloc(ny), *S = tf_alloc(ny);
    float *dxr = tf_alloc(nx), *dxf = tf_alloc(nx), *Sx = tf_alloc(nx);
    float *dwr = tf_alloc(nw), *dwf = tf_alloc(nw), *Sw = tf_alloc(nw);
    float *dbr = tf_alloc(p.oc), *dbf = tf_alloc(p.oc), *Sb = tf_alloc(p.oc);
    int bad = 0;
    ratq_dwconv2d_fwd_ref(&p, x, w, b, yr);
    ratq_dwconv2d_fwd_ref(&p, ax, aw, ab, S);
    if (ratq_dwconv2d_fwd_cpu(&p, x, w, b, yf)) bad++;
    bad += tf_close_sum("dwconv fwd", yf, yr, S, ny, kk + 1); // K = kk taps + bias
    ratq_dwconv2d_bwd_ref(&p, x, w, dy, dxr, dwr, dbr);
    ratq_dwconv2d_bwd_ref(&p, ax, aw, ady, Sx, Sw, Sb);
    if (ratq_dwconv2d_bwd_cpu(&p, x, w, dy, dxf, dwf, dbf)) bad++;
    bad += tf_close_sum("dwconv dx", dxf, dxr, Sx, nx, kk * cc->dm);
    bad += tf_close_sum("dwconv dw", dwf, dwr, Sw, nw, (double)p.n * p.oh * p.ow);
    bad += tf_close_sum("dwconv db", dbf, dbr, Sb, p.oc, (double)p.n * p.oh * p.ow);

    // Cross-check: depthwise == grouped conv2d with groups = ic and OHWI weights w2[o][ky][kx][0] = w[ky][kx][o].
    float *w2 = tf_alloc(nw), *y2 = tf_alloc(ny), *dx2 = tf_alloc(nx), *dw2 = tf_alloc(nw), *dwt = tf_alloc(nw);
    for (int o = 0; o < p.oc; o++)
        for (int t = 0; t < kk; t++) w2[(size_t)o * kk + t] = w[(size_t)t * p.oc + o];
    ratq_conv2d_fwd_ref(&p, x, w2, b, y2, NULL);
    bad += tf_close_sum("dwconv vs grouped conv2d fwd", yr, y2, S, ny, 1); // both double-accumulated: 1-ulp level
    ratq_conv2d_bwd_ref(&p, x, w2, dy, dx2, dw2, NULL, NULL);
    for (int o = 0; o < p.oc; o++)
        for (int t = 0; t < kk; t++) dwt[(size_t)t * p.oc + o] = dw2[(size_t)o * kk + t];
    bad += tf_close_sum("dwconv vs grouped conv2d dx", dxr, dx2, Sx, nx, 1);
    bad += tf_close_sum("dwconv vs grouped conv2d dw", dwr, dwt, Sw, nw, 1);
    if (bad) print_case(cc);
    free(x), free(w), free(b), free(dy), free(ax), free(aw), free(ab), free(ady), free(yr), free(yf), free(S);
    free(dxr), free(dxf), free(Sx), free(dwr), free(dwf), free(Sw), free(dbr), free(dbf), free(Sb);
    free(w2), free(y2), free(dx2), free(dw2), free(dwt);
    return bad;
}

int main(void) {
    tf_seed(20240602);
    int bad = 0;
    const dw_case grad_cases[] = {
        // n  h  w  c dm  k  s  d  pad
        {2, 6, 6, 4, 1, 3, 1, 1, -1}, // 3x3 SAME
        {2, 7, 6, 3, 1, 3, 2, 1, -1}, // stride 2, SAME 1/1 on H, 0/1 on W
        {1, 9, 8, 3, 1, 5, 2, 1, -1}, // 5x5 stride 2
        {2, 5, 5, 3, 2, 3, 1, 1, -1}, // depth multiplier 2
        {1, 7, 7, 2, 1, 3, 2, 1, 1},  // explicit pad
        {1, 8, 7, 2, 1, 3, 1, 2, -1}, // dilation 2
    };
    for (size_t i = 0; i < sizeof grad_cases / sizeof grad_cases[0]; i++) bad += test_gradients(&grad_cases[i]);
    const dw_case fast_cases[] = {
        {2, 28, 28, 48, 1, 3, 1, 1, -1}, // EfficientNet-Lite0 stage shapes (scaled down)
        {2, 15, 15, 32, 1, 5, 2, 1, -1},
        {3, 14, 14, 40, 1, 5, 1, 1, -1},
        {2, 11, 9, 12, 3, 3, 2, 1, -1},  // depth multiplier 3
        {2, 10, 10, 20, 1, 3, 1, 2, 2},  // dilation 2, explicit pad
        {1, 2, 3, 17, 1, 5, 1, 1, -1},   // kernel larger than input, channels not a multiple of 16
    };
    for (size_t i = 0; i < sizeof fast_cases / sizeof fast_cases[0]; i++) bad += test_fast(&fast_cases[i]);
    if (bad) {
        fprintf(stderr, "test_float_dwconv: FAIL (%d)\n", bad);
        return 1;
    }
    printf("test_float_dwconv: OK\n");
    return 0;
}
