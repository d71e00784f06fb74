/* needs: -march=native */
/* The 16-lane GELU and its derivative (runtime/kernels/bz_erf.h) against
 * double erf and exp over [-12, 12] every 1e-4 (all 16 intervals of both
 * tables on both sides, and past their end at |x| = 4 sqrt 2), and at
 * zero, the infinities and NaN. */
#include <math.h>
#include <stdio.h>

#include "../bz_check.h"
#include "kernels/bz_erf.h"

#if defined(__AVX512F__)
static double gelu_exact(double x)
{
    return 0.5 * x * (1.0 + erf(x * M_SQRT1_2));
}

static double gelu_derivative_exact(double x)
{
    return 0.5 * (1.0 + erf(x * M_SQRT1_2)) + x * exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
}

/* largest |f16(x) - exact(x)| / max(1, |x|) over the grid: the float
 * evaluation's error scales with x through the factor x */
static double worst_error(__m512 (*f16)(__m512), double (*exact)(double), double *where)
{
    double worst = 0;
    for (long i = -120000; i < 120000; i += 16) {
        float x[16], y[16];
        for (int l = 0; l < 16; l++)
            x[l] = (float)((i + l) * 1e-4);
        _mm512_storeu_ps(y, f16(_mm512_loadu_ps(x)));
        for (int l = 0; l < 16; l++) {
            double e = fabs(y[l] - exact(x[l])) / fmax(1.0, fabs(x[l]));
            if (e > worst)
                worst = e, *where = x[l];
        }
    }
    return worst;
}

static float lane0(__m512 (*f16)(__m512), float x)
{
    return _mm512_cvtss_f32(f16(_mm512_set1_ps(x)));
}

int main(void)
{
    double at = 0, e = worst_error(bz_gelu16, gelu_exact, &at);
    CHECK(e < 1.5e-7, "gelu16 within 1.5e-7 max(1, |x|) of double", "%.3g at x = %g", e, at);
    e = worst_error(bz_gelu_derivative16, gelu_derivative_exact, &at);
    CHECK(e < 1.5e-7, "gelu_derivative16 within 1.5e-7 max(1, |x|) of double", "%.3g at x = %g",
          e, at);
    CHECK(lane0(bz_gelu16, 0.0f) == 0.0f && lane0(bz_gelu_derivative16, 0.0f) == 0.5f,
          "gelu16 at 0 is 0, its derivative 1/2", "%g %g", (double)lane0(bz_gelu16, 0.0f),
          (double)lane0(bz_gelu_derivative16, 0.0f));
    CHECK(lane0(bz_gelu16, 1e30f) == 1e30f && lane0(bz_gelu16, -1e30f) == 0.0f &&
              lane0(bz_gelu_derivative16, 1e30f) == 1.0f &&
              lane0(bz_gelu_derivative16, -1e30f) == 0.0f,
          "gelu16 and its derivative far out: x and 1 above, 0 below", "%g",
          (double)lane0(bz_gelu16, -1e30f));
    CHECK(lane0(bz_gelu16, INFINITY) == INFINITY, "gelu16 of +inf is +inf", "%g",
          (double)lane0(bz_gelu16, INFINITY));
    CHECK(isnan(lane0(bz_gelu16, NAN)) && isnan(lane0(bz_gelu_derivative16, NAN)),
          "gelu16 and its derivative keep a NaN", "%g", (double)lane0(bz_gelu16, NAN));
    CHECK_EXIT();
}
#else
int main(void)
{
    printf("ok - # SKIP the 16-lane GELU needs AVX-512\n");
    return 0;
}
#endif
