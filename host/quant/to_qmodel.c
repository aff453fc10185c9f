// host/quant/to_qmodel.c — a quantized ratq_qnet as an integer model (host/qmodel/qmodel.h). The exact (m, s) the fake-quant
// forward used are passed along, so ratq_qmodel_run equals ratq_qnet_forward bit for bit (tests/cpu/
// test_quant_exact.c checks every op's output).
#include <string.h>

#include "common/io.h"
#include "quant/to_qmodel.h"

static ratq_conv_shape plain_shape(int in_h, int in_w, int in_c, int out_h, int out_w, int out_c) {
    ratq_conv_shape s = {0};
    s.batch = 1;
    s.in_h = in_h;
    s.in_w = in_w;
    s.in_c = in_c;
    s.out_h = out_h;
    s.out_w = out_w;
    s.out_c = out_c;
    s.kernel_h = s.kernel_w = s.stride_h = s.stride_w = s.dilation_h = s.dilation_w = 1;
    s.groups = s.depth_multiplier = 1;
    return s;
}

int ratq_qnet_to_qmodel(const ratq_qnet *q, ratq_qmodel *out) {
    if (!q->quantized) {
        ratq_error("quantize: export before quantization");
        return -1;
    }
    if (ratq_qmodel_init(out, q->arch, q->resolution, q->resolution, q->in_c, q->num_classes, q->opt.k,
                         q->opt.rounding, (double)q->in.scale, q->in.zp) != 0)
        return -1;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        const ratq_qact *x = o->src >= 0 ? &q->ops[o->src].out : &q->in;
        ratq_qop op;
        memset(&op, 0, sizeof op);
        snprintf(op.name, sizeof op.name, "%s", o->name);
        op.in = o->src;
        op.in2 = -2;
        op.s_x = x->scale;
        op.z_x = x->zp;
        op.s_y = o->out.scale;
        op.z_y = o->out.zp;
        op.act_min = o->out.lo;
        op.act_max = o->out.hi;
        ratq_rescale add_rs[3];
        switch (o->kind) {
        case RATQ_QN_CONV:
        case RATQ_QN_DWCONV:
        case RATQ_QN_FC:
            op.kind = o->kind == RATQ_QN_CONV ? RATQ_QOP_CONV : (o->kind == RATQ_QN_DWCONV ? RATQ_QOP_DWCONV : RATQ_QOP_FC);
            op.shape = o->kind == RATQ_QN_FC ? plain_shape(1, 1, o->per_oc, 1, 1, o->oc) : o->sh;
            op.shape.batch = 1;
            op.per_channel = 1;
            op.weights = o->wq;
            op.bias = o->bq;
            op.rescale = o->rs;
            op.s_w = o->w_scale;
            break;
        case RATQ_QN_ADD: {
            const ratq_qact *b = o->src2 >= 0 ? &q->ops[o->src2].out : &q->in;
            op.kind = RATQ_QOP_ADD;
            op.in2 = o->src2;
            op.s_x2 = b->scale;
            op.z_x2 = b->zp;
            op.shape = plain_shape(o->h, o->w, o->c, o->oh, o->ow, o->oc);
            add_rs[0] = o->addp.input1;
            add_rs[1] = o->addp.input2;
            add_rs[2] = o->addp.output;
            op.rescale = add_rs;
            break;
        }
        case RATQ_QN_GAP:
            op.kind = RATQ_QOP_GAP;
            op.shape = plain_shape(o->h, o->w, o->c, 1, 1, o->oc);
            op.rescale = (ratq_rescale *)&o->gap_rs;
            break;
        }
        if (ratq_qmodel_append(out, &op) < 0) {
            ratq_qmodel_free(out);
            return -1;
        }
    }
    if (ratq_qmodel_check(out, "model") != 0) {
        ratq_qmodel_free(out);
        return -1;
    }
    return 0;
}
