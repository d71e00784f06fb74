m4_dnl bz_batchnorm2d_kernels(name, channels, pixels per sample)
m4_dnl x, y [B][pixels][C]; relu 1: y goes through a ReLU (gen/fuse.c).
m4_dnl saved [4][C]: batch mean, then 1/sqrt(var + eps) (the rest unused here).  y is computed from the saved (rounded) values,
m4_dnl so that _recompute gives the same floats.
m4_dnl bz_ref_normalised(x, gamma, beta, saved, c): the one expression of a
m4_dnl training BatchNorm's output from its saved statistics (C in scope),
m4_dnl so that every kernel that applies it writes the same floats.
m4_define([<bz_ref_normalised>], [<(real_t)(($1 - (double)$4[$5]) * $4[C + $5] * $2[$5] + $3[$5])>])m4_dnl
m4_define([<bz_batchnorm2d_kernels>], [<
bz_entry([<void $1_recompute(const real_t *x, const real_t *gamma, const real_t *beta,
                             const real_t *saved, real_t *y, int relu, int batch)>])
{
    enum { C = $2, HW = $3 };
    for (long i = 0; i < (long)batch * HW; i++)
        for (int c = 0; c < C; c++) {
            real_t v = bz_ref_normalised([<x[i * C + c]>], gamma, beta, saved, c);
            y[i * C + c] = relu && !(v > 0) ? 0 : v;
        }
}

/* The batch statistics alone (an add applies the normalisation:
 * the add's affine kernels, gen/fuse.c). */
bz_entry([<void $1_statistics_train(const real_t *x, const real_t *gamma, const real_t *beta,
            real_t *saved, real_t *running_mean, real_t *running_var,
            int64_t *num_batches_tracked, double eps, double momentum,
            int batch)>])
{
    enum { C = $2, HW = $3 };
    (void)gamma, (void)beta;
    long count = (long)batch * HW;
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (long i = 0; i < count; i++)
            sum += x[i * C + c];
        double mean = sum / count;
        for (long i = 0; i < count; i++)
            sq += (x[i * C + c] - mean) * (x[i * C + c] - mean);
        double var = sq / count, invstd = 1.0 / sqrt(var + eps);
        saved[c] = (real_t)mean;
        saved[C + c] = (real_t)invstd;
        double unbiased = count > 1 ? var * count / (count - 1) : var;
        running_mean[c] = (real_t)((1 - momentum) * running_mean[c] + momentum * mean);
        running_var[c] = (real_t)((1 - momentum) * running_var[c] + momentum * unbiased);
    }
    *num_batches_tracked += 1;
}

bz_entry([<void $1_forward_train(const real_t *x, const real_t *gamma, const real_t *beta,
         real_t *y, real_t *saved, real_t *running_mean,
         real_t *running_var, int64_t *num_batches_tracked, double eps,
         double momentum, int relu, int batch)>])
{
    $1_statistics_train(x, gamma, beta, saved, running_mean, running_var, num_batches_tracked,
                        eps, momentum, batch);
    $1_recompute(x, gamma, beta, saved, y, relu, batch);
}

bz_entry([<void $1_forward_eval(const real_t *x, const real_t *gamma, const real_t *beta,
                                const real_t *running_mean, const real_t *running_var, real_t *y,
                                double eps, int batch)>])
{
    enum { C = $2, HW = $3 };
    long count = (long)batch * HW;
    for (long i = 0; i < count; i++)
        for (int c = 0; c < C; c++)
            y[i * C + c] = (real_t)((x[i * C + c] - running_mean[c]) /
                                    sqrt((double)running_var[c] + eps) * gamma[c] + beta[c]);
}

/* relu 1: dy is the gradient of the ReLU after it, whose backward this
 * kernel applies (gen/fuse.c): dy counts where the forward's output,
 * bz_ref_normalised (the same floats), was positive. */
bz_entry([<void $1_backward(const real_t *x, const real_t *gamma, const real_t *beta,
                            const real_t *saved, const real_t *dy, real_t *dx, int accumulate_dx,
                            real_t *dgamma, real_t *dbeta, int relu, int batch)>])
{
    enum { C = $2, HW = $3 };
    long count = (long)batch * HW;
    for (int c = 0; c < C; c++) {
        double mean = saved[c], invstd = saved[C + c], sum_dy = 0, sum_dy_xhat = 0;
        for (long i = 0; i < count; i++) {
            real_t d = dy[i * C + c];
            if (relu && !(bz_ref_normalised([<x[i * C + c]>], gamma, beta, saved, c) > 0))
                d = 0;
            sum_dy += d;
            sum_dy_xhat += d * (x[i * C + c] - mean) * invstd;
        }
        dgamma[c] = (real_t)sum_dy_xhat;
        dbeta[c] = (real_t)sum_dy;
        for (long i = 0; i < count; i++) {
            real_t d = dy[i * C + c];
            if (relu && !(bz_ref_normalised([<x[i * C + c]>], gamma, beta, saved, c) > 0))
                d = 0;
            double xhat = (x[i * C + c] - mean) * invstd;
            double g = gamma[c] * invstd / count * (count * d - sum_dy - xhat * sum_dy_xhat);
            dx[i * C + c] = (real_t)(accumulate_dx ? dx[i * C + c] + g : g);
        }
    }
}>])m4_dnl
m4_dnl bz_channel_affine_kernel(name, channels, pixels): a deploy-time
m4_dnl BatchNorm with nothing to fold into, y = x * scale[c] + shift[c].
m4_define([<bz_channel_affine_kernel>], [<
bz_entry([<void $1_forward(const real_t *x, const real_t *scale, const real_t *shift, real_t *y,
                           int batch)>])
{
    enum { C = $2, HW = $3 };
    for (long i = 0; i < (long)batch * HW; i++)
        for (int c = 0; c < C; c++)
            y[i * C + c] = x[i * C + c] * scale[c] + shift[c];
}>])m4_dnl
m4_dnl bz_add_affine_kernels(name, channels, pixels per sample): a residual
m4_dnl sum y = bn_a(a) + bn_b(b) that applies the BatchNorms whose outputs it
m4_dnl adds (gen/fuse.c): each the same floats as that BatchNorm's kernels
m4_dnl write, then their sum; saved NULL: that input as it is.  relu 1:
m4_dnl through the ReLU after it.
m4_define([<bz_add_affine_kernels>], [<
bz_entry([<void $1_forward(const real_t *a, const real_t *gamma_a, const real_t *beta_a,
                           const real_t *saved_a, const real_t *b, const real_t *gamma_b,
                           const real_t *beta_b, const real_t *saved_b, real_t *y, int relu, int batch)>])
{
    enum { C = $2, HW = $3 };
    for (long i = 0; i < (long)batch * HW; i++)
        for (int c = 0; c < C; c++) {
            real_t u = saved_a ? bz_ref_normalised([<a[i * C + c]>], gamma_a, beta_a, saved_a, c)
                               : a[i * C + c];
            real_t w = saved_b ? bz_ref_normalised([<b[i * C + c]>], gamma_b, beta_b, saved_b, c)
                               : b[i * C + c];
            real_t v = u + w;
            y[i * C + c] = relu && !(v > 0) ? 0 : v;
        }
}>])m4_dnl
