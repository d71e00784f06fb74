m4_dnl Residual sums, differences, products, layer scales and concatenation
m4_dnl over NHWC [B][pixels][C]; the functions of templates/reference/elementwise.m4.
m4_dnl
m4_dnl bz_cuda_binary(name, elements per sample, sign of b): y = a + sign b
m4_dnl (relu 1: through a ReLU);
m4_dnl the backward hands dy to a and sign dy to b (a NULL da or db: that
m4_dnl gradient is dy's buffer, gen/fuse.c).
m4_define([<bz_cuda_binary>], [<
static __global__ void $1_forward_kernel(const float *a, const float *b, float *y, int relu,
                                         long n)
{
    BZ_CUDA_FOR(i, n) {
        float v = a[i] + ($3) * b[i];
        y[i] = relu && !(v > 0) ? 0.f : v;
    }
}

static __global__ void $1_backward_kernel(const float *dy, float *da, int accumulate_da,
                                          float *db, int accumulate_db, long n)
{
    BZ_CUDA_FOR(i, n) {
        float g = dy[i];
        if (da)
            da[i] = accumulate_da ? da[i] + g : g;
        if (db)
            db[i] = accumulate_db ? db[i] + ($3) * g : ($3) * g;
    }
}

bz_entry([<void $1_forward(const float *a, const float *b, float *y, int relu, int batch)>])
{
    long n = (long)batch * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(a, b, y, relu, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *dy, float *da, int accumulate_da, float *db,
                            int accumulate_db, int batch)>])
{
    long n = (long)batch * $2;
    $1_backward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(dy, da, accumulate_da, db,
                                                               accumulate_db, n);
    BZ_CUDA_LAUNCHED("[<$1>] backward");
}>])m4_dnl
m4_define([<bz_add_kernels>], [<bz_cuda_binary([<$1>], $2, 1.f)>])m4_dnl
m4_define([<bz_sub_kernels>], [<bz_cuda_binary([<$1>], $2, -1.f)>])m4_dnl
m4_dnl
m4_dnl bz_channel_scale_kernels(name, channels, pixels): y = x * gamma[c];
m4_dnl dgamma[c] by one block per channel.
m4_define([<bz_channel_scale_kernels>], [<
static __global__ void $1_forward_kernel(const float *x, const float *gamma, float *y, long n)
{
    BZ_CUDA_FOR(i, n)
        y[i] = x[i] * gamma[i % $2];
}

static __global__ void $1_gamma_grad_kernel(const float *x, const float *dy, float *dgamma,
                                            long rows)
{
    enum { C = $2 };
    int c = blockIdx.x;
    double sum = 0;
    for (long r = threadIdx.x; r < rows; r += blockDim.x)
        sum += (double)dy[r * C + c] * x[r * C + c];
    sum = bz_block_sum(sum);
    if (threadIdx.x == 0)
        dgamma[c] = (float)sum;
}

static __global__ void $1_input_grad_kernel(const float *gamma, const float *dy, float *dx,
                                            int accumulate_dx, long n)
{
    BZ_CUDA_FOR(i, n) {
        float g = dy[i] * gamma[i % $2];
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}

bz_entry([<void $1_forward(const float *x, const float *gamma, float *y, int batch)>])
{
    long n = (long)batch * $3 * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, gamma, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *x, const float *gamma, const float *dy, float *dx,
                            int accumulate_dx, float *dgamma, int batch)>])
{
    long rows = (long)batch * $3, n = rows * $2;
    $1_gamma_grad_kernel<<<$2, BZ_CUDA_THREADS>>>(x, dy, dgamma, rows);
    BZ_CUDA_LAUNCHED("[<$1>] gamma gradient");
    $1_input_grad_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(gamma, dy, dx, accumulate_dx, n);
    BZ_CUDA_LAUNCHED("[<$1>] input gradient");
}>])m4_dnl
m4_dnl
m4_dnl bz_mul_kernels(name, channels, pixels, pixels of b): y = a * b, b of
m4_dnl a's shape or (pixels of b = 1) a gate [B][C]; the gate's gradient sums
m4_dnl over the pixels, one thread per (sample, channel).
m4_define([<bz_mul_kernels>], [<
static __device__ inline long $1_b_index(long i)
{
    enum { C = $2, HW = $3, HW_B = $4 };
    return HW_B == 1 ? i / ((long)HW * C) * C + i % C : i;
}

static __global__ void $1_forward_kernel(const float *a, const float *b, float *y, long n)
{
    BZ_CUDA_FOR(i, n)
        y[i] = a[i] * b[$1_b_index(i)];
}

static __global__ void $1_a_grad_kernel(const float *b, const float *dy, float *da,
                                        int accumulate_da, long n)
{
    BZ_CUDA_FOR(i, n) {
        float g = dy[i] * b[$1_b_index(i)];
        da[i] = accumulate_da ? da[i] + g : g;
    }
}

/* db [B][HW_B][C]: element j sums dy * a over the pixels broadcast to it */
static __global__ void $1_b_grad_kernel(const float *a, const float *dy, float *db,
                                        int accumulate_db, long nb)
{
    enum { C = $2, HW = $3, HW_B = $4, REPEAT = HW / HW_B };
    BZ_CUDA_FOR(j, nb) {
        long n = j / ((long)HW_B * C), c = j % C, p_b = j / C % HW_B;
        double sum = 0;
        for (int r = 0; r < REPEAT; r++) {
            long i = (n * HW + (HW_B == 1 ? r : p_b)) * C + c;
            sum += (double)dy[i] * a[i];
        }
        db[j] = accumulate_db ? db[j] + (float)sum : (float)sum;
    }
}

bz_entry([<void $1_forward(const float *a, const float *b, float *y, int batch)>])
{
    long n = (long)batch * $3 * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(a, b, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *a, const float *b, const float *dy, float *da,
                            int accumulate_da, float *db, int accumulate_db, int batch)>])
{
    long n = (long)batch * $3 * $2, nb = (long)batch * $4 * $2;
    $1_a_grad_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(b, dy, da, accumulate_da, n);
    BZ_CUDA_LAUNCHED("[<$1>] a gradient");
    $1_b_grad_kernel<<<bz_cuda_blocks(nb), BZ_CUDA_THREADS>>>(a, dy, db, accumulate_db, nb);
    BZ_CUDA_LAUNCHED("[<$1>] b gradient");
}>])m4_dnl
m4_dnl
m4_dnl bz_concat_kernels(name, channels of a, channels of b, pixels)
m4_define([<bz_concat_kernels>], [<
static __global__ void $1_forward_kernel(const float *a, const float *b, float *y, long n)
{
    enum { CA = $2, CB = $3, C = $2 + $3 };
    BZ_CUDA_FOR(i, n) {
        long r = i / C;
        int c = (int)(i % C);
        y[i] = c < CA ? a[r * CA + c] : b[r * CB + c - CA];
    }
}

static __global__ void $1_backward_kernel(const float *dy, float *da, int accumulate_da,
                                          float *db, int accumulate_db, long n)
{
    enum { CA = $2, CB = $3, C = $2 + $3 };
    BZ_CUDA_FOR(i, n) {
        long r = i / C;
        int c = (int)(i % C);
        float g = dy[i];
        float *d = c < CA ? da + r * CA + c : db + r * CB + c - CA;
        *d = (c < CA ? accumulate_da : accumulate_db) ? *d + g : g;
    }
}

bz_entry([<void $1_forward(const float *a, const float *b, float *y, int batch)>])
{
    long n = (long)batch * $4 * ($2 + $3);
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(a, b, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *dy, float *da, int accumulate_da, float *db,
                            int accumulate_db, int batch)>])
{
    long n = (long)batch * $4 * ($2 + $3);
    $1_backward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(dy, da, accumulate_da, db,
                                                               accumulate_db, n);
    BZ_CUDA_LAUNCHED("[<$1>] backward");
}>])m4_dnl
