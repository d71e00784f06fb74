m4_dnl bz_linear_kernels(name, in, out, bias, pixels, optimised algorithm,
m4_dnl workspace floats, act, residual): x [B][pixels][in], w [out][in],
m4_dnl y [B][pixels][out], as torch.nn.Linear on every pixel; the workspace
m4_dnl unused.  The forward (bz_linear_forward_kernel alone: a deploy
m4_dnl step's) adds what y holds where residual is 1 and applies act, a
m4_dnl constant of runtime/kernels/bz_activation.h, as it stores y.
m4_dnl Every sum is in double, adding its terms in the order of the index it
m4_dnl runs over; the loops innermost run over independent sums (a
m4_dnl transposed copy of w in the forward), so that they vectorise.
m4_define([<bz_linear_forward_kernel>], [<
bz_entry([<void $1_forward(const real_t *x, const real_t *w, const real_t *b, real_t *y,
                           real_t *workspace, int batch)>])
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4, ACT = $8, RESIDUAL = $9 };
    long rows = (long)batch * $5;
    /* wt [IN][OUT]: w transposed; acc [OUT]: one row's sums */
    real_t *wt = bz_xmalloc(sizeof *wt * IN * OUT);
    double *acc = bz_xmalloc(sizeof *acc * OUT);
    (void)workspace;
    for (int o = 0; o < OUT; o++)
        for (int i = 0; i < IN; i++)
            wt[(long)i * OUT + o] = w[(long)o * IN + i];
    for (long n = 0; n < rows; n++) {
        for (int o = 0; o < OUT; o++)
            acc[o] = HAS_BIAS ? b[o] : 0.0;
        for (int i = 0; i < IN; i++)
            for (int o = 0; o < OUT; o++)
                acc[o] += (double)x[n * IN + i] * wt[(long)i * OUT + o];
        for (int o = 0; o < OUT; o++)
            y[n * OUT + o] = (real_t)bz_activate_double(
                ACT, acc[o] + (RESIDUAL ? (double)y[n * OUT + o] : 0.0));
    }
    free(acc);
    free(wt);
}>])m4_dnl
m4_define([<bz_linear_backward_kernel>], [<
bz_entry([<void $1_backward(const real_t *x, const real_t *w, const real_t *dy, real_t *dx,
                            int accumulate_dx, real_t *dw, real_t *db, real_t *workspace,
                            int batch)>])
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long rows = (long)batch * $5;
    /* sum_w [OUT][IN], sum_b [OUT]: the parameter gradients' sums over
     * rows; sum_x [IN]: one row's input gradient */
    double *sum_w = bz_xcalloc((size_t)OUT * IN, sizeof *sum_w);
    double *sum_b = bz_xcalloc(OUT, sizeof *sum_b);
    double *sum_x = bz_xmalloc(sizeof *sum_x * IN);
    (void)workspace;
    for (long n = 0; n < rows; n++)
        for (int o = 0; o < OUT; o++) {
            double d = dy[n * OUT + o];
            sum_b[o] += d;
            for (int i = 0; i < IN; i++)
                sum_w[(long)o * IN + i] += d * x[n * IN + i];
        }
    for (long k = 0; k < (long)OUT * IN; k++)
        dw[k] = (real_t)sum_w[k];
    for (int o = 0; HAS_BIAS && o < OUT; o++)
        db[o] = (real_t)sum_b[o];
    for (long n = 0; dx && n < rows; n++) {
        for (int i = 0; i < IN; i++)
            sum_x[i] = 0;
        for (int o = 0; o < OUT; o++)
            for (int i = 0; i < IN; i++)
                sum_x[i] += (double)dy[n * OUT + o] * w[(long)o * IN + i];
        for (int i = 0; i < IN; i++)
            dx[n * IN + i] = (real_t)(accumulate_dx ? dx[n * IN + i] + sum_x[i] : sum_x[i]);
    }
    free(sum_x);
    free(sum_b);
    free(sum_w);
}>])m4_dnl
m4_define([<bz_linear_kernels>], [<bz_linear_forward_kernel($@)
bz_linear_backward_kernel($@)>])m4_dnl
m4_dnl bz_linear_deploy_kernel(the same arguments): the deploy conv's
m4_dnl prepack (here none) and forward on the prepacked weights.
m4_define([<bz_linear_deploy_kernel>], m4_defn([<bz_conv2d_unpacked_deploy_kernel>]))m4_dnl
