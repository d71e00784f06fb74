m4_dnl bz_linear_kernels(name, in, out, bias, pixels, optimised algorithm,
m4_dnl workspace floats, act, residual): x [B][pixels][in],
m4_dnl w [out][in], y [B][pixels][out], as templates/reference/linear.m4; cuBLAS GEMMs
m4_dnl (runtime/cuda/bz_cuda_blas.cu), the bias a broadcast add and column sums,
m4_dnl the forward's activation act a pass of its own.
m4_define([<bz_linear_forward_kernel>], [<
bz_entry([<void $1_forward(const float *x, const float *w, const float *b, float *y,
                           float *workspace, int batch)>])
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4, ACT = $8, RESIDUAL = $9 };
    long rows = (long)batch * $5;
    (void)workspace;
    bz_cuda_gemm_forward(x, w, y, rows, IN, OUT, RESIDUAL);
    if (HAS_BIAS)
        bz_cuda_add_bias(y, b, rows, OUT);
    if ((int)ACT != BZ_ACT_NONE)
        bz_cuda_activate(y, rows * OUT, ACT);
}>])m4_dnl
m4_define([<bz_linear_backward_kernel>], [<
bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long rows = (long)batch * $5;
    (void)workspace;
    bz_cuda_gemm_weight_grad(x, dy, dw, rows, IN, OUT);
    if (HAS_BIAS)
        bz_cuda_column_sums(dy, db, rows, OUT);
    if (dx)
        bz_cuda_gemm_input_grad(dy, w, dx, rows, IN, OUT, accumulate_dx);
}>])m4_dnl
m4_define([<bz_linear_kernels>], [<bz_linear_forward_kernel($@)
bz_linear_backward_kernel($@)>])m4_dnl
m4_dnl bz_linear_deploy_kernel(the same arguments): the deploy conv's
m4_dnl prepack (here none) and forward on the prepacked weights.
m4_define([<bz_linear_deploy_kernel>], m4_defn([<bz_conv2d_unpacked_deploy_kernel>]))m4_dnl
