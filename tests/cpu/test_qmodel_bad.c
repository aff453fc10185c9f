// test_qmodel_bad.c — every bad-input case of the .ratqm loader through the ratq command: writes the test model
// (tests/cpu/test_qmodel_common.h), damages one field (byte offsets from the format in host/qmodel/file.c),
// runs `ratq qmodel-info --model FILE` (or `ratq export-c`) and requires exit code 2 and exactly one stderr line
// containing the expected text (file name, op and field).
// argv: CASE RATQ WORKDIR. `test_qmodel_bad list` prints the case names.
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_qmodel_common.h"

#define HDR 84   // header bytes
#define OPFIX 212 // fixed bytes of an op
// Offsets inside an op's fixed part.
enum { O_KIND = 0, O_NAME = 4, O_IN = 68, O_IN2 = 72, O_SHAPE = 76, O_PERCH = 148, O_NW = 152, O_NB = 160, O_NR = 164,
       O_SX = 168, O_SX2 = 176, O_SY = 184, O_ZX = 192, O_ZX2 = 196, O_ZY = 200, O_AMIN = 204, O_AMAX = 208 };
// Shape field indices (order in the file).
enum { S_IN_H, S_IN_W, S_IN_C, S_OUT_H, S_OUT_W, S_OUT_C };

static ratq_qmodel g_m;
static unsigned char *g_buf;
static size_t g_n;

static size_t op_start(int op) {
    size_t at = HDR;
    for (int i = 0; i < op; i++) {
        const ratq_qop *o = &g_m.ops[i];
        at += OPFIX + (size_t)o->n_weights + 4 * (size_t)o->n_bias + 8 * (size_t)o->n_rescale + (o->s_w ? 8 * (size_t)o->n_rescale : 0);
    }
    return at;
}
static size_t weights_at(int op) { return op_start(op) + OPFIX; }
static size_t bias_at(int op) { return weights_at(op) + (size_t)g_m.ops[op].n_weights; }
static size_t rescale_at(int op) { return bias_at(op) + 4 * (size_t)g_m.ops[op].n_bias; }
static size_t sw_at(int op) { return rescale_at(op) + 8 * (size_t)g_m.ops[op].n_rescale; }

static void put32(size_t at, int32_t v) {
    for (int i = 0; i < 4; i++) g_buf[at + i] = (unsigned char)((uint32_t)v >> (8 * i));
}
static void putf64(size_t at, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++) g_buf[at + i] = (unsigned char)(v >> (8 * i));
}

typedef struct {
    const char *name;
    const char *expect; // substring of the one stderr line (after the file name)
} bad_case;

static const bad_case CASES[] = {
    {"missing_file", "cannot open"},
    {"empty", "field 'magic': truncated"},
    {"truncated_header", "field 'arch': truncated"},
    {"truncated_op_fields", "op 1 (dwconv): field 'in_c': truncated"},
    {"truncated_weights", "op 0 (conv): field 'weights': truncated"},
    {"truncated_bias", "op 2 (conv): field 'bias': truncated"},
    {"truncated_rescale", "op 3 (add): field 'rescale': truncated"},
    {"truncated_scales", "op 7 (fc): field 's_w': truncated"},
    {"missing_ops", "op 8 (?): field 'kind': truncated"},
    {"wrong_magic", "field 'magic': not a ratq integer model"},
    {"wrong_version", "field 'version': 2, this ratq reads version 1"},
    {"bad_k", "field 'k': 0 outside 1..31"},
    {"bad_rounding", "field 'rounding': unknown rounding mode 7"},
    {"bad_input_scale", "field 'input_scale': nan is not a finite positive scale"},
    {"zero_ops", "field 'n_ops': 0, a model needs at least one op"},
    {"unknown_kind", "op 4 (?): field 'kind': unknown op kind 9"},
    {"name_unterminated", "op 0 (conv): field 'name': not NUL-terminated"},
    {"forward_input", "op 3 (add): field 'in2': 5, must be -1 (network input) or an earlier op 0..2"},
    {"shape_mismatch", "op 1 (dwconv): field 'in_c': 7 does not match the output channels 8 of its input 0"},
    {"conv_geometry", "op 0 (conv): field 'out_h': inconsistent conv geometry"},
    {"zero_point_mismatch", "op 1 (dwconv): field 'z_x': -127 does not match the output zero point -128 of its input 0"},
    {"scale_mismatch", "op 5 (conv): field 's_x'"},
    {"n_weights_mismatch", "op 2 (conv): field 'n_weights': 33 does not match the geometry (32)"},
    {"n_rescale_mismatch", "op 5 (conv): field 'n_rescale': 16 does not match the op (1)"},
    {"weight_minus_128", "op 1 (dwconv): field 'weights': element 5 is -128, outside -127..127"},
    {"rescale_m_range", "op 0 (conv): field 'rescale': element 3: m = 16 outside [2^3, 2^4)"},
    {"rescale_s_range", "op 7 (fc): field 'rescale': element 0: s = 40 outside -27..35"},
    {"zero_point_range", "op 6 (gap): field 'z_y': 128 outside -128..127"},
    {"clamp_order", "op 0 (conv): field 'act_max': -129 outside act_min..127"},
    {"scale_nan", "op 6 (gap): field 's_y': nan is not a finite positive scale"},
    {"weight_scale_negative", "op 7 (fc): field 's_w': element 2 is -0.5, not a finite positive scale"},
    {"avgpool_zero_point", "op 4 (avgpool): field 'z_y'"},
    {"last_op_classes", "op 7 (fc): field 'out_c': the last op's output 1 x 1 x 10 is not 1 x 1 x num_classes (11)"},
    {"trailing_bytes", "field 'end': 3 trailing bytes after the last op"},
    {"export_existing_dir", "already exists"},
};

// Apply the damage of case `name` to g_buf / g_n. Returns 0, or -1 for an unknown case.
static int damage(const char *name) {
    const size_t o0 = op_start(0), o1 = op_start(1), o2 = op_start(2), o3 = op_start(3), o4 = op_start(4);
    const size_t o5 = op_start(5), o6 = op_start(6), o7 = op_start(7);
    if (!strcmp(name, "empty")) g_n = 0;
    else if (!strcmp(name, "truncated_header")) g_n = 20;
    else if (!strcmp(name, "truncated_op_fields")) g_n = o1 + O_SHAPE + 4 * S_IN_C + 2;
    else if (!strcmp(name, "truncated_weights")) g_n = weights_at(0) + 10;
    else if (!strcmp(name, "truncated_bias")) g_n = bias_at(2) + 9;
    else if (!strcmp(name, "truncated_rescale")) g_n = rescale_at(3) + 12;
    else if (!strcmp(name, "truncated_scales")) g_n -= 1;
    else if (!strcmp(name, "missing_ops")) put32(80, 9); // n_ops 9, the file holds 8
    else if (!strcmp(name, "wrong_magic")) g_buf[0] = 'X';
    else if (!strcmp(name, "wrong_version")) put32(8, 2);
    else if (!strcmp(name, "bad_k")) put32(60, 0);
    else if (!strcmp(name, "bad_rounding")) put32(64, 7);
    else if (!strcmp(name, "bad_input_scale")) putf64(68, NAN);
    else if (!strcmp(name, "zero_ops")) put32(80, 0);
    else if (!strcmp(name, "unknown_kind")) put32(o4 + O_KIND, 9);
    else if (!strcmp(name, "name_unterminated")) memset(g_buf + o0 + O_NAME, 'a', 64);
    else if (!strcmp(name, "forward_input")) put32(o3 + O_IN2, 5);
    else if (!strcmp(name, "shape_mismatch")) put32(o1 + O_SHAPE + 4 * S_IN_C, 7);
    else if (!strcmp(name, "conv_geometry")) put32(o0 + O_SHAPE + 4 * S_OUT_H, 5);
    else if (!strcmp(name, "zero_point_mismatch")) put32(o1 + O_ZX, -127);
    else if (!strcmp(name, "scale_mismatch")) putf64(o5 + O_SX, g_m.ops[5].s_x * 1.0000001);
    else if (!strcmp(name, "n_weights_mismatch")) put32(o2 + O_NW, 33);
    else if (!strcmp(name, "n_rescale_mismatch")) put32(o5 + O_NR, 16);
    else if (!strcmp(name, "weight_minus_128")) g_buf[weights_at(1) + 5] = 0x80;
    else if (!strcmp(name, "rescale_m_range")) put32(rescale_at(0) + 8 * 3, 16);
    else if (!strcmp(name, "rescale_s_range")) put32(rescale_at(7) + 4, 40);
    else if (!strcmp(name, "zero_point_range")) put32(o6 + O_ZY, 128);
    else if (!strcmp(name, "clamp_order")) put32(o0 + O_AMAX, -129);
    else if (!strcmp(name, "scale_nan")) putf64(o6 + O_SY, NAN);
    else if (!strcmp(name, "weight_scale_negative")) putf64(sw_at(7) + 8 * 2, -0.5);
    else if (!strcmp(name, "avgpool_zero_point")) put32(o4 + O_ZY, g_m.ops[4].z_y + 1);
    else if (!strcmp(name, "last_op_classes")) put32(56, 11);
    else if (!strcmp(name, "trailing_bytes")) g_buf[g_n++] = 1, g_buf[g_n++] = 2, g_buf[g_n++] = 3;
    else if (strcmp(name, "missing_file") && strcmp(name, "export_existing_dir")) return -1;
    (void)o7;
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "list")) {
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) printf("%s\n", CASES[i].name);
        return 0;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: test_qmodel_bad CASE RATQ WORKDIR\n");
        return 2;
    }
    const char *name = argv[1], *ratq = argv[2], *dir = argv[3];
    const bad_case *c = NULL;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        if (!strcmp(CASES[i].name, name)) c = &CASES[i];
    if (!c) {
        fprintf(stderr, "test_qmodel_bad: unknown case '%s'\n", name);
        return 2;
    }
    mkdir(dir, 0777);
    // k = 4 single: rescale ranges are [8, 16) and s in -27..35.
    if (tq_build(&g_m, 99, 4, RATQ_ROUND_SINGLE)) return 1;
    char good[1100], path[1100], err[1200], cmd[16384];
    if (strlen(dir) > 900) return 2;
    snprintf(good, sizeof good, "%s/bad_%s_good.ratqm", dir, name);
    snprintf(path, sizeof path, "%s/bad_%s.ratqm", dir, name);
    snprintf(err, sizeof err, "%s/bad_%s.stderr", dir, name);
    if (ratq_qmodel_save(&g_m, good)) return 1;
    FILE *f = fopen(good, "rb");
    fseek(f, 0, SEEK_END);
    g_n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    g_buf = malloc(g_n + 16);
    CHECK_MSG(fread(g_buf, 1, g_n, f) == g_n, "read back");
    fclose(f);
    CHECK_EQ_I64(g_n, sw_at(7) + 8 * 10, "file size vs the documented layout");
    // The undamaged file loads (so the failure below is the damage's).
    snprintf(cmd, sizeof cmd, "'%s' qmodel-info --model '%s' > /dev/null", ratq, good);
    CHECK_EQ_I64(system(cmd), 0, "the good file does not load");
    remove(path);
    if (damage(name)) return 2;
    if (strcmp(name, "missing_file")) {
        f = fopen(path, "wb");
        fwrite(g_buf, 1, g_n, f);
        fclose(f);
    }
    if (!strcmp(name, "export_existing_dir")) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s.dir' && '%s' export-c --model '%s' -o '%s.dir' 2> '%s'", path, ratq, path,
                 path, err);
    } else {
        snprintf(cmd, sizeof cmd, "'%s' qmodel-info --model '%s' > /dev/null 2> '%s'", ratq, path, err);
    }
    int rc = system(cmd);
    rc = rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    f = fopen(err, "rb");
    char text[4096] = "";
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    int lines = 0;
    for (size_t i = 0; i < n; i++) lines += text[i] == '\n';
    CHECK_EQ_I64(rc, 2, "%s: exit code", name);
    CHECK_MSG(lines == 1 && strstr(text, c->expect) && strstr(text, path) && !strncmp(text, "ratq: ", 6),
              "%s: want one line 'ratq: %s...: ...%s', got %d line(s):\n%s", name, path, c->expect, lines, text);
    printf("%s: exit %d: %s", name, rc, text);
    free(g_buf);
    ratq_qmodel_free(&g_m);
    return ratq_test_finish(name);
}
