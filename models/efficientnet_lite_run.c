// efficientnet_lite_run.c — forward and backward of the flat layer list (efficientnet_lite.h) with the float
// ops of kernels/cpu/float_ops.h (_cpu versions).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/efficientnet_lite.h"
#include "common/io.h"

int ratq_effnet_reserve(ratq_effnet *m, int batch) {
    if (batch <= m->batch && m->acts) return 0;
    size_t total = 0, max_buf = 0;
    for (int b = 0; b < m->n_bufs; b++) {
        total += m->buf_floats[b];
        if (m->buf_floats[b] > max_buf) max_buf = m->buf_floats[b];
    }
    size_t ws = 0;
    for (int l = 0; l < m->n_layers; l++) {
        const ratq_layer *L = &m->layers[l];
        if (L->kind != RATQ_LAYER_CONV) continue;
        ratq_conv2d_params p = L->conv;
        p.n = batch;
        size_t w = ratq_conv2d_workspace_floats(&p);
        if (w > ws) ws = w;
    }
    free(m->acts);
    free(m->dacts);
    free(m->scratch);
    free(m->ws);
    m->dacts = NULL;
    m->acts = malloc(total * (size_t)batch * sizeof(float));
    m->scratch = NULL;
    m->ws = ws ? malloc(ws * sizeof(float)) : NULL;
    m->ws_floats = ws;
    if (!m->acts || (ws && !m->ws)) {
        ratq_error("model: %s: out of memory for activations of %d images (%.1f MB)", m->cfg.arch, batch,
                   total * (double)batch * 4 / 1e6);
        free(m->acts);
        free(m->ws);
        m->acts = NULL;
        m->ws = NULL;
        m->batch = 0;
        return -1;
    }
    size_t off = 0;
    for (int b = 0; b < m->n_bufs; b++) {
        m->buf[b] = m->acts + off;
        m->dbuf[b] = NULL;
        off += m->buf_floats[b] * (size_t)batch;
    }
    m->batch = batch;
    (void)max_buf;
    return 0;
}

// dacts + scratch are only needed for training: allocated on the first backward.
static int reserve_grads(ratq_effnet *m) {
    if (m->dacts) return 0;
    size_t total = 0, max_buf = 0;
    for (int b = 0; b < m->n_bufs; b++) {
        total += m->buf_floats[b];
        if (m->buf_floats[b] > max_buf) max_buf = m->buf_floats[b];
    }
    m->dacts = malloc(total * (size_t)m->batch * sizeof(float));
    m->scratch = malloc(max_buf * (size_t)m->batch * sizeof(float));
    if (!m->dacts || !m->scratch) {
        ratq_error("model: %s: out of memory for activation gradients of %d images", m->cfg.arch, m->batch);
        free(m->dacts);
        free(m->scratch);
        m->dacts = m->scratch = NULL;
        return -1;
    }
    size_t off = 0;
    for (int b = 0; b < m->n_bufs; b++) {
        m->dbuf[b] = m->dacts + off;
        off += m->buf_floats[b] * (size_t)m->batch;
    }
    return 0;
}

static float *P(ratq_effnet *m, int t) { return t >= 0 ? m->params + m->tensors[t].offset : NULL; }
static float *G(ratq_effnet *m, int t) { return t >= 0 ? m->grads + m->tensors[t].offset : NULL; }

static size_t out_floats(const ratq_layer *L, int n) { return (size_t)n * L->oh * L->ow * L->oc; }

// RATQ_EFFNET_INFER: fold every BN into the conv before it (weights and bias into m->fold).
static int fold_all(ratq_effnet *m) {
    if (!m->fold) {
        m->fold = malloc((m->fold_floats ? m->fold_floats : 1) * sizeof(float));
        if (!m->fold) {
            ratq_error("model: %s: out of memory for folded weights", m->cfg.arch);
            return -1;
        }
    }
    for (int l = 0; l < m->n_layers; l++) {
        const ratq_layer *L = &m->layers[l];
        if (L->fold_bn < 0) continue;
        const ratq_layer *B = &m->layers[L->fold_bn];
        const float *w = P(m, L->w_t);
        const int oc = L->oc, per_oc = (int)(m->tensors[L->w_t].count / (size_t)oc);
        if (L->kind == RATQ_LAYER_CONV)
            ratq_bn_fold_ohwi(oc, per_oc, w, NULL, P(m, B->w_t), P(m, B->b_t), P(m, B->mean_t), P(m, B->var_t),
                              m->cfg.bn_eps, m->fold + L->fold_w, m->fold + L->fold_b);
        else
            ratq_bn_fold_hwo(oc, per_oc, w, NULL, P(m, B->w_t), P(m, B->b_t), P(m, B->mean_t), P(m, B->var_t),
                             m->cfg.bn_eps, m->fold + L->fold_w, m->fold + L->fold_b);
    }
    return 0;
}

const float *ratq_effnet_forward(ratq_effnet *m, const float *x, int n, int mode, uint64_t step) {
    if (n < 1 || mode < RATQ_EFFNET_EVAL || mode > RATQ_EFFNET_INFER) {
        ratq_error("model: forward: batch of %d images, mode %d", n, mode);
        return NULL;
    }
    if (ratq_effnet_reserve(m, n) != 0) return NULL;
    const int train = mode == RATQ_EFFNET_TRAIN, infer = mode == RATQ_EFFNET_INFER;
    if (infer && fold_all(m) != 0) return NULL;
    m->last_n = n;
    m->last_train = mode;
    m->last_step = step;
    m->last_x = x;
    for (int l = 0; l < m->n_layers; l++) {
        ratq_layer *L = &m->layers[l];
        const float *in = L->in >= 0 ? m->buf[m->layers[L->in].buf] : x;
        float *out = m->buf[L->buf];
        size_t cnt = out_floats(L, n);
        switch (L->kind) {
        case RATQ_LAYER_CONV:
        case RATQ_LAYER_DWCONV: {
            ratq_conv2d_params p = L->conv;
            p.n = n;
            const float *w = P(m, L->w_t), *b = NULL;
            if (infer && L->fold_bn >= 0) { // conv + BN in one: write the BN's output buffer
                w = m->fold + L->fold_w;
                b = m->fold + L->fold_b;
                out = m->buf[m->layers[L->fold_bn].buf];
            }
            int rc = L->kind == RATQ_LAYER_CONV ? ratq_conv2d_fwd_cpu(&p, in, w, b, out, m->ws)
                                                : ratq_dwconv2d_fwd_cpu(&p, in, w, b, out);
            if (rc != 0) return NULL;
            break;
        }
        case RATQ_LAYER_BN: {
            if (infer && L->in >= 0 && m->layers[L->in].fold_bn == l) break; // folded into the conv before it
            ratq_bn_params p = {.rows = n * L->h * L->w, .c = L->c, .eps = m->cfg.bn_eps,
                                .momentum = m->cfg.bn_momentum};
            if (train)
                ratq_bn_train_fwd_cpu(&p, in, P(m, L->w_t), P(m, L->b_t), out, P(m, L->mean_t), P(m, L->var_t),
                                      m->bn_save + L->bn_save, m->bn_save + L->bn_save + L->c);
            else
                ratq_bn_eval_fwd_cpu(&p, in, P(m, L->w_t), P(m, L->b_t), P(m, L->mean_t), P(m, L->var_t), out);
            break;
        }
        case RATQ_LAYER_RELU6:
            ratq_relu6_fwd_cpu(cnt, in, out);
            break;
        case RATQ_LAYER_DROP_CONNECT:
            if (train && L->drop_prob > 0) {
                ratq_dropout_params p = {.drop_prob = L->drop_prob, .seed = m->seed, .stream = L->stream,
                                         .step = step};
                ratq_drop_connect_fwd_cpu(&p, n, cnt / (size_t)n, in, out);
            }
            break;
        case RATQ_LAYER_ADD: {
            const float *skip = L->in2 >= 0 ? m->buf[m->layers[L->in2].buf] : x;
            ratq_add_fwd_cpu(cnt, in, skip, out);
            break;
        }
        case RATQ_LAYER_GAP: {
            ratq_pool_params p = {.n = n, .h = L->h, .w = L->w, .c = L->c};
            ratq_global_avgpool_fwd_cpu(&p, in, out);
            break;
        }
        case RATQ_LAYER_DROPOUT:
            if (train && L->drop_prob > 0) {
                ratq_dropout_params p = {.drop_prob = L->drop_prob, .seed = m->seed, .stream = L->stream,
                                         .step = step};
                ratq_dropout_fwd_cpu(&p, cnt, in, out);
            }
            break;
        case RATQ_LAYER_FC: {
            ratq_linear_params p = {.n = n, .in = L->c, .out = L->oc};
            ratq_linear_fwd_cpu(&p, in, P(m, L->w_t), P(m, L->b_t), out);
            break;
        }
        }
        if (infer) { // evaluation: no silent overflow (ReLU6 would turn an Inf into 6 and a NaN into 0)
            const float *o = L->kind == RATQ_LAYER_BN && L->in >= 0 && m->layers[L->in].fold_bn == l ? NULL : out;
            size_t bad = 0;
            for (size_t i = 0; o && i < cnt; i++) bad += !isfinite(o[i]);
            if (bad) {
                ratq_error("%s: layer %d (%s %s): %zu of %zu activations are NaN or Inf (the parameters overflow "
                           "float)",
                           m->source[0] ? m->source : "model", l, ratq_layer_kind_name(L->kind), L->name, bad, cnt);
                return NULL;
            }
        }
    }
    return m->buf[m->layers[m->logits_layer].buf];
}

int ratq_effnet_backward(ratq_effnet *m, const float *dlogits) {
    if (!m->last_n) {
        ratq_error("model: backward without a forward");
        return -1;
    }
    if (m->last_train == RATQ_EFFNET_INFER) {
        ratq_error("model: backward after an inference-mode (BN-folded) forward; use RATQ_EFFNET_EVAL or TRAIN");
        return -1;
    }
    if (reserve_grads(m) != 0) return -1;
    const int n = m->last_n, train = m->last_train == RATQ_EFFNET_TRAIN;
    memset(m->grads, 0, m->n_floats * sizeof(float));
    // set[b]: dbuf[b] holds a gradient already (a tensor read twice: block input = conv input + skip)
    char *set = calloc((size_t)m->n_bufs, 1);
    if (!set) {
        ratq_error("model: backward: out of memory");
        return -1;
    }
    const ratq_layer *FC = &m->layers[m->logits_layer];
    memcpy(m->dbuf[FC->buf], dlogits, out_floats(FC, n) * sizeof(float));
    set[FC->buf] = 1;
    int rc = 0;
    for (int l = m->n_layers - 1; l >= 0 && rc == 0; l--) {
        ratq_layer *L = &m->layers[l];
        float *dy = m->dbuf[L->buf];
        size_t cnt = out_floats(L, n);
        // in-place layers: dx aliases dy
        if (L->kind == RATQ_LAYER_RELU6) {
            ratq_relu6_bwd_cpu(cnt, m->buf[L->buf], dy, dy);
            continue;
        }
        if (L->kind == RATQ_LAYER_DROP_CONNECT) {
            if (train && L->drop_prob > 0) {
                ratq_dropout_params p = {.drop_prob = L->drop_prob, .seed = m->seed, .stream = L->stream,
                                         .step = m->last_step};
                ratq_drop_connect_bwd_cpu(&p, n, cnt / (size_t)n, dy, dy);
            }
            continue;
        }
        if (L->kind == RATQ_LAYER_DROPOUT) {
            if (train && L->drop_prob > 0) {
                ratq_dropout_params p = {.drop_prob = L->drop_prob, .seed = m->seed, .stream = L->stream,
                                         .step = m->last_step};
                ratq_dropout_bwd_cpu(&p, cnt, dy, dy);
            }
            continue;
        }
        if (L->kind == RATQ_LAYER_ADD) {
            // d(branch) = dy (same buffer); d(skip) = dy, copied or accumulated
            if (L->in2 >= 0) {
                int sb = m->layers[L->in2].buf;
                if (set[sb])
                    ratq_accumulate_cpu(cnt, m->dbuf[sb], dy);
                else
                    memcpy(m->dbuf[sb], dy, cnt * sizeof(float));
                set[sb] = 1;
            }
            continue;
        }
        // layers with their own output buffer: dx goes to the input's gradient buffer (or scratch + accumulate)
        const float *x = L->in >= 0 ? m->buf[m->layers[L->in].buf] : m->last_x;
        int ib = L->in >= 0 ? m->layers[L->in].buf : -1;
        float *dx = NULL;
        if (ib >= 0) dx = set[ib] ? m->scratch : m->dbuf[ib];
        switch (L->kind) {
        case RATQ_LAYER_CONV: {
            ratq_conv2d_params p = L->conv;
            p.n = n;
            rc = ratq_conv2d_bwd_cpu(&p, x, P(m, L->w_t), dy, dx, G(m, L->w_t), NULL, m->ws);
            break;
        }
        case RATQ_LAYER_DWCONV: {
            ratq_conv2d_params p = L->conv;
            p.n = n;
            rc = ratq_dwconv2d_bwd_cpu(&p, x, P(m, L->w_t), dy, dx, G(m, L->w_t), NULL);
            break;
        }
        case RATQ_LAYER_BN: {
            ratq_bn_params p = {.rows = n * L->h * L->w, .c = L->c, .eps = m->cfg.bn_eps,
                                .momentum = m->cfg.bn_momentum};
            if (train)
                ratq_bn_train_bwd_cpu(&p, x, dy, P(m, L->w_t), m->bn_save + L->bn_save,
                                      m->bn_save + L->bn_save + L->c, dx, G(m, L->w_t), G(m, L->b_t));
            else
                ratq_bn_eval_bwd_cpu(&p, x, dy, P(m, L->w_t), P(m, L->mean_t), P(m, L->var_t), dx, G(m, L->w_t),
                                     G(m, L->b_t));
            break;
        }
        case RATQ_LAYER_GAP: {
            ratq_pool_params p = {.n = n, .h = L->h, .w = L->w, .c = L->c};
            if (dx) ratq_global_avgpool_bwd_cpu(&p, dy, dx);
            break;
        }
        case RATQ_LAYER_FC: {
            ratq_linear_params p = {.n = n, .in = L->c, .out = L->oc};
            ratq_linear_bwd_cpu(&p, x, P(m, L->w_t), dy, dx, G(m, L->w_t), G(m, L->b_t));
            break;
        }
        default:
            break;
        }
        if (ib >= 0 && rc == 0) {
            if (set[ib]) ratq_accumulate_cpu((size_t)n * m->buf_floats[ib], m->dbuf[ib], m->scratch);
            set[ib] = 1;
        }
    }
    free(set);
    return rc;
}
