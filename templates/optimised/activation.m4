m4_dnl Optimised activations: the reference formulas, OpenMP + SIMD.
m4_define([<bz_relu_kernels>], [<
static void $1_forward(const float *x, float *y, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

static void $1_backward(const float *y, const float *dy, float *dx, int accumulate_dx, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++) {
        float g = y[i] > 0 ? dy[i] : 0;
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_define([<bz_hardswish_kernels>], [<
static void $1_forward(const float *x, float *y, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++) {
        /* clamps as comparisons: fminf/fmaxf would be library calls */
        float r = x[i] + 3.0f;
        r = r < 0.0f ? 0.0f : r;
        r = r > 6.0f ? 6.0f : r;
        y[i] = x[i] * r * (1.0f / 6.0f);
    }
}

static void $1_backward(const float *x, const float *dy, float *dx, int accumulate_dx, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++) {
        float g = x[i] < -3.0f ? 0.0f : x[i] <= 3.0f ? dy[i] * (x[i] / 3.0f + 0.5f) : dy[i];
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_define([<bz_sigmoid_kernels>], [<
static void $1_forward(const float *x, float *y, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void $1_backward(const float *y, const float *dy, float *dx, int accumulate_dx, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++) {
        float g = dy[i] * y[i] * (1.0f - y[i]);
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_define([<bz_gelu_kernels>], [<
static void $1_forward(const float *x, float *y, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

static void $1_backward(const float *x, const float *dy, float *dx, int accumulate_dx, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * (float)M_SQRT1_2));
        float pdf = expf(-0.5f * x[i] * x[i]) * (float)(0.5 * M_2_SQRTPI * M_SQRT1_2);
        float g = dy[i] * (cdf + x[i] * pdf);
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
m4_define([<bz_silu_kernels>], [<
static void $1_forward(const float *x, float *y, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}

static void $1_backward(const float *x, const float *dy, float *dx, int accumulate_dx, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++) {
        float s = 1.0f / (1.0f + expf(-x[i]));
        float g = dy[i] * s * (1.0f + x[i] * (1.0f - s));
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}>])m4_dnl
