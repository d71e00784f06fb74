/* linear: torch.nn.Linear over the channels of every pixel (an NHWC
 * tensor is what timm's ConvNeXt permutes to before its MLP; the head's
 * input is 1x1), weight [out][in].  torchinfo counts its weight and bias
 * once, whatever the pixels.  The optimised backend runs it as the 1x1
 * conv it is: on the register-tiled pointwise core where the widths fill
 * 16-lane vectors (the weights packed in the workspace, or once in the
 * deploy arena; the bias starts the accumulators), else as GEMMs. */
#include "emit.h"
#include "op.h"

#include <stdlib.h>

static const attr_def linear_attrs[] = {
    {"out", ATTR_INT, 1, 0, 1, 1 << 20, offsetof(node, features)},
    {"bias", ATTR_BOOL, 0, 1, 0, 1, offsetof(node, bias)},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static shape3 linear_shape(const graph *g, node *n)
{
    shape3 y = op_input_shape(g, n, 0);
    y.c = n->features;
    return y;
}

static int pixels(const node *n)
{
    return n->in_shape.h * n->in_shape.w;
}

static void linear_params(graph *g, node *n)
{
    long w_shape[2] = {n->features, n->in_shape.c};
    graph_add_param(g, n, "weight", KIND_PARAM, LAYOUT_PLAIN, INIT_UNIFORM_FAN_IN, 2, w_shape,
                    w_shape[1]);
    if (n->bias)
        graph_add_param(g, n, "bias", KIND_PARAM, LAYOUT_PLAIN, INIT_UNIFORM_FAN_IN, 1,
                        w_shape, w_shape[1]);
}

static long linear_weights(const node *n)
{
    return (long)n->features * n->in_shape.c;
}

static long linear_macs(const node *n)
{
    return linear_weights(n) + (n->bias ? n->features : 0);
}

static long linear_work_macs(const node *n)
{
    return linear_macs(n) * pixels(n);
}

/* templates/optimised/conv2d_tiled.m4's pointwise core: 16n outputs (its
 * register blocks) and 16n inputs (the outputs of its input gradient). */
static int linear_uses_tiled(const node *n)
{
    return n->in_shape.c % 16 == 0 && n->features % 16 == 0;
}

/* The tiled kernels pack the weights into the workspace and sum their
 * gradient there. */
static long linear_workspace(const node *n, int max_batch)
{
    (void)max_batch;
    return linear_uses_tiled(n) ? pointwise_tiled_workspace(linear_weights(n)) : 0;
}

static int linear_prepacked(const node *n, int max_batch)
{
    (void)max_batch;
    return linear_uses_tiled(n);
}

static char *linear_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    char *per_pixel = pixels(n) > 1 ? xasprintf("_x%d", pixels(n)) : xstrdup("");
    char *name = xasprintf("linear_%d_to_%d%s%s", n->in_shape.c, n->out_shape.c, per_pixel,
                           n->bias ? "_bias" : "");
    free(per_pixel);
    return name;
}

/* bz_linear_<kernels, forward_kernel or deploy_kernel>(name, in, out,
 * bias, pixels, optimised algorithm, workspace floats, act: the
 * bz_activation.h constant of the activation applied as y is stored,
 * residual: 1 where y adds to what it holds, before act) */
static void linear_kernel(kernel_sink *k, const node *n, const char *macro, const char *name,
                          const char *act, int residual)
{
    kernel_macro(k, macro, name, "%d, %d, %d, %d, [<%s>], %ld, %s, %d", n->in_shape.c,
                 n->out_shape.c, n->bias, pixels(n),
                 linear_uses_tiled(n) ? "pointwise_tiled" : "pointwise",
                 linear_workspace(n, kernel_sink_max_batch(k)), act, residual);
}

static void linear_kernels(kernel_sink *k, const node *n)
{
    char *name = linear_kernel_name(n, 0);
    linear_kernel(k, n, "bz_linear_kernels", name, "BZ_ACT_NONE", 0);
    free(name);
}

/* The training forward serves a deploy step without an activation or a
 * residual; one with either has a forward of its own.  A prepacked one
 * adds its packing and its forward on the packed weights. */
static void linear_deploy_kernels(kernel_sink *k, const deploy_step *s)
{
    const char *act = s->fused_act ? s->fused_act->deploy_activation : "BZ_ACT_NONE";
    int residual = s->residual >= 0;
    char *name = deploy_kernel_name(s);
    if (s->fused_act || residual)
        linear_kernel(k, s->n, "bz_linear_forward_kernel", name, act, residual);
    if (linear_prepacked(s->n, kernel_sink_max_batch(k)))
        linear_kernel(k, s->n, "bz_linear_deploy_kernel", name, act, residual);
    free(name);
}

static int linear_adds_residual(const node *n)
{
    (void)n;
    return 1;
}

static void linear_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s, %s, %s, bz_workspace", c->x[0], c->param[0],
                 c->param[1], c->y);
}

static void linear_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, %s, %d, %s, %s, bz_workspace", c->x[0],
                 c->param[0], c->dy, c->dx[0], c->accumulate[0], c->grad[0], c->grad[1]);
}

static long linear_deploy_bias(const node *n, int folded_norm)
{
    (void)folded_norm;
    return n->bias ? n->features : 0;
}

static void linear_fold(FILE *out, const graph *g, const deploy_step *s)
{
    fold_copy(out, g, s->n, 0, s->w_offset, linear_weights(s->n));
    if (s->n->bias)
        fold_copy(out, g, s->n, 1, s->b_offset, s->n->features);
}

static void linear_deploy_forward(const op_call *c)
{
    op_call_emit(c, c->prepacked ? "_forward_packed" : "_forward", "%s, %s, %s, %s, bz_workspace",
                 c->x[0], c->w, c->b, c->y);
}

static const char *const linear_macros[] = {"bz_linear_kernels", "bz_linear_forward_kernel",
                                            "bz_linear_deploy_kernel", NULL};

const op_def op_linear = {
    .name = "linear", .torch_class = "Linear", .n_inputs = 1, .attrs = linear_attrs,
    .infer_shape = linear_shape, .add_params = linear_params, .macs = linear_macs,
    .work_macs = linear_work_macs,
    .backward_saves = SAVES_INPUTS, .kernel_name = linear_kernel_name,
    .kernel_macros = linear_macros, .kernels = linear_kernels, .forward = linear_forward,
    .backward = linear_backward, .deploy_weights = linear_weights,
    .deploy_bias = linear_deploy_bias, .fold = linear_fold,
    .deploy_kernels = linear_deploy_kernels, .deploy_forward = linear_deploy_forward,
    .workspace = linear_workspace, .prepacked = linear_prepacked, .absorbs_next_scale = 1,
    .applies_activation = 1, .adds_residual = linear_adds_residual,
};
