// cmd_qmodel_info.c — `ratq qmodel-info --model QMODEL [--image IMAGE]... [--rescale-bits K] [--rounding MODE]`
//
// Loads (and fully validates) an integer model. Without --image it prints the header and the op table
// (kind, inputs, geometry, zero points, clamp, rescaler range). With --image it classifies each image on the
// CPU integer engine and prints only "IMAGE: class C logits l0 l1 ..." per image — the exact line the exported
// C program (`ratq export-c`) prints. IMAGE: raw u8 h*w*c bytes or a binary PPM (P6, maxval 255).
// Exit codes: 0, 2 bad input or usage (one error line).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "qmodel/internal.h"

static void print_table(const ratq_qmodel *m, const char *path) {
    int64_t weights = 0;
    for (int i = 0; i < m->n_ops; i++) weights += m->ops[i].n_weights;
    printf("%s: arch %s, input %dx%dx%d (scale %.9g, zero point %d), %d classes, %d ops, %lld weights, k = %d, "
           "rounding %s\n",
           path, m->arch, m->in_h, m->in_w, m->in_c, m->input_scale, (int)m->input_zero_point, m->num_classes,
           m->n_ops, (long long)weights, m->k, ratq_qmodel_rounding_name(m->rounding));
    printf("%4s %-7s %4s %4s %-14s %-14s %-9s %5s %5s %-11s %-13s %s\n", "op", "kind", "in", "in2", "input", "output",
           "kernel/s", "z_x", "z_y", "clamp", "m range", "name");
    for (int i = 0; i < m->n_ops; i++) {
        const ratq_qop *op = &m->ops[i];
        const ratq_conv_shape *s = &op->shape;
        char in[32], out[32], win[32] = "-", clamp[32], mr[32] = "-";
        snprintf(in, sizeof in, "%dx%dx%d", s->in_h, s->in_w, s->in_c);
        snprintf(out, sizeof out, "%dx%dx%d", s->out_h, s->out_w, s->out_c);
        if (op->kind == RATQ_QOP_CONV || op->kind == RATQ_QOP_DWCONV || op->kind == RATQ_QOP_AVGPOOL)
            snprintf(win, sizeof win, "%dx%d/%d", s->kernel_h, s->kernel_w, s->stride_h);
        snprintf(clamp, sizeof clamp, "[%d,%d]", (int)op->act_min, (int)op->act_max);
        if (op->n_rescale) {
            int32_t lo = op->rescale[0].m, hi = lo;
            for (int j = 1; j < op->n_rescale; j++) {
                if (op->rescale[j].m < lo) lo = op->rescale[j].m;
                if (op->rescale[j].m > hi) hi = op->rescale[j].m;
            }
            snprintf(mr, sizeof mr, "%d..%d", (int)lo, (int)hi);
        }
        char in2[16] = "-";
        if (op->kind == RATQ_QOP_ADD) snprintf(in2, sizeof in2, "%d", op->in2);
        printf("%4d %-7s %4d %4s %-14s %-14s %-9s %5d %5d %-11s %-13s %s\n", i, ratq_qop_kind_name(op->kind), op->in,
               in2, in, out, win, (int)op->z_x, (int)op->z_y, clamp, mr, op->name);
    }
}

int cmd_qmodel_info(int argc, char **argv) {
    const char *model = NULL;
    const char **images = calloc((size_t)argc, sizeof *images);
    int n_images = 0, k = 0, rounding = RATQ_ROUND_SINGLE, rc = 0;
    if (!images) return 2;
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model, "QMODEL", "the integer model (.ratqm), fully validated"),
         .required = 1},
        {RATQ_OPT("--image", RATQ_OPT_STRINGS, images, "IMAGE",
                  "classify IMAGE (raw u8 h*w*c bytes or binary PPM) instead of printing the op table;\nrepeatable"),
         .count = &n_images, .max_count = argc},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT, &k, "K", "re-derive every rescaler at K bits first"),
         .lo = RATQ_K_MIN, .hi = RATQ_K_MAX},
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rounding, NULL, "rounding of the rescalers (default: the model's)"),
         .names = RATQ_CLI_ROUNDING_NAMES, .values = RATQ_CLI_ROUNDING_VALUES},
    };
    ratq_cli cli = {RATQ_CLI("qmodel-info", "qmodel-info --model QMODEL [--image IMAGE]... [--rescale-bits K] "
                             "[--rounding tflite|single|half_even]", NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) {
        free(images);
        return ratq_cli_exit(pr);
    }
    const int have_rounding = ratq_cli_find(&cli, "--rounding")->seen;
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, model)) {
        free(images);
        return 2;
    }
    if ((k || have_rounding) && ratq_qmodel_with_bits(&m, k ? k : m.k, have_rounding ? (ratq_rounding)rounding : m.rounding)) rc = 2;
    if (!rc && n_images == 0) print_table(&m, model);
    const size_t px = (size_t)m.in_h * m.in_w * m.in_c;
    uint8_t *u8 = n_images ? malloc(px) : NULL;
    int8_t *q = n_images ? malloc(px) : NULL;
    int8_t *logits = malloc((size_t)m.num_classes);
    if (n_images && (!u8 || !q || !logits)) {
        ratq_error("%s: out of memory", model);
        rc = 2;
    }
    for (int i = 0; !rc && i < n_images; i++) {
        if (ratq_qmodel_read_image(images[i], m.in_h, m.in_w, m.in_c, u8)) {
            rc = 2;
            break;
        }
        ratq_qmodel_input_from_u8(&m, u8, (int64_t)px, q);
        if (ratq_qmodel_run(&m, q, 1, NULL, logits, NULL)) {
            rc = 2;
            break;
        }
        printf("%s: class %d logits", images[i], ratq_qmodel_argmax(logits, m.num_classes));
        for (int c = 0; c < m.num_classes; c++) printf(" %d", logits[c]);
        printf("\n");
    }
    free(u8);
    free(q);
    free(logits);
    free(images);
    ratq_qmodel_free(&m);
    return rc;
}
