/* What generated CUDA code (model.cu, the CUDA operator tests) shares:
 * launch shapes, error checks and block reductions.  CUDA C++; included
 * only by nvcc-compiled sources. */
#ifndef BZ_CUDA_CUH
#define BZ_CUDA_CUH

#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

/* Every kernel runs with BZ_CUDA_THREADS threads per block; elementwise
 * kernels stride over the elements from at most BZ_CUDA_MAX_BLOCKS blocks. */
enum { BZ_CUDA_THREADS = 256, BZ_CUDA_MAX_BLOCKS = 8192 };

static inline unsigned bz_cuda_blocks(long n)
{
    long blocks = (n + BZ_CUDA_THREADS - 1) / BZ_CUDA_THREADS;
    return (unsigned)(blocks < 1 ? 1 : blocks > BZ_CUDA_MAX_BLOCKS ? (long)BZ_CUDA_MAX_BLOCKS : blocks);
}

/* A failed launch or call is a bug or a lost device: report and stop. */
static inline void bz_cuda_check(cudaError_t status, const char *what)
{
    if (status != cudaSuccess) {
        fprintf(stderr, "error: CUDA %s: %s\n", what, cudaGetErrorString(status));
        exit(1);
    }
}

#define BZ_CUDA_LAUNCHED(what) bz_cuda_check(cudaGetLastError(), what)

/* grid-stride loop over [0, n) */
#define BZ_CUDA_FOR(i, n)                                                               \
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                 \
         i += (long)gridDim.x * blockDim.x)

/* The sum of v over the block (BZ_CUDA_THREADS threads), in a fixed
 * order: every thread gets it. */
static __device__ inline double bz_block_sum(double v)
{
    __shared__ double partial[BZ_CUDA_THREADS];
    __syncthreads();  /* the previous call's readers are done */
    partial[threadIdx.x] = v;
    __syncthreads();
    for (int half = BZ_CUDA_THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half)
            partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    return partial[0];
}

#endif
