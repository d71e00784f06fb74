/* The CUDA device (bz_device, runtime/model/bz_model.h): whether a GPU is
 * usable, device memory, copies, and the --precision setting.  Compiled by
 * nvcc where it is found; every call's status is checked. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "cuda/bz_cuda.cuh"
extern "C" {
#include "cuda/bz_cuda_model.h"
#include "util/bz_util.h"
}

/* The binaries hold sm_90 code and compute_90 PTX: older GPUs cannot
 * run them. */
enum { OLDEST_MAJOR = 9 };

static const char *cuda_unusable(void)
{
    static char why[512];
    static int checked;
    if (checked)
        return why[0] ? why : NULL;
    checked = 1;
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        snprintf(why, sizeof why, "%s", cudaGetErrorString(status));
        (void)cudaGetLastError();  /* the failed query is not a sticky error */
        return why;
    }
    if (count == 0) {
        snprintf(why, sizeof why, "no CUDA device found");
        return why;
    }
    cudaDeviceProp prop;
    bz_cuda_check(cudaGetDeviceProperties(&prop, 0), "device properties");
    if (prop.major < OLDEST_MAJOR) {
        snprintf(why, sizeof why, "%.256s has compute capability %d.%d; this build needs %d.0 or newer",
                 prop.name, prop.major, prop.minor, OLDEST_MAJOR);
        return why;
    }
    return NULL;
}

static void *cuda_alloc(size_t bytes)
{
    void *p = NULL;
    bz_cuda_check(cudaMalloc(&p, bytes ? bytes : 1), "allocation");
    bz_cuda_check(cudaMemset(p, 0, bytes ? bytes : 1), "clearing an allocation");
    return p;
}

static void cuda_release(void *p)
{
    if (p)
        bz_cuda_check(cudaFree(p), "free");
}

static void cuda_upload(void *device_dst, const void *host_src, size_t bytes)
{
    if (bytes)
        bz_cuda_check(cudaMemcpy(device_dst, host_src, bytes, cudaMemcpyHostToDevice), "upload");
}

static void cuda_download(void *host_dst, const void *device_src, size_t bytes)
{
    if (bytes)
        bz_cuda_check(cudaMemcpy(host_dst, device_src, bytes, cudaMemcpyDeviceToHost),
                      "download");
}

static void cuda_synchronize(void)
{
    bz_cuda_check(cudaDeviceSynchronize(), "kernels");
}

/* The generated kernels compute in fp32 whatever the setting; tf32 lets
 * cuBLAS use TF32 tensor cores, as BlockZoo's
 * float32_matmul_precision("high") lets PyTorch.  Called once a GPU is
 * known to be usable, before any kernel runs. */
static int cuda_set_precision(const char *precision)
{
    if (strcmp(precision, "fp32") == 0 || strcmp(precision, "tf32") == 0) {
        bz_cuda_blas_prepare(strcmp(precision, "tf32") == 0);
        return 0;
    }
    if (strcmp(precision, "bf16") == 0)
        bz_error("--precision bf16: the CUDA backend has no bf16 kernels yet (fp32 or tf32)");
    else
        bz_error("--precision wants fp32, tf32 or bf16, got '%s'", precision);
    return -1;
}

const bz_device bz_cuda_device = {
    "cuda", cuda_unusable, cuda_alloc, cuda_release, cuda_upload, cuda_download,
    cuda_synchronize, cuda_set_precision,
};
