m4_dnl bz_relu_kernels(name, elements per sample): backward reads the
m4_dnl output (y > 0 exactly where x > 0), so the input need not be kept.
m4_define([<bz_relu_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

bz_entry([<void $1_backward(const real_t *y, const real_t *dy, real_t *dx, int accumulate_dx,
                            int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t g = y[i] > 0 ? dy[i] : 0;
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_dnl bz_hardswish_kernels(name, elements per sample): x * relu6(x + 3) / 6;
m4_dnl the derivative follows PyTorch at the kinks (0 below -3, 1 above 3).
m4_define([<bz_hardswish_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t r = x[i] + 3;
        r = r < 0 ? 0 : r > 6 ? 6 : r;
        y[i] = x[i] * r / 6;
    }
}

bz_entry([<void $1_backward(const real_t *x, const real_t *dy, real_t *dx, int accumulate_dx,
                            int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t g = x[i] < -3 ? 0 : x[i] <= 3 ? dy[i] * (x[i] / 3 + (real_t)0.5) : dy[i];
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_dnl bz_sigmoid_kernels(name, elements per sample): backward reads the
m4_dnl output, dy * y * (1 - y).
m4_define([<bz_sigmoid_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = (real_t)(1.0 / (1.0 + exp(-(double)x[i])));
}

bz_entry([<void $1_backward(const real_t *y, const real_t *dy, real_t *dx, int accumulate_dx,
                            int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t g = dy[i] * y[i] * (1 - y[i]);
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_dnl bz_gelu_kernels(name, elements per sample): the exact form,
m4_dnl x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
m4_define([<bz_gelu_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = (real_t)(0.5 * x[i] * (1.0 + erf(x[i] * M_SQRT1_2)));
}

bz_entry([<void $1_backward(const real_t *x, const real_t *dy, real_t *dx, int accumulate_dx,
                            int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        double cdf = 0.5 * (1.0 + erf(x[i] * M_SQRT1_2));
        double pdf = exp(-0.5 * (double)x[i] * x[i]) * 0.5 * M_2_SQRTPI * M_SQRT1_2;
        real_t g = (real_t)(dy[i] * (cdf + x[i] * pdf));
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_dnl bz_hard_sigmoid_kernels(name, elements per sample): relu6(x + 3) / 6;
m4_dnl the slope 1/6 strictly inside (-3, 3), as PyTorch's backward.
m4_define([<bz_hard_sigmoid_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t r = x[i] + 3;
        y[i] = (r < 0 ? 0 : r > 6 ? 6 : r) / 6;
    }
}

bz_entry([<void $1_backward(const real_t *x, const real_t *dy, real_t *dx, int accumulate_dx,
                            int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t g = x[i] > -3 && x[i] < 3 ? dy[i] / 6 : 0;
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_dnl bz_silu_kernels(name, elements per sample): x * sigmoid(x); the
m4_dnl derivative s (1 + x (1 - s)), s = sigmoid(x).
m4_define([<bz_silu_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = (real_t)(x[i] / (1.0 + exp(-(double)x[i])));
}

bz_entry([<void $1_backward(const real_t *x, const real_t *dy, real_t *dx, int accumulate_dx,
                            int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        double s = 1.0 / (1.0 + exp(-(double)x[i]));
        real_t g = (real_t)(dy[i] * s * (1.0 + x[i] * (1.0 - s)));
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
