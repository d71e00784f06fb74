/* Two-input elementwise operators (add, sub, mul, concat along channels)
 * and the per-channel layer scale. */
#include "op.h"

#include <stdlib.h>

static void binary_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s, %s", c->x[0], c->x[1], c->y);
}

/* Gradients that do not need the inputs: dx and dx2 from dy alone. */
static void binary_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %d, %s, %d", c->dy, c->dx[0], c->accumulate[0],
                 c->dx[1], c->accumulate[1]);
}

/* ---- add, sub: same shapes ---- */

/* relu: the ReLU after it, applied as it writes (gen/fuse.c) */
static void sum_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s, %s, %d", c->x[0], c->x[1], c->y, c->relu);
}

/* The sum that applies the BatchNorms before it (gen/fuse.c): one kernel
 * per channel count and map size. */
static char *add_affine_kernel_name(const node *n)
{
    shape3 x = n->in_shape;
    return xasprintf("add_affine_%dx%dx%d", x.c, x.h, x.w);
}

static void add_affine_kernels(kernel_sink *k, const node *n)
{
    char *name = add_affine_kernel_name(n);
    kernel_macro(k, "bz_add_affine_kernels", name, "%d, %d", n->in_shape.c,
                 n->in_shape.h * n->in_shape.w);
    free(name);
}

static void add_forward_affine(const op_call *c)
{
    op_call a = *c;
    a.kernel = add_affine_kernel_name(c->n);
    op_call_emit(&a, "_forward", "%s, %s, %s, %s, %s, %d", c->x[0], c->affine[0], c->x[1],
                 c->affine[1], c->y, c->relu);
    free((char *)a.kernel);
}

static shape3 same_shape(const graph *g, node *n)
{
    shape3 a = op_input_shape(g, n, 0), b = op_input_shape(g, n, 1);
    if (a.c != b.c || a.h != b.h || a.w != b.w)
        diag_error(n->pos, "%s: cannot add tensors of shapes %dx%dx%d and %dx%dx%d", n->name,
                   a.c, a.h, a.w, b.c, b.h, b.w);
    return a;
}

static const char *const add_macros[] = {"bz_add_kernels", "bz_add_affine_kernels", NULL};
static const char *const sub_macros[] = {"bz_sub_kernels", NULL};

const op_def op_add = {
    .name = "add", .torch_class = "add", .n_inputs = 2, .attrs = op_no_attrs,
    .infer_shape = same_shape, .kernel_name = op_numel_kernel_name, .kernel_macros = add_macros,
    .kernels = op_numel_kernels, .forward = sum_forward, .backward = binary_backward,
    .recompute = op_recompute_by_forward, .relu_epilogue = 1, .deploy_relu_epilogue = 1,
    .passes_gradient = 3, .affine_kernels = add_affine_kernels, .forward_affine = add_forward_affine,
    .reparam = REPARAM_SUM, .reparam_sign = 1, .folds_as_residual = 1,
};

/* a - b (FastViT's RepMixer) */
const op_def op_sub = {
    .name = "sub", .torch_class = "sub", .n_inputs = 2, .attrs = op_no_attrs,
    .infer_shape = same_shape, .kernel_name = op_numel_kernel_name, .kernel_macros = sub_macros,
    .kernels = op_numel_kernels, .forward = sum_forward, .backward = binary_backward,
    .recompute = op_recompute_by_forward, .relu_epilogue = 1, .deploy_relu_epilogue = 1,
    .passes_gradient = 1, .reparam = REPARAM_SUM, .reparam_sign = -1,
};

/* ---- mul: b of a's shape, or a per-sample gate [C][1][1] ---- */

static shape3 mul_shape(const graph *g, node *n)
{
    shape3 a = op_input_shape(g, n, 0), b = op_input_shape(g, n, 1);
    int same = a.c == b.c && a.h == b.h && a.w == b.w;
    int gate = a.c == b.c && b.h == 1 && b.w == 1;
    if (!same && !gate)
        diag_error(n->pos, "%s: cannot multiply %dx%dx%d by %dx%dx%d (want the same shape or "
                   "%dx1x1)", n->name, a.c, a.h, a.w, b.c, b.h, b.w, a.c);
    n->mul_b_pixels = b.h * b.w;
    return a;
}

static char *mul_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    shape3 x = n->in_shape;
    return xasprintf("mul_%dx%dx%d%s", x.c, x.h, x.w, n->mul_b_pixels == 1 ? "_gate" : "");
}

static void mul_kernels(kernel_sink *k, const node *n)
{
    char *name = mul_kernel_name(n, 0);
    kernel_macro(k, "bz_mul_kernels", name, "%d, %d, %d", n->in_shape.c,
                 n->in_shape.h * n->in_shape.w, n->mul_b_pixels);
    free(name);
}

static void mul_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, %s, %d, %s, %d", c->x[0], c->x[1], c->dy,
                 c->dx[0], c->accumulate[0], c->dx[1], c->accumulate[1]);
}

static const char *const mul_macros[] = {"bz_mul_kernels", NULL};

const op_def op_mul = {
    .name = "mul", .torch_class = "mul", .n_inputs = 2, .attrs = op_no_attrs,
    .infer_shape = mul_shape, .backward_saves = SAVES_INPUTS, .kernel_name = mul_kernel_name,
    .kernel_macros = mul_macros, .kernels = mul_kernels, .forward = binary_forward,
    .backward = mul_backward, .recompute = op_recompute_by_forward,
};

/* ---- concat along channels ---- */

static shape3 concat_shape(const graph *g, node *n)
{
    shape3 a = op_input_shape(g, n, 0), b = op_input_shape(g, n, 1);
    if (a.h != b.h || a.w != b.w)
        diag_error(n->pos, "%s: cannot concatenate %dx%dx%d and %dx%dx%d (pixels differ)",
                   n->name, a.c, a.h, a.w, b.c, b.h, b.w);
    a.c += b.c;
    return a;
}

static char *concat_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    shape3 x = n->in_shape;
    return xasprintf("concat_%d_%d_x%d", x.c, n->out_shape.c - x.c, x.h * x.w);
}

static void concat_kernels(kernel_sink *k, const node *n)
{
    char *name = concat_kernel_name(n, 0);
    shape3 x = n->in_shape;
    kernel_macro(k, "bz_concat_kernels", name, "%d, %d, %d", x.c, n->out_shape.c - x.c,
                 x.h * x.w);
    free(name);
}

static const char *const concat_macros[] = {"bz_concat_kernels", NULL};

const op_def op_concat = {
    .name = "concat", .torch_class = "cat", .n_inputs = 2, .attrs = op_no_attrs,
    .infer_shape = concat_shape, .kernel_name = concat_kernel_name,
    .kernel_macros = concat_macros, .kernels = concat_kernels, .forward = binary_forward,
    .backward = binary_backward, .recompute = op_recompute_by_forward,
};

/* ---- channel_scale: timm's LayerScale2d, y = x * gamma[c] ---- */

static const attr_def scale_attrs[] = {
    /* a float parameter's initial value, well inside float's range */
    {"init", ATTR_REAL, 1, 0, -1e6, 1e6, offsetof(node, init_value)},
    {"gamma_dims", ATTR_INT, 0, 1, 1, 3, offsetof(node, gamma_dims)},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static void scale_finish(node *n, ynode def)
{
    if (n->gamma_dims == 2)
        diag_error(ynode_pos(ymap_get(def, "gamma_dims")),
                   "gamma_dims must be 1 ([C]) or 3 ([C, 1, 1])");
}

static void scale_params(graph *g, node *n)
{
    long c[3] = {n->in_shape.c, 1, 1};
    long id = graph_add_param(g, n, "gamma", KIND_PARAM, LAYOUT_PLAIN, INIT_CONSTANT,
                              n->gamma_dims, c, 0);
    g->params[id].init_value = n->init_value;
}

static char *scale_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    shape3 x = n->in_shape;
    return xasprintf("channel_scale_%dx%dx%d", x.c, x.h, x.w);
}

static void scale_kernels(kernel_sink *k, const node *n)
{
    op_channel_kernels(k, n, "bz_channel_scale_kernels", 0);
}

static void scale_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s, %s", c->x[0], c->param[0], c->y);
}

static void scale_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, %s, %d, %s", c->x[0], c->param[0], c->dy,
                 c->dx[0], c->accumulate[0], c->grad[0]);
}

static long per_channel(const node *n)
{
    return n->in_shape.c;
}

static void scale_fold(FILE *out, const graph *g, const deploy_step *s)
{
    fold_copy(out, g, s->n, 0, s->w_offset, per_channel(s->n));
}

static void scale_deploy_forward(const op_call *c)
{
    op_call_emit(c, "_forward", "%s, %s, %s", c->x[0], c->w, c->y);
}

static const char *const scale_macros[] = {"bz_channel_scale_kernels", NULL};

const op_def op_channel_scale = {
    .name = "channel_scale", .torch_class = "LayerScale2d", .n_inputs = 1,
    .attrs = scale_attrs, .finish_attrs = scale_finish, .add_params = scale_params,
    .backward_saves = SAVES_INPUTS, .kernel_name = scale_kernel_name,
    .kernel_macros = scale_macros, .kernels = scale_kernels, .forward = scale_forward,
    .backward = scale_backward, .deploy_weights = per_channel, .fold = scale_fold,
    .deploy_forward = scale_deploy_forward, .reparam = REPARAM_SCALE,
    .recompute = op_recompute_by_forward, .folds_as_scale = 1,
};
