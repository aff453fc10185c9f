// ckpt_compare.c — compare the master weights of two RAT checkpoints (layout in host/train/rat_train.h, version 2).
// usage: ckpt_compare A.ckpt B.ckpt MAX_REL_L2
// Prints max |a - b| and the relative L2 distance ||a - b|| / ||a|| over the weights; exit 0 if the relative L2
// is <= MAX_REL_L2 (0 demands identical bits), 1 if not, 2 on a bad file.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char *buf;
    size_t size;
    uint32_t n_ops;
    uint64_t n_params;
    const float *w;
} ckpt;

static int load(const char *path, ckpt *c) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ckpt_compare: %s: cannot open\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    c->buf = malloc(n > 0 ? (size_t)n : 1);
    c->size = fread(c->buf, 1, n > 0 ? (size_t)n : 0, f);
    fclose(f);
    uint32_t version;
    const size_t head = 8 + 4 + 4 + 8 + 8 + 8 + 8 + 16;
    if (c->size < head || memcmp(c->buf, "RATQCKP1", 8)) {
        fprintf(stderr, "ckpt_compare: %s: magic: not a ratq checkpoint\n", path);
        return -1;
    }
    memcpy(&version, c->buf + 8, 4);
    memcpy(&c->n_ops, c->buf + 12, 4);
    memcpy(&c->n_params, c->buf + 16, 8);
    if (version != 2) {
        fprintf(stderr, "ckpt_compare: %s: version: %u (expected 2)\n", path, version);
        return -1;
    }
    size_t off = head + (size_t)c->n_ops * 16;
    if (c->size < off + c->n_params * 4) {
        fprintf(stderr, "ckpt_compare: %s: file_size: truncated\n", path);
        return -1;
    }
    c->w = (const float *)(c->buf + off); // malloc'ed buffer, offset a multiple of 4
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: ckpt_compare A.ckpt B.ckpt MAX_REL_L2\n");
        return 2;
    }
    ckpt a, b;
    if (load(argv[1], &a) || load(argv[2], &b)) return 2;
    if (a.n_params != b.n_params || a.n_ops != b.n_ops) {
        fprintf(stderr, "ckpt_compare: n_params: %llu vs %llu\n", (unsigned long long)a.n_params,
                (unsigned long long)b.n_params);
        return 2;
    }
    double d2 = 0, a2 = 0, maxd = 0;
    size_t differ = 0;
    for (uint64_t i = 0; i < a.n_params; i++) {
        double d = (double)a.w[i] - (double)b.w[i];
        d2 += d * d;
        a2 += (double)a.w[i] * a.w[i];
        if (fabs(d) > maxd) maxd = fabs(d);
        differ += memcmp(&a.w[i], &b.w[i], 4) != 0;
    }
    const double rel = a2 > 0 ? sqrt(d2 / a2) : sqrt(d2);
    const double tol = atof(argv[3]);
    printf("%llu weights, %zu differ, max |a-b| %.3g, relative L2 %.3g (tolerance %.3g)\n",
           (unsigned long long)a.n_params, differ, maxd, rel, tol);
    free(a.buf);
    free(b.buf);
    return (tol == 0 ? differ == 0 : rel <= tol) ? 0 : 1;
}
