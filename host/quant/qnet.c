// host/quant/qnet.c — build the folded op list from the float model, buffers, float (calibration) forward and the
// observers. Quantization, integer forward and STE backward: host/quant/fake.c. Formulas: host/quant/qnet.h.
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "quant/qnet.h"

const char *ratq_qnop_kind_name(ratq_qnop_kind k) {
    switch (k) {
    case RATQ_QN_CONV: return "conv";
    case RATQ_QN_DWCONV: return "dwconv";
    case RATQ_QN_FC: return "fc";
    case RATQ_QN_ADD: return "add";
    case RATQ_QN_GAP: return "gap";
    }
    return "?";
}

static size_t op_out(const ratq_qnop *o) { return (size_t)o->oh * o->ow * o->oc; }

static ratq_conv_shape int_shape(const ratq_conv2d_params *p, int depthwise) {
    ratq_conv_shape s = {0};
    s.batch = 1;
    s.in_h = p->h;
    s.in_w = p->w;
    s.in_c = p->ic;
    s.out_h = p->oh;
    s.out_w = p->ow;
    s.out_c = p->oc;
    s.kernel_h = p->kh;
    s.kernel_w = p->kw;
    s.stride_h = p->stride_h;
    s.stride_w = p->stride_w;
    s.dilation_h = p->dilation_h;
    s.dilation_w = p->dilation_w;
    s.pad_top = p->pad_top;
    s.pad_left = p->pad_left;
    s.pad_bottom = p->pad_bottom;
    s.pad_right = p->pad_right;
    s.groups = depthwise ? 1 : p->groups;
    s.depth_multiplier = depthwise ? p->oc / p->ic : 1;
    return s;
}

int ratq_qnet_from_effnet(ratq_qnet *q, const ratq_effnet *m) {
    memset(q, 0, sizeof *q);
    snprintf(q->arch, sizeof q->arch, "%s", m->cfg.arch);
    q->resolution = m->cfg.resolution;
    q->in_c = 3;
    q->num_classes = m->cfg.num_classes;
    q->in.scale = 1.0f / 128.0f;
    q->in.zp = -1;
    q->in.lo = -128;
    q->in.hi = 127;
    q->ops = calloc((size_t)m->n_layers, sizeof *q->ops);
    int *lop = malloc((size_t)m->n_layers * sizeof *lop); // effnet layer -> op producing its value
    if (!q->ops || !lop) {
        free(lop);
        ratq_error("quantize: out of memory");
        ratq_qnet_free(q);
        return -1;
    }
    // pass 1: ops and parameter offsets
    for (int l = 0; l < m->n_layers; l++) {
        const ratq_layer *L = &m->layers[l];
        int src = L->in >= 0 ? lop[L->in] : -1;
        ratq_qnop *o = &q->ops[q->n_ops];
        switch (L->kind) {
        case RATQ_LAYER_CONV:
        case RATQ_LAYER_DWCONV:
        case RATQ_LAYER_FC:
        case RATQ_LAYER_ADD:
        case RATQ_LAYER_GAP:
            memset(o, 0, sizeof *o);
            snprintf(o->name, sizeof o->name, "%s", L->name);
            o->src = src;
            o->src2 = -2;
            o->act = RATQ_ACT_NONE;
            o->h = L->h;
            o->w = L->w;
            o->c = L->c;
            o->oh = L->oh;
            o->ow = L->ow;
            o->oc = L->oc;
            lop[l] = q->n_ops++;
            break;
        case RATQ_LAYER_BN:
            if (L->in < 0 || (m->layers[L->in].kind != RATQ_LAYER_CONV && m->layers[L->in].kind != RATQ_LAYER_DWCONV)) {
                ratq_error("quantize: %s: batch norm not after a conv cannot be folded", L->name);
                goto fail;
            }
            lop[l] = src;
            continue;
        case RATQ_LAYER_RELU6:
            if (L->in < 0 || m->layers[L->in].kind != RATQ_LAYER_BN || q->ops[src].act != RATQ_ACT_NONE) {
                ratq_error("quantize: %s: ReLU6 must follow a folded batch norm", L->name);
                goto fail;
            }
            q->ops[src].act = RATQ_ACT_RELU6;
            lop[l] = src;
            continue;
        case RATQ_LAYER_DROP_CONNECT:
        case RATQ_LAYER_DROPOUT:
            lop[l] = src; // identities at inference
            continue;
        }
        switch (L->kind) {
        case RATQ_LAYER_CONV:
        case RATQ_LAYER_DWCONV: {
            int dw = L->kind == RATQ_LAYER_DWCONV;
            o->kind = dw ? RATQ_QN_DWCONV : RATQ_QN_CONV;
            o->fp = L->conv;
            o->sh = int_shape(&L->conv, dw);
            o->per_oc = dw ? L->conv.kh * L->conv.kw : L->conv.kh * L->conv.kw * (L->conv.ic / L->conv.groups);
            if (l + 1 >= m->n_layers || m->layers[l + 1].kind != RATQ_LAYER_BN || m->layers[l + 1].in != l) {
                ratq_error("quantize: %s: conv without a following batch norm is not supported", L->name);
                goto fail;
            }
            break;
        }
        case RATQ_LAYER_FC:
            o->kind = RATQ_QN_FC;
            o->per_oc = L->c;
            o->h = o->w = 1;
            break;
        case RATQ_LAYER_ADD:
            o->kind = RATQ_QN_ADD;
            o->src2 = L->in2 >= 0 ? lop[L->in2] : -1;
            break;
        case RATQ_LAYER_GAP:
            o->kind = RATQ_QN_GAP;
            break;
        default:
            break;
        }
        if (o->kind == RATQ_QN_CONV || o->kind == RATQ_QN_DWCONV || o->kind == RATQ_QN_FC) {
            o->w_off = q->n_params;
            q->n_params += (size_t)o->oc * o->per_oc;
            o->b_off = q->n_params;
            q->n_params += (size_t)o->oc;
            size_t nw = (size_t)o->oc * o->per_oc;
            o->wq = malloc(nw);
            o->bq = malloc((size_t)o->oc * sizeof *o->bq);
            o->w_scale = malloc((size_t)o->oc * sizeof *o->w_scale);
            o->rs = malloc((size_t)o->oc * sizeof *o->rs);
            o->ratio = malloc((size_t)o->oc * sizeof *o->ratio);
            o->wr = malloc(nw * sizeof *o->wr);
            o->wd = malloc(nw * sizeof *o->wd);
            if (!o->wq || !o->bq || !o->w_scale || !o->rs || !o->ratio || !o->wr || !o->wd) {
                ratq_error("quantize: out of memory");
                goto fail;
            }
        }
    }
    if (q->n_ops < 1 || q->ops[q->n_ops - 1].kind != RATQ_QN_FC) {
        ratq_error("quantize: %s: the network must end with the classifier", m->cfg.arch);
        goto fail;
    }
    q->params = calloc(q->n_params, sizeof(float));
    q->grads = calloc(q->n_params, sizeof(float));
    if (!q->params || !q->grads) {
        ratq_error("quantize: out of memory");
        goto fail;
    }
    // pass 2: BN folding into the master weights (float_ops ratq_bn_fold_*: double, rounded once)
    for (int l = 0; l < m->n_layers; l++) {
        const ratq_layer *L = &m->layers[l];
        if (L->kind != RATQ_LAYER_CONV && L->kind != RATQ_LAYER_DWCONV && L->kind != RATQ_LAYER_FC) continue;
        const ratq_qnop *o = &q->ops[lop[l]];
        const float *w = m->params + m->tensors[L->w_t].offset;
        float *wf = q->params + o->w_off, *bf = q->params + o->b_off;
        if (L->kind == RATQ_LAYER_FC) {
            memcpy(wf, w, (size_t)o->oc * o->per_oc * sizeof(float));
            memcpy(bf, m->params + m->tensors[L->b_t].offset, (size_t)o->oc * sizeof(float));
            continue;
        }
        const ratq_layer *B = &m->layers[l + 1];
        const float *g = m->params + m->tensors[B->w_t].offset, *be = m->params + m->tensors[B->b_t].offset;
        const float *mu = m->params + m->tensors[B->mean_t].offset, *var = m->params + m->tensors[B->var_t].offset;
        if (L->kind == RATQ_LAYER_CONV)
            ratq_bn_fold_ohwi(o->oc, o->per_oc, w, NULL, g, be, mu, var, m->cfg.bn_eps, wf, bf);
        else
            ratq_bn_fold_hwo(o->oc, o->per_oc, w, NULL, g, be, mu, var, m->cfg.bn_eps, wf, bf);
    }
    free(lop);
    return 0;
fail:
    free(lop);
    ratq_qnet_free(q);
    return -1;
}

static void free_bufs(ratq_qnet *q) {
    for (int i = 0; q->q && i < q->n_ops; i++) free(q->q[i]);
    for (int i = 0; q->mask && i < q->n_ops; i++) free(q->mask[i]);
    for (int i = 0; q->f && i < q->n_ops; i++) free(q->f[i]);
    free(q->q);
    free(q->mask);
    free(q->f);
    free(q->qin);
    free(q->xr);
    free(q->dx);
    free(q->acc);
    free(q->ws);
    q->q = NULL;
    q->mask = NULL;
    q->f = NULL;
    q->qin = NULL;
    q->xr = q->dx = q->ws = NULL;
    q->acc = NULL;
    q->batch = 0;
}

void ratq_qnet_free(ratq_qnet *q) {
    free_bufs(q);
    for (int i = 0; q->ops && i < q->n_ops; i++) {
        ratq_qnop *o = &q->ops[i];
        free(o->wq);
        free(o->bq);
        free(o->w_scale);
        free(o->rs);
        free(o->ratio);
        free(o->wr);
        free(o->wd);
    }
    free(q->ops);
    free(q->params);
    free(q->grads);
    memset(q, 0, sizeof *q);
}

int ratq_qnet_reserve(ratq_qnet *q, int batch) {
    if (q->batch >= batch) return 0;
    free_bufs(q);
    size_t mx = (size_t)q->resolution * q->resolution * q->in_c, ws = 0;
    q->q = calloc((size_t)q->n_ops, sizeof *q->q);
    q->mask = calloc((size_t)q->n_ops, sizeof *q->mask);
    q->f = calloc((size_t)q->n_ops, sizeof *q->f);
    int ok = q->q && q->mask && q->f;
    for (int i = 0; ok && i < q->n_ops; i++) {
        ratq_qnop *o = &q->ops[i];
        size_t n = op_out(o) * (size_t)batch;
        q->q[i] = malloc(n);
        q->mask[i] = malloc(n);
        q->f[i] = malloc(n * sizeof(float));
        ok = q->q[i] && q->mask[i] && q->f[i];
        if (op_out(o) > mx) mx = op_out(o);
        if ((size_t)o->h * o->w * o->c > mx) mx = (size_t)o->h * o->w * o->c;
        if (o->kind == RATQ_QN_CONV) {
            ratq_conv2d_params p = o->fp;
            p.n = batch;
            size_t w = ratq_conv2d_workspace_floats(&p);
            if (w > ws) ws = w;
        }
    }
    if (ok) {
        q->qin = malloc((size_t)batch * q->resolution * q->resolution * q->in_c);
        q->xr = malloc(mx * (size_t)batch * sizeof(float));
        q->dx = malloc(mx * (size_t)batch * sizeof(float));
        q->acc = malloc(mx * (size_t)batch * sizeof(int32_t));
        q->ws = ws ? malloc(ws * sizeof(float)) : NULL;
        q->ws_floats = ws;
        ok = q->qin && q->xr && q->dx && q->acc && (!ws || q->ws);
    }
    if (!ok) {
        free_bufs(q);
        ratq_error("quantize: out of memory for %d images", batch);
        return -1;
    }
    q->batch = batch;
    return 0;
}

// ---- float forward of the folded network (calibration, float reference) ---------------------------------

const float *ratq_qnet_float_forward(ratq_qnet *q, const uint8_t *img, int n, int observe) {
    if (ratq_qnet_reserve(q, n) != 0) return NULL;
    size_t nin = (size_t)n * q->resolution * q->resolution * q->in_c;
    for (size_t i = 0; i < nin; i++) q->xr[i] = (float)(img[i] - 127) / 128.0f; // exact
    for (int i = 0; i < q->n_ops; i++) {
        ratq_qnop *o = &q->ops[i];
        const float *x = o->src >= 0 ? q->f[o->src] : q->xr;
        float *y = q->f[i];
        size_t cnt = op_out(o) * (size_t)n;
        const float *w = q->params + o->w_off, *b = q->params + o->b_off;
        switch (o->kind) {
        case RATQ_QN_CONV: {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            if (ratq_conv2d_fwd_cpu(&p, x, w, b, y, q->ws) != 0) return NULL;
            break;
        }
        case RATQ_QN_DWCONV: {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            if (ratq_dwconv2d_fwd_cpu(&p, x, w, b, y) != 0) return NULL;
            break;
        }
        case RATQ_QN_FC: {
            ratq_linear_params p = {.n = n, .in = o->per_oc, .out = o->oc};
            ratq_linear_fwd_cpu(&p, x, w, b, y);
            break;
        }
        case RATQ_QN_ADD:
            ratq_add_fwd_cpu(cnt, x, o->src2 >= 0 ? q->f[o->src2] : q->xr, y);
            break;
        case RATQ_QN_GAP: {
            ratq_pool_params p = {.n = n, .h = o->h, .w = o->w, .c = o->c};
            ratq_global_avgpool_fwd_cpu(&p, x, y);
            break;
        }
        }
        if (o->act == RATQ_ACT_RELU6) ratq_relu6_fwd_cpu(cnt, y, y);
        if (observe)
            for (size_t j = 0; j < cnt; j++) {
                if (y[j] < o->obs_min) o->obs_min = y[j];
                if (y[j] > o->obs_max) o->obs_max = y[j];
            }
    }
    return q->f[q->n_ops - 1];
}

void ratq_qnet_observe_reset(ratq_qnet *q) {
    for (int i = 0; i < q->n_ops; i++) {
        q->ops[i].obs_min = DBL_MAX;
        q->ops[i].obs_max = -DBL_MAX;
    }
}

int ratq_qnet_observe_first_bad(const ratq_qnet *q) {
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (!(o->obs_min <= o->obs_max) || !isfinite(o->obs_min) || !isfinite(o->obs_max)) return i;
    }
    return -1;
}

int ratq_qnet_observe_finish(ratq_qnet *q) {
    const int bad = ratq_qnet_observe_first_bad(q);
    if (bad >= 0) {
        ratq_error("quantize: %s: no finite calibration values observed", q->ops[bad].name);
        return -1;
    }
    for (int i = 0; i < q->n_ops; i++) {
        ratq_qnop *o = &q->ops[i];
        double lo = o->obs_min < 0 ? o->obs_min : 0, hi = o->obs_max > 0 ? o->obs_max : 0;
        if (o->act == RATQ_ACT_RELU6) {
            lo = 0;
            if (hi > 6) hi = 6;
        }
        ratq_activation_grid_s8(lo, hi, &o->out.scale, &o->out.zp);
        ratq_activation_range_s8(o->act, o->out.scale, o->out.zp, &o->out.lo, &o->out.hi);
    }
    q->calibrated = 1;
    return 0;
}

int ratq_qnet_copy_calibration(ratq_qnet *dst, const ratq_qnet *src) {
    if (dst->n_ops != src->n_ops || dst->n_params != src->n_params) {
        ratq_error("quantize: copying calibration between different networks");
        return -1;
    }
    for (int i = 0; i < src->n_ops; i++) dst->ops[i].out = src->ops[i].out;
    dst->calibrated = src->calibrated;
    return 0;
}
