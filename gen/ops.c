/* Per-operator rules: output shapes and parameters. */
#include "graph.h"

static shape3 in_shape(const graph *g, const node *n, int i)
{
    return g->tensors[n->in[i]].s;
}

/* PyTorch's pooling/convolution output size, with ceil_mode's rule that
 * the last window must start inside the (left-padded) input. */
static int window_count(int size, int kernel, int stride, int pad, int ceil_mode)
{
    int span = size + 2 * pad - kernel;
    if (span < 0)
        return 0;
    int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad)
        out--;
    return out;
}

static shape3 conv_shape(const node *n, shape3 x)
{
    const conv_attrs *c = &n->conv;
    if (c->groups < 1 || x.c % c->groups != 0)
        diag_error(n->pos, "%s: groups %d do not divide the %d input channels", n->name,
                   c->groups, x.c);
    if (c->out_c % c->groups != 0)
        diag_error(n->pos, "%s: groups %d do not divide the %d output channels", n->name,
                   c->groups, c->out_c);
    shape3 y = {c->out_c, window_count(x.h, c->kh, c->stride, c->pad, 0),
                window_count(x.w, c->kw, c->stride, c->pad, 0)};
    return y;
}

static shape3 pool_shape(const node *n, shape3 x)
{
    const pool_attrs *p = &n->pool;
    if (2 * p->pad > p->kernel)
        diag_error(n->pos, "%s: padding %d exceeds half the kernel %d", n->name, p->pad,
                   p->kernel);
    shape3 y = {x.c, window_count(x.h, p->kernel, p->stride, p->pad, p->ceil_mode),
                window_count(x.w, p->kernel, p->stride, p->pad, p->ceil_mode)};
    return y;
}

static shape3 add_shape(const graph *g, const node *n)
{
    shape3 a = in_shape(g, n, 0), b = in_shape(g, n, 1);
    if (a.c != b.c || a.h != b.h || a.w != b.w)
        diag_error(n->pos, "%s: cannot add tensors of shapes %dx%dx%d and %dx%dx%d", n->name,
                   a.c, a.h, a.w, b.c, b.h, b.w);
    return a;
}

/* b has a's shape, or is a per-sample gate [C][1][1] broadcast over pixels. */
static shape3 mul_shape(const graph *g, const node *n)
{
    shape3 a = in_shape(g, n, 0), b = in_shape(g, n, 1);
    int same = a.c == b.c && a.h == b.h && a.w == b.w;
    int gate = a.c == b.c && b.h == 1 && b.w == 1;
    if (!same && !gate)
        diag_error(n->pos, "%s: cannot multiply %dx%dx%d by %dx%dx%d (want the same shape or "
                   "%dx1x1)", n->name, a.c, a.h, a.w, b.c, b.h, b.w, a.c);
    return a;
}

static shape3 concat_shape(const graph *g, const node *n)
{
    shape3 a = in_shape(g, n, 0), b = in_shape(g, n, 1);
    if (a.h != b.h || a.w != b.w)
        diag_error(n->pos, "%s: cannot concatenate %dx%dx%d and %dx%dx%d (pixels differ)",
                   n->name, a.c, a.h, a.w, b.c, b.h, b.w);
    a.c += b.c;
    return a;
}

shape3 infer_shape(const graph *g, const node *n)
{
    shape3 x = in_shape(g, n, 0), y = x;
    switch (n->op) {
    case OP_CONV2D: y = conv_shape(n, x); break;
    case OP_AVGPOOL2D: y = pool_shape(n, x); break;
    case OP_ADD:
    case OP_SUB: y = add_shape(g, n); break;
    case OP_MUL: y = mul_shape(g, n); break;
    case OP_CONCAT: y = concat_shape(g, n); break;
    case OP_GLOBAL_AVGPOOL: y.h = y.w = 1; break;
    case OP_LINEAR:
        if (x.h != 1 || x.w != 1)
            diag_error(n->pos, "%s: linear needs a pooled 1x1 input, got %dx%dx%d", n->name,
                       x.c, x.h, x.w);
        y.c = n->features;
        break;
    default: break;
    }
    if (y.c < 1 || y.h < 1 || y.w < 1)
        diag_error(n->pos, "%s: output shape %dx%dx%d is empty (input %dx%dx%d)", n->name, y.c,
                   y.h, y.w, x.c, x.h, x.w);
    return y;
}

static void add_conv_params(graph *g, node *n)
{
    const conv_attrs *c = &n->conv;
    long cin = n->in_shape.c / c->groups;
    long w_shape[4] = {c->out_c, cin, c->kh, c->kw};
    long fan_in = cin * c->kh * c->kw;
    int normal = n->init_std > 0;
    long w = graph_add_param(g, n, "weight", KIND_PARAM, LAYOUT_OHWI,
                             normal ? INIT_TRUNC_NORMAL : INIT_UNIFORM_FAN_IN, 4, w_shape, fan_in);
    g->params[w].init_value = n->init_std;
    if (c->bias)
        graph_add_param(g, n, "bias", KIND_PARAM, LAYOUT_PLAIN,
                        normal ? INIT_ZERO : INIT_UNIFORM_FAN_IN, 1, w_shape, fan_in);
}

static void add_batchnorm_params(graph *g, node *n)
{
    long c[1] = {n->in_shape.c};
    graph_add_param(g, n, "weight", KIND_PARAM, LAYOUT_PLAIN, INIT_ONE, 1, c, 0);
    graph_add_param(g, n, "bias", KIND_PARAM, LAYOUT_PLAIN, INIT_ZERO, 1, c, 0);
    graph_add_param(g, n, "running_mean", KIND_BUFFER, LAYOUT_PLAIN, INIT_ZERO, 1, c, 0);
    graph_add_param(g, n, "running_var", KIND_BUFFER, LAYOUT_PLAIN, INIT_ONE, 1, c, 0);
    graph_add_param(g, n, "num_batches_tracked", KIND_COUNTER, LAYOUT_PLAIN, INIT_ZERO, 0, c, 0);
    n->bn_index = g->n_bn++;
    n->bn_saved_offset = g->n_bn_saved;
    g->n_bn_saved += 2 * c[0];
}

static void add_linear_params(graph *g, node *n)
{
    long w_shape[2] = {n->features, n->in_shape.c};
    graph_add_param(g, n, "weight", KIND_PARAM, LAYOUT_PLAIN, INIT_UNIFORM_FAN_IN, 2, w_shape,
                    w_shape[1]);
    if (n->bias)
        graph_add_param(g, n, "bias", KIND_PARAM, LAYOUT_PLAIN, INIT_UNIFORM_FAN_IN, 1,
                        w_shape, w_shape[1]);
}

static void add_layernorm_params(graph *g, node *n)
{
    long c[1] = {n->in_shape.c};
    graph_add_param(g, n, "weight", KIND_PARAM, LAYOUT_PLAIN, INIT_ONE, 1, c, 0);
    graph_add_param(g, n, "bias", KIND_PARAM, LAYOUT_PLAIN, INIT_ZERO, 1, c, 0);
}

static void add_channel_scale_params(graph *g, node *n)
{
    long c[3] = {n->in_shape.c, 1, 1};
    long id = graph_add_param(g, n, "gamma", KIND_PARAM, LAYOUT_PLAIN, INIT_CONSTANT,
                              n->gamma_dims, c, 0);
    g->params[id].init_value = n->init_value;
}

void add_node_params(graph *g, node *n)
{
    if (n->op == OP_CONV2D)
        add_conv_params(g, n);
    else if (n->op == OP_BATCHNORM2D)
        add_batchnorm_params(g, n);
    else if (n->op == OP_LINEAR)
        add_linear_params(g, n);
    else if (n->op == OP_CHANNEL_SCALE)
        add_channel_scale_params(g, n);
    else if (n->op == OP_LAYERNORM2D)
        add_layernorm_params(g, n);
}
