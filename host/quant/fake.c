// host/quant/fake.c — quantization of the master weights, the integer (fake-quant) forward and the STE backward.
// Formulas, tie rules and layouts: host/quant/qnet.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "math/quant_grid.h"
#include "quant/qnet.h"

static size_t op_out(const ratq_qnop *o) { return (size_t)o->oh * o->ow * o->oc; }

static const ratq_qact *src_act(const ratq_qnet *q, int src) { return src >= 0 ? &q->ops[src].out : &q->in; }

int ratq_qnet_quantize(ratq_qnet *q, const ratq_quant_options *opt) {
    if (!q->calibrated) {
        ratq_error("quantize: the network is not calibrated");
        return -1;
    }
    if (opt->k < RATQ_K_MIN || opt->k > RATQ_K_MAX) {
        ratq_error("quantize: rescale bits %d outside 1..31", opt->k);
        return -1;
    }
    q->opt = *opt;
    for (int i = 0; i < q->n_ops; i++) {
        ratq_qnop *o = &q->ops[i];
        const ratq_qact *x = src_act(q, o->src);
        const double sx = x->scale, sy = o->out.scale;
        if (o->kind == RATQ_QN_ADD) {
            const ratq_qact *b = src_act(q, o->src2);
            if (ratq_add_params_from_scales(sx, x->zp, b->scale, b->zp, sy, o->out.zp, opt->k, opt->rounding,
                                            &o->addp) != 0) {
                ratq_error("quantize: %s: add multipliers out of range", o->name);
                return -1;
            }
            o->addp.act_min = o->out.lo;
            o->addp.act_max = o->out.hi;
            double lift = (double)(1 << o->addp.left_shift) * sy * ratq_rescale_to_real(o->addp.output);
            o->ratio_a = (float)(lift * ratq_rescale_to_real(o->addp.input1) / sx);
            o->ratio_b = (float)(lift * ratq_rescale_to_real(o->addp.input2) / b->scale);
            continue;
        }
        if (o->kind == RATQ_QN_GAP) {
            const int64_t hw = (int64_t)o->h * o->w;
            if (ratq_rescale_from_real(ratq_gap_multiplier(sx, sy, hw), opt->k, &o->gap_rs) != 0) {
                ratq_error("quantize: %s: mean multiplier out of range", o->name);
                return -1;
            }
            o->ratio_a = (float)(sy * ratq_rescale_to_real(o->gap_rs) * (double)hw / sx);
            continue;
        }
        const float *w = q->params + o->w_off, *b = q->params + o->b_off;
        for (int c = 0; c < o->oc; c++) {
            // weights of channel c: CONV/FC contiguous w[c][j]; DW strided w[j][c]
            const size_t stride = o->kind == RATQ_QN_DWCONV ? (size_t)o->oc : 1;
            const size_t base = o->kind == RATQ_QN_DWCONV ? (size_t)c : (size_t)c * o->per_oc;
            double amax = 0;
            for (int j = 0; j < o->per_oc; j++) {
                double a = fabs((double)w[base + j * stride]);
                if (!(a <= 3.4e38)) {
                    ratq_error("quantize: %s: weight of channel %d is not finite", o->name, c);
                    return -1;
                }
                if (a > amax) amax = a;
            }
            double sw, M;
            ratq_rescale r;
            float ratio;
            if (ratq_weight_channel_grid(amax, b[c], sx, sy, opt->k, opt->snap, &sw, &r, &ratio, &M) != 0) goto range;
            o->w_scale[c] = sw;
            o->rs[c] = r;
            o->ratio[c] = ratio;
            for (int j = 0; j < o->per_oc; j++) {
                const size_t idx = base + j * stride;
                const int8_t v = ratq_quantize_weight_s8((double)w[idx], sw);
                o->wq[idx] = v;
                o->wr[idx] = ratq_dequantize_weight_s8(v, sw);
                o->wd[idx] = v;
            }
            if (ratq_quantize_bias_s32((double)b[c], sx, sw, &o->bq[c]) != 0) {
                ratq_error("quantize: %s: bias of channel %d is not finite", o->name, c);
                return -1;
            }
            continue;
        range:
            ratq_error("quantize: %s: channel %d: multiplier %g out of range for %d bits", o->name, c, M, opt->k);
            return -1;
        }
    }
    q->quantized = 1;
    return 0;
}

static ratq_requant_s8 op_requant(const ratq_qnop *o, ratq_rounding rnd) {
    ratq_requant_s8 rq = {.rescale = o->kind == RATQ_QN_GAP ? &o->gap_rs : o->rs,
                          .per_channel = o->kind != RATQ_QN_GAP,
                          .output_offset = o->out.zp,
                          .act_min = o->out.lo,
                          .act_max = o->out.hi,
                          .rounding = rnd};
    return rq;
}

const int8_t *ratq_qnet_forward(ratq_qnet *q, const uint8_t *img, int n) {
    if (!q->quantized) {
        ratq_error("quantize: forward before quantization");
        return NULL;
    }
    if (ratq_qnet_reserve(q, n) != 0) return NULL;
    q->last_n = n;
    size_t nin = (size_t)n * q->resolution * q->resolution * q->in_c;
    for (size_t i = 0; i < nin; i++) q->qin[i] = ratq_input_s8_from_u8(img[i]); // real (q + 1)/128 = (u8 - 127)/128
    for (int i = 0; i < q->n_ops; i++) {
        ratq_qnop *o = &q->ops[i];
        const ratq_qact *xa = src_act(q, o->src);
        const int8_t *x = o->src >= 0 ? q->q[o->src] : q->qin;
        int8_t *y = q->q[i];
        uint8_t *mk = q->mask[i];
        const int64_t cnt = (int64_t)op_out(o) * n;
        ratq_requant_s8 rq = op_requant(o, q->opt.rounding);
        switch (o->kind) {
        case RATQ_QN_CONV:
        case RATQ_QN_DWCONV:
        case RATQ_QN_FC:
            ratq_qnet_op_acc(q, o, x, xa->zp, n, q->acc);
            break;
        case RATQ_QN_GAP: // the engine's ops, which also write the STE mask
            ratq_global_avgpool_s8_cpu(n, o->h, o->w, o->c, x, -xa->zp, &rq, y, mk);
            continue;
        case RATQ_QN_ADD:
            ratq_add_s8_cpu(cnt, x, o->src2 >= 0 ? q->q[o->src2] : q->qin, &o->addp, y, mk);
            continue;
        }
        ratq_requantize_s8_cpu(q->acc, cnt, o->oc, &rq, y);
        ratq_requantize_mask_cpu(q->acc, cnt, o->oc, &rq, mk);
    }
    return q->q[q->n_ops - 1];
}

void ratq_qnet_logits(const ratq_qnet *q, float *out) {
    const ratq_qnop *o = &q->ops[q->n_ops - 1];
    size_t cnt = (size_t)q->last_n * o->oc;
    for (size_t i = 0; i < cnt; i++) out[i] = ratq_dequantize_s8(q->q[q->n_ops - 1][i], o->out.scale, o->out.zp);
}

static void dequant(const int8_t *x, size_t cnt, const ratq_qact *a, float *out) {
    for (size_t i = 0; i < cnt; i++) out[i] = ratq_dequantize_s8(x[i], a->scale, a->zp);
}

int ratq_qnet_backward(ratq_qnet *q, const float *dlogits) {
    const int n = q->last_n;
    if (!n) {
        ratq_error("quantize: backward without a forward");
        return -1;
    }
    memset(q->grads, 0, q->n_params * sizeof(float));
    for (int i = 0; i < q->n_ops; i++) memset(q->f[i], 0, op_out(&q->ops[i]) * (size_t)n * sizeof(float));
    memcpy(q->f[q->n_ops - 1], dlogits, (size_t)n * q->num_classes * sizeof(float));
    for (int i = q->n_ops - 1; i >= 0; i--) {
        ratq_qnop *o = &q->ops[i];
        float *dy = q->f[i];
        const uint8_t *mk = q->mask[i];
        const size_t cnt = op_out(o) * (size_t)n;
        float *dsrc = o->src >= 0 ? q->f[o->src] : NULL; // no gradient for the network input
        if (o->kind == RATQ_QN_ADD) {
            float *dsrc2 = o->src2 >= 0 ? q->f[o->src2] : NULL;
            for (size_t j = 0; j < cnt; j++) {
                float g = mk[j] ? dy[j] : 0.0f;
                if (dsrc) dsrc[j] += g * o->ratio_a;
                if (dsrc2) dsrc2[j] += g * o->ratio_b;
            }
            continue;
        }
        if (o->kind == RATQ_QN_GAP) {
            if (!dsrc) continue;
            const int hw = o->h * o->w;
            const float r = o->ratio_a / (float)hw;
            for (int b = 0; b < n; b++)
                for (int c = 0; c < o->c; c++) {
                    size_t j = (size_t)b * o->c + c;
                    float g = mk[j] ? dy[j] * r : 0.0f;
                    for (int p = 0; p < hw; p++) dsrc[((size_t)b * hw + p) * o->c + c] += g;
                }
            continue;
        }
        // CONV / DW / FC: g = dy * mask * r[o] (in place in dy), then the float backward with the
        // dequantized input and weights
        for (size_t j = 0; j < cnt; j++) {
            int c = (int)(j % (size_t)o->oc);
            dy[j] = mk[j] ? dy[j] * o->ratio[c] : 0.0f;
        }
        const size_t nin = (size_t)n * o->h * o->w * o->c;
        if (o->src >= 0)
            dequant(q->q[o->src], nin, &q->ops[o->src].out, q->xr);
        else
            dequant(q->qin, nin, &q->in, q->xr);
        float *dx = dsrc ? q->dx : NULL, *dw = q->grads + o->w_off, *db = q->grads + o->b_off;
        int rc = 0;
        if (o->kind == RATQ_QN_CONV) {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            rc = ratq_conv2d_bwd_cpu(&p, q->xr, o->wr, dy, dx, dw, db, q->ws);
        } else if (o->kind == RATQ_QN_DWCONV) {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            rc = ratq_dwconv2d_bwd_cpu(&p, q->xr, o->wr, dy, dx, dw, db);
        } else {
            ratq_linear_params p = {.n = n, .in = o->per_oc, .out = o->oc};
            ratq_linear_bwd_cpu(&p, q->xr, o->wr, dy, dx, dw, db);
        }
        if (rc != 0) return -1;
        if (dsrc) ratq_accumulate_cpu(nin, dsrc, q->dx);
    }
    return 0;
}
