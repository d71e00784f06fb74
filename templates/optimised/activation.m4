m4_dnl Optimised activations: the reference formulas, OpenMP + SIMD.
m4_dnl
m4_dnl bz_unary_forward(name, elements per sample, y[i] as an expression of x[i]).
m4_define([<bz_unary_forward>], [<
bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = $3;
}>])m4_dnl
m4_dnl bz_unary_backward(name, elements per sample, what backward reads (x
m4_dnl or y), dx[i]'s term as an expression of it and dy[i]): two loops, for
m4_dnl a conditional read of dx in one would keep the loop scalar.
m4_define([<bz_unary_backward>], [<
bz_entry([<void $1_backward(const float *$3, const float *dy, float *dx, int accumulate_dx, int batch)>])
{
    long n = (long)batch * $2;
    if (accumulate_dx) {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++)
            dx[i] += $4;
    } else {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++)
            dx[i] = $4;
    }
}>])m4_dnl
m4_dnl The forward formulas are runtime/kernels/bz_activation.h's, which a
m4_dnl deploy conv's fused activation applies too.
m4_define([<bz_relu_kernels>], [<bz_unary_forward([<$1>], $2, [<bz_activate(BZ_ACT_RELU, x[i])>])
bz_unary_backward([<$1>], $2, y, [<y[i] > 0 ? dy[i] : 0>])>])m4_dnl
m4_define([<bz_hardswish_kernels>], [<bz_unary_forward([<$1>], $2, [<bz_activate(BZ_ACT_HARDSWISH, x[i])>])
bz_unary_backward([<$1>], $2, x,
    [<x[i] < -3.0f ? 0.0f : x[i] <= 3.0f ? dy[i] * (x[i] / 3.0f + 0.5f) : dy[i]>])>])m4_dnl
m4_define([<bz_sigmoid_kernels>], [<bz_unary_forward([<$1>], $2, [<bz_activate(BZ_ACT_SIGMOID, x[i])>])
bz_unary_backward([<$1>], $2, y, [<dy[i] * y[i] * (1.0f - y[i])>])>])m4_dnl
m4_dnl bz_unary_forward16(name, elements per sample, the function of
m4_dnl runtime/kernels that maps 16 lanes of x to y): 16 elements at a time,
m4_dnl the last block masked.
m4_define([<bz_unary_forward16>], [<
bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    long n = (long)batch * $2;
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i += 16) {
        __mmask16 lanes = bz_first_lanes(n - i);
        _mm512_mask_storeu_ps(y + i, lanes, $3(_mm512_maskz_loadu_ps(lanes, x + i)));
    }
}>])m4_dnl
m4_dnl bz_unary_backward16(name, elements per sample, the function that
m4_dnl maps 16 lanes of x to dy/dx): dx (+)= dy f'(x) likewise.
m4_define([<bz_unary_backward16>], [<
bz_entry([<void $1_backward(const float *x, const float *dy, float *dx, int accumulate_dx, int batch)>])
{
    long n = (long)batch * $2;
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i += 16) {
        __mmask16 lanes = bz_first_lanes(n - i);
        __m512 d = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, dy + i),
                                 $3(_mm512_maskz_loadu_ps(lanes, x + i)));
        if (accumulate_dx)
            d = _mm512_add_ps(d, _mm512_maskz_loadu_ps(lanes, dx + i));
        _mm512_mask_storeu_ps(dx + i, lanes, d);
    }
}>])m4_dnl
m4_dnl GELU: the 16-lane erf of runtime/kernels/bz_erf.h where AVX-512 has it
m4_dnl (a third of libmvec's time), else libmvec.
m4_define([<bz_gelu_kernels>], [<
#if defined(__AVX512F__)
bz_unary_forward16([<$1>], $2, [<bz_gelu16>])
bz_unary_backward16([<$1>], $2, [<bz_gelu_derivative16>])
#else
bz_unary_forward([<$1>], $2, [<bz_activate(BZ_ACT_GELU, x[i])>])
bz_unary_backward([<$1>], $2, x, [<dy[i] * bz_gelu_derivative(x[i])>])
#endif>])m4_dnl
m4_define([<bz_silu_kernels>], [<bz_unary_forward([<$1>], $2, [<bz_activate(BZ_ACT_SILU, x[i])>])
bz_unary_backward([<$1>], $2, x, [<dy[i] * bz_silu_derivative(x[i])>])>])m4_dnl
