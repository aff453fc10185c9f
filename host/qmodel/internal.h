// host/qmodel/internal.h — shared between qmodel.c (build, checks), host/qmodel/file.c (save/load) and the commands:
// the per-op validation in two halves so the loader can check declared sizes before it reads any array.
#ifndef RATQ_HOST_QMODEL_INTERNAL_H
#define RATQ_HOST_QMODEL_INTERNAL_H

#include "qmodel/qmodel.h"

// Every error line: "<what>: op <idx> (<kind>): field '<field>': <message>" (what = file name or "model").
void ratq_qop_error(const char *what, int idx, int kind, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

// Check the model header fields (everything before the ops). Returns 0 or -1 after one error line.
int ratq_qmodel_check_header(const ratq_qmodel *m, const char *what);
// Check op idx's fixed fields against the model header and ops[0..idx-1] (kind, name, inputs, geometry,
// per_channel, scales, zero points, clamp), then compute its n_weights / n_bias / n_rescale into *op.
int ratq_qop_check_fields(const ratq_qmodel *m, int idx, ratq_qop *op, const char *what);
// Check op idx's arrays (weights -127..127, rescalers valid for m->k, weight scales finite and > 0).
int ratq_qop_check_arrays(const ratq_qmodel *m, int idx, const ratq_qop *op, const char *what);
// Allocate op's arrays for its n_weights / n_bias / n_rescale in one block (op->weights etc. point into it;
// the block is op->weights if n_weights > 0, else op->bias, else op->rescale). Returns 0 or -1 (no memory).
int ratq_qop_alloc(ratq_qop *op);
void ratq_qop_release(ratq_qop *op);
// Derive op's rescalers from its real scales at k bits (rules in qmodel.h) into op->rescale.
int ratq_qop_derive_rescale(const ratq_qop *op, int k, ratq_rounding rounding, ratq_rescale *out);
// Grow m->ops by one. Returns 0 or -1.
int ratq_qmodel_reserve_op(ratq_qmodel *m);
// Read a u8 image of h x w x c: a raw file of exactly h*w*c bytes, or a binary PPM (P6, maxval 255, c = 3)
// of that size. Returns 0 or -1 after one error line naming the file.
int ratq_qmodel_read_image(const char *path, int h, int w, int c, uint8_t *out);

#endif
