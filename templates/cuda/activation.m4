m4_dnl Activations.  bz_cuda_activation(name, elements per sample,
m4_dnl forward of v, gradient of s and g): y = f(x) elementwise; the
m4_dnl backward's s is what bzgen's table says it saves (gen/op_activation.c:
m4_dnl x, or y where f' is a function of y)
m4_dnl and g = dy.
m4_define([<bz_cuda_activation>], [<
static __global__ void $1_forward_kernel(const float *x, float *y, long n)
{
    BZ_CUDA_FOR(i, n) {
        float v = x[i];
        y[i] = $3;
    }
}

static __global__ void $1_backward_kernel(const float *saved, const float *dy, float *dx,
                                          int accumulate_dx, long n)
{
    BZ_CUDA_FOR(i, n) {
        float s = saved[i], g = dy[i], d = $4;
        dx[i] = accumulate_dx ? dx[i] + d : d;
    }
}

bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    long n = (long)batch * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *saved, const float *dy, float *dx, int accumulate_dx,
                            int batch)>])
{
    long n = (long)batch * $2;
    $1_backward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(saved, dy, dx, accumulate_dx, n);
    BZ_CUDA_LAUNCHED("[<$1>] backward");
}>])m4_dnl
m4_dnl The same functions as templates/reference/activation.m4.
m4_define([<bz_relu_kernels>], [<bz_cuda_activation([<$1>], $2, [<v > 0.f ? v : 0.f>],
                                                   [<s > 0.f ? g : 0.f>])>])m4_dnl
m4_define([<bz_hardswish_kernels>], [<bz_cuda_activation([<$1>], $2,
    [<v * fminf(fmaxf(v + 3.f, 0.f), 6.f) / 6.f>],
    [<s < -3.f ? 0.f : s <= 3.f ? g * (s / 3.f + 0.5f) : g>])>])m4_dnl
m4_define([<bz_sigmoid_kernels>], [<bz_cuda_activation([<$1>], $2, [<1.f / (1.f + expf(-v))>],
                                                      [<g * s * (1.f - s)>])>])m4_dnl
m4_define([<bz_gelu_kernels>], [<bz_cuda_activation([<$1>], $2,
    [<0.5f * v * (1.f + erff(v * (float)M_SQRT1_2))>],
    [<g * (0.5f * (1.f + erff(s * (float)M_SQRT1_2)) +
           s * expf(-0.5f * s * s) * (float)(0.5 * M_2_SQRTPI * M_SQRT1_2))>])>])m4_dnl
m4_define([<bz_hard_sigmoid_kernels>], [<bz_cuda_activation([<$1>], $2,
    [<fminf(fmaxf(v + 3.f, 0.f), 6.f) / 6.f>], [<s > -3.f && s < 3.f ? g / 6.f : 0.f>])>])m4_dnl
m4_define([<bz_silu_kernels>], [<bz_cuda_activation([<$1>], $2, [<v / (1.f + expf(-v))>],
    [<g * (1.f + s * expf(-s) / (1.f + expf(-s))) / (1.f + expf(-s))>])>])m4_dnl
