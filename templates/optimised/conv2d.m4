m4_dnl Optimised convolutions.  bzgen picks the algorithm per layer:
m4_dnl   pointwise  1x1, stride 1, no padding, groups 1: one GEMM on NHWC
m4_dnl   im2col     other dense convs: im2col of `chunk` samples + GEMM
m4_dnl   tiled, pointwise_tiled  dense convs with 16n outputs on AVX-512:
m4_dnl              register-tiled direct convolution (conv2d_tiled.m4)
m4_dnl   winograd   dense 3x3 stride-1 convs padded by their dilation, 16n
m4_dnl              channels in and out, on AVX-512: Winograd F(2x2, 3x3)
m4_dnl              forward, F(4x4, 3x3) backward and deploy (conv2d_winograd.m4)
m4_dnl   winograd_small_map  the same on a map of few F(4x4) tiles, whose
m4_dnl              deploy form keeps the F(2x2) kernel too for small batches
m4_dnl   grouped    undilated grouped convs of at most 16 inputs per group,
m4_dnl              depthwise included (conv2d_grouped.m4)
m4_dnl   direct     other grouped convs: the reference loops
m4_dnl Only im2col, winograd and direct take a dilation (argument 18) above 1.
m4_dnl Arguments as the reference bz_conv2d_forward_kernel; optimised/kernels.m4
m4_dnl sends each call to the algorithm bzgen named.
m4_dnl
m4_dnl y[M][cout] += bias, M rows of output pixels, then the deploy graph's
m4_dnl fused activation (argument 19, runtime/kernels/bz_activation.h).
m4_dnl Argument 20, residual 1: the GEMM adds to what y holds (beta 1), a
m4_dnl deploy step's residual, before the bias and activation.
m4_define([<bz_conv2d_epilogue>], [<
    if (HAS_BIAS || (int)ACT != BZ_ACT_NONE)
        bz_channel_bias_act(y, HAS_BIAS ? b : NULL, M, COUT, ACT);>])m4_dnl
m4_define([<bz_conv2d_bias_gradient>], [<
    if (HAS_BIAS)
        bz_channel_sum(dy, M, COUT, db);>])m4_dnl
m4_define([<bz_conv2d_pointwise_forward_kernel>], [<
bz_entry([<void $1_forward(const float *x, const float *w, const float *b, float *y,
                           float *workspace, int batch)>])
{
    enum { CIN = $2, COUT = $5, HW = $6 * $7, HAS_BIAS = $13, ACT = $19, RESIDUAL = $20 };
    long M = (long)batch * HW;
    (void)workspace;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, COUT, CIN, 1.0f, x, CIN, w, CIN,
                RESIDUAL ? 1.0f : 0.0f, y, COUT);bz_conv2d_epilogue
}>])m4_dnl
m4_define([<bz_conv2d_pointwise_backward_kernel>], [<
bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{
    enum { CIN = $2, COUT = $5, HW = $6 * $7, HAS_BIAS = $13 };
    long M = (long)batch * HW;
    (void)workspace;
    /* dw[COUT][CIN] = dy^T x;  dx[M][CIN] = dy w */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, COUT, CIN, (int)M, 1.0f, dy, COUT, x, CIN,
                0.0f, dw, CIN);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, CIN, COUT, 1.0f, dy, COUT,
                    w, CIN, accumulate_dx ? 1.0f : 0.0f, dx, CIN);bz_conv2d_bias_gradient
}>])m4_dnl
m4_dnl im2col: col [chunk*HO*WO][KH*KW*CIN], one row per output pixel in
m4_dnl the weights' (kh, kw, cin) order; padding reads as zero.
m4_define([<bz_conv2d_im2col_helper>], [<
static void $1_im2col(const float *x, float *col, int samples)
{
    enum { CIN = $2, H = $3, W = $4, HO = $6, WO = $7, KH = $8, KW = $9, STRIDE = $10, PAD = $11,
           DIL = $18 };
    #pragma omp parallel for collapse(2)
    for (int n = 0; n < samples; n++)
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++) {
                float *row = col + (((long)n * HO + oh) * WO + ow) * (KH * KW * CIN);
                for (int i = 0; i < KH; i++)
                    for (int j = 0; j < KW; j++) {
                        int ih = oh * STRIDE - PAD + i * DIL, iw = ow * STRIDE - PAD + j * DIL;
                        float *dst = row + (i * KW + j) * CIN;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                            memset(dst, 0, sizeof(float) * CIN);
                        else
                            memcpy(dst, x + (((long)n * H + ih) * W + iw) * CIN, sizeof(float) * CIN);
                    }
            }
}>])m4_dnl
m4_define([<bz_conv2d_im2col_forward_kernel>], [<bz_conv2d_im2col_helper($@)

bz_entry([<void $1_forward(const float *x, const float *w, const float *b, float *y,
                           float *workspace, int batch)>])
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, K = $8 * $9 * $2,
           HAS_BIAS = $13, CHUNK = $14, ACT = $19, RESIDUAL = $20 };
    long M = (long)batch * HO * WO;
    for (int n0 = 0; n0 < batch; n0 += CHUNK) {
        int samples = batch - n0 < CHUNK ? batch - n0 : CHUNK;
        $1_im2col(x + (long)n0 * H * W * CIN, workspace, samples);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, samples * HO * WO, COUT, K, 1.0f,
                    workspace, K, w, K, RESIDUAL ? 1.0f : 0.0f, y + (long)n0 * HO * WO * COUT,
                    COUT);
    }bz_conv2d_epilogue
}>])m4_dnl
m4_define([<bz_conv2d_col2im_helper>], [<
/* dx += col2im(dcol): scatter-add of each row back to its input pixels. */
static void $1_col2im(const float *col, float *dx, int samples)
{
    enum { CIN = $2, H = $3, W = $4, HO = $6, WO = $7, KH = $8, KW = $9, STRIDE = $10, PAD = $11,
           DIL = $18 };
    #pragma omp parallel for
    for (int n = 0; n < samples; n++)
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++) {
                const float *row = col + (((long)n * HO + oh) * WO + ow) * (KH * KW * CIN);
                for (int i = 0; i < KH; i++)
                    for (int j = 0; j < KW; j++) {
                        int ih = oh * STRIDE - PAD + i * DIL, iw = ow * STRIDE - PAD + j * DIL;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                            continue;
                        float *dst = dx + (((long)n * H + ih) * W + iw) * CIN;
                        const float *src = row + (i * KW + j) * CIN;
                        for (int c = 0; c < CIN; c++)
                            dst[c] += src[c];
                    }
            }
}>])m4_dnl
m4_define([<bz_conv2d_im2col_backward_kernel>], [<bz_conv2d_col2im_helper($@)

bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, K = $8 * $9 * $2,
           HAS_BIAS = $13, CHUNK = $14 };
    long M = (long)batch * HO * WO;
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(float) * (size_t)batch * H * W * CIN);
    for (int n0 = 0; n0 < batch; n0 += CHUNK) {
        int samples = batch - n0 < CHUNK ? batch - n0 : CHUNK;
        int rows = samples * HO * WO;
        const float *dy_chunk = dy + (long)n0 * HO * WO * COUT;
        $1_im2col(x + (long)n0 * H * W * CIN, workspace, samples);
        /* dw[COUT][K] (+)= dy^T col */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, COUT, K, rows, 1.0f, dy_chunk, COUT,
                    workspace, K, n0 ? 1.0f : 0.0f, dw, K);
        if (!dx)
            continue;
        /* dcol[rows][K] = dy w, reusing the scratch */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, K, COUT, 1.0f, dy_chunk, COUT,
                    w, K, 0.0f, workspace, K);
        $1_col2im(workspace, dx + (long)n0 * H * W * CIN, samples);
    }bz_conv2d_bias_gradient
}>])m4_dnl
