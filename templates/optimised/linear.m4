m4_dnl bz_linear_kernels(name, in, out, bias, pixels, algorithm, workspace
m4_dnl floats): x [B][pixels][in], w [out][in], y [B][pixels][out], every
m4_dnl pixel of the batch one row; optimised/kernels.m4 sends the call to
m4_dnl the algorithm bzgen chose:
m4_dnl   gemm   OpenBLAS GEMMs, y [M][out] = x [M][in] w^T, M = batch x pixels
m4_dnl   tiled  16n inputs and outputs: the 1x1 conv it is, on a pixels x 1
m4_dnl          map, run by the register-tiled pointwise core (conv2d_tiled.m4;
m4_dnl          GEMMs without AVX-512), w [out][in] being that conv's OHWI
m4_dnl          weights; the workspace holds them packed
m4_define([<bz_linear_gemm_kernels>], [<
static void $1_forward(const float *x, const float *w, const float *b, float *y,
                       float *workspace, int batch)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long M = (long)batch * $5;
    (void)workspace;
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
                        int accumulate_dx, float *dw, float *db, float *workspace, int batch)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long M = (long)batch * $5;
    (void)workspace;
    /* dw [OUT][IN] = dy^T x;  dx [M][IN] = dy w */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, (int)M, 1.0f, dy, OUT, x, IN,
                0.0f, dw, IN);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, IN, OUT, 1.0f, dy, OUT, w,
                    IN, accumulate_dx ? 1.0f : 0.0f, dx, IN);
    if (HAS_BIAS)
        bz_channel_sum(dy, M, OUT, db);
}>])m4_dnl
m4_dnl bz_linear_as_conv(kernel macro, the linear's arguments): that
m4_dnl kernel macro called with the 1x1 conv's arguments.
m4_define([<bz_linear_as_conv>], [<$1([<$2>], $3, $6, 1, $4, $6, 1, 1, 1, 1, 0, 1, $5, 1, $8,
                                   [<pointwise_tiled>], [<gemm>], 1, 0)>])m4_dnl
m4_define([<bz_linear_tiled_kernels>], [<
bz_linear_as_conv([<bz_conv2d_pointwise_tiled_forward_kernel>], $@)
bz_linear_as_conv([<bz_conv2d_pointwise_tiled_backward_kernel>], $@)>])m4_dnl
m4_dnl bz_linear_deploy_kernel(the same arguments): prefix_prepack(w,
m4_dnl workspace) and prefix_forward_packed, as a deploy conv's; only the
m4_dnl tiled algorithm packs.
m4_define([<bz_linear_tiled_deploy_kernel>], [<
bz_linear_as_conv([<bz_conv2d_pointwise_tiled_deploy_kernel>], $@)>])m4_dnl
