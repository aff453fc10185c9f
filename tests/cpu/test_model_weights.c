// test_model_weights.c — .ratqw weight files (models/weights.h): save/load round trip is bit-exact, and every
// kind of bad file is rejected with an error (truncated, appended junk, wrong magic, wrong version, missing /
// extra / mis-shaped tensor, non-finite value, negative BN variance, unknown architecture, class-count mismatch). Also checks the
// architecture tables: parameter counts of lite0..lite4 against the reference model's.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/efficientnet_lite.h"
#include "common/io.h"
#include "models/weights.h"

#include "test_util.h"
// One harness for all tests (tests/test_util.h): a failed CHECK prints file:line and counts.
#define CHECK(cond, ...) CHECK_MSG(cond, __VA_ARGS__)

static char dir[64];

static const char *tmp_path(const char *name) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static unsigned char *slurp(const char *path, size_t *n) { return (unsigned char *)ratq_read_file(path, n); }

static void spit(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

// Write the model's tensors with one modification: drop tensor `drop`, reshape tensor `reshape`, add an extra.
static int write_variant(const ratq_effnet *m, const char *path, const char *arch, int drop, int reshape, int extra) {
    ratq_weights_tensor *ts = calloc((size_t)m->n_tensors + 1, sizeof *ts);
    int n = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        if (i == drop) continue;
        const ratq_tensor_info *t = &m->tensors[i];
        snprintf(ts[n].name, sizeof ts[n].name, "%s", t->name);
        ts[n].ndim = t->ndim;
        memcpy(ts[n].shape, t->shape, sizeof t->shape);
        ts[n].count = t->count;
        ts[n].data = m->params + t->offset;
        if (i == reshape) { // same element count, other shape: [a,b,c,d] -> [a*b*c*d]
            ts[n].ndim = 1;
            ts[n].shape[0] = (int)t->count;
            ts[n].shape[1] = ts[n].shape[2] = ts[n].shape[3] = 1;
        }
        n++;
    }
    if (extra) {
        snprintf(ts[n].name, sizeof ts[n].name, "_extra.weight");
        ts[n].ndim = 1;
        ts[n].shape[0] = 1;
        ts[n].shape[1] = ts[n].shape[2] = ts[n].shape[3] = 1;
        ts[n].count = 1;
        ts[n].data = m->params;
        n++;
    }
    int rc = ratq_weights_write(path, arch, m->cfg.num_classes, m->cfg.resolution, n, ts);
    free(ts);
    return rc;
}

static int loads(const char *path) {
    ratq_effnet m;
    int rc = ratq_effnet_load(&m, path);
    if (rc == 0) ratq_effnet_free(&m);
    return rc == 0;
}

static size_t trainable_count(const ratq_effnet *m) {
    size_t n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].trainable) n += m->tensors[i].count;
    return n;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ratq_test_weights_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    ratq_effnet_config cfg;
    ratq_effnet m;
    if (ratq_effnet_config_from_name("tiny", 0, 0, &cfg) != 0 || ratq_effnet_build(&m, &cfg) != 0) return 1;
    for (size_t i = 0; i < m.n_floats; i++) m.params[i] = (float)sin((double)i * 0.37) * 0.5f;
    for (int l = 0; l < m.n_layers; l++) // a valid model: BN variances >= 0
        if (m.layers[l].kind == RATQ_LAYER_BN) {
            const ratq_tensor_info *v = &m.tensors[m.layers[l].var_t];
            for (size_t j = 0; j < v->count; j++) m.params[v->offset + j] = fabsf(m.params[v->offset + j]);
        }

    // round trip
    char good[256], tmpname[300];
    snprintf(good, sizeof good, "%s", tmp_path("good.ratqw"));
    snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", good, (long)getpid()); // common/io.h temp file name
    CHECK(ratq_effnet_save(&m, good) == 0, "save failed");
    ratq_effnet r;
    CHECK(ratq_effnet_load(&r, good) == 0, "load of a saved file failed");
    if (r.params) {
        CHECK(r.n_floats == m.n_floats && !memcmp(r.params, m.params, m.n_floats * sizeof(float)),
              "round trip not bit-exact");
        CHECK(!strcmp(r.cfg.arch, "tiny") && r.cfg.num_classes == 10 && r.cfg.resolution == 16, "header fields");
        CHECK(ratq_effnet_load_into(&r, good) == 0, "load_into of the same architecture failed");
        ratq_effnet_free(&r);
    }
    CHECK(access(tmpname, F_OK) != 0, "temp file %s left behind", tmpname);

    size_t n = 0;
    unsigned char *b = slurp(good, &n);
    if (!b) return 1;
    unsigned char *c = malloc(n + 16);
    // truncated by one byte, and by everything past the header
    spit(tmp_path("trunc1"), b, n - 1);
    CHECK(!loads(tmp_path("trunc1")), "truncated file accepted");
    spit(tmp_path("trunc2"), b, 100);
    CHECK(!loads(tmp_path("trunc2")), "file cut inside the table accepted");
    spit(tmp_path("trunc3"), b, 10);
    CHECK(!loads(tmp_path("trunc3")), "file cut inside the header accepted");
    // appended junk
    memcpy(c, b, n);
    memset(c + n, 0xAB, 16);
    spit(tmp_path("junk"), c, n + 16);
    CHECK(!loads(tmp_path("junk")), "appended junk accepted");
    // magic
    memcpy(c, b, n);
    c[0] = 'X';
    spit(tmp_path("magic"), c, n);
    CHECK(!loads(tmp_path("magic")), "wrong magic accepted");
    // version
    memcpy(c, b, n);
    c[8] = 2;
    spit(tmp_path("version"), c, n);
    CHECK(!loads(tmp_path("version")), "wrong version accepted");
    // dtype of tensor 0
    memcpy(c, b, n);
    c[RATQW_HEADER_BYTES + 88] = 7;
    spit(tmp_path("dtype"), c, n);
    CHECK(!loads(tmp_path("dtype")), "unknown dtype accepted");
    // offset of tensor 0 past the end
    memcpy(c, b, n);
    c[RATQW_HEADER_BYTES + 112 + 3] = 0x7f;
    spit(tmp_path("offset"), c, n);
    CHECK(!loads(tmp_path("offset")), "offset past the end accepted");
    // a NaN weight (first float of tensor 0)
    memcpy(c, b, n);
    {
        uint64_t off = 0;
        for (int i = 0; i < 8; i++) off |= (uint64_t)c[RATQW_HEADER_BYTES + 112 + i] << (8 * i);
        float nan = NAN;
        memcpy(c + off, &nan, 4);
    }
    spit(tmp_path("nan"), c, n);
    CHECK(!loads(tmp_path("nan")), "NaN weight accepted");
    // a negative BN running variance (finite, invalid: BN divides by sqrt(var + eps))
    {
        ratq_effnet bad;
        CHECK(ratq_effnet_build(&bad, &cfg) == 0, "build");
        memcpy(bad.params, m.params, m.n_floats * sizeof(float));
        bad.params[bad.tensors[ratq_effnet_find_tensor(&bad, "_bn0.running_var")].offset + 3] = -0.5f;
        CHECK(ratq_effnet_save(&bad, tmp_path("negvar")) == 0, "write");
        CHECK(!loads(tmp_path("negvar")), "negative running_var accepted");
        ratq_effnet_free(&bad);
    }
    // unknown architecture name
    CHECK(write_variant(&m, tmp_path("arch"), "lite9", -1, -1, 0) == 0, "write");
    CHECK(!loads(tmp_path("arch")), "unknown architecture accepted");
    // missing / mis-shaped / extra tensor
    CHECK(write_variant(&m, tmp_path("missing"), "tiny", 5, -1, 0) == 0, "write");
    CHECK(!loads(tmp_path("missing")), "missing tensor accepted");
    CHECK(write_variant(&m, tmp_path("shape"), "tiny", -1, 0, 0) == 0, "write");
    CHECK(!loads(tmp_path("shape")), "mis-shaped tensor accepted");
    CHECK(write_variant(&m, tmp_path("extra"), "tiny", -1, -1, 1) == 0, "write");
    CHECK(!loads(tmp_path("extra")), "extra tensor accepted");
    // load_into a model with another class count
    ratq_effnet_config cfg5;
    ratq_effnet m5;
    if (ratq_effnet_config_from_name("tiny", 5, 0, &cfg5) == 0 && ratq_effnet_build(&m5, &cfg5) == 0) {
        CHECK(ratq_effnet_load_into(&m5, good) != 0, "class-count mismatch accepted");
        ratq_effnet_free(&m5);
    }
    // missing file
    CHECK(!loads(tmp_path("does_not_exist")), "missing file accepted");

    // architecture tables: trainable parameter counts of the reference models (efficientnet-lite-pytorch 0.1.0,
    // sum of p.numel() over model.parameters()), and layer geometry of lite0
    static const struct {
        const char *arch;
        size_t params;
        int res;
    } expect[] = {{"lite0", 4652008, 224}, {"lite1", 5416680, 240}, {"lite2", 6092072, 260},
                  {"lite3", 8197096, 280}, {"lite4", 13006568, 300}};
    for (int i = 0; i < 5; i++) {
        ratq_effnet_config ac;
        ratq_effnet am;
        if (ratq_effnet_config_from_name(expect[i].arch, 0, 0, &ac) != 0 || ratq_effnet_build(&am, &ac) != 0) {
            CHECK(0, "%s: build failed", expect[i].arch);
            continue;
        }
        size_t got = trainable_count(&am);
        CHECK(got == expect[i].params && ac.resolution == expect[i].res, "%s: %zu parameters at %d, expected %zu at %d",
              expect[i].arch, got, ac.resolution, expect[i].params, expect[i].res);
        printf("%s: %d layers, %d tensors, %zu parameters, resolution %d\n", expect[i].arch, am.n_layers,
               am.n_tensors, got, ac.resolution);
        ratq_effnet_free(&am);
    }

    free(b);
    free(c);
    ratq_effnet_free(&m);
    // clean up the temp folder
    const char *names[] = {"good.ratqw", "trunc1", "trunc2", "trunc3", "junk", "magic", "version", "dtype",
                           "offset", "nan", "negvar", "arch", "missing", "shape", "extra"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(tmp_path(names[i]));
    rmdir(dir);
    printf("%s (%ld failures)\n", ratq_test_failures ? "FAIL" : "PASS", ratq_test_failures);
    return ratq_test_failures ? 1 : 0;
}
