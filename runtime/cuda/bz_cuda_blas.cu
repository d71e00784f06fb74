/* Row-major GEMMs of the CUDA backend through cuBLAS: 1x1 convolutions
 * and linear layers are y[rows][out] = x[rows][in] w[out][in]^T (+ b).
 * cuBLAS is opened with dlopen on first use, not linked: its libraries
 * take ~0.1 s to load, which every CPU run of a binary would pay. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdio.h>

#include "cuda/bz_cuda.cuh"
extern "C" {
#include "cuda/bz_cuda_model.h"
#include "kernels/bz_activation.h"
#include "util/bz_util.h"
}

#ifndef BZ_CUBLAS_LIBRARY
#define BZ_CUBLAS_LIBRARY "libcublas.so"
#endif

/* cuBLAS's own workspace, given to it so that it allocates nothing while
 * a training step is being captured into a graph */
enum { BLAS_WORKSPACE_BYTES = 32 << 20 };

static struct {
    cublasHandle_t handle;
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
    cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t);
    cublasStatus_t (*set_workspace)(cublasHandle_t, void *, size_t);
    cublasStatus_t (*sgemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const float *, const float *, int, const float *, int, const float *,
                            float *, int);
    int tf32;
} blas;

static void *symbol(void *lib, const char *name)
{
    void *f = dlsym(lib, name);
    if (!f)
        bz_fatal("cuBLAS (%s) has no %s", BZ_CUBLAS_LIBRARY, name);
    return f;
}

static void blas_check(cublasStatus_t status, const char *what)
{
    if (status != CUBLAS_STATUS_SUCCESS)
        bz_fatal("cuBLAS %s failed (status %d)", what, (int)status);
}

static void apply_math_mode(void)
{
    blas_check(blas.set_math_mode(blas.handle, blas.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                         : CUBLAS_DEFAULT_MATH),
               "math mode");
}

static cublasHandle_t handle(void)
{
    if (blas.handle)
        return blas.handle;
    void *lib = dlopen(BZ_CUBLAS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        bz_fatal("cannot load cuBLAS: %s", dlerror());
    blas.create = reinterpret_cast<decltype(blas.create)>(symbol(lib, "cublasCreate_v2"));
    blas.set_stream = reinterpret_cast<decltype(blas.set_stream)>(symbol(lib, "cublasSetStream_v2"));
    blas.set_math_mode =
        reinterpret_cast<decltype(blas.set_math_mode)>(symbol(lib, "cublasSetMathMode"));
    blas.set_workspace =
        reinterpret_cast<decltype(blas.set_workspace)>(symbol(lib, "cublasSetWorkspace_v2"));
    blas.sgemm = reinterpret_cast<decltype(blas.sgemm)>(symbol(lib, "cublasSgemm_v2"));
    blas_check(blas.create(&blas.handle), "handle creation");
    blas_check(blas.set_stream(blas.handle, cudaStreamPerThread), "stream");
    void *workspace;
    bz_cuda_check(cudaMalloc(&workspace, BLAS_WORKSPACE_BYTES), "cuBLAS workspace");
    blas_check(blas.set_workspace(blas.handle, workspace, BLAS_WORKSPACE_BYTES), "workspace");
    apply_math_mode();
    return blas.handle;
}

void bz_cuda_blas_prepare(int tf32)
{
    blas.tf32 = tf32;
    handle();
    apply_math_mode();
}

/* Row-major A[m][k] is column-major A^T: each product below is written for
 * column-major cuBLAS on the transposes. */
static void sgemm(cublasOperation_t ta, cublasOperation_t tb, long m, long n, long k,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c,
                  long ldc)
{
    const float one = 1.0f;
    /* handle() loads blas.sgemm on first use: called before the pointer is read */
    cublasHandle_t h = handle();
    blas_check(blas.sgemm(h, ta, tb, (int)m, (int)n, (int)k, &one, a, (int)lda, b,
                          (int)ldb, &beta, c, (int)ldc),
               "sgemm");
}

void bz_cuda_gemm_forward(const float *x, const float *w, float *y, long rows, int in, int out,
                          int accumulate)
{
    /* y^T[out][rows] (+)= w[out][in] x^T[in][rows] */
    sgemm(CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, w, in, x, in, accumulate ? 1.0f : 0.0f, y, out);
}

void bz_cuda_gemm_input_grad(const float *dy, const float *w, float *dx, long rows, int in,
                             int out, int accumulate)
{
    /* dx^T[in][rows] = w^T[in][out] dy^T[out][rows] */
    sgemm(CUBLAS_OP_N, CUBLAS_OP_N, in, rows, out, w, in, dy, out, accumulate ? 1.0f : 0.0f, dx,
          in);
}

void bz_cuda_gemm_weight_grad(const float *x, const float *dy, float *dw, long rows, int in,
                              int out)
{
    /* dw^T[in][out] = x^T[in][rows] dy[rows][out] */
    sgemm(CUBLAS_OP_N, CUBLAS_OP_T, in, out, rows, x, in, dy, out, 0.0f, dw, in);
}

static __global__ void add_bias_kernel(float *y, const float *b, long n, int out)
{
    BZ_CUDA_FOR(i, n)
        y[i] += b[i % out];
}

void bz_cuda_add_bias(float *y, const float *b, long rows, int out)
{
    long n = rows * out;
    add_bias_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(y, b, n, out);
    BZ_CUDA_LAUNCHED("bias");
}

static __global__ void activate_kernel(float *y, long n, int act)
{
    BZ_CUDA_FOR(i, n)
        y[i] = bz_activate(act, y[i]);
}

void bz_cuda_activate(float *y, long n, int act)
{
    activate_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(y, n, act);
    BZ_CUDA_LAUNCHED("activation");
}

/* one block per column, summed in double in a fixed order */
static __global__ void column_sums_kernel(const float *a, float *sums, long rows, int cols)
{
    int c = blockIdx.x;
    double sum = 0;
    for (long r = threadIdx.x; r < rows; r += blockDim.x)
        sum += a[r * cols + c];
    sum = bz_block_sum(sum);
    if (threadIdx.x == 0)
        sums[c] = (float)sum;
}

void bz_cuda_column_sums(const float *a, float *sums, long rows, int cols)
{
    column_sums_kernel<<<cols, BZ_CUDA_THREADS>>>(a, sums, rows, cols);
    BZ_CUDA_LAUNCHED("column sums");
}
