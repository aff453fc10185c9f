// test_float_linear.c — linear layer y = x w^T + b: reference backward vs central differences and the
// fast (GEMM) forward / backward vs the reference.
#include "cpu/float_ops.h"
#include "cpu/test_float_util.h"

typedef struct {
    const ratq_linear_params *p;
    float *x, *w, *b, *y;
    const float *r;
} gctx;

static double lin_loss(void *vc) {
    gctx *c = vc;
    ratq_linear_fwd_ref(c->p, c->x, c->w, c->b, c->y);
    return tf_dot(c->r, c->y, (size_t)c->p->n * c->p->out);
}

static int test_gradients(int n, int in, int out) {
    ratq_linear_params p = {n, in, out};
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = tf_rand(nx, -1, 1), *w = tf_rand(nw, -1, 1), *b = tf_rand(out, -1, 1), *y = tf_alloc(ny), *r = tf_rand(ny, -1, 1);
    float *dx = tf_alloc(nx), *dw = tf_alloc(nw), *db = tf_alloc(out);
    ratq_linear_bwd_ref(&p, x, w, r, dx, dw, db);
    gctx c = {&p, x, w, b, y, r};
    // Linear in each argument: no truncation error; float rounding of the affected outputs / 2h ~ 1e-4.
    int bad = 0;
    bad += tf_gradcheck("linear dx", lin_loss, &c, x, dx, nx, 1, 1e-2f, 2e-3, 1e-3);
    bad += tf_gradcheck("linear dw", lin_loss, &c, w, dw, nw, 1, 1e-2f, 2e-3, 1e-3);
    bad += tf_gradcheck("linear db", lin_loss, &c, b, db, out, 1, 1e-2f, 2e-3, 1e-3);
    free(x), free(w), free(b), free(y), free(r), free(dx), free(dw), free(db);
    return bad;
}

static int test_fast(int n, int in, int out) {
    ratq_linear_params p = {n, in, out};
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = tf_rand(nx, -1, 1), *w = tf_rand(nw, -1, 1), *b = tf_rand(out, -1, 1), *dy = tf_rand(ny, -1, 1);
    float *ax = tf_abs_copy(x, nx), *aw = tf_abs_copy(w, nw), *ab = tf_abs_copy(b, out), *ady = tf_abs_copy(dy, ny);
    float *yr = tf_alloc(ny), *yf = tf_alloc(ny), *S = tf_alloc(ny);
    float *dxr = tf_alloc(nx), *dxf = tf_alloc(nx), *Sx = tf_alloc(nx), *dwr = tf_alloc(nw), *dwf = tf_alloc(nw), *Sw = tf_alloc(nw);
    float *dbr = tf_alloc(out), *dbf = tf_alloc(out), *Sb = tf_alloc(out);
    int bad = 0;
    ratq_linear_fwd_ref(&p, x, w, b, yr);
    ratq_linear_fwd_ref(&p, ax, aw, ab, S);
    ratq_linear_fwd_cpu(&p, x, w, b, yf);
    bad += tf_close_sum("linear fwd", yf, yr, S, ny, in + 1);
    ratq_linear_fwd_ref(&p, x, w, NULL, yr);
    ratq_linear_fwd_ref(&p, ax, aw, NULL, S);
    ratq_linear_fwd_cpu(&p, x, w, NULL, yf);
    bad += tf_close_sum("linear fwd (no bias)", yf, yr, S, ny, in);
    ratq_linear_bwd_ref(&p, x, w, dy, dxr, dwr, dbr);
    ratq_linear_bwd_ref(&p, ax, aw, ady, Sx, Sw, Sb);
    ratq_linear_bwd_cpu(&p, x, w, dy, dxf, dwf, dbf);
    bad += tf_close_sum("linear dx", dxf, dxr, Sx, nx, out);
    bad += tf_close_sum("linear dw", dwf, dwr, Sw, nw, n);
    bad += tf_close_sum("linear db", dbf, dbr, Sb, out, n);
    free(x), free(w), free(b), free(dy), free(ax), free(aw), free(ab), free(ady), free(yr), free(yf), free(S);
    free(dxr), free(dxf), free(Sx), free(dwr), free(dwf), free(Sw), free(dbr), free(dbf), free(Sb);
    return bad;
}

int main(void) {
    tf_seed(20240605);
    int bad = 0;
    bad += test_gradients(3, 7, 5);
    bad += test_gradients(1, 4, 9);
    bad += test_fast(32, 1280, 100); // EfficientNet-Lite0 head shape (classes reduced)
    bad += test_fast(5, 33, 17);
    if (bad) {
        fprintf(stderr, "test_float_linear: FAIL (%d)\n", bad);
        return 1;
    }
    printf("test_float_linear: OK\n");
    return 0;
}
