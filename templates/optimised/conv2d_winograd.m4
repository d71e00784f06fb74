m4_dnl Winograd convolution for dense 3x3 stride-1 convs padded by their
m4_dnl dilation, with 16n input and output channels, bzgen's "winograd"
m4_dnl algorithm; needs AVX-512 (without it the im2col + GEMM kernels stand
m4_dnl in).  The matrices: runtime/kernels/bz_winograd.h.
m4_dnl
m4_dnl The output is cut into M x M tiles, each read through the A x A input
m4_dnl window around it (A = M + 2).  Per tile and channel, V = B^T d B (A^2
m4_dnl values); per position p of the window, the tiles times the channels
m4_dnl make a 1x1 conv M[p] = V[p] U[p] with U = G g G^T per (cin, cout)
m4_dnl pair, which the register-tiled pointwise core (conv2d_tiled.m4) runs;
m4_dnl then Y = A^T M A.  Two tile sizes:
m4_dnl   - F(4x4, 3x3), 36 products per 16 outputs instead of 144 (4x fewer
m4_dnl     multiplies): the backward and the deploy graph's forward;
m4_dnl   - F(2x2, 3x3), 16 per 4 instead of 36 (2.25x): the training
m4_dnl     forward, whose activations decide which side of a ReLU's kink an
m4_dnl     element lands on; its float error is a quarter of F(4x4, 3x3)'s.
m4_dnl The backward: dx is the same conv of dy with the flipped, transposed
m4_dnl kernel; dw = G^T dU G with dU[p] = sum over tiles of V[p]^T (A dy
m4_dnl A^T)[p], the pointwise weight-gradient sum (a chunk's tiles swept as
m4_dnl the rows of one sample).
m4_dnl
m4_dnl A dilated conv (dilation D, padding D, maps of D n pixels) is D x D
m4_dnl ordinary ones, one per phase: the sub-map of the pixels whose row and
m4_dnl column are congruent mod D; its tiles are those of every phase.
m4_dnl
m4_dnl Layouts: activations NHWC; transformed buffers [A^2][tiles][channels]
m4_dnl for the tiles of the samples of one chunk, tile t = (n, phase, th, tw)
m4_dnl in row-major order, the positions bz_winograd_plane apart (a cache
m4_dnl line more than their size: runtime/kernels/bz_winograd.h); packed
m4_dnl kernels [A^2][channels out / CB][channels in][CB].
m4_dnl
m4_dnl bz_winograd_tiling(tile size, channels, h, w, dilation): the enum of a
m4_dnl transform's sizes (HS x WS: a phase's sub-map; TH x TW tiles each);
m4_dnl bz_winograd_tile(n, phase, th, tw): that tile's index in the chunk;
m4_dnl bz_winograd_pixel(n, phase, sh, sw): the index of the pixel at (sh,
m4_dnl sw) of the phase's sub-map in an activation [n][H][W].
m4_define([<bz_winograd_tiling>], [<enum { M = $1, A = $1 + 2, C = $2, H = $3, W = $4, D = $5,
           HS = H / D, WS = W / D, TH = (HS + M - 1) / M, TW = (WS + M - 1) / M,
           TILES = D * D * TH * TW };>])m4_dnl
m4_define([<bz_winograd_tile>], [<((((long)($1) * D * D + ($2)) * TH + ($3)) * TW + ($4))>])m4_dnl
m4_define([<bz_winograd_pixel>],
          [<(((long)($1) * H + ($2) / D + D * ($3)) * W + ($2) % D + D * ($4))>])m4_dnl
m4_dnl
m4_dnl bz_winograd_input_transform(prefix, tile size, channels, h, w, dilation):
m4_dnl prefix_input_tile(x, vt, plane, n, phase, th, tw), vt = B^T d B for
m4_dnl one tile, its positions plane floats apart; prefix_input_transform(x,
m4_dnl v, samples) for every tile of a chunk; x [samples][h][w][C].
m4_define([<bz_winograd_input_transform>], [<
static inline void $1_input_tile(const float *x, float *vt, long plane, int n, int phase, int th,
                                 int tw)
{
    bz_winograd_tiling($2, $3, $4, $5, $6)
    static const float zero[C];
    const float *d[A][A];  /* the window's pixels, zero outside the sub-map */
    for (int i = 0; i < A; i++)
        for (int j = 0; j < A; j++) {
            int sh = M * th - 1 + i, sw = M * tw - 1 + j;
            d[i][j] = sh < 0 || sh >= HS || sw < 0 || sw >= WS
                          ? zero
                          : x + bz_winograd_pixel(n, phase, sh, sw) * C;
        }
    /* the columns that the tile AHEAD to the right reads first: the
     * hardware prefetchers left this pass waiting on x (a stream per row
     * of the window, and a dilated one skipping every other pixel) */
    enum { AHEAD = 4 };
    for (int i = 0; i < A; i++)
        for (int j = A - M; j < A; j++) {
            int sh = M * th - 1 + i, sw = M * (tw + AHEAD) - 1 + j;
            if (sh >= 0 && sh < HS && sw < WS)
                for (int c = 0; c < C; c += 16)
                    _mm_prefetch((const char *)(x + bz_winograd_pixel(n, phase, sh, sw) * C + c),
                                 _MM_HINT_T0);
        }
    /* The loops over a tile's rows and columns unrolled (here, in the
     * output and the gradient transforms): rolled, as -O2 leaves them, the
     * 1-D transforms' outputs went through the stack, and a 64 -> 64-channel
     * 32x32 conv at batch 1 took 1.10-1.22 times as long. */
    for (int c = 0; c < C; c += 16) {
        __m512 t[A][A];  /* B^T d, column by column */
        #pragma GCC unroll 8
        for (int j = 0; j < A; j++) {
            __m512 col[6], out[6];
            #pragma GCC unroll 8
            for (int i = 0; i < A; i++)
                col[i] = _mm512_loadu_ps(d[i][j] + c);
            bz_winograd_input_1d(M, col, out);
            #pragma GCC unroll 8
            for (int i = 0; i < A; i++)
                t[i][j] = out[i];
        }
        #pragma GCC unroll 8
        for (int i = 0; i < A; i++) {
            __m512 out[6];
            bz_winograd_input_1d(M, t[i], out);
            #pragma GCC unroll 8
            for (int k = 0; k < A; k++)
                _mm512_storeu_ps(vt + (A * i + k) * plane + c, out[k]);
        }
    }
}

static void $1_input_transform(const float *x, float *v, int samples)
{
    bz_winograd_tiling($2, $3, $4, $5, $6)
    long plane = bz_winograd_plane((long)samples * TILES, C);
    #pragma omp parallel for collapse(3) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int phase = 0; phase < D * D; phase++)
            for (int th = 0; th < TH; th++)
                for (int tw = 0; tw < TW; tw++)
                    $1_input_tile(x, v + bz_winograd_tile(n, phase, th, tw) * C, plane, n, phase,
                                  th, tw);
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_output_transform(prefix, tile size, channels, h, w, dilation,
m4_dnl bias, act): prefix_output_tile(mt, plane, b, y, n, phase, th, tw,
m4_dnl accumulate, stream) for one tile (its positions plane floats apart);
m4_dnl prefix_output_transform(m, b, y, samples, accumulate, stream) for every
m4_dnl tile of a chunk: y [samples][h][w][C] = act(A^T m A (+ b) (+ y with
m4_dnl accumulate: an input gradient's sum, or a deploy step's residual)),
m4_dnl act the deploy graph's fused activation (bz_activation.h), the parts
m4_dnl of edge tiles outside y dropped; stream: with streaming stores (an
m4_dnl output larger than the L3; the caller fences them).
m4_define([<bz_winograd_output_transform>], [<
static inline void $1_output_tile(const float *mt, long plane, const float *b, float *y, int n,
                                  int phase, int th, int tw, int accumulate, int stream)
{
    bz_winograd_tiling($2, $3, $4, $5, $6)
    enum { HAS_BIAS = $7, ACT = $8 };
    int rows = HS - M * th < M ? HS - M * th : M;
    int cols = WS - M * tw < M ? WS - M * tw : M;
    for (int c = 0; c < C; c += 16) {
        __m512 s[M][A];  /* A^T m, column by column */
        #pragma GCC unroll 8
        for (int j = 0; j < A; j++) {
            __m512 col[6], out[4];
            #pragma GCC unroll 8
            for (int i = 0; i < A; i++)
                col[i] = _mm512_loadu_ps(mt + (A * i + j) * plane + c);
            bz_winograd_output_1d(M, col, out);
            #pragma GCC unroll 8
            for (int a = 0; a < M; a++)
                s[a][j] = out[a];
        }
        __m512 bias = HAS_BIAS ? _mm512_loadu_ps(b + c) : _mm512_setzero_ps();
        #pragma GCC unroll 8
        for (int a = 0; a < rows; a++) {
            __m512 out[4];
            bz_winograd_output_1d(M, s[a], out);
            #pragma GCC unroll 8
            for (int e = 0; e < cols; e++) {
                float *yp = y + c + bz_winograd_pixel(n, phase, M * th + a, M * tw + e) * C;
                __m512 r = _mm512_add_ps(out[e], bias);
                if (accumulate)
                    r = _mm512_add_ps(_mm512_loadu_ps(yp), r);
                r = bz_activate16(ACT, r);
                if (stream)
                    _mm512_stream_ps(yp, r);
                else
                    _mm512_storeu_ps(yp, r);
            }
        }
    }
}

static void $1_output_transform(const float *m, const float *b, float *y, int samples,
                                int accumulate, int stream)
{
    bz_winograd_tiling($2, $3, $4, $5, $6)
    long plane = bz_winograd_plane((long)samples * TILES, C);
    #pragma omp parallel for collapse(3) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int phase = 0; phase < D * D; phase++)
            for (int th = 0; th < TH; th++) {
                for (int tw = 0; tw < TW; tw++)
                    $1_output_tile(m + bz_winograd_tile(n, phase, th, tw) * C, plane, b, y, n,
                                   phase, th, tw, accumulate, stream);
                if (stream)
                    _mm_sfence();  /* this thread's stores, before the closing barrier */
            }
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_gradient_transform(prefix, tile size, channels, h, w,
m4_dnl dilation): prefix_gradient_tile(dy, gt, plane, n, phase, th, tw): g =
m4_dnl A dy A^T for one tile, the output gradient carried back to the A^2
m4_dnl positions (zero outside dy), plane floats apart;
m4_dnl prefix_gradient_transform(dy, g, samples) for every tile of a chunk.
m4_define([<bz_winograd_gradient_transform>], [<
static inline void $1_gradient_tile(const float *dy, float *gt, long plane, int n, int phase,
                                    int th, int tw)
{
    bz_winograd_tiling($2, $3, $4, $5, $6)
    int rows = HS - M * th < M ? HS - M * th : M;
    int cols = WS - M * tw < M ? WS - M * tw : M;
    for (int c = 0; c < C; c += 16) {
        __m512 r[A][M];  /* A dy, column by column */
        #pragma GCC unroll 8
        for (int b = 0; b < M; b++) {
            __m512 col[4], out[6];
            #pragma GCC unroll 8
            for (int a = 0; a < M; a++)
                col[a] = a < rows && b < cols
                             ? _mm512_loadu_ps(dy + bz_winograd_pixel(n, phase, M * th + a,
                                                                      M * tw + b) * C + c)
                             : _mm512_setzero_ps();
            bz_winograd_gradient_1d(M, col, out);
            #pragma GCC unroll 8
            for (int i = 0; i < A; i++)
                r[i][b] = out[i];
        }
        #pragma GCC unroll 8
        for (int i = 0; i < A; i++) {
            __m512 out[6];
            bz_winograd_gradient_1d(M, r[i], out);
            #pragma GCC unroll 8
            for (int k = 0; k < A; k++)
                _mm512_storeu_ps(gt + (A * i + k) * plane + c, out[k]);
        }
    }
}

static void $1_gradient_transform(const float *dy, float *g, int samples)
{
    bz_winograd_tiling($2, $3, $4, $5, $6)
    long plane = bz_winograd_plane((long)samples * TILES, C);
    #pragma omp parallel for collapse(3) schedule(static)
    for (int n = 0; n < samples; n++)
        for (int phase = 0; phase < D * D; phase++)
            for (int th = 0; th < TH; th++)
                for (int tw = 0; tw < TW; tw++)
                    $1_gradient_tile(dy, g + bz_winograd_tile(n, phase, th, tw) * C, plane, n,
                                     phase, th, tw);
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_sizes(prefix, tile size, cin, h, w, cout, dilation,
m4_dnl workspace floats): the workspace (bzgen's, for every tile size) holds
m4_dnl one packed kernel (U; in the backward dU, then U') and, per sample of a
m4_dnl chunk of SAMPLES, the transformed input and the transformed output
m4_dnl (each buffer with a cache line of padding per position).
m4_define([<bz_winograd_sizes>], [<
enum { $1_M = $2, $1_POSITIONS = ($2 + 2) * ($2 + 2),
       $1_TILES = $7 * $7 * (($4 / $7 + $2 - 1) / $2) * (($5 / $7 + $2 - 1) / $2),
       $1_KERNEL = $1_POSITIONS * $3 * $6, $1_PER_SAMPLE = $1_POSITIONS * $1_TILES * ($3 + $6),
       $1_SAMPLES = ($8 - $1_KERNEL - 2 * $1_POSITIONS * BZ_WINOGRAD_PLANE_PAD) / $1_PER_SAMPLE };>])m4_dnl
m4_dnl
m4_dnl bz_winograd_products(prefix, tile size, cin, cout):
m4_dnl prefix_products(v, u, m, tiles) computes m[p] = v[p] u[p] ([tiles][CIN]
m4_dnl times the packed [CIN][COUT]) for every position in one parallel
m4_dnl region, a task being R tiles times CB channels of one position (the
m4_dnl register-tiled core's prefix_tile, a 1x1 conv over the tiles);
m4_dnl prefix_products_serial(v, u, m, tiles) the same tasks on one thread.
m4_define([<bz_winograd_products>], [<
bz_conv2d_tiled_tile([<$1>], $3, 1, 1, $4, 1, 1, 1, 1, 1, 0, 0, $3 * $4, 0)

/* The task of tiles [q0, q0 + R) (fewer at the end), position p, output
 * channel block blk; ahead: lines of u to prefetch (NULL: none). */
static inline void $1_product(const float *v, const float *u, float *m, long tiles, int p,
                              int blk, long q0, const float *ahead, int lines)
{
    enum { CIN = $3, COUT = $4, CB = $1_CB, R = $1_R };
    int r = tiles - q0 < R ? (int)(tiles - q0) : R;
    long off[R];
    for (int k = 0; k < R; k++)
        off[k] = (long)(k < r ? k : 0) * CIN;
    const float *vq = v + p * bz_winograd_plane(tiles, CIN) + q0 * CIN;
    const float *ublock = u + (long)p * CIN * COUT + (long)blk * CIN * CB;
    float *mq = m + p * bz_winograd_plane(tiles, COUT) + q0 * COUT + blk * CB;
    if (r == R)
        $1_tile(vq, off, ublock, NULL, mq, NULL, R, 1, 1, 0, 0, ahead, lines);
    else
        $1_tile(vq, off, ublock, NULL, mq, NULL, r, 1, 1, 0, 0, ahead, lines);
}

static void $1_products(const float *v, const float *u, float *m, long tiles)
{
    enum { CIN = $3, COUT = $4, POSITIONS = ($2 + 2) * ($2 + 2), CB = $1_CB, R = $1_R,
           BLOCKS = COUT / CB, BLOCK_LINES = CIN * CB / 16 };
    long tasks = (tiles + R - 1) / R;
    /* a thread's blocks are consecutive in u: where the CPU gains by it
     * (bz_winograd_prefetches), each task prefetches its share of the next
     * one, which at batch 1 comes from memory (a block serves a few tasks
     * only, and Intel's hardware prefetcher stops at each 4 KiB page) */
    long share = bz_winograd_prefetches() ? (BLOCK_LINES + tasks - 1) / tasks : 0;
    #pragma omp parallel for collapse(3) schedule(static)
    for (int p = 0; p < POSITIONS; p++)
        for (int blk = 0; blk < BLOCKS; blk++)
            for (long t = 0; t < tasks; t++) {
                long first = t * share;
                int next = p * BLOCKS + blk + 1 < POSITIONS * BLOCKS && first < BLOCK_LINES;
                long room = BLOCK_LINES - first;
                int lines = next ? (int)(room < share ? room : share) : 0;
                const float *ahead = lines ? u + (long)p * CIN * COUT +
                                                 (long)(blk + 1) * CIN * CB + 16 * first
                                           : NULL;
                $1_product(v, u, m, tiles, p, blk, t * R, ahead, lines);
            }
}

static void $1_products_serial(const float *v, const float *u, float *m, long tiles)
{
    enum { COUT = $4, POSITIONS = ($2 + 2) * ($2 + 2), BLOCKS = COUT / $1_CB, R = $1_R };
    for (int p = 0; p < POSITIONS; p++)
        for (int blk = 0; blk < BLOCKS; blk++)
            for (long q0 = 0; q0 < tiles; q0 += R)
                $1_product(v, u, m, tiles, p, blk, q0, NULL, 0);
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_sweep(prefix, tile size, h, w, dilation): the tiles a
m4_dnl thread runs end to end (bz_winograd_runs_local in bz_winograd.h), in
m4_dnl groups: prefix_sweep_tile(q, &n, &phase, &th, &tw) is the q-th tile of
m4_dnl the batch in the order (n, th, phase row, tw, phase column), so that a
m4_dnl dilated conv's tiles of one row band, every phase, run one after the
m4_dnl other and read and write neighbouring pixels (sub-map by sub-map,
m4_dnl each pass over x missed the L2 again); prefix_sweep_range(total,
m4_dnl &first, &end) the calling thread's share of total tiles.
m4_define([<bz_winograd_sweep>], [<
static inline void $1_sweep_tile(long q, int *n, int *phase, int *th, int *tw)
{
    bz_winograd_tiling($2, 16, $3, $4, $5)  /* (any channel count: TILES is per sample) */
    long r = q % TILES, band = r % (D * D * TW);
    *n = (int)(q / TILES);
    *th = (int)(r / (D * D * TW));
    *phase = (int)(band / (TW * D) * D + band % D);
    *tw = (int)(band % (TW * D) / D);
}

static inline void $1_sweep_range(long total, long *first, long *end)
{
    int thread = omp_get_thread_num(), threads = omp_get_num_threads();
    *first = total * thread / threads;
    *end = total * (thread + 1) / threads;
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_local(prefix, tile size, cin, cout, h, w, dilation,
m4_dnl buffer floats): a conv's transforms and products (prefix_input_tile,
m4_dnl prefix_products_serial, prefix_output_tile) swept in each thread, so
m4_dnl that a group's transformed input and output never leave its L2 (F(2x2)
m4_dnl ones are 4 times the size of the conv's input and output, and a
m4_dnl chunk's went to the L3 and back).  prefix_local(batch): whether
m4_dnl this batch runs so; prefix_run_local(x, u, b, y, buffer, batch,
m4_dnl accumulate, stream) runs it (x, y as the chunked transforms take
m4_dnl them, for the whole batch).
m4_define([<bz_winograd_local>], [<bz_winograd_sweep([<$1>], $2, $5, $6, $7)
enum { $1_GROUP = BZ_WINOGRAD_GROUP_FLOATS / (($2 + 2) * ($2 + 2) * ($3 + $4)) / $1_R * $1_R,
       $1_PER_THREAD = ($2 + 2) * ($2 + 2) * ($1_GROUP * ($3 + $4) + 2 * BZ_WINOGRAD_PLANE_PAD) };

static int $1_local(int batch)
{
    bz_winograd_tiling($2, $3, $5, $6, $7)
    return bz_winograd_runs_local((long)A * A * $3 * $4, $1_GROUP, $1_PER_THREAD, $8,
                                  (long)batch * TILES, omp_get_max_threads());
}

static void $1_run_local(const float *x, const float *u, const float *b, float *y,
                         float *buffer, int batch, int accumulate, int stream)
{
    bz_winograd_tiling($2, $3, $5, $6, $7)
    enum { CIN = $3, COUT = $4, GROUP = $1_GROUP };
    #pragma omp parallel
    {
        float *v = buffer + omp_get_thread_num() * (long)$1_PER_THREAD;
        float *m = v + A * A * bz_winograd_plane(GROUP, CIN);
        long first, end;
        $1_sweep_range((long)batch * TILES, &first, &end);
        for (long g0 = first; g0 < end; g0 += GROUP) {
            long count = end - g0 < GROUP ? end - g0 : GROUP;
            long plane_in = bz_winograd_plane(count, CIN), plane_out = bz_winograd_plane(count, COUT);
            for (long q = g0; q < g0 + count; q++) {
                int n, phase, th, tw;
                $1_sweep_tile(q, &n, &phase, &th, &tw);
                $1_input_tile(x, v + (q - g0) * CIN, plane_in, n, phase, th, tw);
            }
            $1_products_serial(v, u, m, count);
            for (long q = g0; q < g0 + count; q++) {
                int n, phase, th, tw;
                $1_sweep_tile(q, &n, &phase, &th, &tw);
                $1_output_tile(m + (q - g0) * COUT, plane_out, b, y, n, phase, th, tw, accumulate,
                               stream);
            }
        }
        if (stream)
            _mm_sfence();  /* this thread's stores, before the closing barrier */
    }
}>])m4_dnl
m4_dnl
m4_dnl bz_winograd_forward(prefix, tile size, the kernel arguments after the
m4_dnl name): prefix_pack_weights(w, u) transforms and packs the kernel;
m4_dnl prefix_run(x, u, b, y, buffer, batch) runs on it, chunk by chunk
m4_dnl (adding to what y holds where the kernel's residual argument is 1).
m4_define([<bz_winograd_forward>], [<bz_winograd_sizes([<$1>], $2, $3, $4, $5, $6, $19, $16)
bz_winograd_products([<$1_wf>], $2, $3, $6)
bz_winograd_input_transform([<$1_wf>], $2, $3, $4, $5, $19)
bz_winograd_output_transform([<$1_wf>], $2, $6, $7, $8, $19, $14, $20)
bz_winograd_local([<$1_wf>], $2, $3, $6, $4, $5, $19, ($16 - $1_KERNEL))

/* w [COUT][3][3][CIN] (OHWI) -> u [POSITIONS][COUT / CB][CIN][CB], 16
 * output channels at a time */
static void $1_pack_weights(const float *w, float *u)
{
    enum { CIN = $3, COUT = $6, M = $1_M, POSITIONS = $1_POSITIONS, CB = $1_wf_CB };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int co = 0; co < COUT; co += 16)
        for (int ci = 0; ci < CIN; ci++) {
            __m512 t[36];
            bz_winograd_kernel_transform_16(M, w + (long)co * 9 * CIN + ci, 9 * CIN, CIN, 0, t);
            for (int p = 0; p < POSITIONS; p++)
                _mm512_storeu_ps(u + (long)p * CIN * COUT + ((long)(co / CB) * CIN + ci) * CB +
                                     co % CB, t[p]);
        }
}

static void $1_run(const float *x, const float *u, const float *b, float *y, float *buffer,
                   int batch)
{
    enum { CIN = $3, H = $4, W = $5, COUT = $6, TILES = $1_TILES, SAMPLES = $1_SAMPLES,
           RESIDUAL = $21 };
    _Static_assert($1_SAMPLES >= 1, "winograd conv: workspace too small");
    int stream = (long)batch * H * W * COUT > BZ_STREAM_FLOATS;
    if ($1_wf_local(batch)) {
        $1_wf_run_local(x, u, b, y, buffer, batch, RESIDUAL, stream);
        return;
    }
    for (int n0 = 0; n0 < batch; n0 += SAMPLES) {
        int samples = batch - n0 < SAMPLES ? batch - n0 : SAMPLES;
        long tiles = (long)samples * TILES;
        float *v = buffer, *m = buffer + $1_POSITIONS * bz_winograd_plane(tiles, CIN);
        $1_wf_input_transform(x + (long)n0 * H * W * CIN, v, samples);
        $1_wf_products(v, u, m, tiles);
        $1_wf_output_transform(m, b, y + (long)n0 * H * W * COUT, samples, RESIDUAL, stream);
    }
}>])m4_dnl
m4_dnl
m4_dnl The training forward, F(2x2, 3x3).
m4_define([<bz_conv2d_winograd_forward_body>], [<bz_winograd_forward([<$1_f2>], 2, m4_shift($@))

/* unused where only the deploy graph calls this conv (forward_packed) */
bz_entry([<void $1_forward(const float *x, const float *w, const float *b,
                           float *y, float *workspace, int batch)>])
{
    $1_f2_pack_weights(w, workspace);
    $1_f2_run(x, workspace, b, y, workspace + $1_f2_KERNEL, batch);
}>])m4_dnl
m4_dnl
m4_dnl The backward, F(4x4, 3x3), chunk by chunk: V = B^T x B and G = A dy
m4_dnl A^T feed the pointwise weight-gradient sums dU[p] [CIN][COUT] (all 36
m4_dnl in one parallel region, a task R input channels times CB output
m4_dnl channels of one position); then B^T dy B (over G) times U' (the
m4_dnl flipped, transposed kernel) gives dx's transform (over V).
m4_dnl dw = G^T dU G at the end.
m4_define([<bz_conv2d_winograd_backward_body>], [<bz_winograd_sizes([<$1_bw>], 4, $2, $6, $7, $5, $18, $15)
bz_tiled_register_block([<$1_ww_wg>], $5)
bz_conv2d_tiled_wgrad_tile([<$1_ww>], $2, 1, 1, $5, 1, 1, 1, 1, 1, 0, 0, 0, 0)
bz_winograd_products([<$1_wd>], 4, $5, $2)
bz_winograd_input_transform([<$1_wx>], 4, $2, $3, $4, $18)
bz_winograd_gradient_transform([<$1_wy>], 4, $5, $6, $7, $18)
bz_winograd_input_transform([<$1_wd>], 4, $5, $6, $7, $18)
bz_winograd_output_transform([<$1_wd>], 4, $2, $3, $4, $18, 0, 0)
bz_winograd_local([<$1_wd>], 4, $5, $2, $6, $7, $18, ($15 - $1_bw_KERNEL))
bz_winograd_sweep([<$1_lw>], 4, $3, $4, $18)

/* The task of input channels [c0, c0 + R) (fewer at the end), position
 * p, output channel block blk: du[p] (+)= v[p]^T g[p] over `tiles` tiles */
static inline void $1_weight_task(const float *v, const float *g, float *du, long tiles, int p,
                                  int c0, int blk, int first)
{
    enum { CIN = $2, COUT = $5, CB = $1_ww_wg_CB, R = $1_ww_wg_R };
    const float *vp = v + p * bz_winograd_plane(tiles, CIN) + c0;
    const float *gp = g + p * bz_winograd_plane(tiles, COUT) + blk * CB;
    float *out = du + ((long)p * CIN + c0) * COUT + blk * CB;
    if (c0 + R <= CIN)
        $1_ww_wgrad_tile(vp, gp, out, R, (int)tiles, first);
    else
        $1_ww_wgrad_tile(vp, gp, out, CIN - c0, (int)tiles, first);
}

/* The weight gradient swept in each thread (bz_winograd_runs_local in
 * bz_winograd.h): per group, V and G of its tiles, then the thread's own
 * sums dU += V^T G, [36][CIN][COUT] at the head of its share of the
 * buffer; the threads' sums added in thread order at the end. */
enum { $1_lw_GROUP = BZ_WINOGRAD_GROUP_FLOATS / (36 * ($2 + $5)),
       $1_lw_PER_THREAD = 36 * $2 * $5 + 36 * ($1_lw_GROUP * ($2 + $5) + 2 * BZ_WINOGRAD_PLANE_PAD) };

static int $1_lw_local(int batch)
{
    return bz_winograd_runs_local(36L * $2 * $5, $1_lw_GROUP, $1_lw_PER_THREAD,
                                  $15 - $1_bw_KERNEL, (long)batch * $1_bw_TILES,
                                  omp_get_max_threads());
}

static void $1_lw_weight_gradient(const float *x, const float *dy, float *du, float *buffer,
                                  int batch)
{
    enum { CIN = $2, COUT = $5, KERNEL = 36 * CIN * COUT, GROUP = $1_lw_GROUP };
    #pragma omp parallel
    {
        float *sums = buffer + omp_get_thread_num() * (long)$1_lw_PER_THREAD;
        float *v = sums + KERNEL, *g = v + 36 * bz_winograd_plane(GROUP, CIN);
        long first, end;
        $1_lw_sweep_range((long)batch * $1_bw_TILES, &first, &end);
        for (long g0 = first; g0 < end; g0 += GROUP) {
            long count = end - g0 < GROUP ? end - g0 : GROUP;
            for (long q = g0; q < g0 + count; q++) {
                int n, phase, th, tw;
                $1_lw_sweep_tile(q, &n, &phase, &th, &tw);
                $1_wx_input_tile(x, v + (q - g0) * CIN, bz_winograd_plane(count, CIN), n, phase,
                                 th, tw);
                $1_wy_gradient_tile(dy, g + (q - g0) * COUT, bz_winograd_plane(count, COUT), n,
                                    phase, th, tw);
            }
            for (int p = 0; p < 36; p++)
                for (int c0 = 0; c0 < CIN; c0 += $1_ww_wg_R)
                    for (int blk = 0; blk < COUT / $1_ww_wg_CB; blk++)
                        $1_weight_task(v, g, sums, count, p, c0, blk, g0 == first);
        }
        if (first == end)
            memset(sums, 0, sizeof(float) * KERNEL);
        #pragma omp barrier
        int threads = omp_get_num_threads();
        #pragma omp for schedule(static)
        for (long i = 0; i < KERNEL; i++) {
            float total = 0;
            for (int t = 0; t < threads; t++)
                total += buffer[t * (long)$1_lw_PER_THREAD + i];
            du[i] = total;
        }
    }
}

/* du[p] (+)= v[p]^T g[p] for the 36 positions: v [36][tiles][CIN],
 * g [36][tiles][COUT], du [36][CIN][COUT] */
static void $1_weight_products(const float *v, const float *g, float *du, long tiles, int first)
{
    enum { CIN = $2, COUT = $5, R = $1_ww_wg_R, BLOCKS = COUT / $1_ww_wg_CB,
           TASKS = (CIN + R - 1) / R };
    #pragma omp parallel for collapse(3) schedule(static)
    for (int p = 0; p < 36; p++)
        for (int t = 0; t < TASKS; t++)
            for (int blk = 0; blk < BLOCKS; blk++)
                $1_weight_task(v, g, du, tiles, p, t * R, blk, first);
}

/* the input gradient's kernel: w'[ci][i][j][co] = w[co][2 - i][2 - j][ci],
 * transformed and packed u' [36][CIN / CB][COUT][CB], 16 input channels
 * at a time */
static void $1_pack_flipped(const float *w, float *u)
{
    enum { CIN = $2, COUT = $5, CB = $1_wd_CB };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int ci = 0; ci < CIN; ci += 16)
        for (int co = 0; co < COUT; co++) {
            __m512 t[36];
            bz_winograd_kernel_transform_16(4, w + (long)co * 9 * CIN + ci, 1, CIN, 1, t);
            for (int p = 0; p < 36; p++)
                _mm512_storeu_ps(u + (long)p * CIN * COUT + ((long)(ci / CB) * COUT + co) * CB +
                                     ci % CB, t[p]);
        }
}

/* du [36][CIN][COUT] -> dw [COUT][3][3][CIN], 16 output channels at a
 * time (read in place; written through a [9][16] block, whose rows land
 * in the lines the next input channel writes too) */
static void $1_unpack_gradient(const float *du, float *dw)
{
    enum { CIN = $2, COUT = $5 };
    #pragma omp parallel for schedule(static)
    for (int co = 0; co < COUT; co += 16)
        for (int ci = 0; ci < CIN; ci++) {
            __m512 g[9];
            float block[9][16];
            bz_winograd_kernel_gradient_16(4, du + (long)ci * COUT + co, 1, (long)CIN * COUT, g);
            for (int k = 0; k < 9; k++)
                _mm512_storeu_ps(block[k], g[k]);
            for (int l = 0; l < 16; l++)
                for (int k = 0; k < 9; k++)
                    dw[((long)(co + l) * 9 + k) * CIN + ci] = block[k][l];
        }
}

/* du [36][CIN][COUT] = sum of V^T G over the batch, chunk by chunk */
static void $1_weight_gradient_chunks(const float *x, const float *dy, float *du, float *buffer,
                                      int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, TILES = $1_bw_TILES,
           SAMPLES = $1_bw_SAMPLES };
    for (int n0 = 0; n0 < batch; n0 += SAMPLES) {
        int samples = batch - n0 < SAMPLES ? batch - n0 : SAMPLES;
        long tiles = (long)samples * TILES;
        float *v = buffer, *g = buffer + 36 * bz_winograd_plane(tiles, CIN);
        $1_wx_input_transform(x + (long)n0 * H * W * CIN, v, samples);
        $1_wy_gradient_transform(dy + (long)n0 * HO * WO * COUT, g, samples);
        $1_weight_products(v, g, du, tiles, n0 == 0);
    }
}

bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, HAS_BIAS = $13,
           TILES = $1_bw_TILES, SAMPLES = $1_bw_SAMPLES, KERNEL = $1_bw_KERNEL };
    _Static_assert($1_bw_SAMPLES >= 1, "winograd conv: workspace too small");
    long M = (long)batch * HO * WO;
    /* two sweeps over the chunks, one kernel in the workspace at a time:
     * dU summed over every chunk (and unpacked into dw), then U' for dx
     * (both at once cost a second kernel: 56 MiB at 256 -> 1536
     * channels, an eighth of a training step's memory) */
    float *u = workspace, *buffer = workspace + KERNEL;
    if ($1_lw_local(batch))
        $1_lw_weight_gradient(x, dy, u, buffer, batch);
    else
        $1_weight_gradient_chunks(x, dy, u, buffer, batch);
    $1_unpack_gradient(u, dw);bz_conv2d_bias_gradient
    if (!dx)
        return;
    $1_pack_flipped(w, u);
    int stream = (long)batch * H * W * CIN > BZ_STREAM_FLOATS;
    if ($1_wd_local(batch)) {
        $1_wd_run_local(dy, u, NULL, dx, buffer, batch, accumulate_dx, stream);
        return;
    }
    for (int n0 = 0; n0 < batch; n0 += SAMPLES) {
        int samples = batch - n0 < SAMPLES ? batch - n0 : SAMPLES;
        long tiles = (long)samples * TILES;
        float *v = buffer, *g = buffer + 36 * bz_winograd_plane(tiles, CIN);
        $1_wd_input_transform(dy + (long)n0 * HO * WO * COUT, g, samples);
        $1_wd_products(g, u, v, tiles);
        $1_wd_output_transform(v, NULL, dx + (long)n0 * H * W * CIN, samples, accumulate_dx,
                               stream);
    }
}>])m4_dnl
m4_dnl
m4_dnl Deploy convs, F(4x4, 3x3), are transformed and packed once, by
m4_dnl deploy_fold, in place in the deploy arena (bzgen reserves the 36 / 9
m4_dnl larger kernel there).
m4_define([<bz_conv2d_winograd_deploy_body>], [<bz_winograd_forward([<$1_f4>], 4, m4_shift($@))

bz_entry([<void $1_prepack(float *w, float *workspace)>])
{
    $1_f4_pack_weights(w, workspace);
    memcpy(w, workspace, sizeof(float) * $1_f4_KERNEL);
}

bz_entry([<void $1_forward_packed(const float *x, const float *u, const float *b, float *y,
                                  float *workspace, int batch)>])
{
    $1_f4_run(x, u, b, y, workspace + $1_f4_KERNEL, batch);
}>])m4_dnl
m4_dnl
m4_dnl bzgen's "winograd_small_map": a deploy conv on a map of few F(4x4)
m4_dnl tiles keeps, after its F(4x4) kernel, the F(2x2) one of the training
m4_dnl forward (whose prefix_f2 functions the forward kernel defines), for
m4_dnl batches of fewer than SMALL_MAP_TILES F(4x4) tiles: there the time
m4_dnl is that of reading the kernel, 16 values per 3x3 instead of 36.
m4_define([<bz_conv2d_winograd_small_map_deploy_body>], [<bz_winograd_forward([<$1_f4>], 4, m4_shift($@))

bz_entry([<void $1_prepack(float *w, float *workspace)>])
{
    $1_f4_pack_weights(w, workspace);
    $1_f2_pack_weights(w, workspace + $1_f4_KERNEL);
    memcpy(w, workspace, sizeof(float) * ($1_f4_KERNEL + $1_f2_KERNEL));
}

bz_entry([<void $1_forward_packed(const float *x, const float *u, const float *b, float *y,
                                  float *workspace, int batch)>])
{
    enum { SMALL_MAP_TILES = 16 };  /* gen/op_conv2d.c's WINOGRAD_SMALL_MAP_TILES */
    if ((long)batch * $1_f4_TILES < SMALL_MAP_TILES)
        $1_f2_run(x, u + $1_f4_KERNEL, b, y, workspace + $1_f2_KERNEL, batch);
    else
        $1_f4_run(x, u, b, y, workspace + $1_f4_KERNEL, batch);
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
m4_define([<bz_conv2d_winograd_small_map_forward_kernel>], m4_defn([<bz_conv2d_winograd_forward_kernel>]))m4_dnl
m4_define([<bz_conv2d_winograd_small_map_backward_kernel>], m4_defn([<bz_conv2d_winograd_backward_kernel>]))m4_dnl
m4_define([<bz_conv2d_winograd_small_map_deploy_kernel>], [<
#if defined(__AVX512F__)
bz_conv2d_winograd_small_map_deploy_body($@)
#else
bz_conv2d_unpacked_deploy_kernel($@)
#endif>])m4_dnl
