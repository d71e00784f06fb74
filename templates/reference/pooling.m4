m4_dnl bz_avgpool2d_kernels(name, c, h, w, ho, wo, kernel, stride, pad,
m4_dnl                      count_include_pad)
m4_dnl PyTorch's window rule: the window is clipped to the padded input
m4_dnl first (its size is the divisor when padding counts), then to the
m4_dnl input (the divisor otherwise).  ceil_mode only changes ho and wo.
m4_dnl bz_avgpool2d_window(name, kernel, stride, pad, count_include_pad):
m4_dnl name_window(o, size, &start, &end), output o's window along a side of
m4_dnl size pixels, [start, end); returns that side's share of the divisor.
m4_define([<bz_avgpool2d_window>], [<
static int $1_window(int o, int size, int *start, int *end)
{
    enum { K = $2, S = $3, P = $4, COUNT_PAD = $5 };
    int s = o * S - P, e = s + K < size + P ? s + K : size + P;
    int padded = e - s;
    *start = s < 0 ? 0 : s;
    *end = e > size ? size : e;
    return COUNT_PAD ? padded : *end - *start;
}>])m4_dnl
m4_define([<bz_avgpool2d_kernels>], [<bz_avgpool2d_window([<$1>], $7, $8, $9, $10)

bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++) {
                int h0, h1, w0, w1;
                int divisor = $1_window(oh, H, &h0, &h1) * $1_window(ow, W, &w0, &w1);
                for (int c = 0; c < C; c++) {
                    double sum = 0;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                            sum += x[(((long)n * H + ih) * W + iw) * C + c];
                    y[(((long)n * HO + oh) * WO + ow) * C + c] = (real_t)(sum / divisor);
                }
            }
}

bz_entry([<void $1_backward(const real_t *dy, real_t *dx, int accumulate_dx, int batch)>])
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    if (!accumulate_dx)
        memset(dx, 0, sizeof(real_t) * (size_t)batch * H * W * C);
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++) {
                int h0, h1, w0, w1;
                int divisor = $1_window(oh, H, &h0, &h1) * $1_window(ow, W, &w0, &w1);
                for (int c = 0; c < C; c++) {
                    real_t g = dy[(((long)n * HO + oh) * WO + ow) * C + c] / divisor;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                            dx[(((long)n * H + ih) * W + iw) * C + c] += g;
                }
            }
}>])m4_dnl
m4_dnl bz_global_avgpool_kernels(name, channels, pixels): y [B][C]
m4_define([<bz_global_avgpool_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    enum { C = $2, HW = $3 };
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < C; c++) {
            double sum = 0;
            for (int p = 0; p < HW; p++)
                sum += x[((long)n * HW + p) * C + c];
            y[(long)n * C + c] = (real_t)(sum / HW);
        }
}

bz_entry([<void $1_backward(const real_t *dy, real_t *dx, int accumulate_dx, int batch)>])
{
    enum { C = $2, HW = $3 };
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < HW; p++)
            for (int c = 0; c < C; c++) {
                long i = ((long)n * HW + p) * C + c;
                real_t g = dy[(long)n * C + c] / HW;
                dx[i] = accumulate_dx ? dx[i] + g : g;
            }
}>])m4_dnl
m4_dnl bz_maxpool2d_kernels(name, c, h, w, ho, wo, kernel, stride, pad)
m4_dnl Padding never wins (PyTorch pads with -inf); of equal values the
m4_dnl first in row-major window order is the maximum, as PyTorch's CPU
m4_dnl kernel picks it, and the backward sends dy there, found again from x.
m4_define([<bz_maxpool2d_kernels>], [<
/* the offset within one sample's [H][W][C] of output (oh, ow)'s maximum */
static long $1_argmax(const real_t *x, int oh, int ow, int c)
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

bz_entry([<void $1_forward(const real_t *x, real_t *y, int batch)>])
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    for (int n = 0; n < batch; n++) {
        const real_t *xn = x + (long)n * H * W * C;
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++)
                for (int c = 0; c < C; c++)
                    y[(((long)n * HO + oh) * WO + ow) * C + c] = xn[$1_argmax(xn, oh, ow, c)];
    }
}

bz_entry([<void $1_backward(const real_t *x, const real_t *dy, real_t *dx, int accumulate_dx,
                            int batch)>])
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    if (!accumulate_dx)
        memset(dx, 0, sizeof(real_t) * (size_t)batch * H * W * C);
    for (int n = 0; n < batch; n++) {
        const real_t *xn = x + (long)n * H * W * C;
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++)
                for (int c = 0; c < C; c++)
                    dx[(long)n * H * W * C + $1_argmax(xn, oh, ow, c)] +=
                        dy[(((long)n * HO + oh) * WO + ow) * C + c];
    }
}>])m4_dnl
