m4_dnl bz_conv2d_forward_kernel(name, cin, h, w, cout, ho, wo, kh, kw,
m4_dnl     stride, pad, groups, bias, chunk, workspace, algorithm, cuda_algorithm,
m4_dnl     dilation, act, residual)
m4_dnl act: the activation the output goes through, a constant of
m4_dnl runtime/kernels/bz_activation.h (BZ_ACT_NONE, or a deploy conv's
m4_dnl activation that bzgen fused); residual 1: the output adds to what y
m4_dnl holds, before act (a deploy conv that absorbed the add after it).
m4_dnl x [B][h][w][cin], w [cout][kh][kw][cin/groups], y [B][ho][wo][cout].
m4_dnl bzgen chooses the algorithm of each backend (gen/op_conv2d.c) and
m4_dnl sizes the workspace (floats) for it; chunk is the samples per im2col
m4_dnl GEMM.  Here every algorithm is the same loop nest.
m4_define([<bz_conv2d_forward_kernel>], [<
enum { $1_CIN = $2, $1_H = $3, $1_W = $4, $1_COUT = $5, $1_HO = $6, $1_WO = $7, $1_KH = $8,
       $1_KW = $9, $1_STRIDE = $10, $1_PAD = $11, $1_GROUPS = $12, $1_HAS_BIAS = $13,
       $1_DIL = $18, $1_ACT = $19, $1_RESIDUAL = $20, $1_CIN_G = $2 / $12, $1_COUT_G = $5 / $12 };

/* The offset in x of the input pixel under tap (i, j) of output pixel
 * (oh, ow) of sample n, or -1 where the tap falls in the padding. */
static inline long $1_tap(int n, int oh, int ow, int i, int j)
{
    int ih = oh * $1_STRIDE - $1_PAD + i * $1_DIL, iw = ow * $1_STRIDE - $1_PAD + j * $1_DIL;
    if (ih < 0 || ih >= $1_H || iw < 0 || iw >= $1_W)
        return -1;
    return (((long)n * $1_H + ih) * $1_W + iw) * $1_CIN;
}

bz_entry([<void $1_forward(const real_t *x, const real_t *w, const real_t *b, real_t *y,
                           real_t *workspace, int batch)>])
{
    enum { KH = $1_KH, KW = $1_KW, COUT = $1_COUT, CIN_G = $1_CIN_G, COUT_G = $1_COUT_G };
    /* wt [GROUPS][KH][KW][CIN_G][COUT_G]: w with a group's output channels
     * innermost, so that the loop over them (independent sums) vectorises;
     * each sum still adds its terms in (i, j, ci) order, in double.
     * acc [COUT_G]: one output pixel's sums in one group. */
    real_t *wt = bz_xmalloc(sizeof *wt * (size_t)COUT * KH * KW * CIN_G);
    double *acc = bz_xmalloc(sizeof *acc * COUT_G);
    (void)workspace;
    for (int co = 0; co < COUT; co++)
        for (int k = 0; k < KH * KW; k++)
            for (int ci = 0; ci < CIN_G; ci++)
                wt[(((long)(co / COUT_G) * KH * KW + k) * CIN_G + ci) * COUT_G + co % COUT_G] =
                    w[((long)co * KH * KW + k) * CIN_G + ci];
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < $1_HO; oh++)
            for (int ow = 0; ow < $1_WO; ow++)
                for (int g = 0; g < $1_GROUPS; g++) {
                    for (int c = 0; c < COUT_G; c++)
                        acc[c] = $1_HAS_BIAS ? b[g * COUT_G + c] : 0.0;
                    for (int i = 0; i < KH; i++)
                        for (int j = 0; j < KW; j++) {
                            long xo = $1_tap(n, oh, ow, i, j);
                            if (xo < 0)
                                continue;
                            const real_t *xp = x + xo + g * CIN_G;
                            const real_t *wp = wt + ((long)(g * KH + i) * KW + j) * CIN_G * COUT_G;
                            for (int ci = 0; ci < CIN_G; ci++)
                                for (int c = 0; c < COUT_G; c++)
                                    acc[c] += (double)xp[ci] * wp[ci * COUT_G + c];
                        }
                    real_t *yp = y + (((long)n * $1_HO + oh) * $1_WO + ow) * COUT + g * COUT_G;
                    for (int c = 0; c < COUT_G; c++)
                        yp[c] = (real_t)bz_activate_double(
                            $1_ACT, acc[c] + ($1_RESIDUAL ? (double)yp[c] : 0.0));
                }
    free(acc);
    free(wt);
}>])m4_dnl
m4_dnl bz_conv2d_backward_kernel(same arguments): writes dw (and db), and
m4_dnl dx unless it is NULL (the network input); accumulate_dx adds to dx.
m4_dnl Each gradient has its own sweep over dy, adding its terms in
m4_dnl (n, oh, ow, co, i, j) order; restrict lets the loops over ci vectorise.
m4_dnl It uses the forward kernel's enum and tap, which bzgen always
m4_dnl instantiates with it.
m4_define([<bz_conv2d_backward_kernel>], [<
static void $1_backward_input(const real_t *restrict w, const real_t *restrict dy,
                              real_t *restrict dx, int batch)
{
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < $1_HO; oh++)
            for (int ow = 0; ow < $1_WO; ow++)
                for (int co = 0; co < $1_COUT; co++) {
                    real_t d = dy[(((long)n * $1_HO + oh) * $1_WO + ow) * $1_COUT + co];
                    for (int i = 0; i < $1_KH; i++)
                        for (int j = 0; j < $1_KW; j++) {
                            long xo = $1_tap(n, oh, ow, i, j);
                            if (xo < 0)
                                continue;
                            real_t *dxp = dx + xo + co / $1_COUT_G * $1_CIN_G;
                            const real_t *wp = w + ((long)(co * $1_KH + i) * $1_KW + j) * $1_CIN_G;
                            for (int ci = 0; ci < $1_CIN_G; ci++)
                                dxp[ci] += d * wp[ci];
                        }
                }
}

static void $1_backward_weight(const real_t *restrict x, const real_t *restrict dy,
                               real_t *restrict dw, real_t *restrict db, int batch)
{
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < $1_HO; oh++)
            for (int ow = 0; ow < $1_WO; ow++)
                for (int co = 0; co < $1_COUT; co++) {
                    real_t d = dy[(((long)n * $1_HO + oh) * $1_WO + ow) * $1_COUT + co];
                    if ($1_HAS_BIAS)
                        db[co] += d;
                    for (int i = 0; i < $1_KH; i++)
                        for (int j = 0; j < $1_KW; j++) {
                            long xo = $1_tap(n, oh, ow, i, j);
                            if (xo < 0)
                                continue;
                            const real_t *xp = x + xo + co / $1_COUT_G * $1_CIN_G;
                            real_t *dwp = dw + ((long)(co * $1_KH + i) * $1_KW + j) * $1_CIN_G;
                            for (int ci = 0; ci < $1_CIN_G; ci++)
                                dwp[ci] += d * xp[ci];
                        }
                }
}

bz_entry([<void $1_backward(const real_t *x, const real_t *w, const real_t *dy, real_t *dx,
                            int accumulate_dx, real_t *dw, real_t *db, real_t *workspace, int batch)>])
{
    (void)workspace;
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(real_t) * (size_t)batch * $1_H * $1_W * $1_CIN);
    memset(dw, 0, sizeof(real_t) * (size_t)$1_COUT * $1_KH * $1_KW * $1_CIN_G);
    if ($1_HAS_BIAS)
        memset(db, 0, sizeof(real_t) * $1_COUT);
    if (dx)
        $1_backward_input(w, dy, dx, batch);
    $1_backward_weight(x, dy, dw, db, batch);
}>])m4_dnl
m4_dnl bz_conv2d_deploy_kernel(same arguments): deploy_fold's prepack and
m4_dnl the forward on prepacked weights, for a deploy conv that the optimised
m4_dnl backend packs once (tiled, winograd); here the weights stay as they are.
m4_define([<bz_conv2d_unpacked_deploy_kernel>], [<
bz_entry([<void $1_prepack(real_t *w, real_t *workspace)>])
{
    (void)w, (void)workspace;
}

bz_entry([<void $1_forward_packed(const real_t *x, const real_t *w, const real_t *b, real_t *y,
                                  real_t *workspace, int batch)>])
{
    $1_forward(x, w, b, y, workspace, batch);
}>])m4_dnl
m4_define([<bz_conv2d_deploy_kernel>], m4_defn([<bz_conv2d_unpacked_deploy_kernel>]))m4_dnl
