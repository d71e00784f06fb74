/* Pooling: avgpool2d (torch.nn.AvgPool2d), maxpool2d (torch.nn.MaxPool2d)
 * and global_avgpool (AdaptiveAvgPool2d(1)).  The average pools' backward
 * needs dy only; maxpool's finds each window's maximum again in x. */
#include "op.h"

#include <stdlib.h>

static const attr_def avgpool_attrs[] = {
    {"kernel", ATTR_INT, 1, 0, 1, 64, offsetof(node, pool.kernel)},
    {"stride", ATTR_INT, 0, 0, 1, 64, offsetof(node, pool.stride)},   /* 0: the kernel */
    {"padding", ATTR_INT, 0, 0, 0, 64, offsetof(node, pool.pad)},
    {"ceil_mode", ATTR_BOOL, 0, 0, 0, 1, offsetof(node, pool.ceil_mode)},
    {"count_include_pad", ATTR_BOOL, 0, 1, 0, 1, offsetof(node, pool.count_include_pad)},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static void pool_finish(node *n, ynode def)
{
    (void)def;
    if (n->pool.stride == 0)
        n->pool.stride = n->pool.kernel;
}

static shape3 pool_shape(const graph *g, node *n)
{
    shape3 x = op_input_shape(g, n, 0);
    const pool_attrs *p = &n->pool;
    if (2 * p->pad > p->kernel)
        diag_error(n->pos, "%s: padding %d exceeds half the kernel %d", n->name, p->pad,
                   p->kernel);
    shape3 y = {x.c, window_count(x.h, p->kernel, p->stride, p->pad, 1, p->ceil_mode),
                window_count(x.w, p->kernel, p->stride, p->pad, 1, p->ceil_mode)};
    return y;
}

static char *avgpool_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    shape3 x = n->in_shape, y = n->out_shape;
    return xasprintf("avgpool2d_%dx%dx%d_to_%dx%d_k%ds%dp%d%s", x.c, x.h, x.w, y.h, y.w,
                     n->pool.kernel, n->pool.stride, n->pool.pad,
                     n->pool.count_include_pad ? "" : "_exclude_pad");
}

static char *avgpool_describe(const node *n)
{
    const pool_attrs *p = &n->pool;
    return xasprintf("k%d s%d p%d%s%s", p->kernel, p->stride, p->pad, p->ceil_mode ? " ceil" : "",
                     p->count_include_pad ? "" : " exclude-pad");
}

static void avgpool_kernels(kernel_sink *k, const node *n)
{
    char *name = avgpool_kernel_name(n, 0);
    shape3 x = n->in_shape, y = n->out_shape;
    const pool_attrs *p = &n->pool;
    kernel_macro(k, "bz_avgpool2d_kernels", name, "%d, %d, %d, %d, %d, %d, %d, %d, %d", x.c, x.h,
                 x.w, y.h, y.w, p->kernel, p->stride, p->pad, p->count_include_pad);
    free(name);
}

static void pool_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s", c->x[0], c->y);
}

static void pool_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %d", c->dy, c->dx[0], c->accumulate[0]);
}

static const char *const avgpool_macros[] = {"bz_avgpool2d_kernels", NULL};

const op_def op_avgpool2d = {
    .name = "avgpool2d", .torch_class = "AvgPool2d", .n_inputs = 1, .attrs = avgpool_attrs,
    .finish_attrs = pool_finish, .infer_shape = pool_shape,
    .kernel_name = avgpool_kernel_name, .describe = avgpool_describe,
    .kernel_macros = avgpool_macros, .kernels = avgpool_kernels, .forward = pool_forward,
    .recompute = op_recompute_by_forward,
    .backward = pool_backward,
};

/* ---- maxpool2d ---- */

static const attr_def maxpool_attrs[] = {
    {"kernel", ATTR_INT, 1, 0, 1, 64, offsetof(node, pool.kernel)},
    {"stride", ATTR_INT, 0, 0, 1, 64, offsetof(node, pool.stride)},   /* 0: the kernel */
    {"padding", ATTR_INT, 0, 0, 0, 64, offsetof(node, pool.pad)},
    {"ceil_mode", ATTR_BOOL, 0, 0, 0, 1, offsetof(node, pool.ceil_mode)},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static char *maxpool_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    shape3 x = n->in_shape, y = n->out_shape;
    return xasprintf("maxpool2d_%dx%dx%d_to_%dx%d_k%ds%dp%d", x.c, x.h, x.w, y.h, y.w,
                     n->pool.kernel, n->pool.stride, n->pool.pad);
}

static char *maxpool_describe(const node *n)
{
    const pool_attrs *p = &n->pool;
    return xasprintf("k%d s%d p%d%s", p->kernel, p->stride, p->pad, p->ceil_mode ? " ceil" : "");
}

static void maxpool_kernels(kernel_sink *k, const node *n)
{
    char *name = maxpool_kernel_name(n, 0);
    shape3 x = n->in_shape, y = n->out_shape;
    const pool_attrs *p = &n->pool;
    kernel_macro(k, "bz_maxpool2d_kernels", name, "%d, %d, %d, %d, %d, %d, %d, %d", x.c, x.h, x.w,
                 y.h, y.w, p->kernel, p->stride, p->pad);
    free(name);
}

static void maxpool_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, %d", c->x[0], c->dy, c->dx[0], c->accumulate[0]);
}

static const char *const maxpool_macros[] = {"bz_maxpool2d_kernels", NULL};

const op_def op_maxpool2d = {
    .name = "maxpool2d", .torch_class = "MaxPool2d", .n_inputs = 1, .attrs = maxpool_attrs,
    .finish_attrs = pool_finish, .infer_shape = pool_shape, .backward_saves = SAVES_INPUTS,
    .kernel_name = maxpool_kernel_name, .describe = maxpool_describe,
    .kernel_macros = maxpool_macros, .kernels = maxpool_kernels, .forward = pool_forward,
    .recompute = op_recompute_by_forward,
    .backward = maxpool_backward,
};

/* ---- global_avgpool ---- */

static shape3 global_shape(const graph *g, node *n)
{
    shape3 y = op_input_shape(g, n, 0);
    y.h = y.w = 1;
    return y;
}

static char *global_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    return xasprintf("global_avgpool_%dx%dx%d", n->in_shape.c, n->in_shape.h, n->in_shape.w);
}

static void global_kernels(kernel_sink *k, const node *n)
{
    op_channel_kernels(k, n, "bz_global_avgpool_kernels", 0);
}

static const char *const global_macros[] = {"bz_global_avgpool_kernels", NULL};

const op_def op_global_avgpool = {
    .name = "global_avgpool", .torch_class = "AdaptiveAvgPool2d", .n_inputs = 1,
    .attrs = op_no_attrs, .infer_shape = global_shape, .kernel_name = global_kernel_name,
    .kernel_macros = global_macros, .kernels = global_kernels, .forward = pool_forward,
    .recompute = op_recompute_by_forward,
    .backward = pool_backward,
};
