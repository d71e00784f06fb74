m4_dnl Optimised average pooling: sums along contiguous channels, a pixel at
m4_dnl a time, in double and in the reference's order (the same floats).
m4_dnl Max pooling uses the reference template.
m4_dnl
m4_dnl bz_avgpool2d_kernels(name, c, h, w, ho, wo, kernel, stride, pad,
m4_dnl count_include_pad): the windows of the reference template; OpenMP
m4_dnl over output rows in the forward and over input rows in the backward,
m4_dnl which gathers each dx row's windows (in the reference's order) and so
m4_dnl writes every row from one thread.
m4_define([<bz_avgpool2d_kernels>], [<bz_avgpool2d_window([<$1>], $7, $8, $9, $10)

bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6, BLOCK = 256 };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < HO; oh++) {
            int h0, h1, rows = $1_window(oh, H, &h0, &h1);
            for (int ow = 0; ow < WO; ow++) {
                int w0, w1, divisor = rows * $1_window(ow, W, &w0, &w1);
                float *out = y + (((long)n * HO + oh) * WO + ow) * C;
                for (int c0 = 0; c0 < C; c0 += BLOCK) {
                    int width = C - c0 < BLOCK ? C - c0 : BLOCK;
                    double sum[BLOCK];
                    for (int c = 0; c < width; c++)
                        sum[c] = 0;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++) {
                            const float *in = x + (((long)n * H + ih) * W + iw) * C + c0;
                            #pragma omp simd
                            for (int c = 0; c < width; c++)
                                sum[c] += in[c];
                        }
                    #pragma omp simd
                    for (int c = 0; c < width; c++)
                        out[c0 + c] = (float)(sum[c] / divisor);
                }
            }
        }
}

bz_entry([<void $1_backward(const float *dy, float *dx, int accumulate_dx, int batch)>])
{
    enum { C = $2, H = $3, W = $4, HO = $5, WO = $6 };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < batch; n++)
        for (int ih = 0; ih < H; ih++) {
            float *row = dx + ((long)n * H + ih) * W * C;  /* [W][C] */
            if (!accumulate_dx)
                memset(row, 0, sizeof(float) * W * C);
            for (int oh = 0; oh < HO; oh++) {
                int h0, h1, rows = $1_window(oh, H, &h0, &h1);
                if (ih < h0 || ih >= h1)
                    continue;
                for (int ow = 0; ow < WO; ow++) {
                    int w0, w1, divisor = rows * $1_window(ow, W, &w0, &w1);
                    const float *g = dy + (((long)n * HO + oh) * WO + ow) * C;
                    for (int iw = w0; iw < w1; iw++) {
                        float *d = row + (long)iw * C;
                        #pragma omp simd
                        for (int c = 0; c < C; c++)
                            d[c] += g[c] / divisor;
                    }
                }
            }
        }
}>])m4_dnl
m4_dnl
m4_dnl Global average pooling (the heads' and squeeze-excite's): OpenMP over
m4_dnl the samples, or over channel blocks for a batch smaller than the
m4_dnl threads (batch-1 latency).
m4_dnl bz_global_avgpool_kernels(name, channels, pixels): y [B][C]
m4_define([<bz_global_avgpool_kernels>], [<
bz_entry([<void $1_forward(const float *x, float *y, int batch)>])
{
    enum { C = $2, HW = $3, BLOCK = 256, BLOCKS = (C + BLOCK - 1) / BLOCK };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < batch; n++)
        for (int blk = 0; blk < BLOCKS; blk++) {
            int c0 = blk * BLOCK, width = C - c0 < BLOCK ? C - c0 : BLOCK;
            double sum[BLOCK];
            for (int c = 0; c < width; c++)
                sum[c] = 0;
            for (int p = 0; p < HW; p++) {
                const float *row = x + ((long)n * HW + p) * C + c0;
                #pragma omp simd
                for (int c = 0; c < width; c++)
                    sum[c] += row[c];
            }
            #pragma omp simd
            for (int c = 0; c < width; c++)
                y[(long)n * C + c0 + c] = (float)(sum[c] / HW);
        }
}

bz_entry([<void $1_backward(const float *dy, float *dx, int accumulate_dx, int batch)>])
{
    enum { C = $2, HW = $3 };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < HW; p++) {
            float *row = dx + ((long)n * HW + p) * C;
            const float *g = dy + (long)n * C;
            #pragma omp simd
            for (int c = 0; c < C; c++)
                row[c] = (accumulate_dx ? row[c] : 0.0f) + g[c] / HW;
        }
}>])m4_dnl
