// host/quant/qnet_cuda.c — the fake-quant network on one GPU (host/quant/qnet_cuda.h): device buffers, the
// quantized parameters (uploaded from the host, or quantized on the device from device master weights), the
// integer forward and the fused STE backward, each step the GPU twin of the corresponding loop body of
// host/quant/fake.c, in the same op order. Plain C calling the CUDA ops through their headers.
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "quant/qnet_cuda.h"

static int qc_has_weights(const ratq_qnop *o) {
    return o->kind == RATQ_QN_CONV || o->kind == RATQ_QN_DWCONV || o->kind == RATQ_QN_FC;
}

void ratq_qnet_cuda_layout(const ratq_qnet *q, size_t *ch_off, size_t *wq_off, size_t *n_ch, size_t *n_wq) {
    size_t c = 0, w = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        ch_off[i] = c;
        c += qc_has_weights(o) ? (size_t)o->oc : (o->kind == RATQ_QN_GAP ? 1 : 0);
        wq_off[i] = w;
        if (qc_has_weights(o)) w += ((size_t)o->oc * o->per_oc + 15) / 16 * 16;
    }
    *n_ch = c;
    *n_wq = w;
}

void ratq_qnet_cuda_first_of(const ratq_qnet *q, int *first_of) {
    for (int i = 0; i < q->n_ops; i++) first_of[i] = -1;
    for (int i = 0; i < q->n_ops; i++) { // backward runs i descending: the largest consumer contributes first
        const ratq_qnop *o = &q->ops[i];
        if (o->src >= 0 && first_of[o->src] < i) first_of[o->src] = i;
        if (o->kind == RATQ_QN_ADD && o->src2 >= 0 && first_of[o->src2] < i) first_of[o->src2] = i;
    }
}

int64_t ratq_qnet_cuda_quant_table(const ratq_qnet *q, const size_t *ch_off, const size_t *wq_off,
                                   ratq_qe_channel_desc *d) {
    int64_t k = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (!qc_has_weights(o)) continue;
        if (!d) {
            k += o->oc;
            continue;
        }
        const int dw = o->kind == RATQ_QN_DWCONV;
        const ratq_qact *x = o->src >= 0 ? &q->ops[o->src].out : &q->in;
        for (int c = 0; c < o->oc; c++, k++) {
            const int64_t base = dw ? c : (int64_t)c * o->per_oc;
            d[k].w_off = (int64_t)o->w_off + base;
            d[k].wq_off = (int64_t)wq_off[i] + base;
            d[k].b_off = (int64_t)o->b_off + c;
            d[k].stride = dw ? o->oc : 1;
            d[k].per_oc = o->per_oc;
            d[k].slot = (int32_t)(ch_off[i] + (size_t)c);
            d[k].op = i;
            d[k].ch = c;
            d[k].sx = x->scale;
            d[k].sy = o->out.scale;
        }
    }
    return k;
}

int ratq_qnet_cuda_status_check(const ratq_qnet *q, unsigned long long status) {
    if (status == ~0ull) return 0;
    int op, ch, kind;
    ratq_qe_error_decode(status, &op, &ch, &kind);
    const char *name = op >= 0 && op < q->n_ops ? q->ops[op].name : "?";
    if (kind == RATQ_QE_WEIGHT_NONFINITE) ratq_error("quantize: %s: weight of channel %d is not finite", name, ch);
    else if (kind == RATQ_QE_BIAS_NONFINITE) ratq_error("quantize: %s: bias of channel %d is not finite", name, ch);
    else ratq_error("quantize: %s: channel %d: multiplier out of range for %d bits", name, ch, q->opt.k);
    return -1;
}

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
void ratq_qnet_cuda_set_gemm(ratq_qnet_cuda *g, int math) { (void)g, (void)math; }
void ratq_qnet_cuda_set_stream(ratq_qnet_cuda *g, void *stream) { (void)g, (void)stream; }
void *ratq_qnet_cuda_get_stream(const ratq_qnet_cuda *g) {
    (void)g;
    return NULL;
}
int ratq_qnet_cuda_quantize_setup(ratq_qnet_cuda *g, const ratq_qnet *q) {
    (void)g, (void)q;
    return no_cuda();
}
int ratq_qnet_cuda_quantize_device(ratq_qnet_cuda *g, const ratq_qnet *q, const float *params,
                                   unsigned long long *status) {
    (void)g, (void)q, (void)params, (void)status;
    return no_cuda();
}
int ratq_qnet_cuda_download_quantized(const ratq_qnet_cuda *g, ratq_qnet *dst) {
    (void)g, (void)dst;
    return no_cuda();
}
const int8_t *ratq_qnet_cuda_forward_device(ratq_qnet_cuda *g, const ratq_qnet *q, const uint8_t *img, int n) {
    (void)g, (void)q, (void)img, (void)n;
    no_cuda();
    return NULL;
}
float *ratq_qnet_cuda_dlogits(ratq_qnet_cuda *g) {
    (void)g;
    return NULL;
}
int ratq_qnet_cuda_backward_device(ratq_qnet_cuda *g, const ratq_qnet *q, float *grads, int accumulate,
                                   void (*op_done)(void *arg, int op), void *arg) {
    (void)g, (void)q, (void)grads, (void)accumulate, (void)op_done, (void)arg;
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
    int uploaded;           // quantized parameters present (upload or device quantization)
    int math;               // RATQ_GEMM_* of the backward GEMMs
    size_t n_params, n_ch;  // master parameters; rescaler slots (sum of CONV/DW/FC oc, + 1 per GAP)
    size_t n_in;            // input bytes per image: res*res*in_c
    cudaStream_t own;       // non-blocking stream made by create
    cudaStream_t stream;    // the stream every copy, memset and kernel of this object runs on (own or the caller's)
    size_t *ch_off;         // [n_ops] host: first rescaler / ratio / bias slot of op i
    size_t *wq_off;         // [n_ops] host: offset of op i's int8 weights in d_wq (16-byte aligned: vector loads)
    int *first_of;          // [n_ops] host: the op whose backward contributes first to op i's gradient (-1 none)
    size_t n_wq;            // bytes of d_wq
    uint8_t *d_img;         // [max_batch][n_in] u8 images (host API)
    int8_t *d_qin;          // [max_batch][n_in] int8 network input
    int8_t **d_q;           // [n_ops] host array of device [max_batch * oh*ow*oc] int8 outputs
    uint8_t **d_mask;       // [n_ops] likewise, STE masks
    float **d_f;            // [n_ops] likewise, float gradients w.r.t. the dequantized outputs (train)
    float *d_xr;            // [max_batch * largest op input] centered inputs of the weight-gradient GEMMs (train)
    float *d_ws;            // [ws_floats] conv backward im2col workspace (train, may be NULL)
    double *d_part;         // [part_doubles] reduction partials of the backward (train)
    int8_t *d_wq;           // [n_wq] int8 weights of op i at wq_off[i], the master weights' layout
    float *d_wr;            // [n_params] dequantized weights S_w q_w at w_off (train)
    int32_t *d_bq;          // [n_ch] int32 biases at ch_off
    ratq_rescale *d_rs;     // [n_ch] CONV/DW/FC per-channel (m, s), GAP its per-tensor one
    float *d_ratio;         // [n_ch] STE ratios r[o] (train)
    double *d_scale;        // [n_ch] weight scales S_w (device quantization)
    float *d_grads;         // [n_params] parameter gradients (host API backward)
    ratq_qe_channel_desc *d_qdesc; // [n_qch] device quantization table (ratq_qnet_cuda_quantize_setup)
    int64_t n_qch;
    int8_t *h_wq;           // host staging of the uploads, same layouts
    float *h_wr;
    int32_t *h_bq;
    ratq_rescale *h_rs;
    float *h_ratio;
    int8_t *h_logits;       // [max_batch][classes] downloaded logits
};

static size_t op_out(const ratq_qnop *o) { return (size_t)o->oh * o->ow * o->oc; }
static size_t op_in(const ratq_qnop *o) { return (size_t)o->h * o->w * o->c; }
static int has_weights(const ratq_qnop *o) { return qc_has_weights(o); }
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
    void *dev[] = {g->d_img, g->d_qin,   g->d_xr,    g->d_ws,     g->d_part,  g->d_wq,   g->d_wr,
                   g->d_bq,  g->d_rs,    g->d_ratio, g->d_scale,  g->d_grads, g->d_qdesc};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) CUDA_CHECK(cudaFree(dev[i]));
    if (g->own) CUDA_CHECK(cudaStreamDestroy(g->own));
    free(g->d_q);
    free(g->d_mask);
    free(g->d_f);
    free(g->ch_off);
    free(g->wq_off);
    free(g->first_of);
    free(g->h_wq);
    free(g->h_wr);
    free(g->h_bq);
    free(g->h_rs);
    free(g->h_ratio);
    free(g->h_logits);
    free(g);
}

// Reduction partials one op's backward needs for n images (kernels/cuda/qnet_cuda.h *_part_doubles).
static size_t op_part_doubles(const ratq_qnop *o, int n) {
    if (o->kind == RATQ_QN_DWCONV) {
        ratq_conv2d_params p = o->fp;
        p.n = n;
        return ratq_fused_dw_part_doubles(&p);
    }
    if (o->kind == RATQ_QN_CONV || o->kind == RATQ_QN_FC) return ratq_fused_ste_colsum_part_doubles(n * o->oh * o->ow, o->oc);
    return 0;
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
    g->math = RATQ_GEMM_FP32;
    CUDA_CHECK(cudaSetDevice(device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&g->own, cudaStreamNonBlocking));
    g->stream = g->own;
    g->ch_off = calloc((size_t)q->n_ops, sizeof *g->ch_off);
    g->wq_off = calloc((size_t)q->n_ops, sizeof *g->wq_off);
    g->first_of = malloc((size_t)q->n_ops * sizeof *g->first_of);
    g->d_q = calloc((size_t)q->n_ops, sizeof *g->d_q);
    g->d_mask = calloc((size_t)q->n_ops, sizeof *g->d_mask);
    g->d_f = calloc((size_t)q->n_ops, sizeof *g->d_f);
    if (!g->ch_off || !g->wq_off || !g->first_of || !g->d_q || !g->d_mask || !g->d_f) goto oom;
    ratq_qnet_cuda_first_of(q, g->first_of);
    ratq_qnet_cuda_layout(q, g->ch_off, g->wq_off, &g->n_ch, &g->n_wq);
    const size_t B = (size_t)max_batch;
    size_t mx = g->n_in, ws = 0, part = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (op_in(o) > mx) mx = op_in(o);
        if (o->kind == RATQ_QN_CONV) {
            ratq_conv2d_params p = o->fp;
            p.n = max_batch;
            size_t w = ratq_conv2d_workspace_floats_cuda(&p);
            if (w > ws) ws = w;
        }
        if (op_part_doubles(o, max_batch) > part) part = op_part_doubles(o, max_batch);
        if (dalloc((void **)&g->d_q[i], op_out(o) * B, "op outputs") ||
            dalloc((void **)&g->d_mask[i], op_out(o) * B, "STE masks") ||
            (g->train && dalloc((void **)&g->d_f[i], op_out(o) * B * sizeof(float), "activation gradients")))
            goto fail;
    }
    if (dalloc((void **)&g->d_img, g->n_in * B, "input images") ||
        dalloc((void **)&g->d_qin, g->n_in * B, "network input") ||
        dalloc((void **)&g->d_wq, g->n_wq, "int8 weights") ||
        dalloc((void **)&g->d_bq, g->n_ch * sizeof(int32_t), "int32 biases") ||
        dalloc((void **)&g->d_rs, g->n_ch * sizeof(ratq_rescale), "rescalers") ||
        dalloc((void **)&g->d_scale, g->n_ch * sizeof(double), "weight scales") ||
        dalloc((void **)&g->d_ratio, g->n_ch * sizeof(float), "STE ratios") ||
        dalloc((void **)&g->d_wr, g->n_params * sizeof(float), "dequantized weights"))
        goto fail;
    if (g->train && (dalloc((void **)&g->d_xr, mx * B * sizeof(float), "centered inputs") ||
                     dalloc((void **)&g->d_ws, ws * sizeof(float), "conv workspace") ||
                     dalloc((void **)&g->d_part, part * sizeof(double), "reduction partials") ||
                     dalloc((void **)&g->d_grads, g->n_params * sizeof(float), "gradients")))
        goto fail;
    g->h_wq = calloc(g->n_wq ? g->n_wq : 1, 1);
    g->h_bq = calloc(g->n_ch ? g->n_ch : 1, sizeof *g->h_bq);
    g->h_rs = calloc(g->n_ch ? g->n_ch : 1, sizeof *g->h_rs);
    g->h_wr = calloc(g->n_params ? g->n_params : 1, sizeof *g->h_wr);
    g->h_ratio = calloc(g->n_ch ? g->n_ch : 1, sizeof *g->h_ratio);
    g->h_logits = malloc(B * (size_t)g->classes);
    if (!g->h_wq || !g->h_bq || !g->h_rs || !g->h_wr || !g->h_ratio || !g->h_logits) goto oom;
    return g;
oom:
    ratq_error("cuda: out of host memory");
fail:
    ratq_qnet_cuda_destroy(g);
    return NULL;
}

void ratq_qnet_cuda_set_gemm(ratq_qnet_cuda *g, int math) {
    g->math = math == RATQ_GEMM_TF32 || math == RATQ_GEMM_BF16 ? math : RATQ_GEMM_FP32;
}
void ratq_qnet_cuda_set_stream(ratq_qnet_cuda *g, void *stream) { g->stream = stream ? (cudaStream_t)stream : g->own; }
void *ratq_qnet_cuda_get_stream(const ratq_qnet_cuda *g) { return (void *)g->stream; }

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
        memcpy(g->h_wr + o->w_off, o->wr, nw * sizeof *o->wr);
        memcpy(g->h_ratio + c0, o->ratio, (size_t)o->oc * sizeof *o->ratio);
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    cudaStream_t s = g->stream;
    CUDA_CHECK(cudaMemcpyAsync(g->d_wq, g->h_wq, g->n_wq, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(g->d_bq, g->h_bq, g->n_ch * sizeof *g->h_bq, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(g->d_rs, g->h_rs, g->n_ch * sizeof *g->h_rs, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(g->d_wr, g->h_wr, g->n_params * sizeof *g->h_wr, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(g->d_ratio, g->h_ratio, g->n_ch * sizeof *g->h_ratio, cudaMemcpyHostToDevice, s));
    CUDA_CHECK(cudaStreamSynchronize(s)); // the staging buffers are reused by the next upload
    g->uploaded = 1;
    return 0;
}

// ---- device quantization ----------------------------------------------------------------------------------------

int ratq_qnet_cuda_quantize_setup(ratq_qnet_cuda *g, const ratq_qnet *q) {
    if (!same_net(g, q, "quantize setup")) return -1;
    if (!q->calibrated || !q->quantized) {
        ratq_error("cuda: device quantization needs a calibrated network quantized once on the host");
        return -1;
    }
    const int64_t n = ratq_qnet_cuda_quant_table(q, g->ch_off, g->wq_off, NULL);
    ratq_qe_channel_desc *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    if (!d) {
        ratq_error("cuda: out of host memory");
        return -1;
    }
    ratq_qnet_cuda_quant_table(q, g->ch_off, g->wq_off, d);
    CUDA_CHECK(cudaSetDevice(g->device));
    if (!g->d_qdesc && dalloc((void **)&g->d_qdesc, (size_t)(n ? n : 1) * sizeof *d, "quantization table")) {
        free(d);
        return -1;
    }
    CUDA_CHECK(cudaMemcpyAsync(g->d_qdesc, d, (size_t)n * sizeof *d, cudaMemcpyHostToDevice, g->stream));
    CUDA_CHECK(cudaStreamSynchronize(g->stream));
    free(d);
    g->n_qch = n;
    return ratq_qnet_cuda_upload_quantized(g, q); // GAP rescalers (fixed) and a consistent starting state
}

int ratq_qnet_cuda_quantize_device(ratq_qnet_cuda *g, const ratq_qnet *q, const float *params,
                                   unsigned long long *status) {
    if (!same_net(g, q, "quantize")) return -1;
    if (!g->d_qdesc) {
        ratq_error("cuda: device quantization before ratq_qnet_cuda_quantize_setup");
        return -1;
    }
    ratq_quantize_weights_cuda(g->n_qch, g->d_qdesc, params, q->opt.k, q->opt.snap, g->d_wq, g->d_wr, g->d_bq,
                               g->d_rs, g->d_ratio, g->d_scale, status, g->stream);
    g->uploaded = 1;
    return 0;
}

int ratq_qnet_cuda_download_quantized(const ratq_qnet_cuda *g, ratq_qnet *dst) {
    if (!same_net(g, dst, "download quantized")) return -1;
    double *scale = malloc((g->n_ch ? g->n_ch : 1) * sizeof *scale);
    if (!scale) {
        ratq_error("cuda: out of host memory");
        return -1;
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    cudaStream_t s = g->stream;
    CUDA_CHECK(cudaMemcpyAsync(g->h_wq, g->d_wq, g->n_wq, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaMemcpyAsync(g->h_bq, g->d_bq, g->n_ch * sizeof *g->h_bq, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaMemcpyAsync(g->h_rs, g->d_rs, g->n_ch * sizeof *g->h_rs, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaMemcpyAsync(g->h_ratio, g->d_ratio, g->n_ch * sizeof *g->h_ratio, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaMemcpyAsync(g->h_wr, g->d_wr, g->n_params * sizeof *g->h_wr, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaMemcpyAsync(scale, g->d_scale, g->n_ch * sizeof *scale, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    for (int i = 0; i < dst->n_ops; i++) {
        ratq_qnop *o = &dst->ops[i];
        if (!has_weights(o)) continue;
        const size_t c0 = g->ch_off[i], nw = (size_t)o->oc * o->per_oc;
        memcpy(o->wq, g->h_wq + g->wq_off[i], nw);
        memcpy(o->bq, g->h_bq + c0, (size_t)o->oc * sizeof *o->bq);
        memcpy(o->rs, g->h_rs + c0, (size_t)o->oc * sizeof *o->rs);
        memcpy(o->ratio, g->h_ratio + c0, (size_t)o->oc * sizeof *o->ratio);
        memcpy(o->w_scale, scale + c0, (size_t)o->oc * sizeof *scale);
        memcpy(o->wr, g->h_wr + o->w_off, nw * sizeof *o->wr);
    }
    free(scale);
    return 0;
}

// ---- forward ------------------------------------------------------------------------------------------------------

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

const int8_t *ratq_qnet_cuda_forward_device(ratq_qnet_cuda *g, const ratq_qnet *q, const uint8_t *img, int n) {
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
    ratq_qnet_input_s8_cuda((int64_t)g->n_in * n, img, g->d_qin, s);
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
    g->last_n = n;
    return g->d_q[q->n_ops - 1];
}

const int8_t *ratq_qnet_cuda_forward(ratq_qnet_cuda *g, const ratq_qnet *q, const uint8_t *img, int n) {
    if (!same_net(g, q, "forward")) return NULL;
    if (n < 1 || n > g->max_batch) {
        ratq_error("cuda: forward of %d images with buffers for %d", n, g->max_batch);
        return NULL;
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    CUDA_CHECK(cudaMemcpyAsync(g->d_img, img, g->n_in * (size_t)n, cudaMemcpyHostToDevice, g->stream));
    const int8_t *d = ratq_qnet_cuda_forward_device(g, q, g->d_img, n);
    if (!d) return NULL;
    CUDA_CHECK(cudaMemcpyAsync(g->h_logits, d, (size_t)n * g->classes, cudaMemcpyDeviceToHost, g->stream));
    CUDA_CHECK(cudaStreamSynchronize(g->stream));
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

// ---- backward -----------------------------------------------------------------------------------------------------

float *ratq_qnet_cuda_dlogits(ratq_qnet_cuda *g) { return g->train ? g->d_f[g->n_ops - 1] : NULL; }

// host/quant/fake.c ratq_qnet_backward op by op (same op order; every contribution to a producer's gradient lands
// in the CPU's order, the first one overwriting: kernels/cuda/fused_elem.h).
int ratq_qnet_cuda_backward_device(ratq_qnet_cuda *g, const ratq_qnet *q, float *grads, int accumulate,
                                   void (*op_done)(void *arg, int op), void *arg) {
    if (!same_net(g, q, "backward")) return -1;
    const int n = g->last_n;
    if (!g->train || !n) {
        ratq_error("cuda: backward %s", g->train ? "without a forward" : "on a forward-only network");
        return -1;
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    cudaStream_t s = g->stream;
    const int acc = accumulate ? 1 : 0;
    for (int i = 0; i < q->n_ops - 1; i++) // an output nothing reads back has gradient 0 (the CPU's memset)
        if (g->first_of[i] < 0) ratq_zero_cuda((int64_t)op_out(&q->ops[i]) * n, g->d_f[i], s);
    for (int i = q->n_ops - 1; i >= 0; i--) {
        const ratq_qnop *o = &q->ops[i];
        float *dy = g->d_f[i];
        const uint8_t *mk = g->d_mask[i];
        const int64_t cnt = (int64_t)op_out(o) * n;
        float *dsrc = o->src >= 0 ? g->d_f[o->src] : NULL; // no gradient for the network input
        const int fsrc = o->src >= 0 && g->first_of[o->src] == i;
        if (o->kind == RATQ_QN_ADD) {
            float *dsrc2 = o->src2 >= 0 ? g->d_f[o->src2] : NULL;
            const int fsrc2 = o->src2 >= 0 && g->first_of[o->src2] == i && !(o->src2 == o->src && fsrc);
            ratq_fused_add_bwd_cuda(cnt, dy, mk, o->ratio_a, o->ratio_b, dsrc, fsrc, dsrc2, fsrc2, s);
            if (op_done) op_done(arg, i);
            continue;
        }
        if (o->kind == RATQ_QN_GAP) {
            const int hw = o->h * o->w;
            const float r = o->ratio_a / (float)hw; // the CPU's expression
            if (dsrc) ratq_fused_gap_bwd_cuda(n, hw, o->c, dy, mk, r, dsrc, fsrc, s);
            if (op_done) op_done(arg, i);
            continue;
        }
        const ratq_qact *xa = src_act(q, o->src);
        const int8_t *x = o->src >= 0 ? g->d_q[o->src] : g->d_qin;
        const float *ratio = g->d_ratio + g->ch_off[i], *wr = g->d_wr + o->w_off;
        float *dw = grads + o->w_off, *db = grads + o->b_off;
        if (o->kind == RATQ_QN_DWCONV) {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            ratq_fused_dw_bwd_cuda(&p, x, xa->scale, xa->zp, wr, dy, mk, ratio, dsrc, fsrc, dw, db, acc, g->d_part, s);
            if (op_done) op_done(arg, i);
            continue;
        }
        // CONV / FC: g = dy * mask * r[o] in place (with db), then the GEMMs on the centered input
        ratq_fused_ste_colsum_cuda(n * o->oh * o->ow, o->oc, dy, mk, ratio, db, acc, g->d_part, s);
        if (o->kind == RATQ_QN_CONV) {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            ratq_fused_conv_bwd_cuda(g->math, &p, x, xa->scale, xa->zp, wr, dy, dsrc, fsrc, dw, acc, g->d_xr, g->d_ws,
                                     s);
        } else {
            ratq_fused_fc_bwd_cuda(g->math, n, o->per_oc, o->oc, x, xa->scale, xa->zp, wr, dy, dsrc, fsrc, dw, acc,
                                   g->d_xr, s);
        }
        if (op_done) op_done(arg, i);
    }
    return 0;
}

int ratq_qnet_cuda_backward(ratq_qnet_cuda *g, ratq_qnet *q, const float *dlogits) {
    if (!same_net(g, q, "backward")) return -1;
    if (!g->train || !g->last_n) {
        ratq_error("cuda: backward %s", g->train ? "without a forward" : "on a forward-only network");
        return -1;
    }
    CUDA_CHECK(cudaSetDevice(g->device));
    cudaStream_t s = g->stream;
    CUDA_CHECK(cudaMemcpyAsync(g->d_f[q->n_ops - 1], dlogits, (size_t)g->last_n * q->num_classes * sizeof(float),
                               cudaMemcpyHostToDevice, s));
    if (ratq_qnet_cuda_backward_device(g, q, g->d_grads, 0, NULL, NULL) != 0) return -1;
    CUDA_CHECK(cudaMemcpyAsync(q->grads, g->d_grads, g->n_params * sizeof(float), cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
    return 0;
}

#endif
