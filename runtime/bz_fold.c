#include "bz_kernels.h"

#include <math.h>
#include <string.h>

void bz_copy_floats(float *dst, const float *src, long n)
{
    memcpy(dst, src, sizeof(float) * (size_t)n);
}

void bz_zero_floats(float *dst, long n)
{
    memset(dst, 0, sizeof(float) * (size_t)n);
}

void bz_reparam_add_branch(float *w_out, float *b_out, int cout, int kh, int kw, int cin_g,
                           const float *w, int bkh, int bkw, const float *bias,
                           const float *gamma, const float *beta, const float *mean,
                           const float *var, double eps)
{
    int top = (kh - bkh) / 2, left = (kw - bkw) / 2;
    for (int co = 0; co < cout; co++) {
        double scale = gamma[co] / sqrt((double)var[co] + eps);
        float *wo = w_out + (long)co * kh * kw * cin_g;
        if (!w)
            wo[((long)(kh / 2) * kw + kw / 2) * cin_g + co % cin_g] += (float)scale;
        for (int i = 0; w && i < bkh; i++)
            for (int j = 0; j < bkw; j++)
                for (int ci = 0; ci < cin_g; ci++)
                    wo[((long)(i + top) * kw + j + left) * cin_g + ci] +=
                        (float)(w[(((long)co * bkh + i) * bkw + j) * cin_g + ci] * scale);
        b_out[co] += (float)(((bias ? bias[co] : 0.0) - mean[co]) * scale + beta[co]);
    }
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
