#include "kernels/bz_kernels.h"

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

/* The branch's output-channel multiplier and additive constant:
 * y = k * (conv(x) + bias) + c. */
static void branch_affine(const bz_reparam_branch *b, int co, double *k, double *c)
{
    double bn_scale = 1.0, bn_shift = 0.0;
    if (b->bn_weight) {
        bn_scale = b->bn_weight[co] / sqrt((double)b->bn_var[co] + b->eps);
        bn_shift = b->bn_bias[co] - b->bn_mean[co] * bn_scale;
    }
    double outer = b->sign * (b->scale ? b->scale[co] : 1.0);
    *k = outer * bn_scale;
    *c = outer * (bn_shift + (b->bias ? b->bias[co] * bn_scale : 0.0));
}

void bz_reparam_add_branch(float *w_out, float *b_out, int cout, int kh, int kw, int cin_g,
                           const bz_reparam_branch *b)
{
    int top = (kh - b->kh) / 2, left = (kw - b->kw) / 2;
    for (int co = 0; co < cout; co++) {
        double k, c;
        branch_affine(b, co, &k, &c);
        float *wo = w_out + (long)co * kh * kw * cin_g;
        if (!b->w)
            wo[((long)(kh / 2) * kw + kw / 2) * cin_g + co % cin_g] += (float)k;
        for (int i = 0; b->w && i < b->kh; i++)
            for (int j = 0; j < b->kw; j++)
                for (int ci = 0; ci < cin_g; ci++)
                    wo[((long)(i + top) * kw + j + left) * cin_g + ci] +=
                        (float)(b->w[(((long)co * b->kh + i) * b->kw + j) * cin_g + ci] * k);
        b_out[co] += (float)c;
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

void bz_fold_channel_scale(float *w, float *bias, const float *gamma, int cout, long k)
{
    for (int c = 0; c < cout; c++) {
        for (long i = 0; i < k; i++)
            w[c * k + i] *= gamma[c];
        if (bias)
            bias[c] *= gamma[c];
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
