// cmd_qmodel_trace.c — `ratq qmodel-trace --model M.ratqm --data DATA [--images N] [--rounding R] -o TRACE`:
// run the first N images (default 8) of a dataset through the CPU integer engine and write the network input
// and every op's int8 output, so another runtime can be compared with ratq op by op (scripts/tflite/judge.py).
// Images go through the loader as in `ratq eval` (ratq_quant_transform) and ratq_qmodel_input_from_u8.
// --rounding / --rescale-bits re-derive the rescalers as `qmodel-info` does (ratq_qmodel_with_bits).
// TRACE layout (little-endian), written atomically:
//   "RATQTRC1" (8 bytes), i32 n_images, i32 n_ops, i32 in_count, i32 out_count[n_ops]
//   then per image: i32 label, i8 input[in_count], i8 op_0[out_count[0]], ..., i8 op_{n-1}[...]
// Exit codes: 0, 2 bad input or usage (one error line).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "data/data.h"
#include "qmodel/qmodel.h"
#include "quant/calib_eval.h"

static void put_i32(FILE *f, int32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static int write_trace(const ratq_qmodel *m, ratq_loader *ld, int n, const char *out) {
    const int64_t in_count = (int64_t)m->in_h * m->in_w * m->in_c;
    int8_t **acts = calloc((size_t)m->n_ops, sizeof *acts);
    int8_t *q = malloc((size_t)in_count);
    int rc = acts && q ? 0 : -1;
    for (int i = 0; !rc && i < m->n_ops; i++)
        if (!(acts[i] = malloc((size_t)ratq_qop_out_count(&m->ops[i])))) rc = -1;
    if (rc) ratq_error("qmodel-trace: out of memory");
    ratq_atomic_file af;
    int opened = 0;
    if (!rc && ratq_atomic_open(&af, out)) rc = -1;
    if (!rc) {
        opened = 1;
        fwrite("RATQTRC1", 1, 8, af.f);
        put_i32(af.f, n), put_i32(af.f, m->n_ops), put_i32(af.f, (int32_t)in_count);
        for (int i = 0; i < m->n_ops; i++) put_i32(af.f, (int32_t)ratq_qop_out_count(&m->ops[i]));
    }
    int done = 0;
    ratq_batch b;
    while (!rc && done < n) {
        int r = ratq_loader_next(ld, &b);
        if (r != 1) {
            if (r == 0) ratq_error("qmodel-trace: the data has fewer than %d images", n);
            rc = -1;
            break;
        }
        if (b.h != m->in_h || b.w != m->in_w || b.c != m->in_c) {
            ratq_error("qmodel-trace: images are %dx%dx%d, the model takes %dx%dx%d", b.h, b.w, b.c, m->in_h, m->in_w,
                       m->in_c);
            rc = -1;
            break;
        }
        for (int j = 0; !rc && j < b.n && done < n; j++, done++) {
            ratq_qmodel_input_from_u8(m, b.images + (size_t)j * in_count, in_count, q);
            if (ratq_qmodel_run(m, q, 1, acts, NULL, NULL)) {
                rc = -1;
                break;
            }
            put_i32(af.f, (int32_t)b.labels[j]);
            fwrite(q, 1, (size_t)in_count, af.f);
            for (int i = 0; i < m->n_ops; i++) fwrite(acts[i], 1, (size_t)ratq_qop_out_count(&m->ops[i]), af.f);
        }
    }
    if (opened && !rc && ratq_atomic_commit(&af)) rc = -1;
    else if (opened && rc) ratq_atomic_abort(&af);
    for (int i = 0; acts && i < m->n_ops; i++) free(acts[i]);
    free(acts);
    free(q);
    return rc;
}

int cmd_qmodel_trace(int argc, char **argv) {
    const char *model = NULL, *data = NULL, *out = NULL;
    int n = 8, k = 0, rounding_i = RATQ_ROUND_TFLITE;
    ratq_opt opts[] = {
        {RATQ_OPT("--model", RATQ_OPT_STRING, &model, "M.ratqm", "the integer model"), .required = 1},
        {RATQ_OPT("--data", RATQ_OPT_STRING, &data, "DATA", "images (any dataset `ratq eval` reads)"), .required = 1},
        {RATQ_OPT("-o", RATQ_OPT_STRING, &out, "TRACE", "output trace (layout in cmd_qmodel_trace.c)"),
         .alias = "--output", .required = 1},
        {RATQ_OPT("--images", RATQ_OPT_INT, &n, "N", "the first N images (default 8)"), .lo = 1, .hi = 1000000},
        {RATQ_OPT("--rescale-bits", RATQ_OPT_INT, &k, "K", "re-derive every rescaler at K bits first"),
         .lo = RATQ_K_MIN, .hi = RATQ_K_MAX},
        {RATQ_OPT("--rounding", RATQ_OPT_ENUM, &rounding_i, NULL, "rounding of the rescalers (default: the model's)"),
         .names = RATQ_CLI_ROUNDING_NAMES, .values = RATQ_CLI_ROUNDING_VALUES},
    };
    ratq_cli cli = {RATQ_CLI("qmodel-trace", "qmodel-trace --model M.ratqm --data DATA [--images N] [--rescale-bits K] "
                             "[--rounding tflite|single|half_even] -o TRACE", NULL, opts)};
    int pr = ratq_cli_parse(&cli, argc, argv);
    if (pr != RATQ_CLI_OK) return ratq_cli_exit(pr);
    const int have_rounding = ratq_cli_find(&cli, "--rounding")->seen;
    const ratq_rounding rounding = (ratq_rounding)rounding_i;
    ratq_qmodel m;
    if (ratq_qmodel_load(&m, model)) return 2;
    int rc = 0;
    if ((k || have_rounding) && ratq_qmodel_with_bits(&m, k ? k : m.k, have_rounding ? rounding : m.rounding))
        rc = 2;
    ratq_dataset *ds = rc ? NULL : ratq_data_open(data, NULL);
    if (!rc && !ds) rc = 2;
    ratq_loader *ld = NULL;
    if (!rc) {
        ratq_loader_config lc = ratq_loader_config_default();
        lc.batch_size = 8;
        lc.tf = ratq_quant_transform(ds, m.in_h);
        ld = ratq_loader_create(ds, &lc);
        if (!ld || ratq_loader_start_epoch(ld, 0) != 0) rc = 2;
    }
    if (!rc && write_trace(&m, ld, (int)n, out)) rc = 2;
    if (ld) ratq_loader_destroy(ld);
    if (ds) ratq_data_close(ds);
    ratq_qmodel_free(&m);
    return rc;
}
