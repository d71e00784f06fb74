/* Normalisations: batchnorm2d (torch.nn.BatchNorm2d, folded into the
 * preceding conv or into a per-channel affine for deployment) and
 * layernorm2d (timm's LayerNorm2d: over the channels of each pixel). */
#include "emit.h"
#include "op.h"

#include <stdlib.h>
#include <string.h>

static const attr_def norm_attrs[] = {
    {"eps", ATTR_REAL, 0, 1e-5, 0, 1, offsetof(node, eps)},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static void norm_finish(node *n, ynode def)
{
    if (!(n->eps > 0))
        diag_error(ynode_pos(ymap_get(def, "eps")), "eps must be positive");
}

/* torchinfo counts weight and bias of a leaf module; timm's
 * BatchNormAct2d / LayerNormAct2d have children and count 0. */
static long norm_macs(const node *n)
{
    int leaf = strcmp(n->torch_class, "BatchNormAct2d") != 0 &&
               strcmp(n->torch_class, "LayerNormAct2d") != 0;
    return leaf ? 2L * n->in_shape.c : 0;
}

static void affine_params(graph *g, node *n)
{
    long c[1] = {n->in_shape.c};
    graph_add_param(g, n, "weight", KIND_PARAM, LAYOUT_PLAIN, INIT_ONE, 1, c, 0);
    graph_add_param(g, n, "bias", KIND_PARAM, LAYOUT_PLAIN, INIT_ZERO, 1, c, 0);
}

static long two_per_channel(const node *n)
{
    return 2L * n->in_shape.c;
}

/* ---- batchnorm2d ---- */

static void batchnorm_params(graph *g, node *n)
{
    long c[1] = {n->in_shape.c};
    affine_params(g, n);
    graph_add_param(g, n, "running_mean", KIND_BUFFER, LAYOUT_PLAIN, INIT_ZERO, 1, c, 0);
    graph_add_param(g, n, "running_var", KIND_BUFFER, LAYOUT_PLAIN, INIT_ONE, 1, c, 0);
    graph_add_param(g, n, "num_batches_tracked", KIND_COUNTER, LAYOUT_PLAIN, INIT_ZERO, 0, c, 0);
    n->bn_index = g->n_bn++;
    n->bn_saved_offset = g->n_bn_saved;
    g->n_bn_saved += 4 * c[0];
}

static char *batchnorm_kernel_name(const node *n, int deploy_form)
{
    shape3 x = n->in_shape;
    return xasprintf("%s_%dx%dx%d", deploy_form ? "channel_affine" : "batchnorm2d", x.c, x.h, x.w);
}

static char *batchnorm_describe(const node *n)
{
    return xasprintf("eps %s", exact_double(n->eps));
}

static void batchnorm_kernels(kernel_sink *k, const node *n)
{
    op_channel_kernels(k, n, "bz_batchnorm2d_kernels", 0);
}

static void batchnorm_deploy_kernels(kernel_sink *k, const deploy_step *s)
{
    op_channel_kernels(k, s->n, "bz_channel_affine_kernel", 1);
}

static void batchnorm_forward(const op_call *c, int train)
{
    const node *n = c->n;
    if (train)
        op_call_emit(c, "_forward_train", "%s, %s, %s, %s, bz_bn_saved(%ld, [<%s batch "
                     "statistics>]), %s, %s, %s, %s, bz_momentum, %d", c->x[0], c->param[0],
                     c->param[1], c->y, n->bn_saved_offset, n->name, c->param[2], c->param[3],
                     c->param[4], exact_double(n->eps), c->relu);
    else
        op_call_emit(c, "_forward_eval", "%s, %s, %s, %s, %s, %s, %s", c->x[0], c->param[0],
                     c->param[1], c->param[2], c->param[3], c->y, exact_double(n->eps));
}

/* relu: through the ReLU after it, whose backward this one applies
 * (op_def.backward_relu, gen/fuse.c) */
static void batchnorm_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, bz_bn_saved(%ld, [<%s batch statistics>]), %s, "
                 "%s, %d, %s, %s, %d", c->x[0], c->param[0], c->param[1], c->n->bn_saved_offset,
                 c->n->name, c->dy, c->dx[0], c->accumulate[0], c->grad[0], c->grad[1], c->relu);
}

/* The batch statistics as the add that applies this BatchNorm reads them
 * (gen/fuse.c): gamma, beta, the saved [4][C]. */
static char *batchnorm_affine_operands(const op_call *c)
{
    return xasprintf("%s, %s, bz_bn_saved(%ld, [<%s batch statistics>])", c->param[0],
                     c->param[1], c->n->bn_saved_offset, c->n->name);
}

/* The batch statistics alone: the add that reads this BatchNorm's output
 * applies them (gen/fuse.c). */
static void batchnorm_statistics(const op_call *c)
{
    const node *n = c->n;
    op_call_emit(c, "_statistics_train", "%s, %s, %s, bz_bn_saved(%ld, [<%s batch statistics>]), "
                 "%s, %s, %s, %s, bz_momentum", c->x[0], c->param[0], c->param[1],
                 n->bn_saved_offset, n->name, c->param[2], c->param[3], c->param[4],
                 exact_double(n->eps));
}

/* The training forward's output again, from the batch statistics it
 * saved: nothing else changes. */
static void batchnorm_recompute(const op_call *c)
{
    op_call_emit(c, "_recompute", "%s, %s, %s, bz_bn_saved(%ld, [<%s batch statistics>]), %s, %d",
                 c->x[0], c->param[0], c->param[1], c->n->bn_saved_offset, c->n->name, c->y,
                 c->relu);
}

/* Deployed alone (no conv before it): y = x * scale + shift. */
static void batchnorm_fold(FILE *out, const graph *g, const deploy_step *s)
{
    const node *n = s->n;
    char *r[4];
    for (int k = 0; k < 4; k++)
        r[k] = param_ref(g, n, k);
    char *scale = deploy_ref(s->w_offset, n->name, "scale");
    char *shift = deploy_ref(s->w_offset + n->in_shape.c, n->name, "shift");
    fprintf(out, "bz_fold_call([<bz_fold_batchnorm>], [<%s, %s, %s, %s, %s, %d, %s, %s>])\n", r[0],
            r[1], r[2], r[3], exact_double(n->eps), n->in_shape.c, scale, shift);
    for (int k = 0; k < 4; k++)
        free(r[k]);
    free(scale), free(shift);
}

static void batchnorm_deploy_forward(const op_call *c)
{
    char *shift = deploy_ref(c->step->w_offset + c->n->in_shape.c, c->n->name, "shift");
    op_call_emit(c, "_forward", "%s, %s, %s, %s", c->x[0], c->w, shift, c->y);
    free(shift);
}

static const char *const batchnorm_macros[] = {"bz_batchnorm2d_kernels",
                                               "bz_channel_affine_kernel", NULL};

const op_def op_batchnorm2d = {
    .name = "batchnorm2d",
    .torch_class = "BatchNorm2d",
    .n_inputs = 1,
    .attrs = norm_attrs,
    .finish_attrs = norm_finish,
    .add_params = batchnorm_params,
    .macs = norm_macs,
    .backward_saves = SAVES_INPUTS,
    .kernel_name = batchnorm_kernel_name,
    .describe = batchnorm_describe,
    .kernel_macros = batchnorm_macros,
    .kernels = batchnorm_kernels,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .recompute = batchnorm_recompute,
    .in_place = 1,
    .relu_epilogue = 1,
    .backward_relu = 1,
    .forward_statistics = batchnorm_statistics,
    .affine_operands = batchnorm_affine_operands,
    .deploy_weights = two_per_channel,
    .fold = batchnorm_fold,
    .deploy_kernels = batchnorm_deploy_kernels,
    .deploy_forward = batchnorm_deploy_forward,
    .deploy_own_kernel = 1,
    .folds_into_conv = 1,
    .reparam = REPARAM_NORM,
};

/* ---- layernorm2d ---- */

static char *layernorm_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    shape3 x = n->in_shape;
    return xasprintf("layernorm2d_%dx%dx%d", x.c, x.h, x.w);
}

static void layernorm_kernels(kernel_sink *k, const node *n)
{
    op_channel_kernels(k, n, "bz_layernorm2d_kernels", 0);
}

static void layernorm_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s, %s, %s, %s", c->x[0], c->param[0], c->param[1], c->y,
                 exact_double(c->n->eps));
}

static void layernorm_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, %s, %d, %s, %s, %s", c->x[0], c->param[0], c->dy,
                 c->dx[0], c->accumulate[0], c->grad[0], c->grad[1], exact_double(c->n->eps));
}

/* weight and bias, one after the other */
static void layernorm_fold(FILE *out, const graph *g, const deploy_step *s)
{
    fold_copy(out, g, s->n, 0, s->w_offset, two_per_channel(s->n));
}

static void layernorm_deploy_forward(const op_call *c)
{
    char *bias = deploy_ref(c->step->w_offset + c->n->in_shape.c, c->n->name, "bias");
    op_call_emit(c, "_forward", "%s, %s, %s, %s, %s", c->x[0], c->w, bias, c->y,
                 exact_double(c->n->eps));
    free(bias);
}

static const char *const layernorm_macros[] = {"bz_layernorm2d_kernels", NULL};

const op_def op_layernorm2d = {
    .name = "layernorm2d",
    .torch_class = "LayerNorm2d",
    .n_inputs = 1,
    .attrs = norm_attrs,
    .finish_attrs = norm_finish,
    .add_params = affine_params,
    .macs = norm_macs,
    .backward_saves = SAVES_INPUTS,
    .kernel_name = layernorm_kernel_name,
    .kernel_macros = layernorm_macros,
    .kernels = layernorm_kernels,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
    .recompute = op_recompute_by_forward,
    .deploy_weights = two_per_channel,
    .fold = layernorm_fold,
    .deploy_forward = layernorm_deploy_forward,
};
