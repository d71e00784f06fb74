m4_dnl bz_batchnorm2d_kernels(name, channels, pixels per sample)
m4_dnl x, y [B][pixels][C]; relu 1: y goes through a ReLU (gen/fuse.c).
m4_dnl saved [4][C]: batch mean, then 1/sqrt(var + eps) (the rest unused here).  y is computed from the saved (rounded) values,
m4_dnl so that _recompute gives the same floats.
m4_define([<bz_batchnorm2d_kernels>], [<
static void $1_recompute(const real_t *x, const real_t *gamma, const real_t *beta,
                         const real_t *saved, real_t *y, int relu, int batch)
{
    enum { C = $2, HW = $3 };
    for (long i = 0; i < (long)batch * HW; i++)
        for (int c = 0; c < C; c++) {
            real_t v = (real_t)((x[i * C + c] - (double)saved[c]) * saved[C + c] * gamma[c] +
                                beta[c]);
            y[i * C + c] = relu && !(v > 0) ? 0 : v;
        }
}

static void $1_forward_train(const real_t *x, const real_t *gamma, const real_t *beta,
                             real_t *y, real_t *saved, real_t *running_mean,
                             real_t *running_var, int64_t *num_batches_tracked, double eps,
                             double momentum, int relu, int batch)
{
    enum { C = $2, HW = $3 };
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
    $1_recompute(x, gamma, beta, saved, y, relu, batch);
    *num_batches_tracked += 1;
}

static void $1_forward_eval(const real_t *x, const real_t *gamma, const real_t *beta,
                            const real_t *running_mean, const real_t *running_var, real_t *y,
                            double eps, int batch)
{
    enum { C = $2, HW = $3 };
    long count = (long)batch * HW;
    for (long i = 0; i < count; i++)
        for (int c = 0; c < C; c++)
            y[i * C + c] = (real_t)((x[i * C + c] - running_mean[c]) /
                                    sqrt((double)running_var[c] + eps) * gamma[c] + beta[c]);
}

static void $1_backward(const real_t *x, const real_t *gamma, const real_t *saved,
                        const real_t *dy, real_t *dx, int accumulate_dx, real_t *dgamma,
                        real_t *dbeta, int batch)
{
    enum { C = $2, HW = $3 };
    long count = (long)batch * HW;
    for (int c = 0; c < C; c++) {
        double mean = saved[c], invstd = saved[C + c], sum_dy = 0, sum_dy_xhat = 0;
        for (long i = 0; i < count; i++) {
            sum_dy += dy[i * C + c];
            sum_dy_xhat += dy[i * C + c] * (x[i * C + c] - mean) * invstd;
        }
        dgamma[c] = (real_t)sum_dy_xhat;
        dbeta[c] = (real_t)sum_dy;
        for (long i = 0; i < count; i++) {
            double xhat = (x[i * C + c] - mean) * invstd;
            double g = gamma[c] * invstd / count * (count * dy[i * C + c] - sum_dy - xhat * sum_dy_xhat);
            dx[i * C + c] = (real_t)(accumulate_dx ? dx[i * C + c] + g : g);
        }
    }
}>])m4_dnl
m4_dnl bz_channel_affine_kernel(name, channels, pixels): a deploy-time
m4_dnl BatchNorm with nothing to fold into, y = x * scale[c] + shift[c].
m4_define([<bz_channel_affine_kernel>], [<
static void $1_forward(const real_t *x, const real_t *scale, const real_t *shift, real_t *y,
                       int batch)
{
    enum { C = $2, HW = $3 };
    for (long i = 0; i < (long)batch * HW; i++)
        for (int c = 0; c < C; c++)
            y[i * C + c] = x[i * C + c] * scale[c] + shift[c];
}>])m4_dnl
