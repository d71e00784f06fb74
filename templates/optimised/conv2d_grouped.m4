m4_dnl Grouped convolutions with narrow groups, bzgen's "grouped": undilated,
m4_dnl groups > 1, at most 16 input channels per group.  A depthwise conv
m4_dnl (a channel multiplier included) is the case G_IN = 1.  With
m4_dnl G_IN = CIN / groups and G_OUT = COUT / groups, output channel co
m4_dnl reads input channels (co / G_OUT) G_IN + gi, gi < G_IN.
m4_dnl
m4_dnl The vector paths (AVX-512, 16n output channels, G_OUT dividing 16,
m4_dnl G_IN <= G_OUT) take 16 output channels at a time: the LANES_IN =
m4_dnl 16 G_IN / G_OUT input channels they read are one masked load, and
m4_dnl input gi of every lane's group is a lane permute of it
m4_dnl (bz_group_lanes); a plain depthwise conv needs no permute.  Other
m4_dnl shapes run loops along contiguous channels for the compiler to
m4_dnl vectorise.
m4_dnl
m4_dnl The weights are transposed per call to wt [KH][KW][G_IN][COUT] (the
m4_dnl forward and the scalar backward) or, for the vector input gradient,
m4_dnl to wtx [KH][KW][G_OUT][CIN]: entry o of input channel ci is the
m4_dnl weight of the o-th output of ci's group on ci.
m4_define([<bz_conv2d_grouped_sizes>], [<
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           KHW = $8 * $9, STRIDE = $10, PAD = $11, HAS_BIAS = $13, ACT = $19, G_IN = $2 / $12,
           G_OUT = $5 / $12, LANES_IN = G_IN <= G_OUT ? 16 * G_IN / G_OUT : 16,
           PLAIN = G_IN == 1 && G_OUT == 1, WEIGHTS = KHW * G_IN * COUT,
           VECTOR = COUT % 16 == 0 && 16 % G_OUT == 0 && G_IN <= G_OUT };>])m4_dnl
m4_define([<bz_conv2d_grouped_transpose>], [<
/* w [COUT][KH][KW][G_IN] -> wt [KH][KW][G_IN][COUT] */
static void $1_transpose(const float *w, float *wt)
{bz_conv2d_grouped_sizes($@)
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KHW; k++)
            for (int gi = 0; gi < G_IN; gi++)
                wt[((long)k * G_IN + gi) * COUT + co] = w[((long)co * KHW + k) * G_IN + gi];
}>])m4_dnl
m4_dnl
m4_dnl The forward, an output row at a time.  On the vector path, 8 (then
m4_dnl 4) pixels at a time, an accumulator per pixel in a zmm register: the
m4_dnl row's interior (pixels whose taps all lie inside the input) without a
m4_dnl test, its border pixels skipping the taps outside (a 7x7 conv on an
m4_dnl 8x8 map has 6 border pixels a row).  Shapes without a vector path go
m4_dnl pixel by pixel along contiguous channels with the accumulator in y.
m4_dnl Both sum the taps in the same order, and apply the deploy graph's
m4_dnl fused ReLU (argument 19) to the sums.
m4_define([<bz_conv2d_grouped_forward_kernel>], [<bz_conv2d_grouped_transpose($@)

/* y [COUT] of output pixel (oh, ow) of sample xn [H][W][CIN] */
static inline void $1_pixel(const float *xn, const float *wt, const float *b, float *acc,
                            int oh, int ow)
{bz_conv2d_grouped_sizes($@)
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
            const float *wq = wt + (long)(i * KW + j) * G_IN * COUT;
            for (int gi = 0; gi < G_IN; gi++)
                #pragma omp simd
                for (int co = 0; co < COUT; co++)
                    acc[co] += xp[co / G_OUT * G_IN + gi] * wq[gi * COUT + co];
        }
    }
    if ((int)ACT != BZ_ACT_NONE)
        #pragma omp simd
        for (int co = 0; co < COUT; co++)
            acc[co] = bz_activate(ACT, acc[co]);
}

#if defined(__AVX512F__)
/* r (<= 8; 8 or 4 make it a constant where inlined) output pixels from
 * ow0 on, all channels: y [r][COUT].  With edge, a tap whose column lies
 * outside the input is skipped (the row's border pixels); without, every
 * column is inside (its interior). */
static inline __attribute__((always_inline)) void
$1_pixels(const float *xn, const float *wt, const float *b, float *y, int oh, int ow0, int r,
          int edge)
{bz_conv2d_grouped_sizes($@)
    enum { P = 8 };
    const __mmask16 inputs = (__mmask16)((1u << LANES_IN) - 1);
    for (int c = 0; c < COUT; c += 16) {
        __m512 acc[P];
        #pragma GCC unroll 8
        for (int p = 0; p < P; p++)
            acc[p] = HAS_BIAS ? _mm512_loadu_ps(b + c) : _mm512_setzero_ps();
        for (int i = 0; i < KH; i++) {
            int ih = oh * STRIDE - PAD + i;
            if (ih < 0 || ih >= H)
                continue;
            for (int j = 0; j < KW; j++) {
                __m512 wv[G_IN];
                #pragma GCC unroll 16
                for (int gi = 0; gi < G_IN; gi++)
                    wv[gi] = _mm512_loadu_ps(wt + ((long)(i * KW + j) * G_IN + gi) * COUT + c);
                #pragma GCC unroll 8
                for (int p = 0; p < P; p++) {
                    if (p >= r)
                        break;
                    int iw = (ow0 + p) * STRIDE - PAD + j;
                    if (edge && (iw < 0 || iw >= W))
                        continue;
                    const float *xp = xn + ((long)ih * W + iw) * CIN + c / G_OUT * G_IN;
                    __m512 xv = PLAIN ? _mm512_loadu_ps(xp) : _mm512_maskz_loadu_ps(inputs, xp);
                    #pragma GCC unroll 16
                    for (int gi = 0; gi < G_IN; gi++) {
                        __m512 xg = PLAIN ? xv : _mm512_permutexvar_ps(
                                                     bz_group_lanes(G_OUT, G_IN, gi), xv);
                        acc[p] = _mm512_fmadd_ps(xg, wv[gi], acc[p]);
                    }
                }
            }
        }
        #pragma GCC unroll 8
        for (int p = 0; p < P; p++) {
            if (p >= r)
                break;
            _mm512_storeu_ps(y + (long)p * COUT + c,
                             bz_activate16(ACT, acc[p]));
        }
    }
}

/* the border pixels [ow, end) of a row, up to 8 at a time */
static void $1_edge(const float *xn, const float *wt, const float *b, float *yrow, int oh,
                    int ow, int end)
{
    enum { COUT = $5 };
    for (; ow < end; ow += 8)
        $1_pixels(xn, wt, b, yrow + (long)ow * COUT, oh, ow, end - ow < 8 ? end - ow : 8, 1);
}
#endif

/* the forward on the transposed weights wt [KH][KW][G_IN][COUT] */
static void $1_run(const float *x, const float *wt, const float *b, float *y, int batch)
{bz_conv2d_grouped_sizes($@)
    /* the interior: output columns [LO, HI) read columns >= 0 and < W */
    enum { LO = (PAD + STRIDE - 1) / STRIDE, HI = (W - KW + PAD) / STRIDE + 1 };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < HO; oh++) {
            const float *xn = x + (long)n * H * W * CIN;
            float *yrow = y + ((long)n * HO + oh) * WO * COUT;
            int ow = 0;
#if defined(__AVX512F__)
            if (VECTOR) {
                ow = (int)LO < (int)WO ? LO : WO;
                $1_edge(xn, wt, b, yrow, oh, 0, ow);
                for (; ow + 8 <= HI; ow += 8)
                    $1_pixels(xn, wt, b, yrow + (long)ow * COUT, oh, ow, 8, 0);
                for (; ow + 4 <= HI; ow += 4)
                    $1_pixels(xn, wt, b, yrow + (long)ow * COUT, oh, ow, 4, 0);
                $1_edge(xn, wt, b, yrow, oh, ow, WO);
                ow = WO;
            }
#endif
            for (; ow < WO; ow++)
                $1_pixel(xn, wt, b, yrow + (long)ow * COUT, oh, ow);
        }
}

/* unused where only the deploy graph calls this conv (forward_packed) */
bz_entry([<void $1_forward(const float *x, const float *w, const float *b,
                           float *y, float *workspace, int batch)>])
{bz_conv2d_grouped_sizes($@)
    _Static_assert(!$20, "grouped conv: bzgen adds a residual only in dense convs");
    float wt[WEIGHTS];
    (void)workspace;
    $1_transpose(w, wt);
    $1_run(x, wt, b, y, batch);
}>])m4_dnl
m4_dnl
m4_dnl The deploy form: deploy_fold transposes the weights once, in place
m4_dnl (through a copy on the stack, as the forward does per call).
m4_define([<bz_conv2d_grouped_deploy_kernel>], [<
bz_entry([<void $1_prepack(float *w, float *workspace)>])
{bz_conv2d_grouped_sizes($@)
    float wt[WEIGHTS];
    (void)workspace;
    $1_transpose(w, wt);
    memcpy(w, wt, sizeof wt);
}

bz_entry([<void $1_forward_packed(const float *x, const float *wt, const float *b, float *y,
                                  float *workspace, int batch)>])
{
    (void)workspace;
    $1_run(x, wt, b, y, batch);
}>])m4_dnl
m4_dnl
m4_dnl The backward (emitted with the forward, whose $1_transpose it uses)
m4_dnl splits the batch between the threads: each writes its
m4_dnl samples' dx and sums its own part of the weight gradient, acc
m4_dnl [KH][KW][G_IN][COUT]; the parts are added in thread order, so the
m4_dnl result is fixed for a given thread count.
m4_dnl The vector path sweeps a sample twice: the weight gradient tap by
m4_dnl tap over the output rectangle the tap reaches inside the input, its
m4_dnl sums in registers; the input gradient pixel by pixel, the pixel's dy
m4_dnl permuted once for all its taps.  Other shapes sweep the pixels once
m4_dnl along contiguous channels.
m4_define([<bz_conv2d_grouped_backward_kernel>], [<

static void $1_backward_loops(const float *x, const float *wt, const float *dy, float *dx,
                              float *acc, int n0, int n1)
{bz_conv2d_grouped_sizes($@)
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
                        const float *wq = wt + (long)(i * KW + j) * G_IN * COUT;
                        float *a = acc + (long)(i * KW + j) * G_IN * COUT;
                        for (int gi = 0; gi < G_IN; gi++)
                            #pragma omp simd
                            for (int co = 0; co < COUT; co++)
                                a[gi * COUT + co] += g[co] * x[q + co / G_OUT * G_IN + gi];
                        if (!dx)
                            continue;
                        /* input ci feeds the G_OUT outputs of its group */
                        #pragma omp simd
                        for (int ci = 0; ci < CIN; ci++) {
                            int first = ci / G_IN * G_OUT;
                            const float *wc = wq + (ci % G_IN) * COUT + first;
                            float sum = 0.0f;
                            #pragma GCC unroll 16
                            for (int o = 0; o < G_OUT; o++)
                                sum += g[first + o] * wc[o];
                            dx[q + ci] += sum;
                        }
                    }
                }
            }
}

#if defined(__AVX512F__)
/* The output rows (or columns) [*lo, *hi) whose tap i reads inside the
 * input's `size` rows. */
static inline void $1_tap_range(int i, int size, int out_size, int *lo, int *hi)
{bz_conv2d_grouped_sizes($@)
    int last = size - 1 + PAD - i;
    *lo = PAD - i > 0 ? (PAD - i + STRIDE - 1) / STRIDE : 0;
    *hi = last < 0 ? 0 : last / STRIDE + 1;
    *hi = *hi > out_size ? out_size : *hi;
}

/* acc [KHW][G_IN][COUT] += the weight gradient of sample xn, dyn */
static void $1_weight_gradient_sample(const float *xn, const float *dyn, float *acc)
{bz_conv2d_grouped_sizes($@)
    /* independent sums per input of a group, to cover the FMA latency */
    enum { U = G_IN >= 4 ? 1 : 4 / G_IN };
    const __mmask16 inputs = (__mmask16)((1u << LANES_IN) - 1);
    for (int c = 0; c < COUT; c += 16)
        for (int i = 0; i < KH; i++)
            for (int j = 0; j < KW; j++) {
                int oh_lo, oh_hi, ow_lo, ow_hi;
                $1_tap_range(i, H, HO, &oh_lo, &oh_hi);
                $1_tap_range(j, W, WO, &ow_lo, &ow_hi);
                __m512 s[U][G_IN];
                for (int u = 0; u < U; u++)
                    for (int gi = 0; gi < G_IN; gi++)
                        s[u][gi] = _mm512_setzero_ps();
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *xr = xn + ((long)(oh * STRIDE - PAD + i) * W - PAD + j) * CIN +
                                      c / G_OUT * G_IN;
                    const float *gr = dyn + (long)oh * WO * COUT + c;
                    for (int ow = ow_lo; ow < ow_hi; ow++) {
                        int u = U == 1 ? 0 : (ow - ow_lo) % U;
                        __m512 g = _mm512_loadu_ps(gr + (long)ow * COUT);
                        const float *xp = xr + (long)ow * STRIDE * CIN;
                        __m512 xv = PLAIN ? _mm512_loadu_ps(xp) : _mm512_maskz_loadu_ps(inputs, xp);
                        #pragma GCC unroll 16
                        for (int gi = 0; gi < G_IN; gi++) {
                            __m512 xg = PLAIN ? xv : _mm512_permutexvar_ps(
                                                         bz_group_lanes(G_OUT, G_IN, gi), xv);
                            s[u][gi] = _mm512_fmadd_ps(g, xg, s[u][gi]);
                        }
                    }
                }
                for (int gi = 0; gi < G_IN; gi++) {
                    __m512 sum = s[0][gi];
                    for (int u = 1; u < U; u++)
                        sum = _mm512_add_ps(sum, s[u][gi]);
                    float *a = acc + ((long)(i * KW + j) * G_IN + gi) * COUT + c;
                    _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), sum));
                }
            }
}

/* dxn += the input gradient of sample dyn, wtx [KHW][G_OUT][CIN] */
static void $1_input_gradient_sample(const float *dyn, const float *wtx, float *dxn)
{bz_conv2d_grouped_sizes($@)
    const __mmask16 inputs = (__mmask16)((1u << LANES_IN) - 1);
    for (int oh = 0; oh < HO; oh++)
        for (int ow = 0; ow < WO; ow++)
            for (int c = 0; c < COUT; c += 16) {
                int c_in = c / G_OUT * G_IN;
                __m512 g = _mm512_loadu_ps(dyn + ((long)oh * WO + ow) * COUT + c);
                __m512 gp[G_OUT];
                #pragma GCC unroll 16
                for (int o = 0; o < G_OUT; o++)
                    gp[o] = PLAIN ? g : _mm512_permutexvar_ps(bz_group_lanes(G_IN, G_OUT, o), g);
                for (int i = 0; i < KH; i++) {
                    int ih = oh * STRIDE - PAD + i;
                    if (ih < 0 || ih >= H)
                        continue;
                    for (int j = 0; j < KW; j++) {
                        int iw = ow * STRIDE - PAD + j;
                        if (iw < 0 || iw >= W)
                            continue;
                        float *d = dxn + ((long)ih * W + iw) * CIN + c_in;
                        const float *wq = wtx + (long)(i * KW + j) * G_OUT * CIN + c_in;
                        __m512 v = _mm512_maskz_loadu_ps(inputs, d);
                        #pragma GCC unroll 16
                        for (int o = 0; o < G_OUT; o++)
                            v = _mm512_fmadd_ps(gp[o], _mm512_maskz_loadu_ps(inputs, wq + o * CIN),
                                                v);
                        _mm512_mask_storeu_ps(d, inputs, v);
                    }
                }
            }
}
#endif

/* w [COUT][KH][KW][G_IN] -> wtx [KH][KW][G_OUT][CIN] */
static __attribute__((unused)) void $1_transpose_for_input(const float *w, float *wtx)
{bz_conv2d_grouped_sizes($@)
    for (int k = 0; k < KHW; k++)
        for (int o = 0; o < G_OUT; o++)
            for (int ci = 0; ci < CIN; ci++)
                wtx[((long)k * G_OUT + o) * CIN + ci] =
                    w[((long)(ci / G_IN * G_OUT + o) * KHW + k) * G_IN + ci % G_IN];
}

/* wt: the vector path's wtx, else the loops' wt */
static void $1_backward_samples(const float *x, const float *wt, const float *dy, float *dx,
                                float *acc, int n0, int n1)
{bz_conv2d_grouped_sizes($@)
#if defined(__AVX512F__)
    if (VECTOR) {
        for (int n = n0; n < n1; n++) {
            $1_weight_gradient_sample(x + (long)n * H * W * CIN, dy + (long)n * HO * WO * COUT,
                                      acc);
            if (dx)
                $1_input_gradient_sample(dy + (long)n * HO * WO * COUT, wt,
                                         dx + (long)n * H * W * CIN);
        }
        return;
    }
#endif
    $1_backward_loops(x, wt, dy, dx, acc, n0, n1);
}

bz_entry([<void $1_backward(const float *x, const float *w, const float *dy, float *dx,
                            int accumulate_dx, float *dw, float *db, float *workspace, int batch)>])
{bz_conv2d_grouped_sizes($@)
    long M = (long)batch * HO * WO;
    float wt[KHW * G_IN * COUT];
    (void)workspace;
#if defined(__AVX512F__)
    if (VECTOR)
        $1_transpose_for_input(w, wt);
    else
#endif
        $1_transpose(w, wt);
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(float) * (size_t)batch * H * W * CIN);
    int threads = omp_get_max_threads();
    float *parts = calloc((size_t)threads * KHW * G_IN * COUT, sizeof(float));
    if (!parts)
        abort();
    #pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        $1_backward_samples(x, wt, dy, dx, parts + (long)t * KHW * G_IN * COUT,
                            (int)((long)batch * t / nt), (int)((long)batch * (t + 1) / nt));
    }
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KHW; k++)
            for (int gi = 0; gi < G_IN; gi++) {
                float sum = 0.0f;
                for (int t = 0; t < threads; t++)
                    sum += parts[(((long)t * KHW + k) * G_IN + gi) * COUT + co];
                dw[((long)co * KHW + k) * G_IN + gi] = sum;
            }
    free(parts);bz_conv2d_bias_gradient
}>])m4_dnl
