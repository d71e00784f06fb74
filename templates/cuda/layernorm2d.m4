m4_dnl bz_layernorm2d_kernels(name, channels, pixels per sample): timm's
m4_dnl LayerNorm2d over the C channels of each pixel, as
m4_dnl templates/reference/layernorm2d.m4.  One thread per pixel; the
m4_dnl parameter gradients by one block per channel, each thread recomputing
m4_dnl its pixels' statistics (nothing per pixel is stored).
m4_define([<bz_layernorm2d_kernels>], [<
static __device__ inline void $1_stats(const float *xr, double eps, float *mean, float *invstd)
{
    enum { C = $2 };
    double sum = 0, sq = 0;
    for (int c = 0; c < C; c++)
        sum += xr[c];
    double m = sum / C;
    for (int c = 0; c < C; c++)
        sq += (xr[c] - m) * (xr[c] - m);
    *mean = (float)m;
    *invstd = (float)(1.0 / sqrt(sq / C + eps));
}

static __global__ void $1_forward_kernel(const float *x, const float *weight, const float *bias,
                                         float *y, double eps, long rows)
{
    enum { C = $2 };
    BZ_CUDA_FOR(r, rows) {
        float mean, invstd;
        $1_stats(x + r * C, eps, &mean, &invstd);
        for (int c = 0; c < C; c++)
            y[r * C + c] = (x[r * C + c] - mean) * invstd * weight[c] + bias[c];
    }
}

static __global__ void $1_input_grad_kernel(const float *x, const float *weight, const float *dy,
                                            float *dx, int accumulate_dx, double eps, long rows)
{
    enum { C = $2 };
    BZ_CUDA_FOR(r, rows) {
        const float *xr = x + r * C, *g = dy + r * C;
        float mean, invstd;
        $1_stats(xr, eps, &mean, &invstd);
        double mean_dxhat = 0, mean_dxhat_xhat = 0;
        for (int c = 0; c < C; c++) {
            double xhat = (xr[c] - mean) * invstd;
            mean_dxhat += (double)g[c] * weight[c] / C;
            mean_dxhat_xhat += (double)g[c] * weight[c] * xhat / C;
        }
        for (int c = 0; c < C; c++) {
            double xhat = (xr[c] - mean) * invstd;
            float v = (float)(invstd * (g[c] * weight[c] - mean_dxhat - xhat * mean_dxhat_xhat));
            dx[r * C + c] = accumulate_dx ? dx[r * C + c] + v : v;
        }
    }
}

static __global__ void $1_param_grad_kernel(const float *x, const float *dy, float *dweight,
                                            float *dbias, double eps, long rows)
{
    enum { C = $2 };
    int c = blockIdx.x;
    double dw = 0, db = 0;
    for (long r = threadIdx.x; r < rows; r += blockDim.x) {
        float mean, invstd;
        $1_stats(x + r * C, eps, &mean, &invstd);
        double g = dy[r * C + c];
        dw += g * (x[r * C + c] - mean) * invstd;
        db += g;
    }
    dw = bz_block_sum(dw);
    db = bz_block_sum(db);
    if (threadIdx.x == 0) {
        dweight[c] = (float)dw;
        dbias[c] = (float)db;
    }
}

bz_entry([<void $1_forward(const float *x, const float *weight, const float *bias, float *y,
                           double eps, int batch)>])
{
    long rows = (long)batch * $3;
    $1_forward_kernel<<<bz_cuda_blocks(rows), BZ_CUDA_THREADS>>>(x, weight, bias, y, eps, rows);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *x, const float *weight, const float *dy, float *dx,
                            int accumulate_dx, float *dweight, float *dbias, double eps, int batch)>])
{
    long rows = (long)batch * $3;
    $1_input_grad_kernel<<<bz_cuda_blocks(rows), BZ_CUDA_THREADS>>>(x, weight, dy, dx,
                                                                    accumulate_dx, eps, rows);
    BZ_CUDA_LAUNCHED("[<$1>] input gradient");
    $1_param_grad_kernel<<<$2, BZ_CUDA_THREADS>>>(x, dy, dweight, dbias, eps, rows);
    BZ_CUDA_LAUNCHED("[<$1>] parameter gradients");
}>])m4_dnl
