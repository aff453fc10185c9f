// host/quant/qnet_float_cuda.c — the float folded network on one GPU (host/quant/qnet_float_cuda.h): the loop body of
// ratq_qnet_float_forward (host/quant/qnet.c) with the float forward twins of kernels/cuda/train_ops_cuda.h.
#include <stdlib.h>
#include <string.h>

#include "common/io.h"
#include "quant/qnet_cuda.h"
#include "quant/qnet_float_cuda.h"

#ifndef RATQ_HAVE_CUDA

ratq_qnet_float_cuda *ratq_qnet_float_cuda_create(const ratq_qnet *q, int max_batch, int device) {
    (void)q, (void)max_batch, (void)device;
    ratq_error("cuda: built without CUDA (reconfigure with nvcc on the PATH and -DRATQ_CUDA=ON)");
    return NULL;
}
void ratq_qnet_float_cuda_destroy(ratq_qnet_float_cuda *f) { (void)f; }
void ratq_qnet_float_cuda_set_gemm(ratq_qnet_float_cuda *f, int math) { (void)f, (void)math; }
void ratq_qnet_float_cuda_set_stream(ratq_qnet_float_cuda *f, void *stream) { (void)f, (void)stream; }
const float *ratq_qnet_float_cuda_forward_device(ratq_qnet_float_cuda *f, const ratq_qnet *q, const uint8_t *img,
                                                 int n) {
    (void)f, (void)q, (void)img, (void)n;
    return NULL;
}
int ratq_qnet_float_cuda_forward(ratq_qnet_float_cuda *f, const ratq_qnet *q, const uint8_t *img, int n, float *out) {
    (void)f, (void)q, (void)img, (void)n, (void)out;
    return -1;
}

#else

#include <cuda_runtime.h>

#include "cuda/cuda_check.h"
#include "cuda/train_ops_cuda.h"

struct ratq_qnet_float_cuda {
    int device, max_batch, n_ops, classes, math;
    size_t n_params, n_in;
    cudaStream_t own, stream;
    uint8_t *d_img; // [max_batch][n_in] (host-image forward)
    float *d_x;     // [max_batch][n_in] network input (u8 - 127) / 128
    float **d_y;    // [n_ops] host array of device [max_batch * oh*ow*oc] op outputs
    float *d_ws;    // conv im2col workspace
    float *d_params; // [n_params] folded float weights
};

static size_t op_out(const ratq_qnop *o) { return (size_t)o->oh * o->ow * o->oc; }

void ratq_qnet_float_cuda_destroy(ratq_qnet_float_cuda *f) {
    if (!f) return;
    CUDA_CHECK(cudaSetDevice(f->device));
    if (f->stream) CUDA_CHECK(cudaStreamSynchronize(f->stream));
    for (int i = 0; f->d_y && i < f->n_ops; i++) CUDA_CHECK(cudaFree(f->d_y[i]));
    CUDA_CHECK(cudaFree(f->d_img));
    CUDA_CHECK(cudaFree(f->d_x));
    CUDA_CHECK(cudaFree(f->d_ws));
    CUDA_CHECK(cudaFree(f->d_params));
    if (f->own) CUDA_CHECK(cudaStreamDestroy(f->own));
    free(f->d_y);
    free(f);
}

static int falloc(void **p, size_t bytes, const char *what) {
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

ratq_qnet_float_cuda *ratq_qnet_float_cuda_create(const ratq_qnet *q, int max_batch, int device) {
    if (max_batch < 1 || q->n_ops < 1 || device < 0 || device >= ratq_cuda_device_count()) {
        ratq_error("cuda: float network for %d images of %d ops on device %d (%d devices)", max_batch, q->n_ops,
                   device, ratq_cuda_device_count());
        return NULL;
    }
    ratq_qnet_float_cuda *f = calloc(1, sizeof *f);
    if (!f || !(f->d_y = calloc((size_t)q->n_ops, sizeof *f->d_y))) {
        free(f);
        ratq_error("cuda: out of host memory");
        return NULL;
    }
    f->device = device;
    f->max_batch = max_batch;
    f->n_ops = q->n_ops;
    f->classes = q->num_classes;
    f->n_params = q->n_params;
    f->n_in = (size_t)q->resolution * q->resolution * q->in_c;
    f->math = RATQ_GEMM_FP32;
    CUDA_CHECK(cudaSetDevice(device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&f->own, cudaStreamNonBlocking));
    f->stream = f->own;
    const size_t B = (size_t)max_batch;
    size_t ws = 0;
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        if (o->kind == RATQ_QN_CONV) {
            ratq_conv2d_params p = o->fp;
            p.n = max_batch;
            const size_t w = ratq_conv2d_workspace_floats_cuda(&p);
            if (w > ws) ws = w;
        }
        if (falloc((void **)&f->d_y[i], op_out(o) * B * sizeof(float), "float activations")) goto fail;
    }
    if (falloc((void **)&f->d_img, f->n_in * B, "input images") ||
        falloc((void **)&f->d_x, f->n_in * B * sizeof(float), "float input") ||
        falloc((void **)&f->d_ws, ws * sizeof(float), "conv workspace") ||
        falloc((void **)&f->d_params, f->n_params * sizeof(float), "float parameters"))
        goto fail;
    CUDA_CHECK(cudaMemcpyAsync(f->d_params, q->params, f->n_params * sizeof(float), cudaMemcpyHostToDevice, f->stream));
    CUDA_CHECK(cudaStreamSynchronize(f->stream));
    return f;
fail:
    ratq_qnet_float_cuda_destroy(f);
    return NULL;
}

void ratq_qnet_float_cuda_set_gemm(ratq_qnet_float_cuda *f, int math) {
    f->math = math == RATQ_GEMM_TF32 || math == RATQ_GEMM_BF16 ? math : RATQ_GEMM_FP32;
}
void ratq_qnet_float_cuda_set_stream(ratq_qnet_float_cuda *f, void *stream) {
    f->stream = stream ? (cudaStream_t)stream : f->own;
}

const float *ratq_qnet_float_cuda_forward_device(ratq_qnet_float_cuda *f, const ratq_qnet *q, const uint8_t *img,
                                                 int n) {
    if (q->n_ops != f->n_ops || q->n_params != f->n_params || n < 1 || n > f->max_batch) {
        ratq_error("cuda: float forward of %d images (buffers for %d) on a different network", n, f->max_batch);
        return NULL;
    }
    CUDA_CHECK(cudaSetDevice(f->device));
    cudaStream_t s = f->stream;
    ratq_float_input_cuda((int64_t)f->n_in * n, img, f->d_x, s);
    for (int i = 0; i < q->n_ops; i++) {
        const ratq_qnop *o = &q->ops[i];
        const float *x = o->src >= 0 ? f->d_y[o->src] : f->d_x;
        float *y = f->d_y[i];
        const int64_t cnt = (int64_t)op_out(o) * n;
        const float *w = f->d_params + o->w_off, *b = f->d_params + o->b_off;
        switch (o->kind) {
        case RATQ_QN_CONV: {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            ratq_conv2d_fwd_cuda(f->math, &p, x, w, b, y, f->d_ws, s);
            break;
        }
        case RATQ_QN_DWCONV: {
            ratq_conv2d_params p = o->fp;
            p.n = n;
            ratq_dwconv2d_fwd_cuda(&p, x, w, b, y, s);
            break;
        }
        case RATQ_QN_FC: {
            ratq_linear_params p = {.n = n, .in = o->per_oc, .out = o->oc};
            ratq_linear_fwd_cuda(f->math, &p, x, w, b, y, s);
            break;
        }
        case RATQ_QN_ADD: ratq_add_fwd_cuda(cnt, x, o->src2 >= 0 ? f->d_y[o->src2] : f->d_x, y, s); break;
        case RATQ_QN_GAP: {
            ratq_pool_params p = {.n = n, .h = o->h, .w = o->w, .c = o->c};
            ratq_global_avgpool_fwd_cuda(&p, x, y, s);
            break;
        }
        }
        if (o->act == RATQ_ACT_RELU6) ratq_relu6_inplace_cuda(cnt, y, s);
    }
    return f->d_y[q->n_ops - 1];
}

int ratq_qnet_float_cuda_forward(ratq_qnet_float_cuda *f, const ratq_qnet *q, const uint8_t *img, int n, float *out) {
    if (n < 1 || n > f->max_batch) {
        ratq_error("cuda: float forward of %d images with buffers for %d", n, f->max_batch);
        return -1;
    }
    CUDA_CHECK(cudaSetDevice(f->device));
    CUDA_CHECK(cudaMemcpyAsync(f->d_img, img, f->n_in * (size_t)n, cudaMemcpyHostToDevice, f->stream));
    const float *d = ratq_qnet_float_cuda_forward_device(f, q, f->d_img, n);
    if (!d) return -1;
    CUDA_CHECK(cudaMemcpyAsync(out, d, (size_t)n * f->classes * sizeof(float), cudaMemcpyDeviceToHost, f->stream));
    CUDA_CHECK(cudaStreamSynchronize(f->stream));
    return 0;
}

#endif
