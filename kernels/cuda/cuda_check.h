// cuda_check.h — every CUDA / cuBLAS / cuDNN / NCCL call goes through one of these; failures print
// file:line, the statement and the library's message, then exit(1).
#ifndef RATQ_CUDA_CHECK_H
#define RATQ_CUDA_CHECK_H

#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define CUDA_CHECK(stmt)                                                                                              \
    do {                                                                                                              \
        cudaError_t err_ = (stmt);                                                                                    \
        if (err_ != cudaSuccess) {                                                                                    \
            fprintf(stderr, "ratq: CUDA error at %s:%d: %s: %s\n", __FILE__, __LINE__, #stmt,                         \
                    cudaGetErrorString(err_));                                                                        \
            exit(1);                                                                                                  \
        }                                                                                                             \
    } while (0)

// After every kernel launch: launch-configuration errors surface here, execution errors at the next sync.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

// cuBLAS calls (include <cublas_v2.h> before using it; this header does not, so C users need no cuBLAS headers).
#define CUBLAS_CHECK(stmt)                                                                                            \
    do {                                                                                                              \
        cublasStatus_t st_ = (stmt);                                                                                  \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                                                           \
            fprintf(stderr, "ratq: cuBLAS error at %s:%d: %s: %s (%d)\n", __FILE__, __LINE__, #stmt,                  \
                    cublasGetStatusString(st_), (int)st_);                                                            \
            exit(1);                                                                                                  \
        }                                                                                                             \
    } while (0)

// NCCL calls (include <nccl.h> before using it; this header does not, so builds without NCCL need no NCCL headers).
#define NCCL_CHECK(stmt)                                                                                              \
    do {                                                                                                              \
        ncclResult_t nr_ = (stmt);                                                                                    \
        if (nr_ != ncclSuccess) {                                                                                     \
            fprintf(stderr, "ratq: NCCL error at %s:%d: %s: %s\n", __FILE__, __LINE__, #stmt,                         \
                    ncclGetErrorString(nr_));                                                                         \
            exit(1);                                                                                                  \
        }                                                                                                             \
    } while (0)

// Number of CUDA devices, 0 when there is no driver or no device (never exits).
static inline int ratq_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

#endif
