m4_dnl bz_conv2d_forward_kernel(name, cin, h, w, cout, ho, wo, kh, kw,
m4_dnl     stride, pad, groups, bias, chunk, workspace, algorithm, cuda_algorithm,
m4_dnl     dilation, relu)
m4_dnl relu 1: the output through a ReLU (a deploy conv whose ReLU bzgen fused).
m4_dnl x [B][h][w][cin], w [cout][kh][kw][cin/groups], y [B][ho][wo][cout].
m4_dnl bzgen chooses the algorithm of each backend (gen/op_conv2d.c) and
m4_dnl sizes the workspace (floats) for it; chunk is the samples per im2col
m4_dnl GEMM.  Here every algorithm is the same loop nest.
m4_define([<bz_conv2d_forward_kernel>], [<
static void $1_forward(const real_t *x, const real_t *w, const real_t *b, real_t *y,
                       real_t *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, PAD = $11, GROUPS = $12, HAS_BIAS = $13, DIL = $18, RELU = $19 };
    enum { CIN_G = CIN / GROUPS, COUT_G = COUT / GROUPS };
    (void)workspace;
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++)
                for (int co = 0; co < COUT; co++) {
                    int g = co / COUT_G;
                    double acc = HAS_BIAS ? b[co] : 0.0;
                    for (int i = 0; i < KH; i++)
                        for (int j = 0; j < KW; j++) {
                            int ih = oh * STRIDE - PAD + i * DIL, iw = ow * STRIDE - PAD + j * DIL;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                continue;
                            const real_t *xp = x + (((long)n * H + ih) * W + iw) * CIN + g * CIN_G;
                            const real_t *wp = w + ((long)(co * KH + i) * KW + j) * CIN_G;
                            for (int ci = 0; ci < CIN_G; ci++)
                                acc += (double)xp[ci] * wp[ci];
                        }
                    real_t v = (real_t)acc;
                    y[(((long)n * HO + oh) * WO + ow) * COUT + co] = RELU && !(v > 0) ? 0 : v;
                }
}>])m4_dnl
m4_dnl bz_conv2d_backward_kernel(same arguments): writes dw (and db), and
m4_dnl dx unless it is NULL (the network input); accumulate_dx adds to dx.
m4_define([<bz_conv2d_backward_kernel>], [<
static void $1_backward(const real_t *x, const real_t *w, const real_t *dy, real_t *dx,
                        int accumulate_dx, real_t *dw, real_t *db, real_t *workspace, int batch)
{
    enum { CIN = $2, H = $3, W = $4, COUT = $5, HO = $6, WO = $7, KH = $8, KW = $9,
           STRIDE = $10, PAD = $11, GROUPS = $12, HAS_BIAS = $13, DIL = $18 };
    enum { CIN_G = CIN / GROUPS, COUT_G = COUT / GROUPS };
    (void)workspace;
    if (dx && !accumulate_dx)
        memset(dx, 0, sizeof(real_t) * (size_t)batch * H * W * CIN);
    memset(dw, 0, sizeof(real_t) * (size_t)COUT * KH * KW * CIN_G);
    if (HAS_BIAS)
        memset(db, 0, sizeof(real_t) * COUT);
    for (int n = 0; n < batch; n++)
        for (int oh = 0; oh < HO; oh++)
            for (int ow = 0; ow < WO; ow++)
                for (int co = 0; co < COUT; co++) {
                    int g = co / COUT_G;
                    real_t d = dy[(((long)n * HO + oh) * WO + ow) * COUT + co];
                    if (HAS_BIAS)
                        db[co] += d;
                    for (int i = 0; i < KH; i++)
                        for (int j = 0; j < KW; j++) {
                            int ih = oh * STRIDE - PAD + i * DIL, iw = ow * STRIDE - PAD + j * DIL;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                continue;
                            long xo = (((long)n * H + ih) * W + iw) * CIN + g * CIN_G;
                            long wo = ((long)(co * KH + i) * KW + j) * CIN_G;
                            for (int ci = 0; ci < CIN_G; ci++) {
                                dw[wo + ci] += d * x[xo + ci];
                                if (dx)
                                    dx[xo + ci] += d * w[wo + ci];
                            }
                        }
                }
}>])m4_dnl
m4_dnl bz_conv2d_deploy_kernel(same arguments): deploy_fold's prepack and
m4_dnl the forward on prepacked weights, for a deploy conv that the optimised
m4_dnl backend packs once (tiled, winograd); here the weights stay as they are.
m4_define([<bz_conv2d_unpacked_deploy_kernel>], [<
static void $1_prepack(real_t *w, real_t *workspace)
{
    (void)w, (void)workspace;
}

static void $1_forward_packed(const real_t *x, const real_t *w, const real_t *b, real_t *y,
                              real_t *workspace, int batch)
{
    $1_forward(x, w, b, y, workspace, batch);
}>])m4_dnl
m4_define([<bz_conv2d_deploy_kernel>], m4_defn([<bz_conv2d_unpacked_deploy_kernel>]))m4_dnl
