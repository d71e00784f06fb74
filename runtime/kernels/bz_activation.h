/* The activations that a deploy conv applies to its output as it stores
 * it (the deploy graph's fused activation, gen/deploy.c): each formula
 * once, for every backend.  `act` is a constant where the kernels call
 * these (bzgen writes it into the kernel's arguments), so the switch folds
 * away.  The optimised activation kernels use the same float formulas, so
 * a fused activation gives what its own pass would. */
#ifndef BZ_ACTIVATION_H
#define BZ_ACTIVATION_H

#include <math.h>

#if defined(__CUDACC__)
#define BZ_ACTIVATION_FN static inline __host__ __device__
#else
#define BZ_ACTIVATION_FN static inline
#endif

enum bz_activation {
    BZ_ACT_NONE,
    BZ_ACT_RELU,
    BZ_ACT_HARDSWISH,    /* x relu6(x + 3) / 6 */
    BZ_ACT_GELU,         /* exact: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) */
    BZ_ACT_SILU,         /* x sigmoid(x) */
    BZ_ACT_SIGMOID,
    BZ_ACT_HARD_SIGMOID, /* relu6(x + 3) / 6 */
};

/* The clamps are comparisons: fminf/fmaxf would be library calls. */
BZ_ACTIVATION_FN float bz_activate(int act, float x)
{
    switch (act) {
    case BZ_ACT_RELU:
        return x > 0 ? x : 0;
    case BZ_ACT_HARDSWISH:
        return x * (x < -3.0f ? 0.0f : x > 3.0f ? 6.0f : x + 3.0f) * (1.0f / 6.0f);
    case BZ_ACT_GELU:
        return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
    case BZ_ACT_SILU:
        return x / (1.0f + expf(-x));
    case BZ_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-x));
    case BZ_ACT_HARD_SIGMOID:
        return (x < -3.0f ? 0.0f : x > 3.0f ? 6.0f : x + 3.0f) * (1.0f / 6.0f);
    default:
        return x;
    }
}

/* The reference backend's: in double, as its activation kernels. */
BZ_ACTIVATION_FN double bz_activate_double(int act, double x)
{
    switch (act) {
    case BZ_ACT_RELU:
        return x > 0 ? x : 0;
    case BZ_ACT_HARDSWISH:
        return x * (x < -3 ? 0 : x > 3 ? 6 : x + 3) / 6;
    case BZ_ACT_GELU:
        return 0.5 * x * (1.0 + erf(x * M_SQRT1_2));
    case BZ_ACT_SILU:
        return x / (1.0 + exp(-x));
    case BZ_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case BZ_ACT_HARD_SIGMOID:
        return (x < -3 ? 0 : x > 3 ? 6 : x + 3) / 6;
    default:
        return x;
    }
}

#if defined(__AVX512F__) && !defined(__CUDACC__)
#include <immintrin.h>

#include "bz_erf.h"

/* 16 lanes of bz_activate: the same values (GELU: bz_gelu16, the erf of
 * bz_erf.h, as the optimised GELU kernel under AVX-512). */
/* relu6(x + 3) */
static inline __m512 bz_relu6_shifted16(__m512 x)
{
    return _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.0f)), _mm512_setzero_ps()),
                         _mm512_set1_ps(6.0f));
}

static inline __m512 bz_activate16(int act, __m512 x)
{
    switch (act) {
    case BZ_ACT_NONE:
        return x;
    case BZ_ACT_RELU:
        return _mm512_max_ps(x, _mm512_setzero_ps());
    case BZ_ACT_HARDSWISH:
        return _mm512_mul_ps(_mm512_mul_ps(x, bz_relu6_shifted16(x)), _mm512_set1_ps(1.0f / 6.0f));
    case BZ_ACT_HARD_SIGMOID:
        return _mm512_mul_ps(bz_relu6_shifted16(x), _mm512_set1_ps(1.0f / 6.0f));
    case BZ_ACT_GELU:
        return bz_gelu16(x);
    default: {
        /* sigmoid and SiLU: libmvec's 16-lane expf (bz_kernels.h) */
        float lanes[16];
        _mm512_storeu_ps(lanes, x);
        #pragma omp simd simdlen(16)
        for (int i = 0; i < 16; i++)
            lanes[i] = bz_activate(act, lanes[i]);
        return _mm512_loadu_ps(lanes);
    }
    }
}
#endif

#endif
