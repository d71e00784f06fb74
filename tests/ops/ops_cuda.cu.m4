m4_changequote([<, >])m4_dnl
m4_changecom()m4_dnl
m4_dnl The CUDA backend's kernels for tests/ops/cases.m4, wrapped as op_case
m4_dnl like ops.c.m4's (the same ops_wrappers.m4) on managed memory:
m4_dnl   m4 -P -I templates -I tests/ops -D bz_case_table=cuda_cases \
m4_dnl      tests/ops/ops_cuda.cu.m4 tests/ops/cases.m4
m4_include([<cuda/kernels.m4>])m4_dnl
/* Operator test unit: CUDA kernels, real_t = float, buffers in managed
 * memory so that the host-side wrappers read and write them directly. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bz_cuda.cuh"
extern "C" {
#include "bz_cuda_model.h"
#include "kernels/bz_activation.h"
#include "op_case.h"
}

typedef float real_t;

static real_t *to_real(const double *src, long n)
{
    real_t *dst;
    bz_cuda_check(cudaMallocManaged(&dst, sizeof *dst * (size_t)(n ? n : 1)), "managed allocation");
    for (long i = 0; i < (n ? n : 1); i++)
        dst[i] = src && i < n ? (real_t)src[i] : 0.f;
    return dst;
}

/* a kernel's workspace, full of NaNs (ops.c.m4's) */
static real_t *workspace(long n)
{
    real_t *ws = to_real(NULL, n);
    for (long i = 0; i < n; i++)
        ws[i] = (real_t)NAN;
    return ws;
}

/* the kernels run asynchronously: every read of a result waits for them */
static void to_double(const real_t *src, double *dst, long n)
{
    bz_cuda_check(cudaDeviceSynchronize(), "kernels");
    for (long i = 0; i < n; i++)
        dst[i] = src[i];
}

static void release(void *p)
{
    bz_cuda_check(cudaDeviceSynchronize(), "kernels");
    cudaFree(p);
}

static int64_t *new_counter(void)
{
    int64_t *count;
    bz_cuda_check(cudaMallocManaged(&count, sizeof *count), "managed allocation");
    *count = 0;
    return count;
}

static void store_grad(const real_t *src, double *dst, long n, int accumulate)
{
    bz_cuda_check(cudaDeviceSynchronize(), "kernels");
    for (long i = 0; i < n; i++)
        dst[i] = accumulate ? dst[i] + src[i] : src[i];
}

m4_include([<ops_wrappers.m4>])m4_dnl
