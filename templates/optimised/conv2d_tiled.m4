m4_dnl Register-tiled direct convolution (dense, COUT a multiple of 16): the
m4_dnl forward of bzgen's "tiled" algorithm.  Needs AVX-512; without it the
m4_dnl im2col + GEMM forward stands in.  The backward is im2col's.
m4_dnl
m4_dnl Workspace: packed weights wp [COUT / CB][KH][KW][CIN][CB], CB = 16 * NV
m4_dnl output channels per block, then a zero-padded copy of up to PCHUNK
m4_dnl samples, xp [PCHUNK][HP][WP][CIN].  A tile is R output pixels of one
m4_dnl row times CB channels: R * NV accumulators in zmm registers, and per
m4_dnl input channel NV weight loads and R broadcasts for R * NV FMAs.
m4_define([<bz_conv2d_tiled_forward_kernel>], [<
#if defined(__AVX512F__)
enum { $1_CB_VECTORS = ($5 / 16) % 4 == 0 ? 4 : ($5 / 16) % 3 == 0 ? 3 : ($5 / 16) % 2 == 0 ? 2 : 1 };

static void $1_pack_weights(const float *w, float *wp)
{
    enum { CIN = $2, COUT = $5, KHW = $8 * $9, CB = 16 * $1_CB_VECTORS };
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KHW; k++)
            for (int ci = 0; ci < CIN; ci++)
                wp[(((long)(co / CB) * KHW + k) * CIN + ci) * CB + co % CB] =
                    w[((long)co * KHW + k) * CIN + ci];
}

static void $1_pad_input(const float *x, float *xp, int samples)
{
    enum { CIN = $2, H = $3, W = $4, PAD = $11, HP = $3 + 2 * $11, WP = $4 + 2 * $11 };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int h = 0; h < HP; h++) {
            float *dst = xp + ((long)n * HP + h) * WP * CIN;
            int ih = h - PAD;
            if (ih < 0 || ih >= H) {
                memset(dst, 0, sizeof(float) * WP * CIN);
                continue;
            }
            memset(dst, 0, sizeof(float) * PAD * CIN);
            memcpy(dst + PAD * CIN, x + ((long)n * H + ih) * W * CIN, sizeof(float) * W * CIN);
            memset(dst + (PAD + W) * CIN, 0, sizeof(float) * PAD * CIN);
        }
}

/* r (<= R, a constant where inlined) output pixels from xrow, the padded
 * input at the first pixel's window corner; one block of CB channels. */
static inline __attribute__((always_inline)) void
$1_tile(const float *xrow, const float *wblock, const float *bias, float *y, int r)
{
    enum { CIN = $2, COUT = $5, KH = $8, KW = $9, STRIDE = $10, WP = $4 + 2 * $11,
           HAS_BIAS = $13, NV = $1_CB_VECTORS, CB = 16 * NV, R = 24 / NV };
    __m512 acc[R][NV];
    #pragma GCC unroll 24
    for (int p = 0; p < R; p++)
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[p][v] = HAS_BIAS ? _mm512_loadu_ps(bias + 16 * v) : _mm512_setzero_ps();
    for (int i = 0; i < KH; i++)
        for (int j = 0; j < KW; j++) {
            const float *xq = xrow + ((long)i * WP + j) * CIN;
            const float *wq = wblock + (long)(i * KW + j) * CIN * CB;
            for (int ci = 0; ci < CIN; ci++) {
                __m512 wv[NV];
                #pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    wv[v] = _mm512_loadu_ps(wq + (long)ci * CB + 16 * v);
                #pragma GCC unroll 24
                for (int p = 0; p < R; p++) {
                    if (p >= r)
                        break;
                    __m512 xv = _mm512_set1_ps(xq[(long)p * STRIDE * CIN + ci]);
                    #pragma GCC unroll 4
                    for (int v = 0; v < NV; v++)
                        acc[p][v] = _mm512_fmadd_ps(xv, wv[v], acc[p][v]);
                }
            }
        }
    #pragma GCC unroll 24
    for (int p = 0; p < R; p++) {
        if (p >= r)
            break;
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            _mm512_storeu_ps(y + (long)p * COUT + 16 * v, acc[p][v]);
    }
}

static void $1_forward(const float *x, const float *w, const float *b, float *y,
                       float *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, HP = $3 + 2 * $11, WP = $4 + 2 * $11, HAS_BIAS = $13,
           NV = $1_CB_VECTORS, CB = 16 * NV, R = 24 / NV, BLOCKS = COUT / CB };
    enum { WEIGHTS = KH * KW * CIN * COUT, PADDED = HP * WP * CIN,
           PCHUNK = ($14 * HO * WO * KH * KW * CIN - WEIGHTS) / PADDED };
    _Static_assert(COUT % CB == 0 && PCHUNK >= 1, "tiled conv: workspace or width");
    float *wp = workspace, *xp = workspace + WEIGHTS;
    $1_pack_weights(w, wp);
    for (int n0 = 0; n0 < batch; n0 += PCHUNK) {
        int samples = batch - n0 < PCHUNK ? batch - n0 : PCHUNK;
        $1_pad_input(x + (long)n0 * H * W * CIN, xp, samples);
        #pragma omp parallel for collapse(3) schedule(static)
        for (int n = 0; n < samples; n++)
            for (int oh = 0; oh < HO; oh++)
                for (int blk = 0; blk < BLOCKS; blk++) {
                    const float *xrow = xp + ((long)n * HP + oh * STRIDE) * WP * CIN;
                    const float *wblock = wp + (long)blk * KH * KW * CIN * CB;
                    const float *bias = HAS_BIAS ? b + blk * CB : NULL;
                    float *yrow = y + (((long)(n0 + n) * HO + oh) * WO) * COUT + blk * CB;
                    int ow = 0;
                    for (; ow + R <= WO; ow += R)
                        $1_tile(xrow + (long)ow * STRIDE * CIN, wblock, bias,
                                yrow + (long)ow * COUT, R);
                    if (ow < WO)
                        $1_tile(xrow + (long)ow * STRIDE * CIN, wblock, bias,
                                yrow + (long)ow * COUT, WO - ow);
                }
    }
}
#else
bz_conv2d_im2col_forward_kernel($@)
#endif>])m4_dnl
m4_define([<bz_conv2d_tiled_backward_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_im2col_helper($@)
#endif
bz_conv2d_im2col_backward_kernel($@)>])m4_dnl
