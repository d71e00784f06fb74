/* The exact GELU, x Phi(x), and its derivative, Phi(x) + x phi(x), in 16
 * float lanes, for the optimised backend's GELU kernels.
 *
 * Why not libmvec: its erff and expf are accurate to an ulp, but they took
 * 0.12 ms of the 3.4 ms of a batch-1 ConvNeXt forward per GELU.  Here erf(a)
 * and exp(-a^2), a = |x| / sqrt 2, are quintics on 16 intervals of width
 * 1/4 over [0, 4), one interval per lane, its coefficients picked by a lane
 * permute (bz_erf_table.h, fitted by scripts/fit_erf.py): absolute error
 * <= 6.4e-8, about an ulp of 1, in about a third of the time.  From a = 4 on,
 * erf(a) is 1 and exp(-a^2) is 0 (exp(-16) = 1.1e-7).  A NaN stays NaN
 * (through the factor x). */
#ifndef BZ_ERF_H
#define BZ_ERF_H

#if defined(__AVX512F__)
#include <immintrin.h>

#include "bz_erf_table.h"

static const float bz_erf_coefficients[6][16] = BZ_ERF_COEFFICIENTS;
static const float bz_gauss_coefficients[6][16] = BZ_GAUSS_COEFFICIENTS;

/* the quintic of table c at a (>= 0); value `far` from a = 4 on (where
 * the permutes, which read the low 4 bits of the index, pick any lane) */
static inline __m512 bz_piecewise_quintic16(const float (*c)[16], __m512 a, float far)
{
    __m512i interval = _mm512_cvttps_epi32(_mm512_mul_ps(a, _mm512_set1_ps(4.0f)));
    __m512 centre = _mm512_fmadd_ps(_mm512_cvtepi32_ps(interval), _mm512_set1_ps(0.25f),
                                    _mm512_set1_ps(0.125f));
    __m512 u = _mm512_sub_ps(a, centre);
    __m512 p = _mm512_permutexvar_ps(interval, _mm512_loadu_ps(c[5]));
    for (int k = 4; k >= 0; k--)
        p = _mm512_fmadd_ps(p, u, _mm512_permutexvar_ps(interval, _mm512_loadu_ps(c[k])));
    __mmask16 near = _mm512_cmp_ps_mask(a, _mm512_set1_ps(4.0f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(near, _mm512_set1_ps(far), p);
}

/* Phi(x) = (1 + erf(x / sqrt 2)) / 2 */
static inline __m512 bz_normal_cdf16(__m512 x)
{
    __m512 s = _mm512_mul_ps(x, _mm512_set1_ps((float)M_SQRT1_2));
    __m512 erf_abs = bz_piecewise_quintic16(bz_erf_coefficients, _mm512_abs_ps(s), 1.0f);
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32((int)0x80000000u));
    __m512 erf = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(erf_abs), sign));
    return _mm512_fmadd_ps(erf, _mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
}

static inline __m512 bz_gelu16(__m512 x)
{
    return _mm512_mul_ps(x, bz_normal_cdf16(x));
}

/* Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) */
static inline __m512 bz_gelu_derivative16(__m512 x)
{
    __m512 a = _mm512_abs_ps(_mm512_mul_ps(x, _mm512_set1_ps((float)M_SQRT1_2)));
    __m512 gauss = bz_piecewise_quintic16(bz_gauss_coefficients, a, 0.0f);
    __m512 pdf = _mm512_mul_ps(gauss, _mm512_set1_ps((float)(0.5 * M_2_SQRTPI * M_SQRT1_2)));
    return _mm512_fmadd_ps(x, pdf, bz_normal_cdf16(x));
}
#endif

#endif
