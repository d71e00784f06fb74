/* Per-channel passes over NHWC activations [rows][C] for the optimised
 * BatchNorm: memory-bound, so shape-generic code loses nothing.  Each
 * thread reduces its rows into private double sums, merged in thread
 * order so results do not depend on scheduling. */
#include "bz_kernels.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* sums[t][c] for each thread t, then summed into out[c]. */
static void merge_partials(const double *partials, int threads, int channels, double *out)
{
    memset(out, 0, sizeof(double) * (size_t)channels);
    for (int t = 0; t < threads; t++)
        for (int c = 0; c < channels; c++)
            out[c] += partials[(size_t)t * channels + c];
}

/* out_a[c] = sum_i f_a(i, c), out_b likewise: sum of x, or of dy and
 * dy * (x - mean) when dy is given. */
static void channel_sums(const float *x, const float *dy, const double *mean, long rows,
                         int channels, double *out_a, double *out_b)
{
    int threads = omp_get_max_threads();
    double *pa = calloc((size_t)threads * channels, sizeof *pa);
    double *pb = calloc((size_t)threads * channels, sizeof *pb);
    #pragma omp parallel num_threads(threads)
    {
        double *a = pa + (size_t)omp_get_thread_num() * channels;
        double *b = pb + (size_t)omp_get_thread_num() * channels;
        #pragma omp for schedule(static)
        for (long i = 0; i < rows; i++) {
            const float *xr = x + i * channels;
            if (!dy) {
                for (int c = 0; c < channels; c++)
                    a[c] += xr[c];
                continue;
            }
            const float *gr = dy + i * channels;
            for (int c = 0; c < channels; c++) {
                a[c] += gr[c];
                b[c] += gr[c] * (xr[c] - mean[c]);
            }
        }
    }
    merge_partials(pa, threads, channels, out_a);
    if (out_b)
        merge_partials(pb, threads, channels, out_b);
    free(pa), free(pb);
}

static void centred_squares(const float *x, const double *mean, long rows, int channels,
                            double *out)
{
    int threads = omp_get_max_threads();
    double *p = calloc((size_t)threads * channels, sizeof *p);
    #pragma omp parallel num_threads(threads)
    {
        double *s = p + (size_t)omp_get_thread_num() * channels;
        #pragma omp for schedule(static)
        for (long i = 0; i < rows; i++)
            for (int c = 0; c < channels; c++) {
                double d = x[i * channels + c] - mean[c];
                s[c] += d * d;
            }
    }
    merge_partials(p, threads, channels, out);
    free(p);
}

void bz_channel_mean_var(const float *x, long rows, int channels, double *mean, double *var)
{
    channel_sums(x, NULL, NULL, rows, channels, mean, NULL);
    for (int c = 0; c < channels; c++)
        mean[c] /= rows;
    centred_squares(x, mean, rows, channels, var);
    for (int c = 0; c < channels; c++)
        var[c] /= rows;
}

void bz_channel_affine(const float *x, long rows, int channels, const float *scale,
                       const float *shift, float *y)
{
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++)
        #pragma omp simd
        for (int c = 0; c < channels; c++)
            y[i * channels + c] = x[i * channels + c] * scale[c] + shift[c];
}

void bz_channel_grad_sums(const float *x, const float *dy, const double *mean, long rows,
                          int channels, double *sum_dy, double *sum_dy_xc)
{
    channel_sums(x, dy, mean, rows, channels, sum_dy, sum_dy_xc);
}

void bz_batchnorm_input_grad(const float *x, const float *dy, long rows, int channels,
                             const float *mean, const float *invstd, const float *gamma,
                             const double *sum_dy, const double *sum_dy_xc, float *dx,
                             int accumulate)
{
    float *k = malloc(sizeof(float) * 4 * (size_t)channels);
    float *scale = k, *mean_dy = k + channels, *coef = k + 2 * channels, *mu = k + 3 * channels;
    for (int c = 0; c < channels; c++) {
        scale[c] = gamma[c] * invstd[c];
        mean_dy[c] = (float)(sum_dy[c] / rows);
        coef[c] = (float)(sum_dy_xc[c] / rows * invstd[c] * invstd[c]);
        mu[c] = mean[c];
    }
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++)
        #pragma omp simd
        for (int c = 0; c < channels; c++) {
            long j = i * channels + c;
            float g = scale[c] * (dy[j] - mean_dy[c] - (x[j] - mu[c]) * coef[c]);
            dx[j] = accumulate ? dx[j] + g : g;
        }
    free(k);
}
