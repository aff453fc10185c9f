// test_qmodel_export.c — `ratq export-c` end to end: build the test model (k=4 single, k=31 tflite, and the k=31
// model swept to k=3 by export-c --rescale-bits), export it with the ratq command, compile the tree with a plain
// C compiler (make, -Wall -Wextra, warnings are errors here), run ./classify on random images (raw and PPM) and
// require its lines to equal both `ratq qmodel-info --image` and ratq_qmodel_run in this process, exactly.
// argv: RATQ (the ratq binary), CC (a C compiler), WORKDIR, [CC2] (a second compiler, e.g. clang: the k=4 tree is
// rebuilt with it and must print the same lines).
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_qmodel_common.h"

static const char *g_ratq, *g_cc, *g_dir, *g_cc2;

static int run(const char *cmd) {
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc)) return -1;
    return WEXITSTATUS(rc);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

enum { N_IMAGES = 6 };

// m: a built model (freed here); sweep_k: 0, or export with --rescale-bits sweep_k --rounding single.
static void test_export(ratq_qmodel *mp, uint64_t seed, int sweep_k) {
    ratq_qmodel m = *mp;
    const int k = m.k, PX = m.in_h * m.in_w * m.in_c, NC = m.num_classes;
    char tag[96], model[2300], out[2300], cmd[8192], img[N_IMAGES][2300], list[N_IMAGES * 2310] = "";
    snprintf(tag, sizeof tag, "%s k=%d %s%s", m.arch, k, ratq_qmodel_rounding_name(m.rounding), sweep_k ? " swept" : "");
    snprintf(model, sizeof model, "%s/export_%s_%d_%d.ratqm", g_dir, m.arch, k, sweep_k);
    snprintf(out, sizeof out, "%s/export_%s_%d_%d", g_dir, m.arch, k, sweep_k);
    CHECK_MSG(ratq_qmodel_save(&m, model) == 0, "%s: save", tag);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    run(cmd);
    // The reference: the model as export-c sees it (with the optional sweep applied here too).
    if (sweep_k) CHECK_MSG(ratq_qmodel_with_bits(&m, sweep_k, RATQ_ROUND_SINGLE) == 0, "%s: with_bits", tag);
    if (sweep_k)
        snprintf(cmd, sizeof cmd, "'%s' export-c --model '%s' -o '%s' --rescale-bits %d --rounding single", g_ratq,
                 model, out, sweep_k);
    else
        snprintf(cmd, sizeof cmd, "'%s' export-c --model '%s' -o '%s'", g_ratq, model, out);
    CHECK_EQ_I64(run(cmd), 0, "%s: %s", tag, cmd);
    // Exporting over an existing directory is refused (exit 2) and leaves it alone.
    snprintf(cmd, sizeof cmd, "'%s' export-c --model '%s' -o '%s' 2>/dev/null", g_ratq, model, out);
    CHECK_EQ_I64(run(cmd), 2, "%s: export over an existing directory", tag);
    snprintf(cmd, sizeof cmd, "make -s -C '%s' CC='%s' 'CFLAGS=-std=c11 -O2 -Wall -Wextra -Werror -ffp-contract=off'", out, g_cc);
    CHECK_EQ_I64(run(cmd), 0, "%s: the exported tree does not build warning-free: %s", tag, cmd);

    // Images: even ones raw, odd ones PPM; one all-255 and one all-0 image among them.
    uint64_t st = seed * 77 + 5;
    uint8_t(*px)[PX] = malloc((size_t)N_IMAGES * (size_t)PX);
    for (int i = 0; i < N_IMAGES; i++) {
        tq_random_u8(&st, px[i], PX);
        if (i == 0) memset(px[i], 255, PX);
        if (i == 1) memset(px[i], 0, PX);
        snprintf(img[i], sizeof img[i], "%s/img_%s_%d_%d_%d.%s", g_dir, m.arch, k, sweep_k, i, i % 2 ? "ppm" : "raw");
        FILE *f = fopen(img[i], "wb");
        if (i % 2) fprintf(f, "P6\n# test image\n%d %d\n255\n", m.in_w, m.in_h);
        fwrite(px[i], 1, PX, f);
        fclose(f);
        strcat(list, " '"), strcat(list, img[i]), strcat(list, "'");
    }
    char got_path[2400], ref_path[2400];
    snprintf(got_path, sizeof got_path, "%s.classify.txt", out);
    snprintf(ref_path, sizeof ref_path, "%s.ratq.txt", out);
    snprintf(cmd, sizeof cmd, "'%s/classify'%s > '%s'", out, list, got_path);
    CHECK_EQ_I64(run(cmd), 0, "%s: classify", tag);
    char ilist[N_IMAGES * 2320] = "";
    for (int i = 0; i < N_IMAGES; i++) strcat(ilist, " --image '"), strcat(ilist, img[i]), strcat(ilist, "'");
    if (sweep_k)
        snprintf(cmd, sizeof cmd, "'%s' qmodel-info --model '%s' --rescale-bits %d --rounding single%s > '%s'", g_ratq,
                 model, sweep_k, ilist, ref_path);
    else
        snprintf(cmd, sizeof cmd, "'%s' qmodel-info --model '%s'%s > '%s'", g_ratq, model, ilist, ref_path);
    CHECK_EQ_I64(run(cmd), 0, "%s: qmodel-info --image", tag);
    char *got = slurp(got_path), *ref = slurp(ref_path);
    CHECK_MSG(got && ref && !strcmp(got, ref), "%s: exported classify and ratq qmodel-info differ:\n%s---\n%s", tag,
              got ? got : "(none)", ref ? ref : "(none)");
    // And both equal the in-process executor.
    const char *line = got;
    for (int i = 0; line && i < N_IMAGES; i++) {
        int8_t *in = malloc((size_t)PX), *lq = malloc((size_t)NC);
        ratq_qmodel_input_from_u8(&m, px[i], PX, in);
        CHECK_MSG(ratq_qmodel_run(&m, in, 1, NULL, lq, NULL) == 0, "%s: run", tag);
        char *want = malloc(2400 + 5 * (size_t)NC);
        int n = sprintf(want, "%s: class %d logits", img[i], ratq_qmodel_argmax(lq, NC));
        for (int c = 0; c < NC; c++) n += sprintf(want + n, " %d", lq[c]);
        const char *eol = strchr(line, '\n');
        const size_t len = eol ? (size_t)(eol - line) : strlen(line);
        CHECK_MSG(len == strlen(want) && !strncmp(line, want, len), "%s: image %d: classify printed\n  %.*s\nwant\n  %s",
                  tag, i, (int)len, line, want);
        line = eol ? eol + 1 : NULL;
        free(in), free(lq), free(want);
    }
    // A second compiler (clang when CMake found one): the same tree, the same lines.
    if (g_cc2 && !sweep_k && !strcmp(m.arch, "qtest")) {
        char got2_path[2400];
        snprintf(got2_path, sizeof got2_path, "%s.classify2.txt", out);
        snprintf(cmd, sizeof cmd,
                 "make -s -C '%s' clean && make -s -C '%s' CC='%s' 'CFLAGS=-std=c11 -O2 -Wall -Wextra -Werror -ffp-contract=off'",
                 out, out, g_cc2);
        CHECK_EQ_I64(run(cmd), 0, "%s: the exported tree does not build warning-free with %s", tag, g_cc2);
        snprintf(cmd, sizeof cmd, "'%s/classify'%s > '%s'", out, list, got2_path);
        CHECK_EQ_I64(run(cmd), 0, "%s: classify (%s)", tag, g_cc2);
        char *got2 = slurp(got2_path);
        CHECK_MSG(got2 && got && !strcmp(got2, got), "%s: %s and %s builds print different lines", tag, g_cc, g_cc2);
        free(got2);
    }
    // A mis-sized image is a one-line error with exit 2 in both programs.
    snprintf(cmd, sizeof cmd, "'%s/classify' '%s' 2>/dev/null", out, model);
    CHECK_EQ_I64(run(cmd), 2, "%s: classify on a non-image", tag);
    snprintf(cmd, sizeof cmd, "'%s' qmodel-info --model '%s' --image '%s' 2>/dev/null", g_ratq, model, model);
    CHECK_EQ_I64(run(cmd), 2, "%s: qmodel-info on a non-image", tag);
    free(got), free(ref), free(px);
    ratq_qmodel_free(&m);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: test_qmodel_export RATQ CC WORKDIR [CC2]\n");
        return 2;
    }
    g_ratq = argv[1], g_cc = argv[2], g_dir = argv[3];
    g_cc2 = argc > 4 && argv[4][0] ? argv[4] : NULL;
    mkdir(g_dir, 0777);
    ratq_qmodel m;
    CHECK_MSG(tq_build(&m, 21, 4, RATQ_ROUND_SINGLE) == 0, "build k=4");
    if (m.n_ops) test_export(&m, 21, 0);
    CHECK_MSG(tq_build(&m, 22, 31, RATQ_ROUND_TFLITE) == 0, "build k=31");
    if (m.n_ops) test_export(&m, 22, 0);
    CHECK_MSG(tq_build(&m, 23, 31, RATQ_ROUND_TFLITE) == 0, "build k=31 (swept)");
    if (m.n_ops) test_export(&m, 23, 3);
    // The EfficientNet-Lite graph (tiny config: stem, MBConv blocks with residual adds, head, gap, fc).
    CHECK_MSG(tq_build_effnet(&m, "tiny", 24, 4, RATQ_ROUND_SINGLE) == 0, "build tiny k=4");
    if (m.n_ops) test_export(&m, 24, 0);
    return ratq_test_finish("test_qmodel_export");
}
