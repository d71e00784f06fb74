m4_dnl bz_linear_kernels(name, in, out, bias): x [B][in], w [out][in],
m4_dnl y [B][out], as templates/reference/linear.m4; one thread per output,
m4_dnl weight gradient element and input gradient element.
m4_define([<bz_linear_kernels>], [<
static __global__ void $1_forward_kernel(const float *x, const float *w, const float *b,
                                         float *y, long n)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    BZ_CUDA_FOR(i, n) {
        long s = i / OUT;
        int o = (int)(i % OUT);
        float acc = HAS_BIAS ? b[o] : 0.f;
        for (int k = 0; k < IN; k++)
            acc += x[s * IN + k] * w[(long)o * IN + k];
        y[i] = acc;
    }
}

static __global__ void $1_weight_grad_kernel(const float *x, const float *dy, float *dw,
                                             float *db, int batch)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    BZ_CUDA_FOR(i, (long)OUT * IN) {
        int o = (int)(i / IN), k = (int)(i % IN);
        float sum = 0.f, sum_b = 0.f;
        for (int s = 0; s < batch; s++) {
            sum += dy[(long)s * OUT + o] * x[(long)s * IN + k];
            sum_b += dy[(long)s * OUT + o];
        }
        dw[i] = sum;
        if (HAS_BIAS && k == 0)
            db[o] = sum_b;
    }
}

static __global__ void $1_input_grad_kernel(const float *w, const float *dy, float *dx,
                                            int accumulate_dx, long n)
{
    enum { IN = $2, OUT = $3 };
    BZ_CUDA_FOR(i, n) {
        long s = i / IN;
        int k = (int)(i % IN);
        float acc = 0.f;
        for (int o = 0; o < OUT; o++)
            acc += dy[s * OUT + o] * w[(long)o * IN + k];
        dx[i] = accumulate_dx ? dx[i] + acc : acc;
    }
}

static void $1_forward(const float *x, const float *w, const float *b, float *y, int batch)
{
    long n = (long)batch * $3;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, w, b, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

static void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                        int accumulate_dx, float *dw, float *db, int batch)
{
    long n = (long)batch * $2;
    $1_weight_grad_kernel<<<bz_cuda_blocks((long)$3 * $2), BZ_CUDA_THREADS>>>(x, dy, dw, db, batch);
    BZ_CUDA_LAUNCHED("[<$1>] weight gradient");
    if (!dx)
        return;
    $1_input_grad_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(w, dy, dx, accumulate_dx, n);
    BZ_CUDA_LAUNCHED("[<$1>] input gradient");
}>])m4_dnl
