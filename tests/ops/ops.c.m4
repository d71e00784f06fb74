m4_changequote([<, >])m4_dnl
m4_changecom()m4_dnl
m4_dnl One backend's kernels for tests/ops/cases.m4, wrapped as op_case:
m4_dnl   m4 -P -I templates -D bz_backend_label=reference -D bz_case_real=double \
m4_dnl      -D bz_case_table=f64_cases tests/ops/ops.c.m4 tests/ops/cases.m4
m4_include(bz_backend_label[</kernels.m4>])m4_dnl
/* Operator test unit: bz_backend_label kernels, real_t = bz_case_real. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "bz_kernels.h"
#include "op_case.h"
#include "util/bz_util.h"

typedef bz_case_real real_t;

static real_t *to_real(const double *src, long n)
{
    real_t *dst = calloc((size_t)(n ? n : 1), sizeof *dst);
    for (long i = 0; src && i < n; i++)
        dst[i] = (real_t)src[i];
    return dst;
}

/* A kernel's workspace, full of NaNs: a kernel must read nothing there
 * that it did not write first (in a model, another layer's data). */
static real_t *workspace(long n)
{
    real_t *ws = malloc(sizeof *ws * (size_t)(n ? n : 1));
    for (long i = 0; i < n; i++)
        ws[i] = (real_t)NAN;
    return ws;
}

static void to_double(const real_t *src, double *dst, long n)
{
    for (long i = 0; i < n; i++)
        dst[i] = src[i];
}

static void release(void *p)
{
    free(p);
}

static int64_t *new_counter(void)
{
    return calloc(1, sizeof(int64_t));
}

/* Parameter kernels overwrite their gradients; the case interface adds
 * to the caller's values when asked to accumulate. */
static void store_grad(const real_t *src, double *dst, long n, int accumulate)
{
    for (long i = 0; i < n; i++)
        dst[i] = accumulate ? dst[i] + src[i] : src[i];
}
m4_include([<ops_wrappers.m4>])m4_dnl
