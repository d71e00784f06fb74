m4_dnl Winograd F(2x2, 3x3) for dense 3x3 stride-1 pad-1 convs with 16n
m4_dnl input and output channels, bzgen's "winograd" algorithm; needs
m4_dnl AVX-512 (without it the im2col + GEMM kernels stand in).
m4_dnl
m4_dnl The output is cut into 2x2 tiles, each read through the 4x4 input
m4_dnl window around it.  Per tile and channel, V = B^T d B (16 values);
m4_dnl per position p of the 4x4, the tiles times the channels make a 1x1
m4_dnl conv M[p] = V[p] U[p] with U = G g G^T per (cin, cout) pair, which
m4_dnl the register-tiled pointwise core (conv2d_tiled.m4) runs; then
m4_dnl Y = A^T M A.  16 products of CIN x COUT per 4 outputs instead of 36:
m4_dnl 2.25x fewer multiplies.  The backward reuses it: dx is the same conv
m4_dnl of dy with the flipped, transposed kernel; dw = G^T dU G with
m4_dnl dU[p] = sum over tiles of V[p]^T (A dy A^T)[p], the pointwise
m4_dnl weight-gradient sum (a chunk's tiles swept as the rows of one sample).
m4_dnl
m4_dnl Layouts: activations NHWC; transformed buffers [16][tiles][channels]
m4_dnl for the tiles of the samples of one chunk, tile t = (n, th, tw) in
m4_dnl row-major order; packed kernels [16][channels out / CB][channels in][CB].
m4_dnl
m4_dnl bz_winograd_input_transform(prefix, channels, h, w):
m4_dnl prefix_input_transform(x, v, samples), x [samples][h][w][C], v = B^T d B.
m4_define([<bz_winograd_input_transform>], [<
static void $1_input_transform(const float *x, float *v, int samples)
{
    enum { C = $2, H = $3, W = $4, TH = (H + 1) / 2, TW = (W + 1) / 2, TILES = TH * TW };
    static const float zero[C];
    long plane = (long)samples * TILES * C;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int th = 0; th < TH; th++)
            for (int tw = 0; tw < TW; tw++) {
                const float *d[4][4];  /* the window's pixels, zero outside */
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        int ih = 2 * th - 1 + i, iw = 2 * tw - 1 + j;
                        d[i][j] = ih < 0 || ih >= H || iw < 0 || iw >= W
                                      ? zero : x + (((long)n * H + ih) * W + iw) * C;
                    }
                float *vt = v + ((long)n * TILES + th * TW + tw) * C;
                for (int c = 0; c < C; c += 16) {
                    __m512 t[4][4];  /* B^T d */
                    #pragma GCC unroll 4
                    for (int j = 0; j < 4; j++) {
                        __m512 d0 = _mm512_loadu_ps(d[0][j] + c), d1 = _mm512_loadu_ps(d[1][j] + c);
                        __m512 d2 = _mm512_loadu_ps(d[2][j] + c), d3 = _mm512_loadu_ps(d[3][j] + c);
                        t[0][j] = _mm512_sub_ps(d0, d2);
                        t[1][j] = _mm512_add_ps(d1, d2);
                        t[2][j] = _mm512_sub_ps(d2, d1);
                        t[3][j] = _mm512_sub_ps(d1, d3);
                    }
                    #pragma GCC unroll 4
                    for (int i = 0; i < 4; i++) {
                        float *row = vt + 4 * i * plane + c;
                        _mm512_storeu_ps(row, _mm512_sub_ps(t[i][0], t[i][2]));
                        _mm512_storeu_ps(row + plane, _mm512_add_ps(t[i][1], t[i][2]));
                        _mm512_storeu_ps(row + 2 * plane, _mm512_sub_ps(t[i][2], t[i][1]));
                        _mm512_storeu_ps(row + 3 * plane, _mm512_sub_ps(t[i][1], t[i][3]));
                    }
                }
            }
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_output_transform(prefix, channels, h, w, bias):
m4_dnl prefix_output_transform(m, b, y, samples, accumulate, stream): y
m4_dnl [samples][h][w][C] (+)= A^T m A (+ b), the parts of edge tiles outside
m4_dnl y dropped; stream: with streaming stores (an output larger than the L3).
m4_define([<bz_winograd_output_transform>], [<
static void $1_output_transform(const float *m, const float *b, float *y, int samples,
                                int accumulate, int stream)
{
    enum { C = $2, H = $3, W = $4, TH = (H + 1) / 2, TW = (W + 1) / 2, TILES = TH * TW,
           HAS_BIAS = $5 };
    long plane = (long)samples * TILES * C;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int th = 0; th < TH; th++) {
            for (int tw = 0; tw < TW; tw++) {
                const float *mt = m + ((long)n * TILES + th * TW + tw) * C;
                int rows = H - 2 * th < 2 ? 1 : 2, cols = W - 2 * tw < 2 ? 1 : 2;
                for (int c = 0; c < C; c += 16) {
                    __m512 s[2][4];  /* A^T m */
                    #pragma GCC unroll 4
                    for (int j = 0; j < 4; j++) {
                        __m512 m0 = _mm512_loadu_ps(mt + j * plane + c);
                        __m512 m1 = _mm512_loadu_ps(mt + (4 + j) * plane + c);
                        __m512 m2 = _mm512_loadu_ps(mt + (8 + j) * plane + c);
                        __m512 m3 = _mm512_loadu_ps(mt + (12 + j) * plane + c);
                        s[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                        s[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
                    }
                    __m512 bias = HAS_BIAS ? _mm512_loadu_ps(b + c) : _mm512_setzero_ps();
                    for (int a = 0; a < rows; a++) {
                        __m512 out[2] = {
                            _mm512_add_ps(_mm512_add_ps(s[a][0], s[a][1]), s[a][2]),
                            _mm512_sub_ps(_mm512_sub_ps(s[a][1], s[a][2]), s[a][3])};
                        for (int e = 0; e < cols; e++) {
                            float *yp = y + (((long)n * H + 2 * th + a) * W + 2 * tw + e) * C + c;
                            __m512 r = _mm512_add_ps(out[e], bias);
                            if (accumulate)
                                r = _mm512_add_ps(_mm512_loadu_ps(yp), r);
                            if (stream)
                                _mm512_stream_ps(yp, r);
                            else
                                _mm512_storeu_ps(yp, r);
                        }
                    }
                }
            }
            if (stream)
                _mm_sfence();  /* this thread's stores, before the closing barrier */
        }
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_gradient_transform(prefix, channels, h, w):
m4_dnl prefix_gradient_transform(dy, g, samples): g = A dy A^T per tile, the
m4_dnl output gradient carried back to the 16 positions (zero outside dy).
m4_define([<bz_winograd_gradient_transform>], [<
static void $1_gradient_transform(const float *dy, float *g, int samples)
{
    enum { C = $2, H = $3, W = $4, TH = (H + 1) / 2, TW = (W + 1) / 2, TILES = TH * TW };
    long plane = (long)samples * TILES * C;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int th = 0; th < TH; th++)
            for (int tw = 0; tw < TW; tw++) {
                float *gt = g + ((long)n * TILES + th * TW + tw) * C;
                int rows = H - 2 * th < 2 ? 1 : 2, cols = W - 2 * tw < 2 ? 1 : 2;
                const float *yp = dy + (((long)n * H + 2 * th) * W + 2 * tw) * C;
                for (int c = 0; c < C; c += 16) {
                    __m512 e[2][2];
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++)
                            e[a][b] = a < rows && b < cols
                                          ? _mm512_loadu_ps(yp + ((long)a * W + b) * C + c)
                                          : _mm512_setzero_ps();
                    __m512 r[4][2];  /* A dy */
                    #pragma GCC unroll 2
                    for (int b = 0; b < 2; b++) {
                        r[0][b] = e[0][b];
                        r[1][b] = _mm512_add_ps(e[0][b], e[1][b]);
                        r[2][b] = _mm512_sub_ps(e[0][b], e[1][b]);
                        r[3][b] = _mm512_sub_ps(_mm512_setzero_ps(), e[1][b]);
                    }
                    #pragma GCC unroll 4
                    for (int i = 0; i < 4; i++) {
                        float *row = gt + 4 * i * plane + c;
                        _mm512_storeu_ps(row, r[i][0]);
                        _mm512_storeu_ps(row + plane, _mm512_add_ps(r[i][0], r[i][1]));
                        _mm512_storeu_ps(row + 2 * plane, _mm512_sub_ps(r[i][0], r[i][1]));
                        _mm512_storeu_ps(row + 3 * plane, _mm512_sub_ps(_mm512_setzero_ps(), r[i][1]));
                    }
                }
            }
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_sizes(prefix, the kernel arguments): the workspace (the
m4_dnl $15 floats bzgen reserved) holds two packed kernels (U and, in the
m4_dnl backward, U' or dU) and, per sample of a chunk of SAMPLES, the
m4_dnl transformed input and the transformed output.
m4_define([<bz_winograd_sizes>], [<
enum { $1_TILES = (($6 + 1) / 2) * (($7 + 1) / 2), $1_KERNEL = 16 * $2 * $5,
       $1_PER_SAMPLE = 16 * $1_TILES * ($2 + $5),
       $1_SAMPLES = ($15 - 2 * $1_KERNEL) / $1_PER_SAMPLE };>])m4_dnl
m4_dnl
m4_dnl The forward: name_pack_weights(w, u) transforms and packs the kernel;
m4_dnl name_run(x, u, b, y, buffer, batch) runs on it, chunk by chunk.
m4_define([<bz_conv2d_winograd_forward_body>], [<bz_winograd_sizes($@)
bz_conv2d_tiled_core([<$1_wf>], $2, $1_TILES, 1, $5, $1_TILES, 1, 1, 1, 1, 0, 0, $1_KERNEL)
bz_winograd_input_transform([<$1_wf>], $2, $3, $4)
bz_winograd_output_transform([<$1_wf>], $5, $6, $7, $13)

/* w [COUT][3][3][CIN] (OHWI) -> u [16][COUT / CB][CIN][CB] */
static void $1_pack_weights(const float *w, float *u)
{
    enum { CIN = $2, COUT = $5, CB = $1_wf_CB };
    #pragma omp parallel for schedule(static)
    for (int co = 0; co < COUT; co++)
        for (int ci = 0; ci < CIN; ci++) {
            float g[9], t[16];
            for (int k = 0; k < 9; k++)
                g[k] = w[((long)co * 9 + k) * CIN + ci];
            bz_winograd_kernel_transform(g, t);
            for (int p = 0; p < 16; p++)
                u[(long)p * CIN * COUT + ((long)(co / CB) * CIN + ci) * CB + co % CB] = t[p];
        }
}

static void $1_run(const float *x, const float *u, const float *b, float *y, float *buffer,
                   int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, TILES = $1_TILES, SAMPLES = $1_SAMPLES };
    _Static_assert($1_SAMPLES >= 1 && $1_wf_USABLE, "winograd conv: workspace too small");
    for (int n0 = 0; n0 < batch; n0 += SAMPLES) {
        int samples = batch - n0 < SAMPLES ? batch - n0 : SAMPLES;
        long tiles = (long)samples * TILES;
        float *v = buffer, *m = buffer + 16 * tiles * CIN;
        $1_wf_input_transform(x + (long)n0 * H * W * CIN, v, samples);
        for (int p = 0; p < 16; p++)
            $1_wf_run(v + p * tiles * CIN, u + (long)p * CIN * COUT, NULL, m + p * tiles * COUT,
                      NULL, samples, 0);
        $1_wf_output_transform(m, b, y + (long)n0 * H * W * COUT, samples, 0,
                               (long)batch * H * W * COUT > BZ_STREAM_FLOATS);
    }
}

/* unused where only the deploy graph calls this conv (forward_packed) */
static __attribute__((unused)) void $1_forward(const float *x, const float *w, const float *b,
                                               float *y, float *workspace, int batch)
{
    $1_pack_weights(w, workspace);
    $1_run(x, workspace, b, y, workspace + 2 * $1_KERNEL, batch);
}>])m4_dnl
m4_dnl
m4_dnl The backward, chunk by chunk: V = B^T x B and G = A dy A^T feed the
m4_dnl pointwise weight-gradient sums dU[p] [CIN][COUT]; then B^T dy B
m4_dnl (over G) times U' (the flipped, transposed kernel) gives dx's
m4_dnl transform (over V).  dw = G^T dU G at the end.
m4_define([<bz_conv2d_winograd_backward_body>], [<bz_winograd_sizes([<$1_bw>], m4_shift($@))
bz_tiled_register_block([<$1_ww_wg>], $5)
bz_conv2d_tiled_wgrad_sum([<$1_ww>], $2, $1_bw_SAMPLES * $1_bw_TILES, 1, $5,
                          $1_bw_SAMPLES * $1_bw_TILES, 1, 1, 1, 1, 0, 0, 0, 0)
bz_conv2d_tiled_core([<$1_wd>], $5, $1_bw_TILES, 1, $2, $1_bw_TILES, 1, 1, 1, 1, 0, 0, $1_bw_KERNEL)
bz_winograd_input_transform([<$1_wx>], $2, $3, $4)
bz_winograd_gradient_transform([<$1_wy>], $5, $6, $7)
bz_winograd_input_transform([<$1_wd>], $5, $6, $7)
bz_winograd_output_transform([<$1_wd>], $2, $3, $4, 0)

/* the input gradient's kernel: w'[ci][i][j][co] = w[co][2 - i][2 - j][ci],
 * transformed and packed u' [16][CIN / CB][COUT][CB] */
static void $1_pack_flipped(const float *w, float *u)
{
    enum { CIN = $2, COUT = $5, CB = $1_wd_CB };
    #pragma omp parallel for schedule(static)
    for (int ci = 0; ci < CIN; ci++)
        for (int co = 0; co < COUT; co++) {
            float g[9], t[16];
            for (int k = 0; k < 9; k++)
                g[k] = w[((long)co * 9 + 8 - k) * CIN + ci];
            bz_winograd_kernel_transform(g, t);
            for (int p = 0; p < 16; p++)
                u[(long)p * CIN * COUT + ((long)(ci / CB) * COUT + co) * CB + ci % CB] = t[p];
        }
}

/* du [16][CIN][COUT] -> dw [COUT][3][3][CIN] */
static void $1_unpack_gradient(const float *du, float *dw)
{
    enum { CIN = $2, COUT = $5 };
    #pragma omp parallel for schedule(static)
    for (int co = 0; co < COUT; co++)
        for (int ci = 0; ci < CIN; ci++) {
            float t[16], g[9];
            for (int p = 0; p < 16; p++)
                t[p] = du[((long)p * CIN + ci) * COUT + co];
            bz_winograd_kernel_gradient(t, g);
            for (int k = 0; k < 9; k++)
                dw[((long)co * 9 + k) * CIN + ci] = g[k];
        }
}

static void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                        int accumulate_dx, float *dw, float *db, float *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, HAS_BIAS = $13,
           TILES = $1_bw_TILES, SAMPLES = $1_bw_SAMPLES };
    _Static_assert($1_bw_SAMPLES >= 1 && $1_wd_USABLE, "winograd conv: workspace too small");
    long M = (long)batch * HO * WO;
    float *du = workspace, *uflip = workspace + $1_bw_KERNEL, *buffer = workspace + 2 * $1_bw_KERNEL;
    if (dx)
        $1_pack_flipped(w, uflip);
    for (int n0 = 0; n0 < batch; n0 += SAMPLES) {
        int samples = batch - n0 < SAMPLES ? batch - n0 : SAMPLES;
        long tiles = (long)samples * TILES;
        float *v = buffer, *g = buffer + 16 * tiles * CIN;
        const float *dyc = dy + (long)n0 * HO * WO * COUT;
        $1_wx_input_transform(x + (long)n0 * H * W * CIN, v, samples);
        $1_wy_gradient_transform(dyc, g, samples);
        for (int p = 0; p < 16; p++)
            $1_ww_wgrad_sum(v + p * tiles * CIN, g + p * tiles * COUT, du + (long)p * CIN * COUT,
                            NULL, 1, (int)tiles, n0 > 0);
        if (!dx)
            continue;
        $1_wd_input_transform(dyc, g, samples);
        for (int p = 0; p < 16; p++)
            $1_wd_run(g + p * tiles * COUT, uflip + (long)p * CIN * COUT, NULL, v + p * tiles * CIN,
                      NULL, samples, 0);
        $1_wd_output_transform(v, NULL, dx + (long)n0 * H * W * CIN, samples, accumulate_dx,
                               (long)batch * H * W * CIN > BZ_STREAM_FLOATS);
    }
    $1_unpack_gradient(du, dw);bz_conv2d_bias_gradient
}>])m4_dnl
m4_dnl
m4_dnl Deploy convs are transformed and packed once, by deploy_fold, in place
m4_dnl in the deploy arena (bzgen reserves the 16 / 9 larger kernel there).
m4_define([<bz_conv2d_winograd_deploy_body>], [<
static void $1_prepack(float *w, float *workspace)
{
    $1_pack_weights(w, workspace);
    memcpy(w, workspace, sizeof(float) * $1_KERNEL);
}

static void $1_forward_packed(const float *x, const float *u, const float *b, float *y,
                              float *workspace, int batch)
{
    $1_run(x, u, b, y, workspace + 2 * $1_KERNEL, batch);
}>])m4_dnl
m4_dnl
m4_define([<bz_conv2d_winograd_forward_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_winograd_forward_body($@)
#else
bz_conv2d_im2col_forward_kernel($@)
#endif>])m4_dnl
m4_define([<bz_conv2d_winograd_backward_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_winograd_backward_body($@)
#else
bz_conv2d_im2col_backward_kernel($@)
#endif>])m4_dnl
m4_define([<bz_conv2d_winograd_deploy_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_winograd_deploy_body($@)
#else
bz_conv2d_unpacked_deploy_kernel($@)
#endif>])m4_dnl
