m4_dnl Optimised BatchNorm2d: the per-channel passes of runtime/kernels/bz_channel_ops.c.
m4_dnl bz_batchnorm2d_kernels(name, channels, pixels per sample)
m4_dnl x, y [B][pixels][C]; relu 1: y goes through a ReLU (the ReLU node
m4_dnl after it, applied here: gen/fuse.c).
m4_dnl saved [4][C]: batch mean, 1/sqrt(var + eps), and
m4_dnl the scale and shift y = x * scale + shift that the forward applied
m4_dnl (_recompute applies them again: the same floats, bit for bit).
m4_define([<bz_batchnorm2d_kernels>], [<
/* The batch statistics alone: saved, the running ones, the counter.  An
 * add that reads this BatchNorm's output applies its scale and shift
 * instead (the add's affine kernels, gen/fuse.c). */
bz_entry([<void $1_statistics_train(const float *x, const float *gamma, const float *beta,
            float *saved, float *running_mean, float *running_var,
            int64_t *num_batches_tracked, double eps, double momentum,
            int batch)>])
{
    enum { C = $2, HW = $3 };
    long count = (long)batch * HW;
    double mean[C], var[C];
    float *scale = saved + 2 * C, *shift = saved + 3 * C;
    bz_channel_mean_var(x, count, C, mean, var);
    for (int c = 0; c < C; c++) {
        double invstd = 1.0 / sqrt(var[c] + eps);
        scale[c] = (float)(gamma[c] * invstd);
        shift[c] = (float)(beta[c] - mean[c] * gamma[c] * invstd);
        saved[c] = (float)mean[c];
        saved[C + c] = (float)invstd;
        double unbiased = count > 1 ? var[c] * count / (count - 1) : var[c];
        running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * mean[c]);
        running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * unbiased);
    }
    *num_batches_tracked += 1;
}

bz_entry([<void $1_forward_train(const float *x, const float *gamma, const float *beta, float *y,
         float *saved, float *running_mean, float *running_var,
         int64_t *num_batches_tracked, double eps, double momentum, int relu,
         int batch)>])
{
    enum { C = $2, HW = $3 };
    $1_statistics_train(x, gamma, beta, saved, running_mean, running_var, num_batches_tracked,
                        eps, momentum, batch);
    bz_channel_affine(x, (long)batch * HW, C, saved + 2 * C, saved + 3 * C, relu, y);
}

/* unused where no output of this shape is recomputed */
bz_entry([<void $1_recompute(const float *x, const float *gamma, const float *beta,
     const float *saved, float *y, int relu, int batch)>])
{
    enum { C = $2, HW = $3 };
    (void)gamma, (void)beta;
    bz_channel_affine(x, (long)batch * HW, C, saved + 2 * C, saved + 3 * C, relu, y);
}

bz_entry([<void $1_forward_eval(const float *x, const float *gamma, const float *beta,
                                const float *running_mean, const float *running_var, float *y,
                                double eps, int batch)>])
{
    enum { C = $2, HW = $3 };
    float scale[C], shift[C];
    bz_fold_batchnorm(gamma, beta, running_mean, running_var, eps, C, scale, shift);
    bz_channel_affine(x, (long)batch * HW, C, scale, shift, 0, y);
}

/* relu 1: dy is the gradient of the ReLU after it, whose backward this
 * kernel applies (gen/fuse.c): dy counts where the forward's output was
 * positive, from the saved scale and shift as bz_channel_affine applied
 * them (the same floats). */
bz_entry([<void $1_backward(const float *x, const float *gamma, const float *beta,
                            const float *saved, const float *dy, float *dx, int accumulate_dx,
                            float *dgamma, float *dbeta, int relu, int batch)>])
{
    enum { C = $2, HW = $3 };
    (void)beta;
    long count = (long)batch * HW;
    double mean[C], sum_dy[C], sum_dy_xc[C];
    const float *relu_scale = relu ? saved + 2 * C : NULL, *relu_shift = saved + 3 * C;
    for (int c = 0; c < C; c++)
        mean[c] = saved[c];
    bz_channel_grad_sums(x, dy, mean, count, C, relu_scale, relu_shift, sum_dy, sum_dy_xc);
    for (int c = 0; c < C; c++) {
        dgamma[c] = (float)(sum_dy_xc[c] * saved[C + c]);
        dbeta[c] = (float)sum_dy[c];
    }
    bz_batchnorm_input_grad(x, dy, count, C, saved, saved + C, gamma, relu_scale, relu_shift,
                            sum_dy, sum_dy_xc, dx, accumulate_dx);
}>])m4_dnl
m4_define([<bz_channel_affine_kernel>], [<
bz_entry([<void $1_forward(const float *x, const float *scale, const float *shift, float *y,
                           int batch)>])
{
    bz_channel_affine(x, (long)batch * $3, $2, scale, shift, 0, y);
}>])m4_dnl
m4_dnl bz_add_affine_kernels(name, channels, pixels per sample): a residual
m4_dnl sum y = bn_a(a) + bn_b(b) that applies the BatchNorms whose outputs it
m4_dnl adds (gen/fuse.c), from their saved [4][C] (scale and shift at 2C, 3C;
m4_dnl gamma and beta unused here); saved NULL: that input as it is.  relu 1:
m4_dnl through the ReLU after it.
m4_define([<bz_add_affine_kernels>], [<
bz_entry([<void $1_forward(const float *a, const float *gamma_a, const float *beta_a,
                           const float *saved_a, const float *b, const float *gamma_b,
                           const float *beta_b, const float *saved_b, float *y, int relu, int batch)>])
{
    enum { C = $2, HW = $3 };
    (void)gamma_a, (void)beta_a, (void)gamma_b, (void)beta_b;
    bz_channel_affine_add(a, saved_a ? saved_a + 2 * C : NULL, saved_a ? saved_a + 3 * C : NULL,
                          b, saved_b ? saved_b + 2 * C : NULL, saved_b ? saved_b + 3 * C : NULL,
                          (long)batch * HW, C, relu, y);
}>])m4_dnl
