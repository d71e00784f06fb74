m4_dnl bz_layernorm2d_kernels(name, channels, pixels per sample): as the
m4_dnl reference's (statistics over the C channels of each pixel, found
m4_dnl again in the backward), OpenMP over the pixels and omp simd over the
m4_dnl channels.  The weight and bias gradients sum per thread over a
m4_dnl static share of the pixels and then over the threads in order, so a
m4_dnl run gives the same bits for the same number of threads.
m4_define([<bz_layernorm2d_kernels>], [<
static void $1_stats(const float *xr, double eps, float *mean, float *invstd)
{
    enum { C = $2 };
    float sum = 0.f, sq = 0.f;
    #pragma omp simd reduction(+:sum)
    for (int c = 0; c < C; c++)
        sum += xr[c];
    float m = sum / C;
    #pragma omp simd reduction(+:sq)
    for (int c = 0; c < C; c++)
        sq += (xr[c] - m) * (xr[c] - m);
    *mean = m;
    *invstd = (float)(1.0 / sqrt(sq / C + eps));
}

bz_entry([<void $1_forward(const float *x, const float *weight, const float *bias, float *y,
                           double eps, int batch)>])
{
    enum { C = $2, HW = $3 };
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)batch * HW; i++) {
        const float *xr = x + i * C;
        float *yr = y + i * C, mean, invstd;
        $1_stats(xr, eps, &mean, &invstd);
        #pragma omp simd
        for (int c = 0; c < C; c++)
            yr[c] = (xr[c] - mean) * invstd * weight[c] + bias[c];
    }
}

bz_entry([<void $1_backward(const float *x, const float *weight, const float *dy, float *dx,
                            int accumulate_dx, float *dweight, float *dbias, double eps, int batch)>])
{
    enum { C = $2, HW = $3 };
    long rows = (long)batch * HW;
    int threads = omp_get_max_threads();
    /* per thread: dweight [C], dbias [C] */
    float *partial = calloc((size_t)threads * 2 * C, sizeof *partial);
    #pragma omp parallel num_threads(threads)
    {
        int me = omp_get_thread_num(), team = omp_get_num_threads();
        float *dw = partial + (long)me * 2 * C, *db = dw + C;
        long first = rows * me / team, last = rows * (me + 1) / team;
        for (long i = first; i < last; i++) {
            const float *xr = x + i * C, *g = dy + i * C;
            float *dxr = dx + i * C, mean, invstd, mean_dxhat = 0.f, mean_dxhat_xhat = 0.f;
            $1_stats(xr, eps, &mean, &invstd);
            #pragma omp simd reduction(+:mean_dxhat, mean_dxhat_xhat)
            for (int c = 0; c < C; c++) {
                float xhat = (xr[c] - mean) * invstd;
                dw[c] += g[c] * xhat;
                db[c] += g[c];
                mean_dxhat += g[c] * weight[c];
                mean_dxhat_xhat += g[c] * weight[c] * xhat;
            }
            mean_dxhat /= C;
            mean_dxhat_xhat /= C;
            #pragma omp simd
            for (int c = 0; c < C; c++) {
                float xhat = (xr[c] - mean) * invstd;
                float v = invstd * (g[c] * weight[c] - mean_dxhat - xhat * mean_dxhat_xhat);
                dxr[c] = accumulate_dx ? dxr[c] + v : v;
            }
        }
    }
    for (int c = 0; c < C; c++) {
        float w = 0.f, b = 0.f;
        for (int t = 0; t < threads; t++) {
            w += partial[(long)t * 2 * C + c];
            b += partial[(long)t * 2 * C + C + c];
        }
        dweight[c] = w;
        dbias[c] = b;
    }
    free(partial);
}>])m4_dnl
