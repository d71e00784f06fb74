m4_dnl Pooling, as templates/reference/pooling.m4.
m4_dnl
m4_dnl bz_avgpool2d_kernels(name, c, h, w, ho, wo, kernel, stride, pad,
m4_dnl                      count_include_pad): PyTorch's window rule (the
m4_dnl reference's).  The backward gathers: each input element sums the
m4_dnl outputs whose windows hold it, so no two threads write one element.
m4_define([<bz_avgpool2d_kernels>], [<
static __device__ inline int $1_window(int o, int size, int *start, int *end)
{
    enum { K = $7, S = $8, P = $9, COUNT_PAD = $10 };
    int s = o * S - P, e = s + K < size + P ? s + K : size + P;
    int padded = e - s;
    *start = s < 0 ? 0 : s;
    *end = e > size ? size : e;
    return COUNT_PAD ? padded : *end - *start;
}

static __global__ void $1_forward_kernel(const float *x, float *y, long n)
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    BZ_CUDA_FOR(i, n) {
        int c = (int)(i % C), ow = (int)(i / C % WO), oh = (int)(i / C / WO % HO);
        long s = i / ((long)C * WO * HO);
        int h0, h1, w0, w1;
        int divisor = $1_window(oh, H, &h0, &h1) * $1_window(ow, W, &w0, &w1);
        float sum = 0.f;
        for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
                sum += x[((s * H + ih) * W + iw) * C + c];
        y[i] = sum / divisor;
    }
}

/* the outputs o whose window along one axis may hold input position in */
static __device__ inline void $1_outputs_of(int in, int outs, int *first, int *last)
{
    enum { K = $7, S = $8, P = $9 };
    int lo = in + P - K + 1;
    *first = lo <= 0 ? 0 : (lo + S - 1) / S;
    *last = (in + P) / S < outs - 1 ? (in + P) / S : outs - 1;
}

static __global__ void $1_backward_kernel(const float *dy, float *dx, int accumulate_dx, long n)
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    BZ_CUDA_FOR(i, n) {
        int c = (int)(i % C), iw = (int)(i / C % W), ih = (int)(i / C / W % H);
        long s = i / ((long)C * W * H);
        int oh0, oh1, ow0, ow1;
        $1_outputs_of(ih, HO, &oh0, &oh1);
        $1_outputs_of(iw, WO, &ow0, &ow1);
        float sum = 0.f;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++) {
                int h0, h1, w0, w1;
                int divisor = $1_window(oh, H, &h0, &h1) * $1_window(ow, W, &w0, &w1);
                if (ih >= h0 && ih < h1 && iw >= w0 && iw < w1)
                    sum += dy[((s * HO + oh) * WO + ow) * C + c] / divisor;
            }
        dx[i] = accumulate_dx ? dx[i] + sum : sum;
    }
}

bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    long n = (long)batch * $5 * $6 * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *dy, float *dx, int accumulate_dx, int batch)>])
{
    long n = (long)batch * $3 * $4 * $2;
    $1_backward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(dy, dx, accumulate_dx, n);
    BZ_CUDA_LAUNCHED("[<$1>] backward");
}>])m4_dnl
m4_dnl
m4_dnl bz_maxpool2d_kernels(name, c, h, w, ho, wo, kernel, stride, pad): the
m4_dnl reference's rule (padding never wins, the first maximum in row-major
m4_dnl window order); the backward gathers: each input element sums dy of
m4_dnl the outputs whose maximum it is.
m4_define([<bz_maxpool2d_kernels>], [<
static __device__ inline long $1_argmax(const float *x, int oh, int ow, int c)
{
    enum { C = $2, H = $3, W = $4, K = $7, S = $8, P = $9 };
    int h0 = oh * S - P, w0 = ow * S - P;
    long best = -1;
    for (int ih = h0 < 0 ? 0 : h0; ih < h0 + K && ih < H; ih++)
        for (int iw = w0 < 0 ? 0 : w0; iw < w0 + K && iw < W; iw++) {
            long at = ((long)ih * W + iw) * C + c;
            if (best < 0 || x[at] > x[best])
                best = at;
        }
    return best;
}

static __global__ void $1_forward_kernel(const float *x, float *y, long n)
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    BZ_CUDA_FOR(i, n) {
        int c = (int)(i % C), ow = (int)(i / C % WO), oh = (int)(i / C / WO % HO);
        const float *xs = x + i / ((long)C * WO * HO) * H * W * C;
        y[i] = xs[$1_argmax(xs, oh, ow, c)];
    }
}

/* the outputs o whose window along one axis may hold input position in */
static __device__ inline void $1_outputs_of(int in, int outs, int *first, int *last)
{
    enum { K = $7, S = $8, P = $9 };
    int lo = in + P - K + 1;
    *first = lo <= 0 ? 0 : (lo + S - 1) / S;
    *last = (in + P) / S < outs - 1 ? (in + P) / S : outs - 1;
}

static __global__ void $1_backward_kernel(const float *x, const float *dy, float *dx,
                                          int accumulate_dx, long n)
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    BZ_CUDA_FOR(i, n) {
        int c = (int)(i % C), iw = (int)(i / C % W), ih = (int)(i / C / W % H);
        long s = i / ((long)C * W * H);
        const float *xs = x + s * H * W * C;
        long self = ((long)ih * W + iw) * C + c;
        int oh0, oh1, ow0, ow1;
        $1_outputs_of(ih, HO, &oh0, &oh1);
        $1_outputs_of(iw, WO, &ow0, &ow1);
        float sum = 0.f;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
                if ($1_argmax(xs, oh, ow, c) == self)
                    sum += dy[((s * HO + oh) * WO + ow) * C + c];
        dx[i] = accumulate_dx ? dx[i] + sum : sum;
    }
}

bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    long n = (long)batch * $5 * $6 * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *x, const float *dy, float *dx, int accumulate_dx,
                            int batch)>])
{
    long n = (long)batch * $3 * $4 * $2;
    $1_backward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, dy, dx, accumulate_dx, n);
    BZ_CUDA_LAUNCHED("[<$1>] backward");
}>])m4_dnl
m4_dnl
m4_dnl bz_global_avgpool_kernels(name, channels, pixels): y [B][C], one
m4_dnl thread per (sample, channel).
m4_define([<bz_global_avgpool_kernels>], [<
static __global__ void $1_forward_kernel(const float *x, float *y, long n)
{
    enum { C = $2, HW = $3 };
    BZ_CUDA_FOR(i, n) {
        long s = i / C;
        int c = (int)(i % C);
        double sum = 0;
        for (int p = 0; p < HW; p++)
            sum += x[(s * HW + p) * C + c];
        y[i] = (float)(sum / HW);
    }
}

static __global__ void $1_backward_kernel(const float *dy, float *dx, int accumulate_dx, long n)
{
    enum { C = $2, HW = $3 };
    BZ_CUDA_FOR(i, n) {
        float g = dy[i / ((long)HW * C) * C + i % C] / HW;
        dx[i] = accumulate_dx ? dx[i] + g : g;
    }
}

bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    long n = (long)batch * $2;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *dy, float *dx, int accumulate_dx, int batch)>])
{
    long n = (long)batch * $3 * $2;
    $1_backward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(dy, dx, accumulate_dx, n);
    BZ_CUDA_LAUNCHED("[<$1>] backward");
}>])m4_dnl
