m4_dnl Optimised convolutions.  bzgen picks the algorithm per layer:
m4_dnl   pointwise  1x1, stride 1, no padding, groups 1: one GEMM on NHWC
m4_dnl   im2col     other dense convs: im2col of `chunk` samples + GEMM
m4_dnl   tiled, pointwise_tiled  dense convs with 16n outputs on AVX-512:
m4_dnl              register-tiled direct convolution (conv2d_tiled.m4)
m4_dnl   winograd   dense 3x3 stride-1 convs padded by their dilation, 16n
m4_dnl              channels in and out, on AVX-512: Winograd F(2x2, 3x3)
m4_dnl              forward, F(4x4, 3x3) backward and deploy (conv2d_winograd.m4)
m4_dnl   depthwise  groups == cin, undilated: direct loops, OpenMP over the batch
m4_dnl   direct     other grouped convs: the reference loops
m4_dnl Only im2col, winograd and direct take a dilation (argument 18) above 1.
m4_dnl Arguments as the reference bz_conv2d_forward_kernel; optimised/kernels.m4
m4_dnl sends each call to the algorithm bzgen named.
m4_dnl
m4_dnl y[M][cout] += bias, M rows of output pixels.
m4_define([<bz_conv2d_add_bias>], [<
    if (HAS_BIAS)
        for (long r = 0; r < M; r++)
            for (int co = 0; co < COUT; co++)
                y[r * COUT + co] += b[co];>])m4_dnl
m4_define([<bz_conv2d_bias_gradient>], [<
    if (HAS_BIAS)
        bz_channel_sum(dy, M, COUT, db);>])m4_dnl
m4_define([<bz_conv2d_pointwise_forward_kernel>], [<
static void $1_forward(const float *x, const float *w, const float *b, float *y,
                       float *workspace, int batch)
{
    enum { CIN = $2, COUT = $5, HW = $6 * $7, HAS_BIAS = $13 };
    long M = (long)batch * HW;
    (void)workspace;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, COUT, CIN, 1.0f, x, CIN, w, CIN,
                0.0f, y, COUT);bz_conv2d_add_bias
}>])m4_dnl
m4_define([<bz_conv2d_pointwise_backward_kernel>], [<
static void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                        int accumulate_dx, float *dw, float *db, float *workspace, int batch)
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

static void $1_forward(const float *x, const float *w, const float *b, float *y,
                       float *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, K = $8 * $9 * $2,
           HAS_BIAS = $13, CHUNK = $14 };
    long M = (long)batch * HO * WO;
    for (int n0 = 0; n0 < batch; n0 += CHUNK) {
        int samples = batch - n0 < CHUNK ? batch - n0 : CHUNK;
        $1_im2col(x + (long)n0 * H * W * CIN, workspace, samples);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, samples * HO * WO, COUT, K, 1.0f,
                    workspace, K, w, K, 0.0f, y + (long)n0 * HO * WO * COUT, COUT);
    }bz_conv2d_add_bias
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

static void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                        int accumulate_dx, float *dw, float *db, float *workspace, int batch)
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
m4_dnl Depthwise: cout = cin * multiplier, output channel co reads input
m4_dnl channel co / multiplier.  The weights are transposed per call to
m4_dnl wt [kh][kw][cout] so that every loop runs along contiguous channels.
m4_define([<bz_conv2d_depthwise_transpose>], [<
/* w [COUT][KH][KW] -> wt [KH][KW][COUT] */
static void $1_transpose(const float *w, float *wt)
{
    enum { COUT = $5, KHW = $8 * $9 };
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KHW; k++)
            wt[k * COUT + co] = w[co * KHW + k];
}>])m4_dnl
m4_dnl The forward, an output row at a time: pixels whose taps all lie
m4_dnl inside the input (the row's interior) go 8 (then 4) at a time, 16
m4_dnl channels per block, an accumulator per pixel in a zmm register
m4_dnl (AVX-512, 16n output channels, a multiplier dividing 16: the block's
m4_dnl 16 / MULT input channels loaded and each repeated MULT times); the
m4_dnl border pixels, and every pixel otherwise, one by one along contiguous
m4_dnl channels with the accumulator in y.
m4_define([<bz_conv2d_depthwise_forward_kernel>], [<bz_conv2d_depthwise_transpose($@)

/* y [COUT] of output pixel (oh, ow) of sample xn [H][W][CIN] */
static inline void $1_pixel(const float *xn, const float *wt, const float *b, float *acc,
                            int oh, int ow)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, KH = $8, KW = $9, STRIDE = $10, PAD = $11,
           HAS_BIAS = $13, MULT = $5 / $2 };
    #pragma omp simd
    for (int co = 0; co < COUT; co++)
        acc[co] = HAS_BIAS ? b[co] : 0.0f;
    for (int i = 0; i < KH; i++) {
        int ih = oh * STRIDE - PAD + i;
        if (ih < 0 || ih >= H)
            continue;
        for (int j = 0; j < KW; j++) {
            int iw = ow * STRIDE - PAD + j;
            if (iw < 0 || iw >= W)
                continue;
            const float *xp = xn + ((long)ih * W + iw) * CIN;
            const float *wq = wt + (i * KW + j) * COUT;
            #pragma omp simd
            for (int co = 0; co < COUT; co++)
                acc[co] += xp[co / MULT] * wq[co];
        }
    }
}

#if defined(__AVX512F__)
/* r (8 or 4, a constant where inlined) interior output pixels from ow0 on,
 * all channels: y [r][COUT] */
static inline __attribute__((always_inline)) void
$1_interior(const float *xn, const float *wt, const float *b, float *y, int oh, int ow0, int r)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, KH = $8, KW = $9, STRIDE = $10, PAD = $11,
           HAS_BIAS = $13, P = 8, MULT = $5 / $2 };
    const __m512i repeat = _mm512_setr_epi32(0 / MULT, 1 / MULT, 2 / MULT, 3 / MULT, 4 / MULT,
        5 / MULT, 6 / MULT, 7 / MULT, 8 / MULT, 9 / MULT, 10 / MULT, 11 / MULT, 12 / MULT,
        13 / MULT, 14 / MULT, 15 / MULT);
    const __mmask16 inputs = (__mmask16)((1u << (16 / MULT)) - 1);
    for (int c = 0; c < COUT; c += 16) {
        __m512 acc[P];
        #pragma GCC unroll 8
        for (int p = 0; p < P; p++)
            acc[p] = HAS_BIAS ? _mm512_loadu_ps(b + c) : _mm512_setzero_ps();
        for (int i = 0; i < KH; i++) {
            int ih = oh * STRIDE - PAD + i;
            if (ih < 0 || ih >= H)
                continue;
            const float *xr = xn + ((long)ih * W + ow0 * STRIDE - PAD) * CIN + c / MULT;
            for (int j = 0; j < KW; j++) {
                __m512 wv = _mm512_loadu_ps(wt + (i * KW + j) * COUT + c);
                #pragma GCC unroll 8
                for (int p = 0; p < P; p++) {
                    if (p >= r)
                        break;
                    const float *xp = xr + ((long)p * STRIDE + j) * CIN;
                    __m512 xv = MULT == 1 ? _mm512_loadu_ps(xp)
                                          : _mm512_permutexvar_ps(
                                                repeat, _mm512_maskz_loadu_ps(inputs, xp));
                    acc[p] = _mm512_fmadd_ps(xv, wv, acc[p]);
                }
            }
        }
        #pragma GCC unroll 8
        for (int p = 0; p < P; p++) {
            if (p >= r)
                break;
            _mm512_storeu_ps(y + (long)p * COUT + c, acc[p]);
        }
    }
}
#endif

static void $1_forward(const float *x, const float *w, const float *b, float *y,
                       float *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, PAD = $11, MULT = $5 / $2,
           /* the interior: output columns [LO, HI) read columns >= 0 and < W */
           LO = ($11 + $10 - 1) / $10, HI = ($4 - $9 + $11) / $10 + 1,
           VECTOR = 16 % MULT == 0 && COUT % 16 == 0 };
    float wt[KH * KW * COUT];
    (void)workspace;
    $1_transpose(w, wt);
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < HO; oh++) {
            const float *xn = x + (long)n * H * W * CIN;
            float *yrow = y + ((long)n * HO + oh) * WO * COUT;
            int ow = 0;
#if defined(__AVX512F__)
            if (VECTOR) {
                for (; ow < LO && ow < WO; ow++)
                    $1_pixel(xn, wt, b, yrow + (long)ow * COUT, oh, ow);
                for (; ow + 8 <= HI; ow += 8)
                    $1_interior(xn, wt, b, yrow + (long)ow * COUT, oh, ow, 8);
                for (; ow + 4 <= HI; ow += 4)
                    $1_interior(xn, wt, b, yrow + (long)ow * COUT, oh, ow, 4);
            }
#endif
            for (; ow < WO; ow++)
                $1_pixel(xn, wt, b, yrow + (long)ow * COUT, oh, ow);
        }
}>])m4_dnl
m4_dnl The backward splits the batch between the threads: each sweeps its
m4_dnl samples along contiguous channels, writes their dx and sums its own
m4_dnl part of dw [KH * KW][COUT]; the parts are added in thread order, so
m4_dnl the result is fixed for a given thread count.
m4_define([<bz_conv2d_depthwise_backward_kernel>], [<
static void $1_backward_samples(const float *x, const float *wt, const float *dy, float *dx,
                                float *acc, int n0, int n1)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, PAD = $11, MULT = $5 / $2 };
    for (int n = n0; n < n1; n++)
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++) {
                const float *g = dy + (((long)n * HO + oh) * WO + ow) * COUT;
                for (int i = 0; i < KH; i++) {
                    int ih = oh * STRIDE - PAD + i;
                    if (ih < 0 || ih >= H)
                        continue;
                    for (int j = 0; j < KW; j++) {
                        int iw = ow * STRIDE - PAD + j;
                        if (iw < 0 || iw >= W)
                            continue;
                        long q = (((long)n * H + ih) * W + iw) * CIN;
                        const float *wq = wt + (i * KW + j) * COUT;
                        float *a = acc + (i * KW + j) * COUT;
                        /* input channel ci feeds outputs ci MULT ... ci MULT + MULT - 1 */
                        #pragma omp simd
                        for (int ci = 0; ci < CIN; ci++)
                            #pragma GCC unroll 16
                            for (int m = 0; m < MULT; m++)
                                a[ci * MULT + m] += g[ci * MULT + m] * x[q + ci];
                        if (dx) {
                            #pragma omp simd
                            for (int ci = 0; ci < CIN; ci++) {
                                float sum = 0.0f;
                                #pragma GCC unroll 16
                                for (int m = 0; m < MULT; m++)
                                    sum += g[ci * MULT + m] * wq[ci * MULT + m];
                                dx[q + ci] += sum;
                            }
                        }
                    }
                }
            }
}

static void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                        int accumulate_dx, float *dw, float *db, float *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KHW = $8 * $9,
           HAS_BIAS = $13 };
    long M = (long)batch * HO * WO;
    float wt[KHW * COUT];
    (void)workspace;
    $1_transpose(w, wt);
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(float) * (size_t)batch * H * W * CIN);
    int threads = omp_get_max_threads();
    float *parts = calloc((size_t)threads * KHW * COUT, sizeof(float));
    if (!parts)
        abort();
    #pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        $1_backward_samples(x, wt, dy, dx, parts + (long)t * KHW * COUT,
                            (int)((long)batch * t / nt), (int)((long)batch * (t + 1) / nt));
    }
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KHW; k++) {
            float sum = 0.0f;
            for (int t = 0; t < threads; t++)
                sum += parts[((long)t * KHW + k) * COUT + co];
            dw[(long)co * KHW + k] = sum;
        }
    free(parts);bz_conv2d_bias_gradient
}>])m4_dnl
