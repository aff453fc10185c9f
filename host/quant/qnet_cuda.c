// host/quant/qnet_cuda.c — the fake-quant network on one GPU (host/quant/qnet_cuda.h): device buffers, upload of the quantized
// parameters, the integer forward and the STE backward, each step the GPU twin of the corresponding loop body of
// host/quant/fake.c, in the same order. Plain C calling the CUDA ops through their headers.
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "quant/qnet_cuda.h"

#ifndef RATQ_HAVE_CUDA

static int no_cuda(void) {
    ratq_error("cuda: built without CUDA (reconfigure with nvcc on the PATH and -DRATQ_CUDA=ON)");
    return -1;
}
int ratq_qnet_cuda_select(int local_rank) {
    (void)local_rank;
    return no_cuda();
}
ratq_qnet_cuda *ratq_qnet_cuda_create(const ratq_qnet *q, int max_batch, int device, int train) {
    (void)q, (void)max_batch, (void)device, (void)train;
    no_cuda();
    return NULL;
}
void ratq_qnet_cuda_destroy(ratq_qnet_cuda *g) { (void)g; }
int ratq_qnet_cuda_upload_quantized(ratq_qnet_cuda *g, const ratq_qnet *q) {
    (void)g, (void)q;
    return no_cuda();
}
const int8_t *ratq_qnet_cuda_forward(ratq_qnet_cuda *g, const ratq_qnet *q, const uint8_t *img, int n) {
    (void)g, (void)q, (void)img, (void)n;
    no_cuda();
    return NULL;
}
void ratq_qnet_cuda_logits(const ratq_qnet_cuda *g, const ratq_qnet *q, float *out) {
    (void)g, (void)q, (void)out;
    no_cuda();
}
int ratq_qnet_cuda_download_op(const ratq_qnet_cuda *g, const ratq_qnet *q, int op, int8_t *out, uint8_t *mask) {
    (void)g, (void)q, (void)op, (void)out, (void)mask;
    return no_cuda();
}
int ratq_qnet_cuda_backward(ratq_qnet_cuda *g, ratq_qnet *q, const float *dlogits) {
    (void)g, (void)q, (void)dlogits;
    return no_cuda();
}

#else

#include <cuda_runtime.h>

#include "cuda/cuda_check.h"
#include "cuda/ops_cuda.h"
#include "cuda/qnet_cuda.h"
#include "cuda/train_ops_cuda.h"

struct ratq_qnet_cuda {
    int device, max_batch, train, n_ops, classes;
    int last_n;             // images of the last forward (0 = none)
    int uploaded;           // ratq_qnet_cuda_upload_quantized ran
    size_t n_params, n_ch;  // master parameters; rescaler slots (sum of CONV/DW/FC oc, + 1 per GAP)
    size_t n_in;            // input bytes per image: res*res*in_c
    cudaStream_t stream;    // non-blocking; every copy, memset and kernel of this object runs on it
    size_t *ch_off;         // [n_ops] host: first rescaler / ratio / bias slot of op i
    size_t *wq_off;         // [n_ops] host: offset of op i's int8 weights in d_wq (16-byte aligned: vector loads)
    size_t n_wq;            // bytes of d_wq
    uint8_t *d_img;         // [max_batch][n_in] u8 images
    int8_t *d_qin;          // [max_batch][n_in] int8 network input
    int8_t **d_q;           // [n_ops] host array of device [max_batch * oh*ow*oc] int8 outputs
    uint8_t **d_mask;       // [n_ops] likewise, STE masks
    float **d_f;            // [n_ops] likewise, float gradients w.r.t. the dequantized outputs (train)
    float *d_xr, *d_dx;     // [max_batch * largest op input/output] dequantized input, op dx (train)
    float *d_ws;            // [ws_floats] conv backward im2col workspace (train, may be NULL)
    int8_t *d_wq;           // [n_wq] int8 weights of op i at wq_off[i], the master weights' layout
    float *d_wr;            // [n_params] dequantized weights S_w q_w at w_off (train)
    int32_t *d_bq;          // [n_ch] int32 biases at ch_off
    ratq_rescale *d_rs;     // [n_ch] CONV/DW/FC per-channel (m, s), GAP its per-tensor one
    float *d_ratio;         // [n_ch] STE ratios r[o] (train)
    float *d_grads;         // [n_params] parameter gradients (train)
    int8_t *h_wq;           // host staging of the uploads, same layouts
    float *h_wr;
    int32_t *h_bq;
    ratq_rescale *h_rs;
    float *h_ratio;
    int8_t *h_logits;       // [max_batch][classes] downloaded logits
};

static size_t op_out(const ratq_qnop *o) { return (size_t)o->oh * o->ow * o->oc; }
static int has_weights(const ratq_qnop *o) {
    return o->kind == RATQ_QN_CONV || o->kind == RATQ_QN_DWCONV || o->kind == RATQ_QN_FC;
}
static const ratq_qact *src_act(const ratq_qnet *q, int src) { return src >= 0 ? &q->ops[src].out : &q->in; }

int ratq_qnet_cuda_select(int local_rank) {
    const int n = ratq_cuda_device_count();
    if (n <= 0) {
        ratq_error("cuda: no CUDA device found (no GPU or no driver); use --device cpu");
        return -1;
    }
    return (local_rank < 0 ? 0 : local_rank) % n;
}

// cudaMalloc that reports (instead of exiting) when the device is out of memory; bytes 0 gives NULL.
static int dalloc(void **p, size_t bytes, const char *what) {
    *p = NULL;
    if (!bytes) return 0;
    cudaError_t e = cudaMalloc(p, bytes);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        *p = NULL;
        ratq_error("cuda: cannot allocate %zu bytes of device memory for %s: %s", bytes, what, cudaGetErrorString(e));
        return -1;
    }
    return 0;
}

void ratq_qnet_cuda_destroy(ratq_qnet_cuda *g) {
    if (!g) return;
    CUDA_CHECK(cudaSetDevice(g->device));
    if (g->stream) CUDA_CHECK(cudaStreamSynchronize(g->stream));
    for (int i = 0; i < g->n_ops; i++) {
        if (g->d_q) CUDA_CHECK(cudaFree(g->d_q[i]));
        if (g->d_mask) CUDA_CHECK(cudaFree(g->d_mask[i]));
        if (g->d_f) CUDA_CHECK(cudaFree(g->d_f[i]));
    }
    void *dev[] = {g->d_img, g->d_qin, g->d_xr, g->d_dx, g->d_ws, g->d_wq, g->d_wr, g->d_bq, g->d_rs, g->d_ratio, g->d_grads};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) CUDA_CHECK(cudaFree(dev[i]));
    if (g->stream) CUDA_CHECK(cudaStreamDestroy(g->stream));
    free(g->d_q);
    free(g->d_mask);
    free(g->d_f);
    free(g->ch_off);
    free(g->wq_off);
    free(g->h_wq);
    free(g->h_wr);
    free(g->h_bq);
    free(g->h_rs);
    free(g->h_ratio);
    free(g->h_logits);
    free(g);
}

ratq_qnet_cuda *ratq_qnet_cuda_create(const ratq_qnet *q, int max_batch, int device, int train) {
    if (max_batch < 1 || q->n_ops < 1) {
        ratq_error("cuda: network buffers for %d images of %d ops", max_batch, q->n_ops);
        return NULL;
    }
    const int ndev = ratq_cuda_device_count();
    if (device < 0 || device >= ndev) {
        ratq_error("cuda: device %d does not exist (%d CUDA devices)", device, ndev);
        return NULL;
    }
    ratq_qnet_cuda *g = calloc(1, sizeof *g);
    if (!g) goto oom;
    g->device = device;
    g->max_batch = max_batch;
    g->train = train ? 1 : 0;
    g->n_ops = q->n_ops;
    g->classes = q->num_classes;
    g->n_params = q->n_params;
    g->n_in = (size_t)q->resolution * q->resolution * q->in_c;
    CUDA_CHECK(cudaSetDevice(device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking));
    g->ch_off = calloc((size_t)q->n_ops, sizeof *g->ch_off);
    g->wq_off = calloc((size_t)q->n_ops, sizeof *g->wq_off);
    g->d_q = calloc((size_t)q->n_ops, sizeof *g->d_q);
    g->d_mask = calloc((size_t)q->n_ops, sizeof *g->d_mask);
    g->d_f = calloc((size_t)q->n_ops, sizeof *g->d_f);
    if (!g->ch_off || !g->wq_off || !g->d_q || !g->d_mask || !g->d_f) goto oom;
    const size_t B = (size_t)max_batch;
    size_t mx = g->n_in, ws = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        g->ch_off[i] = g->n_ch;
        g->n_ch += has_weights(o) ? (size_t)o->oc : (o->kind == RATQ_QN_GAP ? 1 : 0);
        g->wq_off[i] = g->n_wq;
        if (has_weights(o)) g->n_wq += ((size_t)o->oc * o->per_oc + 15) / 16 * 16;
        if (op_out(o) > mx) mx = op_out(o);
        if ((size_t)o->h * o->w * o->c > mx) mx = (size_t)o->h * o->w * o->c;
        if (o->kind == RATQ_QN_CONV) {
            ratq_conv2d_params p = o->fp;
            p.n = max_batch;
            size_t w = ratq_conv2d_workspace_floats_cuda(&p);
            if (w > ws) ws = w;
        }
        if (dalloc((void **)&g->d_q[i], op_out(o) * B, "op outputs") ||
            dalloc((void **)&g->d_mask[i], op_out(o) * B, "STE masks") ||
            (g->train && dalloc((void **)&g->d_f[i], op_out(o) * B * sizeof(float), "activation gradients")))
            goto fail;
    }
    if (dalloc((void **)&g->d_img, g->n_in * B, "input images") ||
        dalloc((void **)&g->d_qin, g->n_in * B, "network input") ||
        dalloc((void **)&g->d_wq, g->n_wq, "int8 weights") ||
        dalloc((void **)&g->d_bq, g->n_ch * sizeof(int32_t), "int32 biases") ||
        dalloc((void **)&g->d_rs, g->n_ch * sizeof(ratq_rescale), "rescalers"))
        goto fail;
    if (g->train && (dalloc((void **)&g->d_xr, mx * B * sizeof(float), "dequantized inputs") ||
                     dalloc((void **)&g->d_dx, mx * B * sizeof(float), "input gradients") ||
                     dalloc((void **)&g->d_ws, ws * sizeof(float), "conv workspace") ||
                     dalloc((void **)&g->d_wr, g->n_params * sizeof(float), "dequantized weights") ||
                     dalloc((void **)&g->d_ratio, g->n_ch * sizeof(float), "STE ratios") ||
                     dalloc((void **)&g->d_grads, g->n_params * sizeof(float), "gradients")))
        goto fail;
    g->h_wq = calloc(g->n_wq ? g->n_wq : 1, 1);
    g->h_bq = calloc(g->n_ch ? g->n_ch : 1, sizeof *g->h_bq);
    g->h_rs = calloc(g->n_ch ? g->n_ch : 1, sizeof *g->h_rs);
    g->h_logits = malloc(B * (size_t)g->classes);
    if (!g->h_wq || !g->h_bq || !g->h_rs || !g->h_logits) goto oom;
    if (g->train) {
        g->h_wr = calloc(g->n_params ? g->n_params : 1, sizeof *g->h_wr);
        g->h_ratio = calloc(g->n_ch ? g->n_ch : 1, sizeof *g->h_ratio);
        if (!g->h_wr || !g->h_ratio) goto oom;
    }
    return g;
oom:
    ratq_error("cuda: out of host memory");
fail:
    ratq_qnet_cuda_destroy(g);
    return NULL;
}

static int same_net(const ratq_qnet_cuda *g, const ratq_qnet *q, const char *what) {
    if (q->n_ops != g->n_ops || q->n_params != g->n_params || q->num_classes != g->classes) {
        ratq_error("cuda: %s: the network differs from the one the device buffers were made for", what);
        return 0;
    }
    return 1;
}

int ratq_qnet_cuda_upload_quantized(ratq_qnet_cuda *g, const ratq_qnet *q) {
    if (!same_net(g, q, "upload")) return -1;
    if (!q->quantized) {
        ratq_error("cuda: upload before quantization");
        return -1;
    }
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        const size_t c0 = g->ch_off[i];
        if (o->kind == RATQ_QN_GAP) g->h_rs[c0] = o->gap_rs;
        if (!has_weights(o)) continue;
        const size_t nw = (size_t)o->oc * o->per_oc;
        memcpy(g->h_wq + g->wq_off[i], o->wq, nw);
        memcpy(g->h_bq + c0, o->bq, (size_t)o->oc * sizeof *o->bq);
        memcpy(g->h_rs + c0, o->rs, (size_t)o->oc * sizeof *o->rs);
        if (g->train) {
            memcpy(g->h_wr + o->w_off, o->wr, nw * sizeof *o->wr);
            memcpy(g->h_ratio + c0, o->ratio, (size_t)o->oc * sizeof *o->ratio);
        }
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    cudaStream_t s = g->stream;
    CUDA_CHECK(cudaMemcpyAsync(g->d_wq, g->h_wq, g->n_wq, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(g->d_bq, g->h_bq, g->n_ch * sizeof *g->h_bq, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(g->d_rs, g->h_rs, g->n_ch * sizeof *g->h_rs, cudaMemcpyHostToDevice, s));
    if (g->train) {
        CUDA_CHECK(cudaMemcpyAsync(g->d_wr, g->h_wr, g->n_params * sizeof *g->h_wr, cudaMemcpyHostToDevice, s));
        CUDA_CHECK(cudaMemcpyAsync(g->d_ratio, g->h_ratio, g->n_ch * sizeof *g->h_ratio, cudaMemcpyHostToDevice, s));
    }
    CUDA_CHECK(cudaStreamSynchronize(s)); // the staging buffers are reused by the next upload
    g->uploaded = 1;
    return 0;
}

// The output stage of op i (host/quant/fake.c op_requant) with the rescalers in device memory.
static ratq_requant_s8 op_requant(const ratq_qnet_cuda *g, const ratq_qnet *q, int i) {
    const ratq_qnop *o = &q->ops[i];
    ratq_requant_s8 rq = {.rescale = g->d_rs + g->ch_off[i],
                          .per_channel = o->kind != RATQ_QN_GAP,
                          .output_offset = o->out.zp,
                          .act_min = o->out.lo,
                          .act_max = o->out.hi,
                          .rounding = q->opt.rounding};
    return rq;
}

const int8_t *ratq_qnet_cuda_forward(ratq_qnet_cuda *g, const ratq_qnet *q, const uint8_t *img, int n) {
    if (!same_net(g, q, "forward")) return NULL;
    if (!g->uploaded || !q->quantized) {
        ratq_error("cuda: forward before the quantized parameters were uploaded");
        return NULL;
    }
    if (n < 1 || n > g->max_batch) {
        ratq_error("cuda: forward of %d images with buffers for %d", n, g->max_batch);
        return NULL;
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    cudaStream_t s = g->stream;
    g->last_n = 0;
    const int64_t nin = (int64_t)g->n_in * n;
    CUDA_CHECK(cudaMemcpyAsync(g->d_img, img, (size_t)nin, cudaMemcpyHostToDevice, s));
    ratq_qnet_input_s8_cuda(nin, g->d_img, g->d_qin, s);
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        const ratq_qact *xa = src_act(q, o->src);
        const int8_t *x = o->src >= 0 ? g->d_q[o->src] : g->d_qin;
        int8_t *y = g->d_q[i];
        uint8_t *mk = g->d_mask[i];
        const ratq_requant_s8 rq = op_requant(g, q, i);
        const int8_t *wq = g->d_wq + g->wq_off[i];
        const int32_t *bq = g->d_bq + g->ch_off[i];
        ratq_conv_shape sh = o->sh;
        sh.batch = n;
        switch (o->kind) {
        case RATQ_QN_CONV: ratq_conv_s8_cuda(&sh, x, -xa->zp, wq, 0, bq, &rq, y, mk, s); break;
        case RATQ_QN_DWCONV: ratq_depthwise_s8_cuda(&sh, x, -xa->zp, wq, bq, &rq, y, mk, s); break;
        case RATQ_QN_FC: ratq_fc_s8_cuda(n, o->per_oc, o->oc, x, -xa->zp, wq, 0, bq, &rq, y, mk, s); break;
        case RATQ_QN_GAP: ratq_global_avgpool_s8_cuda(n, o->h, o->w, o->c, x, -xa->zp, &rq, y, mk, s); break;
        case RATQ_QN_ADD: {
            const int8_t *b = o->src2 >= 0 ? g->d_q[o->src2] : g->d_qin;
            ratq_add_s8_cuda((int64_t)op_out(o) * n, x, b, &o->addp, y, mk, s);
            break;
        }
        }
    }
    CUDA_CHECK(cudaMemcpyAsync(g->h_logits, g->d_q[q->n_ops - 1], (size_t)n * g->classes, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    g->last_n = n;
    return g->h_logits;
}

void ratq_qnet_cuda_logits(const ratq_qnet_cuda *g, const ratq_qnet *q, float *out) {
    const ratq_qact *a = &q->ops[q->n_ops - 1].out;
    const size_t cnt = (size_t)g->last_n * g->classes;
    for (size_t i = 0; i < cnt; i++) out[i] = ratq_dequantize_s8(g->h_logits[i], a->scale, a->zp);
}

int ratq_qnet_cuda_download_op(const ratq_qnet_cuda *g, const ratq_qnet *q, int op, int8_t *out, uint8_t *mask) {
    if (!same_net(g, q, "download") || op < -1 || op >= g->n_ops || !g->last_n || (op == -1 && mask)) {
        ratq_error("cuda: download of op %d (of %d) after a forward of %d images", op, g->n_ops, g->last_n);
        return -1;
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    const size_t cnt = (op < 0 ? g->n_in : op_out(&q->ops[op])) * (size_t)g->last_n;
    if (out)
        CUDA_CHECK(cudaMemcpyAsync(out, op < 0 ? g->d_qin : g->d_q[op], cnt, cudaMemcpyDeviceToHost, g->stream));
    if (mask) CUDA_CHECK(cudaMemcpyAsync(mask, g->d_mask[op], cnt, cudaMemcpyDeviceToHost, g->stream));
    CUDA_CHECK(cudaStreamSynchronize(g->stream));
    return 0;
}

// The backward: host/quant/fake.c ratq_qnet_backward step by step (same op order, same accumulation order into the
// producers' gradients, so every element-wise result is the CPU's).
int ratq_qnet_cuda_backward(ratq_qnet_cuda *g, ratq_qnet *q, const float *dlogits) {
    if (!same_net(g, q, "backward")) return -1;
    const int n = g->last_n;
    if (!g->train || !n) {
        ratq_error("cuda: backward %s", g->train ? "without a forward" : "on a forward-only network");
        return -1;
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    cudaStream_t s = g->stream;
    CUDA_CHECK(cudaMemsetAsync(g->d_grads, 0, g->n_params * sizeof(float), s));
    for (int i = 0; i < q->n_ops; i++)
        CUDA_CHECK(cudaMemsetAsync(g->d_f[i], 0, op_out(&q->ops[i]) * (size_t)n * sizeof(float), s));
    CUDA_CHECK(cudaMemcpyAsync(g->d_f[q->n_ops - 1], dlogits, (size_t)n * q->num_classes * sizeof(float),
                               cudaMemcpyHostToDevice, s));
    for (int i = q->n_ops - 1; i >= 0; i--) {
        const ratq_qnop *o = &q->ops[i];
        float *dy = g->d_f[i];
        const uint8_t *mk = g->d_mask[i];
        const int64_t cnt = (int64_t)op_out(o) * n;
        float *dsrc = o->src >= 0 ? g->d_f[o->src] : NULL; // no gradient for the network input
        if (o->kind == RATQ_QN_ADD) {
            float *dsrc2 = o->src2 >= 0 ? g->d_f[o->src2] : NULL;
            ratq_qnet_add_bwd_cuda(cnt, dy, mk, o->ratio_a, o->ratio_b, dsrc, dsrc2, s);
            continue;
        }
        if (o->kind == RATQ_QN_GAP) {
            if (!dsrc) continue;
            const int hw = o->h * o->w;
            const float r = o->ratio_a / (float)hw; // the CPU's expression
            ratq_qnet_gap_bwd_cuda(n, hw, o->c, dy, mk, r, dsrc, s);
            continue;
        }
        // CONV / DW / FC: g = dy * mask * r[o] in place, then the float backward on the dequantized input/weights
        ratq_ste_grad_cuda(cnt, o->oc, dy, mk, g->d_ratio + g->ch_off[i], dy, s);
        const int64_t nin = (int64_t)n * o->h * o->w * o->c;
        const ratq_qact *xa = src_act(q, o->src);
        ratq_qnet_dequant_cuda(nin, o->src >= 0 ? g->d_q[o->src] : g->d_qin, xa->scale, xa->zp, g->d_xr, s);
        float *dx = dsrc ? g->d_dx : NULL, *dw = g->d_grads + o->w_off, *db = g->d_grads + o->b_off;
        const float *wr = g->d_wr + o->w_off;
        int rc = 0;
        if (o->kind == RATQ_QN_CONV) {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            rc = ratq_conv2d_bwd_cuda(&p, g->d_xr, wr, dy, dx, dw, db, g->d_ws, s);
        } else if (o->kind == RATQ_QN_DWCONV) {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            rc = ratq_dwconv2d_bwd_cuda(&p, g->d_xr, wr, dy, dx, dw, db, s);
        } else {
            ratq_linear_params p = {.n = n, .in = o->per_oc, .out = o->oc};
            ratq_linear_bwd_cuda(&p, g->d_xr, wr, dy, dx, dw, db, s);
        }
        if (rc != 0) return -1;
        if (dsrc) ratq_accumulate_cuda(nin, dsrc, g->d_dx, s);
    }
    CUDA_CHECK(cudaMemcpyAsync(q->grads, g->d_grads, g->n_params * sizeof(float), cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    return 0;
}

#endif
