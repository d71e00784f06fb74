m4_dnl bz_linear_kernels(name, in, out, bias, pixels, optimised algorithm,
m4_dnl workspace floats): x [B][pixels][in], w [out][in], y [B][pixels][out],
m4_dnl as torch.nn.Linear on every pixel; the workspace unused.
m4_define([<bz_linear_kernels>], [<
static void $1_forward(const real_t *x, const real_t *w, const real_t *b, real_t *y,
                       real_t *workspace, int batch)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long rows = (long)batch * $5;
    (void)workspace;
    for (long n = 0; n < rows; n++)
        for (int o = 0; o < OUT; o++) {
            double acc = HAS_BIAS ? b[o] : 0.0;
            for (int i = 0; i < IN; i++)
                acc += (double)x[(long)n * IN + i] * w[(long)o * IN + i];
            y[(long)n * OUT + o] = (real_t)acc;
        }
}

static void $1_backward(const real_t *x, const real_t *w, const real_t *dy, real_t *dx,
                        int accumulate_dx, real_t *dw, real_t *db, real_t *workspace,
                        int batch)
{
    enum { IN = $2, OUT = $3, HAS_BIAS = $4 };
    long rows = (long)batch * $5;
    (void)workspace;
    for (int o = 0; o < OUT; o++) {
        double sum_b = 0;
        for (int i = 0; i < IN; i++) {
            double sum_w = 0;
            for (long n = 0; n < rows; n++)
                sum_w += (double)dy[(long)n * OUT + o] * x[(long)n * IN + i];
            dw[(long)o * IN + i] = (real_t)sum_w;
        }
        for (long n = 0; n < rows; n++)
            sum_b += dy[(long)n * OUT + o];
        if (HAS_BIAS)
            db[o] = (real_t)sum_b;
    }
    for (long n = 0; dx && n < rows; n++)
        for (int i = 0; i < IN; i++) {
            double acc = 0;
            for (int o = 0; o < OUT; o++)
                acc += (double)dy[(long)n * OUT + o] * w[(long)o * IN + i];
            dx[(long)n * IN + i] = (real_t)(accumulate_dx ? dx[(long)n * IN + i] + acc : acc);
        }
}>])m4_dnl
m4_dnl bz_linear_deploy_kernel(the same arguments): the deploy conv's
m4_dnl prepack (here none) and forward on the prepacked weights.
m4_define([<bz_linear_deploy_kernel>], m4_defn([<bz_conv2d_unpacked_deploy_kernel>]))m4_dnl
