// hw/verify.c — test vectors, accumulator dumps and Icarus simulation of the rescaler / dot-product RTL,
// compared with kernels/math/rescale.h. Formats and vector sources: hw/verify.h.
#define _POSIX_C_SOURCE 200809L
#include "hw/verify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hw/synth.h"
#include "common/io.h"
#include "math/rescale.h"
#include "math/splitmix64.h"

// ---- random numbers (splitmix64: deterministic for a seed) ----------------------------------------

static uint64_t rnd64(uint64_t *s) { return ratq_splitmix64_next(s); }
// uniform in [lo, hi] (inclusive)
static int64_t rnd_range(uint64_t *s, int64_t lo, int64_t hi) { return lo + (int64_t)(rnd64(s) % (uint64_t)(hi - lo + 1)); }

// ---- accumulator dumps --------------------------------------------------------------------------

void ratq_acc_dump_free(ratq_acc_dump *d) {
    free(d->mult);
    free(d->acc);
    memset(d, 0, sizeof *d);
}

int ratq_acc_dump_write(const char *path, const ratq_acc_dump *d) {
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    char magic[8] = RATQ_ACC_DUMP_MAGIC;
    uint32_t version = RATQ_ACC_DUMP_VERSION, channels = (uint32_t)d->channels, reserved = 0;
    uint64_t count = (uint64_t)d->count;
    int32_t zlh[3] = {d->zp, d->lo, d->hi};
    fwrite(magic, 1, 8, af.f);
    fwrite(&version, 4, 1, af.f);
    fwrite(&channels, 4, 1, af.f);
    fwrite(&count, 8, 1, af.f);
    fwrite(zlh, 4, 3, af.f);
    fwrite(&reserved, 4, 1, af.f);
    fwrite(d->mult, 8, (size_t)d->channels, af.f);
    fwrite(d->acc, 4, (size_t)d->count, af.f);
    return ratq_atomic_commit(&af);
}

int ratq_acc_dump_read(const char *path, ratq_acc_dump *d) {
    memset(d, 0, sizeof *d);
    size_t size;
    char *buf = ratq_read_file(path, &size);
    if (!buf) return -1;
    int rc = -1;
    uint32_t version, channels;
    uint64_t count;
    if (size < 40) {
        ratq_error("%s: header: truncated (%zu bytes, need 40)", path, size);
        goto done;
    }
    if (memcmp(buf, RATQ_ACC_DUMP_MAGIC, 8)) {
        ratq_error("%s: magic: not a ratq accumulator dump (expected \"RATQACC\")", path);
        goto done;
    }
    memcpy(&version, buf + 8, 4);
    memcpy(&channels, buf + 12, 4);
    memcpy(&count, buf + 16, 8);
    if (version != RATQ_ACC_DUMP_VERSION) {
        ratq_error("%s: version: %u, this ratq reads version %d", path, version, RATQ_ACC_DUMP_VERSION);
        goto done;
    }
    if (channels == 0 || channels > (1u << 24) || count % channels != 0 || count > (1ull << 36)) {
        ratq_error("%s: channels/count: %u channels, %llu accumulators (count must be a positive multiple of channels)",
                   path, channels, (unsigned long long)count);
        goto done;
    }
    if (size != 40 + 8ull * channels + 4ull * count) {
        ratq_error("%s: size: %zu bytes, header says %llu", path, size,
                   (unsigned long long)(40 + 8ull * channels + 4ull * count));
        goto done;
    }
    int32_t zlh[3];
    memcpy(zlh, buf + 24, 12);
    if (zlh[0] < -128 || zlh[0] > 127 || zlh[1] < -128 || zlh[2] > 127 || zlh[1] > zlh[2]) {
        ratq_error("%s: zp/lo/hi: %d %d %d, need int8 values with lo <= hi", path, zlh[0], zlh[1], zlh[2]);
        goto done;
    }
    d->channels = (int)channels;
    d->count = (int64_t)count;
    d->zp = zlh[0];
    d->lo = zlh[1];
    d->hi = zlh[2];
    d->mult = malloc(8 * (size_t)channels);
    d->acc = malloc(4 * (size_t)count + 1);
    if (!d->mult || !d->acc) {
        ratq_error("%s: out of memory", path);
        goto done;
    }
    memcpy(d->mult, buf + 40, 8 * (size_t)channels);
    memcpy(d->acc, buf + 40 + 8 * (size_t)channels, 4 * (size_t)count);
    for (uint32_t c = 0; c < channels; c++)
        if (!(d->mult[c] >= 0.0 && d->mult[c] < 2147483648.0)) {
            ratq_error("%s: M[%u]: %g is not a multiplier in [0, 2^31)", path, c, d->mult[c]);
            goto done;
        }
    rc = 0;
done:
    free(buf);
    if (rc) ratq_acc_dump_free(d);
    return rc;
}

static const cJSON *field(const cJSON *o, const char *name, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v) ratq_error("%s: %s: missing", path, name);
    return v;
}

static int int_array(const cJSON *a, const char *name, const char *path, int64_t **out, int *n) {
    if (!cJSON_IsArray(a)) {
        ratq_error("%s: %s: not an array", path, name);
        return -1;
    }
    *n = cJSON_GetArraySize(a);
    *out = malloc(sizeof(int64_t) * (size_t)(*n + 1));
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble)) {
            ratq_error("%s: %s[%d]: not an integer", path, name, i);
            free(*out);
            return -1;
        }
        (*out)[i++] = (int64_t)e->valuedouble;
    }
    return 0;
}

int ratq_acc_dump_from_cmsis_json(const char *path, ratq_acc_dump *d) {
    memset(d, 0, sizeof *d);
    char *text = ratq_read_file(path, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o) {
        ratq_error("%s: not valid JSON", path);
        return -1;
    }
    int rc = -1, nm = 0, ns = 0, na = 0, nshape = 0;
    int64_t *mul = NULL, *shf = NULL, *acc = NULL, *shape = NULL;
    const cJSON *fmt = field(o, "format", path), *der = field(o, "derived", path);
    if (!fmt || !der) goto done;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "cmsis_nn_vector/v1")) {
        ratq_error("%s: format: expected \"cmsis_nn_vector/v1\"", path);
        goto done;
    }
    const cJSON *zp = field(o, "output_offset", path), *lo = field(o, "activation_min", path),
                *hi = field(o, "activation_max", path);
    if (!zp || !lo || !hi) goto done;
    if (int_array(field(o, "output_multiplier", path), "output_multiplier", path, &mul, &nm) ||
        int_array(field(o, "output_shift", path), "output_shift", path, &shf, &ns) ||
        int_array(field(o, "output_shape", path), "output_shape", path, &shape, &nshape) ||
        int_array(field(der, "accumulator_int32", path), "derived.accumulator_int32", path, &acc, &na))
        goto done;
    int oc = nshape > 0 ? (int)shape[nshape - 1] : 0;
    if (oc <= 0 || na % oc != 0 || nm != ns || (nm != 1 && nm != oc)) {
        ratq_error("%s: output_multiplier/output_shape: %d multipliers, %d shifts, %d channels, %d accumulators", path,
                   nm, ns, oc, na);
        goto done;
    }
    d->channels = oc;
    d->count = na;
    d->zp = (int32_t)zp->valuedouble;
    d->lo = (int32_t)lo->valuedouble;
    d->hi = (int32_t)hi->valuedouble;
    d->mult = malloc(sizeof(double) * (size_t)oc);
    d->acc = malloc(sizeof(int32_t) * (size_t)na + 1);
    for (int c = 0; c < oc; c++) {
        int i = nm == 1 ? 0 : c;
        d->mult[c] = ldexp((double)mul[i], (int)shf[i] - 31); // M = qm * 2^(shift-31), exact
    }
    for (int i = 0; i < na; i++) {
        if (acc[i] < INT32_MIN || acc[i] > INT32_MAX) {
            ratq_error("%s: derived.accumulator_int32[%d]: out of int32 range", path, i);
            goto done;
        }
        d->acc[i] = (int32_t)acc[i];
    }
    rc = 0;
done:
    free(mul);
    free(shf);
    free(acc);
    free(shape);
    cJSON_Delete(o);
    if (rc) ratq_acc_dump_free(d);
    return rc;
}

// ---- vectors ------------------------------------------------------------------------------------

void ratq_hw_vecs_free(ratq_hw_vecs *vs) {
    free(vs->v);
    memset(vs, 0, sizeof *vs);
}

static void push(ratq_hw_vecs *vs, int32_t acc, int32_t m, int32_t s, int32_t zp, int32_t lo, int32_t hi) {
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? vs->cap * 2 : 4096;
        ratq_hw_vec *nv = realloc(vs->v, vs->cap * sizeof *nv);
        if (!nv) {
            ratq_error("hw: out of memory for test vectors");
            exit(2);
        }
        vs->v = nv;
    }
    vs->v[vs->n++] = (ratq_hw_vec){acc, m, s, zp, lo, hi};
}

// Valid multiplicand range for k bits: [2^(k-1), 2^k); k = 32 is the 31-bit-magnitude TFLite multiplier.
static void m_range(int bits, int64_t *lo, int64_t *hi) {
    int k = bits >= 32 ? 31 : bits;
    *lo = (int64_t)1 << (k - 1);
    *hi = ((int64_t)1 << k) - 1;
}

static int32_t rnd_m(int bits, uint64_t *rng) {
    int64_t lo, hi;
    m_range(bits, &lo, &hi);
    return (int32_t)rnd_range(rng, lo, hi);
}

int32_t ratq_hw_vec_expected(const ratq_hw_vec *v) {
    ratq_rescale r = {v->m, v->s};
    return ratq_requantize(v->acc, r, v->zp, v->lo, v->hi, RATQ_ROUND_SINGLE);
}

void ratq_hw_vecs_edge(ratq_hw_vecs *vs, int bits, uint64_t *rng) {
    static const int32_t accs[] = {INT32_MIN, INT32_MIN + 1, -(1 << 30), -65536, -257, -256, -129, -128, -1, 0, 1,
                                   127, 128, 255, 256, 1 << 30, INT32_MAX - 1, INT32_MAX};
    static const int32_t zlh[][3] = {{0, -128, 127}, {-128, -128, 127}, {127, -128, 127}, {-17, -17, 127}, {100, -50, 60}};
    int64_t mlo, mhi;
    m_range(bits, &mlo, &mhi);
    int32_t ms[4] = {0, (int32_t)mlo, (int32_t)mhi, rnd_m(bits, rng)};
    int smax = ratq_hw_shift_max(bits);
    for (int s = 0; s <= smax; s++)
        for (int mi = 0; mi < 4; mi++)
            for (size_t a = 0; a < sizeof accs / sizeof accs[0]; a++)
                for (int z = 0; z < 5; z++) push(vs, accs[a], ms[mi], s, zlh[z][0], zlh[z][1], zlh[z][2]);
    // exact ties: acc*m = odd * 2^(s-1). m = m_odd * 2^v; acc = (2i+1) * 2^(s-1-v) gives acc*m = (2i+1)*m_odd*2^(s-1).
    for (int s = 1; s <= smax; s++)
        for (int t = 0; t < 24; t++) {
            int32_t m = t < 12 ? (int32_t)mlo : rnd_m(bits, rng); // m = 2^(k-1): results (2i+1)/2 stay small
            int v = 0;
            while (!((m >> v) & 1)) v++;
            int e = s - 1 - v;
            int64_t odd = 2 * rnd_range(rng, -60, 60) + 1;
            if (e < 0 || e > 24) continue;
            int64_t acc = odd * ((int64_t)1 << e);
            if (acc < INT32_MIN || acc > INT32_MAX) continue;
            for (int d = -1; d <= 1; d++) {
                push(vs, (int32_t)(acc + d), m, s, 0, -128, 127);
                push(vs, (int32_t)(-acc + d), m, s, (int32_t)rnd_range(rng, -20, 20), -128, 127);
            }
        }
}

void ratq_hw_vecs_random(ratq_hw_vecs *vs, int bits, size_t n, uint64_t *rng) {
    int smax = ratq_hw_shift_max(bits), k = bits >= 32 ? 31 : bits;
    for (size_t i = 0; i < n; i++) {
        int32_t acc;
        if (rnd64(rng) & 1) acc = (int32_t)(uint32_t)rnd64(rng);
        else {
            int len = (int)rnd_range(rng, 0, 31);
            int64_t mag = len ? (int64_t)(rnd64(rng) & (((uint64_t)1 << len) - 1)) | ((int64_t)1 << (len - 1)) : 0;
            acc = (int32_t)((rnd64(rng) & 1) ? -mag : (mag > INT32_MAX ? INT32_MAX : mag));
        }
        int32_t m = rnd_range(rng, 0, 19) == 0 ? 0 : rnd_m(bits, rng);
        int s;
        if (rnd64(rng) & 1) s = (int)rnd_range(rng, 0, smax);
        else { // realistic: |acc*m| / 2^s near 2^7
            int64_t mag = acc < 0 ? -(int64_t)acc : acc;
            int bl = 0;
            while (bl < 40 && (mag >> bl)) bl++;
            s = bl + k - 7 + (int)rnd_range(rng, -3, 3);
            s = s < 0 ? 0 : (s > smax ? smax : s);
        }
        int32_t zp = (int32_t)rnd_range(rng, -128, 127), lo = -128, hi = 127;
        if (rnd64(rng) & 1) {
            int32_t a = (int32_t)rnd_range(rng, -128, 127), b = (int32_t)rnd_range(rng, -128, 127);
            lo = a < b ? a : b;
            hi = a < b ? b : a;
        }
        push(vs, acc, m, s, zp, lo, hi);
    }
}

void ratq_hw_vecs_from_dump(ratq_hw_vecs *vs, int bits, const ratq_acc_dump *d, size_t max_n) {
    int64_t step = (max_n && (uint64_t)d->count > max_n) ? (d->count + (int64_t)max_n - 1) / (int64_t)max_n : 1;
    int k = bits >= 32 ? 31 : bits;
    for (int64_t i = 0; i < d->count; i += step) {
        ratq_rescale r;
        if (ratq_rescale_from_real(d->mult[i % d->channels], k, &r) || r.s < 0 || r.s > ratq_hw_shift_max(bits)) {
            vs->skipped++;
            continue;
        }
        push(vs, d->acc[i], r.m, r.s, d->zp, d->lo, d->hi);
    }
}

// ---- simulation ---------------------------------------------------------------------------------

static int write_rtl_files(ratq_hw_design d, const char *workdir, const char *design_v, char *dpath, size_t n) {
    char path[4200];
    if (ratq_hw_mkdirs(workdir)) return -1;
    if (design_v) snprintf(dpath, n, "%s", design_v);
    else {
        snprintf(dpath, n, "%s/design.v", workdir);
        ratq_atomic_file af;
        if (ratq_atomic_open(&af, dpath)) return -1;
        if (ratq_hw_write_design(af.f, d)) {
            ratq_atomic_abort(&af);
            return -1;
        }
        if (ratq_atomic_commit(&af)) return -1;
    }
    snprintf(path, sizeof path, "%s/tb.v", workdir);
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    if (ratq_hw_write_testbench(af.f, d)) {
        ratq_atomic_abort(&af);
        return -1;
    }
    return ratq_atomic_commit(&af);
}

// Compile design + tb.v and run it on workdir/vectors.txt; outputs in workdir/out.txt.
static int run_sim(const char *workdir, const char *design_path) {
    const char *iverilog = getenv("RATQ_IVERILOG") ? getenv("RATQ_IVERILOG") : "iverilog";
    const char *vvp = getenv("RATQ_VVP") ? getenv("RATQ_VVP") : "vvp";
    char log[4200], sim[4200], tb[4200], vin[4200], vout[4200];
    snprintf(log, sizeof log, "%s/sim.log", workdir);
    snprintf(sim, sizeof sim, "%s/sim.vvp", workdir);
    snprintf(tb, sizeof tb, "%s/tb.v", workdir);
    snprintf(vin, sizeof vin, "+vectors=%s/vectors.txt", workdir);
    snprintf(vout, sizeof vout, "+out=%s/out.txt", workdir);
    remove(log);
    const char *cargs[] = {iverilog, "-g2005", "-o", sim, "-s", "ratq_tb", design_path, tb, NULL};
    int rc = ratq_hw_run(cargs, log, NULL);
    if (rc != 0) {
        ratq_error("%s: iverilog failed (exit %d; install iverilog or set RATQ_IVERILOG); see %s", design_path, rc, log);
        return -1;
    }
    const char *sargs[] = {vvp, "-n", sim, vin, vout, NULL};
    rc = ratq_hw_run(sargs, log, NULL);
    if (rc != 0) {
        ratq_error("%s: vvp failed (exit %d); see %s", sim, rc, log);
        return -1;
    }
    return 0;
}

// Read n outputs (2 hex digits per line) from workdir/out.txt into y (as int8). Unknown (x/z) -> 1000.
static int read_outputs(const char *workdir, int32_t *y, size_t n) {
    char path[4200], line[64];
    snprintf(path, sizeof path, "%s/out.txt", workdir);
    FILE *f = fopen(path, "r");
    if (!f) {
        ratq_error("%s: cannot open simulation output: %s", path, strerror(errno));
        return -1;
    }
    size_t i = 0;
    while (i < n && fgets(line, sizeof line, f)) {
        char *end;
        long v = strtol(line, &end, 16);
        y[i++] = (end == line || (*end != '\n' && *end != 0)) ? 1000 : (int32_t)(int8_t)(uint8_t)v;
    }
    fclose(f);
    if (i != n) {
        ratq_error("%s: %zu outputs, expected %zu (simulation ended early; see sim.log)", path, i, n);
        return -1;
    }
    return 0;
}

long ratq_hw_sim_rescaler(int bits, const ratq_hw_vecs *vs, const char *design_v, const char *workdir, int verbose) {
    ratq_hw_design d = {0, bits};
    char dpath[4200], path[4200];
    if (ratq_hw_design_check(d) || write_rtl_files(d, workdir, design_v, dpath, sizeof dpath)) return -1;
    snprintf(path, sizeof path, "%s/vectors.txt", workdir);
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    fprintf(af.f, "%zu\n", vs->n);
    for (size_t i = 0; i < vs->n; i++) {
        const ratq_hw_vec *v = &vs->v[i];
        fprintf(af.f, "%08x %08x %02x %02x %02x %02x\n", (uint32_t)v->acc, (uint32_t)v->m, (unsigned)v->s,
                (unsigned)(uint8_t)v->zp, (unsigned)(uint8_t)v->lo, (unsigned)(uint8_t)v->hi);
    }
    if (ratq_atomic_commit(&af)) return -1;
    double t0 = ratq_now();
    if (run_sim(workdir, dpath)) return -1;
    int32_t *y = malloc(sizeof(int32_t) * (vs->n + 1));
    if (!y || read_outputs(workdir, y, vs->n)) {
        free(y);
        return -1;
    }
    long bad = 0;
    for (size_t i = 0; i < vs->n; i++) {
        int32_t want = ratq_hw_vec_expected(&vs->v[i]);
        if (y[i] != want) {
            if (bad < 10) {
                const ratq_hw_vec *v = &vs->v[i];
                fprintf(stderr, "  mismatch k=%d vector %zu: acc=%d m=%d s=%d zp=%d lo=%d hi=%d: rtl %d, C %d\n", bits, i,
                        v->acc, v->m, v->s, v->zp, v->lo, v->hi, y[i], want);
            }
            bad++;
        }
    }
    free(y);
    if (verbose)
        fprintf(stderr, "ratq hw: rescaler k=%d: %zu vectors, %ld mismatches (%.1f s)\n", bits, vs->n, bad,
                ratq_now() - t0);
    return bad;
}

typedef struct {
    int len;
    int32_t m, s, zp, lo, hi, bias;
    int64_t acc; // exact: bias + sum of products
} dotp_job;

long ratq_hw_sim_dotp(ratq_hw_design d, int jobs, uint64_t seed, const char *design_v, const char *workdir, int verbose) {
    char dpath[4200], path[4200];
    if (d.macs < 1) {
        ratq_error("hw: dot-product simulation needs macs >= 1");
        return -1;
    }
    if (ratq_hw_design_check(d) || write_rtl_files(d, workdir, design_v, dpath, sizeof dpath)) return -1;
    snprintf(path, sizeof path, "%s/vectors.txt", workdir);
    ratq_atomic_file af;
    if (ratq_atomic_open(&af, path)) return -1;
    dotp_job *job = calloc((size_t)jobs + 1, sizeof *job);
    int8_t *x = malloc((size_t)d.macs), *w = malloc((size_t)d.macs);
    uint64_t rng = seed;
    int smax = ratq_hw_shift_max(d.bits), k = d.bits >= 32 ? 31 : d.bits;
    fprintf(af.f, "%d\n", jobs);
    for (int j = 0; j < jobs; j++) {
        dotp_job *jb = &job[j];
        jb->len = (int)rnd_range(&rng, 1, 8);
        int64_t room = INT32_MAX - (int64_t)jb->len * d.macs * 16384 - 1; // |sum of products| <= len*N*2^14
        int mode = (int)rnd_range(&rng, 0, 3);
        int64_t b = mode == 0 ? rnd_range(&rng, -room, room) : (mode == 1 ? (rnd64(&rng) & 1 ? room : -room) : rnd_range(&rng, -4096, 4096));
        jb->bias = (int32_t)b;
        jb->acc = b;
        int extreme = rnd_range(&rng, 0, 7) == 0; // all lanes -128 x -128 (largest product)
        fprintf(af.f, "%d", jb->len);
        char line[2 * 2 * RATQ_HW_MACS_MAX + 8];
        // config written after the data is known (needs the final acc for a realistic shift): buffer the data lines
        char *data = malloc((size_t)jb->len * sizeof line);
        size_t dn = 0;
        for (int t = 0; t < jb->len; t++) {
            for (int i = 0; i < d.macs; i++) {
                x[i] = extreme ? -128 : (int8_t)rnd_range(&rng, -128, 127);
                w[i] = extreme ? -128 : (int8_t)rnd_range(&rng, -128, 127);
                jb->acc += (int64_t)x[i] * w[i];
            }
            for (int i = d.macs - 1; i >= 0; i--) dn += (size_t)sprintf(data + dn, "%02x", (unsigned)(uint8_t)x[i]);
            data[dn++] = ' ';
            for (int i = d.macs - 1; i >= 0; i--) dn += (size_t)sprintf(data + dn, "%02x", (unsigned)(uint8_t)w[i]);
            data[dn++] = '\n';
        }
        data[dn] = 0;
        jb->m = rnd_range(&rng, 0, 19) == 0 ? 0 : rnd_m(d.bits, &rng);
        int64_t mag = jb->acc < 0 ? -jb->acc : jb->acc;
        int bl = 0;
        while (bl < 40 && (mag >> bl)) bl++;
        int s = (rnd64(&rng) & 3) ? bl + k - 7 + (int)rnd_range(&rng, -3, 3) : (int)rnd_range(&rng, 0, smax);
        jb->s = s < 0 ? 0 : (s > smax ? smax : s);
        jb->zp = (int32_t)rnd_range(&rng, -128, 127);
        int32_t a = (int32_t)rnd_range(&rng, -128, 127), c = (int32_t)rnd_range(&rng, -128, 127);
        jb->lo = (rnd64(&rng) & 1) ? -128 : (a < c ? a : c);
        jb->hi = jb->lo == -128 ? 127 : (a < c ? c : a);
        fprintf(af.f, " %08x %02x %02x %02x %02x %08x\n%s", (uint32_t)jb->m, (unsigned)jb->s, (unsigned)(uint8_t)jb->zp,
                (unsigned)(uint8_t)jb->lo, (unsigned)(uint8_t)jb->hi, (uint32_t)jb->bias, data);
        free(data);
    }
    free(x);
    free(w);
    if (ratq_atomic_commit(&af)) {
        free(job);
        return -1;
    }
    double t0 = ratq_now();
    int32_t *y = malloc(sizeof(int32_t) * ((size_t)jobs + 1));
    if (run_sim(workdir, dpath) || read_outputs(workdir, y, (size_t)jobs)) {
        free(y);
        free(job);
        return -1;
    }
    long bad = 0;
    for (int j = 0; j < jobs; j++) {
        ratq_hw_vec v = {(int32_t)job[j].acc, job[j].m, job[j].s, job[j].zp, job[j].lo, job[j].hi};
        int32_t want = ratq_hw_vec_expected(&v);
        if (y[j] != want) {
            if (bad < 10)
                fprintf(stderr, "  mismatch N=%d k=%d job %d: acc=%lld m=%d s=%d zp=%d lo=%d hi=%d: rtl %d, C %d\n", d.macs,
                        d.bits, j, (long long)job[j].acc, v.m, v.s, v.zp, v.lo, v.hi, y[j], want);
            bad++;
        }
    }
    free(y);
    free(job);
    if (verbose)
        fprintf(stderr, "ratq hw: dot product N=%d k=%d: %d jobs, %ld mismatches (%.1f s)\n", d.macs, d.bits, jobs, bad,
                ratq_now() - t0);
    return bad;
}
