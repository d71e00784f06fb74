m4_dnl Convolutions: bzgen's CUDA algorithm (argument 17 of the reference
m4_dnl bz_conv2d_forward_kernel) is "gemm" for a 1x1 stride-1 unpadded
m4_dnl dense conv (cuBLAS) and "direct" for every other one (the same direct
m4_dnl kernels for dense, grouped and depthwise convs).
m4_dnl x [B][h][w][cin], w [cout][kh][kw][cin/groups], y [B][ho][wo][cout]
m4_define([<bz_cuda_conv2d_shape>], [<enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, PAD = $11, GROUPS = $12, HAS_BIAS = $13, DIL = $18, ACT = $19, RESIDUAL = $20,
           CIN_G = $2 / $12, COUT_G = $5 / $12 };>])m4_dnl
m4_define([<bz_cuda_conv2d_direct_forward>], [<
static __global__ void $1_forward_kernel(const float *x, const float *w, const float *b,
                                         float *y, long n)
{
    bz_cuda_conv2d_shape($@)
    BZ_CUDA_FOR(i, n) {
        int co = (int)(i % COUT), ow = (int)(i / COUT % WO), oh = (int)(i / COUT / WO % HO);
        long s = i / ((long)COUT * WO * HO);
        int g = co / COUT_G;
        float acc = HAS_BIAS ? b[co] : 0.f;
        for (int ki = 0; ki < KH; ki++)
            for (int kj = 0; kj < KW; kj++) {
                int ih = oh * STRIDE - PAD + ki * DIL, iw = ow * STRIDE - PAD + kj * DIL;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                    continue;
                const float *xp = x + ((s * H + ih) * W + iw) * CIN + g * CIN_G;
                const float *wp = w + ((long)(co * KH + ki) * KW + kj) * CIN_G;
                for (int ci = 0; ci < CIN_G; ci++)
                    acc += xp[ci] * wp[ci];
            }
        y[i] = bz_activate(ACT, RESIDUAL ? acc + y[i] : acc);
    }
}

bz_entry([<void $1_forward(const float *x, const float *w, const float *b, float *y,
                           float *workspace, int batch)>])
{
    long n = (long)batch * $6 * $7 * $5;
    (void)workspace;
    $1_forward_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(x, w, b, y, n);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}>])m4_dnl
m4_dnl bz_cuda_conv2d_direct_backward(same arguments): writes dw (and db), and
m4_dnl dx unless it is NULL (the network input); accumulate_dx adds to dx.
m4_dnl dx: each element one thread's sum over the outputs its pixel fed; dw:
m4_dnl each element one block's sum over the batch and the output pixels.
m4_define([<bz_cuda_conv2d_direct_backward>], [<
static __global__ void $1_input_grad_kernel(const float *w, const float *dy, float *dx,
                                            int accumulate_dx, long n)
{
    bz_cuda_conv2d_shape($@)
    BZ_CUDA_FOR(i, n) {
        int ci = (int)(i % CIN), iw = (int)(i / CIN % W), ih = (int)(i / CIN / W % H);
        long s = i / ((long)CIN * W * H);
        int g = ci / CIN_G;
        float acc = 0.f;
        for (int ki = 0; ki < KH; ki++)
            for (int kj = 0; kj < KW; kj++) {
                int th = ih + PAD - ki * DIL, tw = iw + PAD - kj * DIL;
                if (th < 0 || tw < 0 || th % STRIDE || tw % STRIDE)
                    continue;
                int oh = th / STRIDE, ow = tw / STRIDE;
                if (oh >= HO || ow >= WO)
                    continue;
                const float *g_out = dy + ((s * HO + oh) * WO + ow) * COUT;
                for (int co = g * COUT_G; co < (g + 1) * COUT_G; co++)
                    acc += g_out[co] * w[((long)(co * KH + ki) * KW + kj) * CIN_G + ci % CIN_G];
            }
        dx[i] = accumulate_dx ? dx[i] + acc : acc;
    }
}

/* one block per weight: its threads split the batch's output pixels and
 * bz_block_sum adds their partial sums in a fixed order */
static __global__ void $1_weight_grad_kernel(const float *x, const float *dy, float *dw,
                                             int batch)
{
    bz_cuda_conv2d_shape($@)
    long i = blockIdx.x;
    int ci = (int)(i % CIN_G), kj = (int)(i / CIN_G % KW), ki = (int)(i / CIN_G / KW % KH);
    int co = (int)(i / ((long)CIN_G * KW * KH)), g = co / COUT_G;
    double acc = 0;
    for (long r = threadIdx.x; r < (long)batch * HO * WO; r += blockDim.x) {
        int ow = (int)(r % WO), oh = (int)(r / WO % HO);
        long s = r / ((long)WO * HO);
        int ih = oh * STRIDE - PAD + ki * DIL, iw = ow * STRIDE - PAD + kj * DIL;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W)
            continue;
        acc += (double)dy[r * COUT + co] * x[((s * H + ih) * W + iw) * CIN + g * CIN_G + ci];
    }
    acc = bz_block_sum(acc);
    if (threadIdx.x == 0)
        dw[i] = (float)acc;
}

bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{
    bz_cuda_conv2d_shape($@)
    long weights = (long)COUT * KH * KW * CIN_G, n = (long)batch * H * W * CIN;
    (void)workspace;
    $1_weight_grad_kernel<<<(unsigned)weights, BZ_CUDA_THREADS>>>(x, dy, dw, batch);
    BZ_CUDA_LAUNCHED("[<$1>] weight gradient");
    if (HAS_BIAS)
        bz_cuda_column_sums(dy, db, (long)batch * HO * WO, COUT);
    if (!dx)
        return;
    $1_input_grad_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(w, dy, dx, accumulate_dx, n);
    BZ_CUDA_LAUNCHED("[<$1>] input gradient");
}>])m4_dnl
m4_dnl Deploy convs: nothing to pack; the forward runs on the folded weights.
m4_dnl (maybe_unused: model.cu folds on the host and never calls it)
m4_define([<bz_conv2d_unpacked_deploy_kernel>], [<
bz_entry([<void $1_prepack(float *w, float *workspace)>])
{
    (void)w, (void)workspace;
}

bz_entry([<void $1_forward_packed(const float *x, const float *w, const float *b, float *y,
                                  float *workspace, int batch)>])
{
    $1_forward(x, w, b, y, workspace, batch);
}>])m4_dnl
m4_dnl bz_cuda_conv2d_gemm_forward, _backward (same arguments): a
m4_dnl 1x1 convolution, stride 1, no padding, one group (bzgen's pointwise
m4_dnl algorithms) is, in NHWC, one GEMM over the batch's pixels: cuBLAS
m4_dnl (runtime/cuda/bz_cuda_blas.cu).
m4_define([<bz_cuda_conv2d_gemm_forward>], [<
bz_entry([<void $1_forward(const float *x, const float *w, const float *b, float *y,
                           float *workspace, int batch)>])
{
    bz_cuda_conv2d_shape($@)
    long rows = (long)batch * H * W;
    (void)workspace;
    bz_cuda_gemm_forward(x, w, y, rows, CIN, COUT, RESIDUAL);
    if (HAS_BIAS)
        bz_cuda_add_bias(y, b, rows, COUT);
    if ((int)ACT != BZ_ACT_NONE)
        bz_cuda_activate(y, rows * COUT, ACT);
}>])m4_dnl
m4_define([<bz_cuda_conv2d_gemm_backward>], [<
bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{
    bz_cuda_conv2d_shape($@)
    long rows = (long)batch * H * W;
    (void)workspace;
    bz_cuda_gemm_weight_grad(x, dy, dw, rows, CIN, COUT);
    if (HAS_BIAS)
        bz_cuda_column_sums(dy, db, rows, COUT);
    if (dx)
        bz_cuda_gemm_input_grad(dy, w, dx, rows, CIN, COUT, accumulate_dx);
}>])m4_dnl
m4_dnl The entry points bzgen calls, sent to its CUDA algorithm.
m4_define([<bz_conv2d_forward_kernel>], [<bz_cuda_conv2d_$17_forward($@)>])m4_dnl
m4_define([<bz_conv2d_backward_kernel>], [<bz_cuda_conv2d_$17_backward($@)>])m4_dnl
m4_define([<bz_conv2d_deploy_kernel>], m4_defn([<bz_conv2d_unpacked_deploy_kernel>]))m4_dnl
