m4_dnl Register-tiled direct convolution (dense, 16n output channels),
m4_dnl bzgen's "tiled" algorithm.  Needs AVX-512; without it the im2col +
m4_dnl GEMM kernels stand in.  The forward runs it on the weights; the
m4_dnl input gradient of a stride-1 conv with 16n input channels runs it on
m4_dnl dy with the weights flipped and transposed (a full correlation); the
m4_dnl weight gradient is a tiled reduction over the pixels.
m4_dnl
m4_dnl bz_tiled_register_block(prefix, cout): the tile shape for cout output
m4_dnl channels: NV vectors of 16 (the largest of 4, 3, 2, 1 dividing
m4_dnl cout / 16), CB = 16 NV channels, R = 24 / NV pixels: 24 accumulators.
m4_define([<bz_tiled_register_block>], [<enum { $1_NV = ($2 / 16) % 4 == 0 ? 4 : ($2 / 16) % 3 == 0 ? 3 : ($2 / 16) % 2 == 0 ? 2 : 1,
       $1_CB = 16 * $1_NV, $1_R = 24 / $1_NV };>])m4_dnl
m4_dnl bz_conv2d_pad_rows_helper(prefix, cin, h, w, pad): prefix_pad_rows
m4_dnl copies samples of x [B][h][w][cin] into xp [B][h + 2 pad][w + 2 pad][cin],
m4_dnl the border zero, shared among the threads of the enclosing parallel
m4_dnl region (an orphaned `omp for`, ending in its barrier); prefix_pad_sample
m4_dnl copies one sample in the calling thread.
m4_dnl bz_conv2d_pad_helper(the same): also prefix_padded, which returns the
m4_dnl padded samples: that copy in `buffer`, or x itself where pad is 0.
m4_define([<bz_conv2d_pad_rows_helper>], [<
/* padded row h of a sample, from the sample's x */
static inline void $1_pad_row(const float *x, float *xp, int h)
{
    enum { CIN = $2, H = $3, W = $4, PAD = $5, WP = $4 + 2 * ($5) };
    float *dst = xp + (long)h * WP * CIN;
    int ih = h - PAD;
    if (ih < 0 || ih >= H) {
        memset(dst, 0, sizeof(float) * WP * CIN);
        return;
    }
    memset(dst, 0, sizeof(float) * PAD * CIN);
    memcpy(dst + PAD * CIN, x + (long)ih * W * CIN, sizeof(float) * W * CIN);
    memset(dst + (PAD + W) * CIN, 0, sizeof(float) * PAD * CIN);
}

static void $1_pad_rows(const float *x, float *xp, int samples)
{
    enum { CIN = $2, H = $3, W = $4, HP = $3 + 2 * ($5), WP = $4 + 2 * ($5) };
    #pragma omp for collapse(2) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int h = 0; h < HP; h++)
            $1_pad_row(x + (long)n * H * W * CIN, xp + (long)n * HP * WP * CIN, h);
}

static __attribute__((unused)) void $1_pad_sample(const float *x, float *xp)
{
    for (int h = 0; h < $3 + 2 * ($5); h++)
        $1_pad_row(x, xp, h);
}>])m4_dnl
m4_define([<bz_conv2d_pad_helper>], [<bz_conv2d_pad_rows_helper($@)

static const float *$1_padded(const float *x, float *buffer, int samples)
{
    if ($5 == 0)
        return x;
    #pragma omp parallel
    $1_pad_rows(x, buffer, samples);
    return buffer;
}>])m4_dnl
m4_dnl bz_conv2d_tiled_core(prefix, cin, h, w, cout, ho, wo, kh, kw, stride,
m4_dnl                      pad, bias, workspace floats, act): prefix_run(x,
m4_dnl wp, b, y, buffer, batch, accumulate) computes y = act(conv(x) + b
m4_dnl (+ y with accumulate: a deploy step's residual, or an input
m4_dnl gradient's sum; act a bz_activation.h constant)) from packed
m4_dnl weights wp [COUT / CB][KH][KW][CIN][CB], CB = 16 * NV channels per
m4_dnl block, through a zero-padded copy xp [PCHUNK][HP][WP][CIN] of up to
m4_dnl PCHUNK samples in `buffer`.  A tile is R consecutive output pixels
m4_dnl (rows may wrap) times CB channels: R * NV accumulators in zmm registers; per input
m4_dnl channel, NV weight loads and R broadcasts feed R * NV FMAs.
m4_dnl Without padding, x is its own padded copy and `buffer` is unused.
m4_dnl prefix_USABLE says whether the shapes and the workspace allow it.
m4_dnl bz_conv2d_tiled_tile(the same arguments): the register block, the
m4_dnl sizes and prefix_tile alone, for callers with loops of their own
m4_dnl (the strided input gradient: kh x kw taps of its own, its outputs
m4_dnl at yoff[p] instead of consecutive pixels).
m4_define([<bz_conv2d_tiled_tile>], [<
bz_tiled_register_block([<$1>], $5)
enum { $1_HP = $3 + 2 * ($11), $1_WP = $4 + 2 * ($11),
       $1_WEIGHTS = $8 * $9 * $2 * $5, $1_PADDED = $1_HP * $1_WP * $2,
       $1_PCHUNK = ($13 - $1_WEIGHTS) / $1_PADDED,
       $1_USABLE = $5 % 16 == 0 && ($11 ? $1_PCHUNK >= 1 : $13 >= $1_WEIGHTS) };

/* r (<= R, a constant where inlined) output pixels: pixel p's window
 * corner is xsample + off[p] in the padded sample, its output (one block
 * of CB channels) y + yoff[p], or y + p * COUT without yoff (consecutive
 * pixels, which may span rows); the window is kh x kw taps (<= KH x KW)
 * of wblock [kh][kw][CIN][CB].  The ahead_lines cache lines from ahead
 * on (weights a later task reads from memory) are prefetched two per
 * input channel, where the FMAs hide them. */
static inline __attribute__((always_inline)) void
$1_tile(const float *xsample, const long *off, const float *wblock, const float *bias,
        float *y, const long *yoff, int r, int kh, int kw, int accumulate, int stream,
        const float *ahead, int ahead_lines)
{
    enum { CIN = $2, COUT = $5, KH = $8, KW = $9, STRIDE = $10, WP = $1_WP, HAS_BIAS = $12,
           ACT = $14, NV = $1_NV, CB = $1_CB, R = $1_R };
    __m512 acc[R][NV];
    float *yp[R];
    #pragma GCC unroll 24
    for (int p = 0; p < R; p++)
        yp[p] = y + (yoff ? yoff[p] : (long)p * COUT);
    #pragma GCC unroll 24
    for (int p = 0; p < R; p++)
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            __m512 start = HAS_BIAS ? _mm512_loadu_ps(bias + 16 * v) : _mm512_setzero_ps();
            __m512 held = accumulate && p < r ? _mm512_loadu_ps(yp[p] + 16 * v) : start;
            acc[p][v] = accumulate && p < r && HAS_BIAS ? _mm512_add_ps(held, start) : held;
        }
    for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) {
            const float *xq = xsample + ((long)i * WP + j) * CIN;
            const float *wq = wblock + (long)(i * kw + j) * CIN * CB;
            for (int ci = 0; ci < CIN; ci++) {
                long step = (long)(i * kw + j) * CIN + ci;
                if (2 * step < ahead_lines) {
                    _mm_prefetch((const char *)ahead + 128 * step, _MM_HINT_T0);
                    _mm_prefetch((const char *)ahead + 128 * step + 64, _MM_HINT_T0);
                }
                __m512 wv[NV];
                #pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    wv[v] = _mm512_loadu_ps(wq + (long)ci * CB + 16 * v);
                #pragma GCC unroll 24
                for (int p = 0; p < R; p++) {
                    if (p >= r)
                        break;
                    __m512 xv = _mm512_set1_ps(xq[off[p] + ci]);
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
        for (int v = 0; v < NV; v++) {
            acc[p][v] = bz_activate16(ACT, acc[p][v]);
            if (stream)
                _mm512_stream_ps(yp[p] + 16 * v, acc[p][v]);
            else
                _mm512_storeu_ps(yp[p] + 16 * v, acc[p][v]);
        }
    }
    if (stream)
        _mm_sfence();  /* visible before the region's closing barrier */
}>])m4_dnl
m4_define([<bz_conv2d_tiled_core>], [<bz_conv2d_tiled_tile($@)

bz_conv2d_pad_helper([<$1>], $2, $3, $4, $11)

/* tile t of output block blk of one sample: xsample padded, ysample its
 * output */
static inline __attribute__((always_inline)) void
$1_tile_at(const float *xsample, const float *wp, const float *b, float *ysample, int blk, int t,
           int accumulate, int stream)
{
    enum { CIN = $2, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9, STRIDE = $10, WP = $1_WP,
           HAS_BIAS = $12, CB = $1_CB, R = $1_R };
    int q0 = t * R, r = HO * WO - q0 < R ? HO * WO - q0 : R;
    long off[R];
    for (int p = 0; p < R; p++) {
        int q = q0 + (p < r ? p : 0);
        off[p] = ((long)(q / WO) * STRIDE * WP + (long)(q % WO) * STRIDE) * CIN;
    }
    const float *wblock = wp + (long)blk * KH * KW * CIN * CB;
    const float *bias = HAS_BIAS ? b + blk * CB : NULL;
    float *yt = ysample + (long)q0 * COUT + blk * CB;
    if (r == R)
        $1_tile(xsample, off, wblock, bias, yt, NULL, R, KH, KW, accumulate, stream, NULL, 0);
    else
        $1_tile(xsample, off, wblock, bias, yt, NULL, r, KH, KW, accumulate, stream, NULL, 0);
}

static void $1_run(const float *x, const float *wp, const float *b, float *y, float *buffer,
                   int batch, int accumulate)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, PAD = $11,
           PADDED = $1_PADDED, CB = $1_CB, R = $1_R, BLOCKS = COUT / CB,
           TILES = (HO * WO + R - 1) / R, PCHUNK = $1_PCHUNK < 1 ? 1 : $1_PCHUNK };
    /* an output larger than the L3 is written around the caches (it will
     * be read back from memory anyway), saving the line fills of its
     * stores; the streaming stores need 64-byte aligned rows */
    int stream = COUT % 16 == 0 && (long)batch * HO * WO * COUT > BZ_STREAM_FLOATS;
    if (bz_sample_per_thread(PAD, batch, PCHUNK, omp_get_max_threads())) {
        /* a sample per task: its thread pads it into a slot of its own,
         * where it stays in L2 while all the sample's tiles read it */
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < batch; n++) {
            float *xp = buffer + (long)omp_get_thread_num() * PADDED;
            $1_pad_sample(x + (long)n * H * W * CIN, xp);
            for (int blk = 0; blk < BLOCKS; blk++)
                for (int t = 0; t < TILES; t++)
                    $1_tile_at(xp, wp, b, y + (long)n * HO * WO * COUT, blk, t, accumulate,
                               stream);
        }
        return;
    }
    int chunk = PAD ? PCHUNK : batch;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        int samples = batch - n0 < chunk ? batch - n0 : chunk;
        const float *xp = $1_padded(x + (long)n0 * H * W * CIN, buffer, samples);
        #pragma omp parallel for collapse(3) schedule(static)
        for (int n = 0; n < samples; n++)
            for (int blk = 0; blk < BLOCKS; blk++)  /* a thread's tasks share a block */
                for (int t = 0; t < TILES; t++)
                    $1_tile_at(xp + (long)n * PADDED, wp, b,
                               y + (long)(n0 + n) * HO * WO * COUT, blk, t, accumulate, stream);
    }
}>])m4_dnl
m4_dnl
m4_dnl The forward: the workspace is the one bzgen sized ($15 floats, chunk
m4_dnl samples of im2col rows), which it checked also holds the packed
m4_dnl weights and one padded sample.
m4_define([<bz_conv2d_tiled_forward_body>], [<
bz_conv2d_tiled_core([<$1_fwd>], $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13,
                     $15, $19)

/* w [COUT][KH][KW][CIN] (OHWI) -> [COUT / CB][KH][KW][CIN][CB] */
static void $1_pack_weights(const float *w, float *wp)
{
    enum { CIN = $2, COUT = $5, KHW = $8 * $9, CB = $1_fwd_CB };
    #pragma omp parallel for schedule(static)
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KHW; k++)
            for (int ci = 0; ci < CIN; ci++)
                wp[(((long)(co / CB) * KHW + k) * CIN + ci) * CB + co % CB] =
                    w[((long)co * KHW + k) * CIN + ci];
}

/* unused where only the deploy graph calls this conv (forward_packed) */
bz_entry([<void $1_forward(const float *x, const float *w, const float *b,
                           float *y, float *workspace, int batch)>])
{
    _Static_assert($1_fwd_USABLE, "tiled conv: bzgen chose it for a shape it cannot run");
    $1_pack_weights(w, workspace);
    $1_fwd_run(x, workspace, b, y, workspace + $1_fwd_WEIGHTS, batch, $20);
}>])m4_dnl
m4_dnl
m4_dnl bz_conv2d_tiled_wgrad_sum(name, the 13 kernel arguments):
m4_dnl name_wgrad_sum(x, dy, dwp, padded, batch, out_rows, accumulate) sums
m4_dnl (or adds, with accumulate) the weight gradient of the first out_rows
m4_dnl (<= HO) output rows of each sample into dwp [KH * KW][CIN][COUT],
m4_dnl sample by sample (the padded sample, in `padded`, or x itself
m4_dnl without padding, and its dy stay in L2).  In a padded row the KW taps
m4_dnl of a tap row times CIN input channels are KW * CIN consecutive floats:
m4_dnl a task owns R of them (so that the stem's CIN = 3 fills a tile) times
m4_dnl CB output channels, R * NV accumulators, and per output pixel does
m4_dnl NV loads of dy and R broadcasts of x.
m4_dnl A sample is swept in bands of ROWS output rows whose dy and x fit in
m4_dnl 256 KiB, a quarter of a small L2, so that all the tasks of a band find them there;
m4_dnl schedule(static) gives a thread the same tasks in every band, so the
m4_dnl bands need no barrier between them.
m4_dnl bz_conv2d_tiled_wgrad_tile(the same arguments): prefix_wgrad_tile
m4_dnl alone (its register block prefix_wg defined by the caller).
m4_define([<bz_conv2d_tiled_wgrad_tile>], [<
static inline __attribute__((always_inline)) void
$1_wgrad_tile(const float *xtap, const float *dyn, float *acc_out, int r, int rows, int first)
{
    enum { CIN = $2, COUT = $5, WO = $7, STRIDE = $10, WP = $4 + 2 * ($11),
           NV = $1_wg_NV, CB = $1_wg_CB, R = $1_wg_R };
    __m512 acc[R][NV];
    #pragma GCC unroll 24
    for (int c = 0; c < R; c++)
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[c][v] = first || c >= r ? _mm512_setzero_ps()
                                        : _mm512_loadu_ps(acc_out + (long)c * COUT + 16 * v);
    for (int oh = 0; oh < rows; oh++) {
        const float *xr = xtap + (long)oh * STRIDE * WP * CIN;
        const float *dyr = dyn + (long)oh * WO * COUT;
        for (int ow = 0; ow < WO; ow++) {
            __m512 g[NV];
            #pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                g[v] = _mm512_loadu_ps(dyr + (long)ow * COUT + 16 * v);
            #pragma GCC unroll 24
            for (int c = 0; c < R; c++) {
                if (c >= r)
                    break;
                __m512 xv = _mm512_set1_ps(xr[(long)ow * STRIDE * CIN + c]);
                #pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[c][v] = _mm512_fmadd_ps(xv, g[v], acc[c][v]);
            }
        }
    }
    #pragma GCC unroll 24
    for (int c = 0; c < R; c++) {
        if (c >= r)
            break;
        #pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            _mm512_storeu_ps(acc_out + (long)c * COUT + 16 * v, acc[c][v]);
    }
}>])m4_dnl
m4_define([<bz_conv2d_tiled_wgrad_sum>], [<bz_conv2d_tiled_wgrad_tile($@)
bz_conv2d_pad_rows_helper([<$1_wg>], $2, $3, $4, $11)

static void $1_wgrad_sum(const float *x, const float *dy, float *dwp, float *padded, int batch,
                         int out_rows, int accumulate)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, PAD = $11, WP = $4 + 2 * ($11), CB = $1_wg_CB,
           R = $1_wg_R, ROW_TAPS = $9 * $2, TILES = (ROW_TAPS + R - 1) / R, BLOCKS = COUT / CB,
           ROW_FLOATS = WO * COUT + STRIDE * WP * CIN,
           ROWS = 65536 / ROW_FLOATS < 1 ? 1 : 65536 / ROW_FLOATS };
    /* one parallel region for the whole batch, not a fork and a join per
     * sample */
    #pragma omp parallel
    for (int n = 0; n < batch; n++) {
        const float *xp = x + (long)n * H * W * CIN;
        if (PAD) {
            #pragma omp barrier  /* the previous sample's tasks are done with it */
            $1_wg_pad_rows(xp, padded, 1);
            xp = padded;
        }
        for (int oh0 = 0; oh0 < out_rows; oh0 += ROWS) {
            int rows = out_rows - oh0 < ROWS ? out_rows - oh0 : ROWS;
            int first = !accumulate && n == 0 && oh0 == 0;
            const float *xband = xp + (long)oh0 * STRIDE * WP * CIN;
            const float *dyband = dy + ((long)n * HO + oh0) * WO * COUT;
            #pragma omp for collapse(3) schedule(static) nowait
            for (int i = 0; i < KH; i++)
                for (int t = 0; t < TILES; t++)
                    for (int blk = 0; blk < BLOCKS; blk++) {
                        int c0 = t * R;
                        const float *xtap = xband + (long)i * WP * CIN + c0;
                        float *out = dwp + ((long)i * ROW_TAPS + c0) * COUT + blk * CB;
                        if (c0 + R <= ROW_TAPS)
                            $1_wgrad_tile(xtap, dyband + blk * CB, out, R, rows, first);
                        else
                            $1_wgrad_tile(xtap, dyband + blk * CB, out, ROW_TAPS - c0, rows,
                                          first);
                    }
        }
    }
}>])m4_dnl
m4_dnl
m4_dnl bz_conv2d_tiled_wgrad(name, the 13 kernel arguments): name_wgrad(x,
m4_dnl dy, dw, workspace, batch) writes dw [COUT][KH][KW][CIN], summed in
m4_dnl the workspace's dwp [KH * KW][CIN][COUT] (the padded sample after it).
m4_define([<bz_conv2d_tiled_wgrad>], [<bz_conv2d_tiled_wgrad_sum($@)

/* Each thread sums the weight gradient of its own samples (padded into
 * its own slot, where they stay in L2) into its own dwp [KH * KW][CIN][COUT]
 * at workspace + thread * WEIGHTS, its padded slot after all the dwps. */
static void $1_wgrad_own_samples(const float *x, const float *dy, float *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, PAD = $11, HP = $3 + 2 * ($11), WP = $4 + 2 * ($11),
           WEIGHTS = $1_wg_WEIGHTS, CB = $1_wg_CB, R = $1_wg_R, ROW_TAPS = $9 * $2,
           TILES = (ROW_TAPS + R - 1) / R, BLOCKS = COUT / CB };
    int threads = omp_get_max_threads();
    #pragma omp parallel num_threads(threads)
    {
        int k = omp_get_thread_num();
        float *dwp = workspace + (long)k * WEIGHTS;
        float *padded = workspace + (long)threads * WEIGHTS + (long)k * HP * WP * CIN;
        int n0 = (int)((long)batch * k / threads), n1 = (int)((long)batch * (k + 1) / threads);
        for (int n = n0; n < n1; n++) {
            const float *xp = x + (long)n * H * W * CIN;
            if (PAD) {
                $1_wg_pad_sample(xp, padded);
                xp = padded;
            }
            for (int i = 0; i < KH; i++)
                for (int t = 0; t < TILES; t++)
                    for (int blk = 0; blk < BLOCKS; blk++) {
                        int c0 = t * R, r = ROW_TAPS - c0 < R ? ROW_TAPS - c0 : R;
                        const float *xtap = xp + (long)i * WP * CIN + c0;
                        const float *dyn = dy + (long)n * HO * WO * COUT + blk * CB;
                        float *out = dwp + ((long)i * ROW_TAPS + c0) * COUT + blk * CB;
                        if (r == R)
                            $1_wgrad_tile(xtap, dyn, out, R, HO, n == n0);
                        else
                            $1_wgrad_tile(xtap, dyn, out, r, HO, n == n0);
                    }
        }
    }
}

static void $1_wgrad(const float *x, const float *dy, float *dw, float *workspace, int batch)
{
    enum { CIN = $2, COUT = $5, KHW = $8 * $9, WEIGHTS = $1_wg_WEIGHTS,
           PADDED = $11 ? ($3 + 2 * ($11)) * ($4 + 2 * ($11)) * $2 : 0,
           /* a thread's sums must stay in its L2 (1 MiB of it) as it sweeps
            * them per sample; larger ones are split among the threads
            * (gen/op_conv2d.c's OWN_SUMS_MAX, which sizes a pointwise
            * conv's workspace for them) */
           OWN_SUMS_MAX = 1 << 18 };
    int threads = omp_get_max_threads();
    int own = batch >= 2 * threads && WEIGHTS <= OWN_SUMS_MAX &&
              (long)threads * (WEIGHTS + PADDED) <= $15;
    if (own)
        $1_wgrad_own_samples(x, dy, workspace, batch);
    else
        $1_wgrad_sum(x, dy, workspace, workspace + WEIGHTS, batch, $6, 0);
    /* the threads' sums added in thread order: the same result whatever
     * the schedule */
    int slots = own ? threads : 1;
    #pragma omp parallel for schedule(static)
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KHW; k++)
            for (int ci = 0; ci < CIN; ci++) {
                long at = ((long)k * CIN + ci) * COUT + co;
                float sum = workspace[at];
                for (int s = 1; s < slots; s++)
                    sum += workspace[(long)s * WEIGHTS + at];
                dw[((long)co * KHW + k) * CIN + ci] = sum;
            }
}>])m4_dnl
m4_dnl
m4_dnl bz_conv2d_tiled_phase_dgrad(name, the 13 kernel arguments): the input
m4_dnl gradient of a strided conv with 16n input channels, phase by phase.
m4_dnl The input pixels of rows h = S a + bz_phase_first_pixel(ri) and
m4_dnl columns w = S b + bz_phase_first_pixel(rj) meet only the taps
m4_dnl i = ri + S m, j = rj + S m' (runtime/kernels/bz_kernels.h): their
m4_dnl gradient is a stride-1 correlation of dy with those taps flipped,
m4_dnl run on the tiled core's prefix_tile (outputs S pixels apart) over
m4_dnl dy padded by PAD, enough for every phase's window.
m4_dnl name_phase_pack(w, wp) packs the weights, name_phase_run(dy, wp, dx,
m4_dnl buffer, batch, accumulate) computes dx (+)= the gradient.
m4_define([<bz_conv2d_tiled_phase_dgrad>], [<
/* dy's padding: rows above for the first pixels' windows (the taps of the
 * fullest phase less one), below for the last pixels' */
enum { $1_ph_TOP = ($8 + $10 - 1) / $10 - 1, $1_ph_LEFT = ($9 + $10 - 1) / $10 - 1,
       $1_ph_BOTTOM = ($3 - 1 + $11) / $10 - ($6 - 1), $1_ph_RIGHT = ($4 - 1 + $11) / $10 - ($7 - 1),
       $1_ph_ROWS = $1_ph_TOP > $1_ph_BOTTOM ? $1_ph_TOP : $1_ph_BOTTOM,
       $1_ph_COLS = $1_ph_LEFT > $1_ph_RIGHT ? $1_ph_LEFT : $1_ph_RIGHT,
       $1_ph_PAD = $1_ph_ROWS > $1_ph_COLS ? $1_ph_ROWS : $1_ph_COLS };
bz_conv2d_tiled_tile([<$1_ph>], $5, $6, $7, $2, $3, $4, $8, $9, 1, $1_ph_PAD, 0, $15, 0)

bz_conv2d_pad_helper([<$1_ph>], $5, $6, $7, $1_ph_PAD)

/* w [COUT][KH][KW][CIN] -> [CIN / CB][KH * KW][COUT][CB], phase (ri, rj)
 * after phase, each phase's taps (a, b) flipped: (ri + S (mh - 1 - a),
 * rj + S (mw - 1 - b)) */
static void $1_phase_pack(const float *w, float *wp)
{
    enum { CIN = $2, COUT = $5, KH = $8, KW = $9, S = $10, CB = $1_ph_CB };
    #pragma omp parallel for schedule(static)
    for (int ci = 0; ci < CIN; ci++)
        for (int ri = 0; ri < S; ri++)
            for (int rj = 0; rj < S; rj++) {
                int mh = bz_phase_taps(ri, KH, S), mw = bz_phase_taps(rj, KW, S);
                int first = bz_phase_first_tap(ri, rj, KH, KW, S);
                for (int a = 0; a < mh; a++)
                    for (int b = 0; b < mw; b++)
                        for (int co = 0; co < COUT; co++) {
                            int i = ri + S * (mh - 1 - a), j = rj + S * (mw - 1 - b);
                            long tap = (long)(ci / CB) * KH * KW + first + a * mw + b;
                            wp[(tap * COUT + co) * CB + ci % CB] =
                                w[(((long)co * KH + i) * KW + j) * CIN + ci];
                        }
            }
}

/* tile t of phase (ri, rj) (phase = ri S + rj), block blk, of one sample:
 * dysample padded, dxsample its input gradient */
static inline __attribute__((always_inline)) void
$1_phase_tile_at(const float *dysample, const float *wp, float *dxsample, int blk, int phase,
                 int t, int accumulate, int stream)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, KH = $8, KW = $9, S = $10, P = $11,
           PAD = $1_ph_PAD, WP = $1_ph_WP, CB = $1_ph_CB, R = $1_ph_R };
    int ri = phase / S, rj = phase % S;
    int h0 = bz_phase_first_pixel(ri, P, S), w0 = bz_phase_first_pixel(rj, P, S);
    int cols = bz_phase_pixels(rj, P, S, W), pixels = bz_phase_pixels(ri, P, S, H) * cols;
    int q0 = t * R, r = pixels - q0 < R ? pixels - q0 : R;
    if (r <= 0)
        return;
    int mh = bz_phase_taps(ri, KH, S), mw = bz_phase_taps(rj, KW, S);
    long off[R], yoff[R];
    for (int p = 0; p < R; p++) {
        int q = q0 + (p < r ? p : 0), h = h0 + S * (q / cols), w = w0 + S * (q % cols);
        int top = (h + P - ri) / S - mh + 1 + PAD, left = (w + P - rj) / S - mw + 1 + PAD;
        off[p] = ((long)top * WP + left) * COUT;
        yoff[p] = ((long)h * W + w) * CIN;
    }
    int first = bz_phase_first_tap(ri, rj, KH, KW, S);
    const float *wblock = wp + ((long)blk * KH * KW + first) * COUT * CB;
    float *dxn = dxsample + blk * CB;
    if (r == R)
        $1_ph_tile(dysample, off, wblock, NULL, dxn, yoff, R, mh, mw, accumulate, stream, NULL, 0);
    else
        $1_ph_tile(dysample, off, wblock, NULL, dxn, yoff, r, mh, mw, accumulate, stream, NULL, 0);
}

static void $1_phase_run(const float *dy, const float *wp, float *dx, float *buffer, int batch,
                         int accumulate)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, S = $10, PAD = $1_ph_PAD,
           PADDED = $1_ph_PADDED, CB = $1_ph_CB, R = $1_ph_R, BLOCKS = CIN / CB,
           TILES = (((H + S - 1) / S) * ((W + S - 1) / S) + R - 1) / R,
           PCHUNK = $1_ph_PCHUNK < 1 ? 1 : $1_ph_PCHUNK };
    int stream = (long)batch * H * W * CIN > BZ_STREAM_FLOATS;
    if (bz_sample_per_thread(PAD, batch, PCHUNK, omp_get_max_threads())) {
        /* a sample per task, padded into its thread's slot (see _run) */
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < batch; n++) {
            float *dyp = buffer + (long)omp_get_thread_num() * PADDED;
            $1_ph_pad_sample(dy + (long)n * HO * WO * COUT, dyp);
            for (int blk = 0; blk < BLOCKS; blk++)
                for (int phase = 0; phase < S * S; phase++)
                    for (int t = 0; t < TILES; t++)
                        $1_phase_tile_at(dyp, wp, dx + (long)n * H * W * CIN, blk, phase, t,
                                         accumulate, stream);
        }
        return;
    }
    int chunk = PAD ? PCHUNK : batch;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        int samples = batch - n0 < chunk ? batch - n0 : chunk;
        const float *dyp = $1_ph_padded(dy + (long)n0 * HO * WO * COUT, buffer, samples);
        #pragma omp parallel for collapse(4) schedule(static)
        for (int n = 0; n < samples; n++)
            for (int blk = 0; blk < BLOCKS; blk++)
                for (int phase = 0; phase < S * S; phase++)
                    for (int t = 0; t < TILES; t++)
                        $1_phase_tile_at(dyp + (long)n * PADDED, wp,
                                         dx + (long)(n0 + n) * H * W * CIN, blk, phase, t,
                                         accumulate, stream);
    }
}>])m4_dnl
m4_dnl
m4_dnl The backward: dw by the tiled reduction; dx, where CIN is 16n, by the
m4_dnl tiled core on dy (stride 1: weights flipped and transposed, padding
m4_dnl KH - 1 - PAD; strided: phase by phase), else by dcol = dy w and col2im.
m4_define([<bz_conv2d_tiled_backward_body>], [<
bz_conv2d_col2im_helper($@)
bz_tiled_register_block([<$1_wg>], $5)
enum { $1_wg_WEIGHTS = $8 * $9 * $2 * $5 };
bz_conv2d_tiled_wgrad($@)
bz_conv2d_tiled_core([<$1_dgrad>], $5, $6, $7, $2, $3, $4, $8, $9, 1, $8 - 1 - $11, 0,
                     $15, 0)
bz_conv2d_tiled_phase_dgrad($@)

/* w [COUT][KH][KW][CIN] -> the input gradient's [CIN / CB][KH][KW][COUT][CB],
 * tap (i, j) taking the weights of tap (KH-1-i, KW-1-j) */
static void $1_pack_flipped(const float *w, float *wp)
{
    enum { CIN = $2, COUT = $5, KH = $8, KW = $9, CB = $1_dgrad_CB };
    #pragma omp parallel for schedule(static)
    for (int ci = 0; ci < CIN; ci++)
        for (int i = 0; i < KH; i++)
            for (int j = 0; j < KW; j++)
                for (int co = 0; co < COUT; co++)
                    wp[((((long)(ci / CB) * KH + i) * KW + j) * COUT + co) * CB + ci % CB] =
                        w[(((long)co * KH + (KH - 1 - i)) * KW + (KW - 1 - j)) * CIN + ci];
}

bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, K = $8 * $9 * $2,
           HAS_BIAS = $13, CHUNK = $14, TILED_DX = $10 == 1 && $1_dgrad_USABLE,
           PHASED_DX = $10 > 1 && $1_ph_USABLE,
           POINTWISE = $8 == 1 && $9 == 1 && $10 == 1 && $11 == 0 };
    long M = (long)batch * HO * WO;
    $1_wgrad(x, dy, dw, workspace, batch);
    if (dx && TILED_DX) {
        $1_pack_flipped(w, workspace);
        $1_dgrad_run(dy, workspace, NULL, dx, workspace + $1_dgrad_WEIGHTS, batch, accumulate_dx);
    } else if (dx && PHASED_DX) {
        $1_phase_pack(w, workspace);
        $1_phase_run(dy, workspace, dx, workspace + $1_ph_WEIGHTS, batch, accumulate_dx);
    } else if (dx && POINTWISE) {
        /* dx[M][CIN] (+)= dy w */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, CIN, COUT, 1.0f, dy, COUT,
                    w, CIN, accumulate_dx ? 1.0f : 0.0f, dx, CIN);
    } else if (dx) {
        /* a sample per thread: dcol [HO * WO][K] = dy w in the thread's
         * slot of the workspace (a single-threaded GEMM: OpenBLAS runs so
         * inside a parallel region), scattered into dx while in L2 */
        int slots = omp_get_max_threads() < CHUNK ? omp_get_max_threads() : CHUNK;
        #pragma omp parallel for num_threads(slots) schedule(static)
        for (int n = 0; n < batch; n++) {
            float *dcol = workspace + (long)omp_get_thread_num() * HO * WO * K;
            float *dxn = dx + (long)n * H * W * CIN;
            if (!accumulate_dx)
                memset(dxn, 0, sizeof(float) * H * W * CIN);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, HO * WO, K, COUT, 1.0f,
                        dy + (long)n * HO * WO * COUT, COUT, w, K, 0.0f, dcol, K);
            $1_col2im(dcol, dxn, 1);
        }
    }bz_conv2d_bias_gradient
}>])m4_dnl
m4_dnl
m4_dnl Deploy convs are packed once, by deploy_fold, in place in the deploy
m4_dnl arena (through the workspace); their forward then runs on the packed
m4_dnl weights and the whole workspace holds the padded input.
m4_define([<bz_conv2d_tiled_deploy_body>], [<
bz_entry([<void $1_prepack(float *w, float *workspace)>])
{
    $1_pack_weights(w, workspace);
    memcpy(w, workspace, sizeof(float) * $1_fwd_WEIGHTS);
}

bz_entry([<void $1_forward_packed(const float *x, const float *wp, const float *b, float *y,
                                  float *workspace, int batch)>])
{
    $1_fwd_run(x, wp, b, y, workspace, batch, $20);
}>])m4_dnl
m4_dnl
m4_dnl The kernels bzgen names: "tiled" for KxK and strided convs (im2col +
m4_dnl GEMM without AVX-512), "pointwise_tiled" for 1x1 stride-1 convs
m4_dnl (one GEMM without AVX-512).
m4_define([<bz_conv2d_tiled_forward_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_tiled_forward_body($@)
#else
bz_conv2d_im2col_forward_kernel($@)
#endif>])m4_dnl
m4_define([<bz_conv2d_tiled_backward_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_tiled_backward_body($@)
#else
bz_conv2d_im2col_backward_kernel($@)
#endif>])m4_dnl
m4_define([<bz_conv2d_pointwise_tiled_forward_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_tiled_forward_body($@)
#else
bz_conv2d_pointwise_forward_kernel($@)
#endif>])m4_dnl
m4_define([<bz_conv2d_tiled_deploy_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_tiled_deploy_body($@)
#else
bz_conv2d_unpacked_deploy_kernel($@)
#endif>])m4_dnl
m4_define([<bz_conv2d_pointwise_tiled_deploy_kernel>], m4_defn([<bz_conv2d_tiled_deploy_kernel>]))m4_dnl
m4_define([<bz_conv2d_pointwise_tiled_backward_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_tiled_backward_body($@)
#else
bz_conv2d_pointwise_backward_kernel($@)
#endif>])m4_dnl
