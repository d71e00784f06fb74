m4_dnl Wrappers that turn one backend's kernels into op_case objects.
m4_dnl The including unit defines real_t, to_real, to_double, release,
m4_dnl new_counter and store_grad for its memory.

/* grads in: their previous values when accumulating */
static real_t *grad_buffer(const double *previous, long n, int accumulate)
{
    return to_real(accumulate ? previous : NULL, n);
}
m4_dnl
m4_dnl bz_conv_case_sizes(the arguments of bz_conv_case): the floats of x,
m4_dnl w, b, y and the workspace; NW_DEPLOY, the deploy arena's room for w
m4_dnl (a Winograd kernel is transformed there: 36 values per 3x3, on a
m4_dnl small map another 16).
m4_define([<bz_conv_case_sizes>], [<enum { $1_NX = $3 * $5 * $6 * $4, $1_NW = $7 * $10 * $11 * ($4 / $14), $1_NB = $15 ? $7 : 0,
       $1_NW_DEPLOY = $1_NW * (36 + 16) / 9 + 1,
       $1_NY = $3 * $8 * $9 * $7, $1_NWS = ($16 ? $16 : 1) * $8 * $9 * $10 * $11 * $4 };>])m4_dnl
m4_dnl
m4_dnl bz_conv_case(name, algorithm, batch, then the 13 arguments of
m4_dnl               bz_conv2d_forward_kernel after its name, CUDA algorithm,
m4_dnl               dilation):
m4_dnl the workspace passed is NWS, the size bzgen would reserve
m4_define([<bz_conv_case>], [<bz_conv_case_sizes($@)
bz_conv2d_forward_kernel([<$1>], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $1_NWS, [<$2>], [<$17>], $18, BZ_ACT_NONE, 0)
bz_conv2d_backward_kernel([<$1>], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $1_NWS, [<$2>], [<$17>], $18, BZ_ACT_NONE, 0)

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(in[1], $1_NW), *b = to_real(in[2], $1_NB);
    real_t *y = to_real(NULL, $1_NY), *ws = workspace($1_NWS);
    $1_forward(x, w, $15 ? b : NULL, y, ws, $3);
    to_double(y, out, $1_NY);
    release(x), release(w), release(b), release(y), release(ws);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(in[1], $1_NW), *g = to_real(dy, $1_NY);
    real_t *dx = grad_buffer(grads[0], $1_NX, accumulate), *dw = to_real(NULL, $1_NW);
    real_t *db = to_real(NULL, $1_NB), *ws = workspace($1_NWS);
    $1_backward(x, w, g, dx, accumulate, dw, $15 ? db : NULL, ws, $3);
    to_double(dx, grads[0], $1_NX);
    store_grad(dw, grads[1], $1_NW, accumulate);
    if ($15)
        store_grad(db, grads[2], $1_NB, accumulate);
    release(x), release(w), release(g), release(dx), release(dw), release(db), release(ws);
}

static const op_case $1_case = {"conv2d $1 ($2)", $3, $15 ? 3 : 2, {$1_NX, $1_NW, $1_NB},
                                $1_NY, 1, $1_case_forward, $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl bz_conv_deploy_case(name, algorithm, batch, then the 13 arguments,
m4_dnl CUDA algorithm, dilation, act, residual): the deploy form, weights
m4_dnl prepacked once and the forward run on them, through the fused
m4_dnl activation act (a constant of runtime/kernels/bz_activation.h);
m4_dnl residual 1: y holds a fourth input, the residual its output adds to.
m4_define([<bz_conv_deploy_case>], [<bz_conv_case_sizes($@)
bz_conv2d_forward_kernel([<$1>], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $1_NWS, [<$2>], [<$17>], $18, $19, $20)
bz_conv2d_deploy_kernel([<$1>], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $1_NWS, [<$2>], [<$17>], $18, $19, $20)

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(NULL, $1_NW_DEPLOY);
    real_t *b = to_real(in[2], $1_NB), *y = to_real($20 ? in[3] : NULL, $1_NY);
    real_t *ws = workspace($1_NWS);
    for (long i = 0; i < $1_NW; i++)
        w[i] = (real_t)in[1][i];
    $1_prepack(w, ws);
    $1_forward_packed(x, w, $15 ? b : NULL, y, ws, $3);
    to_double(y, out, $1_NY);
    release(x), release(w), release(b), release(y), release(ws);
}

static const op_case $1_case = {"conv2d $1 ($2, deploy: prepacked, $19, residual $20)", $3,
                                $20 ? 4 : $15 ? 3 : 2, {$1_NX, $1_NW, $1_NB, $1_NY}, $1_NY, 0,
                                $1_case_forward, NULL};>])m4_dnl
m4_dnl
m4_dnl bz_conv_act_case(the arguments of bz_conv_case, act, residual): the
m4_dnl forward with the deploy graph's fused activation act (and residual,
m4_dnl as bz_conv_deploy_case's), on weights as they are.
m4_define([<bz_conv_act_case>], [<bz_conv_case_sizes($@)
bz_conv2d_forward_kernel([<$1>], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $1_NWS, [<$2>], [<$17>], $18, $19, $20)

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(in[1], $1_NW), *b = to_real(in[2], $1_NB);
    real_t *y = to_real($20 ? in[3] : NULL, $1_NY), *ws = workspace($1_NWS);
    $1_forward(x, w, $15 ? b : NULL, y, ws, $3);
    to_double(y, out, $1_NY);
    release(x), release(w), release(b), release(y), release(ws);
}

static const op_case $1_case = {"conv2d $1 ($2, $19 fused, residual $20)", $3,
                                $20 ? 4 : $15 ? 3 : 2, {$1_NX, $1_NW, $1_NB, $1_NY}, $1_NY, 0,
                                $1_case_forward, NULL};>])m4_dnl
m4_dnl
m4_dnl bz_batchnorm_case(name, batch, channels, pixels, relu): train mode
m4_dnl (batch statistics) with backward, eval mode (fixed running
m4_dnl statistics), and the recompute from the saved statistics: it must give
m4_dnl the train forward's floats exactly (else its output is NaN, and fails).
m4_dnl relu 1: the ReLU after it applied by its kernels (gen/fuse.c), in the
m4_dnl train forward, the recompute and the backward.
m4_define([<bz_batchnorm_case>], [<bz_batchnorm2d_kernels([<$1>], $3, $4)
enum { $1_NX = $2 * $3 * $4 };

static void $1_train(const double *const *in, real_t *y, real_t *saved)
{
    real_t *x = to_real(in[0], $1_NX), *gamma = to_real(in[1], $3), *beta = to_real(in[2], $3);
    real_t *mean = to_real(NULL, $3), *var = to_real(NULL, $3);
    int64_t *count = new_counter();
    $1_forward_train(x, gamma, beta, y, saved, mean, var, count, 1e-5, 0.1, $5, $2);
    release(x), release(gamma), release(beta), release(mean), release(var), release(count);
}

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *y = to_real(NULL, $1_NX), *saved = to_real(NULL, 4 * $3);
    $1_train(in, y, saved);
    to_double(y, out, $1_NX);
    release(y), release(saved);
}

static void $1_recompute_case_forward(const double *const *in, double *out)
{
    real_t *y = to_real(NULL, $1_NX), *saved = to_real(NULL, 4 * $3);
    $1_train(in, y, saved);
    real_t *x = to_real(in[0], $1_NX), *gamma = to_real(in[1], $3), *beta = to_real(in[2], $3);
    real_t *again = to_real(NULL, $1_NX);
    $1_recompute(x, gamma, beta, saved, again, $5, $2);
    double *first = (double *)malloc($1_NX * sizeof *first);
    to_double(y, first, $1_NX);
    to_double(again, out, $1_NX);
    for (long i = 0; i < $1_NX; i++)
        if (out[i] != first[i])
            out[i] = NAN;
    free(first);
    release(y), release(saved), release(x), release(gamma), release(beta), release(again);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *y = to_real(NULL, $1_NX), *saved = to_real(NULL, 4 * $3);
    $1_train(in, y, saved);
    real_t *x = to_real(in[0], $1_NX), *gamma = to_real(in[1], $3), *beta = to_real(in[2], $3);
    real_t *g = to_real(dy, $1_NX), *dx = grad_buffer(grads[0], $1_NX, accumulate);
    real_t *dgamma = to_real(NULL, $3), *dbeta = to_real(NULL, $3);
    $1_backward(x, gamma, beta, saved, g, dx, accumulate, dgamma, dbeta, $5, $2);
    to_double(dx, grads[0], $1_NX);
    store_grad(dgamma, grads[1], $3, accumulate);
    store_grad(dbeta, grads[2], $3, accumulate);
    release(y), release(saved), release(x), release(gamma), release(beta), release(g);
    release(dx), release(dgamma), release(dbeta);
}

static void $1_eval_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *gamma = to_real(in[1], $3), *beta = to_real(in[2], $3);
    real_t *mean = to_real(NULL, $3), *var = to_real(NULL, $3), *y = to_real(NULL, $1_NX);
    for (int c = 0; c < $3; c++) {
        mean[c] = (real_t)(0.1 * c - 0.2);
        var[c] = (real_t)(0.5 + 0.25 * c);
    }
    $1_forward_eval(x, gamma, beta, mean, var, y, 1e-5, $2);
    to_double(y, out, $1_NX);
    release(x), release(gamma), release(beta), release(mean), release(var), release(y);
}

static const op_case $1_case = {"batchnorm2d train $1", $2, 3, {$1_NX, $3, $3}, $1_NX, 1,
                                $1_case_forward, $1_case_backward};
static const op_case $1_eval_case = {"batchnorm2d eval $1", $2, 3, {$1_NX, $3, $3}, $1_NX, 0,
                                     $1_eval_case_forward, NULL};
static const op_case $1_recompute_case = {"batchnorm2d recompute $1", $2, 3, {$1_NX, $3, $3},
                                          $1_NX, 0, $1_recompute_case_forward, NULL};>])m4_dnl
m4_dnl
m4_dnl bz_add_affine_case(name, batch, channels, pixels, affine_b, relu): the
m4_dnl residual sum that applies the BatchNorms before it (gen/fuse.c):
m4_dnl a's BatchNorm (and b's where affine_b is 1, else b as it is) compute
m4_dnl their batch statistics alone, then the sum applies them, through the
m4_dnl ReLU after it where relu is 1.  Inputs a, b and [4][C]: gamma and beta
m4_dnl of a's BatchNorm, then of b's.  Forward only (the backward is the
m4_dnl add's and the BatchNorms' own).
m4_define([<bz_add_affine_case>], [<bz_batchnorm2d_kernels([<$1_bn>], $3, $4)
bz_add_affine_kernels([<$1>], $3, $4)
enum { $1_NX = $2 * $3 * $4 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *a = to_real(in[0], $1_NX), *b = to_real(in[1], $1_NX), *p = to_real(in[2], 4 * $3);
    real_t *saved_a = to_real(NULL, 4 * $3), *saved_b = to_real(NULL, 4 * $3);
    real_t *mean = to_real(NULL, $3), *var = to_real(NULL, $3), *y = to_real(NULL, $1_NX);
    int64_t *count = new_counter();
    (void)$1_bn_forward_eval, (void)$1_bn_backward;    /* the BatchNorm's other kernels */
    $1_bn_statistics_train(a, p, p + $3, saved_a, mean, var, count, 1e-5, 0.1, $2);
    $1_bn_statistics_train(b, p + 2 * $3, p + 3 * $3, saved_b, mean, var, count, 1e-5, 0.1, $2);
    $1_forward(a, p, p + $3, saved_a, b, p + 2 * $3, p + 3 * $3, $5 ? saved_b : NULL, y, $6, $2);
    to_double(y, out, $1_NX);
    release(a), release(b), release(p), release(saved_a), release(saved_b), release(mean);
    release(var), release(y), release(count);
}

static const op_case $1_case = {"add $1 (BatchNorms applied)", $2, 3, {$1_NX, $1_NX, 4 * $3},
                                $1_NX, 0, $1_case_forward, NULL};>])m4_dnl
m4_dnl
m4_dnl bz_unary_case(name, operator, batch, elements): the backward reads x
m4_dnl or y as bzgen's operator table says (bz_saves_<operator>, defined by
m4_dnl t_ops.sh from bzgen --list-operators)
m4_define([<bz_unary_case>], [<bz_$2_kernels([<$1>], $4)
enum { $1_N = $3 * $4 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_N), *y = to_real(NULL, $1_N);
    $1_forward(x, y, $3);
    to_double(y, out, $1_N);
    release(x), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *x = to_real(in[0], $1_N), *y = to_real(NULL, $1_N), *g = to_real(dy, $1_N);
    real_t *dx = grad_buffer(grads[0], $1_N, accumulate);
    $1_forward(x, y, $3);
    $1_backward(bz_saves_$2, g, dx, accumulate, $3);
    to_double(dx, grads[0], $1_N);
    release(x), release(y), release(g), release(dx);
}

static const op_case $1_case = {"$2 $1", $3, 1, {$1_N}, $1_N, 1, $1_case_forward,
                                $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl bz_pool_case(name, operator, batch, input elements, output elements,
m4_dnl              then the kernel macro's arguments after its name)
m4_define([<bz_pool_case>], [<bz_$2_kernels([<$1>], m4_shift(m4_shift(m4_shift(m4_shift(m4_shift($@))))))
enum { $1_NX = $3 * $4, $1_NY = $3 * $5 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *y = to_real(NULL, $1_NY);
    $1_forward(x, y, $3);
    to_double(y, out, $1_NY);
    release(x), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    (void)in;
    real_t *g = to_real(dy, $1_NY), *dx = grad_buffer(grads[0], $1_NX, accumulate);
    $1_backward(g, dx, accumulate, $3);
    to_double(dx, grads[0], $1_NX);
    release(g), release(dx);
}

static const op_case $1_case = {"$2 $1", $3, 1, {$1_NX}, $1_NY, 1, $1_case_forward,
                                $1_case_backward};>])m4_dnl
m4_dnl bz_maxpool_case(name, batch, input and output elements per sample,
m4_dnl                 then bz_maxpool2d_kernels' arguments after its name):
m4_dnl the backward reads x
m4_define([<bz_maxpool_case>], [<bz_maxpool2d_kernels([<$1>], m4_shift(m4_shift(m4_shift(m4_shift($@)))))
enum { $1_NX = $2 * $3, $1_NY = $2 * $4 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *y = to_real(NULL, $1_NY);
    $1_forward(x, y, $2);
    to_double(y, out, $1_NY);
    release(x), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *x = to_real(in[0], $1_NX), *g = to_real(dy, $1_NY);
    real_t *dx = grad_buffer(grads[0], $1_NX, accumulate);
    $1_backward(x, g, dx, accumulate, $2);
    to_double(dx, grads[0], $1_NX);
    release(x), release(g), release(dx);
}

static const op_case $1_case = {"maxpool2d $1", $2, 1, {$1_NX}, $1_NY, 1, $1_case_forward,
                                $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl
m4_dnl bz_elementwise_case(name, operator, batch, elements, relu, passed): add
m4_dnl or sub (relu 1: through the ReLU after it, forward only); passed, a
m4_dnl bit per input whose gradient is dy's buffer (gen/fuse.c): the kernel
m4_dnl gets NULL for it, and the case gives the gradient the buffer would
m4_dnl hold, dy (plus what it held, accumulating).
m4_define([<bz_elementwise_case>], [<bz_$2_kernels([<$1>], $4)
enum { $1_N = $3 * $4 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *a = to_real(in[0], $1_N), *b = to_real(in[1], $1_N), *y = to_real(NULL, $1_N);
    $1_forward(a, b, y, $5, $3);
    to_double(y, out, $1_N);
    release(a), release(b), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    (void)in;
    real_t *g = to_real(dy, $1_N), *d[2];
    for (int k = 0; k < 2; k++)
        d[k] = ($6) >> k & 1 ? NULL : grad_buffer(grads[k], $1_N, accumulate);
    $1_backward(g, d[0], accumulate, d[1], accumulate, $3);
    for (int k = 0; k < 2; k++) {
        if (d[k])
            to_double(d[k], grads[k], $1_N);
        else
            for (long i = 0; i < $1_N; i++)
                grads[k][i] = (accumulate ? grads[k][i] : 0) + dy[i];
        release(d[k]);
    }
    release(g);
}

static const op_case $1_case = {"$2 $1", $3, 2, {$1_N, $1_N}, $1_N, !$5, $1_case_forward,
                                $5 ? NULL : $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl bz_linear_case(name, algorithm, batch, in, out, bias, pixels): the
m4_dnl workspace passed is NWS, the size bzgen would reserve (the packed
m4_dnl weights or 4 threads' weight-gradient sums)
m4_define([<bz_linear_case_sizes>], [<enum { $1_NX = $3 * $7 * $4, $1_NW = $4 * $5, $1_NB = $6 ? $5 : 0,
       $1_NY = $3 * $7 * $5, $1_NWS = 4 * $1_NW };>])m4_dnl
m4_define([<bz_linear_case_backward>], [<
static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(in[1], $1_NW), *g = to_real(dy, $1_NY);
    real_t *dx = grad_buffer(grads[0], $1_NX, accumulate), *dw = to_real(NULL, $1_NW);
    real_t *db = to_real(NULL, $1_NB), *ws = workspace($1_NWS);
    $1_backward(x, w, g, dx, accumulate, dw, $6 ? db : NULL, ws, $3);
    to_double(dx, grads[0], $1_NX);
    store_grad(dw, grads[1], $1_NW, accumulate);
    if ($6)
        store_grad(db, grads[2], $1_NB, accumulate);
    release(x), release(w), release(g), release(dx), release(dw), release(db), release(ws);
}
>])m4_dnl
m4_define([<bz_linear_case>], [<bz_linear_case_sizes($@)
bz_linear_kernels([<$1>], $4, $5, $6, $7, [<$2>], $1_NWS, BZ_ACT_NONE, 0)

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(in[1], $1_NW), *b = to_real(in[2], $1_NB);
    real_t *y = to_real(NULL, $1_NY), *ws = workspace($1_NWS);
    $1_forward(x, w, $6 ? b : NULL, y, ws, $3);
    to_double(y, out, $1_NY);
    release(x), release(w), release(b), release(y), release(ws);
}
bz_linear_case_backward($@)

static const op_case $1_case = {"linear $1 ($2)", $3, $6 ? 3 : 2, {$1_NX, $1_NW, $1_NB}, $1_NY,
                                1, $1_case_forward, $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl bz_linear_act_case(the arguments of bz_linear_case, act, residual): a
m4_dnl deploy step's forward, through its fused activation act; residual 1:
m4_dnl y holds a fourth input, the residual its output adds to.
m4_define([<bz_linear_act_case>], [<bz_linear_case_sizes($@)
bz_linear_forward_kernel([<$1>], $4, $5, $6, $7, [<$2>], $1_NWS, $8, $9)

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(in[1], $1_NW), *b = to_real(in[2], $1_NB);
    real_t *y = to_real($9 ? in[3] : NULL, $1_NY), *ws = workspace($1_NWS);
    $1_forward(x, w, $6 ? b : NULL, y, ws, $3);
    to_double(y, out, $1_NY);
    release(x), release(w), release(b), release(y), release(ws);
}

static const op_case $1_case = {"linear $1 ($2, $8 fused, residual $9)", $3,
                                $9 ? 4 : $6 ? 3 : 2, {$1_NX, $1_NW, $1_NB, $1_NY}, $1_NY, 0,
                                $1_case_forward, NULL};>])m4_dnl
m4_dnl
m4_dnl bz_linear_deploy_case(the arguments of bz_linear_act_case): the
m4_dnl deploy form, weights prepacked once and the forward run on them.
m4_define([<bz_linear_deploy_case>], [<bz_linear_case_sizes($@)
bz_linear_forward_kernel([<$1>], $4, $5, $6, $7, [<$2>], $1_NWS, $8, $9)
bz_linear_deploy_kernel([<$1>], $4, $5, $6, $7, [<$2>], $1_NWS, $8, $9)

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *w = to_real(in[1], $1_NW), *b = to_real(in[2], $1_NB);
    real_t *y = to_real($9 ? in[3] : NULL, $1_NY), *ws = workspace($1_NWS);
    $1_prepack(w, ws);
    $1_forward_packed(x, w, $6 ? b : NULL, y, ws, $3);
    to_double(y, out, $1_NY);
    release(x), release(w), release(b), release(y), release(ws);
}

static const op_case $1_case = {"linear $1 ($2, deploy: prepacked, $8, residual $9)", $3,
                                $9 ? 4 : $6 ? 3 : 2, {$1_NX, $1_NW, $1_NB, $1_NY}, $1_NY, 0,
                                $1_case_forward, NULL};>])m4_dnl
m4_dnl
m4_dnl bz_affine_case(name, batch, channels, pixels): deploy-time BatchNorm
m4_define([<bz_affine_case>], [<bz_channel_affine_kernel([<$1>], $3, $4)
enum { $1_N = $2 * $3 * $4 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_N), *s = to_real(in[1], $3), *t = to_real(in[2], $3);
    real_t *y = to_real(NULL, $1_N);
    $1_forward(x, s, t, y, $2);
    to_double(y, out, $1_N);
    release(x), release(s), release(t), release(y);
}

static const op_case $1_case = {"channel_affine $1", $2, 3, {$1_N, $3, $3}, $1_N, 0,
                                $1_case_forward, NULL};>])m4_dnl
m4_dnl
m4_define([<bz_table_begin>], [<
const op_case *const bz_case_table[] = {>])m4_dnl
m4_define([<bz_table_entry>], [<    &$1,>])m4_dnl
m4_define([<bz_table_end>], [<    NULL,
};>])m4_dnl
m4_dnl
m4_dnl bz_scale_case(name, batch, channels, pixels): LayerScale2d
m4_define([<bz_scale_case>], [<bz_channel_scale_kernels([<$1>], $3, $4)
enum { $1_N = $2 * $3 * $4 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_N), *gamma = to_real(in[1], $3), *y = to_real(NULL, $1_N);
    $1_forward(x, gamma, y, $2);
    to_double(y, out, $1_N);
    release(x), release(gamma), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *x = to_real(in[0], $1_N), *gamma = to_real(in[1], $3), *g = to_real(dy, $1_N);
    real_t *dx = grad_buffer(grads[0], $1_N, accumulate), *dgamma = to_real(NULL, $3);
    $1_backward(x, gamma, g, dx, accumulate, dgamma, $2);
    to_double(dx, grads[0], $1_N);
    store_grad(dgamma, grads[1], $3, accumulate);
    release(x), release(gamma), release(g), release(dx), release(dgamma);
}

static const op_case $1_case = {"channel_scale $1", $2, 2, {$1_N, $3}, $1_N, 1,
                                $1_case_forward, $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl bz_mul_case(name, batch, channels, pixels, pixels of b)
m4_define([<bz_mul_case>], [<bz_mul_kernels([<$1>], $3, $4, $5)
enum { $1_NA = $2 * $3 * $4, $1_NB = $2 * $3 * $5 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *a = to_real(in[0], $1_NA), *b = to_real(in[1], $1_NB), *y = to_real(NULL, $1_NA);
    $1_forward(a, b, y, $2);
    to_double(y, out, $1_NA);
    release(a), release(b), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *a = to_real(in[0], $1_NA), *b = to_real(in[1], $1_NB), *g = to_real(dy, $1_NA);
    real_t *da = grad_buffer(grads[0], $1_NA, accumulate);
    real_t *db = grad_buffer(grads[1], $1_NB, accumulate);
    $1_backward(a, b, g, da, accumulate, db, accumulate, $2);
    to_double(da, grads[0], $1_NA);
    to_double(db, grads[1], $1_NB);
    release(a), release(b), release(g), release(da), release(db);
}

static const op_case $1_case = {"mul $1", $2, 2, {$1_NA, $1_NB}, $1_NA, 1, $1_case_forward,
                                $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl bz_layernorm_case(name, batch, channels, pixels)
m4_define([<bz_layernorm_case>], [<bz_layernorm2d_kernels([<$1>], $3, $4)
enum { $1_N = $2 * $3 * $4 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_N), *w = to_real(in[1], $3), *b = to_real(in[2], $3);
    real_t *y = to_real(NULL, $1_N);
    $1_forward(x, w, b, y, 1e-6, $2);
    to_double(y, out, $1_N);
    release(x), release(w), release(b), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *x = to_real(in[0], $1_N), *w = to_real(in[1], $3), *g = to_real(dy, $1_N);
    real_t *dx = grad_buffer(grads[0], $1_N, accumulate);
    real_t *dw = to_real(NULL, $3), *db = to_real(NULL, $3);
    $1_backward(x, w, g, dx, accumulate, dw, db, 1e-6, $2);
    to_double(dx, grads[0], $1_N);
    store_grad(dw, grads[1], $3, accumulate);
    store_grad(db, grads[2], $3, accumulate);
    release(x), release(w), release(g), release(dx), release(dw), release(db);
}

static const op_case $1_case = {"layernorm2d $1", $2, 3, {$1_N, $3, $3}, $1_N, 1,
                                $1_case_forward, $1_case_backward};>])m4_dnl
m4_dnl
m4_dnl bz_concat_case(name, batch, channels of a, channels of b, pixels)
m4_define([<bz_concat_case>], [<bz_concat_kernels([<$1>], $3, $4, $5)
enum { $1_NA = $2 * $3 * $5, $1_NB = $2 * $4 * $5, $1_NY = $1_NA + $1_NB };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *a = to_real(in[0], $1_NA), *b = to_real(in[1], $1_NB), *y = to_real(NULL, $1_NY);
    $1_forward(a, b, y, $2);
    to_double(y, out, $1_NY);
    release(a), release(b), release(y);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    (void)in;
    real_t *g = to_real(dy, $1_NY);
    real_t *da = grad_buffer(grads[0], $1_NA, accumulate);
    real_t *db = grad_buffer(grads[1], $1_NB, accumulate);
    $1_backward(g, da, accumulate, db, accumulate, $2);
    to_double(da, grads[0], $1_NA);
    to_double(db, grads[1], $1_NB);
    release(g), release(da), release(db);
}

static const op_case $1_case = {"concat $1", $2, 2, {$1_NA, $1_NB}, $1_NY, 1, $1_case_forward,
                                $1_case_backward};>])m4_dnl
m4_dnl bz_attention_case(name, batch, channels, h, w, heads, patch): the
m4_dnl input is qkv (3 x channels), the workspace bzgen's size
m4_define([<bz_attention_case>], [<bz_attention_kernels([<$1>], $3, $4, $5, $6, $7)
enum { $1_NX = $2 * $4 * $5 * 3 * $3, $1_NY = $2 * $4 * $5 * $3, $1_NWS = 3 * $2 * $6 * $4 * $5 };

static void $1_case_forward(const double *const *in, double *out)
{
    real_t *x = to_real(in[0], $1_NX), *y = to_real(NULL, $1_NY), *ws = workspace($1_NWS);
    $1_forward(x, y, ws, $2);
    to_double(y, out, $1_NY);
    release(x), release(y), release(ws);
}

static void $1_case_backward(const double *const *in, const double *dy, double *const *grads,
                             int accumulate)
{
    real_t *x = to_real(in[0], $1_NX), *g = to_real(dy, $1_NY), *ws = workspace($1_NWS);
    real_t *dx = grad_buffer(grads[0], $1_NX, accumulate);
    $1_backward(x, g, dx, accumulate, ws, $2);
    to_double(dx, grads[0], $1_NX);
    release(x), release(g), release(dx), release(ws);
}

static const op_case $1_case = {"attention $1", $2, 1, {$1_NX}, $1_NY, 1, $1_case_forward,
                                $1_case_backward};>])m4_dnl
