m4_dnl bz_layernorm2d_kernels(name, channels, pixels per sample): timm's
m4_dnl LayerNorm2d, statistics over the C channels of each pixel (biased
m4_dnl variance), x, y [B][pixels][C].  Backward recomputes the statistics
m4_dnl from x, so nothing per pixel is stored.
m4_define([<bz_layernorm2d_kernels>], [<
static void $1_stats(const real_t *xr, double eps, double *mean, double *invstd)
{
    enum { C = $2 };
    double sum = 0, sq = 0;
    for (int c = 0; c < C; c++)
        sum += xr[c];
    *mean = sum / C;
    for (int c = 0; c < C; c++)
        sq += (xr[c] - *mean) * (xr[c] - *mean);
    *invstd = 1.0 / sqrt(sq / C + eps);
}

bz_entry([<void $1_forward(const real_t *x, const real_t *weight, const real_t *bias, real_t *y,
                           double eps, int batch)>])
{
    enum { C = $2, HW = $3 };
    for (long i = 0; i < (long)batch * HW; i++) {
        double mean, invstd;
        $1_stats(x + i * C, eps, &mean, &invstd);
        for (int c = 0; c < C; c++)
            y[i * C + c] = (real_t)((x[i * C + c] - mean) * invstd * weight[c] + bias[c]);
    }
}

bz_entry([<void $1_backward(const real_t *x, const real_t *weight, const real_t *dy, real_t *dx,
                            int accumulate_dx, real_t *dweight, real_t *dbias, double eps, int batch)>])
{
    enum { C = $2, HW = $3 };
    double dw[C], db[C];
    memset(dw, 0, sizeof dw);
    memset(db, 0, sizeof db);
    for (long i = 0; i < (long)batch * HW; i++) {
        const real_t *xr = x + i * C, *g = dy + i * C;
        double mean, invstd, mean_dxhat = 0, mean_dxhat_xhat = 0;
        $1_stats(xr, eps, &mean, &invstd);
        for (int c = 0; c < C; c++) {
            double xhat = (xr[c] - mean) * invstd;
            dw[c] += g[c] * xhat;
            db[c] += g[c];
            mean_dxhat += g[c] * weight[c] / C;
            mean_dxhat_xhat += g[c] * weight[c] * xhat / C;
        }
        for (int c = 0; c < C; c++) {
            double xhat = (xr[c] - mean) * invstd;
            double v = invstd * (g[c] * weight[c] - mean_dxhat - xhat * mean_dxhat_xhat);
            dx[i * C + c] = (real_t)(accumulate_dx ? dx[i * C + c] + v : v);
        }
    }
    for (int c = 0; c < C; c++) {
        dweight[c] = (real_t)dw[c];
        dbias[c] = (real_t)db[c];
    }
}>])m4_dnl
