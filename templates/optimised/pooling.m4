m4_dnl Optimised global average pooling (the heads' and squeeze-excite's):
m4_dnl sums along contiguous channels, a pixel at a time, in double as the
m4_dnl reference does; OpenMP over the samples, or over channel blocks for
m4_dnl a batch smaller than the threads (batch-1 latency).  The other
m4_dnl pooling operators use the reference templates.
m4_dnl bz_global_avgpool_kernels(name, channels, pixels): y [B][C]
m4_define([<bz_global_avgpool_kernels>], [<
static void $1_forward(const float *x, float *y, int batch)
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

static void $1_backward(const float *dy, float *dx, int accumulate_dx, int batch)
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
