// host/quant/calib_eval.h — datasets for the quantizer: calibration and evaluation loops over host/data/data.h.
//
// Images reach the network as uint8 NHWC at the model's resolution with 3 channels:
//   stored size == resolution  -> RATQ_TF_NONE (as stored)
//   stored size  < resolution  -> RATQ_TF_EVAL with resize_to = resolution (plain upscale, no crop; e.g.
//                                 Fashion-MNIST 28x28 -> 32x32, gray replicated to RGB)
//   otherwise                  -> RATQ_TF_EVAL (torchvision Resize(res*256/224) + CenterCrop(res))
#ifndef RATQ_HOST_QUANT_DATA_H
#define RATQ_HOST_QUANT_DATA_H

#include <stdint.h>

#include "data/data.h"
#include "dist/dist.h"
#include "qmodel/qmodel.h"
#include "quant/qnet.h"

ratq_transform ratq_quant_transform(const ratq_dataset *ds, int resolution);

// Calibrate q (observers reset, min/max over the first `limit` images (all if limit <= 0), activation
// quantization set). Returns 0 or -1 after one error line.
int ratq_quant_calibrate(ratq_qnet *q, const ratq_dataset *ds, int64_t limit, int batch, int progress);

typedef struct {
    int64_t n;          // images evaluated
    int64_t top1, top5; // correct counts
    int64_t agree;      // integer top-1 == float top-1 (only when a float reference ran)
    int64_t nonfinite;  // images whose float logits hold a NaN or Inf (counted wrong; evaluation then fails)
} ratq_quant_eval_result;

typedef enum {
    RATQ_EVAL_QMODEL = 0,     // the integer model through ratq_qmodel_run (the fast CPU integer engine)
    RATQ_EVAL_FAKE = 1,       // q's fake-quant forward (bit-identical to the engine, tests/cpu/test_quant_exact.c)
    RATQ_EVAL_FLOAT = 2,      // q's float folded network
    RATQ_EVAL_QMODEL_REF = 3, // the integer model through the reference loops (kernels/cpu/int_ops.h)
} ratq_eval_mode;

// Evaluate the first `limit` images (all if <= 0) in stored order. pred (may be NULL): top-1 per image out;
// ref_pred (may be NULL): a reference top-1 per image (e.g. the float model's) counted in res->agree.
// Top-1 ties go to the lowest class index. A float row holding a NaN or Inf is a miss (a NaN compares false, so
// the plain rank test would call it a hit); after the pass such rows fail the evaluation: -1 and one error line
// with their count and the first image (res keeps the counts). Returns 0 or -1 after an error line.
int ratq_quant_evaluate(ratq_eval_mode mode, ratq_qnet *q, const ratq_qmodel *im, const ratq_dataset *ds,
                        int64_t limit, int batch, int progress, const int32_t *ref_pred, int32_t *pred,
                        ratq_quant_eval_result *res);

// The same on every rank of a data-parallel group (dist NULL = one process): each rank evaluates dataset positions
// rank, rank + world, ... of the first `limit` images (the loader's rule, host/data/data.h) and the counts are summed
// over the ranks (exact), so every rank returns the totals.
int ratq_quant_evaluate_dist(ratq_eval_mode mode, ratq_qnet *q, const ratq_qmodel *im, const ratq_dataset *ds,
                             int64_t limit, int batch, int progress, ratq_dist *dist, ratq_quant_eval_result *res);

// `ratq eval` for integer models: load a .ratqm, open the data, evaluate the first `limit` images (all if <= 0)
// with a CPU integer engine (ratq_qmodel_run_engine: fast or ref). Returns 0, or -1 after an error line.
int ratq_qmodel_eval(const char *model_path, const char *data_path, int64_t limit, int batch, int progress,
                     ratq_engine engine, ratq_quant_eval_result *res);

// Top-k hit helpers over int8 / float score rows (ties: lower index ranks first). A float row with any NaN or
// Inf is never a hit (ratq_quant_row_finite).
int ratq_quant_topk_hit_i8(const int8_t *s, int n, int label, int k);
int ratq_quant_topk_hit_f32(const float *s, int n, int label, int k);
int ratq_quant_argmax_f32(const float *s, int n);
int ratq_quant_row_finite(const float *s, int n); // 1 if every s[i] is finite

#endif
