#include "bz_kernels.h"

#include <math.h>
#include <string.h>

void bz_copy_floats(float *dst, const float *src, long n)
{
    memcpy(dst, src, sizeof(float) * (size_t)n);
}

void bz_fold_conv_batchnorm(const float *w, const float *bias, const float *gamma,
                            const float *beta, const float *mean, const float *var, double eps,
                            int cout, long k, float *w_out, float *b_out)
{
    for (int c = 0; c < cout; c++) {
        double scale = gamma[c] / sqrt((double)var[c] + eps);
        for (long i = 0; i < k; i++)
            w_out[c * k + i] = (float)(w[c * k + i] * scale);
        double b = bias ? bias[c] : 0.0;
        b_out[c] = (float)((b - mean[c]) * scale + beta[c]);
    }
}

void bz_fold_batchnorm(const float *gamma, const float *beta, const float *mean,
                       const float *var, double eps, int channels, float *scale, float *shift)
{
    for (int c = 0; c < channels; c++) {
        double s = gamma[c] / sqrt((double)var[c] + eps);
        scale[c] = (float)s;
        shift[c] = (float)(beta[c] - mean[c] * s);
    }
}
