m4_dnl bz_linear_kernels(name, in, out, bias, pixels): as the reference's,
m4_dnl every pixel of the batch one row of a GEMM (OpenBLAS), as a pointwise
m4_dnl convolution: y [M][out] = x [M][in] w^T, M = batch x pixels.
m4_define([<bz_linear_kernels>], [<
static void $1_forward(const float *x, const float *w, const float *b, float *y, int batch)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long M = (long)batch * $5;
    /* the bias rows first, which the GEMM then adds onto (beta 1) */
    if (HAS_BIAS) {
        #pragma omp parallel for schedule(static)
        for (long r = 0; r < M; r++)
            memcpy(y + r * OUT, b, sizeof(float) * OUT);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, OUT, IN, 1.0f, x, IN, w, IN,
                HAS_BIAS ? 1.0f : 0.0f, y, OUT);
}

static void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                        int accumulate_dx, float *dw, float *db, int batch)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long M = (long)batch * $5;
    /* dw [OUT][IN] = dy^T x;  dx [M][IN] = dy w */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, (int)M, 1.0f, dy, OUT, x, IN,
                0.0f, dw, IN);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, IN, OUT, 1.0f, dy, OUT, w,
                    IN, accumulate_dx ? 1.0f : 0.0f, dx, IN);
    if (HAS_BIAS)
        bz_channel_sum(dy, M, OUT, db);
}>])m4_dnl
