// efficientnet_lite.c — EfficientNet-Lite configs, layer list / tensor table construction, weight load/save.
// Forward and backward are in efficientnet_lite_run.c.
#include "models/efficientnet_lite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "models/weights.h"

// ---- configs -----------------------------------------------------------------------------------------------

static const ratq_mbconv_stage LITE_BASE[7] = {
    {1, 3, 1, 1, 32, 16},  {2, 3, 2, 6, 16, 24},  {2, 5, 2, 6, 24, 40},   {3, 3, 2, 6, 40, 80},
    {3, 5, 1, 6, 80, 112}, {4, 5, 2, 6, 112, 192}, {1, 3, 1, 6, 192, 320},
};

typedef struct {
    const char *arch;
    double width, depth;
    int resolution;
    float dropout;
} lite_coeffs;

// efficientnet-lite-pytorch utils.efficientnet_params (from TF efficientnet_lite_builder.py)
static const lite_coeffs LITE_COEFFS[5] = {
    {"lite0", 1.0, 1.0, 224, 0.2f}, {"lite1", 1.0, 1.1, 240, 0.2f}, {"lite2", 1.1, 1.2, 260, 0.3f},
    {"lite3", 1.2, 1.4, 280, 0.3f}, {"lite4", 1.4, 1.8, 300, 0.3f},
};

// round_filters: max(8, int(c*w + 4) // 8 * 8), + 8 if below 90% of c*w (reference utils.round_filters)
static int round_filters(int c, double w) {
    double f = c * w;
    int nf = (int)(f + 4.0) / 8 * 8;
    if (nf < 8) nf = 8;
    if (nf < 0.9 * f) nf += 8;
    return nf;
}

int ratq_effnet_config_from_name(const char *name, int num_classes, int resolution, ratq_effnet_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    const char *a = name;
    if (!strncmp(a, "efficientnet-", 13)) a += 13;
    cfg->bn_eps = 1e-3f;
    cfg->bn_momentum = 0.01f;
    cfg->drop_connect = 0.2f;
    if (!strcmp(a, "tiny")) {
        static const ratq_mbconv_stage tiny[3] = {{1, 3, 1, 1, 8, 16}, {2, 3, 2, 3, 16, 16}, {2, 5, 2, 3, 16, 24}};
        strcpy(cfg->arch, "tiny");
        cfg->resolution = 16;
        cfg->num_classes = 10;
        cfg->stem_ch = 8;
        cfg->head_ch = 320;
        cfg->n_stages = 3;
        memcpy(cfg->stages, tiny, sizeof tiny);
        cfg->dropout = 0.2f;
    } else {
        const lite_coeffs *lc = NULL;
        for (int i = 0; i < 5; i++)
            if (!strcmp(a, LITE_COEFFS[i].arch)) lc = &LITE_COEFFS[i];
        if (!lc) {
            ratq_error("model: unknown architecture '%s' (expected lite0..lite4 or tiny)", name);
            return -1;
        }
        strcpy(cfg->arch, lc->arch);
        cfg->resolution = lc->resolution;
        cfg->num_classes = 1000;
        cfg->stem_ch = 32;   // fix_head_stem: not scaled
        cfg->head_ch = 1280; // fix_head_stem: not scaled
        cfg->dropout = lc->dropout;
        cfg->n_stages = 7;
        for (int i = 0; i < 7; i++) {
            ratq_mbconv_stage s = LITE_BASE[i];
            s.in_ch = i == 0 ? 32 : round_filters(s.in_ch, lc->width);
            s.out_ch = round_filters(s.out_ch, lc->width);
            if (i != 0 && i != 6) s.repeats = (int)ceil(lc->depth * s.repeats);
            cfg->stages[i] = s;
        }
    }
    if (num_classes > 0) cfg->num_classes = num_classes;
    if (resolution > 0) cfg->resolution = resolution;
    if (num_classes < 0 || resolution < 0 || cfg->resolution > 8192) {
        ratq_error("model: %s: num_classes %d / resolution %d invalid", name, num_classes, resolution);
        return -1;
    }
    return 0;
}

const char *ratq_layer_kind_name(ratq_layer_kind k) {
    static const char *names[] = {"conv", "dwconv", "bn", "relu6", "drop_connect", "add", "gap", "dropout", "fc"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

// ---- build -------------------------------------------------------------------------------------------------

typedef struct {
    ratq_effnet *m;
    int cap_t, cap_l, cap_b;
    int failed;
} builder;

static void *grow(void *p, int *cap, int need, size_t elem, builder *b) {
    if (need <= *cap) return p;
    int nc = *cap ? *cap * 2 : 64;
    while (nc < need) nc *= 2;
    void *np = realloc(p, (size_t)nc * elem);
    if (!np) {
        b->failed = 1;
        return p;
    }
    *cap = nc;
    return np;
}

static int add_tensor(builder *b, const char *prefix, const char *suffix, int ndim, const int *shape,
                      int trainable) {
    ratq_effnet *m = b->m;
    m->tensors = grow(m->tensors, &b->cap_t, m->n_tensors + 1, sizeof *m->tensors, b);
    if (b->failed) return -1;
    ratq_tensor_info *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s", prefix, suffix);
    t->ndim = ndim;
    t->count = 1;
    for (int d = 0; d < 4; d++) {
        t->shape[d] = d < ndim ? shape[d] : 1;
        t->count *= (size_t)t->shape[d];
    }
    t->offset = m->n_floats;
    t->trainable = trainable;
    m->n_floats += t->count;
    return m->n_tensors++;
}

static int new_buf(builder *b, size_t floats_per_image) {
    ratq_effnet *m = b->m;
    m->buf_floats = grow(m->buf_floats, &b->cap_b, m->n_bufs + 1, sizeof *m->buf_floats, b);
    if (b->failed) return -1;
    m->buf_floats[m->n_bufs] = floats_per_image;
    return m->n_bufs++;
}

// Append a layer reading the output of layer `in` (-1 = network input of geometry h x w x c).
static ratq_layer *add_layer(builder *b, ratq_layer_kind kind, const char *name, int block, int in) {
    ratq_effnet *m = b->m;
    m->layers = grow(m->layers, &b->cap_l, m->n_layers + 1, sizeof *m->layers, b);
    if (b->failed) return NULL;
    ratq_layer *L = &m->layers[m->n_layers];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    snprintf(L->name, sizeof L->name, "%s", name);
    L->block = block;
    L->in = in;
    L->in2 = -2;
    L->w_t = L->b_t = L->mean_t = L->var_t = -1;
    L->fold_bn = -1;
    L->stream = (uint64_t)m->n_layers;
    if (in >= 0) {
        const ratq_layer *P = &m->layers[in];
        L->h = P->oh;
        L->w = P->ow;
        L->c = P->oc;
    } else {
        L->h = L->w = m->cfg.resolution;
        L->c = 3;
    }
    L->oh = L->h;
    L->ow = L->w;
    L->oc = L->c;
    m->n_layers++;
    return L;
}

static int layer_index(const ratq_effnet *m, const ratq_layer *L) { return (int)(L - m->layers); }

// conv (groups 1) or depthwise conv with SAME padding; returns the layer index
static int add_conv(builder *b, const char *prefix, int block, int in, int oc, int k, int stride, int depthwise) {
    ratq_layer *L = add_layer(b, depthwise ? RATQ_LAYER_DWCONV : RATQ_LAYER_CONV, prefix, block, in);
    if (!L) return -1;
    int ic = L->c;
    if (depthwise) oc = ic;
    L->conv = ratq_conv2d_params_same(1, L->h, L->w, ic, oc, k, stride, 1, depthwise ? ic : 1);
    if (ratq_conv2d_params_check(&L->conv, prefix) != 0 ||
        (depthwise && ratq_dwconv2d_params_check(&L->conv, prefix) != 0)) {
        b->failed = 1;
        return -1;
    }
    L->oh = L->conv.oh;
    L->ow = L->conv.ow;
    L->oc = oc;
    int li = layer_index(b->m, L);
    int sh_conv[4] = {oc, k, k, ic}, sh_dw[3] = {k, k, oc};
    int t = depthwise ? add_tensor(b, prefix, "weight", 3, sh_dw, 1) : add_tensor(b, prefix, "weight", 4, sh_conv, 1);
    L = &b->m->layers[li];
    L->w_t = t;
    L->buf = new_buf(b, (size_t)L->oh * L->ow * L->oc);
    return li;
}

static int add_bn(builder *b, const char *prefix, int block, int in) {
    ratq_layer *L = add_layer(b, RATQ_LAYER_BN, prefix, block, in);
    if (!L) return -1;
    int li = layer_index(b->m, L), c = L->c;
    int w = add_tensor(b, prefix, "weight", 1, &c, 1);
    int bb = add_tensor(b, prefix, "bias", 1, &c, 1);
    int mu = add_tensor(b, prefix, "running_mean", 1, &c, 0);
    int var = add_tensor(b, prefix, "running_var", 1, &c, 0);
    L = &b->m->layers[li];
    L->w_t = w;
    L->b_t = bb;
    L->mean_t = mu;
    L->var_t = var;
    L->bn_save = b->m->bn_save_floats;
    b->m->bn_save_floats += 2 * (size_t)c;
    ratq_layer *P = &b->m->layers[in];
    if (P->kind == RATQ_LAYER_CONV || P->kind == RATQ_LAYER_DWCONV) { // inference folds this BN into the conv
        P->fold_bn = li;
        P->fold_w = b->m->fold_floats;
        P->fold_b = P->fold_w + b->m->tensors[P->w_t].count;
        b->m->fold_floats = P->fold_b + (size_t)P->oc;
    }
    L->buf = new_buf(b, (size_t)L->oh * L->ow * L->oc);
    return li;
}

// in-place elementwise layer (RELU6, DROP_CONNECT, DROPOUT)
static int add_inplace(builder *b, ratq_layer_kind kind, const char *name, int block, int in, float p) {
    ratq_layer *L = add_layer(b, kind, name, block, in);
    if (!L) return -1;
    L->buf = b->m->layers[in].buf;
    L->drop_prob = p;
    return layer_index(b->m, L);
}

static int build_layers(builder *b) {
    ratq_effnet *m = b->m;
    const ratq_effnet_config *cfg = &m->cfg;
    int x = add_conv(b, "_conv_stem", -1, -1, cfg->stem_ch, 3, 2, 0);
    if (x >= 0) x = add_bn(b, "_bn0", -1, x);
    if (x >= 0) x = add_inplace(b, RATQ_LAYER_RELU6, "stem.relu6", -1, x, 0);
    int n_blocks = 0;
    for (int s = 0; s < cfg->n_stages; s++) n_blocks += cfg->stages[s].repeats;
    int blk = 0;
    char p[64], q[64];
    for (int s = 0; s < cfg->n_stages && x >= 0; s++) {
        const ratq_mbconv_stage *st = &cfg->stages[s];
        for (int r = 0; r < st->repeats && x >= 0; r++, blk++) {
            int in_ch = r == 0 ? st->in_ch : st->out_ch, stride = r == 0 ? st->stride : 1;
            int hidden = in_ch * st->expand, block_in = x;
            if (m->layers[x].oc != in_ch) {
                ratq_error("model: %s: block %d expects %d input channels, gets %d", cfg->arch, blk, in_ch,
                           m->layers[x].oc);
                return -1;
            }
            if (st->expand != 1) {
                snprintf(p, sizeof p, "_blocks.%d._expand_conv", blk);
                x = add_conv(b, p, blk, x, hidden, 1, 1, 0);
                snprintf(p, sizeof p, "_blocks.%d._bn0", blk);
                if (x >= 0) x = add_bn(b, p, blk, x);
                snprintf(p, sizeof p, "_blocks.%d.relu6_expand", blk);
                if (x >= 0) x = add_inplace(b, RATQ_LAYER_RELU6, p, blk, x, 0);
            }
            snprintf(p, sizeof p, "_blocks.%d._depthwise_conv", blk);
            if (x >= 0) x = add_conv(b, p, blk, x, hidden, st->kernel, stride, 1);
            snprintf(p, sizeof p, "_blocks.%d._bn1", blk);
            if (x >= 0) x = add_bn(b, p, blk, x);
            snprintf(p, sizeof p, "_blocks.%d.relu6_dw", blk);
            if (x >= 0) x = add_inplace(b, RATQ_LAYER_RELU6, p, blk, x, 0);
            snprintf(p, sizeof p, "_blocks.%d._project_conv", blk);
            if (x >= 0) x = add_conv(b, p, blk, x, st->out_ch, 1, 1, 0);
            snprintf(p, sizeof p, "_blocks.%d._bn2", blk);
            if (x >= 0) x = add_bn(b, p, blk, x);
            if (x >= 0 && stride == 1 && in_ch == st->out_ch) {
                // reference: drop_connect_rate * idx / len(blocks), computed in double
                float rate = (float)((double)cfg->drop_connect * blk / n_blocks);
                snprintf(q, sizeof q, "_blocks.%d.drop_connect", blk);
                x = add_inplace(b, RATQ_LAYER_DROP_CONNECT, q, blk, x, rate);
                if (x >= 0) m->layers[x].stream = RATQ_EFFNET_STREAM_DROP_CONNECT + (uint64_t)blk;
                snprintf(q, sizeof q, "_blocks.%d.add", blk);
                if (x >= 0) {
                    ratq_layer *L = add_layer(b, RATQ_LAYER_ADD, q, blk, x);
                    if (!L) return -1;
                    L->in2 = block_in;
                    L->buf = m->layers[x].buf;
                    x = layer_index(m, L);
                }
            }
        }
    }
    if (x >= 0) x = add_conv(b, "_conv_head", -1, x, cfg->head_ch, 1, 1, 0);
    if (x >= 0) x = add_bn(b, "_bn1", -1, x);
    if (x >= 0) x = add_inplace(b, RATQ_LAYER_RELU6, "head.relu6", -1, x, 0);
    if (x >= 0) {
        ratq_layer *L = add_layer(b, RATQ_LAYER_GAP, "head.avgpool", -1, x);
        if (!L) return -1;
        L->oh = L->ow = 1;
        L->buf = new_buf(b, (size_t)L->oc);
        x = layer_index(m, L);
    }
    if (x >= 0) x = add_inplace(b, RATQ_LAYER_DROPOUT, "head.dropout", -1, x, cfg->dropout);
    if (x >= 0) m->layers[x].stream = RATQ_EFFNET_STREAM_DROPOUT;
    if (x >= 0) {
        ratq_layer *L = add_layer(b, RATQ_LAYER_FC, "_fc", -1, x);
        if (!L) return -1;
        int li = layer_index(m, L), in_f = L->c;
        L->oc = cfg->num_classes;
        int shw[2] = {cfg->num_classes, in_f};
        int w = add_tensor(b, "_fc", "weight", 2, shw, 1);
        int bb = add_tensor(b, "_fc", "bias", 1, &cfg->num_classes, 1);
        L = &m->layers[li];
        L->w_t = w;
        L->b_t = bb;
        L->buf = new_buf(b, (size_t)cfg->num_classes);
        m->logits_layer = li;
        x = li;
    }
    if (b->failed || x < 0) return -1;
    return 0;
}

// Build, naming `who` (a weight file, or "model") in the error lines.
static int build_named(ratq_effnet *m, const ratq_effnet_config *cfg, const char *who) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->seed = 0x5eed;
    builder b = {.m = m};
    if (cfg->resolution < 8 || cfg->num_classes < 1 || cfg->n_stages < 1 || cfg->n_stages > RATQ_EFFNET_MAX_STAGES) {
        ratq_error("model: %s: invalid config (resolution %d, classes %d, stages %d)", cfg->arch, cfg->resolution,
                   cfg->num_classes, cfg->n_stages);
        return -1;
    }
    if (build_layers(&b) != 0) {
        if (b.failed) ratq_error("model: %s: building the layer list failed (bad geometry or out of memory)", cfg->arch);
        ratq_effnet_free(m);
        return -1;
    }
    size_t act = 0;
    for (int i = 0; i < m->n_bufs; i++) act += m->buf_floats[i] * sizeof(float);
    if (act > RATQ_EFFNET_MAX_ACT_BYTES) {
        ratq_error("%s: resolution: %d makes the %s model keep %.2f GiB of activations per image, over the %zu MiB "
                   "limit (RATQ_EFFNET_MAX_ACT_BYTES)",
                   who, cfg->resolution, cfg->arch, act / 1073741824.0, RATQ_EFFNET_MAX_ACT_BYTES >> 20);
        ratq_effnet_free(m);
        return -1;
    }
    m->params = calloc(m->n_floats, sizeof(float));
    m->grads = calloc(m->n_floats, sizeof(float));
    m->bn_save = calloc(m->bn_save_floats ? m->bn_save_floats : 1, sizeof(float));
    m->buf = calloc((size_t)m->n_bufs, sizeof *m->buf);
    m->dbuf = calloc((size_t)m->n_bufs, sizeof *m->dbuf);
    if (!m->params || !m->grads || !m->bn_save || !m->buf || !m->dbuf) {
        ratq_error("model: %s: out of memory (%zu parameters)", cfg->arch, m->n_floats);
        ratq_effnet_free(m);
        return -1;
    }
    // neutral BN: gamma = 1, running_var = 1
    for (int i = 0; i < m->n_layers; i++) {
        const ratq_layer *L = &m->layers[i];
        if (L->kind != RATQ_LAYER_BN) continue;
        const ratq_tensor_info *g = &m->tensors[L->w_t], *v = &m->tensors[L->var_t];
        for (size_t j = 0; j < g->count; j++) m->params[g->offset + j] = 1.0f;
        for (size_t j = 0; j < v->count; j++) m->params[v->offset + j] = 1.0f;
    }
    return 0;
}

int ratq_effnet_build(ratq_effnet *m, const ratq_effnet_config *cfg) { return build_named(m, cfg, "model"); }

void ratq_effnet_free(ratq_effnet *m) {
    free(m->tensors);
    free(m->params);
    free(m->grads);
    free(m->layers);
    free(m->buf_floats);
    free(m->acts);
    free(m->dacts);
    free(m->buf);
    free(m->dbuf);
    free(m->scratch);
    free(m->ws);
    free(m->bn_save);
    free(m->fold);
    memset(m, 0, sizeof *m);
}

int ratq_effnet_find_tensor(const ratq_effnet *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return i;
    return -1;
}

// ---- weights -----------------------------------------------------------------------------------------------

static int copy_from_file(ratq_effnet *m, const ratq_weights_file *wf) {
    for (int i = 0; i < m->n_tensors; i++) {
        const ratq_tensor_info *t = &m->tensors[i];
        const ratq_weights_tensor *ft = ratq_weights_find(wf, t->name);
        if (!ft) {
            ratq_error("%s: tensor %s: missing (the %s model needs it)", wf->path, t->name, m->cfg.arch);
            return -1;
        }
        int same = ft->ndim == t->ndim;
        for (int d = 0; d < 4 && same; d++) same = ft->shape[d] == t->shape[d];
        if (!same) {
            ratq_error("%s: tensor %s: shape: file has [%d,%d,%d,%d] (ndim %d), the %s model needs [%d,%d,%d,%d] "
                       "(ndim %d)",
                       wf->path, t->name, ft->shape[0], ft->shape[1], ft->shape[2], ft->shape[3], ft->ndim,
                       m->cfg.arch, t->shape[0], t->shape[1], t->shape[2], t->shape[3], t->ndim);
            return -1;
        }
        // Finite values only; a BN running variance must be >= 0 (BN divides by sqrt(var + eps)).
        const size_t nl = strlen(t->name);
        const int is_var = nl > 12 && !strcmp(t->name + nl - 12, ".running_var");
        for (size_t j = 0; j < t->count; j++) {
            float v = ft->data[j];
            if (!isfinite(v)) {
                ratq_error("%s: tensor %s: element %zu is not finite", wf->path, t->name, j);
                return -1;
            }
            if (is_var && !(v >= 0)) {
                ratq_error("%s: tensor %s: element %zu is %g, a variance must be >= 0", wf->path, t->name, j, v);
                return -1;
            }
        }
        memcpy(m->params + t->offset, ft->data, t->count * sizeof(float));
    }
    for (int i = 0; i < wf->n_tensors; i++)
        if (ratq_effnet_find_tensor(m, wf->tensors[i].name) < 0) {
            ratq_error("%s: tensor %s: not a tensor of the %s model", wf->path, wf->tensors[i].name, m->cfg.arch);
            return -1;
        }
    return 0;
}

int ratq_effnet_load_into(ratq_effnet *m, const char *path) {
    ratq_weights_file wf;
    if (ratq_weights_read(path, &wf) != 0) return -1;
    int rc = 0;
    if (strcmp(wf.arch, m->cfg.arch) != 0 || wf.num_classes != m->cfg.num_classes) {
        ratq_error("%s: arch: file holds %s with %d classes, the model is %s with %d classes", path, wf.arch,
                   wf.num_classes, m->cfg.arch, m->cfg.num_classes);
        rc = -1;
    }
    if (rc == 0) rc = copy_from_file(m, &wf);
    ratq_weights_free(&wf);
    return rc;
}

int ratq_effnet_load(ratq_effnet *m, const char *path) {
    memset(m, 0, sizeof *m);
    ratq_weights_file wf;
    if (ratq_weights_read(path, &wf) != 0) return -1;
    ratq_effnet_config cfg;
    int known = !strcmp(wf.arch, "tiny");
    for (int i = 0; i < 5; i++) known |= !strcmp(wf.arch, LITE_COEFFS[i].arch);
    int rc = known ? ratq_effnet_config_from_name(wf.arch, wf.num_classes, wf.resolution, &cfg) : -1;
    if (!known) ratq_error("%s: arch: '%s' is not a known architecture (lite0..lite4, tiny)", path, wf.arch);
    if (rc == 0) rc = build_named(m, &cfg, path);
    if (rc == 0) snprintf(m->source, sizeof m->source, "%s", path);
    if (rc == 0) {
        rc = copy_from_file(m, &wf);
        if (rc != 0) ratq_effnet_free(m);
    }
    ratq_weights_free(&wf);
    return rc;
}

int ratq_effnet_save(const ratq_effnet *m, const char *path) {
    ratq_weights_tensor *ts = calloc((size_t)m->n_tensors, sizeof *ts);
    if (!ts) {
        ratq_error("%s: out of memory", path);
        return -1;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const ratq_tensor_info *t = &m->tensors[i];
        snprintf(ts[i].name, sizeof ts[i].name, "%s", t->name);
        ts[i].ndim = t->ndim;
        memcpy(ts[i].shape, t->shape, sizeof t->shape);
        ts[i].count = t->count;
        ts[i].data = m->params + t->offset;
    }
    int rc = ratq_weights_write(path, m->cfg.arch, m->cfg.num_classes, m->cfg.resolution, m->n_tensors, ts);
    free(ts);
    return rc;
}

void ratq_effnet_preprocess_u8(const uint8_t *src, size_t count, float *dst) {
    // (x - 127) / 128: exact in float (x - 127 is an integer in [-127, 128], / 128 a power of two)
    for (size_t i = 0; i < count; i++) dst[i] = ((float)src[i] - 127.0f) / 128.0f;
}
