m4_dnl BatchNorm2d, as templates/reference/batchnorm2d.m4.
m4_dnl bz_batchnorm2d_kernels(name, channels, pixels per sample)
m4_dnl x, y [B][pixels][C]; saved [4][C]: batch mean, then 1/sqrt(var + eps)
m4_dnl (the rest unused here); _recompute runs the forward's normalise again.
m4_dnl The statistics and the gradient sums take one block per channel,
m4_dnl two passes over the channel in double (the reference's numerics).
m4_dnl bz_cuda_normalised(x, gamma, beta, stats, c): the one expression of a
m4_dnl BatchNorm's output (C in scope), so that the add that applies it
m4_dnl (bz_add_affine_kernels) writes the same floats, and the backward that
m4_dnl applies the ReLU after it finds the same signs: each operation rounded
m4_dnl on its own (nvcc would otherwise contract some into FMAs).
m4_define([<bz_cuda_normalised>],
          [<__fadd_rn(__fmul_rn(__fmul_rn(__fsub_rn($1, $4[$5]), $4[C + $5]), $2[$5]), $3[$5])>])m4_dnl
m4_define([<bz_batchnorm2d_kernels>], [<
static __global__ void $1_stats_kernel(const float *x, float *saved, float *running_mean,
                                       float *running_var, int64_t *num_batches_tracked,
                                       double eps, double momentum, long count)
{
    enum { C = $2 };
    int c = blockIdx.x;
    double sum = 0, sq = 0;
    for (long i = threadIdx.x; i < count; i += blockDim.x)
        sum += x[i * C + c];
    double mean = bz_block_sum(sum) / count;
    for (long i = threadIdx.x; i < count; i += blockDim.x)
        sq += (x[i * C + c] - mean) * (x[i * C + c] - mean);
    double var = bz_block_sum(sq) / count;
    if (threadIdx.x != 0)
        return;
    saved[c] = (float)mean;
    saved[C + c] = (float)(1.0 / sqrt(var + eps));
    double unbiased = count > 1 ? var * count / (count - 1) : var;
    running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * mean);
    running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * unbiased);
    if (c == 0)
        *num_batches_tracked += 1;
}

/* y = (x - mean) * invstd * gamma + beta, with mean and invstd [2][C];
 * through a ReLU where relu is 1 */
static __global__ void $1_normalise_kernel(const float *x, const float *gamma, const float *beta,
                                           const float *stats, float *y, int relu, long n)
{
    enum { C = $2 };
    BZ_CUDA_FOR(i, n) {
        int c = (int)(i % C);
        float v = bz_cuda_normalised(x[i], gamma, beta, stats, c);
        y[i] = relu && !(v > 0) ? 0.f : v;
    }
}

static __global__ void $1_eval_stats_kernel(const float *running_mean, const float *running_var,
                                            float *stats, double eps)
{
    enum { C = $2 };
    BZ_CUDA_FOR(c, C) {
        stats[c] = running_mean[c];
        stats[C + c] = (float)(1.0 / sqrt((double)running_var[c] + eps));
    }
}

/* dy through the ReLU after it where relu is 1 (its backward, applied
 * here: gen/fuse.c): 0 where the forward's output was not positive */
static __device__ float $1_masked(const float *x, const float *gamma, const float *beta,
                                  const float *saved, const float *dy, int relu, long i)
{
    enum { C = $2 };
    int c = (int)(i % C);
    return relu && !(bz_cuda_normalised(x[i], gamma, beta, saved, c) > 0) ? 0.f : dy[i];
}

static __global__ void $1_grad_sums_kernel(const float *x, const float *gamma, const float *beta,
                                           const float *saved, const float *dy, int relu,
                                           float *dgamma, float *dbeta, long count)
{
    enum { C = $2 };
    int c = blockIdx.x;
    double mean = saved[c], invstd = saved[C + c], sum_dy = 0, sum_dy_xhat = 0;
    for (long i = threadIdx.x; i < count; i += blockDim.x) {
        float d = $1_masked(x, gamma, beta, saved, dy, relu, i * C + c);
        sum_dy += d;
        sum_dy_xhat += d * (x[i * C + c] - mean) * invstd;
    }
    sum_dy = bz_block_sum(sum_dy);
    sum_dy_xhat = bz_block_sum(sum_dy_xhat);
    if (threadIdx.x == 0) {
        dgamma[c] = (float)sum_dy_xhat;
        dbeta[c] = (float)sum_dy;
    }
}

/* dgamma, dbeta hold sum(dy * xhat) and sum(dy) */
static __global__ void $1_input_grad_kernel(const float *x, const float *gamma, const float *beta,
                                            const float *saved, const float *dy, int relu,
                                            const float *dgamma, const float *dbeta, float *dx,
                                            int accumulate_dx, long n, long count)
{
    enum { C = $2 };
    BZ_CUDA_FOR(i, n) {
        int c = (int)(i % C);
        float invstd = saved[C + c], xhat = (x[i] - saved[c]) * invstd;
        float d = $1_masked(x, gamma, beta, saved, dy, relu, i);
        float g = gamma[c] * invstd / count * (count * d - dbeta[c] - xhat * dgamma[c]);
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}

/* The batch statistics alone (an add applies the normalisation:
 * the add's affine kernels, gen/fuse.c). */
bz_entry([<void $1_statistics_train(const float *x, const float *gamma, const float *beta,
                   float *saved, float *running_mean, float *running_var,
                   int64_t *num_batches_tracked, double eps, double momentum,
                   int batch)>])
{
    (void)gamma, (void)beta;
    long count = (long)batch * $3;
    $1_stats_kernel<<<$2, BZ_CUDA_THREADS>>>(x, saved, running_mean, running_var,
                                             num_batches_tracked, eps, momentum, count);
    BZ_CUDA_LAUNCHED("[<$1>] statistics");
}

bz_entry([<void $1_forward_train(const float *x, const float *gamma, const float *beta, float *y,
                float *saved, float *running_mean, float *running_var,
                int64_t *num_batches_tracked, double eps, double momentum,
                int relu, int batch)>])
{
    long n = (long)batch * $3 * $2;
    $1_statistics_train(x, gamma, beta, saved, running_mean, running_var, num_batches_tracked,
                        eps, momentum, batch);
    $1_normalise_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, gamma, beta, saved, y, relu,
                                                                n);
    BZ_CUDA_LAUNCHED("[<$1>] normalise");
}

/* maybe_unused: where no output of this shape is recomputed */
bz_entry([<void $1_recompute(const float *x, const float *gamma, const float *beta,
            const float *saved, float *y, int relu, int batch)>])
{
    long n = (long)batch * $3 * $2;
    $1_normalise_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, gamma, beta, saved, y, relu,
                                                                n);
    BZ_CUDA_LAUNCHED("[<$1>] normalise again");
}

/* the eval-mode mean and 1/sqrt(var + eps), [2][C] */
static __device__ float $1_eval_stats[2 * $2];

bz_entry([<void $1_forward_eval(const float *x, const float *gamma, const float *beta,
                                const float *running_mean, const float *running_var, float *y,
                                double eps, int batch)>])
{
    float *s;
    long n = (long)batch * $3 * $2;
    bz_cuda_check(cudaGetSymbolAddress((void **)&s, $1_eval_stats), "[<$1>] statistics address");
    $1_eval_stats_kernel<<<1, BZ_CUDA_THREADS>>>(running_mean, running_var, s, eps);
    BZ_CUDA_LAUNCHED("[<$1>] eval statistics");
    $1_normalise_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, gamma, beta, s, y, 0, n);
    BZ_CUDA_LAUNCHED("[<$1>] normalise");
}

/* relu 1: dy is the gradient of the ReLU after it, whose backward this
 * applies (gen/fuse.c) */
bz_entry([<void $1_backward(const float *x, const float *gamma, const float *beta,
                            const float *saved, const float *dy, float *dx, int accumulate_dx,
                            float *dgamma, float *dbeta, int relu, int batch)>])
{
    long count = (long)batch * $3, n = count * $2;
    $1_grad_sums_kernel<<<$2, BZ_CUDA_THREADS>>>(x, gamma, beta, saved, dy, relu, dgamma, dbeta,
                                                 count);
    BZ_CUDA_LAUNCHED("[<$1>] gradient sums");
    $1_input_grad_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, gamma, beta, saved, dy, relu,
                                                                 dgamma, dbeta, dx,
                                                                 accumulate_dx, n, count);
    BZ_CUDA_LAUNCHED("[<$1>] input gradient");
}>])m4_dnl
m4_dnl
m4_dnl bz_channel_affine_kernel(name, channels, pixels): y = x * scale[c] + shift[c]
m4_define([<bz_channel_affine_kernel>], [<
static __global__ void $1_forward_kernel(const float *x, const float *scale, const float *shift,
                                         float *y, long n)
{
    BZ_CUDA_FOR(i, n)
        y[i] = x[i] * scale[i % $2] + shift[i % $2];
}

bz_entry([<void $1_forward(const float *x, const float *scale, const float *shift, float *y,
                           int batch)>])
{
    long n = (long)batch * $3 * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, scale, shift, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}>])m4_dnl
m4_dnl
m4_dnl bz_add_affine_kernels(name, channels, pixels per sample): a residual
m4_dnl sum y = bn_a(a) + bn_b(b) that applies the BatchNorms whose outputs it
m4_dnl adds (gen/fuse.c), from their saved mean and 1/sqrt(var + eps); saved
m4_dnl NULL: that input as it is.  relu 1: through the ReLU after it.
m4_define([<bz_add_affine_kernels>], [<
static __global__ void $1_forward_kernel(const float *a, const float *gamma_a,
                                         const float *beta_a, const float *saved_a,
                                         const float *b, const float *gamma_b,
                                         const float *beta_b, const float *saved_b, float *y,
                                         int relu, long n)
{
    enum { C = $2 };
    BZ_CUDA_FOR(i, n) {
        int c = (int)(i % C);
        float u = saved_a ? bz_cuda_normalised(a[i], gamma_a, beta_a, saved_a, c) : a[i];
        float w = saved_b ? bz_cuda_normalised(b[i], gamma_b, beta_b, saved_b, c) : b[i];
        float v = u + w;
        y[i] = relu && !(v > 0) ? 0.f : v;
    }
}

bz_entry([<void $1_forward(const float *a, const float *gamma_a, const float *beta_a,
                           const float *saved_a, const float *b, const float *gamma_b,
                           const float *beta_b, const float *saved_b, float *y, int relu, int batch)>])
{
    long n = (long)batch * $3 * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(a, gamma_a, beta_a, saved_a, b,
                                                              gamma_b, beta_b, saved_b, y,
                                                              relu, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}>])m4_dnl
