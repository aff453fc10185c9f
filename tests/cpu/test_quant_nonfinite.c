// test_quant_nonfinite.c — a NaN or Inf logit is a wrong answer, never a hit, and evaluation reports it (issue 12):
//   the top-k helpers on rows holding NaN / +Inf / -Inf (a NaN compares false, so a bare rank test counts a hit);
//   ratq_quant_evaluate (float mode, as quantize / sweep / train / run use it) on the tiny network whose
//   classifier weights are 3e38: every logit row overflows, the call fails and the counts say so (top-1 = 0).
#include <math.h>
#include <string.h>

#include "quant/calib_eval.h"
#include "test_quant_common.h"
#include "test_quant_fmnist.h"

int main(void) {
    const float nan = NAN, inf = INFINITY;
    const float ok[4] = {0.1f, 2.0f, -1.0f, 0.5f}, row_nan[4] = {nan, nan, nan, nan}, lab_nan[4] = {0.1f, nan, 0, 0},
                other_nan[4] = {0.1f, 2.0f, nan, 0.5f}, row_inf[4] = {0.1f, inf, -1.0f, 0.5f},
                row_minf[4] = {-inf, 2.0f, -1.0f, 0.5f};
    CHECK_MSG(ratq_quant_topk_hit_f32(ok, 4, 1, 1) == 1, "finite row: label 1 is top-1");
    CHECK_MSG(ratq_quant_topk_hit_f32(row_nan, 4, 0, 1) == 0, "all-NaN row counted as a top-1 hit");
    CHECK_MSG(ratq_quant_topk_hit_f32(row_nan, 4, 2, 4) == 0, "all-NaN row counted as a top-4 hit");
    CHECK_MSG(ratq_quant_topk_hit_f32(lab_nan, 4, 1, 1) == 0, "NaN label logit counted as a hit");
    CHECK_MSG(ratq_quant_topk_hit_f32(other_nan, 4, 1, 1) == 0, "row with a NaN counted as a hit");
    CHECK_MSG(ratq_quant_topk_hit_f32(row_inf, 4, 1, 1) == 0, "+Inf logit counted as a hit");
    CHECK_MSG(ratq_quant_topk_hit_f32(row_minf, 4, 1, 1) == 0, "row with -Inf counted as a hit");
    CHECK_MSG(ratq_quant_row_finite(ok, 4) && !ratq_quant_row_finite(row_minf, 4), "row_finite");

    ratq_effnet_config cfg;
    ratq_effnet m;
    ratq_qnet q;
    CHECK_MSG(ratq_effnet_config_from_name("tiny", 10, 32, &cfg) == 0 && ratq_effnet_build(&m, &cfg) == 0, "build");
    if (ratq_test_failures) return 1;
    tq_random_model(&m, 99);
    const ratq_tensor_info *fc = &m.tensors[ratq_effnet_find_tensor(&m, "_fc.weight")];
    for (size_t j = 0; j < fc->count; j++) m.params[fc->offset + j] = 3e38f;
    CHECK_MSG(ratq_qnet_from_effnet(&q, &m) == 0, "from_effnet");
    ratq_dataset *ds = tf_open("t10k");
    ratq_quant_eval_result r;
    fprintf(stderr, "(expected error follows)\n");
    int rc = ratq_quant_evaluate(RATQ_EVAL_FLOAT, &q, NULL, ds, 16, 8, 0, NULL, NULL, &r);
    CHECK_MSG(rc == -1, "evaluation with Inf/NaN logits returned %d, want -1", rc);
    CHECK_EQ_I64(r.n, 16, "images evaluated");
    CHECK_EQ_I64(r.nonfinite, 16, "images with non-finite logits");
    CHECK_EQ_I64(r.top1, 0, "top-1 hits among non-finite rows");
    CHECK_EQ_I64(r.top5, 0, "top-5 hits among non-finite rows");
    ratq_data_close(ds);
    ratq_qnet_free(&q);
    ratq_effnet_free(&m);
    return ratq_test_finish("test_quant_nonfinite");
}
